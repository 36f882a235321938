//! Keeps `contracts/openapi.json` in sync with the code, and the document in sync with the
//! router: every route is documented, and every documented operation is routed.
//!
//! Regenerate after changing a handler's documentation: `make contracts` (runs this with
//! `UPDATE_CONTRACTS=1`). Needs no broker and no PostgreSQL (an in-memory SQLite store).
//!
//! # Layout
//! - this file: drift, routes, references, and the response and body schemas.
//! - `agreement`: the schemas against the server, value by value (what `make fuzz` relies on).

mod agreement;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};
use service_runtime::auth::{AuthError, AuthSettings};
use service_runtime::problem::{ApiError, ProblemFieldError};
use service_runtime::settings::{BaseSettings, HttpSettings};
use task_api::api::{FromJson as _, document, problem, router};
use task_api::storage::DatabaseSettings;
use task_api::{Application, Settings, TaskApiSettings};
use task_domain::{NewTask, Task};

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn contract_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/openapi.json")
}

/// The auth settings of [`serve_router`]: a development secret, so tests can mint tokens.
fn auth_settings() -> AuthSettings {
    AuthSettings {
        hs256_secret: Some(SecretString::from("openapi-test-secret-at-least-32-bytes")),
        ..Default::default()
    }
}

fn generated() -> String {
    let mut text = serde_json::to_string_pretty(&document()).expect("a JSON value always serialises");
    text.push('\n');
    text
}

#[test]
fn contracts_openapi_json_matches_the_generated_document() {
    let path = contract_path();
    if std::env::var_os("UPDATE_CONTRACTS").is_some() {
        std::fs::write(&path, generated()).expect("write contracts/openapi.json");
    }
    let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        checked_in == generated(),
        "contracts/openapi.json differs from the document the code generates.\n\
         Run `make contracts` and commit the result."
    );
}

/// `(path, method)` of every operation in the document.
fn documented() -> BTreeSet<(String, String)> {
    let document = document();
    let paths = document["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("path item");
            item.keys().filter(|m| METHODS.contains(&m.as_str())).map(move |m| (path.clone(), m.clone()))
        })
        .collect()
}

/// `(path, method)` of every route `api::router` declares, read from its source: axum cannot
/// list a router's routes, and a probe can only find the paths it already knows. Reads the
/// `.route("<path>", <method>(…).<method>(…))` calls of `src/api/mod.rs`.
fn routed() -> BTreeSet<(String, String)> {
    let source =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/api/mod.rs")).expect("src/api/mod.rs");
    let mut routes = BTreeSet::new();
    for call in source.split(".route(\"").skip(1) {
        let (path, rest) = call.split_once('"').expect("a route path literal");
        // The call ends at the parenthesis that closes `.route(`.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map_or(rest.len(), |(i, _)| i);
        let handlers = &rest[..end];
        for method in METHODS {
            let called = handlers.match_indices(&format!("{method}(")).any(|(i, _)| {
                let before = handlers[..i].chars().next_back();
                !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':')
            });
            if called {
                routes.insert((path.to_owned(), method.to_owned()));
            }
        }
    }
    routes
}

#[test]
fn every_route_of_the_router_is_documented_and_nothing_else() {
    let routed = routed();
    assert!(routed.contains(&("/v1/tasks/{id}".to_owned(), "patch".to_owned())), "the route scan works: {routed:?}");

    let documented = documented();

    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes without documentation (add #[utoipa::path] and list the handler in api/openapi.rs): {undocumented:?}"
    );
    assert!(unrouted.is_empty(), "documented operations the router does not serve: {unrouted:?}");
}

/// `api::router` on port 0 with the state `Application::build` makes (in-memory SQLite; the
/// Kafka producer is created but never used, so no broker is needed).
async fn serve_router() -> (String, tokio::task::JoinHandle<()>) {
    let base = BaseSettings {
        http: HttpSettings { host: "127.0.0.1".into(), port: 0, ..HttpSettings::default() },
        ..Default::default()
    };
    let auth = auth_settings();
    let database = DatabaseSettings { url: "sqlite::memory:".into(), max_connections: 1, ..Default::default() };
    let app = TaskApiSettings { database, auth, ..Default::default() };
    let application = Application::build(Settings { base, app }).await.expect("build");
    let state = application.state().clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = format!("http://{}", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move {
        axum::serve(listener, router(state)).await.expect("serve");
    });
    (address, server)
}

#[tokio::test]
async fn the_router_serves_every_documented_operation_and_refuses_other_methods() {
    let (base, server) = serve_router().await;
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    let documented = documented();
    let paths: BTreeSet<&String> = documented.iter().map(|(p, _)| p).collect();

    for path in paths {
        let url = format!("{base}{}", path.replace("{id}", &uuid::Uuid::now_v7().to_string()));
        for method in METHODS {
            let response =
                client.request(method.to_uppercase().parse().expect("method"), &url).send().await.expect("response");
            let status = response.status().as_u16();
            if documented.contains(&(path.clone(), method.to_owned())) {
                // Without a token, every /v1 operation answers 401 before it looks at anything else.
                let expected = if path.starts_with("/v1/") { 401 } else { 200 };
                assert_eq!(status, expected, "{method} {path}");
            } else {
                assert_eq!(status, 405, "{method} {path} is routed but not documented");
            }
        }
    }

    let served: Value =
        client.get(format!("{base}/openapi.json")).send().await.expect("get").json().await.expect("json");
    assert_eq!(served, document(), "GET /openapi.json serves the document");
    server.abort();
}

#[test]
fn the_document_is_openapi_3_1_and_every_reference_resolves() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");

    let mut refs = Vec::new();
    collect_refs(&document, &mut refs);
    assert!(refs.len() > 10, "{refs:?}");
    for reference in refs {
        let pointer = reference.strip_prefix('#').unwrap_or_else(|| panic!("external reference {reference}"));
        assert!(document.pointer(pointer).is_some(), "{reference} does not resolve");
    }
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("path item") {
            assert!(operation["operationId"].is_string(), "{method} {path} has no operationId");
            let security = &operation["security"];
            if path.starts_with("/v1/") {
                assert!(security.is_null(), "{method} {path} overrides the global bearer requirement");
            } else {
                assert_eq!(security, &json!([]), "{method} {path} is public");
            }
        }
    }
    assert_eq!(document["security"], json!([{ "bearer": [] }]));
    assert_eq!(document["components"]["securitySchemes"]["bearer"]["bearerFormat"], "JWT");
}

fn collect_refs(value: &Value, refs: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                refs.push(r.clone());
            }
            map.values().for_each(|v| collect_refs(v, refs));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, refs)),
        _ => {}
    }
}

/// A validator for one component schema, resolving `#/components/schemas/…` in the document.
fn validator(component: &str) -> jsonschema::Validator {
    let mut root = document();
    root["$ref"] = json!(format!("#/components/schemas/{component}"));
    jsonschema::draft202012::new(&root).unwrap_or_else(|e| panic!("{component} is not a valid JSON Schema: {e}"))
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value) {
    let errors: Vec<String> =
        validator.iter_errors(instance).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{instance}: {errors:?}");
}

#[test]
fn every_problem_the_api_answers_matches_problem_details() {
    let validator = validator("ProblemDetails");
    let errors = [
        ProblemFieldError::new("title", "max_length", "too long"),
        ProblemFieldError::new("", "type", "must be an object"),
    ];
    for error in [
        ApiError::validation(errors),
        ApiError::bad_request("not JSON"),
        ApiError::unauthorized(AuthError::Expired),
        ApiError::unauthorized(AuthError::Forbidden("no act_for".into())),
        ApiError::forbidden("no"),
        ApiError::not_found(),
        ApiError::conflict("retry"),
        problem::version_mismatch(3),
        problem::idempotency_key_reused(),
        ApiError::unavailable("down"),
        ApiError::internal(anyhow::anyhow!("boom")),
    ] {
        assert_valid(&validator, &serde_json::to_value(error.problem()).expect("json"));
    }
}

#[test]
fn a_task_and_a_page_match_their_schemas() {
    let full = NewTask::from_json(&json!({
        "title": "Stand-up",
        "description": "daily",
        "priority": "high",
        "tags": ["work"],
        "due_at": "2030-03-04T09:00:00Z",
        "time_zone": "Europe/Berlin",
        "reminders": [{ "before_due": "PT15M" }, { "at": "2030-03-03T18:00:00Z" }],
        "recurrence": { "rrule": "FREQ=WEEKLY;BYDAY=MO", "anchor": "completion" }
    }))
    .expect("valid");
    let minimal = NewTask::from_json(&json!({ "title": "Buy milk" })).expect("valid");
    let tasks: Vec<Value> = [full, minimal]
        .into_iter()
        .map(|t| serde_json::to_value(Task::create(t, "alice", Utc::now()).snapshot()).expect("json"))
        .collect();

    let task_schema = validator("Task");
    for task in &tasks {
        assert_valid(&task_schema, task);
    }
    assert_valid(&validator("TaskPage"), &json!({ "items": tasks, "next_cursor": null }));
}

#[test]
fn the_request_body_schemas_accept_the_readme_examples_and_refuse_unknown_fields() {
    let new_task = validator("NewTask");
    let readme = json!({
        "title": "Water the plants", "priority": "high", "tags": ["home"],
        "due_at": "2030-01-06T08:00:00Z", "time_zone": "Europe/Berlin",
        "reminders": [{ "before_due": "PT15M" }],
        "recurrence": { "rrule": "FREQ=WEEKLY;BYDAY=MO", "anchor": "due" }
    });
    assert_valid(&new_task, &readme);
    assert!(NewTask::from_json(&readme).is_ok(), "the server accepts it too");
    assert!(!new_task.is_valid(&json!({ "title": "t", "colour": "red" })));
    assert!(
        !new_task
            .is_valid(&json!({ "title": "t", "reminders": [{ "before_due": "PT1M", "at": "2030-01-01T00:00:00Z" }] }))
    );

    let patch = validator("TaskPatch");
    assert_valid(&patch, &json!({ "due_at": null, "reminders": [], "description": null, "recurrence": null }));
    assert!(!patch.is_valid(&json!({ "title": null })));
    assert!(!patch.is_valid(&json!({ "version": 3 })));
}
