//! Query strings → [`AuditQuery`], each problem naming its parameter. Unknown parameters are
//! errors, so a typo never silently widens a query.

use chrono::{DateTime, Utc};
use service_runtime::auth::Caller;
use service_runtime::problem::{ApiError, ProblemFieldError};

use crate::store::{AuditCursor, AuditQuery, MAX_LIMIT, Order};

/// Default page size.
const DEFAULT_LIMIT: u32 = 50;
/// Longest accepted filter value (task ids, types, user ids).
const MAX_TEXT: usize = 200;

/// Which route the parameters are for: each accepts a different set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Route {
    /// `GET /v1/audit`: filters, `order`, `limit`, `cursor`.
    List,
    /// `GET /v1/audit/export`: filters only.
    Export,
    /// `GET /v1/audit/verify`: `user_id` only.
    Verify,
}

/// Parses `raw` for `route` and applies the caller's visibility: the caller's own entries, or
/// for an administrator everyone's (or `user_id`'s). 422 lists every invalid parameter; 403
/// when a non-administrator names another user.
pub(super) fn parse(raw: Option<&str>, route: Route, caller: &Caller) -> Result<AuditQuery, ApiError> {
    let mut errors = Vec::new();
    let mut query = AuditQuery {
        limit: DEFAULT_LIMIT,
        order: if route == Route::List { Order::Desc } else { Order::Asc },
        ..Default::default()
    };
    let mut cursor = None;
    let mut user = None;
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = value.trim();
        let mut bad = |rule: &str, message: &str| errors.push(ProblemFieldError::new(name.as_ref(), rule, message));
        let filters = route != Route::Verify;
        match name.as_ref() {
            "user_id" => match text(value) {
                Ok(v) => user = Some(v),
                Err((rule, message)) => bad(rule, message),
            },
            "task_id" if filters => match text(value) {
                Ok(v) => query.task_id = Some(v),
                Err((rule, message)) => bad(rule, message),
            },
            "type" if filters => match text(value) {
                Ok(v) => query.event_type = Some(v),
                Err((rule, message)) => bad(rule, message),
            },
            "from" if filters => match instant(value) {
                Some(t) => query.from = Some(t),
                None => bad("format", "must be an RFC 3339 instant with an offset"),
            },
            "to" if filters => match instant(value) {
                Some(t) => query.to = Some(t),
                None => bad("format", "must be an RFC 3339 instant with an offset"),
            },
            "order" if route == Route::List => match value {
                "desc" => query.order = Order::Desc,
                "asc" => query.order = Order::Asc,
                _ => bad("one_of", "must be asc or desc"),
            },
            "limit" if route == Route::List => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => query.limit = n,
                _ => bad("range", &format!("must be an integer from 1 to {MAX_LIMIT}")),
            },
            "cursor" if route == Route::List => cursor = Some(value.to_owned()),
            _ => bad("unknown_parameter", "is not a parameter of this route"),
        }
    }
    if let (Some(from), Some(to)) = (query.from, query.to)
        && to <= from
    {
        errors.push(ProblemFieldError::new("to", "after", "must be later than from"));
    }
    if let Some(text) = cursor {
        match AuditCursor::decode(&text, query.order) {
            Ok(c) => query.cursor = Some(c),
            Err(e) => errors.push(ProblemFieldError::new("cursor", "format", e.to_string())),
        }
    }
    if !errors.is_empty() {
        return Err(ApiError::validation(errors));
    }
    query.user_id = visible_user(caller, user)?;
    Ok(query)
}

/// Whose entries the caller may read: `None` means everyone's (administrators only).
pub(super) fn visible_user(caller: &Caller, requested: Option<String>) -> Result<Option<String>, ApiError> {
    match requested {
        _ if caller.is_admin() => Ok(requested),
        Some(user) if user != caller.user_id => {
            Err(ApiError::forbidden("only administrators may read another user's audit entries"))
        }
        _ => Ok(Some(caller.user_id.clone())),
    }
}

/// A filter or path value: 1 to 200 characters, none of them control characters; else the
/// `(rule, message)` to report.
pub(super) fn text(value: &str) -> Result<String, (&'static str, &'static str)> {
    if value.is_empty() {
        Err(("min_length", "must not be empty"))
    } else if value.chars().count() > MAX_TEXT {
        Err(("max_length", "must be at most 200 characters"))
    } else if value.chars().any(char::is_control) {
        Err(("control_characters", "must not contain control characters"))
    } else {
        Ok(value.to_owned())
    }
}

fn instant(value: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(value).ok().map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use service_runtime::auth::Actor;

    use super::*;

    fn caller(user: &str, roles: &[&str]) -> Caller {
        Caller {
            user_id: user.into(),
            actor: Actor::User(user.into()),
            scopes: vec![],
            roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        }
    }

    fn fields(error: &ApiError) -> Vec<String> {
        error.problem().errors.unwrap_or_default().into_iter().map(|e| e.field).collect()
    }

    #[test]
    fn a_user_reads_only_their_own_entries_whatever_they_ask() {
        let query = parse(Some("task_id=t1&type=task.updated"), Route::List, &caller("alice", &[])).expect("valid");
        assert_eq!(query.user_id.as_deref(), Some("alice"));
        assert_eq!(query.task_id.as_deref(), Some("t1"));
        let refused = parse(Some("user_id=bob"), Route::List, &caller("alice", &[])).expect_err("forbidden");
        assert_eq!(refused.status(), 403);
    }

    #[test]
    fn an_administrator_reads_everyone_or_the_named_user() {
        assert_eq!(parse(None, Route::List, &caller("root", &["admin"])).expect("valid").user_id, None);
        let named = parse(Some("user_id=bob"), Route::Verify, &caller("root", &["admin"])).expect("valid");
        assert_eq!(named.user_id.as_deref(), Some("bob"));
    }

    #[test]
    fn every_invalid_parameter_is_named() {
        let error =
            parse(Some("from=yesterday&limit=0&order=up&colour=red&cursor=zzz"), Route::List, &caller("alice", &[]))
                .expect_err("invalid");
        assert_eq!(error.status(), 422);
        assert_eq!(fields(&error), ["from", "limit", "order", "colour", "cursor"]);
    }

    #[test]
    fn an_empty_or_reversed_time_range_is_refused_on_to() {
        let error =
            parse(Some("from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z"), Route::Export, &caller("alice", &[]))
                .expect_err("invalid");
        assert_eq!(fields(&error), ["to"]);
    }

    #[test]
    fn each_route_accepts_only_its_own_parameters() {
        let error = parse(Some("cursor=x&limit=5"), Route::Export, &caller("alice", &[])).expect_err("invalid");
        assert_eq!(fields(&error), ["cursor", "limit"]);
        let error = parse(Some("task_id=t1"), Route::Verify, &caller("alice", &[])).expect_err("invalid");
        assert_eq!(fields(&error), ["task_id"]);
    }
}
