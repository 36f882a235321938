//! [`AuditStore::append`]: a batch of events into their users' chains, in one transaction.

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use service_runtime::database::{Arg, Backend, Sql, Tx};
use uuid::Uuid;

use super::rows::{self, HEAD_COLUMNS, Head};
use super::{AuditStore, micros};
use crate::chain::{Appender, Entry};
use crate::entry::NewEntry;

/// Rows per INSERT statement: a whole batch (`consumer.max_batch`, 500 by default) in one
/// statement; 17 binds a row stays below both backends' bind limits (SQLite 32,766, PostgreSQL
/// 65,535).
const INSERT_CHUNK: usize = 1000;

/// What a batch did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AppendOutcome {
    /// Entries appended, in the order given.
    pub recorded: Vec<Entry>,
    /// Events skipped because they were already recorded (or repeated within the batch).
    pub duplicates: u64,
}

impl AuditStore {
    /// Appends `events` to their users' chains in one transaction, recorded at `now` (see
    /// [`crate::chain::Appender::append`]), skipping events already stored. All or nothing:
    /// on an error nothing is recorded, and the same call can be repeated.
    #[tracing::instrument(skip_all, fields(events = events.len()), err(level = "debug"))]
    pub async fn append(&self, events: Vec<NewEntry>, now: DateTime<Utc>) -> Result<AppendOutcome, sqlx::Error> {
        let now = micros(now);
        let mut seen = HashSet::with_capacity(events.len());
        let total = events.len();
        let events: Vec<NewEntry> = events.into_iter().filter(|e| seen.insert(e.event_id)).collect();
        let mut duplicates = (total - events.len()) as u64;
        if events.is_empty() {
            return Ok(AppendOutcome { recorded: Vec::new(), duplicates });
        }
        let users: BTreeSet<&str> = events.iter().map(|e| e.user_id.as_str()).collect();
        let mut tx = self.pool.begin().await?;
        let heads = lock_heads(&mut tx, &users).await?;
        let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
        let existing = existing_ids(&mut tx, &ids).await?;
        let mut chains: HashMap<String, Appender> =
            heads.into_iter().map(|h| (h.user_id, Appender::new(h.last, h.last_recorded_at))).collect();
        let mut recorded = Vec::with_capacity(events.len());
        for event in events {
            if existing.contains(&event.event_id) {
                duplicates += 1;
                continue;
            }
            let Some(chain) = chains.get_mut(&event.user_id) else {
                return Err(sqlx::Error::Protocol(format!("no chain head for user {}", event.user_id)));
            };
            recorded.push(chain.append(event, now));
        }
        for chunk in recorded.chunks(INSERT_CHUNK) {
            tx.execute(insert(tx.backend(), chunk)).await?;
        }
        let touched: BTreeSet<&str> = recorded.iter().map(|e| e.event.user_id.as_str()).collect();
        update_heads(&mut tx, touched.into_iter().filter_map(|u| chains.get_key_value(u))).await?;
        tx.commit().await?;
        Ok(AppendOutcome { recorded, duplicates })
    }
}

/// Makes sure every user has a chain head, then locks them in user order and reads them.
async fn lock_heads(tx: &mut Tx, users: &BTreeSet<&str>) -> Result<Vec<Head>, sqlx::Error> {
    let backend = tx.backend();
    let mut create = Sql::new(backend, "INSERT INTO audit_chain_heads (user_id) VALUES ");
    for (i, user) in users.iter().enumerate() {
        if i > 0 {
            create.push(", ");
        }
        create.bind_list([Arg::Text((*user).to_owned())]);
    }
    create.push(" ON CONFLICT (user_id) DO NOTHING");
    tx.execute(create).await?;
    let mut select = Sql::new(backend, &format!("SELECT {HEAD_COLUMNS} FROM audit_chain_heads WHERE user_id IN "));
    select.bind_list(users.iter().map(|u| Arg::Text((*u).to_owned()))).push(" ORDER BY user_id");
    if backend == Backend::Postgres {
        select.push(" FOR UPDATE");
    }
    tx.fetch_all(select).await?.iter().map(rows::head).collect()
}

/// Which of `ids` are recorded already.
async fn existing_ids(tx: &mut Tx, ids: &[Uuid]) -> Result<HashSet<Uuid>, sqlx::Error> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(INSERT_CHUNK * 4) {
        let mut sql = Sql::new(tx.backend(), "SELECT event_id FROM audit_events WHERE event_id IN ");
        sql.bind_list(chunk.iter().map(|id| Arg::Uuid(*id)));
        for row in tx.fetch_all(sql).await? {
            found.insert(row.uuid("event_id")?);
        }
    }
    Ok(found)
}

fn insert(backend: Backend, entries: &[Entry]) -> Sql {
    let mut sql = Sql::new(
        backend,
        "INSERT INTO audit_events (event_id, event_type, known_type, subject, user_id, actor, occurred_at, \
         recorded_at, source_topic, source_partition, source_offset, correlation_id, payload, changes, chain_seq, \
         prev_hash, hash) VALUES ",
    );
    for (i, entry) in entries.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        let e = &entry.event;
        let changes = e.changes.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default());
        sql.bind_list([
            Arg::Uuid(e.event_id),
            Arg::Text(e.event_type.clone()),
            Arg::Bool(e.known_type),
            Arg::Text(e.subject.clone()),
            Arg::Text(e.user_id.clone()),
            Arg::Text(e.actor.clone()),
            Arg::Time(e.occurred_at),
            Arg::Time(entry.recorded_at),
            Arg::Text(e.source.topic.clone()),
            Arg::Int(i64::from(e.source.partition)),
            Arg::Int(e.source.offset),
            Arg::OptText(e.correlation_id.clone()),
            Arg::Text(e.payload.clone()),
            Arg::OptText(changes),
            Arg::Int(entry.link.seq),
            Arg::Text(entry.link.prev_hash.clone()),
            Arg::Text(entry.link.hash.clone()),
        ]);
    }
    sql
}

/// Moves each touched chain's head to its new last entry: one statement on PostgreSQL
/// (arrays unnested), one per user on SQLite (in-process, no round trips).
async fn update_heads<'a>(
    tx: &mut Tx,
    chains: impl Iterator<Item = (&'a String, &'a Appender)>,
) -> Result<(), sqlx::Error> {
    if let Tx::Postgres(t) = tx {
        let (mut users, mut seqs, mut hashes, mut times) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (user, chain) in chains {
            users.push(user.clone());
            seqs.push(chain.last().seq);
            hashes.push(chain.last().hash.clone());
            times.push(chain.last_recorded_at());
        }
        sqlx::query(
            "UPDATE audit_chain_heads AS h SET last_seq = v.seq, last_hash = v.hash, last_recorded_at = v.at \
             FROM UNNEST($1::text[], $2::bigint[], $3::text[], $4::timestamptz[]) AS v(user_id, seq, hash, at) \
             WHERE h.user_id = v.user_id",
        )
        .bind(users)
        .bind(seqs)
        .bind(hashes)
        .bind(times)
        .execute(&mut **t)
        .await?;
        return Ok(());
    }
    for (user, chain) in chains {
        let mut sql = Sql::new(tx.backend(), "UPDATE audit_chain_heads SET last_seq = ");
        sql.bind(Arg::Int(chain.last().seq));
        sql.push(", last_hash = ").bind(Arg::Text(chain.last().hash.clone()));
        sql.push(", last_recorded_at = ").bind(Arg::OptTime(chain.last_recorded_at()));
        sql.push(" WHERE user_id = ").bind(Arg::Text(user.clone()));
        tx.execute(sql).await?;
    }
    Ok(())
}
