use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_runtime::telemetry::init(task_api::SERVICE);
    let settings = task_api::Settings::load().context("while loading settings")?;
    let app = task_api::Application::build(settings).await.context("while starting")?;
    app.run_until_stopped(service_runtime::shutdown::on_signal()).await
}
