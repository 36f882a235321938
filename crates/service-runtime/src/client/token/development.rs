//! Development tokens for the calling service: `sub` `service:<name>` with the on-behalf
//! scope, signed with the local HS256 secret through [`mint_dev_token`].

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Map, Value};

use crate::auth::{AuthSettings, SERVICE_SUBJECT_PREFIX, mint_dev_token};
use crate::client::error::TokenError;
use crate::client::settings::DevelopmentTokenSettings;

/// Mints a token per call: HS256 signing costs microseconds, and a fresh token never expires
/// mid-retry.
#[derive(Debug)]
pub(super) struct DevelopmentTokens {
    /// The secret, issuer and audience, as [`mint_dev_token`] takes them.
    auth: AuthSettings,
    subject: String,
    scope: String,
    ttl: Duration,
}

impl DevelopmentTokens {
    pub(super) fn new(settings: &DevelopmentTokenSettings) -> Result<Self, TokenError> {
        // `recurring-task` and `service:recurring-task` name the same service.
        let name = settings.service.strip_prefix(SERVICE_SUBJECT_PREFIX).unwrap_or(&settings.service);
        if name.is_empty() {
            return Err(TokenError::Settings("token.development.service: name the calling service".into()));
        }
        if settings.hs256_secret.is_none() {
            return Err(TokenError::Settings(
                "token.development.hs256_secret: set it to the called service's auth.hs256_secret".into(),
            ));
        }
        let auth = AuthSettings {
            hs256_secret: settings.hs256_secret.clone(),
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ..AuthSettings::default()
        };
        let tokens = Self {
            auth,
            subject: format!("{SERVICE_SUBJECT_PREFIX}{name}"),
            scope: settings.scope.clone(),
            ttl: Duration::from_secs(settings.ttl_seconds),
        };
        // A short secret is a settings error: find it at startup.
        tokens.token()?;
        Ok(tokens)
    }

    pub(super) fn token(&self) -> Result<SecretString, TokenError> {
        let mut claims = Map::new();
        if !self.scope.is_empty() {
            claims.insert("scope".into(), Value::String(self.scope.clone()));
        }
        let token = mint_dev_token(&self.auth, &self.subject, self.ttl, claims)?;
        Ok(SecretString::from(token))
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::auth::{Actor, ON_BEHALF_SCOPE, Verifier};

    const SECRET: &str = "a-development-secret-of-32-bytes-or-more";

    fn settings(service: &str) -> DevelopmentTokenSettings {
        DevelopmentTokenSettings {
            service: service.into(),
            hs256_secret: Some(SECRET.into()),
            issuer: Some("taskstream-dev".into()),
            audience: Some("task-api".into()),
            ..DevelopmentTokenSettings::default()
        }
    }

    #[test]
    fn a_development_token_lets_the_service_act_for_the_user_it_names() {
        let verifier = Verifier::new(&AuthSettings {
            hs256_secret: Some(SECRET.into()),
            issuer: Some("taskstream-dev".into()),
            audience: Some("task-api".into()),
            ..AuthSettings::default()
        })
        .expect("a verifier");
        let tokens = DevelopmentTokens::new(&settings("recurring-task")).expect("a source");

        let token = tokens.token().expect("a token");
        let caller = verifier.verify_request(token.expose_secret(), Some("alice")).expect("accepted");

        assert_eq!(caller.user_id, "alice");
        assert_eq!(caller.actor, Actor::Service("service:recurring-task".into()));
        assert!(caller.has_scope(ON_BEHALF_SCOPE));
    }

    #[test]
    fn the_service_prefix_is_not_doubled() {
        let tokens = DevelopmentTokens::new(&settings("service:recurring-task")).expect("a source");

        assert_eq!(tokens.subject, "service:recurring-task");
    }

    #[test]
    fn a_missing_name_or_secret_or_a_short_secret_fails_at_startup() {
        let no_name = DevelopmentTokens::new(&settings(""));
        let no_secret = DevelopmentTokens::new(&DevelopmentTokenSettings { hs256_secret: None, ..settings("a") });
        let short =
            DevelopmentTokens::new(&DevelopmentTokenSettings { hs256_secret: Some("short".into()), ..settings("a") });

        assert!(matches!(no_name, Err(TokenError::Settings(m)) if m.contains("service")));
        assert!(matches!(no_secret, Err(TokenError::Settings(m)) if m.contains("hs256_secret")));
        assert!(matches!(short, Err(TokenError::Development(_))));
    }
}
