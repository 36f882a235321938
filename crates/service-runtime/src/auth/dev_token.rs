//! Development tokens: HS256 tokens signed with the configured secret, for local runs and
//! tests (`task-api token --sub alice` prints one).

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value};

use super::error::AuthConfigError;
use super::keys::secret_bytes;
use super::settings::AuthSettings;

/// Mints an HS256 token for `sub`, valid for `ttl` from now, signed with
/// `settings.hs256_secret` (so only a verifier configured with that secret accepts it).
///
/// `iat`, `exp` (now + `ttl`) and — when configured — `iss` and `aud` are set from the
/// settings; `extra` adds the other claims (`scope`, `roles`, `act_for`, …) and may replace
/// those defaults (an `exp` in the past makes an expired token for a test). `sub` is always
/// the argument.
pub fn mint_dev_token(
    settings: &AuthSettings,
    sub: &str,
    ttl: Duration,
    extra: Map<String, Value>,
) -> Result<String, AuthConfigError> {
    let secret = settings.hs256_secret.as_ref().ok_or(AuthConfigError::NoSecret)?;
    let key = EncodingKey::from_secret(secret_bytes(secret)?);
    if sub.is_empty() {
        return Err(AuthConfigError::EmptySubject);
    }
    let now = jsonwebtoken::get_current_timestamp();
    let mut claims = Map::new();
    claims.insert("iat".into(), now.into());
    claims.insert("exp".into(), now.saturating_add(ttl.as_secs()).into());
    if let Some(issuer) = &settings.issuer {
        claims.insert("iss".into(), issuer.as_str().into());
    }
    if let Some(audience) = &settings.audience {
        claims.insert("aud".into(), audience.as_str().into());
    }
    claims.extend(extra);
    claims.insert("sub".into(), sub.into());
    jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).map_err(AuthConfigError::Sign)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::dangerous::insecure_decode;
    use serde_json::json;

    use super::*;
    use crate::auth::test_support::{hs256_settings, now};

    fn claims(token: &str) -> Value {
        insecure_decode::<Value>(token).expect("a JWT").claims
    }

    #[test]
    fn a_dev_token_carries_the_configured_issuer_audience_and_its_expiry() {
        let settings = AuthSettings {
            issuer: Some("taskstream-dev".into()),
            audience: Some("task-api".into()),
            ..hs256_settings()
        };
        let extra = json!({ "sub": "ignored", "roles": ["admin"] }).as_object().cloned().expect("object");

        let token = mint_dev_token(&settings, "alice", Duration::from_secs(600), extra).expect("minted");

        let claims = claims(&token);
        let (iat, exp) = (claims["iat"].as_u64().expect("iat"), claims["exp"].as_u64().expect("exp"));
        assert!(iat.abs_diff(now()) <= 5, "iat is now");
        assert_eq!(exp - iat, 600);
        assert_eq!(
            (&claims["sub"], &claims["iss"], &claims["aud"], &claims["roles"]),
            (&json!("alice"), &json!("taskstream-dev"), &json!("task-api"), &json!(["admin"]))
        );
    }

    #[test]
    fn extra_claims_may_replace_the_defaults_but_not_the_subject() {
        let extra = json!({ "sub": "mallory", "exp": 1_000_000 }).as_object().cloned().expect("object");

        let token = mint_dev_token(&hs256_settings(), "alice", Duration::from_secs(60), extra).expect("minted");

        assert_eq!((&claims(&token)["sub"], &claims(&token)["exp"]), (&json!("alice"), &json!(1_000_000)));
    }

    #[test]
    fn minting_without_a_secret_or_subject_fails() {
        let no_secret = mint_dev_token(&AuthSettings::default(), "alice", Duration::from_secs(60), Map::new());
        let no_subject = mint_dev_token(&hs256_settings(), "", Duration::from_secs(60), Map::new());

        assert!(matches!(no_secret, Err(AuthConfigError::NoSecret)));
        assert!(matches!(no_subject, Err(AuthConfigError::EmptySubject)));
    }
}
