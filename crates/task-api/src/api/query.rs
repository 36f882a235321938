//! `GET /v1/tasks` query string → [`ListQuery`], every problem reported with its parameter.

use chrono::{DateTime, Utc};
use event_schema::{Priority, TaskStatus};
use task_domain::{FieldError, Rule, ValidationErrors, parse_instant};
use uuid::Uuid;

use crate::storage::{Cursor, ListQuery, MAX_LIMIT, SortField, SortKey, TagsMatch};

/// Parses the raw query string. Parameters: `status`, `priority` (repeatable or
/// comma-separated), `tag` (repeatable) with `tag_match=any|all`, `q`, `due_before`,
/// `due_after`, `overdue=true`, `series_id`, `sort` (e.g. `-priority,due_at`), `limit`,
/// `cursor`. Unknown parameters are errors, so a typo never silently widens a query.
pub(crate) fn parse(raw: Option<&str>, now: DateTime<Utc>) -> Result<ListQuery, ValidationErrors> {
    let mut errors = Vec::new();
    // Defaults: every task, by id, 50 per page.
    let mut query = ListQuery::default();
    let mut cursor = None;
    for (name, value) in form_urlencoded::parse(raw.unwrap_or_default().as_bytes()) {
        let value = value.trim();
        let mut bad = |rule: Rule, message: &str| errors.push(FieldError::new(name.as_ref(), rule, message));
        match name.as_ref() {
            "status" => match value {
                "open" => query.status = Some(TaskStatus::Open),
                "completed" => query.status = Some(TaskStatus::Completed),
                _ => bad(Rule::OneOf, "must be open or completed"),
            },
            "priority" => {
                for item in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
                    match priority(item) {
                        Some(p) => query.priorities.push(p),
                        None => bad(Rule::OneOf, "must be none, low, medium, high or urgent"),
                    }
                }
            }
            // Stored tags have no control characters (and PostgreSQL text cannot hold a NUL).
            "tag" if value.chars().any(char::is_control) => {
                bad(Rule::ControlCharacters, "must not contain control characters")
            }
            "tag" if !value.is_empty() => query.tags.push(value.to_lowercase()),
            "tag" => bad(Rule::MinLength, "must not be empty"),
            "tag_match" => match value {
                "any" => query.tags_match = TagsMatch::Any,
                "all" => query.tags_match = TagsMatch::All,
                _ => bad(Rule::OneOf, "must be any or all"),
            },
            "q" if value.chars().count() > 200 => bad(Rule::MaxLength, "at most 200 characters"),
            // PostgreSQL text cannot hold a NUL, and no title or description contains one.
            "q" if value.contains('\0') => bad(Rule::ControlCharacters, "must not contain NUL characters"),
            "q" if !value.is_empty() => query.q = Some(value.to_owned()),
            "q" => {}
            "due_before" => match parse_instant(value) {
                Ok(t) => query.due_before = Some(t),
                Err(violation) => bad(violation.rule, &violation.message),
            },
            "due_after" => match parse_instant(value) {
                Ok(t) => query.due_after = Some(t),
                Err(violation) => bad(violation.rule, &violation.message),
            },
            "overdue" => match value {
                "true" => query.overdue_at = Some(now),
                "false" => query.overdue_at = None,
                _ => bad(Rule::OneOf, "must be true or false"),
            },
            "series_id" => match Uuid::parse_str(value) {
                Ok(id) => query.series_id = Some(id),
                Err(_) => bad(Rule::Format, "must be a UUID"),
            },
            "sort" => match sort(value) {
                Ok(keys) => query.sort = keys,
                Err(message) => bad(Rule::OneOf, &message),
            },
            "limit" => match value.parse::<u32>() {
                Ok(n) if (1..=MAX_LIMIT).contains(&n) => query.limit = n,
                _ => bad(Rule::Range, "must be an integer from 1 to 200"),
            },
            "cursor" => cursor = Some(value.to_owned()),
            _ => bad(Rule::UnknownField, "is not a parameter of this list"),
        }
    }
    if let Some(cursor) = cursor {
        // A cursor is only valid for the sort that produced it.
        match Cursor::decode_for(&cursor, &query.sort) {
            Ok(c) => query.cursor = Some(c),
            Err(error) => errors.push(FieldError::new("cursor", Rule::Format, error.to_string())),
        }
    }
    if errors.is_empty() { Ok(query) } else { Err(ValidationErrors::from(errors)) }
}

fn priority(value: &str) -> Option<Priority> {
    Some(match value {
        "none" => Priority::None,
        "low" => Priority::Low,
        "medium" => Priority::Medium,
        "high" => Priority::High,
        "urgent" => Priority::Urgent,
        _ => return None,
    })
}

fn sort(value: &str) -> Result<Vec<SortKey>, String> {
    let mut keys: Vec<SortKey> = Vec::new();
    for item in value.split(',').map(str::trim).filter(|v| !v.is_empty()) {
        let (descending, name) = match item.strip_prefix('-') {
            Some(name) => (true, name),
            None => (false, item),
        };
        let field = match name {
            "due_at" => SortField::DueAt,
            "priority" => SortField::Priority,
            "created_at" => SortField::CreatedAt,
            "updated_at" => SortField::UpdatedAt,
            "title" => SortField::Title,
            other => {
                return Err(format!(
                    "unknown sort key {other:?}: use due_at, priority, created_at, updated_at or title"
                ));
            }
        };
        if keys.iter().any(|k| k.field == field) {
            return Err(format!("sort key {name:?} given twice"));
        }
        keys.push(SortKey { field, descending });
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-21T12:00:00Z").expect("instant").to_utc()
    }

    #[test]
    fn repeated_and_comma_separated_values_combine() {
        let q = parse(Some("priority=high&priority=urgent,low&tag=Home&tag=work&tag_match=all"), now()).expect("valid");
        assert_eq!(q.priorities, vec![Priority::High, Priority::Urgent, Priority::Low]);
        assert_eq!(q.tags, vec!["home".to_owned(), "work".to_owned()]);
        assert!(matches!(q.tags_match, TagsMatch::All));
    }

    #[test]
    fn sort_keys_keep_their_order_and_direction() {
        let q = parse(Some("sort=-priority,due_at"), now()).expect("valid");
        assert_eq!(
            q.sort,
            vec![
                SortKey { field: SortField::Priority, descending: true },
                SortKey { field: SortField::DueAt, descending: false }
            ]
        );
    }

    #[test]
    fn every_bad_parameter_is_named() {
        let errors = parse(Some("status=done&limit=500&sort=colour&due_before=tomorrow&colour=red"), now())
            .expect_err("invalid");
        for (field, rule) in [
            ("status", Rule::OneOf),
            ("limit", Rule::Range),
            ("sort", Rule::OneOf),
            ("due_before", Rule::Format),
            ("colour", Rule::UnknownField),
        ] {
            assert!(errors.has(field, rule), "{field}: {errors}");
        }
    }

    #[test]
    fn a_cursor_from_another_sort_is_rejected_naming_the_cursor() {
        let cursor = crate::storage::Cursor::decode_for("not base64!", &[]).err();
        assert!(cursor.is_some(), "garbage is not a cursor");
        let errors = parse(Some("sort=title&cursor=bm9wZQ"), now()).expect_err("invalid");
        assert!(errors.has("cursor", Rule::Format), "{errors}");
    }

    #[test]
    fn a_nul_in_the_search_text_or_a_control_character_in_a_tag_is_refused() {
        let errors = parse(Some("q=a%00b&tag=x%00&tag=y%07"), now()).expect_err("invalid");

        assert!(errors.has("q", Rule::ControlCharacters), "{errors}");
        assert!(errors.has("tag", Rule::ControlCharacters), "{errors}");
        assert!(parse(Some("q=line%0Abreak"), now()).is_ok(), "descriptions may hold line breaks");
    }

    #[test]
    fn overdue_means_open_and_due_before_now() {
        let q = parse(Some("overdue=true"), now()).expect("valid");
        assert_eq!(q.overdue_at, Some(now()));
    }

    #[test]
    fn a_due_bound_outside_years_1_to_9999_once_in_utc_is_out_of_range() {
        // `+` is a space in a query string: the offsets are percent-encoded.
        let errors = parse(Some("due_before=9999-12-31T23:59:59-14:00&due_after=0000-01-01T00:00:00%2B14:00"), now())
            .expect_err("out of range");

        assert!(errors.has("due_before", Rule::Range), "{errors}");
        assert!(errors.has("due_after", Rule::Range), "{errors}");
    }
}
