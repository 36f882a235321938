//! [`Verifier`]: checks a bearer token's signature, times, issuer and audience, then reads
//! the [`Caller`] from its claims.

use std::sync::Arc;

use jsonwebtoken::errors::{Error as JwtError, ErrorKind};
use jsonwebtoken::{Algorithm, Validation};

use super::caller::{Caller, Claims};
use super::error::{AuthConfigError, AuthError};
use super::keys::KeySet;
use super::settings::AuthSettings;

/// Five minutes: clocks further apart than that need fixing, not tolerating.
const MAX_LEEWAY_SECONDS: u64 = 300;

/// Verifies bearer tokens with the keys loaded once by [`Verifier::new`]. Cheap to clone
/// (the keys are shared); put it in the router state for the [`Caller`] extractor.
#[derive(Clone, Debug)]
pub struct Verifier {
    inner: Arc<Inner>,
}

/// Debug shows key ids, algorithms and origins, never key material.
#[derive(Debug)]
struct Inner {
    keys: KeySet,
    issuer: Option<String>,
    audience: Option<String>,
    leeway_seconds: u64,
}

impl Verifier {
    /// Loads and checks every configured key (the HS256 secret, PEMs, the JWKS file); fails
    /// when one is unusable or when none is configured.
    pub fn new(settings: &AuthSettings) -> Result<Self, AuthConfigError> {
        if settings.leeway_seconds > MAX_LEEWAY_SECONDS {
            return Err(AuthConfigError::LeewayTooLarge { seconds: settings.leeway_seconds, max: MAX_LEEWAY_SECONDS });
        }
        let keys = KeySet::load(settings)?;
        tracing::info!(
            keys = ?keys,
            issuer = ?settings.issuer,
            audience = ?settings.audience,
            leeway_seconds = settings.leeway_seconds,
            "bearer-token verification configured"
        );
        Ok(Self {
            inner: Arc::new(Inner {
                keys,
                issuer: settings.issuer.clone(),
                audience: settings.audience.clone(),
                leeway_seconds: settings.leeway_seconds,
            }),
        })
    }

    /// The caller a token (the part after `Bearer `) identifies, or why it is refused.
    pub fn verify(&self, token: &str) -> Result<Caller, AuthError> {
        self.verify_request(token, None)
    }

    /// [`Verifier::verify`] for a request that may name, in
    /// [`ON_BEHALF_OF_HEADER`](super::ON_BEHALF_OF_HEADER), the user a service acts for:
    /// `on_behalf_of` is that header's value. The token is checked first, so a refused token
    /// is refused (401) whatever the header says.
    pub fn verify_request(&self, token: &str, on_behalf_of: Option<&str>) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::Malformed)?;
        // RFC 7515 §4.1.11: a token that needs an extension we do not understand is invalid.
        if header.crit.as_ref().is_some_and(|crit| !crit.is_empty()) {
            return Err(AuthError::Malformed);
        }
        let candidates = self.inner.keys.candidates(header.alg, header.kid.as_deref());
        if candidates.is_empty() {
            return Err(AuthError::UnknownKey);
        }
        let validation = self.validation(header.alg);
        for key in candidates {
            match jsonwebtoken::decode::<serde_json::Value>(token, key, &validation) {
                Ok(data) => return Claims::parse(data.claims)?.into_caller(on_behalf_of),
                // Another candidate (a key without `kid`, say) may have signed it.
                Err(e) if matches!(e.kind(), ErrorKind::InvalidSignature) => {}
                Err(e) => return Err(auth_error(&e)),
            }
        }
        Err(AuthError::BadSignature)
    }

    fn validation(&self, algorithm: Algorithm) -> Validation {
        let mut validation = Validation::new(algorithm);
        validation.leeway = self.inner.leeway_seconds;
        validation.validate_nbf = true;
        let mut required = vec!["exp"];
        if let Some(issuer) = &self.inner.issuer {
            validation.set_issuer(&[issuer]);
            required.push("iss");
        }
        match &self.inner.audience {
            Some(audience) => {
                validation.set_audience(&[audience]);
                required.push("aud");
            }
            // Without a configured audience a token's `aud` cannot be matched; accept it.
            None => validation.validate_aud = false,
        }
        validation.set_required_spec_claims(&required);
        validation
    }
}

/// Only called once the signature has been checked (or could not be, for a garbled token).
fn auth_error(error: &JwtError) -> AuthError {
    match error.kind() {
        ErrorKind::InvalidSignature => AuthError::BadSignature,
        ErrorKind::ExpiredSignature => AuthError::Expired,
        ErrorKind::ImmatureSignature => AuthError::NotYetValid,
        ErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        ErrorKind::InvalidAudience => AuthError::WrongAudience,
        ErrorKind::MissingRequiredClaim(claim) if claim == "iss" => AuthError::WrongIssuer,
        ErrorKind::MissingRequiredClaim(claim) if claim == "aud" => AuthError::WrongAudience,
        _ => AuthError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jsonwebtoken::EncodingKey;
    use serde_json::json;

    use super::*;
    use crate::auth::caller::{Actor, ON_BEHALF_SCOPE};
    use crate::auth::dev_token::mint_dev_token;
    use crate::auth::settings::{PublicKeyAlgorithm, PublicKeySetting};
    use crate::auth::test_support::{
        ED_1_PRIVATE, ED_1_PUBLIC, RSA_1_PRIVATE, RSA_1_PUBLIC, RSA_2_PRIVATE, SECRET, hs256_settings, hs256_token,
        jwks_path, now, sign, testdata,
    };

    fn verifier(settings: &AuthSettings) -> Verifier {
        Verifier::new(settings).expect("valid auth settings")
    }

    fn rsa_key(pem: &str) -> EncodingKey {
        EncodingKey::from_rsa_pem(pem.as_bytes()).expect("test RSA key")
    }

    fn ed_key() -> EncodingKey {
        EncodingKey::from_ed_pem(ED_1_PRIVATE.as_bytes()).expect("test Ed25519 key")
    }

    fn jwks_verifier() -> Verifier {
        verifier(&AuthSettings { jwks_file: Some(jwks_path()), ..AuthSettings::default() })
    }

    #[test]
    fn a_minted_dev_token_verifies_as_its_user_with_its_scopes_and_roles() {
        let settings = hs256_settings();
        let extra = json!({ "scope": "tasks:read tasks:write", "roles": ["admin"] });
        let extra = extra.as_object().cloned().expect("an object");

        let token = mint_dev_token(&settings, "alice", Duration::from_secs(60), extra).expect("minted");
        let caller = verifier(&settings).verify(&token).expect("verifies");

        assert_eq!(
            caller,
            Caller {
                user_id: "alice".into(),
                actor: Actor::User("alice".into()),
                scopes: vec!["tasks:read".into(), "tasks:write".into()],
                roles: vec!["admin".into()],
            }
        );
    }

    #[test]
    fn a_token_signed_with_another_secret_has_a_bad_signature() {
        let other = EncodingKey::from_secret(b"another-secret-that-is-32-bytes-long!!");
        let token = sign(Algorithm::HS256, &other, None, &json!({ "sub": "alice", "exp": now() + 60 }));

        assert_eq!(verifier(&hs256_settings()).verify(&token), Err(AuthError::BadSignature));
    }

    #[test]
    fn a_token_whose_claims_were_changed_has_a_bad_signature() {
        let token = hs256_token(&json!({ "sub": "alice", "exp": now() + 60 }));
        let forged = hs256_token(&json!({ "sub": "mallory", "exp": now() + 60 }));
        let [header, _, signature] = token.split('.').collect::<Vec<_>>()[..] else { panic!("three parts") };
        let forged_payload = forged.split('.').nth(1).expect("a payload");

        let result = verifier(&hs256_settings()).verify(&format!("{header}.{forged_payload}.{signature}"));

        assert_eq!(result, Err(AuthError::BadSignature));
    }

    #[test]
    fn a_token_expired_beyond_the_leeway_is_refused_and_within_it_accepted() {
        let verifier = verifier(&hs256_settings());

        let long_expired = hs256_token(&json!({ "sub": "alice", "exp": now() - 31 }));
        let just_expired = hs256_token(&json!({ "sub": "alice", "exp": now() - 10 }));

        assert_eq!(verifier.verify(&long_expired), Err(AuthError::Expired));
        assert!(verifier.verify(&just_expired).is_ok());
    }

    #[test]
    fn a_token_whose_nbf_is_beyond_the_leeway_is_not_yet_valid() {
        let verifier = verifier(&hs256_settings());

        let later = hs256_token(&json!({ "sub": "alice", "exp": now() + 600, "nbf": now() + 120 }));
        let almost = hs256_token(&json!({ "sub": "alice", "exp": now() + 600, "nbf": now() + 10 }));

        assert_eq!(verifier.verify(&later), Err(AuthError::NotYetValid));
        assert!(verifier.verify(&almost).is_ok());
    }

    #[test]
    fn a_token_without_exp_or_that_is_not_a_jwt_is_malformed() {
        let verifier = verifier(&hs256_settings());

        assert_eq!(verifier.verify(&hs256_token(&json!({ "sub": "alice" }))), Err(AuthError::Malformed));
        assert_eq!(verifier.verify("not-a-jwt"), Err(AuthError::Malformed));
        assert_eq!(verifier.verify("a.b.c"), Err(AuthError::Malformed));
        assert_eq!(verifier.verify(""), Err(AuthError::Malformed));
    }

    #[test]
    fn the_issuer_and_audience_are_enforced_when_configured() {
        let settings = AuthSettings {
            issuer: Some("https://id.taskstream.dev".into()),
            audience: Some("task-api".into()),
            ..hs256_settings()
        };
        let verifier = verifier(&settings);
        let token = |claims: serde_json::Value| {
            let mut all = json!({ "sub": "alice", "exp": now() + 60 });
            all.as_object_mut().expect("object").extend(claims.as_object().cloned().expect("object"));
            hs256_token(&all)
        };

        let right = token(json!({ "iss": "https://id.taskstream.dev", "aud": ["other", "task-api"] }));
        let wrong_issuer = token(json!({ "iss": "https://evil.example", "aud": "task-api" }));
        let no_issuer = token(json!({ "aud": "task-api" }));
        let wrong_audience = token(json!({ "iss": "https://id.taskstream.dev", "aud": "billing" }));
        let no_audience = token(json!({ "iss": "https://id.taskstream.dev" }));

        assert!(verifier.verify(&right).is_ok());
        assert_eq!(verifier.verify(&wrong_issuer), Err(AuthError::WrongIssuer));
        assert_eq!(verifier.verify(&no_issuer), Err(AuthError::WrongIssuer));
        assert_eq!(verifier.verify(&wrong_audience), Err(AuthError::WrongAudience));
        assert_eq!(verifier.verify(&no_audience), Err(AuthError::WrongAudience));
    }

    #[test]
    fn any_issuer_and_audience_are_accepted_when_none_is_configured() {
        let token = hs256_token(&json!({ "sub": "alice", "exp": now() + 60, "iss": "anyone", "aud": ["anything"] }));

        assert!(verifier(&hs256_settings()).verify(&token).is_ok());
    }

    #[test]
    fn rs256_and_eddsa_tokens_verify_with_configured_pem_keys() {
        let settings = AuthSettings {
            public_keys: vec![
                PublicKeySetting {
                    kid: None,
                    algorithm: PublicKeyAlgorithm::Rs256,
                    pem: Some(RSA_1_PUBLIC.into()),
                    pem_file: None,
                },
                PublicKeySetting {
                    kid: Some("ed-1".into()),
                    algorithm: PublicKeyAlgorithm::EdDsa,
                    pem: None,
                    pem_file: Some(testdata("ed-1.public.pem")),
                },
            ],
            ..AuthSettings::default()
        };
        let verifier = verifier(&settings);
        let claims = json!({ "sub": "alice", "exp": now() + 60 });

        let rs256 = sign(Algorithm::RS256, &rsa_key(RSA_1_PRIVATE), Some("whatever"), &claims);
        let eddsa = sign(Algorithm::EdDSA, &ed_key(), None, &claims);
        let by_other_rsa_key = sign(Algorithm::RS256, &rsa_key(RSA_2_PRIVATE), None, &claims);

        assert_eq!(verifier.verify(&rs256).map(|c| c.user_id), Ok("alice".into()));
        assert_eq!(verifier.verify(&eddsa).map(|c| c.user_id), Ok("alice".into()));
        assert_eq!(verifier.verify(&by_other_rsa_key), Err(AuthError::BadSignature));
    }

    #[test]
    fn rs256_and_eddsa_tokens_verify_with_jwks_keys_chosen_by_kid() {
        let verifier = jwks_verifier();
        let claims = json!({ "sub": "alice", "exp": now() + 60 });

        let rs256 = sign(Algorithm::RS256, &rsa_key(RSA_2_PRIVATE), Some("rsa-2"), &claims);
        let eddsa = sign(Algorithm::EdDSA, &ed_key(), Some("ed-1"), &claims);
        let kid_of_another_key = sign(Algorithm::RS256, &rsa_key(RSA_2_PRIVATE), Some("rsa-1"), &claims);

        assert_eq!(verifier.verify(&rs256).map(|c| c.user_id), Ok("alice".into()));
        assert_eq!(verifier.verify(&eddsa).map(|c| c.user_id), Ok("alice".into()));
        assert_eq!(verifier.verify(&kid_of_another_key), Err(AuthError::BadSignature));
    }

    #[test]
    fn a_token_without_kid_is_tried_against_every_key_of_its_algorithm() {
        let token = sign(Algorithm::RS256, &rsa_key(RSA_2_PRIVATE), None, &json!({ "sub": "bob", "exp": now() + 60 }));

        assert_eq!(jwks_verifier().verify(&token).map(|c| c.user_id), Ok("bob".into()));
    }

    #[test]
    fn a_token_with_an_unknown_kid_is_refused_as_unknown_key() {
        let token = sign(Algorithm::EdDSA, &ed_key(), Some("ed-2"), &json!({ "sub": "alice", "exp": now() + 60 }));

        assert_eq!(jwks_verifier().verify(&token), Err(AuthError::UnknownKey));
    }

    #[test]
    fn an_hs256_token_is_refused_when_only_public_keys_are_configured() {
        // The classic algorithm confusion: the public key's bytes used as an HMAC secret.
        let confused = EncodingKey::from_secret(ED_1_PUBLIC.as_bytes());
        let token = sign(Algorithm::HS256, &confused, Some("ed-1"), &json!({ "sub": "alice", "exp": now() + 60 }));

        assert_eq!(jwks_verifier().verify(&token), Err(AuthError::UnknownKey));
    }

    #[test]
    fn a_service_token_with_the_scope_acts_for_the_user_and_records_the_service() {
        let token = hs256_token(&json!({
            "sub": "service:recurring-task",
            "scope": ON_BEHALF_SCOPE,
            "act_for": "alice",
            "exp": now() + 60,
        }));

        let caller = verifier(&hs256_settings()).verify(&token).expect("the service may act for alice");

        assert_eq!(caller.user_id, "alice");
        assert_eq!(caller.actor, Actor::Service("service:recurring-task".into()));
    }

    #[test]
    fn a_service_token_without_the_scope_is_forbidden() {
        let token = hs256_token(&json!({ "sub": "service:recurring-task", "act_for": "alice", "exp": now() + 60 }));

        let result = verifier(&hs256_settings()).verify(&token);

        assert!(matches!(result, Err(AuthError::Forbidden(m)) if m.contains(ON_BEHALF_SCOPE)));
    }

    #[test]
    fn a_leeway_beyond_five_minutes_is_refused() {
        let settings = AuthSettings { leeway_seconds: u64::MAX, ..hs256_settings() };

        assert!(matches!(Verifier::new(&settings), Err(AuthConfigError::LeewayTooLarge { max: 300, .. })));
    }

    #[test]
    fn the_verifier_debug_output_shows_no_secret() {
        let debug = format!("{:?}", verifier(&hs256_settings()));

        assert!(!debug.contains(SECRET), "{debug}");
        assert!(debug.contains("hs256: true"), "{debug}");
    }
}
