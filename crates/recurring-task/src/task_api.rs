//! [`TaskApi`]: creating a successor through task-api's `POST /v1/tasks`, as a service acting
//! for the task's owner, and what task-api's answer means.
//!
//! # Decisions
//! - **Exactly once** rests on task-api: it refuses a second task of a series for the same
//!   occurrence (or following the same one) and answers the repeat `200` with the existing
//!   task. The `Idempotency-Key` only makes the request safe for the client to retry after a
//!   timeout (and lets task-api answer a retry from its idempotency record).
//! - **The key** is `recurring-task:<series id>:<completed occurrence>:<digest>`, the digest being
//!   the first 16 hex digits of the SHA-256 of the request body. task-api answers a key reused
//!   with a *different* body with 422; the same occurrence completed, reopened and completed
//!   again later can compute a different body (more occurrences skipped, a completion anchor,
//!   an edited title), which must reach the duplicate check, not that 422. An identical
//!   request (a redelivered event) gets the identical key.
//! - **Answers**: 201 is a new successor, unless it is a replay of an earlier answer to the
//!   same key (`Idempotent-Replayed: true`: a retry whose first attempt succeeded); 200 is the
//!   existing successor. 401 means task-api refused *our* token (a configuration error, not the
//!   event's fault), so it is retried like an outage rather than dead-lettering every
//!   completion; any other 4xx is permanent (the problem document is the reason); no answer,
//!   408, 429 and 5xx are transient ([`ClientError::is_transient`]).

use chrono::SecondsFormat;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use service_runtime::client::{ClientError, ClientSettings, ServiceClient};
use sha2::{Digest as _, Sha256};
use task_domain::Successor;
use uuid::Uuid;

/// The path successors are created at.
const TASKS: &str = "/v1/tasks";
/// The prefix of every idempotency key this service sends.
const KEY_PREFIX: &str = "recurring-task";

/// task-api, as this service calls it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct TaskApi {
    client: ServiceClient,
}

/// What task-api did with a successor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// It created it: this is its id.
    New(Uuid),
    /// It already existed (or this request's key had already created it): its id.
    Existing(Uuid),
}

/// Why a successor could not be created.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    /// The call failed: no answer, or an error status (the body names task-api's reason).
    #[error(transparent)]
    Call(#[from] ClientError),
    /// task-api answered a status that is neither 200 nor 201 (a redirect, 204, …).
    #[error("task-api answered {0} to POST {TASKS}, expected 200 or 201")]
    UnexpectedStatus(StatusCode),
    /// The answer's body is not a task.
    #[error("task-api's answer to POST {TASKS} is not a task")]
    Body(#[source] reqwest::Error),
}

impl CreateError {
    /// Whether the same call may succeed later: see the module docs.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Call(error) => error.is_transient() || error.status() == Some(StatusCode::UNAUTHORIZED),
            Self::UnexpectedStatus(_) => false,
            // The task may exist already: a retry with the same key finds it.
            Self::Body(_) => true,
        }
    }
}

impl TaskApi {
    /// A client with the token source `settings.token` describes (checked now: a missing
    /// base URL or secret fails here, at start-up).
    pub fn new(settings: &ClientSettings) -> Result<Self, ClientError> {
        Ok(Self { client: ServiceClient::new(settings)? })
    }

    /// Creates `successor` for `owner` (the completed task's owner), continuing the trace of
    /// the completion event (`traceparent`).
    #[tracing::instrument(
        skip_all,
        fields(series_id = %successor.series.id, occurrence_at = %successor.series.occurrence_at),
        err(level = tracing::Level::INFO)
    )]
    pub async fn create(
        &self,
        owner: &str,
        traceparent: Option<&str>,
        successor: &Successor,
    ) -> Result<Created, CreateError> {
        let body = successor.body();
        let response = self
            .client
            .post(TASKS)
            .on_behalf_of(owner)
            .idempotency_key(&idempotency_key(successor, &body))
            .traceparent(traceparent)
            .json(&body)
            .send()
            .await?;
        let status = response.status();
        let replayed = response.headers().get("idempotent-replayed").is_some_and(|v| v.as_bytes() == b"true");
        if status != StatusCode::CREATED && status != StatusCode::OK {
            return Err(CreateError::UnexpectedStatus(status));
        }
        #[derive(Deserialize)]
        struct Task {
            id: Uuid,
        }
        let task: Task = response.json().await.map_err(CreateError::Body)?;
        Ok(if status == StatusCode::CREATED && !replayed { Created::New(task.id) } else { Created::Existing(task.id) })
    }
}

/// `recurring-task:<series id>:<completed occurrence>:<16 hex digits of the body's SHA-256>`:
/// at most 96 visible ASCII characters (task-api takes 1 to 200). See the module docs.
pub fn idempotency_key(successor: &Successor, body: &Value) -> String {
    let series = &successor.series;
    let follows =
        series.follows.map_or_else(|| "none".to_owned(), |at| at.to_rfc3339_opts(SecondsFormat::Micros, true));
    let digest = Sha256::digest(body.to_string().as_bytes());
    format!("{KEY_PREFIX}:{}:{follows}:{}", series.id, &hex::encode(digest)[..16])
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use reqwest::Method;
    use task_domain::{NewTask, SeriesPosition};

    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().expect("an instant")
    }

    fn successor(title: &str) -> Successor {
        Successor {
            task: NewTask {
                title: title.into(),
                due_at: Some(at("2030-01-08T08:00:00Z")),
                time_zone: Some("Europe/Berlin".into()),
                ..NewTask::default()
            },
            series: SeriesPosition {
                id: Uuid::parse_str("0191d3a0-0000-7000-8000-000000000001").expect("uuid"),
                start: at("2030-01-07T08:00:00Z"),
                occurrence_at: at("2030-01-08T08:00:00Z"),
                occurrence_number: 2,
                follows: Some(at("2030-01-07T08:00:00Z")),
            },
            skipped: 0,
        }
    }

    fn key(successor: &Successor) -> String {
        idempotency_key(successor, &successor.body())
    }

    #[test]
    fn the_idempotency_key_names_the_series_and_the_completed_occurrence_in_visible_ascii() {
        let key = key(&successor("Water the plants"));

        assert!(
            key.starts_with("recurring-task:0191d3a0-0000-7000-8000-000000000001:2030-01-07T08:00:00.000000Z:"),
            "{key}"
        );
        assert!(!key.is_empty() && key.len() <= 200 && key.bytes().all(|b| b.is_ascii_graphic()), "{key}");
    }

    #[test]
    fn the_same_successor_gets_the_same_key_and_a_different_body_another() {
        assert_eq!(key(&successor("Water the plants")), key(&successor("Water the plants")));
        assert_ne!(
            key(&successor("Water the plants")),
            key(&successor("Water the ferns")),
            "task-api would answer 422 to one key with two bodies"
        );
    }

    fn status(code: u16) -> CreateError {
        CreateError::Call(ClientError::Status {
            method: Method::POST,
            url: "http://task-api/v1/tasks".into(),
            status: StatusCode::from_u16(code).expect("a status"),
            attempts: 1,
            body: "{}".into(),
        })
    }

    #[test]
    fn outages_and_a_refused_token_are_transient_and_other_client_errors_permanent() {
        for code in [401, 408, 429, 500, 502, 503, 504] {
            assert!(status(code).is_transient(), "{code}");
        }
        for code in [400, 403, 404, 409, 412, 422] {
            assert!(!status(code).is_transient(), "{code}");
        }
        assert!(!CreateError::UnexpectedStatus(StatusCode::NO_CONTENT).is_transient());
    }
}
