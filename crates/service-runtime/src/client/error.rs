//! Why a call failed ([`ClientError`]) or no token could be had ([`TokenError`]). Neither
//! message ever holds a token or a secret; both say whether trying again later may help.

use std::io;
use std::path::PathBuf;

use reqwest::{Method, StatusCode};

use crate::auth::AuthConfigError;

/// Why a service call failed, after the retries its request allowed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The settings cannot be used (no base URL, an unreadable CA file, …).
    #[error("client settings: {0}")]
    Settings(String),
    /// The HTTP client could not be built (TLS set-up).
    #[error("cannot build the HTTP client")]
    Build(#[source] reqwest::Error),
    /// The request itself is invalid: a path or header value that is not one, a body that
    /// does not serialise. Never sent.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// No bearer token could be had for the call.
    #[error("no bearer token for the call")]
    Token(#[from] TokenError),
    /// No response: the connection failed, the attempt timed out, or the exchange broke.
    #[error("{method} {url}: no response after {attempts} attempt(s)")]
    Transport {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: reqwest::Error,
    },
    /// The service answered with an error status (4xx or 5xx) that was not, or no longer,
    /// retried.
    #[error("{method} {url} answered {status} after {attempts} attempt(s): {body}")]
    Status {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// The last answer's status.
        status: StatusCode,
        /// Attempts made.
        attempts: u32,
        /// The start of the answer's body (a problem document, usually), for diagnosis.
        body: String,
    },
    /// The answer's body could not be read or decoded.
    #[error("{method} {url}: cannot read the response body")]
    Body {
        /// The request's method.
        method: Method,
        /// The request's URL.
        url: String,
        /// Why.
        #[source]
        source: reqwest::Error,
    },
}

impl ClientError {
    /// Whether the same call may succeed later: no response, 408, 429 or a 5xx, or a token
    /// that could not be had for such a reason. A consumer retries the message then, and
    /// dead-letters it otherwise.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Transport { .. } => true,
            Self::Status { status, .. } => transient_status(*status),
            Self::Token(error) => error.is_transient(),
            Self::Settings(_) | Self::Build(_) | Self::InvalidRequest(_) | Self::Body { .. } => false,
        }
    }

    /// The status the service answered with, for [`ClientError::Status`].
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Why the calling service has no token.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The token settings cannot be used (a missing `token_url`, `client_id`, file path, …).
    #[error("token settings: {0}")]
    Settings(String),
    /// A development token could not be minted (no or a short secret).
    #[error("cannot mint the development token")]
    Development(#[from] AuthConfigError),
    /// The token endpoint could not be reached, or did not answer in time.
    #[error("token endpoint {url}: no response")]
    Request {
        /// The token endpoint.
        url: String,
        /// The transport error.
        #[source]
        source: reqwest::Error,
    },
    /// The token endpoint refused (RFC 6749 §5.2: `invalid_client`, `invalid_scope`, …).
    #[error(
        "token endpoint {url} answered {status}{}{}",
        error.as_deref().map(|e| format!(": {e}")).unwrap_or_default(),
        description.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )]
    Refused {
        /// The token endpoint.
        url: String,
        /// Its status.
        status: StatusCode,
        /// The OAuth `error` code, when the body had one.
        error: Option<String>,
        /// The OAuth `error_description`, when the body had one.
        description: Option<String>,
    },
    /// The token endpoint answered 2xx with something that is not a usable token response.
    #[error("token endpoint {url}: invalid token response: {reason}")]
    InvalidResponse {
        /// The token endpoint.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The token file cannot be read.
    #[error("cannot read the token file {}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// The token file is empty.
    #[error("the token file {} is empty", path.display())]
    EmptyFile {
        /// The file.
        path: PathBuf,
    },
}

impl TokenError {
    /// Whether asking again later may give a token: the endpoint was unreachable or answered
    /// 408, 429 or 5xx, or the token file is not (yet) readable.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Request { .. } | Self::ReadFile { .. } => true,
            Self::Refused { status, .. } => transient_status(*status),
            Self::Settings(_) | Self::Development(_) | Self::InvalidResponse { .. } | Self::EmptyFile { .. } => false,
        }
    }
}

fn transient_status(status: StatusCode) -> bool {
    status == StatusCode::REQUEST_TIMEOUT || status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error()
}
