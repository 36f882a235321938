//! Keeps `contracts/` in sync with the Rust types, and proves the golden examples decode.
//!
//! Regenerate after changing a type: `make contracts` (runs this with `UPDATE_CONTRACTS=1`).

use std::path::{Path, PathBuf};

use event_schema::contract::{self, Drift};
use event_schema::{EventData, EventType, decode};

fn contracts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts")
}

#[test]
fn contracts_directory_matches_the_generated_contract() {
    let dir = contracts_dir();
    if std::env::var_os("UPDATE_CONTRACTS").is_some() {
        contract::write(&dir).expect("write contracts");
    }
    let drift = contract::drift(&dir).expect("read contracts");
    assert!(
        drift.is_empty(),
        "contracts/ differs from the Rust types: {drift:?}\nRun `make contracts` and commit the result."
    );
}

#[test]
fn an_edited_schema_file_is_reported_as_drift() {
    let copy = tempfile::tempdir().expect("tempdir");
    contract::write(copy.path()).expect("write");
    assert_eq!(contract::drift(copy.path()).expect("drift"), vec![]);

    let edited = copy.path().join(contract::schema_path(EventType::TaskCreated));
    let text = std::fs::read_to_string(&edited).expect("read");
    std::fs::write(&edited, text.replace("\"title\"", "\"name\"")).expect("edit");
    std::fs::write(copy.path().join("schemas/task.archived.v1.json"), "{}").expect("stale");

    let drift = contract::drift(copy.path()).expect("drift");
    assert!(drift.contains(&Drift::Changed(contract::schema_path(EventType::TaskCreated))), "{drift:?}");
    assert!(drift.contains(&Drift::Stale("schemas/task.archived.v1.json".into())), "{drift:?}");
}

fn examples() -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(contracts_dir().join("examples")).expect("examples dir") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            out.push((name, std::fs::read(&path).expect("read example")));
        }
    }
    out.sort();
    out
}

#[test]
fn every_event_type_has_a_golden_example_that_decodes_to_its_typed_payload() {
    let examples = examples();
    for event_type in EventType::ALL {
        let name = format!("{}.v{}.json", event_type.as_str(), event_type.version());
        let (_, bytes) =
            examples.iter().find(|(n, _)| *n == name).unwrap_or_else(|| panic!("contracts/examples/{name} is missing"));
        let event = decode(bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(event.data.event_type(), Some(event_type), "{name}");
        assert_eq!(event.meta.event_type, event_type.as_str());
    }
}

#[test]
fn every_golden_example_validates_against_its_json_schema() {
    for (name, bytes) in examples() {
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let Some(event_type) = value["type"].as_str().and_then(EventType::parse) else {
            continue; // compatibility examples of unknown types have no schema
        };
        let schema_text =
            std::fs::read_to_string(contracts_dir().join(contract::schema_path(event_type))).expect("schema file");
        let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema json");
        let validator = jsonschema::validator_for(&schema).expect("valid schema");
        let errors: Vec<String> = validator.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errors.is_empty(), "{name}: {errors:?}");
    }
}

#[test]
fn compatibility_examples_decode_without_error() {
    let examples = examples();
    let (_, unknown) = examples
        .iter()
        .find(|(n, _)| n == "compat.unknown-type.json")
        .expect("contracts/examples/compat.unknown-type.json");
    assert!(matches!(decode(unknown).expect("decodes").data, EventData::Unknown(_)));
    let (_, extra) = examples
        .iter()
        .find(|(n, _)| n == "compat.extra-fields.json")
        .expect("contracts/examples/compat.extra-fields.json");
    assert_eq!(decode(extra).expect("decodes").data.event_type(), Some(EventType::TaskCreated));
}

/// Every instant string of a golden example, one at a time, moved to a year RFC 3339 cannot
/// write; and the envelope's `sequence` outside CloudEvents' Integer. `decode` refuses exactly
/// the variants the schema refuses (an instant inside a free-form value, such as an update's
/// `changes`, is only text to both).
#[test]
fn decode_refuses_what_the_json_schemas_refuse_instants_beyond_year_9999_and_bad_sequences() {
    let mut checked = 0;
    for (name, bytes) in examples() {
        let value: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        let Some(event_type) = value["type"].as_str().and_then(EventType::parse) else { continue };
        let schema_text =
            std::fs::read_to_string(contracts_dir().join(contract::schema_path(event_type))).expect("schema file");
        let schema: serde_json::Value = serde_json::from_str(&schema_text).expect("schema json");
        let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("valid schema");
        let mut variants = Vec::new();
        for path in instant_paths(&value, String::new()) {
            for bad in ["+10000-01-01T13:59:59Z", "-0001-12-31T10:00:00Z"] {
                let mut edited = value.clone();
                *edited.pointer_mut(&path).expect("path") = bad.into();
                variants.push((format!("{path} = {bad}"), edited));
            }
        }
        for sequence in [-7_i64, 0, 2_147_483_648] {
            let mut edited = value.clone();
            edited["sequence"] = sequence.into();
            variants.push((format!("sequence = {sequence}"), edited));
        }
        for (what, edited) in variants {
            let schema_accepts = validator.is_valid(&edited);
            let decode_accepts = decode(&serde_json::to_vec(&edited).expect("json")).is_ok();
            assert_eq!(decode_accepts, schema_accepts, "{name}: {what}: decode and the schema disagree");
            checked += usize::from(!schema_accepts);
        }
    }
    assert!(checked > 50, "only {checked} refused variants were checked");
}

/// JSON pointers of the strings that are RFC 3339 instants.
fn instant_paths(value: &serde_json::Value, at: String) -> Vec<String> {
    match value {
        serde_json::Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => vec![at],
        serde_json::Value::Object(map) => map
            .iter()
            .flat_map(|(k, v)| instant_paths(v, format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"))))
            .collect(),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().flat_map(|(i, v)| instant_paths(v, format!("{at}/{i}"))).collect()
        }
        _ => vec![],
    }
}
