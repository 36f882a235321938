//! [`AuditStore::append`]: a batch of events into their users' chains, in one transaction
//! (shared with the batches other callers submit meanwhile, see `group_commit`).

use std::collections::{BTreeSet, HashMap, HashSet};

use chrono::{DateTime, Utc};
use service_runtime::database::Pool;
use uuid::Uuid;

use super::writes;
use super::{AuditStore, micros};
use crate::chain::{Appender, Entry};
use crate::entry::NewEntry;

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
    ///
    /// Batches that callers of this store submit while a transaction is running are recorded
    /// together in the next one, each batch's entries contiguous and in its order, exactly as
    /// if they had been appended one after the other (see `group_commit`).
    #[tracing::instrument(skip_all, fields(events = events.len()), err(level = "debug"))]
    pub async fn append(&self, events: Vec<NewEntry>, now: DateTime<Utc>) -> Result<AppendOutcome, sqlx::Error> {
        self.writer.append(&self.pool, Batch { events, now: micros(now) }).await
    }
}

/// One caller's events and the time they are recorded at.
#[derive(Debug)]
pub(super) struct Batch {
    pub(super) events: Vec<NewEntry>,
    pub(super) now: DateTime<Utc>,
}

impl Batch {
    pub(super) fn len(&self) -> usize {
        self.events.len()
    }
}

/// Records `batches` one after the other in one transaction: one outcome per batch, in order.
///
/// Under the lock of every chain head the batches touch: events already stored, and events
/// repeated within or across the batches, are skipped (counted as duplicates of the batch
/// that repeats them); the rest are appended to their chains in the order given.
///
/// `known` holds users whose chain head this process has seen committed: heads are never
/// deleted, so theirs need not be created again (one statement less per transaction). It is
/// forgotten on any error, so a head deleted by hand is created again by the retry.
pub(super) async fn record(
    pool: &Pool,
    batches: &[Batch],
    known: &mut KnownHeads,
) -> Result<Vec<AppendOutcome>, sqlx::Error> {
    let result = record_once(pool, batches, known).await;
    if result.is_err() {
        known.0.clear();
    }
    result
}

/// Users whose chain head exists (see [`record`]); bounded, since it only saves work.
#[derive(Debug, Default)]
pub(super) struct KnownHeads(HashSet<String>);

/// Users remembered at most; past it the set starts again.
const MAX_KNOWN_HEADS: usize = 100_000;

async fn record_once(
    pool: &Pool,
    batches: &[Batch],
    known: &mut KnownHeads,
) -> Result<Vec<AppendOutcome>, sqlx::Error> {
    let mut seen = HashSet::new();
    let mut outcomes = Vec::with_capacity(batches.len());
    let mut fresh = Vec::with_capacity(batches.len());
    for batch in batches {
        let events: Vec<&NewEntry> = batch.events.iter().filter(|e| seen.insert(e.event_id)).collect();
        let duplicates = (batch.len() - events.len()) as u64;
        outcomes.push(AppendOutcome { recorded: Vec::with_capacity(events.len()), duplicates });
        fresh.push((events, batch.now));
    }
    if seen.is_empty() {
        return Ok(outcomes);
    }
    let users: BTreeSet<&str> =
        fresh.iter().flat_map(|(events, _)| events.iter().map(|e| e.user_id.as_str())).collect();
    let users: Vec<&str> = users.into_iter().collect();
    let mut tx = pool.begin().await?;
    let create: Vec<&str> = users.iter().copied().filter(|u| !known.0.contains(*u)).collect();
    let heads = writes::lock_heads(&mut tx, &create, &users).await?;
    let ids: Vec<Uuid> = seen.into_iter().collect();
    let existing = writes::existing_ids(&mut tx, &ids).await?;
    let mut chains: HashMap<String, Appender> =
        heads.into_iter().map(|h| (h.user_id, Appender::new(h.last, h.last_recorded_at))).collect();
    for ((events, now), outcome) in fresh.into_iter().zip(&mut outcomes) {
        for event in events {
            if existing.contains(&event.event_id) {
                outcome.duplicates += 1;
                continue;
            }
            let Some(chain) = chains.get_mut(&event.user_id) else {
                return Err(sqlx::Error::Protocol(format!("no chain head for user {}", event.user_id)));
            };
            outcome.recorded.push(chain.append(event.clone(), now));
        }
    }
    let entries: Vec<&Entry> = outcomes.iter().flat_map(|o| &o.recorded).collect();
    writes::insert_entries(&mut tx, &entries).await?;
    let touched: BTreeSet<&str> = entries.iter().map(|e| e.event.user_id.as_str()).collect();
    let moved: Vec<(&str, &Appender)> =
        touched.into_iter().filter_map(|u| chains.get_key_value(u).map(|(u, c)| (u.as_str(), c))).collect();
    writes::update_heads(&mut tx, &moved).await?;
    tx.commit().await?;
    if known.0.len() + create.len() > MAX_KNOWN_HEADS {
        known.0.clear();
    }
    known.0.extend(create.iter().map(|u| (*u).to_owned()));
    Ok(outcomes)
}
