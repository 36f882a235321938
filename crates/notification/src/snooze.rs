//! Snooze requests: `{"until": <instant>}` or `{"for": <ISO 8601 duration>}` → the instant of
//! the next delivery (pure).

use chrono::{DateTime, TimeDelta, Utc};

/// The longest snooze: a year.
pub const MAX_SNOOZE: TimeDelta = TimeDelta::days(366);

/// A field of the request that is wrong: its name, the rule and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnoozeFieldError {
    /// `until` or `for`.
    pub field: &'static str,
    /// `required`, `format` or `range`.
    pub rule: &'static str,
    /// For people.
    pub message: String,
}

fn error(field: &'static str, rule: &'static str, message: impl Into<String>) -> SnoozeFieldError {
    SnoozeFieldError { field, rule, message: message.into() }
}

/// When the snoozed reminder fires: `until`, or `now` plus `for`; exactly one of them, in the
/// future and at most [`MAX_SNOOZE`] away.
pub fn fire_at(
    until: Option<&str>,
    r#for: Option<&str>,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, SnoozeFieldError> {
    let (field, at) = match (until, r#for) {
        (Some(_), Some(_)) => return Err(error("for", "exclusive", "give either until or for, not both")),
        (None, None) => return Err(error("until", "required", "give until (an instant) or for (a duration)")),
        (Some(until), None) => {
            let at = DateTime::parse_from_rfc3339(until)
                .map_err(|_| error("until", "format", "must be an RFC 3339 instant, e.g. 2026-03-01T09:00:00Z"))?;
            ("until", at.to_utc())
        }
        (None, Some(duration)) => ("for", now + parse_duration(duration).map_err(|m| error("for", "format", m))?),
    };
    if at <= now {
        return Err(error(field, "range", "must be in the future"));
    }
    if at - now > MAX_SNOOZE {
        return Err(error(field, "range", "must be at most 366 days away"));
    }
    Ok(at)
}

/// An ISO 8601 duration of weeks, days, hours, minutes and seconds (`PT10M`, `P1DT2H`, `P1W`).
fn parse_duration(raw: &str) -> Result<TimeDelta, String> {
    let malformed = || format!("\"{raw}\" is not an ISO 8601 duration such as PT10M, PT1H or P1D");
    let body = raw.strip_prefix('P').ok_or_else(malformed)?;
    let (date, time) = body.split_once('T').unwrap_or((body, ""));
    if body.is_empty() || body.ends_with('T') {
        return Err(malformed());
    }
    let mut total = TimeDelta::zero();
    for (part, units) in [(date, "WD"), (time, "HMS")] {
        let mut digits = String::new();
        for c in part.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
                continue;
            }
            if digits.is_empty() || !units.contains(c) {
                return Err(malformed());
            }
            let n: i64 = digits.parse().map_err(|_| malformed())?;
            let seconds = match (units, c) {
                ("WD", 'W') => 7 * 86_400,
                ("WD", _) => 86_400,
                (_, 'H') => 3_600,
                (_, 'M') => 60,
                _ => 1,
            };
            total += TimeDelta::try_seconds(n.checked_mul(seconds).ok_or_else(malformed)?).ok_or_else(malformed)?;
            digits.clear();
        }
        if !digits.is_empty() {
            return Err(malformed());
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-03-01T09:00:00Z").expect("instant").to_utc()
    }

    #[test]
    fn a_duration_snoozes_from_now() {
        assert_eq!(fire_at(None, Some("PT10M"), now()), Ok(now() + TimeDelta::minutes(10)));
        assert_eq!(fire_at(None, Some("P1DT2H"), now()), Ok(now() + TimeDelta::hours(26)));
        assert_eq!(fire_at(None, Some("P1W"), now()), Ok(now() + TimeDelta::days(7)));
    }

    #[test]
    fn an_instant_snoozes_until_then() {
        let earlier = now() - TimeDelta::seconds(1);

        assert_eq!(fire_at(Some("2026-03-01T10:00:00+01:00"), None, earlier), Ok(now()));
    }

    #[test]
    fn the_error_names_the_field_and_the_rule() {
        let cases = [
            (None, None, "until", "required"),
            (Some("2026-03-02T09:00:00Z"), Some("PT1M"), "for", "exclusive"),
            (Some("tomorrow"), None, "until", "format"),
            (Some("2026-03-01T08:00:00Z"), None, "until", "range"),
            (None, Some("10M"), "for", "format"),
            (None, Some("PT"), "for", "format"),
            (None, Some("P1Y"), "for", "format"),
            (None, Some("PT0S"), "for", "range"),
            (None, Some("P400D"), "for", "range"),
        ];
        for (until, r#for, field, rule) in cases {
            let error = fire_at(until, r#for, now()).expect_err("refused");
            assert_eq!((error.field, error.rule), (field, rule), "{until:?} {for:?}");
        }
    }
}
