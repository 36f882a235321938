use anyhow::Context as _;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    service_runtime::telemetry::init(notification::SERVICE);
    let settings = notification::Settings::load().context("while loading settings")?;
    let app = notification::Application::build(settings).await.context("while starting")?;
    app.run_until_stopped(service_runtime::shutdown::on_signal()).await
}
