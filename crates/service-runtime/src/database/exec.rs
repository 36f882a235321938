//! Running an [`Sql`](super::Sql) on one backend, through a pool or a connection alike: what
//! [`Pool`](super::Pool) and [`Tx`](super::Tx) share.

/// On PostgreSQL.
pub(super) mod pg {
    use sqlx::{Executor, Postgres};

    use crate::database::row::Row;
    use crate::database::sql::{Sql, postgres};

    pub(in crate::database) async fn execute<'c>(
        executor: impl Executor<'c, Database = Postgres>,
        sql: Sql,
    ) -> Result<u64, sqlx::Error> {
        let (text, args) = sql.into_parts();
        Ok(postgres(&text, args).execute(executor).await?.rows_affected())
    }

    pub(in crate::database) async fn fetch_all<'c>(
        executor: impl Executor<'c, Database = Postgres>,
        sql: Sql,
    ) -> Result<Vec<Row>, sqlx::Error> {
        let (text, args) = sql.into_parts();
        Ok(postgres(&text, args).fetch_all(executor).await?.into_iter().map(Row::Postgres).collect())
    }

    pub(in crate::database) async fn fetch_optional<'c>(
        executor: impl Executor<'c, Database = Postgres>,
        sql: Sql,
    ) -> Result<Option<Row>, sqlx::Error> {
        let (text, args) = sql.into_parts();
        Ok(postgres(&text, args).fetch_optional(executor).await?.map(Row::Postgres))
    }
}

/// On SQLite.
pub(super) mod lite {
    use sqlx::{Executor, Sqlite};

    use crate::database::row::Row;
    use crate::database::sql::{Sql, sqlite};

    pub(in crate::database) async fn execute<'c>(
        executor: impl Executor<'c, Database = Sqlite>,
        sql: Sql,
    ) -> Result<u64, sqlx::Error> {
        let (text, args) = sql.into_parts();
        Ok(sqlite(&text, args).execute(executor).await?.rows_affected())
    }

    pub(in crate::database) async fn fetch_all<'c>(
        executor: impl Executor<'c, Database = Sqlite>,
        sql: Sql,
    ) -> Result<Vec<Row>, sqlx::Error> {
        let (text, args) = sql.into_parts();
        Ok(sqlite(&text, args).fetch_all(executor).await?.into_iter().map(Row::Sqlite).collect())
    }

    pub(in crate::database) async fn fetch_optional<'c>(
        executor: impl Executor<'c, Database = Sqlite>,
        sql: Sql,
    ) -> Result<Option<Row>, sqlx::Error> {
        let (text, args) = sql.into_parts();
        Ok(sqlite(&text, args).fetch_optional(executor).await?.map(Row::Sqlite))
    }
}
