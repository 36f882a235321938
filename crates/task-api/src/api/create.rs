//! `POST /v1/tasks`: creating a task, with `Idempotency-Key`, and a recurring series'
//! successor (`series`, from a service acting for the user) created once per occurrence.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::Value;
use service_runtime::auth::{Actor, Caller, ON_BEHALF_SCOPE};
use service_runtime::problem::ApiError;
use sha2::{Digest, Sha256};
use task_domain::{NewTask, Task};

use crate::api::input::{FromJson as _, NewTaskOnBehalf};
use crate::api::problem::invalid;
use crate::api::request::{self, REQUEST_ID};
use crate::api::tasks::{commit, json_body, respond, storage};
use crate::api::{AppState, evaluate, openapi, problem, write};
use crate::events::{Change, EventContext};
use crate::storage::StoredResponse;

/// `POST /v1/tasks`: 201 with `Location`. With `Idempotency-Key`, a repeat of the same request
/// answers the original response and creates nothing; the same key with another body is 422.
/// With `series` (a service acting for the user only), an occurrence that already has its task
/// answers 200 with that task and creates nothing (see `docs/recurrence.md`).
#[utoipa::path(
    post,
    path = "/v1/tasks",
    tag = "tasks",
    operation_id = "createTask",
    summary = "Create a task",
    description = "Answers 201 with the task, its `Location` and `ETag`. With `Idempotency-Key`, a repeat of \
                   the same request answers the original response (`Idempotent-Replayed: true`) and creates \
                   nothing; the same key with another body is 422. `series` places the task in an existing \
                   recurring series and is accepted only from a service acting for the user (a user gets 422, \
                   `read_only`): when the series already has a task for that occurrence (the same \
                   `series.occurrence_at`, or the same `series.follows`), the answer is 200 with the existing \
                   task, and nothing is created or published, so a successor is created once however often \
                   the completion is delivered.",
    params(openapi::IdempotencyKey, openapi::RequestContext),
    request_body(content = inline(openapi::NewTask), content_type = "application/json"),
    responses(
        (
            status = 200,
            description = "The series already has a task for this occurrence (`series` only): that task, unchanged; \
                           nothing was created.",
            body = inline(openapi::Task),
            headers(
                ("ETag" = String, description = "The existing task's version, quoted."),
                ("Location" = String, description = "The existing task's URL, `/v1/tasks/{id}`."),
                ("X-Request-Id" = String, description = "The request's id (the one sent, or a new one)."),
                ("Idempotent-Replayed" = String, description = "`true` when this answers a repeated request."),
            ),
        ),
        (
            status = 201,
            description = "Created. A repeat with the same `Idempotency-Key` answers the original response.",
            body = inline(openapi::Task),
            headers(
                ("ETag" = String, description = "The task's version, quoted (`\"1\"`): send it as `If-Match`."),
                ("Location" = String, description = "The new task's URL, `/v1/tasks/{id}`."),
                ("X-Request-Id" = String, description = "The request's id (the one sent, or a new one)."),
                ("Idempotent-Replayed" = String, description = "`true` when this answers a repeated request."),
            ),
            links(
                ("getTask" = (operation_id = "getTask", parameters(("id" = "$response.body#/id")))),
                ("updateTask" = (operation_id = "updateTask", parameters(("id" = "$response.body#/id")))),
                ("completeTask" = (operation_id = "completeTask", parameters(("id" = "$response.body#/id")))),
                ("reopenTask" = (operation_id = "reopenTask", parameters(("id" = "$response.body#/id")))),
                ("deleteTask" = (operation_id = "deleteTask", parameters(("id" = "$response.body#/id")))),
            ),
        ),
        (status = 400, response = openapi::BadRequest),
        (status = 401, response = openapi::Unauthorized),
        (status = 403, response = openapi::Forbidden),
        (status = 409, response = openapi::Conflict),
        (status = 422, response = openapi::UnprocessableEntity),
        (status = 503, response = openapi::ServiceUnavailable),
    ),
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    write::detached(create_task(state, caller, headers, body)).await
}

async fn create_task(state: AppState, caller: Caller, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let json = json_body(&body)?;
    // Only a service acting for the user (the recurring-task service) places a task in a series.
    let on_behalf = matches!(caller.actor, Actor::Service(_)) && caller.has_scope(ON_BEHALF_SCOPE);
    let read = move |json: &Value| {
        if on_behalf { NewTaskOnBehalf::from_json(json) } else { NewTask::from_json(json).map(|valid| (valid, None)) }
    };
    let (valid, series) = if evaluate::new_task_evaluates_a_rule(&json) {
        let json = json.clone();
        evaluate::off_request_thread(move || read(&json)).await?
    } else {
        read(&json)
    }
    .map_err(invalid)?;
    let key = request::idempotency_key(&headers)?;
    let context = request::event_context(&caller, &headers);
    // serde_json's maps are sorted, so equal JSON bodies hash equally whatever their layout.
    let request_hash = hex::encode(Sha256::digest(json.to_string().as_bytes()));

    let mut tx = state.store.begin().await.map_err(storage)?;
    if let Some(key) = &key
        && let Some(stored) = tx.idempotency_get(&caller.user_id, key).await.map_err(storage)?
    {
        tx.rollback().await.map_err(storage)?;
        if stored.request_hash != request_hash {
            return Err(problem::idempotency_key_reused());
        }
        return Ok(replay(stored, &context));
    }
    let (task, status) = match series {
        None => {
            let task = Task::create(valid, caller.user_id.clone(), Utc::now());
            tx.insert_task(&task).await.map_err(storage)?;
            (task, StatusCode::CREATED)
        }
        Some(series) => {
            let task = Task::create_in_series(valid, caller.user_id.clone(), Utc::now(), series).map_err(invalid)?;
            match tx.insert_occurrence(&task).await.map_err(storage)? {
                None => (task, StatusCode::CREATED),
                // The occurrence has its task already (a redelivered completion, a race):
                // answer with it and create nothing.
                Some(existing) => (existing, StatusCode::OK),
            }
        }
    };
    let location = format!("/v1/tasks/{}", task.id());
    if let Some(key) = &key {
        let stored = StoredResponse {
            request_hash,
            status: status.as_u16(),
            body: serde_json::to_vec(&task.snapshot()).map_err(ApiError::internal)?,
            location: Some(location.clone()),
            created_at: Utc::now(),
        };
        tx.idempotency_put(&caller.user_id, key, &stored).await.map_err(storage)?;
    }
    if status == StatusCode::CREATED {
        commit(&state, tx, Change::Created(&task), &context).await?;
    } else {
        tx.commit().await.map_err(storage)?;
    }
    let mut response = respond(status, &task, &context);
    if let Ok(value) = HeaderValue::from_str(&location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    Ok(response)
}

/// The original response again, with its `ETag` (the stored task's version) and this request's
/// id, as any task response has them.
fn replay(stored: StoredResponse, context: &EventContext) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::CREATED);
    let version = serde_json::from_slice::<Value>(&stored.body).ok().and_then(|task| task["version"].as_i64());
    let mut response = (status, [(header::CONTENT_TYPE, "application/json")], stored.body).into_response();
    let headers = response.headers_mut();
    if let Some(value) = stored.location.as_deref().and_then(|l| HeaderValue::from_str(l).ok()) {
        headers.insert(header::LOCATION, value);
    }
    if let Some(etag) = version.and_then(|v| HeaderValue::from_str(&format!("\"{v}\"")).ok()) {
        headers.insert(header::ETAG, etag);
    }
    if let Some(id) = context.correlation_id.as_deref().and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(REQUEST_ID, id);
    }
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    response
}
