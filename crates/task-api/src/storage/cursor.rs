//! [`Cursor`]: where the next page of a list starts, opaque to clients.
//!
//! Encoded as URL-safe base64 (no padding) of JSON: the sort spec it was issued for (`s`,
//! e.g. `-priority,due_at`), the last row's values of those keys (`k`) and its id (`id`).
//! Instants are RFC 3339 with microseconds, the priority its rank, the title lower-cased.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use task_domain::Task;
use uuid::Uuid;

use super::list::{SortField, SortKey};
use service_runtime::database::Arg;

/// Longest encoded cursor accepted: far above what a 200-character title needs.
const MAX_ENCODED_LEN: usize = 4096;

/// Where the next page starts: after the row with these sort-key values and this id.
/// Only valid with the sort it was issued for.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    sort: Vec<SortKey>,
    keys: Vec<KeyValue>,
    id: Uuid,
}

/// Why a cursor was refused. Either way the client sent a `cursor` this API did not issue
/// for this request: answer 422 naming `cursor`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    /// Not base64, not JSON, or values of the wrong type.
    #[error("is not a cursor this list returned")]
    Malformed,
    /// Issued for a different `sort`.
    #[error("was issued for a different sort")]
    SortMismatch,
}

/// One sort key's value in a cursor, as the column holds it.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum KeyValue {
    /// An instant (`None`: no due date).
    Time(Option<DateTime<Utc>>),
    /// The priority rank.
    Int(i64),
    /// The lower-cased title.
    Text(String),
}

impl KeyValue {
    /// The bind argument, `None` for NULL.
    pub(super) fn to_arg(&self) -> Option<Arg> {
        match self {
            Self::Time(t) => t.map(Arg::Time),
            Self::Int(n) => Some(Arg::Int(*n)),
            Self::Text(s) => Some(Arg::Text(s.clone())),
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Self::Time(t) => t.map_or(Value::Null, |t| Value::String(t.to_rfc3339_opts(SecondsFormat::Micros, true))),
            Self::Int(n) => Value::from(*n),
            Self::Text(s) => Value::String(s.clone()),
        }
    }

    fn from_json(field: SortField, value: &Value) -> Option<Self> {
        match (field, value) {
            (SortField::DueAt, Value::Null) => Some(Self::Time(None)),
            (SortField::DueAt | SortField::CreatedAt | SortField::UpdatedAt, Value::String(s)) => {
                DateTime::parse_from_rfc3339(s).ok().map(|t| Self::Time(Some(t.to_utc())))
            }
            (SortField::Priority, Value::Number(n)) => n.as_i64().filter(|n| (0..=4).contains(n)).map(Self::Int),
            (SortField::Title, Value::String(s)) => Some(Self::Text(s.clone())),
            _ => None,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    s: String,
    k: Vec<Value>,
    id: Uuid,
}

impl Cursor {
    /// The cursor after `task` in the order of `sort`.
    pub(super) fn after(task: &Task, sort: &[SortKey]) -> Self {
        Self { sort: sort.to_vec(), keys: sort.iter().map(|k| k.field.value_of(task)).collect(), id: task.id() }
    }

    /// The opaque form handed to clients (URL-safe, no padding).
    pub fn encode(&self) -> String {
        let wire = Wire { s: spec(&self.sort), k: self.keys.iter().map(KeyValue::to_json).collect(), id: self.id };
        // Serialising strings, numbers and a UUID cannot fail.
        let json = serde_json::to_vec(&wire).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    /// Reads a cursor a client sent back. Checks its form only; whether it fits the
    /// request's sort is [`Cursor::check_sort`] (the list checks it too).
    pub fn decode(encoded: &str) -> Result<Self, CursorError> {
        if encoded.len() > MAX_ENCODED_LEN {
            return Err(CursorError::Malformed);
        }
        let json = URL_SAFE_NO_PAD.decode(encoded.trim()).map_err(|_| CursorError::Malformed)?;
        let wire: Wire = serde_json::from_slice(&json).map_err(|_| CursorError::Malformed)?;
        let sort = parse_spec(&wire.s).ok_or(CursorError::Malformed)?;
        if sort.len() != wire.k.len() {
            return Err(CursorError::Malformed);
        }
        let keys = sort
            .iter()
            .zip(&wire.k)
            .map(|(key, value)| KeyValue::from_json(key.field, value))
            .collect::<Option<Vec<_>>>()
            .ok_or(CursorError::Malformed)?;
        Ok(Self { sort, keys, id: wire.id })
    }

    /// Decodes and checks the cursor against the request's sort in one step.
    pub fn decode_for(encoded: &str, sort: &[SortKey]) -> Result<Self, CursorError> {
        let cursor = Self::decode(encoded)?;
        cursor.check_sort(sort)?;
        Ok(cursor)
    }

    /// `Ok` when the cursor was issued for `sort`; [`CursorError::SortMismatch`] otherwise.
    pub fn check_sort(&self, sort: &[SortKey]) -> Result<(), CursorError> {
        if self.sort == sort { Ok(()) } else { Err(CursorError::SortMismatch) }
    }

    pub(super) fn keys(&self) -> &[KeyValue] {
        &self.keys
    }

    pub(super) fn id(&self) -> Uuid {
        self.id
    }
}

/// The sort spec as the API writes it: `-priority,due_at`.
fn spec(sort: &[SortKey]) -> String {
    sort.iter()
        .map(|k| format!("{}{}", if k.descending { "-" } else { "" }, k.field.as_str()))
        .collect::<Vec<_>>()
        .join(",")
}

fn parse_spec(spec: &str) -> Option<Vec<SortKey>> {
    if spec.is_empty() {
        return Some(Vec::new());
    }
    spec.split(',')
        .map(|item| {
            let (descending, name) = item.strip_prefix('-').map_or((false, item), |name| (true, name));
            SortField::parse(name).map(|field| SortKey { field, descending })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sort() -> Vec<SortKey> {
        vec![
            SortKey { field: SortField::Priority, descending: true },
            SortKey { field: SortField::DueAt, descending: false },
            SortKey { field: SortField::Title, descending: false },
        ]
    }

    fn cursor() -> Cursor {
        Cursor {
            sort: sort(),
            keys: vec![KeyValue::Int(3), KeyValue::Time(None), KeyValue::Text("écrire".into())],
            id: Uuid::now_v7(),
        }
    }

    #[test]
    fn a_cursor_survives_encoding_and_decoding() {
        let original = cursor();

        let encoded = original.encode();

        assert!(encoded.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'), "{encoded}");
        assert_eq!(Cursor::decode(&encoded), Ok(original));
    }

    #[test]
    fn instants_keep_their_microseconds() {
        let due = DateTime::parse_from_rfc3339("2026-03-01T09:00:00.123456Z").expect("instant").to_utc();
        let original = Cursor {
            sort: vec![SortKey { field: SortField::DueAt, descending: false }],
            keys: vec![KeyValue::Time(Some(due))],
            id: Uuid::nil(),
        };

        assert_eq!(Cursor::decode(&original.encode()), Ok(original));
    }

    #[test]
    fn a_cursor_is_refused_for_another_sort() {
        let encoded = cursor().encode();
        let mut other = sort();
        other[0].descending = false;

        assert_eq!(Cursor::decode_for(&encoded, &other), Err(CursorError::SortMismatch));
        assert!(Cursor::decode_for(&encoded, &sort()).is_ok());
    }

    #[test]
    fn garbage_and_tampered_cursors_are_malformed() {
        let tampered =
            URL_SAFE_NO_PAD.encode(br#"{"s":"priority","k":["high"],"id":"00000000-0000-0000-0000-000000000000"}"#);
        let short =
            URL_SAFE_NO_PAD.encode(br#"{"s":"priority,title","k":[1],"id":"00000000-0000-0000-0000-000000000000"}"#);

        assert_eq!(Cursor::decode("not a cursor!"), Err(CursorError::Malformed));
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(b"[]")), Err(CursorError::Malformed));
        assert_eq!(Cursor::decode(&tampered), Err(CursorError::Malformed));
        assert_eq!(Cursor::decode(&short), Err(CursorError::Malformed));
    }
}
