//! The expansion of a rule into numbered instants, in the task's wall-clock time.
//!
//! Why not the `rrule` crate's own time-zone handling: it builds each occurrence with
//! `and_local_timezone(tz).single()` and, for a time that is not single (a gap or a repeat),
//! adds the time of day to the local midnight. That is RFC 5545's reading as long as midnight
//! exists, but on a day whose midnight is in the gap (America/Havana, America/Asuncion and
//! Asia/Beirut change at 00:00) the occurrence is lost (the crate's issue 115 reports such
//! missing and duplicated occurrences). So the crate expands the rule in *naive* local time
//! (a start in UTC whose digits are the local ones, the way python-dateutil expands a naive
//! `dtstart`) and each wall-clock time becomes an instant through
//! [`TimeZone::instant_of`], which applies RFC 5545's gap and repeat rules. `COUNT` and
//! `UNTIL` are applied here, to the instants: `UNTIL` is an instant, which a naive expansion
//! cannot compare with, and `COUNT` counts from the start, which is always the first
//! occurrence (RFC 5545 3.8.5.3), even when the rule would not produce it.

use std::iter;

use chrono::{DateTime, NaiveDateTime, Utc};
use rrule::{RRuleError, RRuleSet};

use super::RecurrenceRule;
use crate::time_zone::TimeZone;

impl RecurrenceRule {
    /// The occurrences of the series started at `start` in `time_zone`, in order, numbered
    /// from 1 (`start` itself); `UNTIL` applied, `COUNT` too when `counted`. At most
    /// [`RecurrenceRule::MAX_SCANNED`] occurrences of the rule are looked at.
    pub(super) fn occurrences(
        &self,
        start: DateTime<Utc>,
        time_zone: TimeZone,
        counted: bool,
    ) -> Result<impl Iterator<Item = (u32, DateTime<Utc>)>, RRuleError> {
        let local_start = start.with_timezone(&time_zone.tz()).naive_local();
        let set = self.build_naive(local_start)?;
        let until = self.until();
        let count = if counted { self.count() } else { None };
        let mut previous = None;
        let occurrences = iter::once(start)
            .chain(
                (&set)
                    .into_iter()
                    .take(Self::MAX_SCANNED)
                    .map(|d| d.naive_utc())
                    // The start is the first occurrence already.
                    .filter(move |&local| local != local_start)
                    .map(move |local| time_zone.instant_of(local)),
            )
            // Two wall-clock times read as one instant (02:30 in a gap is 03:30) are one
            // occurrence.
            .filter(move |&at| previous.replace(at) != Some(at))
            .take_while(move |&at| until.is_none_or(|until| at <= until))
            .zip(1..)
            .map(|(at, number)| (number, at))
            .take_while(move |&(number, _)| count.is_none_or(|count| number <= count));
        Ok(occurrences)
    }

    /// The rule without `COUNT` and `UNTIL`, started at the wall-clock time `local_start`
    /// (as if the zone were UTC).
    fn build_naive(&self, local_start: NaiveDateTime) -> Result<RRuleSet, RRuleError> {
        // `limit` turns on the crate's loop guard for the iterator.
        self.open.clone().build(local_start.and_utc().with_timezone(&rrule::Tz::UTC)).map(RRuleSet::limit)
    }
}
