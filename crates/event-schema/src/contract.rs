//! Generation of the machine-readable contract in `contracts/`: one JSON Schema per event type
//! (the whole envelope, with `type` and `dataschema` fixed and `data` typed) and the topic
//! catalogue. A test regenerates these and fails when the checked-in files differ.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::{JsonSchema, generate::SchemaSettings};
use serde_json::{Value, json};

use crate::envelope::{CONTENT_TYPE, Envelope};
use crate::payloads::*;
use crate::topics::{self, CONSUMER_GROUPS, EVENT_TOPICS, dead_letter_headers};
use crate::types::{EventPayload, EventType};

/// Every generated file, by path relative to `contracts/`, with its exact content.
pub fn generated_files() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut add = |path: String, value: Value| {
        let mut text = serde_json::to_string_pretty(&value).expect("a JSON value always serialises");
        text.push('\n');
        files.insert(path, text);
    };
    add(schema_path(EventType::TaskCreated), event_schema::<TaskCreated>());
    add(schema_path(EventType::TaskUpdated), event_schema::<TaskUpdated>());
    add(schema_path(EventType::TaskCompleted), event_schema::<TaskCompleted>());
    add(schema_path(EventType::TaskReopened), event_schema::<TaskReopened>());
    add(schema_path(EventType::TaskDeleted), event_schema::<TaskDeleted>());
    add(schema_path(EventType::ReminderScheduled), event_schema::<ReminderScheduled>());
    add(schema_path(EventType::ReminderCancelled), event_schema::<ReminderCancelled>());
    add(schema_path(EventType::ReminderSent), event_schema::<ReminderSent>());
    add("topics.json".to_owned(), catalogue());
    files
}

/// Where the schema of an event type's current version lives, relative to `contracts/`.
pub fn schema_path(event_type: EventType) -> String {
    format!("schemas/{}.v{}.json", event_type.as_str(), event_type.version())
}

fn event_schema<P: EventPayload + JsonSchema>() -> Value {
    let generator = SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator.into_root_schema_for::<Envelope<P>>().to_value();
    let t = P::TYPE;
    schema["$id"] = json!(t.dataschema());
    schema["title"] = json!(format!("{} v{}", t.as_str(), t.version()));
    schema["description"] =
        json!(format!("A `{}` CloudEvent (structured JSON mode) on topic `{}`.", t.as_str(), t.topic()));
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        props.insert("type".into(), json!({ "const": t.as_str() }));
        props.insert("dataschema".into(), json!({ "const": t.dataschema() }));
        props.insert("specversion".into(), json!({ "const": "1.0" }));
        props.insert("datacontenttype".into(), json!({ "const": "application/json" }));
    }
    schema
}

fn catalogue() -> Value {
    let events: Vec<Value> = EventType::ALL
        .iter()
        .map(|t| {
            json!({
                "type": t.as_str(),
                "version": t.version(),
                "topic": t.topic(),
                "dataschema": t.dataschema(),
                "schema": schema_path(*t),
            })
        })
        .collect();
    let dead_letter_topics: Vec<Value> = CONSUMER_GROUPS
        .iter()
        .map(|g| {
            json!({
                "name": topics::dead_letter_topic(g.group_id),
                "group_id": g.group_id,
                "partitions": topics::DEAD_LETTER_PARTITIONS,
                "retention_ms": topics::DEAD_LETTER_RETENTION_MS,
            })
        })
        .collect();
    json!({
        "content_type": CONTENT_TYPE,
        "topics": EVENT_TOPICS,
        "events": events,
        "consumer_groups": CONSUMER_GROUPS,
        "dead_letter_topics": dead_letter_topics,
        "dead_letter_headers": dead_letter_headers::ALL,
    })
}

/// One difference between the generated contract and a `contracts/` directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Drift {
    /// A generated file is missing from the directory.
    Missing(String),
    /// A file differs from what the code generates.
    Changed(String),
    /// A schema file exists that the code no longer generates.
    Stale(String),
}

/// Compares `dir` (a `contracts/` directory) with [`generated_files`].
pub fn drift(dir: &Path) -> std::io::Result<Vec<Drift>> {
    let generated = generated_files();
    let mut drifts = Vec::new();
    for (path, content) in &generated {
        match std::fs::read_to_string(dir.join(path)) {
            Ok(existing) if existing == *content => {}
            Ok(_) => drifts.push(Drift::Changed(path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => drifts.push(Drift::Missing(path.clone())),
            Err(e) => return Err(e),
        }
    }
    let schemas = dir.join("schemas");
    if schemas.is_dir() {
        for entry in std::fs::read_dir(schemas)? {
            let name = format!("schemas/{}", entry?.file_name().to_string_lossy());
            if !generated.contains_key(&name) {
                drifts.push(Drift::Stale(name));
            }
        }
    }
    Ok(drifts)
}

/// Writes the generated files into `dir` and removes stale schema files.
pub fn write(dir: &Path) -> std::io::Result<()> {
    for drift in drift(dir)? {
        if let Drift::Stale(path) = drift {
            std::fs::remove_file(dir.join(path))?;
        }
    }
    for (path, content) in generated_files() {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(target, content)?;
    }
    Ok(())
}
