//! The [`Caller`] extractor: verifies `Authorization: Bearer <token>` with the state's
//! [`Verifier`] (and, for a service, the user it names in [`ON_BEHALF_OF_HEADER`]), or answers
//! with the problem (401 with a `WWW-Authenticate` challenge, or 403).

use std::borrow::Cow;

use axum::extract::{FromRef, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;

use super::caller::{Caller, ON_BEHALF_OF_HEADER};
use super::error::AuthError;
use super::verifier::Verifier;
use crate::problem::ApiError;

impl<S> FromRequestParts<S> for Caller
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let verifier = Verifier::from_ref(state);
        let on_behalf_of = on_behalf_of(&parts.headers);
        bearer_token(&parts.headers).and_then(|token| verifier.verify_request(token, on_behalf_of.as_deref())).map_err(
            |error| {
                // Never the token itself: it may be valid elsewhere.
                tracing::debug!(code = error.code(), "bearer token refused");
                ApiError::unauthorized(error)
            },
        )
    }
}

/// The request's [`ON_BEHALF_OF_HEADER`], if any, for [`Verifier::verify_request`] to judge.
/// Repeated headers are joined as RFC 9110 §5.3 combines them (`a, b`) and bytes that are not
/// ASCII are kept (lossily): neither is a valid user id, so either is refused with the reason
/// an invalid value gets, and only after the token itself was checked.
fn on_behalf_of(headers: &HeaderMap) -> Option<Cow<'_, str>> {
    let mut values = headers.get_all(ON_BEHALF_OF_HEADER).iter().map(|v| String::from_utf8_lossy(v.as_bytes()));
    let first = values.next()?;
    Some(values.fold(first, |joined, next| Cow::Owned(format!("{joined}, {next}"))))
}

/// The token of the request's single `Authorization: Bearer` header. Another scheme counts as
/// no token (RFC 6750 §3.1); an empty, repeated or unreadable one as a malformed token.
fn bearer_token(headers: &HeaderMap) -> Result<&str, AuthError> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next().ok_or(AuthError::Missing)?;
    if values.next().is_some() {
        return Err(AuthError::Malformed);
    }
    let value = value.to_str().map_err(|_| AuthError::Malformed)?.trim();
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    // Authentication schemes are case-insensitive (RFC 9110 §11.1).
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::Missing);
    }
    let token = token.trim_start_matches(' ');
    if token.is_empty() || token.contains(|c: char| c.is_ascii_whitespace()) {
        return Err(AuthError::Malformed);
    }
    Ok(token)
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::header::{CONTENT_TYPE, WWW_AUTHENTICATE};
    use axum::http::{HeaderValue, Request, StatusCode};
    use axum::response::{IntoResponse, Response};
    use serde_json::{Value, json};

    use super::*;
    use crate::auth::caller::{Actor, ON_BEHALF_SCOPE};
    use crate::auth::test_support::{hs256_settings, hs256_token, now};

    async fn extract(authorization: &[&str]) -> Result<Caller, Response> {
        extract_with(authorization, &[]).await
    }

    async fn extract_with(authorization: &[&str], on_behalf_of: &[&[u8]]) -> Result<Caller, Response> {
        let mut request = Request::builder().uri("/tasks");
        for value in authorization {
            request = request.header(AUTHORIZATION, *value);
        }
        for value in on_behalf_of {
            request = request.header(ON_BEHALF_OF_HEADER, HeaderValue::from_bytes(value).expect("a header value"));
        }
        let (mut parts, ()) = request.body(()).expect("a request").into_parts();
        let verifier = Verifier::new(&hs256_settings()).expect("a verifier");
        Caller::from_request_parts(&mut parts, &verifier).await.map_err(IntoResponse::into_response)
    }

    async fn refusal(authorization: &[&str]) -> (StatusCode, String, Value) {
        refusal_with(authorization, &[]).await
    }

    async fn refusal_with(authorization: &[&str], on_behalf_of: &[&[u8]]) -> (StatusCode, String, Value) {
        let response = extract_with(authorization, on_behalf_of).await.expect_err("refused");
        let challenge = response.headers().get(WWW_AUTHENTICATE).map_or("", |v| v.to_str().expect("ASCII"));
        let challenge = challenge.to_owned();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/problem+json");
        let status = response.status();
        let body = to_bytes(response.into_body(), 64 * 1024).await.expect("a body");
        (status, challenge, serde_json::from_slice(&body).expect("JSON"))
    }

    #[tokio::test]
    async fn a_request_without_a_bearer_token_gets_401_with_a_bearer_challenge() {
        for authorization in [&[][..], &["Basic YWxpY2U6c2VjcmV0"]] {
            let (status, challenge, body) = refusal(authorization).await;

            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(challenge, r#"Bearer realm="taskstream""#);
            assert_eq!(
                body,
                json!({
                    "type": "about:blank",
                    "title": "Unauthorized",
                    "status": 401,
                    "detail": "the request has no bearer token",
                })
            );
        }
    }

    #[tokio::test]
    async fn a_garbled_authorization_header_gets_401_invalid_token() {
        for authorization in [&["Bearer"][..], &["Bearer not.a.jwt"], &["Bearer a b"], &["Bearer x", "Bearer y"]] {
            let (status, challenge, body) = refusal(authorization).await;

            assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
            assert_eq!(
                challenge,
                r#"Bearer realm="taskstream", error="invalid_token", error_description="malformed_token""#
            );
            assert_eq!(body["detail"], "the bearer token is malformed");
        }
    }

    #[tokio::test]
    async fn an_expired_token_gets_401_naming_the_reason_in_the_challenge() {
        let token = hs256_token(&json!({ "sub": "alice", "exp": now() - 600 }));

        let (status, challenge, _) = refusal(&[&format!("Bearer {token}")]).await;

        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(challenge.ends_with(r#"error="invalid_token", error_description="expired""#), "{challenge}");
    }

    #[tokio::test]
    async fn a_service_token_without_the_on_behalf_scope_gets_403() {
        let token = hs256_token(&json!({ "sub": "service:recurring-task", "act_for": "alice", "exp": now() + 60 }));

        let (status, challenge, body) = refusal(&[&format!("Bearer {token}")]).await;

        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(challenge.contains(r#"error="insufficient_scope""#), "{challenge}");
        assert_eq!(body["title"], "Forbidden");
    }

    #[tokio::test]
    async fn a_valid_bearer_token_yields_the_caller_whatever_the_scheme_case() {
        let token = hs256_token(&json!({ "sub": "alice", "exp": now() + 60 }));

        let caller = extract(&[&format!("bearer {token}")]).await.expect("accepted");

        assert_eq!(caller.user_id, "alice");
    }

    fn service_bearer(claims: Value) -> String {
        let mut claims = claims;
        claims["sub"] = json!("service:recurring-task");
        claims["exp"] = json!(now() + 60);
        format!("Bearer {}", hs256_token(&claims))
    }

    #[tokio::test]
    async fn a_service_token_with_the_scope_acts_for_the_user_in_x_on_behalf_of() {
        let bearer = service_bearer(json!({ "scope": ON_BEHALF_SCOPE }));

        let caller = extract_with(&[&bearer], &[b"alice"]).await.expect("accepted");

        assert_eq!(caller.user_id, "alice");
        assert_eq!(caller.actor, Actor::Service("service:recurring-task".into()));
    }

    #[tokio::test]
    async fn x_on_behalf_of_with_a_user_token_or_without_the_scope_gets_403_saying_why() {
        let user = format!("Bearer {}", hs256_token(&json!({ "sub": "mallory", "exp": now() + 60 })));
        let no_scope = service_bearer(json!({}));

        let (status, challenge, body) = refusal_with(&[&user], &[b"alice"]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(challenge.contains(r#"error="insufficient_scope""#), "{challenge}");
        assert!(body["detail"].as_str().is_some_and(|d| d.contains("only a service token")), "{body}");

        let (status, _, body) = refusal_with(&[&no_scope], &[b"alice"]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        assert!(body["detail"].as_str().is_some_and(|d| d.contains(ON_BEHALF_SCOPE)), "{body}");
    }

    #[tokio::test]
    async fn an_empty_repeated_non_ascii_or_service_x_on_behalf_of_gets_403() {
        let bearer = service_bearer(json!({ "scope": ON_BEHALF_SCOPE }));

        let cases: [(&[&[u8]], &str); 4] = [
            (&[b""], "visible ASCII"),
            (&[b"alice", b"bob"], "visible ASCII"),
            (&["élise".as_bytes()], "visible ASCII"),
            (&[b"service:audit"], "not a service"),
        ];
        for (header, reason) in cases {
            let (status, _, body) = refusal_with(&[&bearer], header).await;

            assert_eq!(status, StatusCode::FORBIDDEN, "{header:?}");
            assert!(body["detail"].as_str().is_some_and(|d| d.contains(reason)), "{header:?}: {body}");
        }
    }

    #[tokio::test]
    async fn a_bad_token_gets_401_even_with_x_on_behalf_of() {
        let expired = hs256_token(&json!({ "sub": "service:a", "scope": ON_BEHALF_SCOPE, "exp": now() - 600 }));

        let (status, _, _) = refusal_with(&[&format!("Bearer {expired}")], &[b"service:b"]).await;

        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
}
