//! Validation errors. Each names the field (a path such as `tags[3]` or
//! `reminders[0].before_due`) and the rule it broke, so the HTTP layer can answer with an
//! RFC 9457 problem (422) that lists every one of them.

use std::fmt;

use serde::Serialize;

/// The rule a value broke; serialised in `snake_case` (`max_length`), stable for clients.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// A required field is missing.
    Required,
    /// The JSON value has the wrong type (a number where a string belongs, say).
    Type,
    /// A string is not in the expected format (RFC 3339 instant, ISO-8601 duration, RRULE).
    Format,
    /// A string is not one of the allowed values (priority, anchor), or an object does not
    /// have exactly one of the allowed shapes (a reminder).
    OneOf,
    /// The body has a field the API does not know.
    UnknownField,
    /// The field is set by the server (`id`, `status`, `version`, …).
    ReadOnly,
    /// `null` was sent for a field that cannot be cleared.
    NotNullable,
    /// Too short (a blank title or tag).
    MinLength,
    /// Too long.
    MaxLength,
    /// Too many items.
    MaxItems,
    /// The same item twice (after normalising).
    Duplicate,
    /// A control character where only text belongs.
    ControlCharacters,
    /// Not an IANA time-zone name.
    UnknownTimeZone,
    /// A number or duration outside its allowed range.
    Range,
    /// The field needs `due_at`, and the task has none.
    RequiresDueAt,
    /// The field needs `recurrence` (a series position), and the task has none.
    RequiresRecurrence,
    /// Valid in the standard but not accepted here (RRULE `MINUTELY`, `BYSECOND`, …).
    Unsupported,
    /// The recurrence would produce no further occurrence within the horizon.
    NoNextOccurrence,
    /// Fields contradict each other (a stored task's, or a series position and `due_at`).
    Inconsistent,
}

impl Rule {
    /// The rule's wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Required => "required",
            Self::Type => "type",
            Self::Format => "format",
            Self::OneOf => "one_of",
            Self::UnknownField => "unknown_field",
            Self::ReadOnly => "read_only",
            Self::NotNullable => "not_nullable",
            Self::MinLength => "min_length",
            Self::MaxLength => "max_length",
            Self::MaxItems => "max_items",
            Self::Duplicate => "duplicate",
            Self::ControlCharacters => "control_characters",
            Self::UnknownTimeZone => "unknown_time_zone",
            Self::Range => "range",
            Self::RequiresDueAt => "requires_due_at",
            Self::RequiresRecurrence => "requires_recurrence",
            Self::Unsupported => "unsupported",
            Self::NoNextOccurrence => "no_next_occurrence",
            Self::Inconsistent => "inconsistent",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A value that broke a rule, before it is known where the value sits in a request.
/// [`Violation::at`] names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Violation {
    /// The rule broken.
    pub rule: Rule,
    /// A sentence for people, e.g. "must be at most 200 characters (got 201)".
    pub message: String,
}

impl Violation {
    /// A violation of `rule`.
    pub fn new(rule: Rule, message: impl Into<String>) -> Self {
        Self { rule, message: message.into() }
    }

    /// The same violation, at `field`.
    pub fn at(self, field: impl Into<String>) -> FieldError {
        FieldError { field: field.into(), rule: self.rule, message: self.message }
    }
}

/// One invalid field of a request, as the 422 response lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    /// Path of the field in the request body: `title`, `tags[3]`, `reminders[0].before_due`,
    /// `recurrence.rrule`; the empty string for the body itself.
    pub field: String,
    /// The rule broken.
    pub rule: Rule,
    /// A sentence for people.
    pub message: String,
}

impl FieldError {
    /// An error at `field`.
    pub fn new(field: impl Into<String>, rule: Rule, message: impl Into<String>) -> Self {
        Violation::new(rule, message).at(field)
    }
}

/// Every invalid field of a request (never empty when returned as an error), in the order
/// the fields were checked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, thiserror::Error)]
#[serde(transparent)]
pub struct ValidationErrors(Vec<FieldError>);

impl ValidationErrors {
    /// The errors, in order.
    pub fn errors(&self) -> &[FieldError] {
        &self.0
    }

    /// The errors, owned.
    pub fn into_vec(self) -> Vec<FieldError> {
        self.0
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether an error names `field` with `rule` (handy in tests and logs).
    pub fn has(&self, field: &str, rule: Rule) -> bool {
        self.0.iter().any(|e| e.field == field && e.rule == rule)
    }

    /// Adds an error after the others.
    pub fn push(&mut self, error: FieldError) {
        self.0.push(error);
    }

    /// Adds `other`'s errors after these.
    pub fn extend(&mut self, other: ValidationErrors) {
        self.0.extend(other.0);
    }

    /// `Ok(value)` when there are no errors.
    pub(crate) fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Self> {
        if self.0.is_empty() { Ok(value()) } else { Err(self) }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("invalid task")?;
        for (i, e) in self.0.iter().enumerate() {
            f.write_str(if i == 0 { ": " } else { "; " })?;
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl From<FieldError> for ValidationErrors {
    fn from(error: FieldError) -> Self {
        Self(vec![error])
    }
}

impl From<Vec<FieldError>> for ValidationErrors {
    fn from(errors: Vec<FieldError>) -> Self {
        Self(errors)
    }
}

impl IntoIterator for ValidationErrors {
    type Item = FieldError;
    type IntoIter = std::vec::IntoIter<FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a FieldError;
    type IntoIter = std::slice::Iter<'a, FieldError>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}
