//! The `/v1/tasks` handlers (`POST /v1/tasks` is in `create`) and the helpers they share.
//! Every write runs in one transaction that changes the task and inserts its events into the
//! outbox; the relay is woken after the commit. Write handlers run that transaction with
//! [`write::detached`], so it completes whatever the client does.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::{Value, json};
use service_runtime::auth::Caller;
use service_runtime::problem::ApiError;
use task_domain::{Task, TaskPatch};
use uuid::Uuid;

use crate::api::input::FromJson as _;
use crate::api::problem::invalid;
use crate::api::request::{self, REQUEST_ID};
use crate::api::{AppState, evaluate, openapi, problem, query, write};
use crate::events::{Change, EventContext, outbox_events};
use crate::storage::{StorageError, Tx};

pub(super) fn storage(error: StorageError) -> ApiError {
    if error.is_transient() {
        ApiError::unavailable(format!("the tasks database is unavailable: {error}"))
    } else if matches!(error, StorageError::Conflict) {
        ApiError::conflict("a concurrent request changed the same resource; retry")
    } else {
        ApiError::internal(error)
    }
}

pub(super) fn json_body(body: &Bytes) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::bad_request(format!("the body is not valid JSON: {e}")))
}

fn task_id(raw: &str) -> Result<Uuid, ApiError> {
    // An id that cannot exist is simply not found, like another user's task.
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found())
}

/// A task response: the task as JSON, its version as ETag, the request id echoed.
pub(super) fn respond(status: StatusCode, task: &Task, context: &EventContext) -> Response {
    let mut response = (status, Json(task.snapshot())).into_response();
    let headers = response.headers_mut();
    if let Ok(etag) = HeaderValue::from_str(&format!("\"{}\"", task.version())) {
        headers.insert(header::ETAG, etag);
    }
    if let Some(id) = context.correlation_id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(REQUEST_ID, id);
    }
    response
}

/// Inserts the change's events and commits, then wakes the relay.
pub(super) async fn commit(
    state: &AppState,
    mut tx: Tx,
    change: Change<'_>,
    context: &EventContext,
) -> Result<(), ApiError> {
    let events = outbox_events(change, context, &state.topics).map_err(ApiError::internal)?;
    tx.enqueue(&events).await.map_err(storage)?;
    tx.commit().await.map_err(storage)?;
    state.signal.notify();
    Ok(())
}

/// `GET /v1/tasks`: filtered, sorted, cursor-paginated list of the caller's tasks.
#[utoipa::path(
    get,
    path = "/v1/tasks",
    tag = "tasks",
    operation_id = "listTasks",
    summary = "List the caller's tasks",
    description = "Filtered, sorted and paginated with a cursor. Unknown parameters are 422, so a typo never \
                   silently widens a query. White space around a parameter's value is ignored.",
    params(openapi::ListQuery),
    responses(
        (status = 200, description = "A page of the caller's tasks.", body = inline(openapi::TaskPage)),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 422, response = openapi::UnprocessableEntity),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    let query = query::parse(raw.as_deref(), Utc::now()).map_err(invalid)?;
    let page = state.store.list(&caller.user_id, &query).await.map_err(storage)?;
    let items: Vec<_> = page.items.iter().map(Task::snapshot).collect();
    let next_cursor = page.next_cursor.map(|c| c.encode());
    Ok(Json(json!({ "items": items, "next_cursor": next_cursor })).into_response())
}

/// `GET /v1/tasks/{id}`.
#[utoipa::path(
    get,
    path = "/v1/tasks/{id}",
    tag = "tasks",
    operation_id = "getTask",
    summary = "Read a task",
    params(openapi::TaskId, openapi::RequestContext),
    responses(
        (
            status = 200,
            description = "The task.",
            body = inline(openapi::Task),
            headers(
                ("ETag" = String, description = "The task's version, quoted (`\"3\"`): send it as `If-Match`."),
                ("X-Request-Id" = String, description = "The request's id (the one sent, or a new one)."),
            )
        ),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = task_id(&id)?;
    let task = state.store.get(&caller.user_id, id).await.map_err(storage)?.ok_or_else(ApiError::not_found)?;
    Ok(respond(StatusCode::OK, &task, &request::event_context(&caller, &headers)))
}

/// Loads the caller's task for a write, checking `If-Match`.
async fn load_for_write(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: &str,
) -> Result<(Tx, Task), ApiError> {
    let id = task_id(id)?;
    let expected = request::if_match(headers)?;
    let mut tx = state.store.begin().await.map_err(storage)?;
    let Some(task) = tx.get_for_update(&caller.user_id, id).await.map_err(storage)? else {
        tx.rollback().await.map_err(storage)?;
        return Err(ApiError::not_found());
    };
    if let Some(expected) = expected
        && expected != task.version()
    {
        tx.rollback().await.map_err(storage)?;
        return Err(problem::version_mismatch(task.version()));
    }
    Ok((tx, task))
}

/// Stores `after` over `before` (the row is locked, so the version check cannot fail unless
/// the database was changed behind our back).
async fn store_update(tx: &mut Tx, before: &Task, after: &Task) -> Result<(), ApiError> {
    if tx.update_task(after, before.version()).await.map_err(storage)? {
        Ok(())
    } else {
        Err(ApiError::conflict("the task changed concurrently; retry"))
    }
}

/// `PATCH /v1/tasks/{id}`: partial update; `If-Match: "<version>"` → 412 on mismatch.
#[utoipa::path(
    patch,
    path = "/v1/tasks/{id}",
    tag = "tasks",
    operation_id = "updateTask",
    summary = "Change a task",
    description = "Only the fields sent change. With `If-Match`, a task that has another version answers 412. \
                   A patch that changes nothing answers the task as it is and publishes nothing.",
    params(openapi::TaskId, openapi::IfMatch, openapi::RequestContext),
    request_body(content = inline(openapi::TaskPatch), content_type = "application/json"),
    responses(
        (
            status = 200,
            description = "The task as changed (unchanged when the patch changes nothing).",
            body = inline(openapi::Task),
            headers(
                ("ETag" = String, description = "The task's version, quoted (`\"3\"`): send it as `If-Match`."),
                ("X-Request-Id" = String, description = "The request's id (the one sent, or a new one)."),
            )
        ),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict),
        (status = 412, response = openapi::PreconditionFailed),
        (status = 422, response = openapi::UnprocessableEntity),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn update(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    write::detached(update_task(state, caller, headers, id, body)).await
}

async fn update_task(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    id: String,
    body: Bytes,
) -> Result<Response, ApiError> {
    let patch = TaskPatch::from_json(&json_body(&body)?).map_err(invalid)?;
    let context = request::event_context(&caller, &headers);
    let (mut tx, before) = load_for_write(&state, &caller, &headers, &id).await?;
    let mut after = before.clone();
    let now = Utc::now();
    let (after, applied) = if evaluate::patch_evaluates_a_rule(&before, &patch) {
        evaluate::off_request_thread(move || {
            let applied = after.apply(patch, now);
            (after, applied)
        })
        .await?
    } else {
        let applied = after.apply(patch, now);
        (after, applied)
    };
    let changes = applied.map_err(invalid)?;
    if changes.is_empty() {
        tx.rollback().await.map_err(storage)?;
        return Ok(respond(StatusCode::OK, &before, &context));
    }
    store_update(&mut tx, &before, &after).await?;
    commit(&state, tx, Change::Updated { before: &before, after: &after, changes }, &context).await?;
    Ok(respond(StatusCode::OK, &after, &context))
}

/// `POST /v1/tasks/{id}/complete`: idempotent; completing a completed task answers 200 and
/// publishes nothing.
#[utoipa::path(
    post,
    path = "/v1/tasks/{id}/complete",
    tag = "tasks",
    operation_id = "completeTask",
    summary = "Complete a task",
    description = "Idempotent: completing a completed task answers it unchanged and publishes nothing.",
    params(openapi::TaskId, openapi::IfMatch, openapi::RequestContext),
    responses(
        (
            status = 200,
            description = "Completed; completing a completed task answers it unchanged.",
            body = inline(openapi::Task),
            headers(
                ("ETag" = String, description = "The task's version, quoted (`\"3\"`): send it as `If-Match`."),
                ("X-Request-Id" = String, description = "The request's id (the one sent, or a new one)."),
            )
        ),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict),
        (status = 412, response = openapi::PreconditionFailed),
        (status = 422, response = openapi::UnprocessableEntity),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    write::detached(async move { transition(&state, &caller, &headers, &id, true).await }).await
}

/// `POST /v1/tasks/{id}/reopen`: idempotent, like complete.
#[utoipa::path(
    post,
    path = "/v1/tasks/{id}/reopen",
    tag = "tasks",
    operation_id = "reopenTask",
    summary = "Reopen a task",
    description = "Idempotent: reopening an open task answers it unchanged and publishes nothing.",
    params(openapi::TaskId, openapi::IfMatch, openapi::RequestContext),
    responses(
        (
            status = 200,
            description = "Reopened; reopening an open task answers it unchanged.",
            body = inline(openapi::Task),
            headers(
                ("ETag" = String, description = "The task's version, quoted (`\"3\"`): send it as `If-Match`."),
                ("X-Request-Id" = String, description = "The request's id (the one sent, or a new one)."),
            )
        ),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict),
        (status = 412, response = openapi::PreconditionFailed),
        (status = 422, response = openapi::UnprocessableEntity),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn reopen(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    write::detached(async move { transition(&state, &caller, &headers, &id, false).await }).await
}

async fn transition(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    id: &str,
    complete: bool,
) -> Result<Response, ApiError> {
    let context = request::event_context(caller, headers);
    let (mut tx, before) = load_for_write(state, caller, headers, id).await?;
    let mut after = before.clone();
    let changed = if complete { after.complete(Utc::now()) } else { after.reopen(Utc::now()) };
    if !changed {
        tx.rollback().await.map_err(storage)?;
        return Ok(respond(StatusCode::OK, &before, &context));
    }
    store_update(&mut tx, &before, &after).await?;
    let change = if complete {
        Change::Completed { before: &before, after: &after }
    } else {
        Change::Reopened { before: &before, after: &after }
    };
    commit(state, tx, change, &context).await?;
    Ok(respond(StatusCode::OK, &after, &context))
}

/// `DELETE /v1/tasks/{id}` → 204.
#[utoipa::path(
    delete,
    path = "/v1/tasks/{id}",
    tag = "tasks",
    operation_id = "deleteTask",
    summary = "Delete a task",
    description = "With `If-Match`, a task that has another version answers 412.",
    params(openapi::TaskId, openapi::IfMatch, openapi::RequestContext),
    responses(
        (status = 204, description = "Deleted."),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 404, response = openapi::NotFound),
        (status = 409, response = openapi::Conflict),
        (status = 412, response = openapi::PreconditionFailed),
        (status = 422, response = openapi::UnprocessableEntity),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    write::detached(delete_task(state, caller, headers, id)).await
}

async fn delete_task(state: AppState, caller: Caller, headers: HeaderMap, id: String) -> Result<Response, ApiError> {
    let context = request::event_context(&caller, &headers);
    let (mut tx, task) = load_for_write(&state, &caller, &headers, &id).await?;
    if !tx.delete_task(&caller.user_id, task.id()).await.map_err(storage)? {
        tx.rollback().await.map_err(storage)?;
        return Err(ApiError::not_found());
    }
    commit(&state, tx, Change::Deleted(&task, Utc::now()), &context).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
