//! Reading the trail: filters, keyset pagination, a task's history.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use service_runtime::database::{Arg, Pool, Sql};

use super::AuditStore;
use super::rows::{self, ENTRY_COLUMNS};
use crate::chain::Entry;

/// Most entries one page holds.
pub const MAX_LIMIT: u32 = 500;

/// A recorded entry with its row id (the tie-breaker of the order).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEntry {
    /// Insertion order.
    pub id: i64,
    /// The entry.
    pub entry: Entry,
}

/// The order of a listing: by `occurred_at`, ties by insertion order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Order {
    /// Newest first (the default of `GET /v1/audit`).
    #[default]
    Desc,
    /// Oldest first (histories, exports).
    Asc,
}

/// Where a page ended: the last entry's `occurred_at` and id, and the order it was read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    occurred_at: DateTime<Utc>,
    id: i64,
    order: Order,
}

/// A cursor that cannot be used: malformed, or issued for the other order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CursorError(&'static str);

impl AuditCursor {
    /// The cursor after `entry` in `order`.
    pub fn after(entry: &StoredEntry, order: Order) -> Self {
        Self { occurred_at: entry.entry.event.occurred_at, id: entry.id, order }
    }

    /// The opaque text clients pass back.
    pub fn encode(&self) -> String {
        let order = match self.order {
            Order::Desc => 'd',
            Order::Asc => 'a',
        };
        URL_SAFE_NO_PAD.encode(format!("v1.{order}.{}.{}", self.occurred_at.timestamp_micros(), self.id))
    }

    /// Reads a cursor issued for `order`.
    pub fn decode(text: &str, order: Order) -> Result<Self, CursorError> {
        const MALFORMED: CursorError = CursorError("is not a cursor this service issued");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| MALFORMED)?;
        let text = String::from_utf8(bytes).map_err(|_| MALFORMED)?;
        let parts: Vec<&str> = text.split('.').collect();
        let [version, o, micros, id] = parts.as_slice() else { return Err(MALFORMED) };
        let issued = match (*version, *o) {
            ("v1", "d") => Order::Desc,
            ("v1", "a") => Order::Asc,
            _ => return Err(MALFORMED),
        };
        if issued != order {
            return Err(CursorError("was issued for the other order"));
        }
        let micros: i64 = micros.parse().map_err(|_| MALFORMED)?;
        // Only instants an entry can have (years 1 to 9999): others make the database fail.
        let occurred_at = DateTime::from_timestamp_micros(micros)
            .filter(|t| (1..=9999).contains(&chrono::Datelike::year(t)))
            .ok_or(MALFORMED)?;
        Ok(Self { occurred_at, id: id.parse().map_err(|_| MALFORMED)?, order })
    }
}

/// What to read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// Only this user's entries; `None` reads everyone's (administrators).
    pub user_id: Option<String>,
    /// Only entries about this task (the event's subject).
    pub task_id: Option<String>,
    /// Only this event type.
    pub event_type: Option<String>,
    /// Only events that occurred at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Only events that occurred before this instant.
    pub to: Option<DateTime<Utc>>,
    /// Continue after this cursor.
    pub cursor: Option<AuditCursor>,
    /// Page size (1..=[`MAX_LIMIT`]).
    pub limit: u32,
    /// The order.
    pub order: Order,
}

/// One page.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    /// The entries.
    pub items: Vec<StoredEntry>,
    /// The cursor of the next page, when there is one.
    pub next_cursor: Option<AuditCursor>,
}

impl AuditStore {
    /// One page of entries matching `query`.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn list(&self, query: &AuditQuery) -> Result<AuditPage, sqlx::Error> {
        let limit = query.limit.clamp(1, MAX_LIMIT);
        let mut items = fetch(&self.pool, select(self, query, limit + 1)).await?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| AuditCursor::after(last, query.order))
        } else {
            None
        };
        Ok(AuditPage { items, next_cursor })
    }

    /// Every entry about `task_id` (of `user_id`, or anyone's when `None`), oldest first.
    #[tracing::instrument(skip_all, err(level = "debug"))]
    pub async fn task_history(&self, user_id: Option<&str>, task_id: &str) -> Result<Vec<StoredEntry>, sqlx::Error> {
        let mut query = AuditQuery {
            user_id: user_id.map(str::to_owned),
            task_id: Some(task_id.to_owned()),
            limit: MAX_LIMIT,
            order: Order::Asc,
            ..Default::default()
        };
        let mut all = Vec::new();
        loop {
            let page = self.list(&query).await?;
            all.extend(page.items);
            match page.next_cursor {
                Some(cursor) => query.cursor = Some(cursor),
                None => return Ok(all),
            }
        }
    }
}

fn select(store: &AuditStore, query: &AuditQuery, limit: u32) -> Sql {
    let mut sql = Sql::new(store.backend(), &format!("SELECT {ENTRY_COLUMNS} FROM audit_events WHERE TRUE"));
    if let Some(user) = &query.user_id {
        sql.push(" AND user_id = ").bind(Arg::Text(user.clone()));
    }
    if let Some(task) = &query.task_id {
        sql.push(" AND subject = ").bind(Arg::Text(task.clone()));
    }
    if let Some(event_type) = &query.event_type {
        sql.push(" AND event_type = ").bind(Arg::Text(event_type.clone()));
    }
    if let Some(from) = query.from {
        sql.push(" AND occurred_at >= ").bind(Arg::Time(from));
    }
    if let Some(to) = query.to {
        sql.push(" AND occurred_at < ").bind(Arg::Time(to));
    }
    let (after, direction) = match query.order {
        Order::Desc => (" < ", " DESC"),
        Order::Asc => (" > ", " ASC"),
    };
    if let Some(cursor) = query.cursor {
        sql.push(" AND (occurred_at, id)").push(after);
        sql.bind_list([Arg::Time(cursor.occurred_at), Arg::Int(cursor.id)]);
    }
    sql.push(" ORDER BY occurred_at").push(direction).push(", id").push(direction);
    sql.push(" LIMIT ").bind(Arg::Int(i64::from(limit)));
    sql
}

pub(super) async fn fetch(pool: &Pool, sql: Sql) -> Result<Vec<StoredEntry>, sqlx::Error> {
    pool.fetch_all(sql).await?.iter().map(rows::entry).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_is_refused_for_the_other_order() {
        let cursor = AuditCursor {
            occurred_at: DateTime::from_timestamp_micros(1_700_000_000_123_456).expect("valid"),
            id: 42,
            order: Order::Desc,
        };
        assert_eq!(AuditCursor::decode(&cursor.encode(), Order::Desc), Ok(cursor));
        assert!(AuditCursor::decode(&cursor.encode(), Order::Asc).is_err());
        assert!(AuditCursor::decode("bm90IGEgY3Vyc29y", Order::Desc).is_err());
        assert!(AuditCursor::decode("%%%", Order::Desc).is_err());
    }
}
