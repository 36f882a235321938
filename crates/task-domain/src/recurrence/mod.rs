//! [`RecurrenceRule`]: an RFC 5545 RRULE with limits that keep it cheap to evaluate, and
//! the computation of the next occurrence in the task's time zone.

use chrono::{DateTime, Months, Utc};
use event_schema::{Recurrence, RecurrenceAnchor};
use rrule::{RRule, RRuleError, Unvalidated};

mod expand;
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
///   `DTSTART` (the start is the series' start, see `docs/recurrence.md`), no other
///   property, no line breaks;
/// - `FREQ` is `HOURLY`, `DAILY`, `WEEKLY`, `MONTHLY` or `YEARLY`; `MINUTELY`, `SECONDLY`,
///   `BYMINUTE` and `BYSECOND` are refused, so occurrences are at least an hour apart
///   (`DAILY` with 24 `BYHOUR` values is the densest rule) and take their minute and second
///   from the start;
/// - `COUNT` at least 1; it counts occurrences from the series' start, which is always the
///   first (RFC 5545: DTSTART is the first instance, even where the rule would not produce
///   it); `UNTIL` must be a UTC date-time (`20261231T235959Z`), as RFC 5545 requires with a
///   time zone, and is inclusive;
/// - `INTERVAL` at least 1;
/// - no empty parts (`FREQ=DAILY;;;`).
///
/// With the task's `due_at` (checked by [`RecurrenceRule::check_start`]): `UNTIL` must not
/// be before `due_at`, and unless `UNTIL` ends the series within the horizon, the rule must
/// produce an occurrence after `due_at` within [`RecurrenceRule::HORIZON_YEARS`] years and
/// by the year 9999 ([`MAX_INSTANT`]). `COUNT` is not part of that check (a series' last
/// occurrence is a valid task).
///
/// Occurrences are expanded in local wall-clock time (so 09:00 stays 09:00 across DST) and
/// then read as instants with [`TimeZone::instant_of`]: a time in a spring gap moves forward
/// by the gap, a repeated autumn time is the first one. Two wall-clock times that name the
/// same instant (an hourly rule across a gap) are one occurrence.
///
/// Evaluation is bounded. A day screen first walks the local calendar days of the window
/// (at most [`RecurrenceRule::SCREEN_DAYS`]) and checks the rule's day filters; a rule that
/// no day of the window passes (`FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`) has no occurrence
/// there and the `rrule` iterator is not run at all ([`Work`] counts both). Otherwise at
/// most [`RecurrenceRule::MAX_SCANNED`] occurrences are looked at (counted from the start
/// of the series), and the crate gives up after 100,000 periods without one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecurrenceRule {
    rrule: String,
    anchor: RecurrenceAnchor,
    /// The whole rule, for its parts (`UNTIL`, `COUNT`, the day filters).
    parsed: RRule<Unvalidated>,
    /// The rule without `COUNT` and `UNTIL`, which are applied to the instants (see `expand`).
    open: RRule<Unvalidated>,
}

impl RecurrenceRule {
    /// The longest rule, in characters.
    pub const MAX_CHARS: usize = 500;
    /// How far ahead the next occurrence may be.
    pub const HORIZON_YEARS: u32 = 10;
    /// The most occurrences looked at to find the next one.
    pub const MAX_SCANNED: usize = 100_000;
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
        let mut open_parts = Vec::new();
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
                "COUNT" if value.parse::<u32>().is_ok_and(|n| n == 0) => {
                    Some((Rule::Range, "COUNT must be at least 1"))
                }
                "UNTIL" if !value.ends_with('Z') => {
                    Some((Rule::Format, "UNTIL must be a UTC date-time such as 20261231T235959Z"))
                }
                _ => None,
            };
            if let Some((rule, message)) = refused {
                return Err(Violation::new(rule, message));
            }
            if !matches!(name, "COUNT" | "UNTIL") {
                open_parts.push(part);
            }
        }
        let parsed: RRule<Unvalidated> = rrule.parse().map_err(invalid)?;
        if parsed.get_count().is_some() && parsed.get_until().is_some() {
            // RFC 5545 3.3.10: they MUST NOT occur in the same rule (the crate accepts both).
            return Err(Violation::new(Rule::Format, "COUNT and UNTIL cannot both be given: choose one"));
        }
        if parsed.get_interval() == 0 {
            return Err(Violation::new(Rule::Range, "INTERVAL must be at least 1"));
        }
        // Range checks that need no start (BYMONTH=13, BYSETPOS alone, COUNT with UNTIL, …),
        // against the earliest start there is, so that no UNTIL is "before" it.
        parsed.clone().validate(DateTime::<Utc>::MIN_UTC.with_timezone(&rrule::Tz::UTC)).map_err(invalid)?;
        let open = open_parts.join(";").parse().map_err(invalid)?;
        Ok(Self { rrule, anchor, parsed, open })
    }

    /// The rule, canonical (upper case, trimmed).
    pub fn rrule(&self) -> &str {
        &self.rrule
    }

    /// What the next occurrence is computed from.
    pub fn anchor(&self) -> RecurrenceAnchor {
        self.anchor
    }

    /// `COUNT`: how many occurrences the series has, if limited.
    pub fn count(&self) -> Option<u32> {
        self.parsed.get_count()
    }

    /// `UNTIL`: the last instant an occurrence may have, if limited.
    pub fn until(&self) -> Option<DateTime<Utc>> {
        self.parsed.get_until().map(DateTime::to_utc)
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
        let until = self.until();
        if until.is_some_and(|until| until < due_at) {
            return Err(Violation::new(Rule::Range, "UNTIL is before due_at: the task would never repeat"));
        }
        let no_next = || {
            Violation::new(
                Rule::NoNextOccurrence,
                format!("must repeat within {} years of due_at", Self::HORIZON_YEARS),
            )
        };
        let horizon = horizon(due_at).ok_or_else(no_next)?;
        let last = until.map_or(horizon, |until| until.min(horizon));
        if !self.may_occur(due_at, time_zone, due_at, last, work) {
            // No day of the window can hold an occurrence: UNTIL ended the series within the
            // horizon (the task is its last occurrence), or the rule does not repeat in time.
            return if until.is_some_and(|until| until <= horizon) { Ok(()) } else { Err(no_next()) };
        }
        work.ran_iterator = true;
        // COUNT is left out: it ends a series like UNTIL, and the last occurrence is valid.
        let next = self.occurrences(due_at, time_zone, false).map_err(invalid)?.find(|(_, d)| *d > due_at);
        match next {
            Some((_, next)) if next <= horizon => Ok(()),
            // UNTIL ended the series: the task is its last occurrence.
            None if until.is_some() => Ok(()),
            _ => Err(no_next()),
        }
    }

    /// The first occurrence strictly after `after`, the rule starting at `start` in
    /// `time_zone` (occurrences keep their wall-clock time across daylight-saving changes).
    /// `None` when the series has ended (`COUNT` counted from `start`, `UNTIL`), or the next
    /// occurrence is more than [`RecurrenceRule::HORIZON_YEARS`] years after `after` or
    /// after [`MAX_INSTANT`] (year 9999), or the bounds are hit.
    pub fn next_after(&self, start: DateTime<Utc>, time_zone: TimeZone, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.next_numbered_after(start, time_zone, after).map(|(_, at)| at)
    }

    /// [`RecurrenceRule::next_after`] with the occurrence's 1-based number in the series
    /// started at `start` (`start` itself is number 1).
    pub fn next_numbered_after(
        &self,
        start: DateTime<Utc>,
        time_zone: TimeZone,
        after: DateTime<Utc>,
    ) -> Option<(u32, DateTime<Utc>)> {
        self.next_measured(start, time_zone, after, true).0
    }

    /// [`RecurrenceRule::next_after`] ignoring `COUNT` (for a series whose count is kept
    /// elsewhere, such as a completion-anchored one).
    pub fn next_after_uncounted(
        &self,
        start: DateTime<Utc>,
        time_zone: TimeZone,
        after: DateTime<Utc>,
    ) -> Option<DateTime<Utc>> {
        self.next_measured(start, time_zone, after, false).0.map(|(_, at)| at)
    }

    /// [`RecurrenceRule::next_after`], and the work it took.
    pub fn next_after_measured(
        &self,
        start: DateTime<Utc>,
        time_zone: TimeZone,
        after: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Work) {
        let (next, work) = self.next_measured(start, time_zone, after, true);
        (next.map(|(_, at)| at), work)
    }

    fn next_measured(
        &self,
        start: DateTime<Utc>,
        time_zone: TimeZone,
        after: DateTime<Utc>,
        counted: bool,
    ) -> (Option<(u32, DateTime<Utc>)>, Work) {
        let mut work = Work::default();
        let next = (|| {
            let horizon = horizon(after)?;
            let last = self.until().map_or(horizon, |until| until.min(horizon));
            if !self.may_occur(start, time_zone, after.max(start), last, &mut work) {
                return None;
            }
            work.ran_iterator = true;
            self.occurrences(start, time_zone, counted)
                .ok()?
                .take_while(|(_, d)| *d <= horizon)
                .find(|(_, d)| *d > after)
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
mod tests;
