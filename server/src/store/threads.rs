//! Threads in both stores: which threads a user takes part in (from the replies' `parent_id`, latest reply first),
//! each user's read state in a thread (table `thread_reads`), and a thread's unread replies for one user.

use rusqlite::{params, OptionalExtension};

use super::postgres::PostgresStore;
use super::postgres_prepared::Prepared;
use super::postgres_rows::Postgres;
use super::sql::{self, sqlite};
use super::sqlite::SqliteDb;
use super::sqlite_rows::Sqlite;
use super::{StoreError, ThreadRead, Threads};

/// SQLite: the threads of `user_id`.
pub(super) fn sqlite_threads_of(
    store: &SqliteDb,
    user_id: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<String>, StoreError> {
    let connection = store.read();
    let mut statement = connection.prepare_cached(
        "SELECT json_extract(r.extra, '$.parent_id') AS parent, MAX(r.seq) AS latest FROM messages r
         WHERE json_extract(r.extra, '$.parent_id') IS NOT NULL AND r.deleted_at IS NULL
           AND r.cid IN (SELECT cid FROM members WHERE user_id = ?1)
         GROUP BY parent
         HAVING SUM(r.user_id = ?1) > 0 OR parent IN (SELECT id FROM messages WHERE user_id = ?1)
         ORDER BY latest DESC LIMIT ?2 OFFSET ?3",
    )?;
    let (limit, offset) =
        (i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(offset).unwrap_or(0));
    let rows =
        statement.query_map(params![user_id, limit, offset], |row| row.get::<_, String>(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn sqlite_thread_reads(
    store: &SqliteDb,
    parent_id: &str,
) -> Result<Vec<ThreadRead>, StoreError> {
    let connection = store.read();
    let mut statement = connection.prepare_cached(&sqlite(sql::THREAD_READS))?;
    let rows = statement.query_map([parent_id], |row| {
        Ok(ThreadRead {
            user_id: row.get(0)?,
            last_read: row.get(1)?,
            last_read_message_id: row.get(2)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn sqlite_mark_thread_read(
    store: &SqliteDb,
    parent_id: &str,
    user_id: &str,
    now: &str,
) -> Result<ThreadRead, StoreError> {
    let connection = store.lock()?;
    let latest: Option<String> = connection
        .query_row(&sqlite(&sql::latest_reply::<Sqlite>()), [parent_id], |row| row.get(0))
        .optional()?;
    connection.execute(&sqlite(sql::MARK_THREAD_READ), params![parent_id, user_id, now, latest])?;
    Ok(ThreadRead { user_id: user_id.into(), last_read: now.into(), last_read_message_id: latest })
}

pub(super) fn sqlite_thread_unread(
    store: &SqliteDb,
    parent_id: &str,
    user_id: &str,
    since: Option<&str>,
) -> Result<u64, StoreError> {
    let connection = store.read();
    let count: i64 = connection.query_row(
        "SELECT COUNT(*) FROM messages WHERE json_extract(extra, '$.parent_id') = ?1 AND user_id != ?2
           AND deleted_at IS NULL AND (?3 IS NULL OR created_at > ?3)",
        params![parent_id, user_id, since],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(count).unwrap_or(0))
}

#[async_trait::async_trait]
impl Threads for PostgresStore {
    async fn threads_of(
        &self,
        user_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<String>, StoreError> {
        let sql = "SELECT r.extra->>'parent_id', MAX(r.seq) AS latest FROM messages r
             WHERE r.extra->>'parent_id' IS NOT NULL AND r.deleted_at IS NULL
               AND r.cid IN (SELECT cid FROM members WHERE user_id = $1)
             GROUP BY r.extra->>'parent_id'
             HAVING bool_or(r.user_id = $1) OR (r.extra->>'parent_id') IN (SELECT id FROM messages WHERE user_id = $1)
             ORDER BY latest DESC LIMIT $2 OFFSET $3";
        let (limit, offset) =
            (i64::try_from(limit).unwrap_or(i64::MAX), i64::try_from(offset).unwrap_or(0));
        let rows = self.client().await?.query_prepared(sql, &[&user_id, &limit, &offset]).await?;
        rows.iter().map(|row| Ok(row.try_get(0)?)).collect()
    }

    async fn thread_reads(&self, parent_id: &str) -> Result<Vec<ThreadRead>, StoreError> {
        let rows = self.client().await?.query_prepared(sql::THREAD_READS, &[&parent_id]).await?;
        rows.iter()
            .map(|row| {
                Ok(ThreadRead {
                    user_id: row.try_get(0)?,
                    last_read: row.try_get(1)?,
                    last_read_message_id: row.try_get(2)?,
                })
            })
            .collect()
    }

    async fn mark_thread_read(
        &self,
        parent_id: &str,
        user_id: &str,
        now: &str,
    ) -> Result<ThreadRead, StoreError> {
        let client = self.client().await?;
        let latest: Option<String> = client
            .query_opt_prepared(&sql::latest_reply::<Postgres>(), &[&parent_id])
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        client
            .execute_prepared(sql::MARK_THREAD_READ, &[&parent_id, &user_id, &now, &latest])
            .await?;
        Ok(ThreadRead {
            user_id: user_id.into(),
            last_read: now.into(),
            last_read_message_id: latest,
        })
    }

    async fn thread_unread(
        &self,
        parent_id: &str,
        user_id: &str,
        since: Option<&str>,
    ) -> Result<u64, StoreError> {
        let sql = "SELECT COUNT(*) FROM messages WHERE extra->>'parent_id' = $1 AND user_id != $2
               AND deleted_at IS NULL AND ($3::text IS NULL OR created_at > $3)";
        let count: i64 = self
            .client()
            .await?
            .query_one_prepared(sql, &[&parent_id, &user_id, &since])
            .await?
            .try_get(0)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
