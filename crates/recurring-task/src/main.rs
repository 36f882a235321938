use anyhow::Context as _;

const USAGE: &str = "usage: recurring-task                      consume task-events and create successors
       recurring-task dlq list [...]       the group's dead letters
       recurring-task dlq replay [...]     put them back on task-events (`recurring-task dlq` prints the options)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => {
            service_runtime::telemetry::init(recurring_task::SERVICE);
            let settings = recurring_task::Settings::load().context("while loading settings")?;
            let app = recurring_task::Application::build(settings).await.context("while starting")?;
            app.run_until_stopped(service_runtime::shutdown::on_signal()).await
        }
        Some("dlq") => {
            let settings = recurring_task::Settings::load().context("while loading settings")?;
            let status =
                service_runtime::dlq::command::exit_status(recurring_task::SERVICE, &settings.base, &args[1..]).await;
            std::process::exit(status)
        }
        Some(_) => anyhow::bail!("{USAGE}"),
    }
}
