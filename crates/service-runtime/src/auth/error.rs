//! Why a bearer token was refused ([`AuthError`]), and why the verifier could not be built
//! or a development token minted ([`AuthConfigError`]).

use std::io;
use std::path::PathBuf;

/// Why a request's bearer token was refused. Every variant but [`AuthError::Forbidden`] is a
/// 401; `Forbidden` is a valid token that may not do what it asks (403).
///
/// The messages are for the problem body; [`AuthError::code`] is the stable code sent as
/// `error_description` in the `WWW-Authenticate` challenge (RFC 6750 §3).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization: Bearer …` header (or another scheme, such as `Basic`).
    #[error("the request has no bearer token")]
    Missing,
    /// Not a JWT, a header or claim of the wrong shape, no `exp` or `sub`, or an `alg` or
    /// `crit` this service does not handle.
    #[error("the bearer token is malformed")]
    Malformed,
    /// The signature does not verify with the key(s) the token selects.
    #[error("the bearer token's signature does not verify")]
    BadSignature,
    /// `exp` is in the past, beyond the leeway.
    #[error("the bearer token has expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("the bearer token is not valid yet")]
    NotYetValid,
    /// `iss` is missing or not the configured issuer.
    #[error("the bearer token was not issued by the expected issuer")]
    WrongIssuer,
    /// `aud` is missing or does not include the configured audience.
    #[error("the bearer token is not meant for this audience")]
    WrongAudience,
    /// No configured key can verify the token: an unknown `kid`, or no key at all for its
    /// `alg` (an HS256 token when only public keys are configured, say).
    #[error("no configured key matches the bearer token")]
    UnknownKey,
    /// The token's `sub` (or the user a service acts for) is not a subject every service can
    /// store and show: see [`super::caller::MAX_SUBJECT_BYTES`]. The message says why.
    #[error("{0}")]
    InvalidSubject(String),
    /// A valid token that may not make this request (a service token acting for nobody, or
    /// without the on-behalf scope). The message says why.
    #[error("{0}")]
    Forbidden(String),
}

impl AuthError {
    /// A short, stable code (`expired`, `bad_signature`, …) for the `error_description` of
    /// the `WWW-Authenticate` challenge and for logs; clients may branch on it.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "missing_token",
            Self::Malformed => "malformed_token",
            Self::BadSignature => "bad_signature",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::UnknownKey => "unknown_key",
            Self::InvalidSubject(_) => "invalid_subject",
            Self::Forbidden(_) => "forbidden",
        }
    }

    /// Whether this is a 403 (the token is valid but not allowed) rather than a 401.
    pub fn is_forbidden(&self) -> bool {
        matches!(self, Self::Forbidden(_))
    }

    /// The `WWW-Authenticate` challenge for this error (RFC 6750 §3): no error code when the
    /// request carried no bearer token (§3.1), `invalid_token` for a refused token, and
    /// `insufficient_scope` for a valid one that may not do this.
    pub fn challenge(&self) -> String {
        let error = match self {
            Self::Missing => return format!("Bearer realm=\"{REALM}\""),
            Self::Forbidden(_) => "insufficient_scope",
            _ => "invalid_token",
        };
        format!("Bearer realm=\"{REALM}\", error=\"{error}\", error_description=\"{}\"", self.code())
    }
}

/// The `realm` of the bearer challenge.
const REALM: &str = "taskstream";

/// The auth settings cannot be used: no key, an unreadable or invalid key, or (when minting a
/// development token) no secret. Reported at startup, before the service accepts requests.
#[derive(Debug, thiserror::Error)]
pub enum AuthConfigError {
    /// Neither an HS256 secret nor a public key is configured.
    #[error("auth: no verification key is configured; set auth.hs256_secret, auth.public_keys or auth.jwks_file")]
    NoKeys,
    /// Minting a development token needs `auth.hs256_secret`.
    #[error("auth.hs256_secret is not set; development tokens are signed with it")]
    NoSecret,
    /// The HS256 secret is shorter than the hash (RFC 7518 §3.2 requires at least 256 bits).
    #[error("auth.hs256_secret must be at least {min} bytes long (got {len})")]
    WeakSecret {
        /// Its length in bytes.
        len: usize,
        /// The minimum.
        min: usize,
    },
    /// A `public_keys` entry has both `pem` and `pem_file`, or neither.
    #[error("auth.public_keys[{index}]: set exactly one of `pem` and `pem_file`")]
    PemSource {
        /// Index of the entry.
        index: usize,
    },
    /// A key file or the JWKS file cannot be read.
    #[error("{origin}: cannot read {}", path.display())]
    ReadFile {
        /// The setting that names the file.
        origin: String,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The JWKS file is not a JSON Web Key Set.
    #[error("auth.jwks_file {}: not a JWK set (RFC 7517 §5)", path.display())]
    InvalidJwks {
        /// The file.
        path: PathBuf,
        /// Why it does not parse.
        #[source]
        source: serde_json::Error,
    },
    /// The JWKS file holds no RS256 or EdDSA signing key.
    #[error("auth.jwks_file {}: no RS256 or EdDSA signing key", path.display())]
    EmptyJwks {
        /// The file.
        path: PathBuf,
    },
    /// A configured key is not a usable public key for its algorithm.
    #[error("{origin}: {reason}")]
    InvalidKey {
        /// The setting (and `kid`) it came from, e.g. `auth.public_keys[0]`.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `leeway_seconds` is beyond any honest clock skew (and would overflow the time checks).
    #[error("auth.leeway_seconds must be at most {max} (got {seconds})")]
    LeewayTooLarge {
        /// The configured leeway.
        seconds: u64,
        /// The largest accepted.
        max: u64,
    },
    /// A development token's subject is empty.
    #[error("the token subject must not be empty")]
    EmptySubject,
    /// Signing the development token failed.
    #[error("cannot sign the development token")]
    Sign(#[source] jsonwebtoken::errors::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_invalid_token_is_challenged_with_invalid_token_and_its_code() {
        assert_eq!(
            AuthError::Expired.challenge(),
            r#"Bearer realm="taskstream", error="invalid_token", error_description="expired""#
        );
    }

    #[test]
    fn a_missing_token_is_challenged_without_an_error_code() {
        assert_eq!(AuthError::Missing.challenge(), r#"Bearer realm="taskstream""#);
    }

    #[test]
    fn a_forbidden_token_is_challenged_with_insufficient_scope() {
        let error = AuthError::Forbidden("no".to_owned());
        assert!(error.is_forbidden());
        assert_eq!(
            error.challenge(),
            r#"Bearer realm="taskstream", error="insufficient_scope", error_description="forbidden""#
        );
    }
}
