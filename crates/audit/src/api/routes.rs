//! The handlers.

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt as _;
use service_runtime::auth::Caller;
use service_runtime::problem::ApiError;

use super::ApiState;
use super::params::{self, Route};
use super::view::{EntryPage, EntryView, TaskHistory};
use crate::metrics::VERIFICATIONS;
use crate::store::{AuditQuery, MAX_LIMIT, VerifyReport};

/// The media type of the export.
pub(super) const NDJSON: &str = "application/x-ndjson";

/// A database error as a problem: 503 when retrying may help, else 500 (logged).
fn storage(error: sqlx::Error) -> ApiError {
    if service_runtime::database::is_transient(&error) {
        tracing::warn!(error = %error, "audit database unavailable");
        ApiError::unavailable("the audit database is unavailable; retry later")
    } else {
        ApiError::internal(error)
    }
}

/// `GET /v1/audit`.
pub(super) async fn list(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<EntryPage>, ApiError> {
    let query = params::parse(raw.as_deref(), Route::List, &caller)?;
    let page = state.store.list(&query).await.map_err(storage)?;
    Ok(Json(EntryPage {
        items: page.items.into_iter().map(EntryView::from).collect(),
        next_cursor: page.next_cursor.map(|c| c.encode()),
    }))
}

/// `GET /v1/audit/tasks/{task_id}`.
pub(super) async fn task_history(
    State(state): State<ApiState>,
    caller: Caller,
    Path(task_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<TaskHistory>, ApiError> {
    // Administrators may narrow to one user; everyone else sees their own entries only.
    let query = params::parse(raw.as_deref(), Route::Verify, &caller)?;
    let task_id =
        params::text(&task_id).map_err(|(rule, message)| ApiError::invalid_field("task_id", rule, message))?;
    let entries = state.store.task_history(query.user_id.as_deref(), &task_id).await.map_err(storage)?;
    if entries.is_empty() {
        return Err(ApiError::not_found());
    }
    Ok(Json(TaskHistory { task_id, entries: entries.into_iter().map(EntryView::from).collect() }))
}

/// `GET /v1/audit/export`: one JSON entry per line, streamed a page at a time so that memory
/// stays flat however long the range. A database error after the first line aborts the
/// response (the status was sent already): the client sees a broken transfer, never a body
/// that merely looks complete; the error is logged.
pub(super) async fn export(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = AuditQuery { limit: MAX_LIMIT, ..params::parse(raw.as_deref(), Route::Export, &caller)? };
    // The first page is read before answering, so that an unavailable database is a 503.
    let first = state.store.list(&query).await.map_err(storage)?;
    let store = state.store.clone();
    let pages = futures::stream::try_unfold(Some((first, query)), move |next| {
        let store = store.clone();
        async move {
            let Some((page, mut query)) = next else { return Ok(None) };
            let mut body = Vec::with_capacity(page.items.len() * 512);
            for entry in page.items {
                serde_json::to_writer(&mut body, &EntryView::from(entry)).map_err(std::io::Error::other)?;
                body.push(b'\n');
            }
            let following = match page.next_cursor {
                None => None,
                Some(cursor) => {
                    query.cursor = Some(cursor);
                    let page = store.list(&query).await.map_err(|error| {
                        tracing::error!(error = ?error, "export aborted: the audit database failed");
                        std::io::Error::other(error)
                    })?;
                    Some((page, query))
                }
            };
            Ok::<_, std::io::Error>(Some((Bytes::from(body), following)))
        }
    });
    Ok(([(CONTENT_TYPE, NDJSON)], Body::from_stream(pages.boxed())).into_response())
}

/// `GET /v1/audit/verify`: 200 with the report either way; `ok` says whether every chain
/// verified, and each broken chain names its first broken entry.
pub(super) async fn verify(
    State(state): State<ApiState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<VerifyReport>, ApiError> {
    let query = params::parse(raw.as_deref(), Route::Verify, &caller)?;
    let report = match &query.user_id {
        Some(user) => state.store.verify_user(user).await,
        None => state.store.verify_all().await,
    };
    let report = report.map_err(|e| {
        metrics::counter!(VERIFICATIONS, "outcome" => "error").increment(1);
        storage(e)
    })?;
    metrics::counter!(VERIFICATIONS, "outcome" => if report.ok { "ok" } else { "broken" }).increment(1);
    Ok(Json(report))
}
