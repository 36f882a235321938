use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_runtime::telemetry::init(recurring_task::SERVICE);
    let settings = recurring_task::Settings::load().context("while loading settings")?;
    let app = recurring_task::Application::build(settings).await.context("while starting")?;
    app.run_until_stopped(service_runtime::shutdown::on_signal()).await
}
