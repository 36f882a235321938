//! Deserialisers for the values the published JSON Schemas constrain beyond their Rust types,
//! so that [`crate::decode`] refuses what the schemas refuse:
//! - instants: the schemas' `date-time` is RFC 3339, whose years have four digits; chrono
//!   would otherwise read `+10000-01-01T00:00:00Z` or `-0001-12-31T10:00:00Z`. The contract
//!   keeps years 1 to 9999 (year 0 is RFC 3339 but no database or calendar library agrees on
//!   it, so it is refused too);
//! - `sequence`: CloudEvents' Integer, 1 to 2³¹−1.
//!
//! They only read: serialisation and the generated schemas are unchanged (schemars ignores
//! `deserialize_with`).

use chrono::{DateTime, Datelike as _, Utc};
use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

/// The first year an instant of the contract may fall in.
pub const MIN_YEAR: i32 = 1;
/// The last year an instant of the contract may fall in.
pub const MAX_YEAR: i32 = 9999;
/// The largest `sequence` (CloudEvents' Integer is a signed 32-bit number).
pub const MAX_SEQUENCE: i64 = i32::MAX as i64;

/// Whether `instant` can be written as an RFC 3339 UTC `date-time` of the contract.
pub fn instant_in_range(instant: DateTime<Utc>) -> bool {
    (MIN_YEAR..=MAX_YEAR).contains(&instant.year())
}

fn check<E: serde::de::Error>(instant: DateTime<Utc>) -> Result<DateTime<Utc>, E> {
    if instant_in_range(instant) {
        Ok(instant)
    } else {
        Err(E::custom(format!(
            "instant {instant:?} is outside years {MIN_YEAR} to {MAX_YEAR} (RFC 3339 date-time in UTC)"
        )))
    }
}

/// An instant within the contract's years.
pub(crate) fn instant<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    check(DateTime::<Utc>::deserialize(deserializer)?)
}

/// An optional instant within the contract's years.
pub(crate) fn optional_instant<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    Option::<DateTime<Utc>>::deserialize(deserializer)?.map(check).transpose()
}

/// A `sequence` within 1 to [`MAX_SEQUENCE`].
pub(crate) fn sequence<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let sequence = i64::deserialize(deserializer)?;
    if (1..=MAX_SEQUENCE).contains(&sequence) {
        Ok(sequence)
    } else {
        Err(D::Error::custom(format!("sequence {sequence} is outside 1 to {MAX_SEQUENCE}")))
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;

    use super::*;

    #[test]
    fn instants_of_years_1_to_9999_are_in_range_and_others_are_not() {
        let at = |year| Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).single().expect("valid");
        assert!(instant_in_range(at(1)));
        assert!(instant_in_range(at(9999)));
        assert!(!instant_in_range(at(0)));
        assert!(!instant_in_range(at(10000)));
    }
}
