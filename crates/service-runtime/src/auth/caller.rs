//! The verified caller: whose tasks a request touches ([`Caller::user_id`]) and who is making
//! it ([`Actor`]), read from a token's claims once its signature and times are checked.

use serde::Deserialize;

use super::error::AuthError;

/// `sub` prefix that marks a service identity (`service:recurring-task`).
pub const SERVICE_SUBJECT_PREFIX: &str = "service:";

/// The scope a service token needs to act for a user (named by [`ON_BEHALF_OF_HEADER`] or
/// the token's `act_for` claim).
pub const ON_BEHALF_SCOPE: &str = "tasks:write_on_behalf";

/// The request header in which a service token with [`ON_BEHALF_SCOPE`] names the user it
/// acts for (`X-On-Behalf-Of: alice`): the user's `sub`, 1 to [`MAX_SUBJECT_BYTES`] visible
/// ASCII characters. Lower case, as `http::HeaderName` spells names.
pub const ON_BEHALF_OF_HEADER: &str = "x-on-behalf-of";

/// The longest subject (`sub`, `act_for`, [`ON_BEHALF_OF_HEADER`]) in bytes of UTF-8: OpenID
/// Connect's limit for `sub`. Every service and consumer stores user ids of this size (audit's
/// attributes may be 1 KiB), so a user who can write is never one whose events are refused.
pub const MAX_SUBJECT_BYTES: usize = 255;

/// The one rule for a subject, applied at every service's authentication boundary: 1 to
/// [`MAX_SUBJECT_BYTES`] bytes and no control characters (NUL included: PostgreSQL text cannot
/// hold it, and the others corrupt logs). `what` names the claim or header in the reason.
pub fn check_subject(subject: &str, what: &str) -> Result<(), AuthError> {
    if subject.is_empty() || subject.len() > MAX_SUBJECT_BYTES {
        return Err(AuthError::InvalidSubject(format!(
            "{what} must be 1 to {MAX_SUBJECT_BYTES} bytes long (it is {})",
            subject.len()
        )));
    }
    if subject.chars().any(char::is_control) {
        return Err(AuthError::InvalidSubject(format!("{what} must not contain control characters")));
    }
    Ok(())
}

/// How [`ON_BEHALF_OF_HEADER`] is written in messages.
const HEADER: &str = "X-On-Behalf-Of";

/// The role (in the token's `roles`) of an administrator; see [`Caller::is_admin`].
pub const ADMIN_ROLE: &str = "admin";

/// Who a verified request is for and from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The user whose tasks the request reads and changes: `sub` for a user token, the
    /// user named by [`ON_BEHALF_OF_HEADER`] or `act_for` for a service acting for a user.
    pub user_id: String,
    /// Who actually made the request, for the audit trail.
    pub actor: Actor,
    /// The token's scopes: `scope` (space-separated) and `scp` together, without repeats.
    pub scopes: Vec<String>,
    /// The token's `roles` (e.g. [`ADMIN_ROLE`]). They are the bearer's: a service acting for
    /// a user carries the service's roles, not the user's.
    pub roles: Vec<String>,
}

impl Caller {
    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether the bearer is an administrator: its `roles` include [`ADMIN_ROLE`]. For a
    /// service acting for a user this is the service's role, not the user's.
    pub fn is_admin(&self) -> bool {
        self.has_role(ADMIN_ROLE)
    }
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Actor {
    /// The user themselves; holds `sub`, equal to [`Caller::user_id`].
    User(String),
    /// A service acting for [`Caller::user_id`]; holds its `sub`, `service:` prefix included.
    Service(String),
}

impl Actor {
    /// The actor's `sub`, as recorded in audit events.
    pub fn subject(&self) -> &str {
        match self {
            Self::User(sub) | Self::Service(sub) => sub,
        }
    }
}

/// The claims that make a [`Caller`]; `exp`, `nbf`, `iss` and `aud` are checked before.
#[derive(Deserialize)]
pub(crate) struct Claims {
    #[serde(default)]
    sub: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    scp: Option<Scopes>,
    #[serde(default)]
    roles: Option<Vec<String>>,
    #[serde(default)]
    act_for: Option<String>,
}

/// `scp` is a JSON array in most issuers, a space-separated string in some.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scopes {
    List(Vec<String>),
    Text(String),
}

impl Claims {
    /// A claim of the wrong JSON type makes the token malformed.
    pub(crate) fn parse(claims: serde_json::Value) -> Result<Self, AuthError> {
        serde_json::from_value(claims).map_err(|_| AuthError::Malformed)
    }

    /// The caller these claims describe, or why they may not call. `on_behalf_of` is the
    /// value of the request's [`ON_BEHALF_OF_HEADER`], if it has one.
    pub(crate) fn into_caller(self, on_behalf_of: Option<&str>) -> Result<Caller, AuthError> {
        let sub = self.sub.ok_or(AuthError::Malformed)?;
        check_subject(&sub, "the token's `sub`")?;
        let scopes = scopes(self.scope.as_deref(), self.scp);
        let roles = self.roles.unwrap_or_default();
        let Some(service) = sub.strip_prefix(SERVICE_SUBJECT_PREFIX) else {
            if self.act_for.is_some() {
                return Err(AuthError::Forbidden(format!(
                    "only a service token (`sub` \"{SERVICE_SUBJECT_PREFIX}…\") may act for a user with `act_for`"
                )));
            }
            if on_behalf_of.is_some() {
                return Err(AuthError::Forbidden(format!(
                    "only a service token (`sub` \"{SERVICE_SUBJECT_PREFIX}…\") may act for a user with {HEADER}"
                )));
            }
            return Ok(Caller { user_id: sub.clone(), actor: Actor::User(sub), scopes, roles });
        };
        if service.is_empty() {
            return Err(AuthError::Malformed);
        }
        if !scopes.iter().any(|s| s == ON_BEHALF_SCOPE) {
            return Err(AuthError::Forbidden(format!(
                "the service token {sub:?} needs the scope {ON_BEHALF_SCOPE} to act for a user"
            )));
        }
        let act_for = self.act_for.filter(|user| !user.is_empty());
        if let Some(user) = &act_for {
            check_subject(user, "the token's `act_for`")?;
        }
        let user = match (on_behalf_of, act_for) {
            (Some(header), act_for) => {
                let user = user_from_header(header)?;
                if act_for.is_some_and(|claimed| claimed != user) {
                    return Err(AuthError::Forbidden(format!(
                        "{HEADER} and the token's `act_for` name different users"
                    )));
                }
                user.to_owned()
            }
            (None, Some(user)) => {
                if user.starts_with(SERVICE_SUBJECT_PREFIX) {
                    return Err(AuthError::Forbidden("`act_for` must name a user, not a service".to_owned()));
                }
                user
            }
            (None, None) => {
                return Err(AuthError::Forbidden(format!(
                    "the service token {sub:?} must name the user it acts for in the {HEADER} header \
                     (or the token's `act_for` claim)"
                )));
            }
        };
        Ok(Caller { user_id: user, actor: Actor::Service(sub), scopes, roles })
    }
}

/// The user [`ON_BEHALF_OF_HEADER`] names: a user's `sub`, never a service, never empty, and
/// plain enough to appear in logs and audit records as it is.
fn user_from_header(value: &str) -> Result<&str, AuthError> {
    if value.is_empty() || value.len() > MAX_SUBJECT_BYTES || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(AuthError::Forbidden(format!(
            "{HEADER} must name a user: 1 to {MAX_SUBJECT_BYTES} visible ASCII characters"
        )));
    }
    if value.starts_with(SERVICE_SUBJECT_PREFIX) {
        return Err(AuthError::Forbidden(format!("{HEADER} must name a user, not a service")));
    }
    Ok(value)
}

fn scopes(scope: Option<&str>, scp: Option<Scopes>) -> Vec<String> {
    let from_scp: Vec<String> = match scp {
        None => Vec::new(),
        Some(Scopes::List(list)) => list,
        Some(Scopes::Text(text)) => text.split_ascii_whitespace().map(str::to_owned).collect(),
    };
    let mut scopes: Vec<String> = Vec::new();
    for s in scope.unwrap_or_default().split_ascii_whitespace().map(str::to_owned).chain(from_scp) {
        if !s.is_empty() && !scopes.contains(&s) {
            scopes.push(s);
        }
    }
    scopes
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn caller(claims: serde_json::Value) -> Result<Caller, AuthError> {
        Claims::parse(claims)?.into_caller(None)
    }

    fn caller_on_behalf_of(claims: serde_json::Value, header: &str) -> Result<Caller, AuthError> {
        Claims::parse(claims)?.into_caller(Some(header))
    }

    fn forbidden_reason(result: Result<Caller, AuthError>) -> String {
        match result {
            Err(AuthError::Forbidden(reason)) => reason,
            other => panic!("expected a 403, got {other:?}"),
        }
    }

    #[test]
    fn a_user_token_makes_the_user_both_owner_and_actor() {
        let caller = caller(json!({ "sub": "alice", "roles": ["admin"] })).expect("a user");

        assert_eq!(
            caller,
            Caller {
                user_id: "alice".into(),
                actor: Actor::User("alice".into()),
                scopes: vec![],
                roles: vec!["admin".into()]
            }
        );
        assert!(caller.has_role("admin"));
        assert!(caller.is_admin());
    }

    #[test]
    fn only_a_token_with_the_admin_role_is_an_admin() {
        let plain = caller(json!({ "sub": "bob", "roles": ["auditor", "Admin"] })).expect("a user");
        let no_roles = caller(json!({ "sub": "bob" })).expect("a user");

        assert!(!plain.is_admin(), "role names are case-sensitive");
        assert!(!no_roles.is_admin());
    }

    #[test]
    fn scopes_from_scope_and_scp_are_merged_without_repeats() {
        let from_both = caller(json!({ "sub": "a", "scope": "tasks:read  tasks:write", "scp": ["tasks:write", "x"] }));
        let scp_as_text = caller(json!({ "sub": "a", "scp": "tasks:read tasks:write" }));

        assert_eq!(from_both.expect("caller").scopes, ["tasks:read", "tasks:write", "x"]);
        assert_eq!(scp_as_text.expect("caller").scopes, ["tasks:read", "tasks:write"]);
    }

    #[test]
    fn a_service_with_the_scope_acts_for_the_user_it_names() {
        let claims = json!({ "sub": "service:recurring-task", "scope": ON_BEHALF_SCOPE, "act_for": "alice" });

        let caller = caller(claims).expect("the service acts for alice");

        assert_eq!(caller.user_id, "alice");
        assert_eq!(caller.actor, Actor::Service("service:recurring-task".into()));
        assert_eq!(caller.actor.subject(), "service:recurring-task");
    }

    #[test]
    fn a_service_token_without_the_scope_or_without_act_for_is_forbidden() {
        let no_scope = caller(json!({ "sub": "service:recurring-task", "act_for": "alice" }));
        let no_user = caller(json!({ "sub": "service:recurring-task", "scp": [ON_BEHALF_SCOPE] }));
        let for_a_service = caller(json!({ "sub": "service:a", "scp": [ON_BEHALF_SCOPE], "act_for": "service:b" }));

        assert!(matches!(no_scope, Err(AuthError::Forbidden(m)) if m.contains(ON_BEHALF_SCOPE)));
        assert!(matches!(no_user, Err(AuthError::Forbidden(m)) if m.contains("act_for")));
        assert!(matches!(for_a_service, Err(AuthError::Forbidden(_))));
    }

    #[test]
    fn a_user_token_may_not_act_for_someone_else() {
        let result = caller(json!({ "sub": "mallory", "scope": ON_BEHALF_SCOPE, "act_for": "alice" }));

        assert!(matches!(result, Err(AuthError::Forbidden(_))));
    }

    #[test]
    fn a_service_with_the_scope_acts_for_the_user_its_header_names() {
        let claims = json!({ "sub": "service:recurring-task", "scope": ON_BEHALF_SCOPE });

        let caller = caller_on_behalf_of(claims, "alice").expect("the service acts for alice");

        assert_eq!(caller.user_id, "alice");
        assert_eq!(caller.actor, Actor::Service("service:recurring-task".into()));
    }

    #[test]
    fn the_header_may_repeat_act_for_but_not_contradict_it() {
        let claims = json!({ "sub": "service:recurring-task", "scope": ON_BEHALF_SCOPE, "act_for": "alice" });

        let same = caller_on_behalf_of(claims.clone(), "alice").expect("the same user");
        let other = forbidden_reason(caller_on_behalf_of(claims, "bob"));

        assert_eq!(same.user_id, "alice");
        assert!(other.contains("different users"), "{other}");
    }

    #[test]
    fn a_user_token_may_not_name_someone_else_in_the_header() {
        let reason =
            forbidden_reason(caller_on_behalf_of(json!({ "sub": "mallory", "scope": ON_BEHALF_SCOPE }), "alice"));

        assert!(reason.contains("only a service token") && reason.contains("X-On-Behalf-Of"), "{reason}");
    }

    #[test]
    fn a_service_token_without_the_scope_may_not_use_the_header() {
        let reason = forbidden_reason(caller_on_behalf_of(json!({ "sub": "service:recurring-task" }), "alice"));

        assert!(reason.contains(ON_BEHALF_SCOPE), "{reason}");
    }

    #[test]
    fn a_header_naming_a_service_or_empty_or_unreadable_is_forbidden() {
        let claims = json!({ "sub": "service:recurring-task", "scope": ON_BEHALF_SCOPE });
        let too_long = "a".repeat(256);

        let service = forbidden_reason(caller_on_behalf_of(claims.clone(), "service:audit"));
        assert!(service.contains("not a service"), "{service}");
        for bad in ["", "al ice", "alice\u{7f}", "élise", too_long.as_str()] {
            let reason = forbidden_reason(caller_on_behalf_of(claims.clone(), bad));
            assert!(reason.contains("visible ASCII"), "{bad:?}: {reason}");
        }
        assert!(caller_on_behalf_of(claims, &"a".repeat(255)).is_ok(), "255 characters are enough for any sub");
    }

    #[test]
    fn a_service_token_naming_nobody_is_told_about_the_header() {
        let reason = forbidden_reason(caller(json!({ "sub": "service:recurring-task", "scope": ON_BEHALF_SCOPE })));

        assert!(reason.contains("X-On-Behalf-Of") && reason.contains("act_for"), "{reason}");
    }

    #[test]
    fn a_subject_too_long_or_with_control_characters_is_refused_as_every_consumer_would() {
        let longest = "é".repeat(127) + "a";
        assert_eq!(longest.len(), MAX_SUBJECT_BYTES);
        assert!(caller(json!({ "sub": longest })).is_ok());
        for bad in ["a".repeat(1500), "al\u{0}ice".to_owned(), "line\nbreak".to_owned()] {
            let refused = caller(json!({ "sub": bad }));
            assert!(matches!(&refused, Err(AuthError::InvalidSubject(_))), "{bad:?}: {refused:?}");
        }
        let service = json!({ "sub": "service:recurring-task", "scope": ON_BEHALF_SCOPE, "act_for": "a\u{0}" });
        assert!(matches!(caller(service), Err(AuthError::InvalidSubject(m)) if m.contains("act_for")));
        assert!(!AuthError::InvalidSubject(String::new()).is_forbidden(), "a 401, not a 403");
    }

    #[test]
    fn claims_without_a_subject_or_with_wrongly_typed_claims_are_malformed() {
        assert_eq!(caller(json!({})), Err(AuthError::Malformed));
        assert!(matches!(caller(json!({ "sub": "" })), Err(AuthError::InvalidSubject(_))));
        assert_eq!(caller(json!({ "sub": "service:" })), Err(AuthError::Malformed));
        assert_eq!(caller(json!({ "sub": "alice", "roles": "admin" })), Err(AuthError::Malformed));
    }
}
