//! Request bodies: [`NewTask`] (`POST`) and [`TaskPatch`] (`PATCH`), and what they validate
//! into: [`ValidNewTask`] and [`ValidTaskPatch`].
//!
//! Reading a body collects every error, not the first: unknown and read-only fields, wrong
//! JSON types and malformed instants (structural errors), then the rules of each field, then
//! the rules across fields. A field with a structural error is not checked further, so it
//! never reports a second, misleading error.

use std::collections::HashSet;

use chrono::{DateTime, SubsecRound, Utc};
use event_schema::{Priority, Recurrence, RecurrenceAnchor, ReminderRule};
use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

use super::error::{FieldError, Rule, ValidationErrors, Violation};
use super::recurrence::RecurrenceRule;
use super::reminder::Reminders;
use super::tags::Tags;
use super::text::{Description, Title};
use super::time_zone::TimeZone;

/// Fields the server sets; a body that sends one gets `read_only`, not `unknown_field`.
const READ_ONLY: &[&str] =
    &["id", "status", "completed_at", "series_id", "occurrence_at", "created_at", "updated_at", "version"];

/// The body of `POST /tasks`, before validation: JSON names, wire types.
///
/// Prefer [`NewTask::from_json`] for a request body: it reports every error. The
/// `Deserialize` impl applies the same structural rules (unknown fields are an error, not
/// ignored) but can only fail with one message, and [`NewTask::validate`] must follow it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewTask {
    /// Required.
    pub title: String,
    /// Optional; `null` is the same as absent.
    pub description: Option<String>,
    /// `none` unless given.
    pub priority: Priority,
    /// Empty unless given.
    pub tags: Vec<String>,
    /// Optional; `null` is the same as absent.
    pub due_at: Option<DateTime<Utc>>,
    /// `UTC` unless given.
    pub time_zone: Option<String>,
    /// Empty unless given.
    pub reminders: Vec<ReminderRule>,
    /// Optional; `null` is the same as absent. In JSON, `anchor` defaults to `due`.
    pub recurrence: Option<Recurrence>,
}

/// A validated [`NewTask`]: every field valid, and the rules across fields hold
/// (`before_due` reminders and recurrence have a `due_at`; the recurrence repeats).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidNewTask {
    pub(crate) title: Title,
    pub(crate) description: Option<Description>,
    pub(crate) priority: Priority,
    pub(crate) tags: Tags,
    pub(crate) due_at: Option<DateTime<Utc>>,
    pub(crate) time_zone: TimeZone,
    pub(crate) reminders: Reminders,
    pub(crate) recurrence: Option<RecurrenceRule>,
}

impl NewTask {
    /// Reads and validates a `POST` body, collecting every error.
    pub fn from_json(body: &Value) -> Result<ValidNewTask, ValidationErrors> {
        let (raw, reader) = read_new(body);
        let mut errors = reader.errors;
        match validate_new(&raw, &reader.broken) {
            Ok(valid) if errors.is_empty() => Ok(valid),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    /// Validates every field and the rules across fields.
    pub fn validate(&self) -> Result<ValidNewTask, ValidationErrors> {
        validate_new(self, &HashSet::new())
    }
}

impl<'de> Deserialize<'de> for NewTask {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (raw, reader) = read_new(&Value::deserialize(deserializer)?);
        if reader.errors.is_empty() { Ok(raw) } else { Err(D::Error::custom(reader.errors)) }
    }
}

/// The body of `PATCH /tasks/{id}`, before validation. For each field, `None` means absent
/// (unchanged); for the nullable fields `description`, `due_at` and `recurrence`,
/// `Some(None)` means `null` (clear it). `null` for any other field is an error
/// (`not_nullable`): send `"none"`, `[]` or `"UTC"` to reset those.
///
/// Prefer [`TaskPatch::from_json`] for a request body; see [`NewTask`] on `Deserialize`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskPatch {
    /// New title.
    pub title: Option<String>,
    /// New description, or `Some(None)` to clear it.
    pub description: Option<Option<String>>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New tags (the whole list).
    pub tags: Option<Vec<String>>,
    /// New due instant, or `Some(None)` to clear it.
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New time zone.
    pub time_zone: Option<String>,
    /// New reminders (the whole list).
    pub reminders: Option<Vec<ReminderRule>>,
    /// New recurrence, or `Some(None)` to clear it.
    pub recurrence: Option<Option<Recurrence>>,
}

/// A validated [`TaskPatch`]: each field given is valid on its own. The rules across fields
/// are checked by [`Task::apply`](super::Task::apply), against the task it changes.
/// Fields are public so that services can build a patch directly from domain values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ValidTaskPatch {
    /// New title.
    pub title: Option<Title>,
    /// New description, or `Some(None)` to clear it.
    pub description: Option<Option<Description>>,
    /// New priority.
    pub priority: Option<Priority>,
    /// New tags.
    pub tags: Option<Tags>,
    /// New due instant (kept to the microsecond), or `Some(None)` to clear it.
    pub due_at: Option<Option<DateTime<Utc>>>,
    /// New time zone.
    pub time_zone: Option<TimeZone>,
    /// New reminders.
    pub reminders: Option<Reminders>,
    /// New recurrence, or `Some(None)` to clear it.
    pub recurrence: Option<Option<RecurrenceRule>>,
}

impl ValidTaskPatch {
    /// Whether the patch names no field at all.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

impl TaskPatch {
    /// Reads and validates a `PATCH` body, collecting every error.
    pub fn from_json(body: &Value) -> Result<ValidTaskPatch, ValidationErrors> {
        let (raw, reader) = read_patch(body);
        let mut errors = reader.errors;
        match validate_patch(&raw, &reader.broken) {
            Ok(valid) if errors.is_empty() => Ok(valid),
            Ok(_) => Err(errors),
            Err(more) => {
                errors.extend(more);
                Err(errors)
            }
        }
    }

    /// Validates each field given.
    pub fn validate(&self) -> Result<ValidTaskPatch, ValidationErrors> {
        validate_patch(self, &HashSet::new())
    }
}

impl<'de> Deserialize<'de> for TaskPatch {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (raw, reader) = read_patch(&Value::deserialize(deserializer)?);
        if reader.errors.is_empty() { Ok(raw) } else { Err(D::Error::custom(reader.errors)) }
    }
}

// --- Validation -------------------------------------------------------------------------

/// Whether the top-level field of `path` (`recurrence` for `recurrence.rrule`), or the body
/// itself (`""`), failed structurally.
fn is_broken(broken: &HashSet<&str>, path: &str) -> bool {
    broken.contains("") || broken.contains(path.split(['.', '[']).next().unwrap_or(path))
}

/// Runs `check` unless `field` already failed structurally; records its violation at `field`.
fn check<T>(
    errors: &mut ValidationErrors,
    broken: &HashSet<&str>,
    field: &str,
    check: impl FnOnce() -> Result<T, Violation>,
) -> Option<T> {
    if is_broken(broken, field) {
        return None;
    }
    check().map_err(|v| errors.push(v.at(field))).ok()
}

/// Like [`check`], for checks that name their own fields.
fn check_all<T>(
    errors: &mut ValidationErrors,
    broken: &HashSet<&str>,
    field: &str,
    check: impl FnOnce() -> Result<T, ValidationErrors>,
) -> Option<T> {
    if is_broken(broken, field) {
        return None;
    }
    check().map_err(|e| errors.extend(e)).ok()
}

fn validate_new(raw: &NewTask, broken: &HashSet<&str>) -> Result<ValidNewTask, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let e = &mut errors;
    let title = check(e, broken, "title", || Title::parse(&raw.title));
    let description =
        check(e, broken, "description", || raw.description.as_deref().map(Description::parse).transpose());
    let tags = check_all(e, broken, "tags", || Tags::parse(&raw.tags));
    let time_zone =
        check(e, broken, "time_zone", || raw.time_zone.as_deref().map_or(Ok(TimeZone::UTC), TimeZone::parse));
    let reminders = check_all(e, broken, "reminders", || Reminders::parse(&raw.reminders));
    let recurrence =
        check(e, broken, "recurrence.rrule", || raw.recurrence.as_ref().map(RecurrenceRule::try_from).transpose());
    let due_at = raw.due_at.map(|d| d.trunc_subsecs(6));
    // Structurally broken fields were reported already; checking them across would only
    // add noise ("needs due_at" when due_at was merely misspelt as a number).
    if !is_broken(broken, "due_at") {
        errors.extend(cross_field_errors(
            due_at,
            time_zone,
            reminders.as_ref().unwrap_or(&Reminders::default()),
            recurrence.as_ref().and_then(Option::as_ref),
        ));
    }
    match (title, description, tags, time_zone, reminders, recurrence) {
        (Some(title), Some(description), Some(tags), Some(time_zone), Some(reminders), Some(recurrence))
            if errors.is_empty() =>
        {
            Ok(ValidNewTask {
                title,
                description,
                priority: raw.priority,
                tags,
                due_at,
                time_zone,
                reminders,
                recurrence,
            })
        }
        _ => Err(errors),
    }
}

fn validate_patch(raw: &TaskPatch, broken: &HashSet<&str>) -> Result<ValidTaskPatch, ValidationErrors> {
    let mut errors = ValidationErrors::default();
    let e = &mut errors;
    let mut patch = ValidTaskPatch {
        priority: raw.priority,
        due_at: raw.due_at.map(|d| d.map(|d| d.trunc_subsecs(6))),
        ..ValidTaskPatch::default()
    };
    if let Some(title) = &raw.title {
        patch.title = check(e, broken, "title", || Title::parse(title));
    }
    if let Some(description) = &raw.description {
        patch.description =
            check(e, broken, "description", || description.as_deref().map(Description::parse).transpose());
    }
    if let Some(tags) = &raw.tags {
        patch.tags = check_all(e, broken, "tags", || Tags::parse(tags));
    }
    if let Some(time_zone) = &raw.time_zone {
        patch.time_zone = check(e, broken, "time_zone", || TimeZone::parse(time_zone));
    }
    if let Some(reminders) = &raw.reminders {
        patch.reminders = check_all(e, broken, "reminders", || Reminders::parse(reminders));
    }
    if let Some(recurrence) = &raw.recurrence {
        patch.recurrence =
            check(e, broken, "recurrence.rrule", || recurrence.as_ref().map(RecurrenceRule::try_from).transpose());
    }
    errors.into_result(|| patch)
}

/// The rules across fields, for a task with these values. `time_zone` is `None` when it is
/// invalid (the recurrence is then not evaluated).
pub(crate) fn cross_field_errors(
    due_at: Option<DateTime<Utc>>,
    time_zone: Option<TimeZone>,
    reminders: &Reminders,
    recurrence: Option<&RecurrenceRule>,
) -> ValidationErrors {
    let mut errors = ValidationErrors::default();
    if due_at.is_none() {
        for (i, _) in reminders.iter().enumerate().filter(|(_, r)| r.needs_due_at()) {
            errors.push(FieldError::new(
                format!("reminders[{i}].before_due"),
                Rule::RequiresDueAt,
                "needs the task to have due_at",
            ));
        }
    }
    match (recurrence, due_at, time_zone) {
        (Some(_), None, _) => {
            errors.push(FieldError::new("recurrence", Rule::RequiresDueAt, "needs the task to have due_at"));
        }
        (Some(recurrence), Some(due_at), Some(time_zone)) => {
            if let Err(v) = recurrence.check_start(due_at, time_zone) {
                errors.push(v.at("recurrence.rrule"));
            }
        }
        _ => {}
    }
    errors
}

// --- Reading JSON -----------------------------------------------------------------------

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
}

fn read_new(body: &Value) -> (NewTask, Reader) {
    let mut raw = NewTask::default();
    let mut reader = Reader::default();
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
        }
    }
    if !has_title && !reader.broken.contains("title") && !reader.broken.contains("") {
        reader.fail("title", "title", Rule::Required, "is required");
    }
    (raw, reader)
}

fn read_patch(body: &Value) -> (TaskPatch, Reader) {
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
        }
    }
    (raw, reader)
}

/// Structural errors found while reading, and the top-level fields they were in (`""` for
/// the body itself).
#[derive(Default)]
struct Reader {
    errors: ValidationErrors,
    broken: HashSet<&'static str>,
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
        match DateTime::parse_from_rfc3339(&s) {
            // Microseconds: what the database keeps, so a stored and reloaded task is equal.
            Ok(instant) => Some(instant.to_utc().trunc_subsecs(6)),
            Err(_) => {
                self.fail(
                    top,
                    path,
                    Rule::Format,
                    "must be an RFC 3339 instant with an offset, e.g. 2026-03-01T09:00:00Z",
                );
                None
            }
        }
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn fields(errors: &ValidationErrors) -> Vec<(&str, Rule)> {
        errors.errors().iter().map(|e| (e.field.as_str(), e.rule)).collect()
    }

    #[test]
    fn a_minimal_body_gets_the_defaults() {
        let task = NewTask::from_json(&json!({"title": "  Buy milk "})).expect("valid");

        assert_eq!(task.title.as_str(), "Buy milk");
        assert_eq!(task.priority, Priority::None);
        assert_eq!(task.time_zone, TimeZone::UTC);
        assert!(task.tags.is_empty() && task.reminders.is_empty() && task.recurrence.is_none());
    }

    #[test]
    fn a_full_body_is_read_into_domain_values() {
        let task = NewTask::from_json(&json!({
            "title": "Stand-up",
            "description": "daily",
            "priority": "high",
            "tags": ["Work"],
            "due_at": "2026-03-02T09:00:00+01:00",
            "time_zone": "Europe/Berlin",
            "reminders": [{"before_due": "PT15M"}, {"at": "2026-03-01T18:00:00Z"}],
            "recurrence": {"rrule": "FREQ=WEEKLY;BYDAY=MO,WE"}
        }))
        .expect("valid");

        assert_eq!(task.due_at, DateTime::parse_from_rfc3339("2026-03-02T08:00:00Z").ok().map(|d| d.to_utc()));
        assert_eq!(task.tags.as_slice(), ["work"]);
        assert_eq!(task.reminders.len(), 2);
        assert_eq!(task.recurrence.map(|r| r.anchor()), Some(RecurrenceAnchor::Due), "anchor defaults to due");
    }

    #[test]
    fn every_invalid_field_is_reported_with_its_path_and_rule() {
        let errors = NewTask::from_json(&json!({
            "title": "x".repeat(201),
            "priority": "super",
            "tags": ["a", "A"],
            "time_zone": "Mars/Base",
            "reminders": [{"before_due": "PT15M"}, {"before_due": "P2Y"}, {"at": "tomorrow"}],
            "recurrence": {"rrule": "FREQ=MINUTELY", "anchor": "due"},
            "colour": "red",
            "version": 7
        }))
        .expect_err("invalid");

        let mut found = fields(&errors);
        found.sort();
        let mut expected = vec![
            ("colour", Rule::UnknownField),
            ("version", Rule::ReadOnly),
            ("priority", Rule::OneOf),
            ("reminders[2].at", Rule::Format),
            ("title", Rule::MaxLength),
            ("tags[1]", Rule::Duplicate),
            ("time_zone", Rule::UnknownTimeZone),
            ("recurrence.rrule", Rule::Unsupported),
        ];
        expected.sort();
        assert_eq!(found, expected, "{errors}");
    }

    #[test]
    fn a_missing_title_is_required_and_a_null_title_is_not_nullable() {
        assert_eq!(fields(&NewTask::from_json(&json!({})).expect_err("no title")), [("title", Rule::Required)]);
        assert_eq!(
            fields(&NewTask::from_json(&json!({"title": null})).expect_err("null title")),
            [("title", Rule::NotNullable)]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_a_type_error_on_the_body() {
        assert_eq!(fields(&NewTask::from_json(&json!(["title"])).expect_err("array")), [("", Rule::Type)]);
    }

    #[test]
    fn wrong_json_types_are_type_errors_and_hide_further_checks_of_that_field() {
        let errors = NewTask::from_json(&json!({
            "title": 5,
            "tags": ["ok", 3, "ok"],
            "due_at": 1700000000,
            "reminders": [{"before_due": "PT1H"}]
        }))
        .expect_err("invalid");

        // No duplicate error for tags[2] and no "needs due_at" for the reminder: the type
        // errors come first.
        let mut found = fields(&errors);
        found.sort();
        assert_eq!(found, [("due_at", Rule::Type), ("tags[1]", Rule::Type), ("title", Rule::Type)], "{errors}");
    }

    #[test]
    fn a_before_due_reminder_without_due_at_names_the_reminder() {
        let errors = NewTask::from_json(&json!({
            "title": "t",
            "reminders": [{"at": "2026-03-01T08:00:00Z"}, {"before_due": "PT15M"}]
        }))
        .expect_err("no due_at");

        assert_eq!(fields(&errors), [("reminders[1].before_due", Rule::RequiresDueAt)]);
    }

    #[test]
    fn a_recurrence_without_due_at_is_rejected() {
        let errors =
            NewTask::from_json(&json!({"title": "t", "recurrence": {"rrule": "FREQ=DAILY"}})).expect_err("no due_at");

        assert_eq!(fields(&errors), [("recurrence", Rule::RequiresDueAt)]);
    }

    #[test]
    fn an_abusive_recurrence_is_rejected() {
        let errors = NewTask::from_json(&json!({
            "title": "t",
            "due_at": "2026-01-01T09:00:00Z",
            "recurrence": {"rrule": "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30"}
        }))
        .expect_err("never repeats");

        assert_eq!(fields(&errors), [("recurrence.rrule", Rule::NoNextOccurrence)]);
    }

    #[test]
    fn a_reminder_must_have_exactly_one_known_shape() {
        let errors = NewTask::from_json(&json!({
            "title": "t",
            "due_at": "2026-01-01T09:00:00Z",
            "reminders": [{}, {"before_due": "PT1M", "at": "2026-01-01T08:00:00Z"}, {"minutes": 5}, "PT5M"]
        }))
        .expect_err("invalid");

        let mut found = fields(&errors);
        found.sort();
        assert_eq!(
            found,
            [
                ("reminders[0]", Rule::OneOf),
                ("reminders[1]", Rule::OneOf),
                ("reminders[2]", Rule::OneOf),
                ("reminders[2].minutes", Rule::UnknownField),
                ("reminders[3]", Rule::Type),
            ],
            "{errors}"
        );
    }

    #[test]
    fn a_recurrence_needs_an_rrule_and_a_known_anchor() {
        let errors = NewTask::from_json(&json!({
            "title": "t",
            "due_at": "2026-01-01T09:00:00Z",
            "recurrence": {"anchor": "whenever", "every": "day"}
        }))
        .expect_err("invalid");

        let mut found = fields(&errors);
        found.sort();
        assert_eq!(
            found,
            [
                ("recurrence.anchor", Rule::OneOf),
                ("recurrence.every", Rule::UnknownField),
                ("recurrence.rrule", Rule::Required)
            ]
        );
    }

    #[test]
    fn deserialize_applies_the_structural_rules() {
        let unknown = serde_json::from_value::<NewTask>(json!({"title": "t", "colour": "red"}));
        let ok = serde_json::from_value::<NewTask>(json!({"title": "t", "due_at": null}));

        assert!(unknown.is_err_and(|e| e.to_string().contains("colour")));
        assert_eq!(ok.ok().map(|t| t.title), Some("t".to_owned()));
    }

    #[test]
    fn a_patch_distinguishes_absent_null_and_a_value() {
        let patch =
            TaskPatch::from_json(&json!({"description": null, "due_at": "2026-01-01T09:00:00Z"})).expect("valid");

        assert_eq!(patch.title, None, "absent: unchanged");
        assert_eq!(patch.description, Some(None), "null: cleared");
        assert!(matches!(patch.due_at, Some(Some(_))), "value: set");
        assert_eq!(patch.recurrence, None);
    }

    #[test]
    fn a_patch_cannot_null_a_field_that_has_no_empty_state() {
        let errors = TaskPatch::from_json(&json!({
            "title": null, "priority": null, "tags": null, "time_zone": null, "reminders": null
        }))
        .expect_err("not nullable");

        let mut found = fields(&errors);
        found.sort();
        assert_eq!(
            found,
            [
                ("priority", Rule::NotNullable),
                ("reminders", Rule::NotNullable),
                ("tags", Rule::NotNullable),
                ("time_zone", Rule::NotNullable),
                ("title", Rule::NotNullable),
            ]
        );
    }

    #[test]
    fn an_empty_patch_is_valid_and_empty() {
        assert!(TaskPatch::from_json(&json!({})).expect("valid").is_empty());
    }

    #[test]
    fn a_patch_validates_each_field_given() {
        let errors = TaskPatch::from_json(&json!({"title": " ", "tags": ["a", "a"], "status": "completed"}))
            .expect_err("invalid");

        let mut found = fields(&errors);
        found.sort();
        assert_eq!(found, [("status", Rule::ReadOnly), ("tags[1]", Rule::Duplicate), ("title", Rule::MinLength)]);
    }
}
