//! The document's schemas against the server, value by value: a sample value the document
//! admits is one the API accepts, and one it refuses is one the API refuses. `make fuzz` relies
//! on both directions: generated valid cases must reach the handlers, and its negative cases
//! must be refused with a 4xx (`negative_data_rejection`).
//!
//! Formats are asserted, as schemathesis asserts them. Left out on purpose: what the document
//! can only describe (rules across a patch and the stored task, whether an RRULE repeats, an
//! instant that leaves years 1 to 9999 once in UTC, a well-formed `cursor` this API did not
//! issue), which the descriptions state; and the
//! server's leniencies that `format: date-time` cannot admit (chrono takes a space for the
//! `T` of an instant).

use std::time::Duration;

use reqwest::{Client, Method, StatusCode};
use serde_json::{Map, Value, json};
use service_runtime::auth::{ON_BEHALF_SCOPE, mint_dev_token};
use task_api::api::{FromJson as _, NewTaskOnBehalf, document};
use task_domain::NewTask;
use uuid::Uuid;

use super::{auth_settings, serve_router};

/// A validator for `schema`, resolving references in the document, with formats asserted.
fn checker(schema: Value) -> jsonschema::Validator {
    let mut root = document();
    if let (Value::Object(root), Value::Object(schema)) = (&mut root, schema) {
        root.extend(schema);
    }
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&root)
        .unwrap_or_else(|e| panic!("not a valid JSON Schema: {e}"))
}

fn component(name: &str) -> jsonschema::Validator {
    checker(json!({ "$ref": format!("#/components/schemas/{name}") }))
}

/// The schema of the parameter `name` of `method path`.
fn parameter(path: &str, method: &str, name: &str) -> jsonschema::Validator {
    let document = document();
    let parameters = document["paths"][path][method]["parameters"].as_array().expect("parameters");
    let parameter = parameters
        .iter()
        .map(|p| match p["$ref"].as_str().and_then(|r| r.strip_prefix('#')) {
            Some(pointer) => document.pointer(pointer).cloned().unwrap_or_default(),
            None => p.clone(),
        })
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} has no parameter {name}"));
    checker(parameter["schema"].clone())
}

/// A query or header value as the schema sees it: typed for booleans and integers, in a list
/// for repeated (array) parameters.
fn typed(validator: &jsonschema::Validator, value: &str) -> Value {
    let text = Value::String(value.to_owned());
    if validator.is_valid(&json!([value])) && !validator.is_valid(&text) {
        return json!([value]);
    }
    match serde_json::from_str::<Value>(value) {
        Ok(parsed @ (Value::Bool(_) | Value::Number(_))) if !validator.is_valid(&text) => parsed,
        _ => text,
    }
}

fn token(sub: &str, claims: Value) -> String {
    let claims = match claims {
        Value::Object(claims) => claims,
        _ => Map::new(),
    };
    mint_dev_token(&auth_settings(), sub, Duration::from_secs(600), claims).expect("token")
}

#[test]
fn the_new_task_schema_admits_exactly_the_bodies_the_reader_accepts() {
    let schema = component("NewTask");
    let due = "2030-03-04T09:00:00Z";
    let cases = [
        (json!({ "title": "  Buy milk \t" }), true),
        (json!({ "title": "é".repeat(200) }), true),
        (json!({ "title": format!("  {}  ", "a".repeat(200)) }), true),
        (json!({ "title": "é".repeat(201) }), false),
        (json!({ "title": " \u{3000} " }), false),
        (json!({ "title": "two\nlines" }), false),
        (json!({ "title": "bell\u{7}" }), false),
        (json!({ "title": "t", "description": "ß".repeat(4000) }), true),
        (json!({ "title": "t", "description": "ß".repeat(4001) }), false),
        (json!({ "title": "t", "description": "a\u{0}b" }), false),
        (json!({ "title": "t", "tags": [" Work ", "home"] }), true),
        (json!({ "title": "t", "tags": ["a", "a"] }), false),
        (json!({ "title": "t", "tags": ["x".repeat(51)] }), false),
        (json!({ "title": "t", "tags": ["a\u{85}b"] }), false),
        (json!({ "title": "t", "time_zone": "Europe/Berlin" }), true),
        (json!({ "title": "t", "time_zone": "europe/berlin" }), false),
        (json!({ "title": "t", "due_at": "2030-03-04T10:00:00.1234567+01:00" }), true),
        (json!({ "title": "t", "due_at": "2030-03-04t09:00:00z" }), true),
        (json!({ "title": "t", "due_at": "2030-03-04" }), false),
        (json!({ "title": "t", "due_at": "2030-02-30T09:00:00Z" }), false),
        (json!({ "title": "t", "due_at": "0000-06-01T00:00:00Z" }), false),
        (
            json!({ "title": "t", "due_at": due, "reminders": [{ "before_due": "PT90M" }, { "before_due": "P1W" }] }),
            true,
        ),
        (json!({ "title": "t", "due_at": due, "reminders": [{ "before_due": "P1DT12H" }] }), true),
        (json!({ "title": "t", "reminders": [{ "before_due": "PT15M" }] }), false),
        (json!({ "title": "t", "due_at": null, "reminders": [{ "before_due": "PT15M" }] }), false),
        (json!({ "title": "t", "reminders": [{ "at": due }] }), true),
        (
            json!({ "title": "t", "due_at": due, "reminders": [{ "before_due": "PT1H" }, { "before_due": "PT1H" }] }),
            false,
        ),
        (json!({ "title": "t", "due_at": due, "reminders": [{ "before_due": "P1W2D" }] }), false),
        (json!({ "title": "t", "due_at": due, "reminders": [{ "before_due": "P1Y" }] }), false),
        (json!({ "title": "t", "due_at": due, "reminders": [{ "before_due": "PT" }] }), false),
        (json!({ "title": "t", "due_at": due, "reminders": [{ "before_due": "PT1.5H" }] }), false),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=WEEKLY;BYDAY=MO,WE" } }), true),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=DAILY;UNTIL=20300401T000000Z" } }), true),
        (
            json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=MONTHLY;BYDAY=-1FR", "anchor": "completion" } }),
            true,
        ),
        (json!({ "title": "t", "recurrence": { "rrule": "FREQ=DAILY" } }), false),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=MINUTELY" } }), false),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=DAILY;COUNT=3" } }), true),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=DAILY;COUNT=0" } }), false),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=DAILY;;" } }), false),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "RRULE:FREQ=DAILY" } }), false),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=DAILY;UNTIL=20300401" } }), false),
        (json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=DAILY;BYMINUTE=5" } }), false),
    ];
    for (body, accepted) in cases {
        assert_eq!(schema.is_valid(&body), accepted, "the schema on {body}");
        let read = NewTask::from_json(&body);
        assert_eq!(read.is_ok(), accepted, "the reader on {body}: {:?}", read.err().map(|e| e.to_string()));
    }
}

#[test]
fn the_new_task_schema_admits_exactly_the_series_positions_a_service_may_send() {
    let schema = component("NewTask");
    let due = "2030-03-05T09:00:00Z";
    let task = |series: Value| json!({ "title": "t", "due_at": due, "recurrence": { "rrule": "FREQ=DAILY" }, "series": series });
    let position = json!({
        "id": "01a23150-256d-761d-a939-0282a6f8a448", "start": "2030-03-04T09:00:00Z",
        "occurrence_at": due, "occurrence_number": 2, "follows": "2030-03-04T09:00:00Z"
    });
    let with = |key: &str, value: Value| {
        let mut p = position.clone();
        p[key] = value;
        task(p)
    };
    let cases = [
        (task(position.clone()), true),
        (with("follows", Value::Null), true),
        (with("occurrence_number", json!(0)), false),
        (with("occurrence_number", json!("2")), false),
        (with("id", json!("nope")), false),
        (with("id", json!("01a23150256d761da9390282a6f8a448")), false),
        (with("start", json!("2030-03-04")), false),
        (with("colour", json!("red")), false),
        (task(json!({ "id": "01a23150-256d-761d-a939-0282a6f8a448" })), false),
        (task(Value::Null), false),
    ];
    for (body, accepted) in cases {
        assert_eq!(schema.is_valid(&body), accepted, "the schema on {body}");
        let read = NewTaskOnBehalf::from_json(&body);
        assert_eq!(read.is_ok(), accepted, "the reader on {body}: {:?}", read.err().map(|e| e.to_string()));
    }
    // A user's body is read without `series`: the field is read-only for users (422).
    assert!(NewTask::from_json(&task(position)).is_err(), "a user may not send series");
}

/// `(parameter, value, accepted)` for `GET /v1/tasks`.
const LIST_QUERIES: &[(&str, &str, bool)] = &[
    ("status", "completed", true),
    ("status", "done", false),
    ("priority", "high, urgent", true),
    ("priority", ",", true),
    ("priority", "high,super", false),
    ("tag", " Home ", true),
    ("tag", "\u{2003}", false),
    ("tag", "a\u{7}b", false),
    ("tag_match", "all", true),
    ("tag_match", "some", false),
    ("q", "line\nbreak", true),
    ("q", "   ", true),
    ("q", "a\u{0}b", false),
    ("due_before", "2030-03-04T09:00:00+01:00", true),
    ("due_before", "2030-03-04t09:00:00.5z", true),
    ("due_before", "2030-03-04", false),
    ("due_after", "0000-06-01T00:00:00Z", false),
    ("overdue", "true", true),
    ("overdue", "yes", false),
    ("series_id", "01a23150-256d-761d-a939-0282a6f8a448", true),
    ("series_id", "nope", false),
    ("sort", "-priority,due_at", true),
    ("sort", " title , ,due_at", true),
    ("sort", "", true),
    ("sort", "due_at,-due_at", false),
    ("sort", "title,\ntitle", false),
    ("sort", "colour", false),
    ("limit", "200", true),
    ("limit", "0", false),
    ("limit", "201", false),
    ("cursor", "!", false),
];

#[tokio::test]
async fn every_list_parameter_schema_admits_exactly_what_the_list_accepts() {
    let (base, server) = serve_router().await;
    let client = Client::new();
    let bearer = token("alice", json!({}));

    for &(name, value, accepted) in LIST_QUERIES {
        let schema = parameter("/v1/tasks", "get", name);
        assert_eq!(schema.is_valid(&typed(&schema, value)), accepted, "the schema of {name} on {value:?}");
        let query = form_urlencoded::Serializer::new(String::new()).append_pair(name, value).finish();
        let status = client
            .get(format!("{base}/v1/tasks?{query}"))
            .bearer_auth(&bearer)
            .send()
            .await
            .expect("response")
            .status();
        let expected = if accepted { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
        assert_eq!(status, expected, "the API on {name}={value:?}");
    }
    server.abort();
}

#[tokio::test]
async fn the_header_schemas_admit_exactly_what_the_api_accepts() {
    let (base, server) = serve_router().await;
    let client = Client::new();
    let alice = token("alice", json!({}));
    let service = token("service:reminders", json!({ "scope": ON_BEHALF_SCOPE }));
    let missing = format!("{base}/v1/tasks/{}", Uuid::now_v7());
    let long = "x".repeat(255);
    let too_long = "x".repeat(256);
    // (method, URL (empty: /v1/tasks), token, header, value, accepted)
    let cases: Vec<(Method, &str, &str, &str, &str, bool)> = vec![
        (Method::PATCH, &missing, &alice, "If-Match", "\"3\"", true),
        (Method::PATCH, &missing, &alice, "If-Match", "W/\"3\"", true),
        (Method::PATCH, &missing, &alice, "If-Match", "3", true),
        (Method::PATCH, &missing, &alice, "If-Match", "\"three\"", false),
        (Method::DELETE, &missing, &alice, "If-Match", "*", false),
        (Method::POST, "", &alice, "Idempotency-Key", "order-17", true),
        (Method::POST, "", &alice, "Idempotency-Key", "two words", false),
        (Method::POST, "", &alice, "Idempotency-Key", &too_long, false),
        (Method::GET, "", &service, "X-On-Behalf-Of", "bob", true),
        (Method::GET, "", &service, "X-On-Behalf-Of", &long, true),
        (Method::GET, "", &service, "X-On-Behalf-Of", &too_long, false),
        (Method::GET, "", &service, "X-On-Behalf-Of", "service:audit", false),
        (Method::GET, "", &service, "X-On-Behalf-Of", "bob smith", false),
    ];
    let tasks = format!("{base}/v1/tasks");
    for (method, url, bearer, header, value, accepted) in cases {
        let url = if url.is_empty() { tasks.as_str() } else { url };
        let (path, operation) = match (&method, url == tasks) {
            (&Method::GET, true) => ("/v1/tasks", "get"),
            (&Method::POST, true) => ("/v1/tasks", "post"),
            (&Method::PATCH, false) => ("/v1/tasks/{id}", "patch"),
            _ => ("/v1/tasks/{id}", "delete"),
        };
        let schema = parameter(path, operation, header);
        assert_eq!(schema.is_valid(&json!(value)), accepted, "the schema of {header} on {value:?}");

        let mut request = client.request(method.clone(), url).bearer_auth(bearer).header(header, value);
        if method == Method::POST || method == Method::PATCH {
            request = request.json(&json!({ "title": "t" }));
        }
        let status = request.send().await.expect("response").status();
        let expected = match (accepted, header, &method) {
            // A version that is well-formed gets as far as looking the task up.
            (true, "If-Match", _) => StatusCode::NOT_FOUND,
            (true, _, &Method::POST) => StatusCode::CREATED,
            (true, _, _) => StatusCode::OK,
            (false, "X-On-Behalf-Of", _) => StatusCode::FORBIDDEN,
            (false, _, _) => StatusCode::UNPROCESSABLE_ENTITY,
        };
        assert_eq!(status, expected, "the API on {method} {url} with {header}: {value:?}");
    }
    server.abort();
}
