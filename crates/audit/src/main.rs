use anyhow::Context as _;

const USAGE: &str = "usage: audit                       consume, record and serve the audit trail\n       audit verify [--user USER_ID]  verify one user's hash chain, or every chain;
                                       prints a JSON report; exit 1 if a chain is broken, 2 on errors";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = audit::Settings::load().context("while loading settings")?;
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => {
            service_runtime::telemetry::init(audit::SERVICE);
            let app = audit::Application::build(settings).await.context("while starting")?;
            app.run_until_stopped(service_runtime::shutdown::on_signal()).await
        }
        ["verify", rest @ ..] => {
            let user = match rest {
                [] => None,
                ["--user", user] => Some(*user),
                _ => anyhow::bail!("{USAGE}"),
            };
            // No log lines: stdout is the JSON report. Exit 1: a chain is broken; 2: could not verify.
            match audit::verify_command(&settings, user).await {
                Ok(true) => Ok(()),
                Ok(false) => std::process::exit(1),
                Err(error) => {
                    eprintln!("audit verify: {error:#}");
                    std::process::exit(2)
                }
            }
        }
        _ => anyhow::bail!("{USAGE}"),
    }
}
