//! Listing: [`ListQuery`] (filters, sort, page size, cursor), [`Page`], and the SELECT that
//! answers it with keyset pagination.
//!
//! The rows come in the order of the sort keys, each in its own direction, then by `id`
//! ascending as the final tiebreaker, so the order is total. A page ends after `limit` rows;
//! the next page starts strictly after the last row's key values (`WHERE (k1, …, id) > (v1,
//! …)` spelled out per key, since directions may differ), not at an offset, so rows inserted
//! or deleted between requests never shift the pages: no pre-existing row is skipped or
//! repeated. Tasks without `due_at` sort after every task with one, ascending or descending.

use chrono::{DateTime, Utc};
use event_schema::{Priority, TaskStatus};
use task_domain::Task;
use uuid::Uuid;

use super::cursor::{Cursor, KeyValue};
use service_runtime::database::Backend;
use service_runtime::database::{Arg, Sql};

/// Largest page.
pub const MAX_LIMIT: u32 = 200;

/// Which of the owner's tasks to list, in what order, and which page. Every filter given must
/// hold (they combine with AND).
#[derive(Debug, Clone, PartialEq)]
pub struct ListQuery {
    /// Only tasks with this status.
    pub status: Option<TaskStatus>,
    /// Only tasks with one of these priorities (none given: any).
    pub priorities: Vec<Priority>,
    /// Tags to match (compared after trimming and lower-casing, as tags are stored).
    pub tags: Vec<String>,
    /// Whether a task needs any or all of `tags`.
    pub tags_match: TagsMatch,
    /// Case-insensitive substring of the title or the description.
    pub q: Option<String>,
    /// Only tasks due strictly before this instant (tasks without `due_at` never match).
    pub due_before: Option<DateTime<Utc>>,
    /// Only tasks due at or after this instant (`[due_after, due_before)` is a range).
    pub due_after: Option<DateTime<Utc>>,
    /// Only overdue tasks: open and due strictly before this instant (the request's "now").
    pub overdue_at: Option<DateTime<Utc>>,
    /// Only the occurrences of this recurring series.
    pub series_id: Option<Uuid>,
    /// Sort keys, most significant first; `id` ascending is always appended. Empty: by `id`
    /// alone, which for UUIDv7 ids is creation order.
    pub sort: Vec<SortKey>,
    /// Page size, 1 to [`MAX_LIMIT`] (clamped to that range).
    pub limit: u32,
    /// Where the page starts: the `next_cursor` of the previous page, issued for the same
    /// `sort`.
    pub cursor: Option<Cursor>,
}

impl Default for ListQuery {
    /// Every task, by id, 50 per page.
    fn default() -> Self {
        Self {
            status: None,
            priorities: Vec::new(),
            tags: Vec::new(),
            tags_match: TagsMatch::Any,
            q: None,
            due_before: None,
            due_after: None,
            overdue_at: None,
            series_id: None,
            sort: Vec::new(),
            limit: 50,
            cursor: None,
        }
    }
}

/// How several tag filters combine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TagsMatch {
    /// A task with at least one of the tags.
    #[default]
    Any,
    /// A task with every one of the tags.
    All,
}

/// A field to sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortField {
    /// Due instant; tasks without one come last in either direction.
    DueAt,
    /// Priority by rank: none < low < medium < high < urgent.
    Priority,
    /// Creation time.
    CreatedAt,
    /// Time of the last change.
    UpdatedAt,
    /// Title, case-insensitively (lower-cased, then by code point).
    Title,
}

impl SortField {
    /// The API's name for the field (`due_at`, `priority`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DueAt => "due_at",
            Self::Priority => "priority",
            Self::CreatedAt => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Title => "title",
        }
    }

    /// The field the API names `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [Self::DueAt, Self::Priority, Self::CreatedAt, Self::UpdatedAt, Self::Title]
            .into_iter()
            .find(|f| f.as_str() == name)
    }

    /// The column it sorts by.
    fn column(self) -> &'static str {
        match self {
            Self::DueAt => "t.due_at",
            Self::Priority => "t.priority_rank",
            Self::CreatedAt => "t.created_at",
            Self::UpdatedAt => "t.updated_at",
            Self::Title => "t.title_fold",
        }
    }

    /// Whether the column can be NULL (then NULLs sort last).
    pub(super) fn nullable(self) -> bool {
        self == Self::DueAt
    }

    /// The task's value of the field, as the column holds it.
    pub(super) fn value_of(self, task: &Task) -> KeyValue {
        match self {
            Self::DueAt => KeyValue::Time(task.due_at()),
            Self::Priority => KeyValue::Int(priority_rank(task.priority())),
            Self::CreatedAt => KeyValue::Time(Some(task.created_at())),
            Self::UpdatedAt => KeyValue::Time(Some(task.updated_at())),
            Self::Title => KeyValue::Text(fold(task.title().as_str())),
        }
    }
}

/// One sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SortKey {
    /// The field.
    pub field: SortField,
    /// Largest first.
    pub descending: bool,
}

/// One page of tasks.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    /// The tasks, in the query's order.
    pub items: Vec<Task>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

/// A priority's rank, as stored: none 0 … urgent 4.
pub(super) fn priority_rank(priority: Priority) -> i64 {
    match priority {
        Priority::None => 0,
        Priority::Low => 1,
        Priority::Medium => 2,
        Priority::High => 3,
        Priority::Urgent => 4,
    }
}

/// Text as searched and title-sorted: lower-cased (Unicode-aware, in Rust, so both backends
/// agree; SQLite's `lower` only knows ASCII).
pub(super) fn fold(text: &str) -> String {
    text.to_lowercase()
}

/// The status as stored.
pub(super) fn status_name(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Open => "open",
        TaskStatus::Completed => "completed",
    }
}

/// `SELECT owner, id, snapshot` for one page of `owner`'s tasks: `limit` rows at most.
pub(super) fn select(backend: Backend, owner: &str, query: &ListQuery, limit: u32) -> Sql {
    let mut sql = Sql::new(backend, "SELECT t.owner, t.id, t.snapshot FROM tasks t WHERE t.owner = ");
    sql.bind(Arg::Text(owner.to_owned()));
    filters(&mut sql, query);
    if let Some(cursor) = &query.cursor {
        sql.push(" AND ");
        after(&mut sql, &query.sort, cursor.keys(), cursor.id());
    }
    sql.push(" ORDER BY ");
    for key in &query.sort {
        sql.push(key.field.column()).push(if key.descending { " DESC" } else { " ASC" });
        if key.field.nullable() {
            sql.push(" NULLS LAST");
        }
        sql.push(", ");
    }
    sql.push("t.id ASC LIMIT ").bind(Arg::Int(i64::from(limit)));
    sql
}

fn filters(sql: &mut Sql, query: &ListQuery) {
    if let Some(status) = query.status {
        sql.push(" AND t.status = ").bind(Arg::Text(status_name(status).to_owned()));
    }
    if !query.priorities.is_empty() {
        sql.push(" AND t.priority_rank IN ").bind_list(query.priorities.iter().map(|&p| Arg::Int(priority_rank(p))));
    }
    let tags = normalized_tags(&query.tags);
    if !tags.is_empty() {
        let count = i64::try_from(tags.len()).unwrap_or(i64::MAX);
        let list = tags.into_iter().map(Arg::Text);
        match query.tags_match {
            TagsMatch::Any => {
                sql.push(" AND EXISTS (SELECT 1 FROM task_tags g WHERE g.task_id = t.id AND g.tag IN ")
                    .bind_list(list)
                    .push(")");
            }
            TagsMatch::All => {
                // Tags are distinct per task, so matching all of n tags is matching n rows.
                sql.push(" AND (SELECT COUNT(*) FROM task_tags g WHERE g.task_id = t.id AND g.tag IN ")
                    .bind_list(list)
                    .push(") = ")
                    .bind(Arg::Int(count));
            }
        }
    }
    if let Some(q) = query.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
        let needle = fold(q);
        // A plain substring test rather than LIKE: nothing in the needle needs escaping.
        let find = match sql.backend() {
            Backend::Postgres => "strpos",
            Backend::Sqlite => "instr",
        };
        sql.push(" AND (").push(find).push("(t.title_fold, ").bind(Arg::Text(needle.clone()));
        sql.push(") > 0 OR ").push(find).push("(COALESCE(t.description_fold, ''), ").bind(Arg::Text(needle));
        sql.push(") > 0)");
    }
    if let Some(before) = query.due_before {
        sql.push(" AND t.due_at < ").bind(Arg::Time(before));
    }
    if let Some(after) = query.due_after {
        sql.push(" AND t.due_at >= ").bind(Arg::Time(after));
    }
    if let Some(now) = query.overdue_at {
        sql.push(" AND t.status = ").bind(Arg::Text(status_name(TaskStatus::Open).to_owned()));
        sql.push(" AND t.due_at < ").bind(Arg::Time(now));
    }
    if let Some(series_id) = query.series_id {
        sql.push(" AND t.series_id = ").bind(Arg::Uuid(series_id));
    }
}

/// Tags as stored (trimmed, lower-case), distinct, blanks dropped.
fn normalized_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(tags.len());
    for tag in tags.iter().map(|t| t.trim().to_lowercase()).filter(|t| !t.is_empty()) {
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    out
}

/// The rows strictly after `values` + `id` in the order of `sort` + `id`:
/// `k1 ▷ v1 OR (k1 = v1 AND (k2 ▷ v2 OR (… AND t.id > id)))`, where ▷ is `>` ascending and
/// `<` descending; a NULL (last in both directions) is after every value, and after a NULL
/// only NULLs remain.
fn after(sql: &mut Sql, sort: &[SortKey], values: &[KeyValue], id: Uuid) {
    let (Some(key), Some(value)) = (sort.first(), values.first()) else {
        sql.push("t.id > ").bind(Arg::Uuid(id));
        return;
    };
    let column = key.field.column();
    match value.to_arg() {
        None => {
            sql.push("(").push(column).push(" IS NULL AND ");
            after(sql, &sort[1..], &values[1..], id);
            sql.push(")");
        }
        Some(arg) => {
            let beyond = if key.descending { " < " } else { " > " };
            sql.push("(").push(column).push(beyond).bind(arg.clone());
            if key.field.nullable() {
                sql.push(" OR ").push(column).push(" IS NULL");
            }
            sql.push(" OR (").push(column).push(" = ").bind(arg).push(" AND ");
            after(sql, &sort[1..], &values[1..], id);
            sql.push("))");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keyset_condition_spells_out_each_direction_and_nulls_last() {
        let sort = [
            SortKey { field: SortField::DueAt, descending: false },
            SortKey { field: SortField::Priority, descending: true },
        ];
        let due = DateTime::from_timestamp(1_700_000_000, 0).expect("instant");
        let mut sql = Sql::new(Backend::Postgres, "");

        after(&mut sql, &sort, &[KeyValue::Time(Some(due)), KeyValue::Int(3)], Uuid::nil());

        assert_eq!(
            sql.text(),
            "(t.due_at > $1 OR t.due_at IS NULL OR (t.due_at = $2 AND \
             (t.priority_rank < $3 OR (t.priority_rank = $4 AND t.id > $5))))"
        );
    }

    #[test]
    fn after_a_null_due_at_only_nulls_remain() {
        let sort = [SortKey { field: SortField::DueAt, descending: true }];
        let mut sql = Sql::new(Backend::Sqlite, "");

        after(&mut sql, &sort, &[KeyValue::Time(None)], Uuid::nil());

        assert_eq!(sql.text(), "(t.due_at IS NULL AND t.id > $1)");
    }

    #[test]
    fn tag_filters_are_normalized_and_distinct() {
        let tags = normalized_tags(&[" Work ".into(), "work".into(), "".into(), "Home".into()]);

        assert_eq!(tags, ["work", "home"]);
    }

    #[test]
    fn sort_fields_parse_from_their_api_names() {
        assert_eq!(SortField::parse("due_at"), Some(SortField::DueAt));
        assert_eq!(SortField::parse("title"), Some(SortField::Title));
        assert_eq!(SortField::parse("id"), None);
    }
}
