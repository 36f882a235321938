//! The tasks database: PostgreSQL (production, tests) or SQLite (the embedded default).
