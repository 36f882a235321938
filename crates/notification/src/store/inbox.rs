//! The in-app inbox: one notification per fired (reminder, generation), written in the
//! transaction that records its delivery; listed newest first, marked read, counted, snoozed.

use chrono::{DateTime, Utc};
use service_runtime::database::{Arg, Row, Tx};
use uuid::Uuid;

use super::schedule::Entry;
use super::{Store, sql};

/// One notification.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxItem {
    /// Its id (UUIDv7: ids sort by creation).
    pub id: Uuid,
    /// The reminder.
    pub reminder_id: Uuid,
    /// The reminder's generation (0, then +1 per snooze).
    pub generation: u32,
    /// The task.
    pub task_id: Uuid,
    /// The task's title when it fired.
    pub title: String,
    /// The reminder's instant.
    pub remind_at: DateTime<Utc>,
    /// The task's due instant.
    pub due_at: Option<DateTime<Utc>>,
    /// When it fired.
    pub fired_at: DateTime<Utc>,
    /// Fired late (after downtime).
    pub late: bool,
    /// When the user read it.
    pub read_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str = "id, reminder_id, generation, task_id, title, remind_at, due_at, fired_at, late, read_at";

impl InboxItem {
    fn from_row(row: &Row) -> Result<Self, sqlx::Error> {
        Ok(Self {
            id: row.uuid("id")?,
            reminder_id: row.uuid("reminder_id")?,
            generation: row.int("generation")?,
            task_id: row.uuid("task_id")?,
            title: row.text("title")?,
            remind_at: row.instant("remind_at")?,
            due_at: row.opt_instant("due_at")?,
            fired_at: row.instant("fired_at")?,
            late: row.bool("late")?,
            read_at: row.opt_instant("read_at")?,
        })
    }
}

/// A listing of one user's notifications.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboxQuery {
    /// Whose.
    pub user_id: String,
    /// Only those not read yet.
    pub unread_only: bool,
    /// At most this many.
    pub limit: u32,
    /// Only those older than this one (the previous page's last).
    pub before: Option<Uuid>,
}

/// One page, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxPage {
    /// The notifications.
    pub items: Vec<InboxItem>,
    /// The last one's id when more follow.
    pub next: Option<Uuid>,
}

/// The next delivery a snooze scheduled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Snoozed {
    /// The reminder.
    pub reminder_id: Uuid,
    /// The new generation.
    pub generation: u32,
    /// When it fires.
    pub fire_at: DateTime<Utc>,
}

/// Why a snooze was refused.
#[derive(Debug, thiserror::Error)]
pub enum SnoozeError {
    /// No such notification of this user.
    #[error("no such notification")]
    NotFound,
    /// The reminder was snoozed already, is still being delivered, or was cancelled.
    #[error("{0}")]
    Conflict(&'static str),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// Adds the generation's notification in `tx` (once: a second call adds nothing).
pub(crate) async fn insert(
    tx: &mut Tx,
    entry: &Entry,
    fired_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let statement = sql(
        tx.backend(),
        "INSERT INTO inbox (id, user_id, reminder_id, generation, task_id, title, remind_at, due_at, fired_at, late, \
         read_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?) \
         ON CONFLICT (reminder_id, generation) DO NOTHING",
        [
            Arg::Uuid(Uuid::now_v7()),
            Arg::Text(entry.user_id.clone()),
            Arg::Uuid(entry.reminder_id),
            Arg::Int(i64::from(entry.generation)),
            Arg::Uuid(entry.task_id),
            Arg::Text(entry.title.clone()),
            Arg::Time(entry.remind_at),
            Arg::OptTime(entry.due_at),
            Arg::Time(fired_at),
            Arg::Bool(entry.late),
            Arg::Time(now),
        ],
    );
    tx.execute(statement).await?;
    Ok(())
}

impl Store {
    /// A page of the user's notifications, newest first.
    pub async fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, sqlx::Error> {
        let mut text = format!("SELECT {COLUMNS} FROM inbox WHERE user_id = ?");
        let mut args = vec![Arg::Text(query.user_id.clone())];
        if query.unread_only {
            text.push_str(" AND read_at IS NULL");
        }
        if let Some(before) = query.before {
            text.push_str(" AND id < ?");
            args.push(Arg::Uuid(before));
        }
        text.push_str(" ORDER BY id DESC LIMIT ?");
        args.push(Arg::Int(i64::from(query.limit) + 1));
        let rows = self.pool.fetch_all(sql(self.backend(), &text, args)).await?;
        let mut items = rows.iter().map(InboxItem::from_row).collect::<Result<Vec<_>, _>>()?;
        let more = items.len() > query.limit as usize;
        items.truncate(query.limit as usize);
        let next = if more { items.last().map(|i| i.id) } else { None };
        Ok(InboxPage { items, next })
    }

    /// One of the user's notifications, with its delivery records; `None` when the user has
    /// no such notification.
    pub async fn notification(
        &self,
        user_id: &str,
        id: Uuid,
    ) -> Result<Option<(InboxItem, Vec<super::Delivery>)>, sqlx::Error> {
        let text = format!("SELECT {COLUMNS} FROM inbox WHERE id = ? AND user_id = ?");
        let row =
            self.pool.fetch_optional(sql(self.backend(), &text, [Arg::Uuid(id), Arg::Text(user_id.into())])).await?;
        let Some(item) = row.as_ref().map(InboxItem::from_row).transpose()? else { return Ok(None) };
        let deliveries =
            self.deliveries(item.reminder_id).await?.into_iter().filter(|d| d.generation == item.generation).collect();
        Ok(Some((item, deliveries)))
    }

    /// The user's notifications not read yet.
    pub async fn unread_count(&self, user_id: &str) -> Result<i64, sqlx::Error> {
        let statement = sql(
            self.backend(),
            "SELECT COUNT(*) AS n FROM inbox WHERE user_id = ? AND read_at IS NULL",
            [Arg::Text(user_id.into())],
        );
        self.pool.fetch_one(statement).await?.i64("n")
    }

    /// Marks one of the user's notifications read (once: the first time is kept); `None` when
    /// the user has no such notification.
    pub async fn mark_read(
        &self,
        user_id: &str,
        id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Option<InboxItem>, sqlx::Error> {
        let text =
            format!("UPDATE inbox SET read_at = COALESCE(read_at, ?) WHERE id = ? AND user_id = ? RETURNING {COLUMNS}");
        let mut tx = self.pool.begin().await?;
        let row = tx
            .fetch_optional(sql(self.backend(), &text, [Arg::Time(now), Arg::Uuid(id), Arg::Text(user_id.into())]))
            .await?;
        tx.commit().await?;
        row.as_ref().map(InboxItem::from_row).transpose()
    }

    /// Schedules one more delivery of the notification's reminder at `until`: the next
    /// generation, with its own delivery records and ids. Only once per generation, and only
    /// once the notified generation finished delivering.
    pub async fn snooze(
        &self,
        user_id: &str,
        id: Uuid,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Snoozed, SnoozeError> {
        let mut tx = self.pool.begin().await?;
        let text = format!("SELECT {COLUMNS} FROM inbox WHERE id = ? AND user_id = ?");
        let row = tx.fetch_optional(sql(self.backend(), &text, [Arg::Uuid(id), Arg::Text(user_id.into())])).await?;
        let item = row.as_ref().map(InboxItem::from_row).transpose()?.ok_or(SnoozeError::NotFound)?;
        let statement = sql(
            self.backend(),
            "UPDATE schedule SET generation = generation + 1, fire_at = ?, state = 'scheduled', attempts = 0, \
             lease_owner = NULL, lease_until = NULL, fired_at = NULL, late = ?, updated_at = ? \
             WHERE reminder_id = ? AND generation = ? AND state IN ('sent', 'failed')",
            [
                Arg::Time(until),
                Arg::Bool(false),
                Arg::Time(now),
                Arg::Uuid(item.reminder_id),
                Arg::Int(i64::from(item.generation)),
            ],
        );
        if tx.execute(statement).await? == 0 {
            return Err(SnoozeError::Conflict(
                "the reminder was snoozed already, is still being delivered, or was cancelled",
            ));
        }
        tx.commit().await?;
        Ok(Snoozed { reminder_id: item.reminder_id, generation: item.generation + 1, fire_at: until })
    }
}
