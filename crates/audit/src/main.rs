use anyhow::Context as _;

const USAGE: &str = "usage: audit                          consume, record and serve the audit trail
       audit verify [--user USER_ID]  verify one user's hash chain, or every chain: prints a JSON
                                      report; exit 1 if a chain is broken, 2 if it cannot verify
       audit dlq list [...] | audit dlq replay [...]
                                      the group's dead letters: list them, put them back (`audit dlq`
                                      prints the options)";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => {
            service_runtime::telemetry::init(audit::SERVICE);
            let settings = audit::Settings::load().context("while loading settings")?;
            let app = audit::Application::build(settings).await.context("while starting")?;
            app.run_until_stopped(service_runtime::shutdown::on_signal()).await
        }
        ["verify", rest @ ..] => {
            // No log lines: stdout is the JSON report. Exit 1: a chain is broken; 2: could not verify.
            let verified = match rest {
                [] => verify(None).await,
                ["--user", user] => verify(Some(user)).await,
                _ => Err(anyhow::anyhow!("{USAGE}")),
            };
            match verified {
                Ok(true) => Ok(()),
                Ok(false) => std::process::exit(1),
                Err(error) => {
                    // The outermost context and the root cause: the layers between repeat them.
                    match error.root_cause().to_string() {
                        cause if cause == error.to_string() => eprintln!("audit verify: {error}"),
                        cause => eprintln!("audit verify: {error}: {cause}"),
                    }
                    std::process::exit(2)
                }
            }
        }
        ["dlq", rest @ ..] => {
            let settings = audit::Settings::load().context("while loading settings")?;
            let rest: Vec<String> = rest.iter().map(|s| (*s).to_owned()).collect();
            std::process::exit(service_runtime::dlq::command::exit_status(audit::SERVICE, &settings.base, &rest).await)
        }
        _ => anyhow::bail!("{USAGE}"),
    }
}

async fn verify(user: Option<&str>) -> anyhow::Result<bool> {
    let settings = audit::Settings::load().context("while loading settings")?;
    audit::verify_command(&settings, user).await
}
