//! Tests of [`RecurrenceRule`](super::RecurrenceRule).

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
fn count_and_until_are_accepted_but_not_together_and_count_zero_is_out_of_range() {
    assert_eq!(rule("FREQ=DAILY;COUNT=5").count(), Some(5));
    assert_eq!(rule("FREQ=DAILY;UNTIL=20261231T235959Z").until(), Some(utc("2026-12-31T23:59:59Z")));
    assert_eq!(refused("FREQ=DAILY;COUNT=0"), Some(Rule::Range));
    assert_eq!(refused("FREQ=DAILY;COUNT=2;UNTIL=20261231T235959Z"), Some(Rule::Format));
}

#[test]
fn count_counts_occurrences_from_the_series_start_which_is_the_first() {
    let three = rule("FREQ=DAILY;COUNT=3");
    let start = utc("2026-01-05T09:00:00Z");

    let second = three.next_numbered_after(start, TimeZone::UTC, start);
    let third = three.next_numbered_after(start, TimeZone::UTC, utc("2026-01-06T09:00:00Z"));
    let fourth = three.next_numbered_after(start, TimeZone::UTC, utc("2026-01-07T09:00:00Z"));

    assert_eq!(second, Some((2, utc("2026-01-06T09:00:00Z"))));
    assert_eq!(third, Some((3, utc("2026-01-07T09:00:00Z"))));
    assert_eq!(fourth, None, "COUNT=3 ends the series after the third");
    // Without the count the rule goes on.
    assert_eq!(
        three.next_after_uncounted(start, TimeZone::UTC, utc("2026-01-07T09:00:00Z")),
        Some(utc("2026-01-08T09:00:00Z"))
    );
}

#[test]
fn a_start_the_rule_would_not_produce_is_still_the_first_occurrence_of_the_count() {
    // Tuesday 6 January; the rule produces Mondays. RFC 5545: DTSTART is the first instance.
    let mondays = rule("FREQ=WEEKLY;BYDAY=MO;COUNT=2");
    let tuesday = utc("2026-01-06T09:00:00Z");

    assert_eq!(mondays.next_numbered_after(tuesday, TimeZone::UTC, tuesday), Some((2, utc("2026-01-12T09:00:00Z"))));
    assert_eq!(mondays.next_after(tuesday, TimeZone::UTC, utc("2026-01-12T09:00:00Z")), None);
}

#[test]
fn the_last_occurrence_of_a_counted_series_is_a_valid_start() {
    let once = rule("FREQ=DAILY;COUNT=1");

    assert_eq!(once.check_start(utc("2026-01-05T09:00:00Z"), TimeZone::UTC), Ok(()));
    assert_eq!(once.next_after(utc("2026-01-05T09:00:00Z"), TimeZone::UTC, utc("2026-01-05T09:00:00Z")), None);
}

#[test]
fn an_occurrence_in_a_spring_gap_at_midnight_moves_forward_instead_of_vanishing() {
    // Havana skips from 00:00 to 01:00 on Sunday 8 March 2026. Daily at 00:30 CST (05:30Z).
    let havana = TimeZone::parse("America/Havana").expect("zone");
    let daily = rule("FREQ=DAILY");
    let start = utc("2026-03-06T00:30:00-05:00");

    let saturday = daily.next_after(start, havana, start).expect("next");
    let sunday = daily.next_after(start, havana, saturday);
    let monday = sunday.and_then(|s| daily.next_after(start, havana, s));

    assert_eq!(saturday, utc("2026-03-07T00:30:00-05:00"));
    assert_eq!(sunday, Some(utc("2026-03-08T01:30:00-04:00")), "00:30 does not exist: 01:30 CDT");
    assert_eq!(monday, Some(utc("2026-03-09T00:30:00-04:00")));
}

#[test]
fn the_rrule_crate_alone_loses_an_occurrence_in_a_gap_at_midnight() {
    // What `expand` works around: the crate's own time-zone handling, same rule and start.
    let havana = rrule::Tz::Tz(chrono_tz::America::Havana);
    let start = utc("2026-03-06T00:30:00-05:00").with_timezone(&havana);
    let set = rule("FREQ=DAILY").open.clone().build(start).expect("valid").limit();

    let days: Vec<_> = (&set).into_iter().take(4).map(|d| d.to_utc()).collect();

    assert!(!days.contains(&utc("2026-03-08T01:30:00-04:00")), "{days:?}");
    assert!(!days.iter().any(|d| d.date_naive() == utc("2026-03-08T06:00:00Z").date_naive()), "{days:?}");
}

#[test]
fn an_hourly_rule_across_the_spring_gap_has_each_instant_once() {
    let berlin = berlin();
    let hourly = rule("FREQ=HOURLY");
    let start = utc("2026-03-29T00:30:00Z"); // 01:30 CET; 02:30 does not exist

    let next = hourly.next_after(start, berlin, start).expect("next");
    let after = hourly.next_after(start, berlin, next);

    assert_eq!(next, utc("2026-03-29T03:30:00+02:00"), "02:30 is read as 03:30 CEST");
    assert_eq!(after, Some(utc("2026-03-29T04:30:00+02:00")), "03:30 CEST is not repeated");
}

#[test]
fn a_daily_rule_at_a_repeated_autumn_time_takes_the_first() {
    let berlin = berlin();
    let daily = rule("FREQ=DAILY");
    let start = utc("2026-10-24T02:30:00+02:00");

    assert_eq!(daily.next_after(start, berlin, start), Some(utc("2026-10-25T02:30:00+02:00")));
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
    rule.occurrences(start, time_zone, true)
        .ok()?
        .take(10_000)
        .take_while(|(_, d)| *d <= horizon)
        .find(|(_, d)| *d > after)
        .map(|(_, d)| d)
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
    let zones = ["Europe/Berlin", "America/New_York", "Pacific/Auckland"].map(|z| TimeZone::parse(z).expect("zone"));
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
