//! Tests of services: token verification with a fixed HS256 secret and issuer, for the
//! audience the test names, and tokens it accepts.
//!
//! Compiled only for service-runtime's own tests and with the `testing` feature (a
//! dev-dependency of the services' tests), so the test secret never ships in a service.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Map, Value};

use super::{AuthSettings, mint_dev_token};

/// The test secret (32 bytes or more, as HS256 keys must be).
pub const SECRET: &str = "test-secret-at-least-32-bytes-long!!";

/// The issuer of test tokens (and the one [`settings`] requires).
pub const ISSUER: &str = "taskstream-test";

/// Settings that verify the tokens [`token`] mints for the same `audience` (each service's
/// tests pass their own: `task-api`, `audit`, …).
pub fn settings(audience: &str) -> AuthSettings {
    AuthSettings {
        hs256_secret: Some(SecretString::from(SECRET)),
        issuer: Some(ISSUER.into()),
        audience: Some(audience.into()),
        ..Default::default()
    }
}

/// A ten-minute token for `sub`, meant for `audience`, with extra `claims` (e.g. `roles`,
/// `scope`, `act_for`).
pub fn token(audience: &str, sub: &str, claims: Map<String, Value>) -> String {
    mint_dev_token(&settings(audience), sub, Duration::from_secs(600), claims)
        .unwrap_or_else(|e| panic!("test token: {e}"))
}
