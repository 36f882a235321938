//! The outbox table: its statements for each backend ([`migration_sql`]), for a service's
//! migration file to contain, and the check that it does ([`migration_creates`]).
//!
//! Why a service copies the statements into its own migration file rather than running them
//! from here: a migration that ran may never change (its checksum is recorded), while the
//! text here may evolve with a later migration. The copy is the service's, frozen with its
//! migration; a unit test of the service (`migration_creates`) proves the copy is the shape the
//! relay reads and writes.

use crate::database::Backend;

use super::OutboxConfig;

/// PostgreSQL; `{table}` stands for the table's name.
const POSTGRES: &str = "\
CREATE TABLE {table} (
    seq          BIGSERIAL PRIMARY KEY,
    event_id     UUID        NOT NULL UNIQUE,
    event_type   TEXT        NOT NULL,
    topic        TEXT        NOT NULL,
    key          TEXT        NOT NULL,
    payload      BYTEA       NOT NULL,
    -- A JSON array of [name, value] pairs, in order.
    headers      TEXT        NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    published_at TIMESTAMPTZ
);

-- The relay's scan: unpublished rows in seq order.
CREATE INDEX {table}_unpublished ON {table} (seq) WHERE published_at IS NULL;
-- Pruning: published rows by age.
CREATE INDEX {table}_published_at ON {table} (published_at) WHERE published_at IS NOT NULL;
";

/// SQLite: instants are INTEGER microseconds, UUIDs 16-byte BLOBs (see [`crate::database`]).
const SQLITE: &str = "\
CREATE TABLE {table} (
    -- AUTOINCREMENT: a seq is never reused, even after the newest rows are pruned.
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id     BLOB    NOT NULL UNIQUE,
    event_type   TEXT    NOT NULL,
    topic        TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    payload      BLOB    NOT NULL,
    -- A JSON array of [name, value] pairs, in order.
    headers      TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    published_at INTEGER
);

-- The relay's scan: unpublished rows in seq order.
CREATE INDEX {table}_unpublished ON {table} (seq) WHERE published_at IS NULL;
-- Pruning: published rows by age.
CREATE INDEX {table}_published_at ON {table} (published_at) WHERE published_at IS NOT NULL;
";

/// The statements that create `config`'s outbox table and its indexes on `backend`: what a
/// service's migration file contains (copy them with the table's name filled in).
///
/// `seq` orders the rows; the two partial indexes serve the relay's scan of unpublished rows
/// and the pruning of published ones.
pub fn migration_sql(backend: Backend, config: &OutboxConfig) -> String {
    let template = match backend {
        Backend::Postgres => POSTGRES,
        Backend::Sqlite => SQLITE,
    };
    template.replace("{table}", config.table())
}

/// Whether `migration` (a migration file's SQL) creates `config`'s outbox table exactly as
/// [`migration_sql`] does, comments, letter case and spacing aside: the statements in that
/// order, with no column added, dropped or retyped.
pub fn migration_creates(migration: &str, backend: Backend, config: &OutboxConfig) -> bool {
    normalize(migration).contains(&normalize(&migration_sql(backend, config)))
}

/// SQL without `--` comments, lower-cased, with whitespace runs as one space and none around
/// punctuation. (The outbox statements hold no string literal a comment marker could be in.)
fn normalize(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut space = false;
    for line in sql.lines() {
        let code = line.split_once("--").map_or(line, |(code, _)| code);
        for c in code.chars().chain([' ']) {
            if c.is_whitespace() {
                space = !out.is_empty();
                continue;
            }
            let punctuation = |c: char| matches!(c, '(' | ')' | ',' | ';');
            if space && !punctuation(c) && !out.ends_with(punctuation) {
                out.push(' ');
            }
            space = false;
            out.extend(c.to_lowercase());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: OutboxConfig = OutboxConfig::new("reminder_outbox", "reminder_outbox", 1);

    #[test]
    fn the_statements_name_the_table_and_its_indexes_after_the_config() {
        for backend in [Backend::Postgres, Backend::Sqlite] {
            let sql = migration_sql(backend, &CONFIG);

            assert!(sql.contains("CREATE TABLE reminder_outbox ("), "{sql}");
            assert!(sql.contains("CREATE INDEX reminder_outbox_unpublished ON reminder_outbox (seq)"), "{sql}");
            assert!(sql.contains("CREATE INDEX reminder_outbox_published_at ON reminder_outbox"), "{sql}");
            assert!(!sql.contains("{table}"), "{sql}");
        }
    }

    #[test]
    fn a_migration_with_other_comments_spacing_and_case_and_more_tables_creates_the_outbox() {
        let migration = format!(
            "-- A service's schema.\nCREATE TABLE reminders (id BIGINT PRIMARY KEY);\n\n{}\n-- the end\n",
            migration_sql(Backend::Postgres, &CONFIG)
                .replace("    ", "\t")
                .replace("NOT NULL UNIQUE", "not null  -- why\n unique")
                .replace(" (seq)", "(seq)")
        );

        assert!(migration_creates(&migration, Backend::Postgres, &CONFIG), "{migration}");
    }

    #[test]
    fn a_migration_with_a_column_missing_retyped_or_of_another_backend_does_not_create_the_outbox() {
        let sql = migration_sql(Backend::Postgres, &CONFIG);
        let missing = sql
            .replace("    published_at TIMESTAMPTZ\n", "")
            .replace("created_at   TIMESTAMPTZ NOT NULL,", "created_at TIMESTAMPTZ NOT NULL");
        let retyped = sql.replace("payload      BYTEA", "payload TEXT");
        let other_table = migration_sql(Backend::Postgres, &OutboxConfig::new("outbox", "outbox", 1));

        for migration in [missing, retyped, other_table, migration_sql(Backend::Sqlite, &CONFIG)] {
            assert!(!migration_creates(&migration, Backend::Postgres, &CONFIG), "{migration}");
        }
    }
}
