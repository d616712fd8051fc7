//! The SQLite store: one file, WAL journal, schema created and migrated at open by `PRAGMA user_version`.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::{Store, StoreError};
use crate::users::{merge_fields, StoredUser};

/// Schema steps, applied in order; `user_version` records how many ran. Append, never edit.
const MIGRATIONS: &[&str] = &["CREATE TABLE users (
        id TEXT PRIMARY KEY,
        role TEXT NOT NULL DEFAULT 'user',
        fields TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        last_active TEXT
    );
    CREATE TABLE monthly_activity (
        month TEXT NOT NULL,
        user_id TEXT NOT NULL,
        PRIMARY KEY (month, user_id)
    );"];

/// A SQLite database file shared by all requests through one connection.
#[derive(Debug)]
pub struct SqliteStore {
    /// Held only for the length of one statement group; never across an `.await`.
    connection: Mutex<Connection>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError(error.to_string())
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an acknowledged write is on disk before the answer goes out, even across `kill -9`.
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = SqliteStore { connection: Mutex::new(connection) };
        store.migrate()?;
        Ok(store)
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        self.connection.lock().map_err(|_| StoreError("connection mutex poisoned".into()))
    }

    fn migrate(&self) -> Result<(), StoreError> {
        let mut connection = self.lock()?;
        let done: usize = connection.pragma_query_value(None, "user_version", |row| row.get(0))?;
        for (index, step) in MIGRATIONS.iter().enumerate().skip(done) {
            let tx = connection.transaction()?;
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", index + 1)?;
            tx.commit()?;
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn connect_user(
        &self,
        id: &str,
        incoming: Map<String, Value>,
        now: &str,
        month: &str,
    ) -> Result<StoredUser, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let existing = tx
            .query_row(
                "SELECT role, fields, created_at, updated_at FROM users WHERE id = ?1",
                [id],
                |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, String>(3)?,
                    ))
                },
            )
            .optional()?;
        let user = match existing {
            Some((role, fields, created_at, updated_at)) => {
                let mut fields: Map<String, Value> =
                    serde_json::from_str(&fields).map_err(|e| StoreError(e.to_string()))?;
                let before = fields.clone();
                merge_fields(&mut fields, incoming);
                let updated_at = if fields == before { updated_at } else { now.to_owned() };
                StoredUser {
                    id: id.to_owned(),
                    role,
                    fields,
                    created_at,
                    updated_at,
                    last_active: Some(now.to_owned()),
                }
            }
            None => StoredUser {
                id: id.to_owned(),
                role: "user".into(),
                fields: incoming,
                created_at: now.to_owned(),
                updated_at: now.to_owned(),
                last_active: Some(now.to_owned()),
            },
        };
        tx.execute(
            "INSERT INTO users (id, role, fields, created_at, updated_at, last_active)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (id) DO UPDATE SET fields = ?3, updated_at = ?5, last_active = ?6",
            params![
                user.id,
                user.role,
                Value::Object(user.fields.clone()).to_string(),
                user.created_at,
                user.updated_at,
                user.last_active
            ],
        )?;
        tx.execute(
            "INSERT OR IGNORE INTO monthly_activity (month, user_id) VALUES (?1, ?2)",
            params![month, id],
        )?;
        tx.commit()?;
        Ok(user)
    }

    fn monthly_active_users(&self, month: &str) -> Result<u64, StoreError> {
        let connection = self.lock()?;
        Ok(connection.query_row(
            "SELECT COUNT(*) FROM monthly_activity WHERE month = ?1",
            [month],
            |row| row.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn connect_creates_then_merges_and_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("chat.db");
        let fields = |v: Value| v.as_object().unwrap().clone();
        {
            let store = SqliteStore::open(&path).unwrap();
            let first = store
                .connect_user(
                    "alice",
                    fields(json!({"name": "Alice", "color": "red"})),
                    "t1",
                    "2026-11",
                )
                .unwrap();
            assert_eq!((first.role.as_str(), first.created_at.as_str()), ("user", "t1"));
            let second = store
                .connect_user("alice", fields(json!({"name": "Al"})), "t2", "2026-11")
                .unwrap();
            assert_eq!(Value::Object(second.fields), json!({"name": "Al", "color": "red"}));
            assert_eq!(second.created_at, "t1");
        }
        let store = SqliteStore::open(&path).unwrap();
        let again = store.connect_user("alice", Map::new(), "t3", "2026-12").unwrap();
        assert_eq!(Value::Object(again.fields), json!({"name": "Al", "color": "red"}));
        assert_eq!(store.monthly_active_users("2026-11").unwrap(), 1);
        assert_eq!(store.monthly_active_users("2026-12").unwrap(), 1);
    }
}
