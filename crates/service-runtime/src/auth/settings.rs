//! The `auth` settings: which keys verify bearer tokens, the expected issuer and audience,
//! and the lifetime of development tokens.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

/// How bearer tokens are verified (and development tokens minted): the `auth` section of a
/// service's settings (`auth.hs256_secret`, `APP__AUTH__ISSUER`, …). Unknown fields are
/// refused, so a misspelt `issuer` cannot silently turn the issuer check off.
#[derive(Deserialize, Clone, Debug)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// HS256 shared secret, at least 32 bytes (its UTF-8 bytes are the key). Verifies HS256
    /// tokens and signs development tokens. Debug never prints it.
    pub hs256_secret: Option<SecretString>,
    /// Public keys for RS256 and EdDSA tokens.
    pub public_keys: Vec<PublicKeySetting>,
    /// A JSON Web Key Set file (RFC 7517 §5); its RSA and OKP/Ed25519 signing keys verify
    /// RS256 and EdDSA tokens, selected by `kid`. Other keys in it are skipped.
    pub jwks_file: Option<PathBuf>,
    /// When set, `iss` must be present and equal to it.
    pub issuer: Option<String>,
    /// When set, `aud` must be present and name it; when unset, `aud` is not checked.
    pub audience: Option<String>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds (at most 300).
    pub leeway_seconds: u64,
    /// Lifetime of minted development tokens, in seconds.
    pub dev_token_ttl_seconds: u64,
}

impl Default for AuthSettings {
    /// No keys (so [`crate::auth::Verifier::new`] fails until one is configured), no issuer or
    /// audience check, 30 s leeway, one-hour development tokens.
    fn default() -> Self {
        Self {
            hs256_secret: None,
            public_keys: Vec::new(),
            jwks_file: None,
            issuer: None,
            audience: None,
            leeway_seconds: 30,
            dev_token_ttl_seconds: 3600,
        }
    }
}

impl AuthSettings {
    /// [`AuthSettings::dev_token_ttl_seconds`] as a duration.
    pub fn dev_token_ttl(&self) -> Duration {
        Duration::from_secs(self.dev_token_ttl_seconds)
    }
}

/// One configured public key: its algorithm, an optional `kid`, and the PEM (SPKI
/// `PUBLIC KEY`, or PKCS#1 `RSA PUBLIC KEY`) inline or in a file — exactly one of the two.
#[derive(Deserialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct PublicKeySetting {
    /// The `kid` tokens signed by this key carry. Without one, the key verifies tokens of
    /// its algorithm whatever their `kid`, after any key whose `kid` matches.
    #[serde(default)]
    pub kid: Option<String>,
    /// The algorithm the key verifies.
    pub algorithm: PublicKeyAlgorithm,
    /// The PEM text.
    #[serde(default)]
    pub pem: Option<String>,
    /// A file holding the PEM text.
    #[serde(default)]
    pub pem_file: Option<PathBuf>,
}

/// The asymmetric algorithms accepted (RFC 7518 §3.3 and RFC 8037).
#[derive(Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PublicKeyAlgorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA keys of 2048 to 4096 bits.
    #[serde(rename = "RS256")]
    Rs256,
    /// Ed25519 signatures.
    #[serde(rename = "EdDSA")]
    EdDsa,
}

impl PublicKeyAlgorithm {
    /// The JOSE `alg` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::EdDsa => "EdDSA",
        }
    }

    pub(crate) fn jwt_algorithm(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;
    use serde_json::json;

    use super::*;

    #[test]
    fn empty_auth_settings_get_a_30_second_leeway_and_one_hour_dev_tokens() {
        let settings: AuthSettings = serde_json::from_value(json!({})).expect("empty settings");

        assert_eq!((settings.leeway_seconds, settings.dev_token_ttl()), (30, Duration::from_secs(3600)));
        assert!(settings.hs256_secret.is_none() && settings.public_keys.is_empty() && settings.jwks_file.is_none());
    }

    #[test]
    fn public_keys_deserialize_with_their_algorithm_names() {
        let settings: AuthSettings = serde_json::from_value(json!({
            "hs256_secret": "0123456789abcdef0123456789abcdef",
            "public_keys": [
                { "kid": "a", "algorithm": "RS256", "pem_file": "/keys/a.pem" },
                { "algorithm": "EdDSA", "pem": "-----BEGIN PUBLIC KEY-----" },
            ],
        }))
        .expect("settings");

        assert_eq!(settings.hs256_secret.as_ref().map(|s| s.expose_secret().len()), Some(32));
        assert_eq!(settings.public_keys[0].algorithm, PublicKeyAlgorithm::Rs256);
        assert_eq!(settings.public_keys[1].algorithm, PublicKeyAlgorithm::EdDsa);
    }

    #[test]
    fn a_misspelt_setting_or_unsupported_algorithm_is_refused() {
        assert!(serde_json::from_value::<AuthSettings>(json!({ "issuerr": "x" })).is_err());
        let es256 = json!({ "public_keys": [{ "algorithm": "ES256", "pem": "x" }] });
        assert!(serde_json::from_value::<AuthSettings>(es256).is_err());
    }

    #[test]
    fn debug_output_does_not_show_the_secret() {
        let settings =
            AuthSettings { hs256_secret: Some("do-not-print-this-secret-anywhere!".into()), ..AuthSettings::default() };

        assert!(!format!("{settings:?}").contains("do-not-print"));
    }
}
