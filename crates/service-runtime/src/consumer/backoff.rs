//! Exponential backoff with jitter for retrying transient failures.

use std::time::Duration;

use rand::Rng;

/// Delay before retry `attempt` (1-based): the exponential step `initial · 2^(attempt-1)`,
/// capped at `max`, then "equal jitter": half of it fixed, half random. Replicas that failed
/// together (a database restart) therefore do not retry in lock-step.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// The first step.
    pub initial: Duration,
    /// The cap.
    pub max: Duration,
}

impl Backoff {
    /// The exponential step for `attempt`, before jitter.
    pub fn step(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(31));
        self.initial.saturating_mul(factor).min(self.max)
    }

    /// The delay for `attempt`, jittered.
    pub fn delay(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let step = self.step(attempt);
        let half = step / 2;
        let jitter_ms = rng.random_range(0..=half.as_millis().max(1) as u64);
        half + Duration::from_millis(jitter_ms).min(step - half)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    const BACKOFF: Backoff = Backoff { initial: Duration::from_millis(100), max: Duration::from_secs(5) };

    #[test]
    fn steps_double_from_the_initial_delay_and_stop_at_the_cap() {
        let steps: Vec<u128> = (1..=8).map(|a| BACKOFF.step(a).as_millis()).collect();
        assert_eq!(steps, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
        assert_eq!(BACKOFF.step(u32::MAX), Duration::from_secs(5));
    }

    #[test]
    fn jittered_delays_stay_between_half_the_step_and_the_step_and_vary() {
        let mut rng = StdRng::seed_from_u64(7);
        let delays: Vec<Duration> = (0..200).map(|_| BACKOFF.delay(4, &mut rng)).collect();
        assert!(delays.iter().all(|d| *d >= Duration::from_millis(400) && *d <= Duration::from_millis(800)));
        let distinct: std::collections::HashSet<_> = delays.iter().collect();
        assert!(distinct.len() > 50, "jitter should spread delays, got {} distinct", distinct.len());
    }
}
