//! The regular expressions of the document: what the readers accept, spelt so that the JSON
//! Schema validators of clients (ECMA 262), of schemathesis (Python `re` for generating,
//! fancy-regex for validating) and of `tests/openapi.rs` (Rust) all read them alike.
//!
//! # Decisions
//! - **Character classes are explicit**, never `\s` or `\p{…}`: `\s` differs between the
//!   engines (Python counts U+001C–U+001F, ECMA counts U+FEFF), and Rust's `str::trim`, which
//!   the server applies, removes exactly Unicode's `White_Space` ([`WHITE_SPACE`]); "control"
//!   is Rust's `char::is_control`, Unicode's `Cc` ([`CONTROL`]).
//! - **Trimmed text** is written `^W*(X(Y{0,n-2}X)?)W*$`: the part that remains after trimming
//!   starts and ends with a character that is neither white space nor control and counts 1 to
//!   n characters, so `maxLength` (which would count the padding) is not used.
//! - **Durations and RRULEs** give each number only as many digits as a valid value can have;
//!   what no expression can say (a duration's sum, whether an RRULE repeats) is in the
//!   descriptions and answered with 422.

/// Unicode `White_Space`, what `str::trim` removes, as the inside of a character class.
const WHITE_SPACE: &str = r"\t\n\u000b\u000c\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000";

/// Unicode `Cc`, what `char::is_control` is true for, as the inside of a character class.
const CONTROL: &str = r"\u0000-\u001f\u007f-\u009f";

/// Any white space, repeated.
fn white_space() -> String {
    format!("[{WHITE_SPACE}]*")
}

/// A character that is neither white space nor control (the first and last of trimmed text).
fn solid() -> String {
    format!("[^{CONTROL}{WHITE_SPACE}]")
}

/// Trimmed text of 1 to `max` characters (`None`: unbounded) with no control characters,
/// white space allowed around it.
pub(super) fn trimmed_line(max: Option<usize>) -> String {
    let (w, x) = (white_space(), solid());
    let inner = match max {
        Some(max) => format!("{{0,{}}}", max.saturating_sub(2)),
        None => "*".to_owned(),
    };
    format!("^{w}{x}(?:[^{CONTROL}]{inner}{x})?{w}$")
}

/// Trimmed text of 0 to `max` characters without NUL (the list's `q`).
pub(super) fn trimmed_search(max: usize) -> String {
    let w = white_space();
    let x = format!("[^\\u0000{WHITE_SPACE}]");
    format!("^{w}(?:{x}(?:[^\\u0000]{{0,{}}}{x})?)?{w}$", max.saturating_sub(2))
}

/// No NUL anywhere.
pub(super) const NO_NUL: &str = r"^[^\u0000]*$";

/// A comma-separated list of `items` (an alternation); with `distinct` (an alternation of
/// names inside the items) each name at most once. White space around items and empty items
/// are ignored, as the list's reader ignores them. (`[\s\S]`, not `.`, which stops at line
/// breaks.)
pub(super) fn comma_list(items: &str, distinct: Option<&str>) -> String {
    let w = white_space();
    let item = format!("{w}(?:{items})?{w}");
    let once = distinct.map_or_else(String::new, |names| format!("(?![\\s\\S]*({names})[\\s\\S]*\\1)"));
    format!("^{once}{item}(?:,{item})*$")
}

/// The keys of `sort`, each optionally `-`-prefixed.
pub(super) const SORT_ITEM: &str = "-?(?:due_at|priority|created_at|updated_at|title)";

/// The keys of `sort`, for the at-most-once check.
pub(super) const SORT_KEY: &str = "due_at|priority|created_at|updated_at|title";

/// A priority, as `priority` of the list takes it.
pub(super) const PRIORITY: &str = "none|low|medium|high|urgent";

/// An RFC 3339 date-time (with `format: date-time` beside it, which checks the calendar) as
/// chrono reads it: `T` or `t`, any number of fraction digits, `Z`, `z` or an offset up to
/// ±23:59; years 0001 to 9999, and year 0000's last day with a negative offset (which can still
/// be year 1 in UTC). chrono also takes a space for the `T`; `date-time` does not, so the
/// document leaves that leniency out.
pub(super) const DATE_TIME: &str = concat!(
    r"^(?:(?!0000)[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?",
    r"(?:[Zz]|[+-](?:[01][0-9]|2[0-3]):[0-5][0-9])",
    r"|0000-12-31[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?-(?:[01][0-9]|2[0-3]):[0-5][0-9])$"
);

/// An ISO-8601 duration as reminders take it: `PnW`, or `PnD` and/or `T` with `nH`, `nM`,
/// `nS` in that order; each number with at most the digits 366 days can need.
pub(super) const DURATION: &str = concat!(
    r"^P(?:[0-9]{1,2}W|[0-9]{1,3}D(?:T(?=[0-9])(?:[0-9]{1,4}H)?(?:[0-9]{1,6}M)?(?:[0-9]{1,8}S)?)?",
    r"|T(?=[0-9])(?:[0-9]{1,4}H)?(?:[0-9]{1,6}M)?(?:[0-9]{1,8}S)?)$"
);

/// A weekday of an RRULE.
const WEEKDAY: &str = "(?:MO|TU|WE|TH|FR|SA|SU)";

/// An RRULE value as the server accepts its parts: `FREQ` first, then the parts the `rrule`
/// crate knows, upper case, separated by `;`, none empty. Part names other than `FREQ` may
/// repeat here (the server refuses that) to keep the expression readable.
pub(super) fn rrule() -> String {
    let list = |item: &str| format!("{item}(?:,{item})*");
    let signed = |n: &str| format!("[+-]?{n}");
    let day_number = "(?:[1-9]|[12][0-9]|3[01])";
    let parts = [
        "INTERVAL=[1-9][0-9]{0,3}".to_owned(),
        "UNTIL=[0-9]{8}T[0-9]{6}Z".to_owned(),
        "COUNT=[1-9][0-9]{0,9}".to_owned(),
        format!("WKST={WEEKDAY}"),
        format!("BYDAY={}", list(&format!("(?:[+-]?[1-5]?[0-9])?{WEEKDAY}"))),
        format!("BYMONTH={}", list("(?:[1-9]|1[0-2])")),
        format!("BYMONTHDAY={}", list(&signed(day_number))),
        format!("BYYEARDAY={}", list(&signed("[1-9][0-9]{0,2}"))),
        format!("BYWEEKNO={}", list(&signed("[1-9][0-9]?"))),
        format!("BYHOUR={}", list("(?:[0-9]|1[0-9]|2[0-3])")),
        format!("BYSETPOS={}", list(&signed("[1-9][0-9]{0,2}"))),
    ];
    format!("^FREQ=(?:HOURLY|DAILY|WEEKLY|MONTHLY|YEARLY)(?:;(?:{}))*$", parts.join("|"))
}

/// An `X-On-Behalf-Of` value: a user's `sub`, 1 to 255 visible ASCII characters, not a
/// service (`service:…`).
pub(super) const ON_BEHALF_OF: &str = "^(?!service:)[!-~]{1,255}$";

/// An `If-Match` value as the server reads it: a version, optionally quoted and weak. Up to 19
/// digits, so that every version `i64` can hold is admitted (a larger one is a 422).
pub(super) const IF_MATCH: &str = r#"^(?:W/)?"*[+-]?[0-9]{1,19}"*$"#;
