//! Statements prepared once per pooled connection. `query(&str, …)` prepares, plans and closes a statement on
//! every call: under a burst of connects and watches PostgreSQL spent four times as long planning as executing
//! (`pg_stat_statements` with `track_planning`). Through these methods a statement's text is prepared on a
//! connection the first time it runs there (deadpool's statement cache) and reused after, so the server plans it
//! a few times (its generic plan) and each call is one round trip. The cache keeps every text it is given for the
//! connection's life, so only fixed texts or a bounded set of shapes go through it (lists go in arrays,
//! `= ANY($n)`); the statements `query_sql` builds per query (filters, custom field names, the page's `LIMIT` and
//! `OFFSET` in the text) run unprepared, as before.

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

/// [`GenericClient`]'s query methods over statements prepared once per connection.
pub(super) trait Prepared: GenericClient {
    /// Like `query`.
    async fn query_prepared(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query(&statement, params).await
    }

    /// Like `query_one`.
    async fn query_one_prepared(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_one(&statement, params).await
    }

    /// Like `query_opt`.
    async fn query_opt_prepared(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, Error> {
        let statement = self.prepare_cached(sql).await?;
        self.query_opt(&statement, params).await
    }

    /// Like `execute`.
    async fn execute_prepared(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, Error> {
        let statement = self.prepare_cached(sql).await?;
        self.execute(&statement, params).await
    }
}

impl<C: GenericClient> Prepared for C {}
