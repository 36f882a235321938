//! Instants: RFC 3339 text → a UTC instant that every part of the system can write back.

use chrono::{DateTime, NaiveDate, SubsecRound, Utc};

use crate::error::{Rule, Violation};

/// The earliest instant accepted: `0001-01-01T00:00:00Z`.
pub const MIN_INSTANT: DateTime<Utc> = match NaiveDate::from_ymd_opt(1, 1, 1) {
    Some(date) => match date.and_hms_micro_opt(0, 0, 0, 0) {
        Some(t) => t.and_utc(),
        None => DateTime::<Utc>::MIN_UTC,
    },
    None => DateTime::<Utc>::MIN_UTC,
};

/// The latest instant accepted: `9999-12-31T23:59:59.999999Z`.
pub const MAX_INSTANT: DateTime<Utc> = match NaiveDate::from_ymd_opt(9999, 12, 31) {
    Some(date) => match date.and_hms_micro_opt(23, 59, 59, 999_999) {
        Some(t) => t.and_utc(),
        None => DateTime::<Utc>::MAX_UTC,
    },
    None => DateTime::<Utc>::MAX_UTC,
};

/// Parses an RFC 3339 instant with an offset (`2026-03-01T10:00:00+01:00`), converts it to
/// UTC and keeps it to the microsecond (what PostgreSQL keeps, so a stored and reloaded
/// value is equal).
///
/// Refused (rule `range`) when, once in UTC, it falls outside years 1 to 9999
/// ([`MIN_INSTANT`] to [`MAX_INSTANT`]): `9999-12-31T23:59:59-14:00` is valid text but
/// `+10000-01-01T13:59:59Z` in UTC, which RFC 3339 cannot write and no client could read
/// back.
pub fn parse_instant(raw: &str) -> Result<DateTime<Utc>, Violation> {
    let parsed = DateTime::parse_from_rfc3339(raw).map_err(|_| {
        Violation::new(Rule::Format, "must be an RFC 3339 instant with an offset, e.g. 2026-03-01T09:00:00Z")
    })?;
    check_instant(parsed.to_utc())
}

/// Keeps `instant` to the microsecond and checks that it lies within years 1 to 9999 (see
/// [`parse_instant`]); for instants that arrive already typed (a stored snapshot, a wire
/// reminder).
pub fn check_instant(instant: DateTime<Utc>) -> Result<DateTime<Utc>, Violation> {
    let instant = instant.trunc_subsecs(6);
    if (MIN_INSTANT..=MAX_INSTANT).contains(&instant) {
        Ok(instant)
    } else {
        Err(Violation::new(
            Rule::Range,
            "must be from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z once converted to UTC",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bounds_are_the_first_and_last_microsecond_of_years_1_to_9999() {
        assert_eq!(MIN_INSTANT.to_rfc3339(), "0001-01-01T00:00:00+00:00");
        assert_eq!(MAX_INSTANT.to_rfc3339(), "9999-12-31T23:59:59.999999+00:00");
    }

    #[test]
    fn an_instant_is_converted_to_utc_and_kept_to_the_microsecond() {
        let parsed = parse_instant("2026-03-01T10:00:00.123456789+01:00");

        assert_eq!(parsed.map(|t| t.to_rfc3339()), Ok("2026-03-01T09:00:00.123456+00:00".to_owned()));
    }

    #[test]
    fn an_offset_that_moves_the_instant_out_of_years_1_to_9999_is_out_of_range() {
        for raw in ["9999-12-31T23:59:59-14:00", "0000-01-01T00:00:00+14:00", "0000-12-31T23:59:59Z"] {
            assert_eq!(parse_instant(raw).map_err(|v| v.rule), Err(Rule::Range), "{raw}");
        }
        assert!(parse_instant("9999-12-31T09:59:59-14:00").is_ok());
        assert!(parse_instant("0001-01-01T13:59:59+14:00").is_err(), "0000-12-31T23:59:59Z in UTC");
        assert!(parse_instant("0001-01-01T14:00:00+14:00").is_ok());
    }

    #[test]
    fn text_that_is_not_rfc_3339_is_a_format_error() {
        for raw in ["2026-03-01", "2026-03-01T09:00:00", "tomorrow", "+10000-01-01T00:00:00Z"] {
            assert_eq!(parse_instant(raw).map_err(|v| v.rule), Err(Rule::Format), "{raw}");
        }
    }
}
