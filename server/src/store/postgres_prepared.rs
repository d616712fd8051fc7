//! Pooled connections ([`take_client`]) and statements prepared once per connection. `query(&str, …)` prepares, plans and closes a statement on
//! every call: under a burst of connects and watches PostgreSQL spent four times as long planning as executing
//! (`pg_stat_statements` with `track_planning`). Through these methods a statement's text is prepared on a
//! connection the first time it runs there (deadpool's statement cache) and reused after, so the server plans it
//! a few times (its generic plan) and each call is one round trip. The cache keeps every text it is given for the
//! connection's life, so only fixed texts or a bounded set of shapes go through it (lists go in arrays,
//! `= ANY($n)`); the statements `query_sql` builds per query (filters, custom field names, the page's `LIMIT` and
//! `OFFSET` in the text) run unprepared, as before.

use std::sync::Arc;

use deadpool_postgres::{GenericClient, Object, Pool};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Error, Row};

use super::StoreError;

/// A connection from `pool`. Taking one is no hop to another runtime (once per query, it was a task spawned there
/// and woken back): a connection opened for it is opened on the store's runtime (`postgres::ConnectOn`).
pub(super) async fn take_client(pool: &Pool) -> Result<Object, StoreError> {
    pool.get().await.map_err(|error| StoreError::Pool(Arc::new(error)))
}

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
