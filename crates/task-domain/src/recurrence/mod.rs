//! [`RecurrenceRule`]: an RFC 5545 RRULE with limits that keep it cheap to evaluate, and
//! the computation of the next occurrence in the task's time zone.

use chrono::{DateTime, Months, Utc};
use event_schema::{Recurrence, RecurrenceAnchor};
use rrule::{RRule, RRuleError, RRuleSet, Unvalidated, ValidationError};

mod screen;

use self::screen::DayFilter;
use crate::error::{Rule, Violation};
use crate::instant::MAX_INSTANT;
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
/// - no empty parts (`FREQ=DAILY;;;`).
///
/// With the task's `due_at` (checked by [`RecurrenceRule::check_start`]): `UNTIL` must not
/// be before `due_at`, and unless `UNTIL` ends the series within the horizon, the rule must
/// produce an occurrence after `due_at` within [`RecurrenceRule::HORIZON_YEARS`] years and
/// by the year 9999 ([`MAX_INSTANT`]).
///
/// Evaluation is bounded. A day screen first walks the local calendar days of the window
/// (at most [`RecurrenceRule::SCREEN_DAYS`]) and checks the rule's day filters; a rule that
/// no day of the window passes (`FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`) has no occurrence
/// there and the `rrule` iterator is not run at all ([`Work`] counts both). Otherwise at
/// most [`RecurrenceRule::MAX_SCANNED`] occurrences are looked at, and the crate gives up
/// after 100,000 periods without one.
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
    /// The most calendar days the screen looks at.
    /// The most calendar days the screen looks at: the horizon, and a whole period (at
    /// most a year) at each end for `BYSETPOS`.
    pub const SCREEN_DAYS: u32 = 366 * (Self::HORIZON_YEARS + 2);

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
            if part.is_empty() {
                // The crate skips empty parts; RFC 5545 has none, and `FREQ=DAILY;;;` is a
                // mistake the client should hear about.
                return Err(Violation::new(Rule::Format, "must not have empty parts (;; or a ; at either end)"));
            }
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
        self.check_start_measured(due_at, time_zone).0
    }

    /// [`RecurrenceRule::check_start`], and the work it took.
    pub fn check_start_measured(&self, due_at: DateTime<Utc>, time_zone: TimeZone) -> (Result<(), Violation>, Work) {
        let mut work = Work::default();
        (self.check_start_with(due_at, time_zone, &mut work), work)
    }

    fn check_start_with(&self, due_at: DateTime<Utc>, time_zone: TimeZone, work: &mut Work) -> Result<(), Violation> {
        let set = self.build(due_at, time_zone).map_err(|e| match e {
            RRuleError::ValidationError(ValidationError::UntilBeforeStart { .. }) => {
                Violation::new(Rule::Range, "UNTIL is before due_at: the task would never repeat")
            }
            e => invalid(e),
        })?;
        let no_next = || {
            Violation::new(
                Rule::NoNextOccurrence,
                format!("must repeat within {} years of due_at", Self::HORIZON_YEARS),
            )
        };
        let horizon = horizon(due_at).ok_or_else(no_next)?;
        let until = self.until();
        let last = until.map_or(horizon, |until| until.min(horizon));
        if !self.may_occur(due_at, time_zone, due_at, last, work) {
            // No day of the window can hold an occurrence: UNTIL ended the series within the
            // horizon (the task is its last occurrence), or the rule does not repeat in time.
            return if until.is_some_and(|until| until <= horizon) { Ok(()) } else { Err(no_next()) };
        }
        work.ran_iterator = true;
        let next = set.into_iter().take(Self::MAX_SCANNED).map(|d| d.to_utc()).find(|d| *d > due_at);
        match next {
            Some(next) if next <= horizon => Ok(()),
            // UNTIL ended the series: the task is its last occurrence.
            None if until.is_some() => Ok(()),
            _ => Err(no_next()),
        }
    }

    /// The first occurrence strictly after `after`, the rule starting at `start` in
    /// `time_zone` (occurrences keep their wall-clock time across daylight-saving changes).
    /// `None` when the series has ended, or the next occurrence is more than
    /// [`RecurrenceRule::HORIZON_YEARS`] years after `after` or after [`MAX_INSTANT`]
    /// (year 9999), or the bounds are hit.
    pub fn next_after(&self, start: DateTime<Utc>, time_zone: TimeZone, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_after_measured(start, time_zone, after).0
    }

    /// [`RecurrenceRule::next_after`], and the work it took.
    pub fn next_after_measured(
        &self,
        start: DateTime<Utc>,
        time_zone: TimeZone,
        after: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Work) {
        let mut work = Work::default();
        let next = (|| {
            let set = self.build(start, time_zone).ok()?;
            let horizon = horizon(after)?;
            let last = self.until().map_or(horizon, |until| until.min(horizon));
            if !self.may_occur(start, time_zone, after.max(start), last, &mut work) {
                return None;
            }
            work.ran_iterator = true;
            set.into_iter()
                .take(Self::MAX_SCANNED)
                .map(|d| d.to_utc())
                .take_while(|d| *d <= horizon)
                .find(|d| *d > after)
        })();
        (next, work)
    }

    /// Whether a local day from `first` to `last` passes the rule's day filters (see
    /// `screen`), the rule starting at `start`.
    fn may_occur(
        &self,
        start: DateTime<Utc>,
        time_zone: TimeZone,
        first: DateTime<Utc>,
        last: DateTime<Utc>,
        work: &mut Work,
    ) -> bool {
        let local = |t: DateTime<Utc>| t.with_timezone(&time_zone.tz()).naive_local();
        DayFilter::new(&self.parsed, local(start)).any_between(
            local(first).date(),
            local(last).date(),
            Self::SCREEN_DAYS,
            work,
        )
    }

    fn until(&self) -> Option<DateTime<Utc>> {
        self.parsed.get_until().map(DateTime::to_utc)
    }

    fn build(&self, start: DateTime<Utc>, time_zone: TimeZone) -> Result<RRuleSet, RRuleError> {
        let start = start.with_timezone(&rrule::Tz::Tz(time_zone.tz()));
        // `limit` turns on the crate's loop guard for the iterator.
        self.parsed.clone().build(start).map(RRuleSet::limit)
    }
}

/// The work an evaluation took, so that tests can pin its budget without a clock.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Work {
    /// Calendar days the screen looked at.
    pub days_screened: u32,
    /// Whether the `rrule` crate's iterator ran.
    pub ran_iterator: bool,
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

/// How far after `from` an occurrence may be: [`RecurrenceRule::HORIZON_YEARS`] later, and
/// never after [`MAX_INSTANT`] (an occurrence in the year 10000 could not be written).
fn horizon(from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    from.checked_add_months(Months::new(12 * RecurrenceRule::HORIZON_YEARS)).map(|h| h.min(MAX_INSTANT))
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

    #[test]
    fn empty_parts_are_format_errors() {
        for bad in ["FREQ=DAILY;;;", "FREQ=DAILY;", ";FREQ=DAILY", "FREQ=WEEKLY;;BYDAY=MO"] {
            assert_eq!(refused(bad), Some(Rule::Format), "{bad:?}");
        }
    }

    #[test]
    fn a_rule_whose_next_occurrence_would_be_after_year_9999_has_none() {
        let due = utc("9999-06-01T09:00:00Z");
        let yearly = rule("FREQ=YEARLY");

        assert_eq!(yearly.next_after(due, TimeZone::UTC, due), None);
        assert_eq!(yearly.check_start(due, TimeZone::UTC).map_err(|v| v.rule), Err(Rule::NoNextOccurrence));
        // Within the year it still repeats.
        assert_eq!(rule("FREQ=MONTHLY").next_after(due, TimeZone::UTC, due), Some(utc("9999-07-01T09:00:00Z")));
    }

    #[test]
    fn a_rule_that_can_never_match_is_refused_without_running_the_rrule_iterator() {
        // Each of these made the rrule crate walk every period up to its loop guard or the
        // year 10000 (about 0.4 s of CPU for the yearly one) before saying "none".
        let due = utc("2026-01-01T09:00:00Z");
        for never in [
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=MONTHLY;BYMONTH=4;BYMONTHDAY=31",
            "FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=30",
            "FREQ=YEARLY;BYYEARDAY=366;BYMONTH=1",
            "FREQ=DAILY;BYMONTH=11;BYMONTHDAY=-31",
            "FREQ=YEARLY;BYWEEKNO=1;BYMONTH=6",
            "FREQ=YEARLY;BYMONTH=1;BYSETPOS=32",
            "FREQ=YEARLY;BYMONTH=1;BYDAY=53MO",
            "FREQ=WEEKLY;BYSETPOS=8",
            "FREQ=HOURLY;BYSETPOS=2",
            "FREQ=HOURLY;INTERVAL=24;BYHOUR=5",
            "FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",
        ] {
            let (checked, work) = rule(never).check_start_measured(due, TimeZone::UTC);

            assert_eq!(checked.map_err(|v| v.rule), Err(Rule::NoNextOccurrence), "{never}");
            assert!(work.days_screened <= RecurrenceRule::SCREEN_DAYS, "{never}: {work:?}");
            assert!(!work.ran_iterator, "{never}: the rrule iterator ran: {work:?}");
        }
    }

    #[test]
    fn a_yearly_rule_defaulting_to_a_day_the_month_lacks_is_refused_without_running_the_iterator() {
        // Without BYMONTHDAY a yearly rule takes the day from due_at: 31 February never comes.
        let (checked, work) =
            rule("FREQ=YEARLY;BYMONTH=2").check_start_measured(utc("2026-01-31T09:00:00Z"), TimeZone::UTC);

        assert_eq!(checked.map_err(|v| v.rule), Err(Rule::NoNextOccurrence));
        assert!(!work.ran_iterator, "{work:?}");
    }

    #[test]
    fn the_screen_lets_every_rule_with_a_possible_day_through_to_the_iterator() {
        let due = utc("2026-01-01T09:00:00Z");
        for (rrule, next) in [
            ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "2028-02-29T09:00:00Z"),
            ("FREQ=MONTHLY;BYMONTHDAY=-1", "2026-01-31T09:00:00Z"),
            ("FREQ=YEARLY;BYYEARDAY=-1", "2026-12-31T09:00:00Z"),
            ("FREQ=MONTHLY;BYDAY=2TU", "2026-01-13T09:00:00Z"),
            ("FREQ=WEEKLY", "2026-01-08T09:00:00Z"),
        ] {
            let (checked, work) = rule(rrule).check_start_measured(due, TimeZone::UTC);

            assert_eq!(checked, Ok(()), "{rrule}");
            assert!(work.ran_iterator, "{rrule}");
            assert_eq!(rule(rrule).next_after(due, TimeZone::UTC, due), Some(utc(next)), "{rrule}");
        }
    }

    /// The crate alone, without the screen: what the screen must never contradict.
    fn next_after_unscreened(
        rule: &RecurrenceRule,
        start: DateTime<Utc>,
        time_zone: TimeZone,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        let horizon = horizon(after)?;
        let set = rule.build(start, time_zone).ok()?;
        set.into_iter().take(10_000).map(|d| d.to_utc()).take_while(|d| *d <= horizon).find(|d| *d > after)
    }

    #[test]
    fn the_screen_never_hides_an_occurrence_the_rrule_crate_finds() {
        let rules = [
            "FREQ=DAILY",
            "FREQ=DAILY;INTERVAL=3;BYDAY=MO,FR",
            "FREQ=HOURLY;INTERVAL=5;BYHOUR=1,9,17",
            "FREQ=HOURLY;BYSETPOS=1;BYDAY=SA",
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,SU;WKST=SU",
            "FREQ=WEEKLY;BYDAY=MO,WE,FR;BYSETPOS=-1",
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
            "FREQ=MONTHLY;BYDAY=-1SU",
            "FREQ=MONTHLY;BYDAY=5FR",
            "FREQ=MONTHLY;BYMONTHDAY=-3,15",
            "FREQ=MONTHLY;BYMONTHDAY=31",
            "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13",
            "FREQ=MONTHLY;INTERVAL=5;BYSETPOS=2,-2;BYDAY=SA,SU",
            "FREQ=YEARLY",
            "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29",
            "FREQ=YEARLY;BYMONTH=2;BYDAY=5MO",
            "FREQ=YEARLY;BYDAY=20MO",
            "FREQ=YEARLY;BYDAY=-1FR",
            "FREQ=YEARLY;BYYEARDAY=1,100,-1",
            "FREQ=YEARLY;BYYEARDAY=366",
            "FREQ=YEARLY;BYWEEKNO=1;BYDAY=MO",
            "FREQ=YEARLY;BYWEEKNO=53;BYDAY=TH",
            "FREQ=YEARLY;BYWEEKNO=-1;BYDAY=SU;WKST=SU",
            "FREQ=YEARLY;BYWEEKNO=20",
            "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU;BYHOUR=2",
            "FREQ=YEARLY;BYMONTH=6;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR",
            "FREQ=YEARLY;BYSETPOS=366;BYHOUR=9",
            "FREQ=HOURLY;INTERVAL=7;BYHOUR=3,4",
            "FREQ=DAILY;INTERVAL=10;BYDAY=SU",
            "FREQ=MONTHLY;INTERVAL=7;BYMONTH=3,9",
            "FREQ=WEEKLY;INTERVAL=3;BYDAY=SA;WKST=SA",
        ];
        let starts = ["2026-12-30T23:30:00Z", "2027-02-28T01:30:00Z", "2028-02-29T12:00:00Z"];
        let zones =
            ["Europe/Berlin", "America/New_York", "Pacific/Auckland"].map(|z| TimeZone::parse(z).expect("zone"));
        for rrule in rules {
            let rule = rule(rrule);
            for start in starts.map(utc) {
                for zone in zones {
                    let mut after = start;
                    for _ in 0..4 {
                        let screened = rule.next_after(start, zone, after);
                        assert_eq!(
                            screened,
                            next_after_unscreened(&rule, start, zone, after),
                            "{rrule} from {start} in {zone} after {after}"
                        );
                        let Some(next) = screened else { break };
                        after = next;
                    }
                }
            }
        }
    }
}
