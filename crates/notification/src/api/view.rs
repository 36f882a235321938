//! The JSON shapes of the inbox API.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::store::{Delivery, InboxItem, Snoozed};

/// One notification.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NotificationView {
    /// Its id.
    pub id: Uuid,
    /// The reminder (task-api's `reminder_id`).
    pub reminder_id: Uuid,
    /// 0, then +1 per snooze.
    pub generation: u32,
    /// The task.
    pub task_id: Uuid,
    /// The task's title when the reminder fired.
    pub title: String,
    /// The reminder's instant.
    #[schema(value_type = String, format = DateTime)]
    pub remind_at: DateTime<Utc>,
    /// The task's due instant.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<DateTime<Utc>>,
    /// When it fired.
    #[schema(value_type = String, format = DateTime)]
    pub fired_at: DateTime<Utc>,
    /// It fired late (the service was down at its time).
    pub late: bool,
    /// Whether the user read it.
    pub read: bool,
    /// When the user read it.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub read_at: Option<DateTime<Utc>>,
}

impl From<InboxItem> for NotificationView {
    fn from(item: InboxItem) -> Self {
        Self {
            id: item.id,
            reminder_id: item.reminder_id,
            generation: item.generation,
            task_id: item.task_id,
            title: item.title,
            remind_at: item.remind_at,
            due_at: item.due_at,
            fired_at: item.fired_at,
            late: item.late,
            read: item.read_at.is_some(),
            read_at: item.read_at,
        }
    }
}

/// A notification with how each of its channels fared.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NotificationDetail {
    /// The notification.
    #[serde(flatten)]
    pub notification: NotificationView,
    /// One per target: the inbox, email, each webhook endpoint.
    pub deliveries: Vec<DeliveryView>,
}

/// One target's delivery of a notification.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct DeliveryView {
    /// `inbox`, `email` or `webhook:<endpoint id>`.
    pub target: String,
    /// `inbox`, `email` or `webhook`.
    pub channel: String,
    /// `pending`, `retrying`, `delivered`, `failed` or `disabled`.
    pub state: String,
    /// Attempts made.
    pub attempts: u32,
    /// When a retry is due.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last failure.
    pub last_error: Option<String>,
    /// When it was delivered.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub delivered_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            target: d.target,
            channel: d.channel,
            state: d.state.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            last_error: d.last_error,
            delivered_at: d.delivered_at,
        }
    }
}

/// A page of notifications, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct NotificationPage {
    /// The notifications.
    pub items: Vec<NotificationView>,
    /// Pass as `cursor` for the next page; absent on the last.
    pub next_cursor: Option<String>,
}

/// The unread count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct UnreadCount {
    /// Notifications not read yet.
    pub unread: i64,
}

/// A snooze: exactly one of `until` and `for`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnoozeRequest {
    /// Deliver again at this instant (RFC 3339).
    #[schema(format = DateTime, example = "2026-03-01T09:30:00Z")]
    pub until: Option<String>,
    /// Deliver again after this long (ISO 8601: `PT10M`, `PT1H`, `P1D`).
    #[serde(rename = "for")]
    #[schema(example = "PT10M")]
    pub r#for: Option<String>,
}

/// The delivery a snooze scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
pub struct SnoozedView {
    /// The reminder.
    pub reminder_id: Uuid,
    /// The generation that will be delivered.
    pub generation: u32,
    /// When.
    #[schema(value_type = String, format = DateTime)]
    pub fire_at: DateTime<Utc>,
}

impl From<Snoozed> for SnoozedView {
    fn from(s: Snoozed) -> Self {
        Self { reminder_id: s.reminder_id, generation: s.generation, fire_at: s.fire_at }
    }
}
