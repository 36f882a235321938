//! The per-user hash chain that makes the trail tamper-evident. Pure: no I/O.
//!
//! Each user's entries are numbered `1, 2, 3, …` (`chain_seq`) in the order they were recorded.
//! Every entry stores its predecessor's hash (`prev_hash`; [`GENESIS`] for the first) and its
//! own: SHA-256 over a canonical encoding of all of its content, `prev_hash` included
//! ([`entry_hash`]). Changing, removing or reordering an entry therefore breaks the chain at
//! that entry, which [`Verifier`] reports.
//!
//! Canonical encoding (version 1): the bytes `taskstream.audit.v1`, then each field in a fixed
//! order as a 4-byte big-endian length followed by its UTF-8 bytes, with `0xFFFFFFFF` and no
//! bytes for an absent value. Numbers are decimal text, instants RFC 3339 UTC with exactly six
//! fractional digits, UUIDs lower-case hyphenated, Booleans `0`/`1`. Lengths make the
//! encoding unambiguous (no two contents encode alike), unlike a separator would.
//!
//! Retention removes a chain's oldest entries; the chain head then keeps the last removed
//! entry's number and hash as its anchor, so the remaining entries still verify from there.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use sha2::{Digest as _, Sha256};

use crate::entry::NewEntry;

/// `prev_hash` of a user's first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

const DOMAIN: &[u8] = b"taskstream.audit.v1";

/// An entry's place in its chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainLink {
    /// Position in the user's chain, from 1.
    pub seq: i64,
    /// The predecessor's hash ([`GENESIS`] for the first entry).
    pub prev_hash: String,
    /// This entry's hash (hex SHA-256).
    pub hash: String,
}

/// A recorded entry: the event, when it was recorded, and its link.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// The event.
    pub event: NewEntry,
    /// When the audit service recorded it (never earlier than its predecessor's).
    pub recorded_at: DateTime<Utc>,
    /// Its place in the user's chain.
    pub link: ChainLink,
}

/// The last entry of a user's chain, or where retention cut it (an anchor).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainPoint {
    /// The entry's number (0 before the first).
    pub seq: i64,
    /// Its hash ([`GENESIS`] before the first).
    pub hash: String,
}

impl ChainPoint {
    /// Before a chain's first entry.
    pub fn genesis() -> Self {
        Self { seq: 0, hash: GENESIS.to_owned() }
    }
}

/// The hash of an entry with content `event`, recorded at `recorded_at` as number `seq` after
/// the entry hashed `prev_hash`.
pub fn entry_hash(event: &NewEntry, recorded_at: DateTime<Utc>, seq: i64, prev_hash: &str) -> String {
    let mut e = Encoder(Sha256::new());
    e.0.update(DOMAIN);
    e.field(Some(&event.user_id));
    e.field(Some(&seq.to_string()));
    e.field(Some(prev_hash));
    e.field(Some(&event.event_id.hyphenated().to_string()));
    e.field(Some(&event.event_type));
    e.field(Some(if event.known_type { "1" } else { "0" }));
    e.field(Some(&event.subject));
    e.field(Some(&event.actor));
    e.field(Some(&instant(event.occurred_at)));
    e.field(Some(&instant(recorded_at)));
    e.field(Some(&event.source.topic));
    e.field(Some(&event.source.partition.to_string()));
    e.field(Some(&event.source.offset.to_string()));
    e.field(event.correlation_id.as_deref());
    e.field(Some(&event.payload));
    let changes = event.changes.as_ref().map(|c| serde_json::to_string(c).unwrap_or_default());
    e.field(changes.as_deref());
    hex::encode(e.0.finalize())
}

/// Appends entries to a chain: numbers them, links them and keeps recording times monotonic.
#[derive(Debug, Clone)]
pub struct Appender {
    last: ChainPoint,
    last_recorded_at: Option<DateTime<Utc>>,
}

impl Appender {
    /// Continues a chain whose last entry is `last`, recorded at `last_recorded_at`.
    pub fn new(last: ChainPoint, last_recorded_at: Option<DateTime<Utc>>) -> Self {
        Self { last, last_recorded_at }
    }

    /// Places `event` after the last entry, recorded at `now` (or at the predecessor's time if
    /// the clock went back, so a chain's recording times never decrease: retention by age
    /// always removes a prefix of the chain).
    pub fn append(&mut self, event: NewEntry, now: DateTime<Utc>) -> Entry {
        let recorded_at = self.last_recorded_at.map_or(now, |last| now.max(last));
        let seq = self.last.seq + 1;
        let prev_hash = std::mem::take(&mut self.last.hash);
        let hash = entry_hash(&event, recorded_at, seq, &prev_hash);
        self.last = ChainPoint { seq, hash: hash.clone() };
        self.last_recorded_at = Some(recorded_at);
        Entry { event, recorded_at, link: ChainLink { seq, prev_hash, hash } }
    }

    /// The chain's last entry so far.
    pub fn last(&self) -> &ChainPoint {
        &self.last
    }

    /// When the last entry was recorded.
    pub fn last_recorded_at(&self) -> Option<DateTime<Utc>> {
        self.last_recorded_at
    }
}

/// Where and why a chain is broken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    /// The chain's user.
    pub user_id: String,
    /// The number of the first entry that does not verify (for a missing tail: the first
    /// missing number).
    pub seq: i64,
    /// That entry's event id, when the entry exists.
    pub event_id: Option<uuid::Uuid>,
    /// What is wrong.
    pub reason: String,
}

/// Checks one user's entries in chain order, stopping at the first broken link.
#[derive(Debug)]
pub struct Verifier {
    user_id: String,
    expected: ChainPoint,
    checked: u64,
    broken: Option<BrokenLink>,
}

impl Verifier {
    /// Starts after `anchor` (genesis, or the last entry retention removed).
    pub fn new(user_id: impl Into<String>, anchor: ChainPoint) -> Self {
        Self { user_id: user_id.into(), expected: anchor, checked: 0, broken: None }
    }

    /// Checks the next stored entry; `false` once the chain is broken (stop feeding it).
    pub fn check(&mut self, entry: &Entry) -> bool {
        if self.broken.is_some() {
            return false;
        }
        let seq = self.expected.seq + 1;
        let reason = if entry.link.seq != seq {
            Some(format!("entry {seq} is missing (the next stored entry is {})", entry.link.seq))
        } else if entry.link.prev_hash != self.expected.hash {
            Some("prev_hash does not match the previous entry's hash".to_owned())
        } else if entry_hash(&entry.event, entry.recorded_at, entry.link.seq, &entry.link.prev_hash) != entry.link.hash
        {
            Some("content does not match its hash (the entry was changed)".to_owned())
        } else {
            None
        };
        if let Some(reason) = reason {
            self.broken = Some(BrokenLink {
                user_id: self.user_id.clone(),
                seq: entry.link.seq.min(seq),
                event_id: (entry.link.seq <= seq).then_some(entry.event.event_id),
                reason,
            });
            return false;
        }
        self.checked += 1;
        self.expected = ChainPoint { seq, hash: entry.link.hash.clone() };
        true
    }

    /// Ends the check against the chain head (the last entry the service recorded): entries
    /// removed from the end are found here.
    pub fn finish(mut self, head: &ChainPoint) -> ChainReport {
        if self.broken.is_none() && (head.seq != self.expected.seq || head.hash != self.expected.hash) {
            self.broken = Some(BrokenLink {
                user_id: self.user_id.clone(),
                seq: self.expected.seq + 1,
                event_id: None,
                reason: format!(
                    "the chain ends at entry {} but its head records entry {} (entries were removed)",
                    self.expected.seq, head.seq
                ),
            });
        }
        ChainReport {
            user_id: self.user_id,
            entries_checked: self.checked,
            head_seq: head.seq,
            head: head.hash.clone(),
            broken: self.broken,
        }
    }
}

/// The outcome of verifying one chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    /// The chain's user.
    pub user_id: String,
    /// Entries that verified before the first broken link (all of them when none is broken).
    pub entries_checked: u64,
    /// The head's number: the chain's last entry.
    pub head_seq: i64,
    /// The head's hash: record it elsewhere to detect a chain rewritten wholesale later.
    pub head: String,
    /// The first broken link, if any.
    pub broken: Option<BrokenLink>,
}

fn instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

struct Encoder(Sha256);

impl Encoder {
    fn field(&mut self, value: Option<&str>) {
        match value {
            Some(v) => {
                let len = u32::try_from(v.len()).unwrap_or(u32::MAX - 1);
                self.0.update(len.to_be_bytes());
                self.0.update(v.as_bytes());
            }
            None => self.0.update(u32::MAX.to_be_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use uuid::Uuid;

    use super::*;
    use crate::entry::SourcePosition;

    fn event(n: i64) -> NewEntry {
        NewEntry {
            event_id: Uuid::from_u128(n as u128),
            event_type: "task.updated".into(),
            known_type: true,
            subject: "task-1".into(),
            user_id: "alice".into(),
            actor: "alice".into(),
            occurred_at: Utc.timestamp_opt(1_700_000_000 + n, 0).single().expect("valid"),
            source: SourcePosition { topic: "task-events".into(), partition: 0, offset: n },
            correlation_id: None,
            payload: format!(r#"{{"n":{n}}}"#),
            changes: None,
        }
    }

    fn at(s: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_800_000_000 + s, 0).single().expect("valid")
    }

    fn chain(n: i64) -> Vec<Entry> {
        let mut appender = Appender::new(ChainPoint::genesis(), None);
        (1..=n).map(|i| appender.append(event(i), at(i))).collect()
    }

    fn verify(entries: &[Entry], anchor: ChainPoint, head: &ChainPoint) -> ChainReport {
        let mut verifier = Verifier::new("alice", anchor);
        for entry in entries {
            if !verifier.check(entry) {
                break;
            }
        }
        verifier.finish(head)
    }

    fn head(entries: &[Entry]) -> ChainPoint {
        let last = entries.last().expect("not empty");
        ChainPoint { seq: last.link.seq, hash: last.link.hash.clone() }
    }

    #[test]
    fn an_untouched_chain_verifies_from_genesis() {
        let entries = chain(5);
        assert_eq!(entries[0].link.prev_hash, GENESIS);
        assert_eq!(entries[1].link.prev_hash, entries[0].link.hash);
        let report = verify(&entries, ChainPoint::genesis(), &head(&entries));
        assert_eq!(report.broken, None);
        assert_eq!(report.entries_checked, 5);
    }

    #[test]
    fn a_changed_payload_is_reported_at_exactly_that_entry() {
        let mut entries = chain(5);
        let head = head(&entries);
        entries[2].event.payload = r#"{"n":99}"#.into();
        let broken = verify(&entries, ChainPoint::genesis(), &head).broken.expect("broken");
        assert_eq!((broken.seq, broken.event_id), (3, Some(entries[2].event.event_id)));
        assert!(broken.reason.contains("changed"), "{}", broken.reason);
    }

    #[test]
    fn a_rehashed_entry_breaks_the_link_to_its_successor() {
        let mut entries = chain(5);
        let head = head(&entries);
        entries[2].event.payload = r#"{"n":99}"#.into();
        entries[2].link.hash = entry_hash(&entries[2].event, entries[2].recorded_at, 3, &entries[2].link.prev_hash);
        let broken = verify(&entries, ChainPoint::genesis(), &head).broken.expect("broken");
        assert_eq!(broken.seq, 4);
        assert!(broken.reason.contains("prev_hash"), "{}", broken.reason);
    }

    #[test]
    fn a_removed_middle_entry_and_a_removed_tail_are_reported() {
        let entries = chain(5);
        let mut gap = entries.clone();
        gap.remove(1);
        let broken = verify(&gap, ChainPoint::genesis(), &head(&entries)).broken.expect("broken");
        assert_eq!((broken.seq, broken.event_id), (2, None));

        let broken = verify(&entries[..3], ChainPoint::genesis(), &head(&entries)).broken.expect("broken");
        assert_eq!(broken.seq, 4);
        assert!(broken.reason.contains("removed"), "{}", broken.reason);
    }

    #[test]
    fn after_retention_the_rest_verifies_from_the_anchor() {
        let entries = chain(5);
        let anchor = ChainPoint { seq: 2, hash: entries[1].link.hash.clone() };
        let report = verify(&entries[2..], anchor, &head(&entries));
        assert_eq!(report.broken, None);
        assert_eq!(report.entries_checked, 3);
    }

    #[test]
    fn recording_times_never_decrease_along_a_chain() {
        let mut appender = Appender::new(ChainPoint::genesis(), None);
        let first = appender.append(event(1), at(10));
        let second = appender.append(event(2), at(5));
        assert_eq!(second.recorded_at, first.recorded_at);
    }

    #[test]
    fn absent_and_empty_values_hash_differently() {
        let mut with_empty = event(1);
        with_empty.correlation_id = Some(String::new());
        assert_ne!(entry_hash(&event(1), at(1), 1, GENESIS), entry_hash(&with_empty, at(1), 1, GENESIS));
    }
}
