//! Bearer-token (JWT) verification, the caller identity, and development tokens, shared by
//! every service with an HTTP API so that they all accept and refuse the same tokens and
//! answer a refusal the same way.
//!
//! A service embeds [`AuthSettings`] as the `auth` section of its settings (the error
//! messages name the keys `auth.hs256_secret`, `auth.public_keys`, …), builds one
//! [`Verifier`] at startup and puts it in its router state. A request's `Authorization:
//! Bearer <JWT>` then becomes a [`Caller`] through the axum extractor (`Caller:
//! FromRequestParts<S>` whenever `Verifier: FromRef<S>`); a refused token becomes a
//! [`crate::problem::ApiError`]: 401 with an RFC 6750 `WWW-Authenticate` challenge, or 403
//! for a valid token that may not act.
//!
//! # Layout
//! - `settings`: [`AuthSettings`], [`PublicKeySetting`], [`PublicKeyAlgorithm`].
//! - `keys`: loading and checking the keys once (secret, PEMs, JWKS file); which keys may
//!   verify a token.
//! - `verifier`: [`Verifier`]: signature and registered claims, then the caller.
//! - `caller`: [`Caller`], [`Actor`], the role and scope names, the on-behalf header, and
//!   the claims they are read from.
//! - `extract`: the axum extractor.
//! - `dev_token`: [`mint_dev_token`].
//! - `testing` (tests, and the `testing` feature): a test secret, settings and tokens.
//! - `error`: [`AuthError`] (per request), [`AuthConfigError`] (at startup).
//!
//! # Decisions
//! - **Algorithms**: HS256 (with `hs256_secret`, at least 32 bytes), RS256 (RSA keys of
//!   2048–4096 bits) and EdDSA (Ed25519). A token is only ever checked with keys configured
//!   for its own `alg`, so a public key can never serve as an HMAC secret. Another JOSE
//!   algorithm (HS384, ES256, …) finds no key (`unknown_key`); `none` or an unknown name is
//!   a `malformed_token`.
//! - **Key choice**: a token with a `kid` is checked with the keys of that `kid`, then with
//!   keys configured without a `kid` (a PEM key without `kid` accepts any); no candidate is
//!   `unknown_key`. A token without `kid` is tried against every key of its algorithm. The
//!   single HS256 secret ignores `kid`. Keys are loaded and checked at startup (a private key
//!   where a public one belongs, the wrong algorithm, a short key are startup errors); JWKS
//!   keys for encryption or other algorithms are skipped, and the file is read once (restart
//!   to rotate).
//! - **Registered claims**: `exp` is required; `nbf` is checked when present; both with
//!   `leeway_seconds` (at most 300). `iss` and `aud` are required and checked only when `issuer` /
//!   `audience` are configured; otherwise any (or none) is accepted. A `crit` header is
//!   refused: no taskstream service understands a JWS extension.
//! - **Identity**: `sub` (required, non-empty) is the user. `scope` (space-separated) and
//!   `scp` (array, or space-separated string) are merged into [`Caller::scopes`]; `roles`
//!   (array of strings) into [`Caller::roles`]; [`Caller::is_admin`] checks for
//!   [`ADMIN_ROLE`] (`admin`).
//! - **Services** are recognised by the `sub` prefix `service:` (e.g.
//!   `service:recurring-task`), not by a claim such as `token_use`: the identity is then
//!   visible in every log and audit record, and no user id can look like one by accident of
//!   a missing claim. A service token may only call an API *for a user*: it must carry the
//!   scope [`ON_BEHALF_SCOPE`] (`tasks:write_on_behalf`) and name the user, either per
//!   request in the [`ON_BEHALF_OF_HEADER`] header (`X-On-Behalf-Of: alice`) or in the
//!   token's `act_for` claim (a string: the user's `sub`). It then yields `Caller { user_id:
//!   <user>, actor: Actor::Service(<sub>) }`. The header exists because an identity
//!   provider's client-credentials token names the service only: one token then serves every
//!   user, and the scope is what lets the service name them. `act_for` borrows RFC 8693's
//!   idea of an actor distinct from the subject, inverted: RFC 8693 puts the acting party in
//!   `act` and the user in `sub`; here the service stays the subject (its token is its own
//!   credential) and the header or `act_for` names the user.
//! - **Refusals (403, [`AuthError::Forbidden`] with the reason)**: a service token without the
//!   scope, or naming nobody; the header or `act_for` on a user token; a header or `act_for`
//!   naming a service; an empty, repeated or unreadable header (1 to 256 visible ASCII
//!   characters); a header and an `act_for` naming different users. The token is checked
//!   first, so a bad token is still a 401 whatever the header says.
//! - **Roles** are the bearer's own: a service acting for a user keeps the service's roles.
//! - **Challenges**: no token → `Bearer realm="taskstream"` (RFC 6750 §3.1: no error
//!   code); a refused token → `error="invalid_token", error_description="<code>"` with the
//!   stable [`AuthError::code`]; a forbidden one → `error="insufficient_scope"`.
//! - **Development tokens** are HS256 with the configured secret, so a deployment with only
//!   public keys cannot accept them.

mod caller;
mod dev_token;
mod error;
mod extract;
mod keys;
mod settings;
#[cfg(test)]
mod test_support;
#[cfg(any(test, feature = "testing"))]
pub mod testing;
mod verifier;

pub use caller::{
    ADMIN_ROLE, Actor, Caller, MAX_SUBJECT_BYTES, ON_BEHALF_OF_HEADER, ON_BEHALF_SCOPE, SERVICE_SUBJECT_PREFIX,
    check_subject,
};
pub use dev_token::mint_dev_token;
pub use error::{AuthConfigError, AuthError};
pub use settings::{AuthSettings, PublicKeyAlgorithm, PublicKeySetting};
pub use verifier::Verifier;
