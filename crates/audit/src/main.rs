use anyhow::Context as _;

const USAGE: &str = "usage: audit                       consume, record and serve the audit trail\n       audit verify [--user USER_ID]  verify one user's hash chain, or every chain; exit 1 if one is broken";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = audit::Settings::load().context("while loading settings")?;
    service_runtime::telemetry::init(audit::SERVICE);
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => {
            let app = audit::Application::build(settings).await.context("while starting")?;
            app.run_until_stopped(service_runtime::shutdown::on_signal()).await
        }
        ["verify", rest @ ..] => {
            let user = match rest {
                [] => None,
                ["--user", user] => Some(*user),
                _ => anyhow::bail!("{USAGE}"),
            };
            let ok = audit::verify_command(&settings, user).await?;
            std::process::exit(if ok { 0 } else { 1 })
        }
        _ => anyhow::bail!("{USAGE}"),
    }
}
