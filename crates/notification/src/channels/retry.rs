//! When a failed attempt is tried again: the configured schedule with jitter, and the
//! receiver's `Retry-After`.

use std::time::{Duration, SystemTime};

use rand::Rng;
use serde::Deserialize;

/// The longest `Retry-After` honoured: a receiver asking for more still gets tried within a day.
pub(super) const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The retry schedule: how long to wait after each failed attempt.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct RetrySettings {
    /// Seconds to wait after failed attempt 1, 2, …; once exhausted the delivery fails. The
    /// default is the Standard Webhooks specification's: the first attempt at once, then
    /// 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (eight attempts over about 28 hours).
    pub schedule_secs: Vec<u64>,
    /// Each delay is spread uniformly over ± this fraction of itself, so that the retries of
    /// many reminders that failed together (a receiver down) do not arrive together.
    pub jitter: f64,
}

impl Default for RetrySettings {
    fn default() -> Self {
        Self { schedule_secs: vec![5, 300, 1800, 7200, 18_000, 36_000, 36_000], jitter: 0.2 }
    }
}

impl RetrySettings {
    /// The wait after failed attempt number `attempt` (1 for the first), jittered with `rng`;
    /// `None` once the schedule is exhausted (and for attempt 0, which never happened).
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Option<Duration> {
        let index = usize::try_from(attempt.checked_sub(1)?).ok()?;
        let base = Duration::from_secs(*self.schedule_secs.get(index)?);
        let jitter = self.jitter.clamp(0.0, 1.0);
        if jitter == 0.0 || base.is_zero() {
            return Some(base);
        }
        let factor = 1.0 + jitter * rng.random_range(-1.0..=1.0);
        Some(base.mul_f64(factor))
    }
}

/// A `Retry-After` value (RFC 9110 §10.2.3): delay seconds or an HTTP date, as a wait from
/// `now`, at most [`MAX_RETRY_AFTER`]; `None` when it is neither (ignored, as a receiver's
/// garbled header must not stop retries).
pub(super) fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = match value.parse::<u64>() {
        Ok(seconds) => Duration::from_secs(seconds),
        Err(_) => httpdate::parse_http_date(value).ok()?.duration_since(now).unwrap_or(Duration::ZERO),
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn the_default_schedule_is_the_standard_webhooks_one_and_ends_after_eight_attempts() {
        let settings = RetrySettings { jitter: 0.0, ..RetrySettings::default() };
        let mut rng = StdRng::seed_from_u64(1);

        let delays: Vec<_> = (1..=8).map(|attempt| settings.delay(attempt, &mut rng)).collect();

        let secs = |s| Some(Duration::from_secs(s));
        assert_eq!(
            delays,
            [secs(5), secs(300), secs(1800), secs(7200), secs(18_000), secs(36_000), secs(36_000), None]
        );
    }

    #[test]
    fn jitter_spreads_a_delay_within_the_configured_fraction() {
        let settings = RetrySettings { schedule_secs: vec![100], jitter: 0.2 };
        let mut rng = StdRng::seed_from_u64(7);

        let delays: Vec<_> = (0..200).filter_map(|_| settings.delay(1, &mut rng)).collect();

        assert!(delays.iter().all(|d| (80.0..=120.0).contains(&d.as_secs_f64())), "{delays:?}");
        assert!(delays.iter().any(|d| d.as_secs_f64() < 95.0) && delays.iter().any(|d| d.as_secs_f64() > 105.0));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates_and_is_capped_at_a_day() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let in_a_minute = httpdate::fmt_http_date(now + Duration::from_secs(60));

        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        assert_eq!(parse_retry_after(&in_a_minute, now), Some(Duration::from_secs(60)));
        assert_eq!(parse_retry_after("Thu, 01 Jan 1970 00:00:00 GMT", now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("9999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
