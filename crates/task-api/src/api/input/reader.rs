//! The JSON reader of task bodies: the structural checks (unknown and read-only fields,
//! `null` where it is not allowed, wrong JSON types, malformed instants) that turn a body
//! into the domain's unvalidated [`NewTask`] / [`TaskPatch`], with every error found and the
//! top-level fields they were in.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use event_schema::{Priority, Recurrence, RecurrenceAnchor, ReminderRule, SeriesPosition};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use task_domain::{FieldError, NewTask, Rule, TaskPatch, ValidationErrors, parse_instant};
use uuid::Uuid;

/// Fields the server sets; a body that sends one gets `read_only`, not `unknown_field`.
const READ_ONLY: &[&str] = &[
    "id",
    "status",
    "completed_at",
    "series_id",
    "occurrence_at",
    "series_start",
    "occurrence_number",
    "follows",
    "created_at",
    "updated_at",
    "version",
];

/// One field of a body, typed, after the structural checks.
enum Field {
    Title(String),
    Description(Option<String>),
    Priority(Priority),
    Tags(Vec<String>),
    DueAt(Option<DateTime<Utc>>),
    TimeZone(String),
    Reminders(Vec<ReminderRule>),
    Recurrence(Option<Recurrence>),
    Series(SeriesPosition),
}

/// Reads a `POST` body. `series` is read when `series_allowed` (a service acting for the
/// user), and is a `read_only` error otherwise.
pub(super) fn read_new(body: &Value, series_allowed: bool) -> (NewTask, Option<SeriesPosition>, Reader) {
    let mut raw = NewTask::default();
    let mut series = None;
    let mut reader = Reader { series_allowed, ..Reader::default() };
    let mut has_title = false;
    for field in reader.fields(body) {
        match field {
            Field::Title(title) => {
                has_title = true;
                raw.title = title;
            }
            Field::Description(description) => raw.description = description,
            Field::Priority(priority) => raw.priority = priority,
            Field::Tags(tags) => raw.tags = tags,
            Field::DueAt(due_at) => raw.due_at = due_at,
            Field::TimeZone(time_zone) => raw.time_zone = Some(time_zone),
            Field::Reminders(reminders) => raw.reminders = reminders,
            Field::Recurrence(recurrence) => raw.recurrence = recurrence,
            Field::Series(position) => series = Some(position),
        }
    }
    if !has_title && !reader.broken.contains("title") && !reader.broken.contains("") {
        reader.fail("title", "title", Rule::Required, "is required");
    }
    (raw, series, reader)
}

pub(super) fn read_patch(body: &Value) -> (TaskPatch, Reader) {
    let mut raw = TaskPatch::default();
    let mut reader = Reader::default();
    for field in reader.fields(body) {
        match field {
            Field::Title(title) => raw.title = Some(title),
            Field::Description(description) => raw.description = Some(description),
            Field::Priority(priority) => raw.priority = Some(priority),
            Field::Tags(tags) => raw.tags = Some(tags),
            Field::DueAt(due_at) => raw.due_at = Some(due_at),
            Field::TimeZone(time_zone) => raw.time_zone = Some(time_zone),
            Field::Reminders(reminders) => raw.reminders = Some(reminders),
            Field::Recurrence(recurrence) => raw.recurrence = Some(recurrence),
            // Never read for a patch (`series_allowed` is false).
            Field::Series(_) => {}
        }
    }
    (raw, reader)
}

/// Structural errors found while reading, and the top-level fields they were in (`""` for
/// the body itself).
#[derive(Debug, Default)]
pub(super) struct Reader {
    pub(super) errors: ValidationErrors,
    pub(super) broken: HashSet<&'static str>,
    /// Whether the body may carry `series` (a `POST` from a service acting for the user).
    series_allowed: bool,
}

impl Reader {
    fn fail(&mut self, top: &'static str, path: impl Into<String>, rule: Rule, message: impl Into<String>) {
        self.broken.insert(top);
        self.errors.push(FieldError::new(path, rule, message));
    }

    /// The fields of a task body that are present and well-typed.
    fn fields(&mut self, body: &Value) -> Vec<Field> {
        let Some(object) = self.object("", "", body) else { return Vec::new() };
        let mut fields = Vec::with_capacity(object.len());
        for (key, value) in object {
            let field = match key.as_str() {
                "title" => {
                    self.not_null("title", value).and_then(|v| self.string("title", "title", v)).map(Field::Title)
                }
                "description" => {
                    self.nullable(value, |r, v| r.string("description", "description", v)).map(Field::Description)
                }
                "priority" => self
                    .not_null("priority", value)
                    .and_then(|v| self.one_of("priority", "priority", v, "none, low, medium, high, urgent"))
                    .map(Field::Priority),
                "tags" => self.not_null("tags", value).and_then(|v| self.strings("tags", v)).map(Field::Tags),
                "due_at" => self.nullable(value, |r, v| r.instant("due_at", "due_at", v)).map(Field::DueAt),
                "time_zone" => self
                    .not_null("time_zone", value)
                    .and_then(|v| self.string("time_zone", "time_zone", v))
                    .map(Field::TimeZone),
                "reminders" => self.not_null("reminders", value).and_then(|v| self.reminders(v)).map(Field::Reminders),
                "recurrence" => self.nullable(value, Self::recurrence).map(Field::Recurrence),
                "series" if self.series_allowed => self.series(value).map(Field::Series),
                "series" => {
                    self.errors.push(FieldError::new(
                        "series",
                        Rule::ReadOnly,
                        "is set by the recurring-task service: only a service acting for the user (scope \
                         tasks:write_on_behalf) may send it",
                    ));
                    None
                }
                key if READ_ONLY.contains(&key) => {
                    // Not structural for any field: the other fields are still checked.
                    self.errors.push(FieldError::new(key, Rule::ReadOnly, "is set by the server and cannot be sent"));
                    None
                }
                key => {
                    self.errors.push(FieldError::new(key, Rule::UnknownField, "is not a task field"));
                    None
                }
            };
            fields.extend(field);
        }
        fields
    }

    /// `Some(None)` for `null`; otherwise reads the value.
    fn nullable<T>(&mut self, value: &Value, read: impl FnOnce(&mut Self, &Value) -> Option<T>) -> Option<Option<T>> {
        if value.is_null() { Some(None) } else { read(self, value).map(Some) }
    }

    fn not_null<'v>(&mut self, field: &'static str, value: &'v Value) -> Option<&'v Value> {
        if value.is_null() {
            self.fail(field, field, Rule::NotNullable, "cannot be null");
            None
        } else {
            Some(value)
        }
    }

    fn string(&mut self, top: &'static str, path: &str, value: &Value) -> Option<String> {
        match value {
            Value::String(s) => Some(s.clone()),
            other => {
                self.fail(top, path, Rule::Type, format!("must be a string, not {}", kind(other)));
                None
            }
        }
    }

    fn instant(&mut self, top: &'static str, path: &str, value: &Value) -> Option<DateTime<Utc>> {
        let s = self.string(top, path, value)?;
        // In UTC, within years 1 to 9999, to the microsecond: the domain's one parser.
        parse_instant(&s).map_err(|violation| self.fail(top, path, violation.rule, violation.message)).ok()
    }

    fn one_of<T: DeserializeOwned>(
        &mut self,
        top: &'static str,
        path: &str,
        value: &Value,
        allowed: &str,
    ) -> Option<T> {
        let s = self.string(top, path, value)?;
        match serde_json::from_value(Value::String(s)) {
            Ok(value) => Some(value),
            Err(_) => {
                self.fail(top, path, Rule::OneOf, format!("must be one of: {allowed}"));
                None
            }
        }
    }

    fn object<'v>(&mut self, top: &'static str, path: &str, value: &'v Value) -> Option<&'v Map<String, Value>> {
        match value {
            Value::Object(object) => Some(object),
            other => {
                self.fail(top, path, Rule::Type, format!("must be an object, not {}", kind(other)));
                None
            }
        }
    }

    fn array<'v>(&mut self, top: &'static str, value: &'v Value) -> Option<&'v [Value]> {
        match value {
            Value::Array(items) => Some(items),
            other => {
                self.fail(top, top, Rule::Type, format!("must be an array, not {}", kind(other)));
                None
            }
        }
    }

    /// All items or none: one bad item leaves the rest unchecked, so indices stay right.
    fn strings(&mut self, top: &'static str, value: &Value) -> Option<Vec<String>> {
        let items = self.array(top, value)?;
        let strings: Vec<_> =
            items.iter().enumerate().map(|(i, v)| self.string(top, &format!("{top}[{i}]"), v)).collect();
        strings.into_iter().collect()
    }

    fn reminders(&mut self, value: &Value) -> Option<Vec<ReminderRule>> {
        let items = self.array("reminders", value)?;
        let rules: Vec<_> =
            items.iter().enumerate().map(|(i, v)| self.reminder(&format!("reminders[{i}]"), v)).collect();
        rules.into_iter().collect()
    }

    fn reminder(&mut self, path: &str, value: &Value) -> Option<ReminderRule> {
        const TOP: &str = "reminders";
        let object = self.object(TOP, path, value)?;
        let mut rule = None;
        let mut ok = true;
        for (key, value) in object {
            let field = format!("{path}.{key}");
            match key.as_str() {
                "before_due" => match self.string(TOP, &field, value) {
                    Some(before_due) => rule = Some(ReminderRule::BeforeDue { before_due }),
                    None => ok = false,
                },
                "at" => match self.instant(TOP, &field, value) {
                    Some(at) => rule = Some(ReminderRule::At { at }),
                    None => ok = false,
                },
                _ => {
                    self.fail(TOP, field, Rule::UnknownField, "is not a reminder field (before_due or at)");
                    ok = false;
                }
            }
        }
        let shapes = ["before_due", "at"].iter().filter(|k| object.contains_key(**k)).count();
        if shapes != 1 {
            self.fail(TOP, path, Rule::OneOf, "must have exactly one of before_due or at");
            return None;
        }
        if ok { rule } else { None }
    }

    fn recurrence(&mut self, value: &Value) -> Option<Recurrence> {
        const TOP: &str = "recurrence";
        let object = self.object(TOP, TOP, value)?;
        let mut rrule = None;
        let mut anchor = Some(RecurrenceAnchor::Due);
        for (key, value) in object {
            match key.as_str() {
                "rrule" => rrule = self.string(TOP, "recurrence.rrule", value),
                "anchor" if value.is_null() => {
                    self.fail(TOP, "recurrence.anchor", Rule::NotNullable, "cannot be null; it defaults to due");
                }
                "anchor" => anchor = self.one_of(TOP, "recurrence.anchor", value, "due, completion"),
                key => self.fail(TOP, format!("recurrence.{key}"), Rule::UnknownField, "is not a recurrence field"),
            }
        }
        if !object.contains_key("rrule") {
            self.fail(TOP, "recurrence.rrule", Rule::Required, "is required");
        }
        if self.broken.contains(TOP) {
            return None;
        }
        Some(Recurrence { rrule: rrule?, anchor: anchor? })
    }
}

impl Reader {
    /// `series`: `{id, start, occurrence_at, occurrence_number, follows}`, `follows` nullable.
    fn series(&mut self, value: &Value) -> Option<SeriesPosition> {
        const TOP: &str = "series";
        let object = self.object(TOP, TOP, value)?;
        let (mut id, mut start, mut occurrence_at, mut number, mut follows) = (None, None, None, None, Some(None));
        for (key, value) in object {
            let path = format!("series.{key}");
            match key.as_str() {
                "id" => id = self.string(TOP, &path, value).and_then(|s| self.uuid(&path, &s)),
                "start" => start = self.instant(TOP, &path, value),
                "occurrence_at" => occurrence_at = self.instant(TOP, &path, value),
                "occurrence_number" => match value.as_u64().map(u32::try_from) {
                    Some(Ok(n)) if n >= 1 => number = Some(n),
                    Some(_) => self.fail(TOP, path, Rule::Range, "must be 1 to 4294967295"),
                    None => self.fail(TOP, path, Rule::Type, "must be a positive integer"),
                },
                "follows" => follows = self.nullable(value, |r, v| r.instant(TOP, "series.follows", v)),
                _ => self.fail(TOP, path, Rule::UnknownField, "is not a series field"),
            }
        }
        for required in ["id", "start", "occurrence_at", "occurrence_number"] {
            if !object.contains_key(required) {
                self.fail(TOP, format!("series.{required}"), Rule::Required, "is required");
            }
        }
        if self.broken.contains(TOP) {
            return None;
        }
        Some(SeriesPosition {
            id: id?,
            start: start?,
            occurrence_at: occurrence_at?,
            occurrence_number: number?,
            follows: follows?,
        })
    }

    /// The hyphenated form only (`format: uuid` in the document), not the braced, URN or
    /// simple forms `Uuid::parse_str` also reads.
    fn uuid(&mut self, path: &str, s: &str) -> Option<Uuid> {
        match Uuid::parse_str(s) {
            Ok(id) if s.len() == 36 => Some(id),
            _ => {
                self.fail("series", path, Rule::Format, "must be a UUID such as 01a23150-256d-761d-a939-0282a6f8a448");
                None
            }
        }
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
