//! Reminder rules: [`ReminderOffset`] (an ISO-8601 duration before `due_at`), [`Reminder`]
//! (one rule) and [`Reminders`] (a task's list).
//!
//! The duration parser is ours, not a crate's: the accepted grammar is a small subset of
//! ISO 8601 (RFC 5545's `dur-value` without sign), and the general parsers accept years,
//! months and fractions, which have no fixed length and would only have to be rejected again.

use std::fmt;

use chrono::{DateTime, Days, SecondsFormat, TimeDelta, TimeZone as _, Utc};
use event_schema::ReminderRule;

use crate::error::{FieldError, Rule, ValidationErrors, Violation};
use crate::instant::{MIN_INSTANT, check_instant};
use crate::time_zone::TimeZone;

const SECONDS_PER_DAY: u64 = 86_400;

/// How long before `due_at` a reminder fires: a positive ISO-8601 duration of at most
/// [`ReminderOffset::MAX_DAYS`] days, written `PnW` or `PnDTnHnMnS` (any part may be left
/// out, `T` only before a time part; upper case, whole numbers).
///
/// Days and weeks are *nominal*, as in RFC 5545: `P1D` before 09:00 is 09:00 the day before
/// in the task's time zone, also across a daylight-saving change (23 or 25 hours then).
/// Hours, minutes and seconds are exact. Years and months are refused: their length varies
/// and users rarely mean "a month before" to the second.
///
/// Kept in a canonical form (`PT90M` becomes `PT1H30M`, `P2W` becomes `P14D`), so equal
/// offsets compare equal and produce the same reminder id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ReminderOffset {
    days: u32,
    seconds: u32,
}

impl ReminderOffset {
    /// The longest offset, in days.
    pub const MAX_DAYS: u32 = 366;

    /// Parses an ISO-8601 duration.
    pub fn parse(raw: &str) -> Result<Self, Violation> {
        let malformed = |why: &str| {
            Violation::new(
                Rule::Format,
                format!("\"{raw}\" is not an ISO-8601 duration such as PT15M, PT1H30M, P1D or P1W: {why}"),
            )
        };
        if raw.starts_with('-') {
            return Err(Violation::new(Rule::Range, "must be positive: a reminder comes before due_at"));
        }
        let body = raw.strip_prefix('P').ok_or_else(|| malformed("it must start with P"))?;
        let (date, time) = match body.split_once('T') {
            Some((_, "")) => return Err(malformed("T must be followed by hours, minutes or seconds")),
            Some((date, time)) => (date, time),
            None => (body, ""),
        };
        let date = components(date, "YMWD").map_err(|why| malformed(&why))?;
        let time = components(time, "HMS").map_err(|why| malformed(&why))?;
        if date.is_empty() && time.is_empty() {
            return Err(malformed("it has no value"));
        }
        let (mut days, mut seconds) = (0_u64, 0_u64);
        for &(n, unit) in &date {
            match unit {
                'Y' | 'M' => {
                    return Err(Violation::new(
                        Rule::Format,
                        "years and months are not supported (their length varies); use weeks or days",
                    ));
                }
                'W' if date.len() > 1 || !time.is_empty() => {
                    return Err(malformed("weeks cannot be combined with other parts"));
                }
                'W' => days = n * 7,
                _ => days = n,
            }
        }
        for &(n, unit) in &time {
            seconds += n * match unit {
                'H' => 3_600,
                'M' => 60,
                _ => 1,
            };
        }
        let total = days * SECONDS_PER_DAY + seconds;
        if total == 0 {
            return Err(Violation::new(Rule::Range, "must be longer than zero"));
        }
        if total > u64::from(Self::MAX_DAYS) * SECONDS_PER_DAY {
            return Err(Violation::new(Rule::Range, format!("must be at most {} days", Self::MAX_DAYS)));
        }
        // Both fit: at most 366 days, and 366 × 86,400 seconds < u32::MAX.
        Ok(Self { days: u32::try_from(days).unwrap_or(u32::MAX), seconds: u32::try_from(seconds).unwrap_or(u32::MAX) })
    }

    /// The instant `self` before `due_at`, counting days on the calendar of `time_zone`;
    /// `None` when it would fall before [`MIN_INSTANT`] (year 1), which validation refuses.
    ///
    /// When that wall-clock time does not exist on the earlier day (it falls into a
    /// spring-forward gap), days are counted as 24 hours instead; when it exists twice
    /// (fall-back), the earlier instant is used.
    pub fn before(self, due_at: DateTime<Utc>, time_zone: TimeZone) -> Option<DateTime<Utc>> {
        self.before_unchecked(due_at, time_zone).filter(|instant| *instant >= MIN_INSTANT)
    }

    fn before_unchecked(self, due_at: DateTime<Utc>, time_zone: TimeZone) -> Option<DateTime<Utc>> {
        let shifted = if self.days == 0 {
            due_at
        } else {
            let tz = time_zone.tz();
            let local = due_at.with_timezone(&tz).naive_local();
            match local
                .checked_sub_days(Days::new(u64::from(self.days)))
                .and_then(|d| tz.from_local_datetime(&d).earliest())
            {
                Some(shifted) => shifted.with_timezone(&Utc),
                None => due_at.checked_sub_signed(TimeDelta::days(i64::from(self.days)))?,
            }
        };
        shifted.checked_sub_signed(TimeDelta::seconds(i64::from(self.seconds)))
    }
}

/// Splits `s` into (number, unit) pairs, units from `order` in that order, each at most once.
fn components(s: &str, order: &str) -> Result<Vec<(u64, char)>, String> {
    let mut parts = Vec::new();
    let mut rest = s;
    let mut next_allowed = 0;
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
        if digits == 0 {
            return Err("each part must be a whole number followed by its unit".to_owned());
        }
        if digits > 9 {
            return Err("a number has more than 9 digits".to_owned());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| "a number is not a whole number".to_owned())?;
        let Some(unit) = rest[digits..].chars().next() else {
            return Err("a number has no unit".to_owned());
        };
        if unit == '.' || unit == ',' {
            return Err("fractions are not supported".to_owned());
        }
        let Some(position) = order[next_allowed..].find(unit) else {
            return Err(if order.contains(unit) {
                format!("unit {unit} is repeated or out of order")
            } else {
                format!("unexpected character {unit:?}")
            });
        };
        next_allowed += position + 1;
        parts.push((n, unit));
        rest = &rest[digits + unit.len_utf8()..];
    }
    Ok(parts)
}

impl fmt::Display for ReminderOffset {
    /// The canonical form: `P{d}D` and/or `T{h}H{m}M{s}S`, zero parts left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("P")?;
        if self.days > 0 {
            write!(f, "{}D", self.days)?;
        }
        if self.seconds > 0 {
            let (h, m, s) = (self.seconds / 3_600, self.seconds / 60 % 60, self.seconds % 60);
            f.write_str("T")?;
            for (n, unit) in [(h, 'H'), (m, 'M'), (s, 'S')] {
                if n > 0 {
                    write!(f, "{n}{unit}")?;
                }
            }
        }
        Ok(())
    }
}

impl TryFrom<&str> for ReminderOffset {
    type Error = Violation;

    fn try_from(raw: &str) -> Result<Self, Self::Error> {
        Self::parse(raw)
    }
}

/// One reminder rule of a task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Reminder {
    /// A fixed offset before `due_at` (`{"before_due": "PT15M"}`); needs `due_at`.
    BeforeDue(ReminderOffset),
    /// An absolute instant (`{"at": "2026-03-01T08:00:00Z"}`), kept to the microsecond.
    At(DateTime<Utc>),
}

impl Reminder {
    /// The instant the reminder fires for a task due at `due_at` in `time_zone`; `None` for
    /// a `before_due` rule of a task without a due date.
    pub fn instant(&self, due_at: Option<DateTime<Utc>>, time_zone: TimeZone) -> Option<DateTime<Utc>> {
        match self {
            Self::BeforeDue(offset) => offset.before(due_at?, time_zone),
            Self::At(at) => Some(*at),
        }
    }

    /// Whether the rule needs the task to have `due_at`.
    pub fn needs_due_at(&self) -> bool {
        matches!(self, Self::BeforeDue(_))
    }

    /// A stable text form of the rule (`before_due=PT15M`, `at=2026-03-01T08:00:00.000000Z`),
    /// part of the reminder id.
    pub fn canonical(&self) -> String {
        match self {
            Self::BeforeDue(offset) => format!("before_due={offset}"),
            Self::At(at) => format!("at={}", at.to_rfc3339_opts(SecondsFormat::Micros, true)),
        }
    }
}

impl TryFrom<&ReminderRule> for Reminder {
    type Error = Violation;

    /// Validates a wire rule; a violation concerns its one field (`before_due` or `at`).
    fn try_from(rule: &ReminderRule) -> Result<Self, Self::Error> {
        match rule {
            ReminderRule::BeforeDue { before_due } => ReminderOffset::parse(before_due).map(Self::BeforeDue),
            // Microseconds: what the database keeps, so a stored and reloaded rule is equal.
            ReminderRule::At { at } => check_instant(*at).map(Self::At),
        }
    }
}

impl From<&Reminder> for ReminderRule {
    fn from(reminder: &Reminder) -> Self {
        match reminder {
            Reminder::BeforeDue(offset) => Self::BeforeDue { before_due: offset.to_string() },
            Reminder::At(at) => Self::At { at: *at },
        }
    }
}

/// A task's reminder rules: at most [`Reminders::MAX_ITEMS`], all distinct, in the order
/// given. Whether `before_due` rules have a `due_at` to refer to is checked with the task.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Reminders(Vec<Reminder>);

impl Reminders {
    /// The most reminders a task can have.
    pub const MAX_ITEMS: usize = 10;

    /// Checks wire rules; errors name `reminders`, `reminders[i]`,
    /// `reminders[i].before_due` or `reminders[i].at`.
    pub fn parse(raw: &[ReminderRule]) -> Result<Self, ValidationErrors> {
        let mut errors = ValidationErrors::default();
        if raw.len() > Self::MAX_ITEMS {
            errors.push(FieldError::new(
                "reminders",
                Rule::MaxItems,
                format!("must have at most {} reminders (got {})", Self::MAX_ITEMS, raw.len()),
            ));
        }
        let mut reminders: Vec<Reminder> = Vec::with_capacity(raw.len());
        for (i, rule) in raw.iter().enumerate() {
            match Reminder::try_from(rule) {
                Err(violation) => {
                    let field = match rule {
                        ReminderRule::BeforeDue { .. } => "before_due",
                        ReminderRule::At { .. } => "at",
                    };
                    errors.push(violation.at(format!("reminders[{i}].{field}")));
                }
                Ok(reminder) => match reminders.iter().position(|r| *r == reminder) {
                    // Two equal rules would give the same reminder id: one of them is a mistake.
                    Some(first) => errors.push(FieldError::new(
                        format!("reminders[{i}]"),
                        Rule::Duplicate,
                        format!("is the same reminder as reminders[{first}]"),
                    )),
                    None => reminders.push(reminder),
                },
            }
        }
        errors.into_result(|| Self(reminders))
    }

    /// The rules, in order.
    pub fn as_slice(&self) -> &[Reminder] {
        &self.0
    }

    /// The rules, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Reminder> {
        self.0.iter()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The wire form.
    pub fn to_wire(&self) -> Vec<ReminderRule> {
        self.0.iter().map(ReminderRule::from).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("RFC 3339").to_utc()
    }

    fn offset(s: &str) -> ReminderOffset {
        ReminderOffset::parse(s).expect("valid duration")
    }

    fn before(s: &str) -> ReminderRule {
        ReminderRule::BeforeDue { before_due: s.to_owned() }
    }

    #[test]
    fn durations_are_kept_in_canonical_form() {
        for (raw, canonical) in [
            ("PT15M", "PT15M"),
            ("PT90M", "PT1H30M"),
            ("PT3600S", "PT1H"),
            ("P2W", "P14D"),
            ("P1DT12H", "P1DT12H"),
            ("PT48H", "PT48H"),
            ("P366D", "P366D"),
        ] {
            assert_eq!(offset(raw).to_string(), canonical, "{raw}");
        }
    }

    #[test]
    fn malformed_durations_are_rejected_as_format_errors() {
        for raw in ["15M", "PT", "P", "PT15", "PT1.5H", "P1M", "P1Y", "PT15m", "P1W2D", "PT1M1H", "PT1H1H", "P1DT"] {
            assert_eq!(ReminderOffset::parse(raw).map_err(|v| v.rule), Err(Rule::Format), "{raw}");
        }
    }

    #[test]
    fn zero_negative_and_longer_than_366_days_are_out_of_range() {
        for raw in ["PT0S", "P0D", "-PT15M", "P367D", "P366DT1S", "PT8785H"] {
            assert_eq!(ReminderOffset::parse(raw).map_err(|v| v.rule), Err(Rule::Range), "{raw}");
        }
        assert!(ReminderOffset::parse("PT8784H").is_ok(), "exactly 366 days in hours");
    }

    #[test]
    fn an_exact_offset_is_subtracted_from_the_due_instant() {
        let due = utc("2026-03-10T09:00:00Z");

        assert_eq!(offset("PT1H30M").before(due, TimeZone::UTC), Some(utc("2026-03-10T07:30:00Z")));
    }

    #[test]
    fn a_one_day_offset_keeps_the_local_time_across_a_dst_change() {
        // Berlin moves to summer time on 2026-03-29; due Monday 30 March 09:00 CEST (07:00Z).
        let berlin = TimeZone::parse("Europe/Berlin").expect("zone");
        let due = utc("2026-03-30T07:00:00Z");

        // The day before is the switch day; at 09:00 it is already summer time: 24 hours earlier.
        assert_eq!(offset("P1D").before(due, berlin), Some(utc("2026-03-29T07:00:00Z")));
        // Two days before, 09:00 is winter time (08:00Z): 47 hours earlier, not 48.
        assert_eq!(offset("P2D").before(due, berlin), Some(utc("2026-03-28T08:00:00Z")));
        // Hours are exact.
        assert_eq!(offset("PT48H").before(due, berlin), Some(utc("2026-03-28T07:00:00Z")));
    }

    #[test]
    fn a_day_offset_into_a_dst_gap_counts_24_hour_days() {
        // 02:30 on 29 March 2026 does not exist in Berlin.
        let berlin = TimeZone::parse("Europe/Berlin").expect("zone");
        let due = utc("2026-03-30T00:30:00Z"); // 02:30 CEST on the 30th

        assert_eq!(offset("P1D").before(due, berlin), Some(utc("2026-03-29T00:30:00Z")));
    }

    #[test]
    fn at_rules_are_kept_to_the_microsecond() {
        let rule = ReminderRule::At { at: utc("2026-03-01T08:00:00.123456789Z") };

        assert_eq!(Reminder::try_from(&rule), Ok(Reminder::At(utc("2026-03-01T08:00:00.123456Z"))));
    }

    #[test]
    fn ten_reminders_are_accepted_and_eleven_are_too_many() {
        let rules: Vec<_> = (1..=11).map(|m| before(&format!("PT{m}M"))).collect();

        assert_eq!(Reminders::parse(&rules[..10]).map(|r| r.len()), Ok(10));
        let errors = Reminders::parse(&rules).expect_err("11 reminders");
        assert_eq!(
            errors.errors().iter().map(|e| (e.field.as_str(), e.rule)).collect::<Vec<_>>(),
            [("reminders", Rule::MaxItems)]
        );
    }

    #[test]
    fn a_bad_duration_names_the_reminder_and_its_field() {
        let errors = Reminders::parse(&[before("PT15M"), before("soon")]).expect_err("invalid");

        assert!(errors.has("reminders[1].before_due", Rule::Format), "{errors}");
    }

    #[test]
    fn the_same_rule_twice_is_a_duplicate_even_when_spelled_differently() {
        let errors = Reminders::parse(&[before("PT60M"), before("PT1H")]).expect_err("duplicate");

        assert!(errors.has("reminders[1]", Rule::Duplicate), "{errors}");
    }
}
