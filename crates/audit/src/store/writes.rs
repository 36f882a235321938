//! The statements of an append, per backend: the SQL genuinely differs here, because each
//! backend has its own fast way to pass many rows.
//!
//! - **PostgreSQL** gets one statement per step whatever the batch size: the rows travel as
//!   arrays (`UNNEST($1::uuid[], …)`, `= ANY($1)`). The statement text never changes, so it is
//!   parsed and planned once per connection (sqlx caches it); a multi-row `VALUES` list with a
//!   placeholder per value (8,500 of them for 500 events) was parsed and planned anew for every
//!   batch size and cost more than the rows themselves.
//! - **SQLite** has no arrays, and a statement is prepared in-process (no round trip), but
//!   the cost of preparing and running a `VALUES` list grows faster than its length (500 rows
//!   in one statement took ten times as long as the same rows in statements of 16). So rows go
//!   in statements of at most [`SQLITE_CHUNK`] rows: a few dozen distinct texts in all, which
//!   stay in sqlx's statement cache.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use service_runtime::database::{Arg, Row, Sql, Tx};
use uuid::Uuid;

use super::rows::{self, HEAD_COLUMNS, Head};
use crate::chain::{Appender, Entry};

/// Rows per SQLite statement (see the module docs).
const SQLITE_CHUNK: usize = 16;

/// The columns of an `audit_events` row as an append writes them, in this order.
const INSERT_COLUMNS: &str = "event_id, event_type, known_type, subject, user_id, actor, occurred_at, recorded_at, \
     source_topic, source_partition, source_offset, correlation_id, payload, changes, chain_seq, prev_hash, hash";

/// Creates the chain heads of `create` (users whose head may not exist yet), then locks the
/// heads of `users` and reads them.
///
/// On PostgreSQL the heads are locked `FOR UPDATE` in `user_id` order, so two transactions
/// never deadlock on them; SQLite's write lock (`BEGIN IMMEDIATE`) already serialises writers.
/// Creating before locking (rather than creating what the lock did not find) keeps that one
/// order: a head created later would be locked out of order.
pub(super) async fn lock_heads(tx: &mut Tx, create: &[&str], users: &[&str]) -> Result<Vec<Head>, sqlx::Error> {
    if let Tx::Postgres(t) = tx {
        if !create.is_empty() {
            sqlx::query(
                "INSERT INTO audit_chain_heads (user_id) SELECT * FROM UNNEST($1::text[]) ON CONFLICT (user_id) DO NOTHING",
            )
            .bind(create)
            .execute(&mut **t)
            .await?;
        }
        let select = format!(
            "SELECT {HEAD_COLUMNS} FROM audit_chain_heads WHERE user_id = ANY($1::text[]) ORDER BY user_id FOR UPDATE"
        );
        let found = sqlx::query(&select).bind(users).fetch_all(&mut **t).await?;
        return found.into_iter().map(|row| rows::head(&Row::Postgres(row))).collect();
    }
    let backend = tx.backend();
    for chunk in create.chunks(SQLITE_CHUNK) {
        let mut create = Sql::new(backend, "INSERT INTO audit_chain_heads (user_id) VALUES ");
        for (i, user) in chunk.iter().enumerate() {
            if i > 0 {
                create.push(", ");
            }
            create.bind_list([Arg::Text((*user).to_owned())]);
        }
        create.push(" ON CONFLICT (user_id) DO NOTHING");
        tx.execute(create).await?;
    }
    let mut heads = Vec::with_capacity(users.len());
    for chunk in users.chunks(SQLITE_CHUNK) {
        let mut select = Sql::new(backend, &format!("SELECT {HEAD_COLUMNS} FROM audit_chain_heads WHERE user_id IN "));
        select.bind_list(chunk.iter().map(|u| Arg::Text((*u).to_owned())));
        for row in tx.fetch_all(select).await? {
            heads.push(rows::head(&row)?);
        }
    }
    Ok(heads)
}

/// Which of `ids` are recorded already.
pub(super) async fn existing_ids(tx: &mut Tx, ids: &[Uuid]) -> Result<HashSet<Uuid>, sqlx::Error> {
    if let Tx::Postgres(t) = tx {
        let found: Vec<Uuid> = sqlx::query_scalar("SELECT event_id FROM audit_events WHERE event_id = ANY($1::uuid[])")
            .bind(ids)
            .fetch_all(&mut **t)
            .await?;
        return Ok(found.into_iter().collect());
    }
    let mut found = HashSet::new();
    for chunk in ids.chunks(SQLITE_CHUNK) {
        let mut sql = Sql::new(tx.backend(), "SELECT event_id FROM audit_events WHERE event_id IN ");
        sql.bind_list(chunk.iter().map(|id| Arg::Uuid(*id)));
        for row in tx.fetch_all(sql).await? {
            found.insert(row.uuid("event_id")?);
        }
    }
    Ok(found)
}

/// Inserts `entries` in their order (the row `id` follows it).
pub(super) async fn insert_entries(tx: &mut Tx, entries: &[&Entry]) -> Result<(), sqlx::Error> {
    if entries.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(t) = tx {
        return insert_postgres(t, entries).await;
    }
    for chunk in entries.chunks(SQLITE_CHUNK) {
        let mut sql = Sql::new(tx.backend(), &format!("INSERT INTO audit_events ({INSERT_COLUMNS}) VALUES "));
        for (i, entry) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_list(values(entry));
        }
        tx.execute(sql).await?;
    }
    Ok(())
}

/// One row's values, in [`INSERT_COLUMNS`] order.
fn values(entry: &Entry) -> [Arg; 17] {
    let e = &entry.event;
    [
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
        Arg::OptText(changes_text(entry)),
        Arg::Int(entry.link.seq),
        Arg::Text(entry.link.prev_hash.clone()),
        Arg::Text(entry.link.hash.clone()),
    ]
}

/// `changes` as stored: the same text the hash covers (`chain::entry_hash`).
fn changes_text(entry: &Entry) -> Option<String> {
    entry.event.changes.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default())
}

/// All rows in one statement: one array per column, unnested in step.
async fn insert_postgres(
    t: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    entries: &[&Entry],
) -> Result<(), sqlx::Error> {
    let column = |f: fn(&Entry) -> &str| entries.iter().map(|e| f(e)).collect::<Vec<&str>>();
    let changes: Vec<Option<String>> = entries.iter().map(|e| changes_text(e)).collect();
    let sql = format!(
        "INSERT INTO audit_events ({INSERT_COLUMNS}) SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::boolean[], \
         $4::text[], $5::text[], $6::text[], $7::timestamptz[], $8::timestamptz[], $9::text[], $10::integer[], \
         $11::bigint[], $12::text[], $13::text[], $14::text[], $15::bigint[], $16::text[], $17::text[])"
    );
    sqlx::query(&sql)
        .bind(entries.iter().map(|e| e.event.event_id).collect::<Vec<Uuid>>())
        .bind(column(|e| &e.event.event_type))
        .bind(entries.iter().map(|e| e.event.known_type).collect::<Vec<bool>>())
        .bind(column(|e| &e.event.subject))
        .bind(column(|e| &e.event.user_id))
        .bind(column(|e| &e.event.actor))
        .bind(entries.iter().map(|e| e.event.occurred_at).collect::<Vec<DateTime<Utc>>>())
        .bind(entries.iter().map(|e| e.recorded_at).collect::<Vec<DateTime<Utc>>>())
        .bind(column(|e| &e.event.source.topic))
        .bind(entries.iter().map(|e| e.event.source.partition).collect::<Vec<i32>>())
        .bind(entries.iter().map(|e| e.event.source.offset).collect::<Vec<i64>>())
        .bind(entries.iter().map(|e| e.event.correlation_id.as_deref()).collect::<Vec<Option<&str>>>())
        .bind(column(|e| &e.event.payload))
        .bind(changes)
        .bind(entries.iter().map(|e| e.link.seq).collect::<Vec<i64>>())
        .bind(column(|e| &e.link.prev_hash))
        .bind(column(|e| &e.link.hash))
        .execute(&mut **t)
        .await?;
    Ok(())
}

/// Moves each chain's head to its new last entry.
pub(super) async fn update_heads(tx: &mut Tx, chains: &[(&str, &Appender)]) -> Result<(), sqlx::Error> {
    if chains.is_empty() {
        return Ok(());
    }
    if let Tx::Postgres(t) = tx {
        let users: Vec<&str> = chains.iter().map(|(user, _)| *user).collect();
        let seqs: Vec<i64> = chains.iter().map(|(_, c)| c.last().seq).collect();
        let hashes: Vec<&str> = chains.iter().map(|(_, c)| c.last().hash.as_str()).collect();
        let times: Vec<Option<DateTime<Utc>>> = chains.iter().map(|(_, c)| c.last_recorded_at()).collect();
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
    for chunk in chains.chunks(SQLITE_CHUNK) {
        let mut sql = Sql::new(tx.backend(), "WITH v(user_id, seq, hash, at) AS (VALUES ");
        for (i, (user, chain)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.bind_list([
                Arg::Text((*user).to_owned()),
                Arg::Int(chain.last().seq),
                Arg::Text(chain.last().hash.clone()),
                Arg::OptTime(chain.last_recorded_at()),
            ]);
        }
        sql.push(
            ") UPDATE audit_chain_heads SET last_seq = v.seq, last_hash = v.hash, last_recorded_at = v.at \
             FROM v WHERE audit_chain_heads.user_id = v.user_id",
        );
        tx.execute(sql).await?;
    }
    Ok(())
}
