//! Uploaded files in both stores (table `files`): the bytes sit beside the messages that link them, so any node of
//! a cluster serves any file. A file is written whole once its upload is complete and within its bound, read by its
//! unguessable id, and removed with its message, its channel, or on request.

use rusqlite::{params, OptionalExtension};

use super::postgres::PostgresStore;
use super::postgres_prepared::Prepared;
use super::sql::{self, sqlite};
use super::sqlite::SqliteDb;
use super::{FileRecord, Files, StoreError};

/// The columns every read selects, in [`FileRecord`]'s order, then the bytes.
const COLUMNS: &str = "id, cid, user_id, kind, name, mime_type, size, created_at";

pub(super) fn sqlite_put(
    store: &SqliteDb,
    file: &FileRecord,
    bytes: &[u8],
) -> Result<(), StoreError> {
    let size = i64::try_from(file.size).unwrap_or(i64::MAX);
    store.lock()?.execute(
        &sqlite(sql::INSERT_FILE),
        params![
            file.id,
            file.cid,
            file.user_id,
            file.kind,
            file.name,
            file.mime_type,
            size,
            file.created_at,
            bytes
        ],
    )?;
    Ok(())
}

pub(super) fn sqlite_get(
    store: &SqliteDb,
    id: &str,
    with_bytes: bool,
) -> Result<Option<(FileRecord, Vec<u8>)>, StoreError> {
    let bytes = if with_bytes { "bytes" } else { "x''" };
    let sql = format!("SELECT {COLUMNS}, {bytes} FROM files WHERE id = ?1");
    let connection = store.read();
    let found = connection
        .query_row(&sql, [id], |row| {
            let size: i64 = row.get(6)?;
            let file = FileRecord {
                id: row.get(0)?,
                cid: row.get(1)?,
                user_id: row.get(2)?,
                kind: row.get(3)?,
                name: row.get(4)?,
                mime_type: row.get(5)?,
                size: u64::try_from(size).unwrap_or(0),
                created_at: row.get(7)?,
            };
            Ok((file, row.get::<_, Vec<u8>>(8)?))
        })
        .optional()?;
    Ok(found)
}

pub(super) fn sqlite_delete(
    store: &SqliteDb,
    cid: &str,
    ids: &[String],
) -> Result<u64, StoreError> {
    let connection = store.lock()?;
    let mut statement =
        connection.prepare_cached("DELETE FROM files WHERE cid = ?1 AND id = ?2")?;
    let mut deleted = 0;
    for id in ids {
        deleted += statement.execute([cid, id])? as u64;
    }
    Ok(deleted)
}

#[async_trait::async_trait]
impl Files for PostgresStore {
    async fn put_file(&self, file: &FileRecord, bytes: &[u8]) -> Result<(), StoreError> {
        let size = i64::try_from(file.size).unwrap_or(i64::MAX);
        self.client()
            .await?
            .execute_prepared(
                sql::INSERT_FILE,
                &[
                    &file.id,
                    &file.cid,
                    &file.user_id,
                    &file.kind,
                    &file.name,
                    &file.mime_type,
                    &size,
                    &file.created_at,
                    &bytes,
                ],
            )
            .await?;
        Ok(())
    }

    async fn file(
        &self,
        id: &str,
        with_bytes: bool,
    ) -> Result<Option<(FileRecord, Vec<u8>)>, StoreError> {
        let bytes = if with_bytes { "bytes" } else { "''::bytea" };
        let sql = format!("SELECT {COLUMNS}, {bytes} FROM files WHERE id = $1");
        let Some(row) = self.client().await?.query_opt_prepared(&sql, &[&id]).await? else {
            return Ok(None);
        };
        let size: i64 = row.try_get(6)?;
        let file = FileRecord {
            id: row.try_get(0)?,
            cid: row.try_get(1)?,
            user_id: row.try_get(2)?,
            kind: row.try_get(3)?,
            name: row.try_get(4)?,
            mime_type: row.try_get(5)?,
            size: u64::try_from(size).unwrap_or(0),
            created_at: row.try_get(7)?,
        };
        Ok(Some((file, row.try_get(8)?)))
    }

    async fn delete_files(&self, cid: &str, ids: &[String]) -> Result<u64, StoreError> {
        let sql = "DELETE FROM files WHERE cid = $1 AND id = ANY($2)";
        Ok(self.client().await?.execute_prepared(sql, &[&cid, &ids]).await?)
    }
}
