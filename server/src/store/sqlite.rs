//! The SQLite store: one file, WAL journal, schema created and migrated at open by `PRAGMA user_version`. Users,
//! channels and members are here; messages and reactions in `sqlite_messages`, read state in `sqlite_reads`, the
//! group commit and batched activity in `sqlite_writes`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::sql::{self, sqlite, USER_COLUMNS};
use super::{
    AddedMessage, ChannelFilter, ChannelRecord, MemberRecord, MembersChanged, NewChannel,
    NewMessage, StoreError, UserQuery, UserReplace,
};
use crate::store::records::{merge_fields, StoredUser};

use super::sqlite_rows::{
    channel_from, ensure_user, member_from, user_from, Query, Sqlite, CHANNEL_COLUMNS,
};
use super::sqlite_schema::MIGRATIONS;

/// How long [`SqliteDb::open`] waits for another process's lock on the database before refusing.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// A SQLite database file shared by all requests through one connection.
#[derive(Debug)]
pub struct SqliteDb {
    /// Held only for the length of one statement group; never across an `.await`.
    connection: Mutex<Connection>,
    /// A second, read-only connection for the reads on every message's path (the channel and the sender's
    /// membership): in WAL mode it reads the last commit while the writer holds `connection` through a group
    /// commit's fsync, which a `perf` profile of `loadgen ingest` showed those reads waiting behind.
    reader: Mutex<Connection>,
    /// Messages waiting for the next group commit ([`super::sqlite_writes`]).
    pub(super) pending_messages: Mutex<Vec<PendingMessage>>,
    /// Connects that changed nothing but `last_active` and the month's activity, written in batches.
    pub(super) pending_activity: Mutex<std::collections::HashMap<String, Activity>>,
    /// `<db>.lock`, locked exclusively for as long as the store is open: one server process per database, since
    /// live events are not shared between processes.
    _lock: std::fs::File,
}

/// Takes the exclusive lock on `<path>.lock`, waiting up to [`LOCK_WAIT`] (a server stopping on the same file).
fn lock_database(path: &Path) -> Result<std::fs::File, StoreError> {
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|error| StoreError::LockFile(lock_path.clone().into(), Arc::new(error)))?;
    let deadline = std::time::Instant::now() + LOCK_WAIT;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(std::fs::TryLockError::WouldBlock) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked(path.to_owned()))
            }
            Err(std::fs::TryLockError::Error(error)) => {
                return Err(StoreError::LockFile(path.to_owned(), Arc::new(error)))
            }
        }
    }
}

impl SqliteDb {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let lock = lock_database(path)?;
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an acknowledged write is on disk before the answer goes out, even across `kill -9`.
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let reader = Connection::open(path)?;
        reader.pragma_update(None, "query_only", "ON")?;
        reader.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = SqliteDb {
            connection: Mutex::new(connection),
            reader: Mutex::new(reader),
            pending_messages: Mutex::default(),
            pending_activity: Mutex::default(),
            _lock: lock,
        };
        store.migrate()?;
        Ok(store)
    }

    pub(super) fn lock(&self) -> Result<std::sync::MutexGuard<'_, Connection>, StoreError> {
        Ok(self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// The read-only connection (see [`SqliteDb::reader`]): it sees every write committed before the call.
    pub(super) fn read(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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

/// The store's operations, each blocking: [`super::SqliteStore`] runs them on the blocking pool, and their meaning
/// is [`super::Store`]'s, method by method.
impl SqliteDb {
    pub(super) fn connect_user(
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
                let mut fields: Map<String, Value> = serde_json::from_str(&fields)?;
                let before = fields.clone();
                merge_fields(&mut fields, incoming);
                if fields == before {
                    // Nothing to write at once: activity is batched (no fsync for a connect that changes nothing).
                    drop(tx);
                    drop(connection);
                    self.note_activity(id, now, month);
                    let last_active = Some(now.to_owned());
                    return Ok(StoredUser {
                        id: id.to_owned(),
                        role,
                        fields,
                        created_at,
                        updated_at,
                        last_active,
                    });
                }
                let updated_at = now.to_owned();
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
            &sqlite(sql::UPSERT_CONNECTING_USER),
            params![
                user.id,
                user.role,
                Value::Object(user.fields.clone()).to_string(),
                user.created_at,
                user.updated_at,
                user.last_active
            ],
        )?;
        tx.execute(&sqlite(sql::RECORD_MONTHLY_ACTIVITY), params![month, id])?;
        tx.commit()?;
        Ok(user)
    }

    pub(super) fn monthly_active_users(&self, month: &str) -> Result<u64, StoreError> {
        self.write_activity()?;
        let connection = self.lock()?;
        Ok(connection.query_row(&sqlite(sql::COUNT_MONTHLY_ACTIVE), [month], |row| row.get(0))?)
    }

    pub(super) fn user(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
        let connection = self.lock()?;
        let sql = sqlite(sql::SELECT_USER);
        Ok(connection.query_row(&sql, [id], |row| user_from(row, 0)).optional()?)
    }

    pub(super) fn replace_users(
        &self,
        users: Vec<UserReplace>,
        now: &str,
    ) -> Result<Vec<StoredUser>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let sql = sqlite(sql::REPLACE_USER);
        let stored = users
            .iter()
            .map(|user| {
                let fields = Value::Object(user.fields.clone()).to_string();
                let row = params![user.id, user.role, fields, now];
                tx.query_row(&sql, row, |row| user_from(row, 0))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(stored)
    }

    pub(super) fn update_users(
        &self,
        ids: &[String],
        now: &str,
        change: &mut dyn FnMut(Option<StoredUser>) -> Result<StoredUser, String>,
    ) -> Result<Result<Vec<StoredUser>, String>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let select = sqlite(sql::SELECT_USER);
        let mut written = Vec::with_capacity(ids.len());
        for id in ids {
            let stored = tx.query_row(&select, [id], |row| user_from(row, 0)).optional()?;
            let user = match change(stored) {
                Ok(user) => user,
                // Dropping the transaction rolls back whatever was written before the refusal.
                Err(reason) => return Ok(Err(reason)),
            };
            let fields = Value::Object(user.fields.clone()).to_string();
            let row = params![user.id, user.role, fields, now];
            written.push(tx.query_row(&sqlite(sql::UPDATE_USER), row, |row| user_from(row, 0))?);
        }
        tx.commit()?;
        Ok(Ok(written))
    }

    pub(super) fn create_user(
        &self,
        id: &str,
        role: &str,
        fields: Map<String, Value>,
        now: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        let connection = self.lock()?;
        let row = params![id, role, Value::Object(fields).to_string(), now];
        let sql = sqlite(sql::CREATE_USER);
        Ok(connection.query_row(&sql, row, |row| user_from(row, 0)).optional()?)
    }

    pub(super) fn query_users(&self, query: &UserQuery) -> Result<Vec<StoredUser>, StoreError> {
        let connection = self.lock()?;
        let mut params = Query::default();
        let sql = super::query_sql::user_select(USER_COLUMNS, query, &mut params);
        let mut statement = connection.prepare(&sql)?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(params.values.iter()), |row| user_from(row, 0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn change_members(
        &self,
        cid: &str,
        add: &[String],
        remove: &[String],
        now: &str,
    ) -> Result<MembersChanged, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let member = |tx: &rusqlite::Transaction<'_>, user: &str| {
            let sql = sqlite(sql::SELECT_MEMBER);
            tx.query_row(&sql, [cid, user], member_from).optional()
        };
        let mut added = Vec::new();
        for user in add {
            ensure_user(&tx, user, now)?;
            let inserted = tx.execute(&sqlite(sql::ADD_MEMBER), params![cid, user, now])? == 1;
            if inserted {
                tx.execute(&sqlite(sql::ADD_READ), params![cid, user, now])?;
                added.extend(member(&tx, user)?);
            }
        }
        let mut removed = Vec::new();
        for user in remove {
            if let Some(record) = member(&tx, user)? {
                tx.execute(&sqlite(sql::DELETE_MEMBER), [cid, user.as_str()])?;
                tx.execute(&sqlite(sql::DELETE_READ), [cid, user.as_str()])?;
                removed.push(record);
            }
        }
        let version = tx.query_row(&sqlite(sql::TOUCH_CHANNEL), [cid, now], |row| row.get(0))?;
        tx.commit()?;
        Ok(MembersChanged { added, removed, version })
    }

    pub(super) fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(&sqlite(sql::MEMBER_CHANNELS))?;
        let rows = statement.query_map([user_id], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn get_or_create_channel(
        &self,
        new: NewChannel,
        now: &str,
    ) -> Result<(ChannelRecord, bool), StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let created = tx.execute(
            &sqlite(sql::INSERT_CHANNEL),
            params![
                new.cid,
                new.kind,
                new.id,
                Value::Object(new.data).to_string(),
                new.created_by,
                now
            ],
        )? == 1;
        if created {
            for member in &new.members {
                ensure_user(&tx, member, now)?;
                tx.execute(&sqlite(sql::ADD_MEMBER), params![new.cid, member, now])?;
                tx.execute(&sqlite(sql::ADD_READ), params![new.cid, member, now])?;
            }
        }
        let sql = sqlite(&sql::select_channel::<Sqlite>());
        let channel = tx.query_row(&sql, [&new.cid], channel_from)?;
        tx.commit()?;
        Ok((channel, created))
    }

    pub(super) fn channel(&self, cid: &str) -> Result<Option<ChannelRecord>, StoreError> {
        let connection = self.lock()?;
        let sql = sqlite(&sql::select_channel::<Sqlite>());
        let found = connection.prepare_cached(&sql)?.query_row([cid], channel_from).optional()?;
        Ok(found)
    }

    pub(super) fn is_member(&self, cid: &str, user_id: &str) -> Result<bool, StoreError> {
        let connection = self.read();
        let mut statement = connection.prepare_cached(&sqlite(sql::IS_MEMBER))?;
        Ok(statement.exists([cid, user_id])?)
    }

    pub(super) fn members(&self, cid: &str) -> Result<Vec<MemberRecord>, StoreError> {
        let connection = self.lock()?;
        let sql = sqlite(sql::SELECT_MEMBERS);
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map([cid], member_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub(super) fn add_message(
        &self,
        message: NewMessage,
        now: &str,
    ) -> Result<super::AddedMessage, StoreError> {
        self.add_message_grouped(message, now)
    }

    pub(super) fn channel_for(
        &self,
        cid: &str,
        user_id: &str,
    ) -> Result<Option<(ChannelRecord, bool)>, StoreError> {
        let connection = self.read();
        let sql = sqlite(&sql::select_channel_for::<Sqlite>());
        let found = connection
            .prepare_cached(&sql)?
            .query_row([cid, user_id], |row| Ok((channel_from(row)?, row.get::<_, bool>(11)?)))
            .optional()?;
        Ok(found)
    }

    pub(super) fn flush_activity(&self) -> Result<(), StoreError> {
        self.write_activity()?;
        self.index_search()
    }

    pub(super) fn update_quotes(
        &self,
        cid: &str,
        quoted_id: &str,
        copy: &Value,
    ) -> Result<u64, StoreError> {
        let connection = self.lock()?;
        let changed = connection.execute(
            &sqlite(&sql::update_quotes::<Sqlite>()),
            rusqlite::params![cid, quoted_id, copy.to_string()],
        )?;
        Ok(changed as u64)
    }

    pub(super) fn query_channels(
        &self,
        filter: &ChannelFilter,
        caller: &str,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        let connection = self.lock()?;
        let mut query = Query::default();
        let sql = super::query_sql::channel_select(CHANNEL_COLUMNS, filter, caller, &mut query);
        let mut statement = connection.prepare(&sql)?;
        let rows =
            statement.query_map(rusqlite::params_from_iter(query.values.iter()), channel_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

/// One message's outcome, filled in by the sender that commits it.
pub(super) type Outcome = Arc<Mutex<Option<Result<AddedMessage, StoreError>>>>;

/// A message waiting for the next group commit.
#[derive(Debug)]
pub struct PendingMessage {
    /// What to store.
    pub(super) message: NewMessage,
    /// Its server timestamp.
    pub(super) now: String,
    /// Where the committing sender puts the result.
    pub(super) outcome: Outcome,
}

/// A user's activity waiting to be written.
#[derive(Debug, Clone)]
pub struct Activity {
    /// The latest connect.
    pub(super) last_active: String,
    /// Its month, `YYYY-MM`.
    pub(super) month: String,
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
            let store = SqliteDb::open(&path).unwrap();
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
        let store = SqliteDb::open(&path).unwrap();
        let again = store.connect_user("alice", Map::new(), "t3", "2026-12").unwrap();
        assert_eq!(Value::Object(again.fields), json!({"name": "Al", "color": "red"}));
        assert_eq!(store.monthly_active_users("2026-11").unwrap(), 1);
        assert_eq!(store.monthly_active_users("2026-12").unwrap(), 1);
    }
}
