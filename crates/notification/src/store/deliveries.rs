//! Delivery records: one per (reminder, generation, target). A target is tried again only
//! when its record says it failed in a way worth retrying (`retrying`) or when the attempt's
//! outcome was never recorded (`pending` after its owner died); either way with the same
//! record, so with the same idempotency ids.

use chrono::{DateTime, Utc};
use service_runtime::database::{Arg, Row, Tx};
use uuid::Uuid;

use super::schedule::Entry;
use super::{Store, sql};

/// The target key of the in-app inbox.
pub const INBOX_TARGET: &str = "inbox";

/// Where a delivery is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Not attempted yet, or attempted with no recorded outcome.
    Pending,
    /// Failed in a way worth retrying; tried again at `next_attempt_at`.
    Retrying,
    /// Accepted by the receiver.
    Delivered,
    /// Gave up: a permanent failure, or the retry schedule ran out.
    Failed,
    /// The target is gone (410, disabled or deleted endpoint).
    Disabled,
}

impl DeliveryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Retrying => "retrying",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Disabled => "disabled",
        }
    }

    /// No attempt will follow.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Failed | Self::Disabled)
    }

    fn parse(text: &str) -> Result<Self, sqlx::Error> {
        Ok(match text {
            "pending" => Self::Pending,
            "retrying" => Self::Retrying,
            "delivered" => Self::Delivered,
            "failed" => Self::Failed,
            "disabled" => Self::Disabled,
            other => {
                return Err(sqlx::Error::ColumnDecode {
                    index: "state".into(),
                    source: format!("unknown delivery state {other:?}").into(),
                });
            }
        })
    }
}

/// One delivery record.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// The reminder.
    pub reminder_id: Uuid,
    /// Its generation.
    pub generation: u32,
    /// `inbox`, `email` or `webhook:<endpoint id>`.
    pub target: String,
    /// `inbox`, `email` or `webhook` (metric label, `reminder.sent`'s `channels`).
    pub channel: String,
    /// State.
    pub state: DeliveryState,
    /// Attempts made (with a recorded outcome).
    pub attempts: u32,
    /// When a `retrying` delivery is tried again.
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The last failure's reason.
    pub last_error: Option<String>,
    /// When it was delivered.
    pub delivered_at: Option<DateTime<Utc>>,
}

const COLUMNS: &str =
    "reminder_id, generation, target, channel, state, attempts, next_attempt_at, last_error, delivered_at";

impl Delivery {
    fn from_row(row: &Row) -> Result<Self, sqlx::Error> {
        Ok(Self {
            reminder_id: row.uuid("reminder_id")?,
            generation: row.int("generation")?,
            target: row.text("target")?,
            channel: row.text("channel")?,
            state: DeliveryState::parse(&row.text("state")?)?,
            attempts: row.int("attempts")?,
            next_attempt_at: row.opt_instant("next_attempt_at")?,
            last_error: row.opt_text("last_error")?,
            delivered_at: row.opt_instant("delivered_at")?,
        })
    }
}

impl Store {
    /// Fires the entry's generation in one transaction ([`fire_in`]); returns every record of
    /// the generation.
    pub(crate) async fn fire(
        &self,
        entry: &Entry,
        targets: &[(String, String)],
        fired_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Delivery>, sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        fire_in(&mut tx, entry, targets, fired_at, now).await?;
        let rows = deliveries_in(&mut tx, entry.reminder_id, entry.generation).await?;
        tx.commit().await?;
        Ok(rows)
    }

    /// The records of the entry's generation.
    pub(crate) async fn generation_deliveries(&self, entry: &Entry) -> Result<Vec<Delivery>, sqlx::Error> {
        let text = format!("SELECT {COLUMNS} FROM deliveries WHERE reminder_id = ? AND generation = ? ORDER BY target");
        let args = [Arg::Uuid(entry.reminder_id), Arg::Int(i64::from(entry.generation))];
        let rows = self.pool.fetch_all(sql(self.backend(), &text, args)).await?;
        rows.iter().map(Delivery::from_row).collect()
    }

    /// Records one attempt's outcome.
    pub(crate) async fn record_attempt(&self, delivery: &Delivery, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        record_attempt(&mut tx, delivery, now).await?;
        tx.commit().await
    }

    /// Every delivery record of a reminder, generations in order (the API, tests).
    pub async fn deliveries(&self, reminder_id: Uuid) -> Result<Vec<Delivery>, sqlx::Error> {
        let text = format!("SELECT {COLUMNS} FROM deliveries WHERE reminder_id = ? ORDER BY generation, target");
        let rows = self.pool.fetch_all(sql(self.backend(), &text, [Arg::Uuid(reminder_id)])).await?;
        rows.iter().map(Delivery::from_row).collect()
    }
}

/// Fires the entry's generation in `tx`: its inbox notification, the inbox's delivery record
/// (delivered) and a pending record for each other target (`(key, channel)`); records that
/// exist are kept.
pub(crate) async fn fire_in(
    tx: &mut Tx,
    entry: &Entry,
    targets: &[(String, String)],
    fired_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    super::inbox::insert(tx, entry, fired_at, now).await?;
    for (target, channel) in targets {
        let inbox = target == INBOX_TARGET;
        let state = if inbox { DeliveryState::Delivered } else { DeliveryState::Pending };
        let statement = sql(
            tx.backend(),
            "INSERT INTO deliveries (reminder_id, generation, target, channel, state, attempts, delivered_at, \
             updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reminder_id, generation, target) DO NOTHING",
            [
                Arg::Uuid(entry.reminder_id),
                Arg::Int(i64::from(entry.generation)),
                Arg::Text(target.clone()),
                Arg::Text(channel.clone()),
                Arg::Text(state.as_str().into()),
                Arg::Int(i64::from(inbox)),
                Arg::OptTime(inbox.then_some(now)),
                Arg::Time(now),
            ],
        );
        tx.execute(statement).await?;
    }
    Ok(())
}

/// The generation's records, in `tx`.
pub(crate) async fn deliveries_in(
    tx: &mut Tx,
    reminder_id: Uuid,
    generation: u32,
) -> Result<Vec<Delivery>, sqlx::Error> {
    let text = format!("SELECT {COLUMNS} FROM deliveries WHERE reminder_id = ? AND generation = ? ORDER BY target");
    let rows =
        tx.fetch_all(sql(tx.backend(), &text, [Arg::Uuid(reminder_id), Arg::Int(i64::from(generation))])).await?;
    rows.iter().map(Delivery::from_row).collect()
}

/// Writes a record's state, attempts, next attempt, error and delivery time, in `tx`.
pub(crate) async fn record_attempt(tx: &mut Tx, delivery: &Delivery, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    let statement = sql(
        tx.backend(),
        "UPDATE deliveries SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, delivered_at = ?, \
         updated_at = ? WHERE reminder_id = ? AND generation = ? AND target = ?",
        [
            Arg::Text(delivery.state.as_str().into()),
            Arg::Int(i64::from(delivery.attempts)),
            Arg::OptTime(delivery.next_attempt_at),
            Arg::OptText(delivery.last_error.clone()),
            Arg::OptTime(delivery.delivered_at),
            Arg::Time(now),
            Arg::Uuid(delivery.reminder_id),
            Arg::Int(i64::from(delivery.generation)),
            Arg::Text(delivery.target.clone()),
        ],
    );
    tx.execute(statement).await?;
    Ok(())
}
