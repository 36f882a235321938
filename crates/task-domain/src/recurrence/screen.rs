//! The day screen: a cheap test that a rule *can* produce an occurrence on some calendar
//! day of a window, run before the `rrule` crate's iterator.
//!
//! Why: the crate stops looking for the next occurrence only when it finds one, after
//! 100,000 periods without one, or at the year 10000. A rule that never matches
//! (`FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30`) therefore costs thousands of full periods:
//! about 0.4 s of CPU for a yearly one, per request. The crate has no work budget of its
//! own, so the screen gives it one from outside: it walks the local calendar days of the
//! window (at most [`RecurrenceRule::SCREEN_DAYS`](super::RecurrenceRule::SCREEN_DAYS)) and
//! checks the rule's day-level filters, `BYMONTH`, `BYMONTHDAY`, `BYYEARDAY` and the
//! weekdays of `BYDAY`, with the defaults the crate derives from the start (a yearly rule
//! without day parts repeats on the start's month and day, a monthly one on its day, a
//! weekly one on its weekday).
//!
//! Every occurrence falls on a day that passes these filters, so "no day passes" proves
//! "no occurrence in the window" and the iterator is not run. The converse does not hold
//! (`BYSETPOS`, `BYWEEKNO`, ordinal weekdays and `BYHOUR` select further), so a rule that
//! passes is evaluated by the crate as before.

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Timelike, Weekday};
use rrule::{Frequency, NWeekday, RRule, Unvalidated};

use super::Work;

/// A rule's day-level filters; an empty list does not filter.
#[derive(Debug)]
pub(super) struct DayFilter {
    freq: Frequency,
    week_start: Weekday,
    months: Vec<u32>,
    month_days: Vec<i8>,
    year_days: Vec<i16>,
    week_numbers: Vec<i8>,
    /// `BYDAY` without an ordinal (`MO`).
    weekdays: Vec<Weekday>,
    /// `BYDAY` with one (`2TU`, `-1FR`): within the month or the year, see [`Self::nth_scope`].
    nth_weekdays: Vec<(i16, Weekday)>,
    /// The smallest `|BYSETPOS|`: a period needs at least that many candidates.
    min_set_pos: Option<u32>,
    /// Candidate times per day (`BYHOUR` values; the start's hour without).
    times_per_day: u32,
    /// `BYHOUR`.
    hours: Vec<u32>,
    /// `INTERVAL`: only every n-th period, counted from the start's, has occurrences.
    interval: i64,
    /// The start, in local time: periods are counted from it.
    start: NaiveDateTime,
}

/// Where an ordinal `BYDAY` counts.
enum Scope {
    Month,
    Year,
}

impl DayFilter {
    /// The filters of `rule` started at the local date-time `start_at`.
    pub(super) fn new(rule: &RRule<Unvalidated>, start_at: NaiveDateTime) -> Self {
        let freq = rule.get_freq();
        let start = start_at.date();
        let mut filter = Self {
            freq,
            week_start: rule.get_week_start(),
            months: rule.get_by_month().iter().map(|&m| u32::from(m)).collect(),
            // The crate drops 0 (and the validator refuses it); mirror that.
            month_days: rule.get_by_month_day().iter().copied().filter(|&d| d != 0).collect(),
            year_days: rule.get_by_year_day().iter().copied().filter(|&d| d != 0).collect(),
            // The crate numbers weeks for yearly rules only.
            week_numbers: if freq == Frequency::Yearly { rule.get_by_week_no().to_vec() } else { Vec::new() },
            weekdays: Vec::new(),
            nth_weekdays: Vec::new(),
            min_set_pos: rule.get_by_set_pos().iter().map(|n| n.unsigned_abs()).filter(|&n| n > 0).min(),
            times_per_day: u32::try_from(rule.get_by_hour().len()).unwrap_or(u32::MAX).max(1),
            hours: rule.get_by_hour().iter().map(|&h| u32::from(h)).collect(),
            interval: i64::from(rule.get_interval().max(1)),
            start: start_at,
        };
        for weekday in rule.get_by_weekday() {
            match *weekday {
                NWeekday::Every(day) => filter.weekdays.push(day),
                // Ordinals count only in yearly and monthly rules; elsewhere they are not
                // a filter this screen can rely on, so they are left out (a weaker test).
                NWeekday::Nth(n, day) if matches!(freq, Frequency::Yearly | Frequency::Monthly) => {
                    filter.nth_weekdays.push((n, day));
                }
                NWeekday::Nth(..) => {}
            }
        }
        // The same defaults as the crate's `finalize_parsed_rrule`.
        let no_day_parts = rule.get_by_week_no().is_empty()
            && filter.year_days.is_empty()
            && filter.month_days.is_empty()
            && rule.get_by_weekday().is_empty();
        if no_day_parts {
            match freq {
                Frequency::Yearly => {
                    if filter.months.is_empty() {
                        filter.months = vec![start.month()];
                    }
                    filter.month_days = day_of(start);
                }
                Frequency::Monthly => filter.month_days = day_of(start),
                Frequency::Weekly => filter.weekdays = vec![start.weekday()],
                _ => {}
            }
        }
        filter
    }

    /// Whether some day from `first` to `last` (inclusive) can hold an occurrence, looking
    /// at no more than `budget` days (a longer window counts as passing: it cannot be ruled
    /// out cheaply).
    ///
    /// With `BYSETPOS`, the days are counted per period (year, month, week, day) over whole
    /// periods: a period with fewer candidates than the smallest `|BYSETPOS|` has none.
    pub(super) fn any_between(&self, first: NaiveDate, last: NaiveDate, budget: u32, work: &mut Work) -> bool {
        let (mut day, last) = match self.min_set_pos {
            Some(_) => (self.period_start(first), self.period_end(last)),
            None => (first, last),
        };
        let mut period = self.period_start(day);
        let mut candidates: u32 = 0;
        while day <= last {
            if work.days_screened >= budget {
                return true;
            }
            work.days_screened += 1;
            if self.period_start(day) != period {
                period = self.period_start(day);
                candidates = 0;
            }
            if self.passes(day) {
                candidates = candidates.saturating_add(self.times_per_day);
                let enough = match (self.min_set_pos, self.freq) {
                    (None, _) => true,
                    // An hourly period has one candidate.
                    (Some(n), Frequency::Hourly) => n == 1,
                    (Some(n), _) => candidates >= n,
                };
                if enough {
                    return true;
                }
            }
            let Some(next) = day.succ_opt() else { return false };
            day = next;
        }
        false
    }

    fn passes(&self, day: NaiveDate) -> bool {
        let (in_month, in_year) = (days_in_month(day), days_in_year(day));
        self.in_counted_period(day)
            && (self.months.is_empty() || self.months.contains(&day.month()))
            && (self.month_days.is_empty()
                || self.month_days.iter().any(|&d| matches_ordinal(i32::from(d), day.day(), in_month)))
            && (self.year_days.is_empty()
                || self.year_days.iter().any(|&d| matches_ordinal(i32::from(d), day.ordinal(), in_year)))
            && (self.weekdays.is_empty() || self.weekdays.contains(&day.weekday()))
            && (self.nth_weekdays.is_empty() || self.nth_weekdays.iter().any(|&(n, wd)| self.is_nth(day, n, wd)))
            && (self.week_numbers.is_empty() || {
                let (week, weeks) = week_number(day, self.week_start);
                self.week_numbers.iter().any(|&n| matches_ordinal(i32::from(n), week, weeks))
            })
    }

    /// Whether `day` lies in a period the `INTERVAL` counts (every n-th from the start's). The
    /// crate counts periods on the local calendar and clock, as here.
    fn in_counted_period(&self, day: NaiveDate) -> bool {
        let n = self.interval;
        let start = self.start.date();
        let days = (day - start).num_days();
        match self.freq {
            Frequency::Yearly => i64::from(day.year() - start.year()).rem_euclid(n) == 0,
            Frequency::Monthly => {
                let months = |d: NaiveDate| i64::from(d.year()) * 12 + i64::from(d.month0());
                (months(day) - months(start)).rem_euclid(n) == 0
            }
            Frequency::Weekly => {
                ((self.period_start(day) - self.period_start(start)).num_days() / 7).rem_euclid(n) == 0
            }
            Frequency::Daily => days.rem_euclid(n) == 0,
            Frequency::Hourly => {
                let counted =
                    |hour: u32| (days * 24 + i64::from(hour) - i64::from(self.start.hour())).rem_euclid(n) == 0;
                if self.hours.is_empty() { (0..24).any(counted) } else { self.hours.iter().any(|&h| counted(h)) }
            }
            // Refused when parsed; nothing to rule out.
            _ => true,
        }
    }

    /// A monthly rule, or a yearly one with `BYMONTH`, counts `2TU` in the month; a yearly
    /// one without `BYMONTH`, in the year (RFC 5545 §3.3.10).
    fn nth_scope(&self) -> Scope {
        if self.freq == Frequency::Yearly && self.months.is_empty() { Scope::Year } else { Scope::Month }
    }

    fn is_nth(&self, day: NaiveDate, n: i16, weekday: Weekday) -> bool {
        let (index, len) = match self.nth_scope() {
            Scope::Month => (day.day0(), days_in_month(day)),
            Scope::Year => (day.ordinal0(), days_in_year(day)),
        };
        // The k-th such weekday of the scope lies at index 7(k-1) to 7k-1, from either end.
        let (from_start, from_end) = (index / 7 + 1, (len - 1 - index) / 7 + 1);
        day.weekday() == weekday
            && if n > 0 { i64::from(from_start) == i64::from(n) } else { i64::from(from_end) == -i64::from(n) }
    }

    fn period_start(&self, day: NaiveDate) -> NaiveDate {
        match self.freq {
            Frequency::Yearly => day.with_ordinal(1),
            Frequency::Monthly => day.with_day(1),
            Frequency::Weekly => day.checked_sub_days(Days::new(u64::from(days_since(day, self.week_start)))),
            _ => Some(day),
        }
        .unwrap_or(day)
    }

    fn period_end(&self, day: NaiveDate) -> NaiveDate {
        match self.freq {
            Frequency::Yearly => day.with_ordinal(days_in_year(day)),
            Frequency::Monthly => day.with_day(days_in_month(day)),
            Frequency::Weekly => self.period_start(day).checked_add_days(Days::new(6)),
            _ => Some(day),
        }
        .unwrap_or(day)
    }
}

fn days_since(day: NaiveDate, week_start: Weekday) -> u32 {
    (day.weekday().num_days_from_monday() + 7 - week_start.num_days_from_monday()) % 7
}

/// RFC 5545 week numbering with weeks starting on `week_start`: week 1 is the first with at
/// least four days in the year (the one holding 4 January). The day's week number, and how
/// many weeks its week-numbering year has.
fn week_number(day: NaiveDate, week_start: Weekday) -> (u32, u32) {
    let start_of = |d: NaiveDate| d.checked_sub_days(Days::new(u64::from(days_since(d, week_start)))).unwrap_or(d);
    let week = start_of(day);
    // The week belongs to the year holding its fourth day.
    let year = week.checked_add_days(Days::new(3)).map_or(day.year(), |d| d.year());
    let number = |of: NaiveDate| {
        let first = NaiveDate::from_ymd_opt(year, 1, 4).map_or(of, start_of);
        u32::try_from((start_of(of) - first).num_days() / 7 + 1).unwrap_or(0)
    };
    // 28 December is always in the last week of its year.
    let weeks = NaiveDate::from_ymd_opt(year, 12, 28).map_or(52, number);
    (number(day), weeks)
}

fn day_of(start: NaiveDate) -> Vec<i8> {
    // 1 to 31: always fits.
    vec![i8::try_from(start.day()).unwrap_or(i8::MAX)]
}

/// `n` counts from 1 (the first) or from -1 (the last of `len`).
fn matches_ordinal(n: i32, value: u32, len: u32) -> bool {
    let (value, len) = (i64::from(value), i64::from(len));
    let n = i64::from(n);
    if n > 0 { value == n } else { value == len + n + 1 }
}

fn days_in_month(day: NaiveDate) -> u32 {
    // The day before the first of the next month; December's next month is January.
    let (year, month) = if day.month() == 12 { (day.year() + 1, 1) } else { (day.year(), day.month() + 1) };
    NaiveDate::from_ymd_opt(year, month, 1).and_then(|first| first.pred_opt()).map_or(31, |d| d.day())
}

fn days_in_year(day: NaiveDate) -> u32 {
    if day.leap_year() { 366 } else { 365 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("a date")
    }

    fn filter(rrule: &str, start: NaiveDate) -> DayFilter {
        DayFilter::new(&rrule.parse().expect("an RRULE"), start.and_hms_opt(9, 0, 0).expect("a time"))
    }

    #[test]
    fn negative_days_count_from_the_end_of_the_month_and_year() {
        let last_of_month = filter("FREQ=MONTHLY;BYMONTHDAY=-1", date(2026, 1, 1));
        let last_of_year = filter("FREQ=YEARLY;BYYEARDAY=-1", date(2026, 1, 1));

        assert!(last_of_month.passes(date(2028, 2, 29)) && !last_of_month.passes(date(2028, 2, 28)));
        assert!(last_of_year.passes(date(2028, 12, 31)) && !last_of_year.passes(date(2028, 12, 30)));
    }

    #[test]
    fn a_window_longer_than_the_budget_counts_as_passing_after_the_budget() {
        let never = filter("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", date(2026, 1, 1));
        let mut work = Work::default();

        assert!(never.any_between(date(2026, 1, 1), date(2100, 1, 1), 100, &mut work));
        assert_eq!(work.days_screened, 100);
    }

    #[test]
    fn week_numbers_follow_rfc_5545_for_any_week_start() {
        // 2026-01-01 is a Thursday: with Monday weeks it is in week 1 (ISO); 2027-01-01, a
        // Friday, is in the last week (53) of 2026.
        assert_eq!(week_number(date(2026, 1, 1), Weekday::Mon), (1, 53));
        assert_eq!(week_number(date(2027, 1, 1), Weekday::Mon), (53, 53));
        assert_eq!(week_number(date(2027, 1, 4), Weekday::Mon).0, 1);
        // With Sunday weeks, 2026-01-01 (Thursday) is in the week from 28 December 2025,
        // which has four days in 2025: the last week (53) of 2025; the next is week 1.
        assert_eq!(week_number(date(2026, 1, 1), Weekday::Sun), (53, 53));
        assert_eq!(week_number(date(2026, 1, 4), Weekday::Sun).0, 1);
        for day in (0..800).filter_map(|n| date(2025, 1, 1).checked_add_days(Days::new(n))) {
            let iso = day.iso_week();
            assert_eq!(week_number(day, Weekday::Mon).0, iso.week(), "{day}");
        }
    }

    #[test]
    fn ordinal_weekdays_count_within_the_month_or_the_year() {
        let second_tuesday = filter("FREQ=MONTHLY;BYDAY=2TU", date(2026, 1, 1));
        let last_friday_of_year = filter("FREQ=YEARLY;BYDAY=-1FR", date(2026, 1, 1));

        assert!(second_tuesday.passes(date(2026, 1, 13)) && !second_tuesday.passes(date(2026, 1, 6)));
        assert!(last_friday_of_year.passes(date(2026, 12, 25)) && !last_friday_of_year.passes(date(2026, 12, 18)));
    }

    #[test]
    fn a_set_position_beyond_the_candidates_of_every_period_passes_no_day() {
        let mut work = Work::default();
        let january_has_31_days = filter("FREQ=YEARLY;BYMONTH=1;BYSETPOS=32", date(2026, 1, 1));
        let last_weekday = filter("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", date(2026, 1, 1));

        assert!(!january_has_31_days.any_between(date(2026, 1, 1), date(2036, 1, 1), 10_000, &mut work));
        assert!(last_weekday.any_between(date(2026, 1, 1), date(2026, 1, 1), 10_000, &mut work));
    }
}
