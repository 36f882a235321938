//! The schedule: one entry per reminder. Applying `reminder.*` events (ordered by their
//! `sequence`), claiming what is due (with a lease), and where the next wake-up is.

use chrono::{DateTime, TimeDelta, Utc};
use service_runtime::database::{Arg, Row, Tx};
use uuid::Uuid;

use super::{Store, skip_locked, sql};

/// Where an entry is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// Waiting for `fire_at`.
    Scheduled,
    /// Cancelled before it fired (the task was completed, deleted or rescheduled).
    Cancelled,
    /// Fired: deliveries are running or waiting for a retry; `lease_until` says until when
    /// its owner holds it, or when its next retry is due.
    Delivering,
    /// Every delivery is final and at least one succeeded (the inbox always does).
    Sent,
    /// Every delivery is final and none succeeded.
    Failed,
    /// Due longer ago than `notification.max_lateness_seconds` when the scheduler saw it.
    Expired,
}

impl EntryState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "scheduled",
            Self::Cancelled => "cancelled",
            Self::Delivering => "delivering",
            Self::Sent => "sent",
            Self::Failed => "failed",
            Self::Expired => "expired",
        }
    }

    fn parse(text: &str) -> Result<Self, sqlx::Error> {
        Ok(match text {
            "scheduled" => Self::Scheduled,
            "cancelled" => Self::Cancelled,
            "delivering" => Self::Delivering,
            "sent" => Self::Sent,
            "failed" => Self::Failed,
            "expired" => Self::Expired,
            other => {
                return Err(sqlx::Error::ColumnDecode {
                    index: "state".into(),
                    source: format!("unknown schedule state {other:?}").into(),
                });
            }
        })
    }
}

/// A schedule entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The reminder (task-api's id).
    pub reminder_id: Uuid,
    /// Whose it is.
    pub user_id: String,
    /// The task.
    pub task_id: Uuid,
    /// The task's title.
    pub title: String,
    /// The instant task-api scheduled.
    pub remind_at: DateTime<Utc>,
    /// The task's due instant.
    pub due_at: Option<DateTime<Utc>>,
    /// When the current generation fires (`remind_at`, or the end of a snooze).
    pub fire_at: DateTime<Utc>,
    /// 0, then +1 per snooze.
    pub generation: u32,
    /// State.
    pub state: EntryState,
    /// The `sequence` of the last event applied (the task's version).
    pub sequence: i64,
    /// The `reminders` partition its events arrive on.
    pub partition: i32,
    /// Claims of the current generation.
    pub attempts: u32,
    /// When the current generation first fired.
    pub fired_at: Option<DateTime<Utc>>,
    /// Fired later than `notification.late_after_seconds` after `fire_at`.
    pub late: bool,
}

const COLUMNS: &str = "reminder_id, user_id, task_id, title, remind_at, due_at, fire_at, generation, state, \
                       sequence, source_partition, attempts, fired_at, late";

impl Entry {
    fn from_row(row: &Row) -> Result<Self, sqlx::Error> {
        Ok(Self {
            reminder_id: row.uuid("reminder_id")?,
            user_id: row.text("user_id")?,
            task_id: row.uuid("task_id")?,
            title: row.text("title")?,
            remind_at: row.instant("remind_at")?,
            due_at: row.opt_instant("due_at")?,
            fire_at: row.instant("fire_at")?,
            generation: row.int("generation")?,
            state: EntryState::parse(&row.text("state")?)?,
            sequence: row.i64("sequence")?,
            partition: row.int("source_partition")?,
            attempts: row.int("attempts")?,
            fired_at: row.opt_instant("fired_at")?,
            late: row.bool("late")?,
        })
    }
}

/// A `reminder.*` event to apply, with what its envelope and record add.
#[derive(Debug, Clone, PartialEq)]
pub struct ReminderChange {
    /// The reminder.
    pub reminder_id: Uuid,
    /// The task (the record key).
    pub task_id: Uuid,
    /// The envelope's `userid`.
    pub user_id: String,
    /// The envelope's `sequence`: the task's version.
    pub sequence: i64,
    /// The partition the event was read from.
    pub partition: i32,
    /// The instant of the reminder.
    pub remind_at: DateTime<Utc>,
    /// `Some` for `reminder.scheduled`: its title and due instant; `None` for a cancellation.
    pub scheduled: Option<(String, Option<DateTime<Utc>>)>,
}

/// What the scheduler claimed: an entry to deliver (its lease now ours), or one recorded as
/// expired.
#[derive(Debug, Clone, PartialEq)]
pub struct Claimed {
    /// The entry, as updated by the claim.
    pub entry: Entry,
}

/// When the scheduler must look again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct NextWake {
    /// The earliest `fire_at` of a scheduled entry still in the future.
    pub next_fire: Option<DateTime<Utc>>,
    /// The earliest end of a lease (a retry due, or an owner that may have died).
    pub next_lease: Option<DateTime<Utc>>,
}

/// Applies one event in `tx`. Only an event whose `sequence` is above the stored one changes
/// anything, so a redelivered or replayed event (and a `reminder.scheduled` older than a
/// cancellation) is a no-op.
///
/// - `reminder.scheduled`: creates the entry; for an existing one, refreshes its text, and
///   schedules it again only if it was cancelled (a reopened task). An entry that fired keeps
///   its state: a title change never delivers it twice.
/// - `reminder.cancelled`: a scheduled entry (a snoozed one too) becomes cancelled; one being
///   delivered or already sent is past cancelling. An unknown reminder gets a tombstone, so a
///   late `reminder.scheduled` of a lower sequence cannot create it afterwards.
pub(crate) async fn apply(tx: &mut Tx, change: &ReminderChange, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let backend = tx.backend();
    let (state, title, due_at) = match &change.scheduled {
        Some((title, due_at)) => (EntryState::Scheduled, title.clone(), *due_at),
        None => (EntryState::Cancelled, String::new(), None),
    };
    let on_conflict = match change.scheduled {
        Some(_) => {
            "title = excluded.title, due_at = excluded.due_at, user_id = excluded.user_id, \
             state = CASE WHEN schedule.state = 'cancelled' THEN 'scheduled' ELSE schedule.state END, \
             fire_at = CASE WHEN schedule.state = 'cancelled' THEN excluded.fire_at ELSE schedule.fire_at END"
        }
        None => "state = CASE WHEN schedule.state = 'scheduled' THEN 'cancelled' ELSE schedule.state END",
    };
    let text = format!(
        "INSERT INTO schedule (reminder_id, user_id, task_id, title, remind_at, due_at, fire_at, generation, state, \
         sequence, source_partition, attempts, late, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, 0, ?, ?) \
         ON CONFLICT (reminder_id) DO UPDATE SET {on_conflict}, sequence = excluded.sequence, \
         source_partition = excluded.source_partition, updated_at = excluded.updated_at \
         WHERE schedule.sequence < excluded.sequence"
    );
    let statement = sql(
        backend,
        &text,
        [
            Arg::Uuid(change.reminder_id),
            Arg::Text(change.user_id.clone()),
            Arg::Uuid(change.task_id),
            Arg::Text(title),
            Arg::Time(change.remind_at),
            Arg::OptTime(due_at),
            Arg::Time(change.remind_at),
            Arg::Text(state.as_str().into()),
            Arg::Int(change.sequence),
            Arg::Int(i64::from(change.partition)),
            Arg::Bool(false),
            Arg::Time(now),
        ],
    );
    Ok(tx.execute(statement).await? > 0)
}

/// The claim's parameters.
#[derive(Debug, Clone)]
pub(crate) struct ClaimParams<'a> {
    /// This replica.
    pub(crate) owner: &'a str,
    /// The `reminders` topic (its progress rows gate firing).
    pub(crate) topic: &'a str,
    /// The claim's instant.
    pub(crate) now: DateTime<Utc>,
    /// How long a claim holds an entry.
    pub(crate) lease: TimeDelta,
    /// Older than this: expired.
    pub(crate) max_lateness: TimeDelta,
    /// Older than this: flagged late.
    pub(crate) late_after: TimeDelta,
    /// Most entries claimed.
    pub(crate) limit: i64,
}

/// The condition under which a due entry may fire: the consumer has handled its partition up
/// to its time (a record at or after it, or the whole partition as of a later instant).
const PARTITION_HANDLED: &str = "EXISTS (SELECT 1 FROM consumer_progress p WHERE p.topic = ? \
    AND p.source_partition = s.source_partition \
    AND (p.caught_up_at >= s.fire_at OR p.last_record_at >= s.fire_at))";

impl Store {
    /// Claims up to `limit` entries: scheduled ones that are due and whose partition is handled
    /// up to their time (those too late become expired instead), and delivering ones whose lease
    /// ended (a retry is due, or their owner died). Claimed entries are leased to `owner` until
    /// `now + lease`. On PostgreSQL, rows another replica is claiming are skipped, so no entry
    /// is claimed twice.
    pub(crate) async fn claim(&self, p: &ClaimParams<'_>) -> Result<Vec<Claimed>, sqlx::Error> {
        let backend = self.backend();
        let expire_before = p.now - p.max_lateness;
        let text = format!(
            "UPDATE schedule SET \
               state = CASE WHEN state = 'scheduled' AND fire_at < ? THEN 'expired' ELSE 'delivering' END, \
               lease_owner = ?, lease_until = ?, attempts = attempts + 1, \
               late = CASE WHEN fired_at IS NULL THEN (fire_at < ?) ELSE late END, \
               fired_at = COALESCE(fired_at, ?), updated_at = ? \
             WHERE reminder_id IN (SELECT s.reminder_id FROM schedule s WHERE \
               (s.state = 'scheduled' AND s.fire_at <= ? AND (s.fire_at < ? OR {PARTITION_HANDLED})) \
               OR (s.state = 'delivering' AND s.lease_until <= ?) \
               ORDER BY s.fire_at LIMIT ?{}) \
             RETURNING {COLUMNS}",
            skip_locked(backend)
        );
        let statement = sql(
            backend,
            &text,
            [
                Arg::Time(expire_before),
                Arg::Text(p.owner.into()),
                Arg::Time(p.now + p.lease),
                Arg::Time(p.now - p.late_after),
                Arg::Time(p.now),
                Arg::Time(p.now),
                Arg::Time(p.now),
                Arg::Time(expire_before),
                Arg::Text(p.topic.into()),
                Arg::Time(p.now),
                Arg::Int(p.limit),
            ],
        );
        let mut tx = self.pool.begin().await?;
        let rows = tx.fetch_all(statement).await?;
        tx.commit().await?;
        rows.iter().map(|row| Entry::from_row(row).map(|entry| Claimed { entry })).collect()
    }

    /// Due scheduled entries held back because their partition is not handled up to their time.
    pub(crate) async fn held(
        &self,
        topic: &str,
        now: DateTime<Utc>,
        max_lateness: TimeDelta,
    ) -> Result<i64, sqlx::Error> {
        let text = format!(
            "SELECT COUNT(*) AS held FROM schedule s WHERE s.state = 'scheduled' AND s.fire_at <= ? \
             AND s.fire_at >= ? AND NOT {PARTITION_HANDLED}"
        );
        let statement =
            sql(self.backend(), &text, [Arg::Time(now), Arg::Time(now - max_lateness), Arg::Text(topic.into())]);
        self.pool.fetch_one(statement).await?.i64("held")
    }

    /// The earliest future `fire_at` and the earliest lease end.
    pub(crate) async fn next_wake(&self, now: DateTime<Utc>) -> Result<NextWake, sqlx::Error> {
        let statement = sql(
            self.backend(),
            "SELECT (SELECT MIN(fire_at) FROM schedule WHERE state = 'scheduled' AND fire_at > ?) AS next_fire, \
             (SELECT MIN(lease_until) FROM schedule WHERE state = 'delivering') AS next_lease",
            [Arg::Time(now)],
        );
        let row = self.pool.fetch_one(statement).await?;
        Ok(NextWake { next_fire: row.opt_instant("next_fire")?, next_lease: row.opt_instant("next_lease")? })
    }

    /// Entries waiting to fire (the `scheduled` gauge).
    pub(crate) async fn scheduled_count(&self) -> Result<i64, sqlx::Error> {
        let statement = sql(self.backend(), "SELECT COUNT(*) AS n FROM schedule WHERE state = 'scheduled'", []);
        self.pool.fetch_one(statement).await?.i64("n")
    }

    /// One entry (tests, the API).
    pub async fn entry(&self, reminder_id: Uuid) -> Result<Option<Entry>, sqlx::Error> {
        let text = format!("SELECT {COLUMNS} FROM schedule WHERE reminder_id = ?");
        let row = self.pool.fetch_optional(sql(self.backend(), &text, [Arg::Uuid(reminder_id)])).await?;
        row.as_ref().map(Entry::from_row).transpose()
    }
}

/// Ends a generation in `tx` if `owner` still holds it: `sent` or `failed`. `false` when the
/// lease was lost meanwhile (another replica took the entry over), and nothing changed.
pub(crate) async fn finish(
    tx: &mut Tx,
    entry: &Entry,
    owner: &str,
    state: EntryState,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let statement = sql(
        tx.backend(),
        "UPDATE schedule SET state = ?, lease_owner = NULL, lease_until = NULL, updated_at = ? \
         WHERE reminder_id = ? AND generation = ? AND state = 'delivering' AND lease_owner = ?",
        [
            Arg::Text(state.as_str().into()),
            Arg::Time(now),
            Arg::Uuid(entry.reminder_id),
            Arg::Int(i64::from(entry.generation)),
            Arg::Text(owner.into()),
        ],
    );
    Ok(tx.execute(statement).await? > 0)
}

/// Hands an entry whose deliveries wait for retries back to the schedule: no owner, and the
/// lease ends at the first retry (the scheduler claims it again then).
pub(crate) async fn release_until(
    store: &Store,
    entry: &Entry,
    owner: &str,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let statement = sql(
        store.backend(),
        "UPDATE schedule SET lease_owner = NULL, lease_until = ?, updated_at = ? \
         WHERE reminder_id = ? AND generation = ? AND state = 'delivering' AND lease_owner = ?",
        [
            Arg::Time(until),
            Arg::Time(now),
            Arg::Uuid(entry.reminder_id),
            Arg::Int(i64::from(entry.generation)),
            Arg::Text(owner.into()),
        ],
    );
    Ok(store.pool.execute(statement).await? > 0)
}
