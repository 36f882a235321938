//! One webhook attempt: the payload, the Standard Webhooks headers, the guarded request, and
//! how the answer (or its absence) becomes an [`Attempt`].

use std::error::Error as _;
use std::time::{Duration, SystemTime};

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;
use uuid::Uuid;

use super::guard::{Guard, Refused};
use super::retry::parse_retry_after;
use super::settings::WebhookSettings;
use super::signing::{signature_header, webhook_id};
use super::{Attempt, ChannelError, ENDPOINTS_DISABLED, Message, Target};
use crate::endpoints::Store;

/// The event type of a reminder delivery.
pub const REMINDER_DUE: &str = "reminder.due";

/// The JSON body: `type`, `timestamp` (when the reminder fired: the same for every attempt,
/// so the body and its signature input only differ by `webhook-timestamp`), `data`.
#[derive(Debug, Serialize)]
pub(crate) struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    timestamp: DateTime<Utc>,
    data: PayloadData<'a>,
}

/// `data` of a [`Payload`]: the reminder.
#[derive(Debug, Serialize)]
struct PayloadData<'a> {
    reminder_id: Uuid,
    task_id: Uuid,
    user_id: &'a str,
    title: &'a str,
    remind_at: DateTime<Utc>,
    due_at: Option<DateTime<Utc>>,
    fired_at: DateTime<Utc>,
    late: bool,
    generation: u32,
}

impl<'a> Payload<'a> {
    pub(crate) fn of(message: &'a Message) -> Self {
        Self {
            kind: REMINDER_DUE,
            timestamp: message.fired_at,
            data: PayloadData {
                reminder_id: message.reminder_id,
                task_id: message.task_id,
                user_id: &message.user_id,
                title: &message.title,
                remind_at: message.remind_at,
                due_at: message.due_at,
                fired_at: message.fired_at,
                late: message.late,
                generation: message.generation,
            },
        }
    }
}

/// Sends webhooks: one HTTP client (pooled connections) whose resolver is the guard's.
#[derive(Debug)]
pub(super) struct Sender {
    client: reqwest::Client,
    guard: Guard,
    timeout: Duration,
    store: Store,
}

impl Sender {
    pub(super) fn new(settings: &WebhookSettings, store: Store) -> Result<Self, ChannelError> {
        let guard = Guard { allow_http: settings.allow_http, allow_private: settings.allow_private };
        let client = reqwest::Client::builder()
            .dns_resolver(guard.resolver())
            // A proxy would resolve the name itself, behind the guard's back.
            .no_proxy()
            // A redirect could lead anywhere, including where the guard refuses to go.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("taskstream-notification/", env!("CARGO_PKG_VERSION")))
            .timeout(settings.timeout())
            .build()
            .map_err(|e| ChannelError::InvalidSettings(format!("building the webhook client: {e}")))?;
        Ok(Self { client, guard, timeout: settings.timeout(), store })
    }

    pub(super) async fn deliver(&self, endpoint_id: Uuid, target: &Target, message: &Message) -> Attempt {
        let endpoint = match self.store.delivery_endpoint(endpoint_id).await {
            Ok(Some(endpoint)) => endpoint,
            Ok(None) => return Attempt::Disabled { reason: "the endpoint was deleted".into() },
            Err(error) => return Attempt::Retry { after: None, reason: format!("reading the endpoint: {error}") },
        };
        if endpoint.user_id != message.user_id {
            // A crossed record must never send one user's reminder to another's endpoint.
            return Attempt::Failed { reason: "the endpoint belongs to another user".into() };
        }
        if !endpoint.enabled {
            let reason = endpoint.disabled_reason.unwrap_or_else(|| "disabled".into());
            return Attempt::Disabled { reason: format!("the endpoint is disabled: {reason}") };
        }
        let url = match self.guard.check_url(&endpoint.url) {
            Ok(url) => url,
            Err(refused) => return Attempt::Failed { reason: format!("destination refused: {refused}") },
        };
        let body = match serde_json::to_vec(&Payload::of(message)) {
            Ok(body) => body,
            Err(error) => return Attempt::Failed { reason: format!("encoding the payload: {error}") },
        };
        let id = webhook_id(message.reminder_id, message.generation, &target.key);
        let timestamp = Utc::now().timestamp();
        let signature = signature_header(&endpoint.secrets, &id, timestamp, &body);
        let sent = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header("webhook-id", &id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => return self.unanswered(&error),
        };
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_retry_after(v, SystemTime::now()));
        // The body is not read: receivers are to answer quickly, and nothing in it matters.
        drop(response);
        let outcome = classify(status, retry_after);
        if let Attempt::Disabled { reason } = &outcome {
            match self.store.disable(endpoint_id, reason).await {
                Ok(true) => metrics::counter!(ENDPOINTS_DISABLED).increment(1),
                Ok(false) => {}
                Err(error) => tracing::error!(error = ?error, %endpoint_id, "could not mark the endpoint disabled"),
            }
        }
        outcome
    }

    /// No answer: timed out, refused by the guard, or the connection failed.
    fn unanswered(&self, error: &reqwest::Error) -> Attempt {
        match refusal(error) {
            // The resolver failing is no verdict on the destination: try again later.
            Some(unresolvable @ Refused::Unresolvable { .. }) => {
                return Attempt::Retry { after: None, reason: unresolvable.to_string() };
            }
            Some(refused) => return Attempt::Failed { reason: format!("destination refused: {refused}") },
            None => {}
        }
        if error.is_timeout() {
            return Attempt::Retry { after: None, reason: format!("no answer within {} ms", self.timeout.as_millis()) };
        }
        Attempt::Retry { after: None, reason: format!("request failed: {}", chain(error)) }
    }
}

/// What an answer's status means.
fn classify(status: StatusCode, retry_after: Option<Duration>) -> Attempt {
    let answered = |status: StatusCode| {
        format!("the receiver answered {} {}", status.as_u16(), status.canonical_reason().unwrap_or(""))
            .trim_end()
            .to_owned()
    };
    match status {
        s if s.is_success() => Attempt::Delivered,
        StatusCode::GONE => Attempt::Disabled { reason: answered(status) },
        StatusCode::TOO_MANY_REQUESTS | StatusCode::REQUEST_TIMEOUT => {
            Attempt::Retry { after: retry_after, reason: answered(status) }
        }
        s if s.is_server_error() => Attempt::Retry { after: retry_after, reason: answered(status) },
        s if s.is_redirection() => {
            Attempt::Failed { reason: format!("{} (redirects are not followed)", answered(status)) }
        }
        _ => Attempt::Failed { reason: answered(status) },
    }
}

/// The guard's refusal, if that is why the request failed (it travels as the resolver's error).
fn refusal(error: &reqwest::Error) -> Option<&Refused> {
    let mut source = error.source();
    while let Some(cause) = source {
        if let Some(refused) = cause.downcast_ref::<Refused>() {
            return Some(refused);
        }
        source = cause.source();
    }
    None
}

/// The error and its causes, `: `-separated.
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_410_throttling_server_errors_and_other_client_errors_are_told_apart() {
        let after = Some(Duration::from_secs(3));

        assert_eq!(classify(StatusCode::NO_CONTENT, None), Attempt::Delivered);
        assert!(matches!(classify(StatusCode::GONE, None), Attempt::Disabled { .. }));
        assert!(matches!(classify(StatusCode::TOO_MANY_REQUESTS, after), Attempt::Retry { after: Some(_), .. }));
        assert!(matches!(classify(StatusCode::BAD_GATEWAY, None), Attempt::Retry { after: None, .. }));
        assert!(matches!(classify(StatusCode::NOT_FOUND, None), Attempt::Failed { .. }));
        assert!(matches!(classify(StatusCode::MOVED_PERMANENTLY, None), Attempt::Failed { .. }));
    }

    #[test]
    fn the_payload_has_the_type_the_firing_time_and_the_reminder() {
        let message = Message {
            reminder_id: Uuid::now_v7(),
            user_id: "alice".into(),
            task_id: Uuid::now_v7(),
            title: "Pay rent".into(),
            remind_at: Utc::now(),
            due_at: None,
            fired_at: Utc::now(),
            late: true,
            generation: 2,
        };

        let json = serde_json::to_value(Payload::of(&message)).expect("JSON");

        assert_eq!(json["type"], "reminder.due");
        assert_eq!(json["timestamp"], serde_json::to_value(message.fired_at).expect("JSON"));
        assert_eq!(json["data"]["reminder_id"], message.reminder_id.to_string());
        assert_eq!(json["data"]["title"], "Pay rent");
        assert_eq!(json["data"]["late"], true);
        assert_eq!(json["data"]["generation"], 2);
        assert_eq!(json["data"]["due_at"], serde_json::Value::Null);
    }
}
