//! The hand-written schemas of the document: the request bodies (`NewTask`, `TaskPatch` and
//! what they use), the list page and problem details. They state what `api::input`'s reader
//! accepts, built from [`patterns`]; what no schema can state is in their descriptions.

use serde_json::{Map, Value, json};

use super::patterns;

/// Every IANA zone name the server knows (`chrono-tz`'s database), sorted.
fn time_zone_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = chrono_tz::TZ_VARIANTS.iter().map(|zone| zone.name()).collect();
    names.sort_unstable();
    names
}

/// "When `field` is present and matches `condition`, `due_at` must be present and not
/// `null`": the rule across fields of a new task that JSON Schema can state.
fn needs_due_at(field: &str, condition: &Value) -> Value {
    json!({
        "if": { "required": [field], "properties": { field: condition } },
        "then": { "required": ["due_at"], "properties": { "due_at": { "type": "string" } } },
    })
}

/// A task's place in its recurring series, as the recurring-task service sends it.
fn series_input() -> Value {
    let instant = |description: &str| {
        json!({
            "type": "string", "format": "date-time", "pattern": patterns::DATE_TIME, "description": description
        })
    };
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["id", "start", "occurrence_at", "occurrence_number"],
        "properties": {
            "id": { "type": "string", "format": "uuid", "description": "The series id (its first task's id)." },
            "start": instant("The instant the rule is evaluated from (DTSTART); not after `occurrence_at`."),
            "occurrence_at": instant("The occurrence the task stands for; must equal `due_at`."),
            "occurrence_number": {
                "type": "integer", "minimum": 1, "maximum": 4_294_967_295_u64,
                "description": "1-based position in the series; at most the rule's `COUNT`."
            },
            "follows": {
                "type": ["string", "null"], "format": "date-time", "pattern": patterns::DATE_TIME,
                "description": "The `occurrence_at` of the completed predecessor; before `occurrence_at`."
            },
        },
        "description": "Where a task stands in its recurring series (see docs/recurrence.md).",
    })
}

/// Request bodies, the list page and problem details.
pub(super) fn hand_written() -> Map<String, Value> {
    let title = json!({
        "type": "string", "pattern": patterns::trimmed_line(Some(200)),
        "description": "1 to 200 characters once trimmed (white space around is removed), no control characters."
    });
    let description = json!({
        "type": ["string", "null"], "maxLength": 4000, "pattern": patterns::NO_NUL,
        "description": "Up to 4,000 characters, kept as written; no NUL. `null` means none."
    });
    let tags = json!({
        "type": "array", "maxItems": 20, "uniqueItems": true,
        "items": { "type": "string", "pattern": patterns::trimmed_line(Some(50)) },
        "description": "Up to 20 tags, each trimmed and lower-cased, 1 to 50 characters, no control characters. \
                        Two tags equal once trimmed and lower-cased (`Work`, ` work`) are 422 (`duplicate`); so is a \
                        tag that lower-casing lengthens beyond 50 characters (`İ` becomes two)."
    });
    let due_at = json!({
        "type": ["string", "null"], "format": "date-time", "pattern": patterns::DATE_TIME,
        "description": "RFC 3339 instant with an offset; kept to the microsecond. Once in UTC it must lie within years \
                        1 to 9999 (otherwise 422, rule `range`: `0001-01-01T00:30:00+01:00` is in year 0). `null` means none."
    });
    let time_zone = json!({
        "$ref": "#/components/schemas/TimeZoneName", "default": "UTC",
        "description": "The zone the task is thought of in: recurrences and day-based reminders are evaluated in it."
    });
    let reminders = json!({
        "type": "array", "maxItems": 10, "uniqueItems": true, "items": { "$ref": "#/components/schemas/ReminderInput" },
        "description": "Up to 10 distinct reminders (`PT60M` and `PT1H` are the same: 422, `duplicate`). \
                        `before_due` ones need `due_at`."
    });
    let recurrence = json!({
        "anyOf": [{ "$ref": "#/components/schemas/RecurrenceInput" }, { "type": "null" }],
        "description": "Needs `due_at`. `null` means none."
    });
    let properties = json!({
        "title": title,
        "description": description,
        "priority": { "$ref": "#/components/schemas/Priority" },
        "tags": tags,
        "due_at": due_at,
        "time_zone": time_zone,
        "reminders": reminders,
        "recurrence": recurrence,
    });
    let mut new_properties = properties.clone();
    new_properties["series"] = json!({
        "$ref": "#/components/schemas/SeriesInput",
        "description": "Only from a service acting for the user (scope `tasks:write_on_behalf` with \
                        `X-On-Behalf-Of`): the recurring-task service creating the successor of a completed \
                        occurrence. From a user token it is 422 (`read_only`). Needs `recurrence` and \
                        `due_at` equal to `series.occurrence_at`. If the series already has a task for this \
                        occurrence (same `occurrence_at`, or same `follows`), the answer is 200 with that task \
                        and nothing is created."
    });
    let new_task = json!({
        "type": "object", "additionalProperties": false, "required": ["title"], "properties": new_properties,
        "allOf": [
            needs_due_at("recurrence", &json!({ "not": { "type": "null" } })),
            needs_due_at("reminders", &json!({ "contains": { "type": "object", "required": ["before_due"] } })),
        ],
        "description": "The body of `POST /v1/tasks`. Unknown fields and server-set fields (`id`, `status`, \
                        `version`, `series_start`, …) are refused; a 422 lists every invalid field. `null` for `description`, \
                        `due_at` or `recurrence` is the same as leaving it out. A recurrence and `before_due` reminders \
                        need `due_at`; the recurrence must repeat after it (422 `no_next_occurrence`), and a \
                        `before_due` reminder must not fire before year 1.",
    });
    let patch = json!({
        "type": "object", "additionalProperties": false, "properties": properties,
        "description": "The body of `PATCH /v1/tasks/{id}`: the fields to change. `null` clears `description`, \
                        `due_at` or `recurrence`; the other fields cannot be `null` (send `\"none\"`, `[]` or \
                        `\"UTC\"`). Rules across fields (a recurrence and `before_due` reminders need `due_at`, \
                        the recurrence must repeat) are checked against the task as changed, so they are not in \
                        this schema: a patch valid here can still be 422.",
    });
    let schemas = json!({
        "TimeZoneName": {
            "type": "string", "enum": time_zone_names(), "examples": ["Europe/Berlin", "UTC"],
            "description": "An IANA time-zone name as spelt in the tz database the server carries (case-sensitive)."
        },
        "NewTask": new_task,
        "SeriesInput": series_input(),
        "TaskPatch": patch,
        "ReminderInput": {
            "oneOf": [
                {
                    "type": "object", "additionalProperties": false, "required": ["before_due"],
                    "properties": { "before_due": {
                        "type": "string", "pattern": patterns::DURATION,
                        "examples": ["PT15M", "P1D"],
                        "description": "ISO-8601 duration before `due_at`: `PnW` or `PnDTnHnMnS`, \
                                        upper case, whole numbers, longer than zero and at most 366 days in all \
                                        (otherwise 422, rule `range`); no years, months or fractions. Days and weeks \
                                        are calendar days in the task's time zone."
                    } },
                },
                {
                    "type": "object", "additionalProperties": false, "required": ["at"],
                    "properties": { "at": {
                        "type": "string", "format": "date-time", "pattern": patterns::DATE_TIME,
                        "description": "RFC 3339 instant; in UTC within years 1 to 9999, as `due_at`."
                    } },
                },
            ],
            "description": "Exactly one of `before_due` or `at`.",
        },
        "RecurrenceInput": {
            "type": "object", "additionalProperties": false, "required": ["rrule"],
            "properties": {
                "rrule": {
                    "type": "string", "maxLength": 500, "pattern": patterns::rrule(),
                    "examples": ["FREQ=WEEKLY;BYDAY=MO,WE"],
                    "description": "An RFC 5545 RRULE value without `RRULE:` or `DTSTART`, at most 500 characters: \
                                    `FREQ` `HOURLY` to `YEARLY`; no `BYMINUTE` or `BYSECOND`; `UNTIL` in UTC (inclusive); \
                                    `COUNT` counts the series' occurrences from its first task. \
                                    Lower case and white space around are accepted (the rule is upper-cased and \
                                    trimmed). The rule must also hold as RFC 5545 says (a part at most once, \
                                    `BYWEEKNO` only with `YEARLY`, …) and repeat after `due_at` within 10 years and \
                                    by the year 9999, unless `UNTIL` ends it: otherwise 422 (`format`, `range` or \
                                    `no_next_occurrence`)."
                },
                "anchor": { "$ref": "#/components/schemas/RecurrenceAnchor", "default": "due" },
            },
        },
        "TaskPage": {
            "type": "object", "required": ["items", "next_cursor"],
            "properties": {
                "items": { "type": "array", "items": { "$ref": "#/components/schemas/Task" } },
                "next_cursor": {
                    "type": ["string", "null"],
                    "description": "Pass as `cursor` for the next page; `null` on the last page."
                },
            },
        },
        "ProblemDetails": {
            "type": "object", "required": ["type", "title", "status", "detail"],
            "description": "An RFC 9457 problem. Clients branch on `type`, `status` and `errors[].rule`, not on `detail`.",
            "properties": {
                "type": {
                    "type": "string", "format": "uri",
                    "description": "`about:blank` when the status says it all; otherwise a \
                                    `https://taskstream.dev/problems/…` identifier."
                },
                "title": { "type": "string" },
                "status": { "type": "integer", "minimum": 400, "maximum": 599 },
                "detail": { "type": "string", "description": "For people." },
                "errors": {
                    "type": "array", "items": { "$ref": "#/components/schemas/ProblemFieldError" },
                    "description": "422 only: every invalid field, in the order found."
                },
                "current_version": {
                    "type": "integer", "format": "int64",
                    "description": "412 only: the resource's current version."
                },
            },
        },
        "ProblemFieldError": {
            "type": "object", "required": ["field", "rule", "message"],
            "properties": {
                "field": {
                    "type": "string",
                    "description": "Path in the body (`title`, `tags[3]`, `reminders[0].before_due`; empty for \
                                    the body itself), a query parameter or a header name."
                },
                "rule": {
                    "type": "string", "examples": ["required", "max_length", "unknown_field", "idempotency_key_reused"],
                    "description": "The rule broken, in snake_case; stable for clients."
                },
                "message": { "type": "string", "description": "For people." },
            },
        },
    });
    match schemas {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
