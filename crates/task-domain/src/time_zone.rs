//! [`TimeZone`]: the IANA zone a task is thought of in.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Days, NaiveDateTime, Offset as _, TimeZone as _, Utc};

use crate::error::{Rule, Violation};

/// An IANA time-zone name known to `chrono-tz` (`Europe/Berlin`, `UTC`), exactly as spelled
/// there (names are case-sensitive). Recurrences and day-based reminder offsets are
/// evaluated in it. Defaults to `UTC`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeZone(chrono_tz::Tz);

impl TimeZone {
    /// `UTC`, the default.
    pub const UTC: Self = Self(chrono_tz::Tz::UTC);

    /// Looks `name` up in the IANA database.
    pub fn parse(name: &str) -> Result<Self, Violation> {
        chrono_tz::Tz::from_str(name).map(Self).map_err(|_| {
            Violation::new(
                Rule::UnknownTimeZone,
                format!("\"{name}\" is not an IANA time-zone name (such as \"Europe/Berlin\" or \"UTC\")"),
            )
        })
    }

    /// The zone's IANA name.
    pub fn name(self) -> &'static str {
        self.0.name()
    }

    /// The `chrono-tz` zone, for date arithmetic.
    pub fn tz(self) -> chrono_tz::Tz {
        self.0
    }

    /// The wall-clock time `local` of this zone as an instant, read as RFC 5545 (3.3.5)
    /// prescribes for a recurrence instance:
    /// - a time that exists twice (the autumn change) is the *first* one, in daylight time;
    /// - a time that does not exist (the spring gap) is read with the UTC offset in effect
    ///   before the gap, so it moves forward by the gap's length (02:30 on the day Berlin
    ///   skips from 02:00 to 03:00 is 03:30 CEST).
    ///
    /// Python's `zoneinfo` gives the same with `fold=0`.
    pub fn instant_of(self, local: NaiveDateTime) -> DateTime<Utc> {
        match self.0.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) | chrono::LocalResult::Ambiguous(t, _) => t.to_utc(),
            chrono::LocalResult::None => {
                // The offset a day earlier is the one before the gap (zones change at most
                // once a day).
                let before = local.checked_sub_days(Days::new(1)).unwrap_or(local).and_utc();
                let offset = self.0.offset_from_utc_datetime(&before.naive_utc()).fix();
                (local - offset).and_utc()
            }
        }
    }
}

impl Default for TimeZone {
    fn default() -> Self {
        Self::UTC
    }
}

impl TryFrom<&str> for TimeZone {
    type Error = Violation;

    fn try_from(name: &str) -> Result<Self, Self::Error> {
        Self::parse(name)
    }
}

impl fmt::Display for TimeZone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_iana_name_is_accepted_and_keeps_its_spelling() {
        assert_eq!(TimeZone::parse("Europe/Berlin").map(TimeZone::name), Ok("Europe/Berlin"));
    }

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").expect("local time")
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).expect("RFC 3339").to_utc()
    }

    #[test]
    fn a_local_time_in_the_spring_gap_moves_forward_by_the_gap_length() {
        let berlin = TimeZone::parse("Europe/Berlin").expect("zone");
        // 29 March 2026: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
        assert_eq!(berlin.instant_of(local("2026-03-29T02:30")), utc("2026-03-29T03:30:00+02:00"));
        // Havana skips from 00:00 to 01:00 on 8 March 2026: 00:30 is 01:30 CDT.
        let havana = TimeZone::parse("America/Havana").expect("zone");
        assert_eq!(havana.instant_of(local("2026-03-08T00:30")), utc("2026-03-08T01:30:00-04:00"));
    }

    #[test]
    fn a_local_time_that_exists_twice_is_the_first_one() {
        let berlin = TimeZone::parse("Europe/Berlin").expect("zone");
        // 25 October 2026: 03:00 CEST becomes 02:00 CET; 02:30 happens twice.
        assert_eq!(berlin.instant_of(local("2026-10-25T02:30")), utc("2026-10-25T02:30:00+02:00"));
    }

    #[test]
    fn the_default_time_zone_is_utc() {
        assert_eq!(TimeZone::default().name(), "UTC");
    }

    #[test]
    fn an_unknown_zone_is_rejected() {
        for bad in ["Mars/Olympus_Mons", "europe/berlin", "", "+02:00"] {
            assert_eq!(TimeZone::parse(bad).map_err(|v| v.rule), Err(Rule::UnknownTimeZone), "{bad:?}");
        }
    }
}
