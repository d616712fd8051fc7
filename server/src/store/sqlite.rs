//! The SQLite store: one file, WAL journal, schema created and migrated at open by `PRAGMA user_version`.

use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

use super::{
    ChannelFilter, ChannelRecord, MemberRecord, MessageAnchor, MessageRecord, NewChannel,
    NewMessage, NewReaction, ReactionRecord, ReadRecord, Store, StoreError, UserQuery, UserReplace,
};
use crate::users::{merge_fields, StoredUser};

use super::sqlite_rows::{
    attach_reactions, channel_from, ensure_user, message_from, message_in, reaction_from,
    read_from, read_of, user_from, Query, CHANNEL_COLUMNS, MESSAGE_COLUMNS, REACTION_COLUMNS,
    SHARED_COLUMNS, THREAD_ONLY, USER_COLUMNS,
};
use super::sqlite_schema::MIGRATIONS;

/// How long [`SqliteStore::open`] waits for another process's lock on the database before refusing.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// A SQLite database file shared by all requests through one connection.
#[derive(Debug)]
pub struct SqliteStore {
    /// Held only for the length of one statement group; never across an `.await`.
    connection: Mutex<Connection>,
    /// Messages waiting for the next group commit ([`super::sqlite_writes`]).
    pub(super) pending_messages: Mutex<Vec<super::sqlite_writes::PendingMessage>>,
    /// Connects that changed nothing but `last_active` and the month's activity, written in batches.
    pub(super) pending_activity:
        Mutex<std::collections::HashMap<String, super::sqlite_writes::Activity>>,
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

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let lock = lock_database(path)?;
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "foreign_keys", "ON")?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        // FULL: an acknowledged write is on disk before the answer goes out, even across `kill -9`.
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.busy_timeout(std::time::Duration::from_secs(5))?;
        let store = SqliteStore {
            connection: Mutex::new(connection),
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
        self.flush_activity()?;
        let connection = self.lock()?;
        Ok(connection.query_row(
            "SELECT COUNT(*) FROM monthly_activity WHERE month = ?1",
            [month],
            |row| row.get(0),
        )?)
    }

    fn user(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
        let connection = self.lock()?;
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
        Ok(connection.query_row(&sql, [id], |row| user_from(row, 0)).optional()?)
    }

    fn replace_users(
        &self,
        users: Vec<UserReplace>,
        now: &str,
    ) -> Result<Vec<StoredUser>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        for user in &users {
            tx.execute(
                "INSERT INTO users (id, role, fields, created_at, updated_at) VALUES (?1, COALESCE(?2, 'user'), ?3, ?4, ?4)
                 ON CONFLICT (id) DO UPDATE SET role = COALESCE(?2, role), fields = ?3, updated_at = ?4",
                params![user.id, user.role, Value::Object(user.fields.clone()).to_string(), now],
            )?;
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
        let stored = users
            .iter()
            .map(|user| tx.query_row(&sql, [&user.id], |row| user_from(row, 0)))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.commit()?;
        Ok(stored)
    }

    fn update_users(
        &self,
        ids: &[String],
        now: &str,
        change: &mut dyn FnMut(Option<StoredUser>) -> Result<StoredUser, String>,
    ) -> Result<Result<Vec<StoredUser>, String>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let select = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
        let mut written = Vec::with_capacity(ids.len());
        for id in ids {
            let stored = tx.query_row(&select, [id], |row| user_from(row, 0)).optional()?;
            let user = match change(stored) {
                Ok(user) => user,
                // Dropping the transaction rolls back whatever was written before the refusal.
                Err(reason) => return Ok(Err(reason)),
            };
            tx.execute(
                "UPDATE users SET role = ?2, fields = ?3, updated_at = ?4 WHERE id = ?1",
                params![user.id, user.role, Value::Object(user.fields.clone()).to_string(), now],
            )?;
            written.push(tx.query_row(&select, [id], |row| user_from(row, 0))?);
        }
        tx.commit()?;
        Ok(Ok(written))
    }

    fn create_user(
        &self,
        id: &str,
        role: &str,
        fields: Map<String, Value>,
        now: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        let connection = self.lock()?;
        let inserted = connection.execute(
            "INSERT OR IGNORE INTO users (id, role, fields, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)",
            params![id, role, Value::Object(fields).to_string(), now],
        )? == 1;
        if !inserted {
            return Ok(None);
        }
        let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE u.id = ?1");
        Ok(Some(connection.query_row(&sql, [id], |row| user_from(row, 0))?))
    }

    fn query_users(&self, query: &UserQuery) -> Result<Vec<StoredUser>, StoreError> {
        let connection = self.lock()?;
        let mut params = Query::default();
        let sql = super::query_sql::user_select(USER_COLUMNS, query, &mut params);
        let mut statement = connection.prepare(&sql)?;
        let rows = statement
            .query_map(rusqlite::params_from_iter(params.values.iter()), |row| user_from(row, 0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn send_reaction(
        &self,
        reaction: NewReaction,
        now: &str,
    ) -> Result<(ReactionRecord, bool), StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let replaced = if reaction.unique {
            tx.execute(
                "DELETE FROM reactions WHERE message_id = ?1 AND user_id = ?2",
                [&reaction.message_id, &reaction.user_id],
            )?
        } else {
            tx.execute(
                "DELETE FROM reactions WHERE message_id = ?1 AND user_id = ?2 AND type = ?3",
                [&reaction.message_id, &reaction.user_id, &reaction.kind],
            )?
        } > 0;
        tx.execute(
            "INSERT INTO reactions (message_id, user_id, type, score, extra, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![
                reaction.message_id,
                reaction.user_id,
                reaction.kind,
                reaction.score,
                Value::Object(reaction.extra).to_string(),
                now
            ],
        )?;
        let sql = format!(
            "SELECT {REACTION_COLUMNS}, {USER_COLUMNS} FROM reactions x JOIN users u ON u.id = x.user_id
             WHERE x.message_id = ?1 AND x.user_id = ?2 AND x.type = ?3"
        );
        let stored = tx.query_row(
            &sql,
            [&reaction.message_id, &reaction.user_id, &reaction.kind],
            reaction_from,
        )?;
        tx.commit()?;
        Ok((stored, replaced))
    }

    fn delete_reaction(
        &self,
        message_id: &str,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<ReactionRecord>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let sql = format!(
            "SELECT {REACTION_COLUMNS}, {USER_COLUMNS} FROM reactions x JOIN users u ON u.id = x.user_id
             WHERE x.message_id = ?1 AND x.user_id = ?2 AND x.type = ?3"
        );
        let found = tx.query_row(&sql, [message_id, user_id, kind], reaction_from).optional()?;
        tx.execute(
            "DELETE FROM reactions WHERE message_id = ?1 AND user_id = ?2 AND type = ?3",
            [message_id, user_id, kind],
        )?;
        tx.commit()?;
        Ok(found)
    }

    fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        Ok(message_in(&tx, id)?)
    }

    fn update_message(
        &self,
        id: &str,
        text: &str,
        extra: Map<String, Value>,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        tx.execute(
            "UPDATE messages SET text = ?2, extra = ?3, updated_at = ?4 WHERE id = ?1 AND deleted_at IS NULL",
            params![id, text, Value::Object(extra).to_string(), now],
        )?;
        let stored = message_in(&tx, id)?;
        tx.commit()?;
        Ok(stored)
    }

    fn delete_message(
        &self,
        id: &str,
        hard: bool,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let Some(mut stored) = message_in(&tx, id)? else { return Ok(None) };
        if hard {
            tx.execute("DELETE FROM messages WHERE id = ?1", [id])?;
            stored.deleted_at = Some(now.into());
        } else {
            tx.execute(
                "UPDATE messages SET deleted_at = COALESCE(deleted_at, ?2), updated_at = ?2 WHERE id = ?1",
                params![id, now],
            )?;
            stored = message_in(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        }
        tx.commit()?;
        Ok(Some(stored))
    }

    fn change_members(
        &self,
        cid: &str,
        add: &[String],
        remove: &[String],
        now: &str,
    ) -> Result<(Vec<MemberRecord>, Vec<MemberRecord>), StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let member = |tx: &rusqlite::Transaction<'_>, user: &str| {
            let sql = format!(
                "SELECT m.created_at, {USER_COLUMNS} FROM members m JOIN users u ON u.id = m.user_id
                 WHERE m.cid = ?1 AND m.user_id = ?2"
            );
            tx.query_row(&sql, [cid, user], |row| {
                Ok(MemberRecord { created_at: row.get(0)?, user: user_from(row, 1)? })
            })
            .optional()
        };
        let mut added = Vec::new();
        for user in add {
            ensure_user(&tx, user, now)?;
            let inserted = tx.execute(
                "INSERT OR IGNORE INTO members (cid, user_id, created_at) VALUES (?1, ?2, ?3)",
                params![cid, user, now],
            )? == 1;
            if inserted {
                tx.execute(
                    "INSERT OR IGNORE INTO reads (cid, user_id, last_read, shared_last_read) VALUES (?1, ?2, ?3, ?3)",
                    params![cid, user, now],
                )?;
                added.extend(member(&tx, user)?);
            }
        }
        let mut removed = Vec::new();
        for user in remove {
            if let Some(record) = member(&tx, user)? {
                tx.execute(
                    "DELETE FROM members WHERE cid = ?1 AND user_id = ?2",
                    [cid, user.as_str()],
                )?;
                tx.execute(
                    "DELETE FROM reads WHERE cid = ?1 AND user_id = ?2",
                    [cid, user.as_str()],
                )?;
                removed.push(record);
            }
        }
        tx.execute("UPDATE channels SET updated_at = ?2 WHERE cid = ?1", [cid, now])?;
        tx.commit()?;
        Ok((added, removed))
    }

    fn replies(
        &self,
        parent_id: &str,
        limit: usize,
        id_lt: Option<&str>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let connection = self.lock()?;
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS}, {USER_COLUMNS} FROM messages g JOIN users u ON u.id = g.user_id
             WHERE json_extract(g.extra, '$.parent_id') = ?1
               AND (?2 IS NULL OR g.seq < (SELECT seq FROM messages WHERE id = ?2))
             ORDER BY g.seq DESC LIMIT ?3"
        );
        let mut statement = connection.prepare(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = statement.query_map(params![parent_id, id_lt, limit], message_from)?;
        let mut replies: Vec<MessageRecord> = rows.collect::<rusqlite::Result<_>>()?;
        replies.reverse();
        drop(statement);
        attach_reactions(&connection, &mut replies)?;
        Ok(replies)
    }

    fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let connection = self.lock()?;
        let mut statement =
            connection.prepare("SELECT cid FROM members WHERE user_id = ?1 ORDER BY cid")?;
        let rows = statement.query_map([user_id], |row| row.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn get_or_create_channel(
        &self,
        new: NewChannel,
        now: &str,
    ) -> Result<(ChannelRecord, bool), StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let created = tx.execute(
            "INSERT OR IGNORE INTO channels (cid, type, id, data, created_by, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
            params![new.cid, new.kind, new.id, Value::Object(new.data).to_string(), new.created_by, now],
        )? == 1;
        if created {
            for member in &new.members {
                ensure_user(&tx, member, now)?;
                tx.execute(
                    "INSERT OR IGNORE INTO members (cid, user_id, created_at) VALUES (?1, ?2, ?3)",
                    params![new.cid, member, now],
                )?;
                tx.execute(
                    "INSERT OR IGNORE INTO reads (cid, user_id, last_read, shared_last_read)
                     VALUES (?1, ?2, ?3, ?3)",
                    params![new.cid, member, now],
                )?;
            }
        }
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.cid = ?1");
        let channel = tx.query_row(&sql, [&new.cid], channel_from)?;
        tx.commit()?;
        Ok((channel, created))
    }

    fn channel(&self, cid: &str) -> Result<Option<ChannelRecord>, StoreError> {
        let connection = self.lock()?;
        let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.cid = ?1");
        let found = connection.prepare_cached(&sql)?.query_row([cid], channel_from).optional()?;
        Ok(found)
    }

    fn is_member(&self, cid: &str, user_id: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        let mut statement =
            connection.prepare_cached("SELECT 1 FROM members WHERE cid = ?1 AND user_id = ?2")?;
        Ok(statement.exists([cid, user_id])?)
    }

    fn members(&self, cid: &str) -> Result<Vec<MemberRecord>, StoreError> {
        let connection = self.lock()?;
        let sql = format!(
            "SELECT m.created_at, {USER_COLUMNS} FROM members m JOIN users u ON u.id = m.user_id
             WHERE m.cid = ?1 ORDER BY m.created_at, m.user_id"
        );
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map([cid], |row| {
            Ok(MemberRecord { created_at: row.get(0)?, user: user_from(row, 1)? })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn add_message(
        &self,
        message: NewMessage,
        now: &str,
    ) -> Result<super::AddedMessage, StoreError> {
        self.add_message_grouped(message, now)
    }

    fn channel_for(
        &self,
        cid: &str,
        user_id: &str,
    ) -> Result<Option<(ChannelRecord, bool)>, StoreError> {
        let connection = self.lock()?;
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS}, EXISTS (SELECT 1 FROM members WHERE cid = c.cid AND user_id = ?2)
             FROM channels c WHERE c.cid = ?1"
        );
        let found = connection
            .prepare_cached(&sql)?
            .query_row([cid, user_id], |row| Ok((channel_from(row)?, row.get::<_, bool>(9)?)))
            .optional()?;
        Ok(found)
    }

    fn flush_activity(&self) -> Result<(), StoreError> {
        self.write_activity()
    }

    fn messages(
        &self,
        cid: &str,
        limit: usize,
        anchor: &MessageAnchor,
        budget: &mut usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        if *budget == 0 {
            return Ok(Vec::new());
        }
        let connection = self.lock()?;
        let seq_of = "(SELECT seq FROM messages WHERE id = ?2)";
        let (condition, value, newest_first) = match anchor {
            MessageAnchor::Latest => ("1".to_owned(), None, true),
            MessageAnchor::BeforeId { id, inclusive } => {
                (format!("g.seq {} {seq_of}", if *inclusive { "<=" } else { "<" }), Some(id), true)
            }
            MessageAnchor::AfterId { id, inclusive } => {
                (format!("g.seq {} {seq_of}", if *inclusive { ">=" } else { ">" }), Some(id), false)
            }
            MessageAnchor::BeforeTime { at, inclusive } => {
                let op = if *inclusive { "<=" } else { "<" };
                (format!("julianday(g.created_at) {op} julianday(?2)"), Some(at), true)
            }
            MessageAnchor::AfterTime { at, inclusive } => {
                let op = if *inclusive { ">=" } else { ">" };
                (format!("julianday(g.created_at) {op} julianday(?2)"), Some(at), false)
            }
        };
        let order = if newest_first { "DESC" } else { "ASC" };
        // ?2 is always bound (the anchor's value, or NULL for the latest page); the last condition keeps it
        // referenced when the anchor's condition does not use it.
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS}, {USER_COLUMNS},
                length(CAST(g.text AS BLOB)) + length(CAST(g.extra AS BLOB)) + length(CAST(u.fields AS BLOB))
             FROM messages g JOIN users u ON u.id = g.user_id
             WHERE g.cid = ?1 AND ({condition}) AND NOT ({THREAD_ONLY})
               AND (?2 IS NULL OR ?2 IS NOT NULL)
             ORDER BY g.seq {order} LIMIT ?3"
        );
        let mut statement = connection.prepare(&sql)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut rows = statement.query(params![cid, value, limit])?;
        // In page order, stopping before the byte budget is spent: memory stays bounded whatever the rows hold.
        let mut messages = Vec::new();
        while let Some(row) = rows.next()? {
            let size = usize::try_from(row.get::<_, i64>(15)?).unwrap_or(usize::MAX);
            if size > *budget && !messages.is_empty() {
                break;
            }
            *budget = budget.saturating_sub(size);
            messages.push(message_from(row)?);
        }
        if newest_first {
            messages.reverse();
        }
        drop(rows);
        drop(statement);
        attach_reactions(&connection, &mut messages)?;
        Ok(messages)
    }

    fn mark_read(
        &self,
        cid: &str,
        user_id: &str,
        message_id: Option<&str>,
        now: &str,
        shared: bool,
    ) -> Result<ReadRecord, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let last_message: Option<String> = match message_id {
            Some(id) => Some(id.to_owned()),
            None => tx
                .query_row(
                    "SELECT id FROM messages WHERE cid = ?1 ORDER BY seq DESC LIMIT 1",
                    [cid],
                    |row| row.get(0),
                )
                .optional()?,
        };
        tx.execute(
            "INSERT INTO reads (cid, user_id, last_read, last_read_message_id, unread_messages, shared_last_read)
             VALUES (?1, ?2, ?3, ?4, 0, ?3)
             ON CONFLICT (cid, user_id) DO UPDATE SET last_read = ?3, last_read_message_id = ?4, unread_messages = 0",
            params![cid, user_id, now, last_message],
        )?;
        if shared {
            tx.execute(
                "UPDATE reads SET shared_last_read = ?3, shared_last_read_message_id = ?4,
                 shared_unread_messages = 0 WHERE cid = ?1 AND user_id = ?2",
                params![cid, user_id, now, last_message],
            )?;
        }
        let read = read_of(&tx, cid, user_id)?;
        tx.commit()?;
        Ok(read)
    }

    fn mark_unread(
        &self,
        cid: &str,
        user_id: &str,
        message_id: &str,
    ) -> Result<Option<ReadRecord>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let Some(seq) = tx
            .query_row(
                "SELECT seq FROM messages WHERE cid = ?1 AND id = ?2",
                [cid, message_id],
                |row| row.get::<_, i64>(0),
            )
            .optional()?
        else {
            return Ok(None);
        };
        // The message just before: the new last read (or the channel's creation when there is none).
        let before: Option<(String, String)> = tx
            .query_row(
                "SELECT id, created_at FROM messages WHERE cid = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT 1",
                params![cid, seq],
                |row| Ok((row.get(0)?, row.get(1)?)),
            )
            .optional()?;
        let created: String =
            tx.query_row("SELECT created_at FROM channels WHERE cid = ?1", [cid], |row| {
                row.get(0)
            })?;
        let unread: i64 = tx.query_row(
            &format!(
                "SELECT COUNT(*) FROM messages g WHERE g.cid = ?1 AND g.seq >= ?2 AND g.user_id != ?3 AND NOT ({THREAD_ONLY})"
            ),
            params![cid, seq, user_id],
            |row| row.get(0),
        )?;
        let (last_id, last_read) = match before {
            Some((id, at)) => (Some(id), at),
            None => (None, created),
        };
        tx.execute(
            "UPDATE reads SET last_read = ?3, last_read_message_id = ?4, unread_messages = ?5 WHERE cid = ?1 AND user_id = ?2",
            params![cid, user_id, last_read, last_id, unread],
        )?;
        let read = read_of(&tx, cid, user_id)?;
        tx.commit()?;
        Ok(Some(read))
    }

    fn mark_all_read(
        &self,
        user_id: &str,
        now: &str,
        shared: bool,
    ) -> Result<Vec<String>, StoreError> {
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        let cids: Vec<String> = {
            let mut statement = tx.prepare(
                "SELECT cid FROM reads WHERE user_id = ?1 AND unread_messages > 0 ORDER BY cid",
            )?;
            let rows = statement.query_map([user_id], |row| row.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        tx.execute(
            "UPDATE reads SET last_read = ?2, unread_messages = 0,
                last_read_message_id = (SELECT id FROM messages m WHERE m.cid = reads.cid ORDER BY seq DESC LIMIT 1)
             WHERE user_id = ?1",
            params![user_id, now],
        )?;
        if shared {
            tx.execute(
                "UPDATE reads SET shared_last_read = last_read, shared_last_read_message_id = last_read_message_id,
                    shared_unread_messages = 0 WHERE user_id = ?1",
                [user_id],
            )?;
        }
        tx.commit()?;
        Ok(cids)
    }

    fn unread_channels(&self, user_id: &str) -> Result<Vec<(String, u64, String)>, StoreError> {
        let connection = self.lock()?;
        let mut statement = connection.prepare(
            "SELECT cid, unread_messages, last_read FROM reads WHERE user_id = ?1 AND unread_messages > 0 ORDER BY cid",
        )?;
        let rows =
            statement.query_map([user_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn reads(&self, cid: &str) -> Result<Vec<ReadRecord>, StoreError> {
        let connection = self.lock()?;
        let sql = format!(
            "SELECT r.last_read, r.last_read_message_id, r.unread_messages, {USER_COLUMNS}, {SHARED_COLUMNS}
             FROM reads r JOIN users u ON u.id = r.user_id WHERE r.cid = ?1 ORDER BY r.user_id"
        );
        let mut statement = connection.prepare(&sql)?;
        let rows = statement.query_map([cid], read_from)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn has_message(&self, cid: &str, id: &str) -> Result<bool, StoreError> {
        let connection = self.lock()?;
        Ok(connection
            .query_row("SELECT 1 FROM messages WHERE cid = ?1 AND id = ?2", [cid, id], |_| Ok(()))
            .optional()?
            .is_some())
    }

    fn unread_totals(&self, user_id: &str) -> Result<(u64, u64), StoreError> {
        let connection = self.lock()?;
        Ok(connection.query_row(
            "SELECT COALESCE(SUM(unread_messages), 0), COUNT(CASE WHEN unread_messages > 0 THEN 1 END)
             FROM reads WHERE user_id = ?1",
            [user_id],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )?)
    }

    fn query_channels(
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
