//! Keys, settings and signing helpers shared by the auth tests. The keys in `testdata/` are
//! real, test-only keys (see `testdata/README.md`).

use std::path::PathBuf;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::Value;

use super::settings::AuthSettings;

pub(crate) const SECRET: &str = "a-test-only-hs256-secret-of-40-bytes!!!!";
pub(crate) const RSA_1_PRIVATE: &str = include_str!("testdata/rsa-1.private.pem");
pub(crate) const RSA_1_PUBLIC: &str = include_str!("testdata/rsa-1.public.pem");
pub(crate) const RSA_2_PRIVATE: &str = include_str!("testdata/rsa-2.private.pem");
pub(crate) const ED_1_PRIVATE: &str = include_str!("testdata/ed-1.private.pem");
pub(crate) const ED_1_PUBLIC: &str = include_str!("testdata/ed-1.public.pem");

pub(crate) fn testdata(name: &str) -> PathBuf {
    [env!("CARGO_MANIFEST_DIR"), "src", "auth", "testdata", name].iter().collect()
}

/// `rsa-1`, `rsa-2` and `ed-1` by `kid`, plus a P-256 key the verifier must skip.
pub(crate) fn jwks_path() -> PathBuf {
    testdata("jwks.json")
}

pub(crate) fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

/// Settings with only the HS256 test secret.
pub(crate) fn hs256_settings() -> AuthSettings {
    AuthSettings { hs256_secret: Some(SECRET.into()), ..AuthSettings::default() }
}

/// A token with exactly these claims.
pub(crate) fn sign(algorithm: Algorithm, key: &EncodingKey, kid: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).expect("test tokens sign")
}

/// An HS256 token with exactly these claims, signed with [`SECRET`].
pub(crate) fn hs256_token(claims: &Value) -> String {
    sign(Algorithm::HS256, &EncodingKey::from_secret(SECRET.as_bytes()), None, claims)
}
