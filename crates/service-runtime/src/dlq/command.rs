//! The `dlq` subcommands of every service binary:
//!
//! ```text
//! <service> dlq list   [--group G] [FILTERS] [--limit N] [--json]
//! <service> dlq replay [--group G] (--offset PARTITION:OFFSET ... | --all) [FILTERS] [--dry-run]
//!
//! FILTERS: --topic ORIGINAL_TOPIC  --since RFC3339  --until RFC3339  --reason TEXT
//! ```
//!
//! The dead-letter topic is the service's group's (`consumer.group_id`, `consumer.dead_letter_topic`
//! from its settings), or `<G>.dlq` with `--group G`. `list` prints one line per dead letter
//! (its partition:offset, when it failed, where it came from, the attempts and the reason), or
//! a JSON object per line with `--json`. `replay` puts the chosen dead letters back on their
//! original topics (see [`super::replay`]) and prints one line each; `--dry-run` only prints
//! what it would replay. Filters narrow `--all` and `--offset` alike.

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use event_schema::topics;
use serde_json::json;

use super::{DeadLetter, ReplayError, read_all, replay};
use crate::health::Health;
use crate::kafka::Producer;
use crate::settings::BaseSettings;

/// Usage text of the subcommands.
pub const USAGE: &str = "\
dlq list   [--group G] [FILTERS] [--limit N] [--json]   the dead letters of the group, oldest first
dlq replay [--group G] (--offset P:O ... | --all) [FILTERS] [--dry-run]
                                                     put them back on their original topics
FILTERS: --topic ORIGINAL_TOPIC --since RFC3339 --until RFC3339 --reason TEXT";

/// How long reading the dead-letter topic may take.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Errors of the `dlq` subcommands.
#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    /// The arguments do not parse.
    #[error("{0}\nusage:\n{USAGE}")]
    Usage(String),
    /// Reading the topic or creating the producer failed.
    #[error(transparent)]
    Runtime(#[from] crate::Error),
}

/// What `dlq` was asked to do.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Request {
    /// `replay` (else `list`).
    pub replay: bool,
    /// `--group`.
    pub group: Option<String>,
    /// Which dead letters.
    pub filter: Filter,
    /// `--limit` (list only).
    pub limit: Option<usize>,
    /// `--json` (list only).
    pub json: bool,
    /// `--all` (replay only).
    pub all: bool,
    /// `--dry-run` (replay only).
    pub dry_run: bool,
}

/// Which dead letters a command applies to; every given condition must hold.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Filter {
    /// `--offset P:O` (repeatable): these dead letters only.
    pub offsets: Vec<(i32, i64)>,
    /// `--topic`: dead-lettered from this topic.
    pub original_topic: Option<String>,
    /// `--since`: failed at or after.
    pub since: Option<DateTime<Utc>>,
    /// `--until`: failed before.
    pub until: Option<DateTime<Utc>>,
    /// `--reason`: the reason contains this text (case-insensitive).
    pub reason: Option<String>,
}

impl Filter {
    /// Whether `letter` is chosen.
    pub fn matches(&self, letter: &DeadLetter) -> bool {
        let failed_at = letter.failed_at();
        (self.offsets.is_empty() || self.offsets.contains(&(letter.partition, letter.offset)))
            && self.original_topic.as_ref().is_none_or(|t| letter.original_topic().as_ref() == Some(t))
            && self.since.is_none_or(|since| failed_at.is_some_and(|at| at >= since))
            && self.until.is_none_or(|until| failed_at.is_some_and(|at| at < until))
            && self
                .reason
                .as_ref()
                .is_none_or(|text| letter.reason().is_some_and(|r| r.to_lowercase().contains(&text.to_lowercase())))
    }
}

/// Parses the arguments after `dlq`.
pub fn parse(args: &[String]) -> Result<Request, DlqError> {
    let usage = |message: String| DlqError::Usage(message);
    let mut args = args.iter();
    let mut request = match args.next().map(String::as_str) {
        Some("list") => Request::default(),
        Some("replay") => Request { replay: true, ..Request::default() },
        Some(other) => return Err(usage(format!("unknown dlq subcommand {other:?}"))),
        None => return Err(usage("dlq needs a subcommand".into())),
    };
    let instant = |flag: &str, value: &str| {
        DateTime::parse_from_rfc3339(value)
            .map(|t| t.to_utc())
            .map_err(|_| usage(format!("{flag} must be an RFC 3339 instant such as 2026-12-01T10:00:00Z")))
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().cloned().ok_or_else(|| usage(format!("{flag} needs a value")));
        match flag.as_str() {
            "--group" => request.group = Some(value()?),
            "--topic" => request.filter.original_topic = Some(value()?),
            "--since" => request.filter.since = Some(instant(flag, &value()?)?),
            "--until" => request.filter.until = Some(instant(flag, &value()?)?),
            "--reason" => request.filter.reason = Some(value()?),
            "--offset" => {
                let raw = value()?;
                let parsed = raw.split_once(':').and_then(|(p, o)| Some((p.parse().ok()?, o.parse().ok()?)));
                request.filter.offsets.push(
                    parsed.ok_or_else(|| usage(format!("--offset takes PARTITION:OFFSET, e.g. 0:42 (got {raw:?})")))?,
                );
            }
            "--limit" if !request.replay => {
                request.limit = Some(value()?.parse().map_err(|_| usage("--limit takes a number".into()))?);
            }
            "--json" if !request.replay => request.json = true,
            "--all" if request.replay => request.all = true,
            "--dry-run" if request.replay => request.dry_run = true,
            other => return Err(usage(format!("unknown option {other:?}"))),
        }
    }
    if request.replay && request.all != request.filter.offsets.is_empty() {
        return Err(usage("replay needs either --all or at least one --offset (not both)".into()));
    }
    Ok(request)
}

/// Runs `<service> dlq …`, printing to stdout. Returns whether every chosen dead letter was
/// replayed (always `true` for `list` and `--dry-run`).
pub async fn run(service: &str, settings: &BaseSettings, args: &[String]) -> Result<bool, DlqError> {
    let request = parse(args)?;
    let topic = match &request.group {
        Some(group) => topics::dead_letter_topic(group),
        None if settings.consumer.group_id.is_empty() => {
            return Err(DlqError::Usage(format!("{service} has no consumer group: name one with --group")));
        }
        None => settings.consumer.dead_letter_topic(),
    };
    let letters: Vec<DeadLetter> = read_all(&settings.kafka, service, &topic, READ_TIMEOUT)
        .await?
        .into_iter()
        .filter(|l| request.filter.matches(l))
        .collect();
    if !request.replay {
        let shown = request.limit.map_or(letters.len(), |n| n.min(letters.len()));
        for letter in &letters[..shown] {
            println!("{}", if request.json { json_line(letter) } else { text_line(letter) });
        }
        if !request.json {
            println!(
                "{} dead letter(s) in {topic}{}",
                letters.len(),
                if shown < letters.len() { format!(", {shown} shown") } else { String::new() }
            );
        }
        return Ok(true);
    }
    let wanted: HashSet<(i32, i64)> = request.filter.offsets.iter().copied().collect();
    let found: HashSet<(i32, i64)> = letters.iter().map(|l| (l.partition, l.offset)).collect();
    let mut all_ok = true;
    for (partition, offset) in wanted.difference(&found) {
        eprintln!("{topic}/{partition}/{offset}: no such dead letter (or the filters exclude it)");
        all_ok = false;
    }
    if request.dry_run {
        for letter in &letters {
            println!("would replay {} to {}", letter.coordinates(), letter.original_topic().unwrap_or_default());
        }
        println!("dry run: {} dead letter(s) chosen, nothing produced", letters.len());
        return Ok(all_ok);
    }
    let producer = Producer::new(&settings.kafka, &settings.producer, service, Health::new())?;
    let mut replayed = 0;
    for letter in &letters {
        match replay(&producer, letter).await {
            Ok(r) => {
                replayed += 1;
                println!("replayed {} to {}/{}/{}", r.from, r.topic, r.partition, r.offset);
            }
            Err(error @ (ReplayError::Truncated(_) | ReplayError::NoOriginalTopic(_) | ReplayError::NullValue(_))) => {
                eprintln!("skipped {error}");
                all_ok = false;
            }
            Err(error) => {
                eprintln!("failed {error}");
                all_ok = false;
            }
        }
    }
    println!("{replayed} of {} dead letter(s) replayed", letters.len());
    Ok(all_ok)
}

/// [`run`] for a binary's `main`: the exit status, 0 when everything chosen was listed or
/// replayed, 1 when some dead letter was not replayed, 2 when the command could not run (the
/// error is printed on stderr).
pub async fn exit_status(service: &str, settings: &BaseSettings, args: &[String]) -> i32 {
    match run(service, settings, args).await {
        Ok(true) => 0,
        Ok(false) => 1,
        Err(error) => {
            eprintln!("{service} dlq: {error}");
            2
        }
    }
}

fn text_line(letter: &DeadLetter) -> String {
    let failed_at = letter.failed_at().map_or("?".into(), |t| t.to_rfc3339_opts(SecondsFormat::Secs, true));
    let origin = format!(
        "{}/{}/{}",
        letter.original_topic().unwrap_or_else(|| "?".into()),
        letter.original_partition().map_or("?".into(), |p| p.to_string()),
        letter.original_offset().map_or("?".into(), |o| o.to_string()),
    );
    let attempts = letter.attempts().map_or("?".into(), |a| a.to_string());
    let truncated = if letter.truncated() { " [truncated]" } else { "" };
    format!(
        "{}:{}  {failed_at}  from {origin}  attempts {attempts}{truncated}  {}",
        letter.partition,
        letter.offset,
        letter.reason().unwrap_or_default()
    )
}

fn json_line(letter: &DeadLetter) -> String {
    json!({
        "partition": letter.partition,
        "offset": letter.offset,
        "failed_at": letter.failed_at(),
        "original_topic": letter.original_topic(),
        "original_partition": letter.original_partition(),
        "original_offset": letter.original_offset(),
        "attempts": letter.attempts(),
        "reason": letter.reason(),
        "truncated": letter.truncated(),
        "key": letter.key.as_deref().map(String::from_utf8_lossy),
    })
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(line: &str) -> Vec<String> {
        line.split_whitespace().map(str::to_owned).collect()
    }

    #[test]
    fn list_takes_filters_a_limit_and_json() {
        let request = parse(&args(
            "list --group audit --topic task-events --since 2026-12-01T00:00:00Z --reason invalid --limit 5 --json",
        ))
        .expect("parses");

        assert!(!request.replay && request.json);
        assert_eq!(request.group.as_deref(), Some("audit"));
        assert_eq!(request.limit, Some(5));
        assert_eq!(request.filter.original_topic.as_deref(), Some("task-events"));
        assert_eq!(request.filter.reason.as_deref(), Some("invalid"));
        assert!(request.filter.since.is_some());
    }

    #[test]
    fn replay_needs_all_or_offsets_but_not_both() {
        assert!(parse(&args("replay")).is_err());
        assert!(parse(&args("replay --all --offset 0:1")).is_err());
        let request = parse(&args("replay --offset 0:1 --offset 2:40 --dry-run")).expect("parses");

        assert_eq!(request.filter.offsets, [(0, 1), (2, 40)]);
        assert!(request.dry_run && request.replay);
    }

    #[test]
    fn bad_arguments_are_refused_with_the_reason() {
        let message = |line: &str| parse(&args(line)).expect_err("refused").to_string();

        assert!(message("replay --offset 3").contains("PARTITION:OFFSET"));
        assert!(message("list --since yesterday").contains("RFC 3339"));
        assert!(message("list --dry-run").contains("unknown option"));
        assert!(message("purge").contains("unknown dlq subcommand"));
    }

    #[test]
    fn a_filter_keeps_only_matching_dead_letters() {
        let letter = DeadLetter {
            topic: "audit.dlq".into(),
            partition: 0,
            offset: 9,
            key: None,
            value: Some(b"x".to_vec()),
            headers: vec![
                ("dlq.error".into(), Some(b"Invalid data for task.created".to_vec())),
                ("dlq.original.topic".into(), Some(b"task-events".to_vec())),
                ("dlq.failed_at".into(), Some(b"2026-12-01T10:00:00Z".to_vec())),
            ],
        };
        let at = |s: &str| Some(DateTime::parse_from_rfc3339(s).expect("instant").to_utc());

        assert!(Filter { reason: Some("invalid DATA".into()), ..Filter::default() }.matches(&letter));
        assert!(
            Filter { offsets: vec![(0, 9)], since: at("2026-12-01T10:00:00Z"), ..Filter::default() }.matches(&letter)
        );
        assert!(!Filter { offsets: vec![(0, 8)], ..Filter::default() }.matches(&letter));
        assert!(!Filter { original_topic: Some("reminders".into()), ..Filter::default() }.matches(&letter));
        assert!(!Filter { until: at("2026-12-01T10:00:00Z"), ..Filter::default() }.matches(&letter));
    }
}
