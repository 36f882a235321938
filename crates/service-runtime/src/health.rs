//! Readiness: probes (is the broker reachable? the database?) and conditions raised by the
//! running service (a partition stuck retrying, a background job down), reported together by
//! `/readyz`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::future::BoxFuture;
use serde::Serialize;

/// Something `/readyz` checks on each request.
pub trait Probe: Send + Sync + 'static {
    /// `Ok` when the dependency answers; `Err` with a short reason otherwise.
    fn check(&self) -> BoxFuture<'_, Result<(), String>>;
}

/// How long one probe may take before it counts as failed.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// Shared readiness state of a service. Cheap to clone.
#[derive(Clone, Default)]
pub struct Health {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    probes: Mutex<Vec<(String, Arc<dyn Probe>)>>,
    conditions: Mutex<BTreeMap<String, String>>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health").field("conditions", &self.conditions()).finish_non_exhaustive()
    }
}

/// One line of the readiness report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// What was checked.
    pub name: String,
    /// Whether it is fine.
    pub ok: bool,
    /// Why not, when not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The readiness report.
#[derive(Debug, Clone, Serialize)]
pub struct Readiness {
    /// All checks passed.
    pub ready: bool,
    /// Each probe and each raised condition.
    pub checks: Vec<Check>,
}

impl Health {
    /// A fresh, ready state without probes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a probe run by every readiness check.
    pub fn add_probe(&self, name: impl Into<String>, probe: impl Probe) {
        self.inner.probes.lock().unwrap_or_else(PoisonError::into_inner).push((name.into(), Arc::new(probe)));
    }

    /// Raises a condition that makes the service not ready until [`Health::clear`].
    pub fn raise(&self, name: impl Into<String>, reason: impl Into<String>) {
        self.inner.conditions.lock().unwrap_or_else(PoisonError::into_inner).insert(name.into(), reason.into());
    }

    /// Clears a condition raised with the same name.
    pub fn clear(&self, name: &str) {
        self.inner.conditions.lock().unwrap_or_else(PoisonError::into_inner).remove(name);
    }

    /// The raised conditions.
    pub fn conditions(&self) -> BTreeMap<String, String> {
        self.inner.conditions.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Runs every probe (concurrently, each bounded) and reports them with the conditions.
    pub async fn readiness(&self) -> Readiness {
        let probes = self.inner.probes.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let results = futures::future::join_all(probes.iter().map(|(name, probe)| async move {
            let result = match tokio::time::timeout(PROBE_TIMEOUT, probe.check()).await {
                Ok(result) => result,
                Err(_) => Err(format!("no answer within {PROBE_TIMEOUT:?}")),
            };
            Check { name: name.clone(), ok: result.is_ok(), detail: result.err() }
        }))
        .await;
        let mut checks = results;
        checks.extend(self.conditions().into_iter().map(|(name, reason)| Check {
            name,
            ok: false,
            detail: Some(reason),
        }));
        Readiness { ready: checks.iter().all(|c| c.ok), checks }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(Result<(), String>);
    impl Probe for Fixed {
        fn check(&self) -> BoxFuture<'_, Result<(), String>> {
            let result = self.0.clone();
            Box::pin(async move { result })
        }
    }

    #[tokio::test]
    async fn a_failing_probe_makes_the_service_not_ready_and_says_why() {
        let health = Health::new();
        health.add_probe("broker", Fixed(Ok(())));
        assert!(health.readiness().await.ready);
        health.add_probe("database", Fixed(Err("connection refused".into())));
        let report = health.readiness().await;
        assert!(!report.ready);
        assert!(report.checks.contains(&Check {
            name: "database".into(),
            ok: false,
            detail: Some("connection refused".into())
        }));
    }

    #[tokio::test]
    async fn a_raised_condition_holds_readiness_until_cleared() {
        let health = Health::new();
        health.raise("partition task-events/2", "retrying: database down");
        assert!(!health.readiness().await.ready);
        health.clear("partition task-events/2");
        assert!(health.readiness().await.ready);
    }
}
