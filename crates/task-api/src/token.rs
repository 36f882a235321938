//! `task-api token --sub alice [--ttl 3600] [--claim roles='["admin"]']`: prints a development
//! token signed with the configured HS256 secret (`make token SUB=alice`). Production keys are
//! asymmetric and never configured with a secret, so this cannot mint production tokens there.

use std::time::Duration;

use service_runtime::auth::{AuthSettings, mint_dev_token};

/// Parses the command's arguments (after `token`) and mints the token.
pub fn command(settings: &AuthSettings, args: &[String]) -> anyhow::Result<String> {
    let mut sub = None;
    let mut ttl = Duration::from_secs(settings.dev_token_ttl_seconds);
    let mut claims = serde_json::Map::new();
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| anyhow::anyhow!("{arg} needs a value"));
        match arg.as_str() {
            "--sub" => sub = Some(value()?.clone()),
            "--ttl" => ttl = Duration::from_secs(value()?.parse()?),
            "--claim" => {
                let pair = value()?;
                let (name, json) =
                    pair.split_once('=').ok_or_else(|| anyhow::anyhow!("--claim takes NAME=JSON, got {pair}"))?;
                let parsed = serde_json::from_str(json).unwrap_or_else(|_| serde_json::Value::String(json.to_owned()));
                claims.insert(name.to_owned(), parsed);
            }
            other => anyhow::bail!("unknown argument {other}"),
        }
    }
    let sub = sub.ok_or_else(|| anyhow::anyhow!("--sub is required"))?;
    Ok(mint_dev_token(settings, &sub, ttl, claims)?)
}
