//! [`RecurrenceRule`]: an RFC 5545 RRULE with limits that keep it cheap to evaluate, and
//! the computation of the next occurrence in the task's time zone.

use chrono::{DateTime, Months, Utc};
use event_schema::{Recurrence, RecurrenceAnchor};
use rrule::{RRule, RRuleError, RRuleSet, Unvalidated, ValidationError};

use crate::error::{Rule, Violation};
use crate::time_zone::TimeZone;

/// A recurrence: an RRULE value (without the `RRULE:` prefix) and what the next occurrence
/// is computed from.
///
/// Accepted rules (beyond RFC 5545 syntax, checked by the `rrule` crate):
/// - at most [`RecurrenceRule::MAX_CHARS`] characters; only the RRULE value, so no
///   `DTSTART` (the start is always the task's `due_at`), no other property, no line breaks;
/// - `FREQ` is `HOURLY`, `DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY`; `MINUTELY`, `SECONDLY`,
///   `BYMINUTE` and `BYSECOND` are refused, so occurrences are at least an hour apart
///   (`DAILY` with 24 `BYHOUR` values is the densest rule) and take their minute and second
///   from `due_at`;
/// - no `COUNT`: each occurrence is evaluated from its own `due_at` (and a completion-anchored
///   one from the completion), so a count could never be kept; `UNTIL` ends a series instead,
///   and must be a UTC date-time (`20261231T235959Z`), as RFC 5545 requires with a time zone;
/// - `INTERVAL` at least 1.
///
/// With the task's `due_at` (checked by [`RecurrenceRule::check_start`]): `UNTIL` must not
/// be before `due_at`, and a rule without `UNTIL` must produce an occurrence after `due_at`
/// within [`RecurrenceRule::HORIZON_YEARS`] years. Evaluation is bounded: at most
/// [`RecurrenceRule::MAX_SCANNED`] occurrences are looked at, and the `rrule` crate gives up
/// after 100,000 periods without one (`FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceRule {
    rrule: String,
    anchor: RecurrenceAnchor,
    parsed: RRule<Unvalidated>,
}

impl RecurrenceRule {
    /// The longest rule, in characters.
    pub const MAX_CHARS: usize = 500;
    /// How far ahead the next occurrence may be.
    pub const HORIZON_YEARS: u32 = 10;
    /// The most occurrences looked at to find the next one.
    pub const MAX_SCANNED: usize = 100_000;

    /// Checks the rule on its own (upper-cased and trimmed first). Violations concern the
    /// `rrule` field; [`RecurrenceRule::check_start`] checks it against a due date.
    pub fn parse(rrule: &str, anchor: RecurrenceAnchor) -> Result<Self, Violation> {
        let rrule = rrule.trim().to_ascii_uppercase();
        if rrule.is_empty() {
            return Err(Violation::new(Rule::Format, "must not be empty"));
        }
        let chars = rrule.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(Violation::new(
                Rule::MaxLength,
                format!("must be at most {} characters (got {chars})", Self::MAX_CHARS),
            ));
        }
        if !rrule.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "=;,+-".contains(c)) {
            return Err(Violation::new(
                Rule::Format,
                "must be an RRULE value such as FREQ=WEEKLY;BYDAY=MO,WE: without the RRULE: prefix, \
                 DTSTART or other properties",
            ));
        }
        for part in rrule.split(';') {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let refused = match name {
                "FREQ" if matches!(value, "MINUTELY" | "SECONDLY") => {
                    Some((Rule::Unsupported, "FREQ must be HOURLY, DAILY, WEEKLY, MONTHLY or YEARLY"))
                }
                "BYMINUTE" | "BYSECOND" => Some((
                    Rule::Unsupported,
                    "BYMINUTE and BYSECOND are not supported: occurrences take their minutes from due_at",
                )),
                "COUNT" => Some((
                    Rule::Unsupported,
                    "COUNT is not supported (each occurrence starts the rule anew); use UNTIL to end a series",
                )),
                "UNTIL" if !value.ends_with('Z') => {
                    Some((Rule::Format, "UNTIL must be a UTC date-time such as 20261231T235959Z"))
                }
                _ => None,
            };
            if let Some((rule, message)) = refused {
                return Err(Violation::new(rule, message));
            }
        }
        let parsed: RRule<Unvalidated> = rrule.parse().map_err(invalid)?;
        if parsed.get_interval() == 0 {
            return Err(Violation::new(Rule::Range, "INTERVAL must be at least 1"));
        }
        // Range checks that need no start (BYMONTH=13, BYSETPOS alone, …), against the
        // earliest start there is, so that no UNTIL is "before" it.
        parsed.clone().validate(DateTime::<Utc>::MIN_UTC.with_timezone(&rrule::Tz::UTC)).map_err(invalid)?;
        Ok(Self { rrule, anchor, parsed })
    }

    /// The rule, canonical (upper case, trimmed).
    pub fn rrule(&self) -> &str {
        &self.rrule
    }

    /// What the next occurrence is computed from.
    pub fn anchor(&self) -> RecurrenceAnchor {
        self.anchor
    }

    /// Checks the rule against a start (the task's `due_at`) in `time_zone`.
    pub fn check_start(&self, due_at: DateTime<Utc>, time_zone: TimeZone) -> Result<(), Violation> {
        let set = self.build(due_at, time_zone).map_err(|e| match e {
            RRuleError::ValidationError(ValidationError::UntilBeforeStart { .. }) => {
                Violation::new(Rule::Range, "UNTIL is before due_at: the task would never repeat")
            }
            e => invalid(e),
        })?;
        let next = set.into_iter().take(Self::MAX_SCANNED).map(|d| d.to_utc()).find(|d| *d > due_at);
        match (next, horizon(due_at)) {
            (Some(next), Some(horizon)) if next <= horizon => Ok(()),
            // UNTIL ended the series: the task is its last occurrence.
            (None, _) if self.parsed.get_until().is_some() => Ok(()),
            _ => Err(Violation::new(
                Rule::NoNextOccurrence,
                format!("must repeat within {} years of due_at", Self::HORIZON_YEARS),
            )),
        }
    }

    /// The first occurrence strictly after `after`, the rule starting at `start` in
    /// `time_zone` (occurrences keep their wall-clock time across daylight-saving changes).
    /// `None` when the series has ended, or the next occurrence is more than
    /// [`RecurrenceRule::HORIZON_YEARS`] years after `after`, or the bounds are hit.
    pub fn next_after(&self, start: DateTime<Utc>, time_zone: TimeZone, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let set = self.build(start, time_zone).ok()?;
        let horizon = horizon(after)?;
        set.into_iter().take(Self::MAX_SCANNED).map(|d| d.to_utc()).take_while(|d| *d <= horizon).find(|d| *d > after)
    }

    fn build(&self, start: DateTime<Utc>, time_zone: TimeZone) -> Result<RRuleSet, RRuleError> {
        let start = start.with_timezone(&rrule::Tz::Tz(time_zone.tz()));
        // `limit` turns on the crate's loop guard for the iterator.
        self.parsed.clone().build(start).map(RRuleSet::limit)
    }
}

fn invalid(e: RRuleError) -> Violation {
    // The crate's messages name the offending part, e.g. "`FORTNIGHTLY` is not a valid frequency".
    let detail = match e {
        RRuleError::ParserError(e) => e.to_string(),
        RRuleError::ValidationError(e) => e.to_string(),
        RRuleError::IterError(e) => e,
    };
    Violation::new(Rule::Format, format!("is not a valid RRULE: {detail}"))
}

fn horizon(from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    from.checked_add_months(Months::new(12 * RecurrenceRule::HORIZON_YEARS))
}

impl TryFrom<&Recurrence> for RecurrenceRule {
    type Error = Violation;

    /// Validates a wire recurrence; a violation concerns the `rrule` field.
    fn try_from(recurrence: &Recurrence) -> Result<Self, Self::Error> {
        Self::parse(&recurrence.rrule, recurrence.anchor)
    }
}

impl From<&RecurrenceRule> for Recurrence {
    fn from(rule: &RecurrenceRule) -> Self {
        Self { rrule: rule.rrule.clone(), anchor: rule.anchor }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("RFC 3339").to_utc()
    }

    fn rule(s: &str) -> RecurrenceRule {
        RecurrenceRule::parse(s, RecurrenceAnchor::Due).expect("valid rule")
    }

    fn refused(s: &str) -> Option<Rule> {
        RecurrenceRule::parse(s, RecurrenceAnchor::Due).err().map(|v| v.rule)
    }

    fn berlin() -> TimeZone {
        TimeZone::parse("Europe/Berlin").expect("zone")
    }

    #[test]
    fn a_weekly_rule_keeps_0900_berlin_time_across_the_march_dst_change() {
        // Monday 23 March 2026, 09:00 CET = 08:00Z; summer time starts on Sunday the 29th.
        let weekly = rule("FREQ=WEEKLY;BYDAY=MO,WE");
        let due = utc("2026-03-23T08:00:00Z");

        let wednesday = weekly.next_after(due, berlin(), due);
        let monday = wednesday.and_then(|w| weekly.next_after(due, berlin(), w));

        assert_eq!(wednesday, Some(utc("2026-03-25T08:00:00Z")), "Wednesday 09:00 CET");
        assert_eq!(monday, Some(utc("2026-03-30T07:00:00Z")), "Monday 09:00 CEST");
    }

    #[test]
    fn a_weekly_rule_keeps_0900_berlin_time_across_the_october_dst_change() {
        let weekly = rule("FREQ=WEEKLY");
        let due = utc("2026-10-19T07:00:00Z"); // Monday 09:00 CEST; winter time from the 25th

        assert_eq!(weekly.next_after(due, berlin(), due), Some(utc("2026-10-26T08:00:00Z")));
    }

    #[test]
    fn a_rule_started_from_an_occurrence_continues_the_same_schedule() {
        let every_other_week = rule("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE");
        let monday = utc("2026-01-05T09:00:00Z");

        let wednesday = every_other_week.next_after(monday, TimeZone::UTC, monday).expect("next");
        // Restarting the rule at Wednesday (as the next occurrence task will) keeps the fortnight.
        let next = every_other_week.next_after(wednesday, TimeZone::UTC, wednesday);

        assert_eq!(wednesday, utc("2026-01-07T09:00:00Z"));
        assert_eq!(next, Some(utc("2026-01-19T09:00:00Z")));
    }

    #[test]
    fn a_monthly_rule_on_the_31st_skips_short_months() {
        let monthly = rule("FREQ=MONTHLY;BYMONTHDAY=31");
        let due = utc("2026-01-31T09:00:00Z");

        assert_eq!(monthly.next_after(due, TimeZone::UTC, due), Some(utc("2026-03-31T09:00:00Z")));
    }

    #[test]
    fn the_rule_is_stored_upper_case_and_trimmed() {
        assert_eq!(rule("  freq=weekly;byday=mo ").rrule(), "FREQ=WEEKLY;BYDAY=MO");
    }

    #[test]
    fn hourly_is_the_most_frequent_rule_accepted() {
        assert!(RecurrenceRule::parse("FREQ=HOURLY;INTERVAL=1", RecurrenceAnchor::Due).is_ok());
        assert_eq!(refused("FREQ=MINUTELY"), Some(Rule::Unsupported));
        assert_eq!(refused("FREQ=SECONDLY"), Some(Rule::Unsupported));
        assert_eq!(refused("FREQ=DAILY;BYMINUTE=0,15,30,45"), Some(Rule::Unsupported));
        assert_eq!(refused("FREQ=DAILY;BYSECOND=1"), Some(Rule::Unsupported));
    }

    #[test]
    fn count_is_refused_in_favour_of_until() {
        assert_eq!(refused("FREQ=DAILY;COUNT=5"), Some(Rule::Unsupported));
        assert!(RecurrenceRule::parse("FREQ=DAILY;UNTIL=20261231T235959Z", RecurrenceAnchor::Due).is_ok());
    }

    #[test]
    fn malformed_rules_are_format_errors() {
        for bad in [
            "FREQ=FORTNIGHTLY",
            "BYDAY=MO",
            "FREQ=WEEKLY;BYDAY=XX",
            "FREQ=YEARLY;BYMONTH=13",
            "FREQ=DAILY;FREQ=WEEKLY",
            "RRULE:FREQ=DAILY",
            "DTSTART:20260101T090000Z\nRRULE:FREQ=DAILY",
            "FREQ=DAILY;DTSTART=20260101T090000Z",
            "FREQ=DAILY;UNTIL=20261231",
            "",
        ] {
            assert_eq!(refused(bad), Some(Rule::Format), "{bad:?}");
        }
    }

    #[test]
    fn a_rule_of_500_characters_is_accepted_and_501_is_too_long() {
        // 23 + 159 × 3 = 500 characters; one more digit makes 501 (and the last day 100).
        let five_hundred = format!("FREQ=YEARLY;BYYEARDAY=1{}", ",10".repeat(159));
        let five_hundred_one = format!("{five_hundred}0");

        assert_eq!(five_hundred.len(), 500);
        assert!(RecurrenceRule::parse(&five_hundred, RecurrenceAnchor::Due).is_ok());
        assert_eq!(refused(&five_hundred_one), Some(Rule::MaxLength));
    }

    #[test]
    fn interval_zero_is_out_of_range() {
        assert_eq!(refused("FREQ=DAILY;INTERVAL=0"), Some(Rule::Range));
    }

    #[test]
    fn a_rule_that_never_matches_has_no_next_occurrence() {
        let never = rule("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30");

        let checked = never.check_start(utc("2026-01-01T09:00:00Z"), TimeZone::UTC);

        assert_eq!(checked.map_err(|v| v.rule), Err(Rule::NoNextOccurrence));
    }

    #[test]
    fn an_hourly_rule_that_never_matches_gives_up_with_no_next_occurrence() {
        // The worst case for the iteration bound: 100,000 empty hourly periods.
        let never = rule("FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30");
        let due = utc("2026-01-01T09:00:00Z");

        assert_eq!(never.check_start(due, TimeZone::UTC).map_err(|v| v.rule), Err(Rule::NoNextOccurrence));
        assert_eq!(never.next_after(due, TimeZone::UTC, due), None);
    }

    #[test]
    fn a_rule_repeating_less_often_than_every_ten_years_has_no_next_occurrence() {
        let due = utc("2026-01-01T09:00:00Z");

        assert_eq!(rule("FREQ=YEARLY;INTERVAL=10").check_start(due, TimeZone::UTC), Ok(()));
        assert_eq!(
            rule("FREQ=YEARLY;INTERVAL=11").check_start(due, TimeZone::UTC).map_err(|v| v.rule),
            Err(Rule::NoNextOccurrence)
        );
    }

    #[test]
    fn until_before_due_is_out_of_range() {
        let ended = rule("FREQ=DAILY;UNTIL=20250101T000000Z");

        assert_eq!(ended.check_start(utc("2026-01-01T09:00:00Z"), TimeZone::UTC).map_err(|v| v.rule), Err(Rule::Range));
    }

    #[test]
    fn the_last_occurrence_of_a_series_ending_with_until_is_valid_and_has_no_next() {
        let due = utc("2026-01-05T09:00:00Z");
        let last = rule("FREQ=DAILY;UNTIL=20260105T090000Z");

        assert_eq!(last.check_start(due, TimeZone::UTC), Ok(()));
        assert_eq!(last.next_after(due, TimeZone::UTC, due), None);
    }

    #[test]
    fn a_rule_round_trips_through_the_wire_form() {
        let wire = Recurrence { rrule: "FREQ=DAILY".to_owned(), anchor: RecurrenceAnchor::Completion };

        let rule = RecurrenceRule::try_from(&wire).expect("valid");

        assert_eq!(Recurrence::from(&rule), wire);
    }
}
