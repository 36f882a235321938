//! [`RelaySettings`]: the relay's tuning (a service's `outbox.*` section).

use serde::Deserialize;

/// Relay tuning: the `outbox` section of a service's settings (`outbox.batch_size`, …).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct RelaySettings {
    /// Rows published per round trip.
    pub batch_size: i64,
    /// Safety-net poll when no wake-up arrives; also how often a standby relay (PostgreSQL)
    /// tries to take the lead.
    pub poll_interval_ms: u64,
    /// Published rows are kept this long (for inspection), then pruned.
    pub keep_published_hours: i64,
    /// How often pruning runs.
    pub prune_interval_secs: u64,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self { batch_size: 500, poll_interval_ms: 1_000, keep_published_hours: 24, prune_interval_secs: 600 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_left_out_keep_their_defaults() {
        let settings: RelaySettings = serde_json::from_str(r#"{"batch_size": 50}"#).expect("settings");

        assert_eq!(settings, RelaySettings { batch_size: 50, ..RelaySettings::default() });
    }
}
