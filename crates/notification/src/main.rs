use anyhow::Context as _;

const USAGE: &str = "usage: notification                    consume reminders, deliver them, serve the inbox API
       notification dlq list [...]     the group's dead letters
       notification dlq replay [...]   put them back on reminders (`notification dlq` prints the options)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => {
            service_runtime::telemetry::init(notification::SERVICE);
            let settings = notification::Settings::load().context("while loading settings")?;
            let app = notification::Application::build(settings).await.context("while starting")?;
            app.run_until_stopped(service_runtime::shutdown::on_signal()).await
        }
        Some("dlq") => {
            let settings = notification::Settings::load().context("while loading settings")?;
            let status =
                service_runtime::dlq::command::exit_status(notification::SERVICE, &settings.base, &args[1..]).await;
            std::process::exit(status)
        }
        Some(_) => anyhow::bail!("{USAGE}"),
    }
}
