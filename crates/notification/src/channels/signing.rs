//! Standard Webhooks (<https://www.standardwebhooks.com>): message ids, endpoint secrets and
//! signatures.
//!
//! - `webhook-id`: `msg_` + a UUIDv5 of (reminder, generation, target key), so every attempt
//!   of one delivery carries the same id, the receiver's idempotency key.
//! - secrets: `whsec_` + base64 of 32 random bytes; the HMAC key is the decoded bytes.
//! - `webhook-signature`: `v1,` + base64 of HMAC-SHA256(key, `{id}.{timestamp}.{body}`), one
//!   per valid secret, separated by spaces (two during a rotation's grace period).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac as _};
use rand::RngCore as _;
use sha2::Sha256;
use uuid::Uuid;

/// The prefix of an encoded secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Random bytes in a generated secret (the specification asks for 24 to 64).
const SECRET_BYTES: usize = 32;

/// The namespace of the UUIDv5 idempotency keys (`webhook-id`, `Message-ID`). Fixed forever:
/// changing it would give a resent message a new key.
const KEY_NAMESPACE: Uuid = Uuid::from_u128(0x6d2c_1f0e_8a4b_4f7c_9a51_3e2b_7c4d_0a19);

/// The idempotency key of (reminder, generation, target key): the same for every attempt.
pub fn idempotency_key(reminder_id: Uuid, generation: u32, target_key: &str) -> Uuid {
    Uuid::new_v5(&KEY_NAMESPACE, format!("{reminder_id}:{generation}:{target_key}").as_bytes())
}

/// The `webhook-id` of (reminder, generation, target key).
pub fn webhook_id(reminder_id: Uuid, generation: u32, target_key: &str) -> String {
    format!("msg_{}", idempotency_key(reminder_id, generation, target_key).simple())
}

/// A webhook endpoint's signing secret: the HMAC key bytes. Debug never prints them.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

impl Secret {
    /// A new random secret.
    pub fn generate() -> Self {
        let mut bytes = vec![0u8; SECRET_BYTES];
        rand::rng().fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The secret of stored key bytes.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// Reads `whsec_<base64>`; `None` if it is not one.
    pub fn parse(encoded: &str) -> Option<Self> {
        let bytes = STANDARD.decode(encoded.strip_prefix(SECRET_PREFIX)?).ok()?;
        (!bytes.is_empty()).then_some(Self(bytes))
    }

    /// `whsec_<base64>`, as shown to the user once.
    pub fn encode(&self) -> String {
        format!("{SECRET_PREFIX}{}", STANDARD.encode(&self.0))
    }

    /// The key bytes (to store them).
    pub fn bytes(&self) -> &[u8] {
        &self.0
    }

    /// `v1,<base64 signature>` of one message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC-SHA256 accepts keys of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
    }
}

/// The `webhook-signature` header: one `v1,…` per secret, separated by spaces.
pub fn signature_header(secrets: &[Secret], id: &str, timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|secret| secret.sign(id, timestamp, body)).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_matches_the_specifications_example() {
        let secret = Secret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").expect("a secret");

        let signature = secret.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1_614_265_330, br#"{"test": 2432232314}"#);

        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn a_generated_secret_round_trips_through_its_encoding_and_differs_each_time() {
        let secret = Secret::generate();

        assert!(secret.encode().starts_with("whsec_"));
        assert_eq!(Secret::parse(&secret.encode()), Some(secret.clone()));
        assert_ne!(Secret::generate(), secret);
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }

    #[test]
    fn the_webhook_id_depends_on_reminder_generation_and_target_only() {
        let reminder = Uuid::now_v7();

        let id = webhook_id(reminder, 0, "webhook:a");

        assert_eq!(id, webhook_id(reminder, 0, "webhook:a"));
        assert_ne!(id, webhook_id(reminder, 1, "webhook:a"));
        assert_ne!(id, webhook_id(reminder, 0, "webhook:b"));
        assert!(id.starts_with("msg_"));
    }

    #[test]
    fn the_webhook_id_of_a_delivery_never_changes_between_versions() {
        // Pinned: a new id for the same delivery after an upgrade would defeat receivers'
        // idempotency (computed independently with Python's uuid.uuid5).
        assert_eq!(webhook_id(Uuid::nil(), 0, "webhook:x"), "msg_8048d40524a9547ba0c611ebec30ee7f");
    }

    #[test]
    fn during_a_rotation_the_header_carries_one_signature_per_secret() {
        let (old, new) = (Secret::generate(), Secret::generate());

        let header = signature_header(&[new.clone(), old.clone()], "msg_1", 1, b"{}");

        assert_eq!(header, format!("{} {}", new.sign("msg_1", 1, b"{}"), old.sign("msg_1", 1, b"{}")));
    }
}
