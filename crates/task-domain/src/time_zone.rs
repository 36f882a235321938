//! [`TimeZone`]: the IANA zone a task is thought of in.

use std::fmt;
use std::str::FromStr;

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
