use anyhow::Context as _;

const USAGE: &str = "usage: task-api                     serve the API\n       task-api token --sub USER [--ttl SECONDS] [--claim NAME=JSON]...\n                                  print a development token signed with auth.hs256_secret\n       task-api dlq (list|replay) --group GROUP ...\n                                  a consumer group's dead letters (task-api has no group of its own)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = task_api::Settings::load().context("while loading settings")?;
    match args.first().map(String::as_str) {
        None => {
            service_runtime::telemetry::init(task_api::SERVICE);
            let app = task_api::Application::build(settings).await.context("while starting")?;
            app.run_until_stopped(service_runtime::shutdown::on_signal()).await
        }
        Some("token") => {
            println!("{}", task_api::token::command(&settings.app.auth, &args[1..]).context(USAGE)?);
            Ok(())
        }
        Some("dlq") => {
            let status =
                service_runtime::dlq::command::exit_status(task_api::SERVICE, &settings.base, &args[1..]).await;
            std::process::exit(status)
        }
        Some(_) => anyhow::bail!("{USAGE}"),
    }
}
