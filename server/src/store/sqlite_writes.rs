//! Writes that share one fsync. **Group commit**: a message waits in a queue; whichever sender next holds the
//! connection writes every waiting message in one transaction (a savepoint each, so one failure fails only its
//! own message) and commits once; each sender's answer is its own message's result, after the commit, so
//! "acknowledged" still means "on disk". **Activity**: a connect that changes nothing about its user only notes
//! `last_active` and the month's activity; they are written in batches ([`SqliteDb::write_activity`], about
//! once a second and before MAU is counted).

use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde_json::Value;

use super::sql::{self, sqlite};
use super::sqlite::{Activity, Outcome, PendingMessage, SqliteDb};
use super::sqlite_rows::{ensure_user, message_in};
use super::{AddedMessage, MemberUnread, NewMessage, StoreError};

impl SqliteDb {
    /// Stores a message as part of a group commit; see the module docs.
    pub(super) fn add_message_grouped(
        &self,
        message: NewMessage,
        now: &str,
    ) -> Result<AddedMessage, StoreError> {
        let outcome = Outcome::default();
        let pending = PendingMessage { message, now: now.to_owned(), outcome: outcome.clone() };
        lock(&self.pending_messages).push(pending);
        let mut connection = self.lock()?;
        // The sender that held the connection before may have committed this message already.
        if let Some(done) = lock(&outcome).take() {
            return done;
        }
        let batch = std::mem::take(&mut *lock(&self.pending_messages));
        let mut tx = connection.transaction()?;
        let mut results = Vec::with_capacity(batch.len());
        for pending in batch {
            let result = match tx.savepoint() {
                Ok(mut savepoint) => {
                    let written = insert_message(&savepoint, pending.message, &pending.now);
                    match written {
                        Ok(written) => {
                            savepoint.commit().map(|()| written).map_err(StoreError::from)
                        }
                        Err(error) => {
                            let _ = savepoint.rollback();
                            Err(error.into())
                        }
                    }
                }
                Err(error) => Err(error.into()),
            };
            results.push((pending.outcome, result));
        }
        let committed = tx.commit().map_err(Arc::new);
        // Outcomes are filled before the connection is let go: the next holder finds its message done.
        for (slot, result) in results {
            let result = match &committed {
                Ok(()) => result,
                Err(error) => Err(StoreError::Sqlite(error.clone())),
            };
            *lock(&slot) = Some(result);
        }
        drop(connection);
        let done = lock(&outcome).take();
        done.unwrap_or(Err(StoreError::LostWrite))
    }

    /// Notes a connect that changed nothing else; written by the next [`SqliteDb::write_activity`].
    pub(super) fn note_activity(&self, user_id: &str, now: &str, month: &str) {
        let activity = Activity { last_active: now.to_owned(), month: month.to_owned() };
        lock(&self.pending_activity).insert(user_id.to_owned(), activity);
    }

    /// Writes the noted activity in one transaction.
    pub(super) fn write_activity(&self) -> Result<(), StoreError> {
        let noted = std::mem::take(&mut *lock(&self.pending_activity));
        if noted.is_empty() {
            return Ok(());
        }
        let mut connection = self.lock()?;
        let tx = connection.transaction()?;
        for (user_id, activity) in &noted {
            tx.execute(
                "UPDATE users SET last_active = ?2 WHERE id = ?1 AND (last_active IS NULL OR last_active < ?2)",
                params![user_id, activity.last_active],
            )?;
            tx.execute(&sqlite(sql::RECORD_MONTHLY_ACTIVITY), params![activity.month, user_id])?;
        }
        tx.commit()?;
        Ok(())
    }
}

/// Messages indexed for search in one transaction at most, so a backlog never holds the writer for long.
const SEARCH_BATCH: i64 = 5_000;

impl SqliteDb {
    /// Indexes for search every message stored since the last call (see the schema's `search_indexed`), in
    /// transactions of at most [`SEARCH_BATCH`] messages.
    pub(super) fn index_search(&self) -> Result<(), StoreError> {
        loop {
            let mut connection = self.lock()?;
            let tx = connection.transaction()?;
            let from: i64 = tx.query_row("SELECT seq FROM search_indexed", [], |row| row.get(0))?;
            let last: i64 =
                tx.query_row("SELECT COALESCE(MAX(seq), 0) FROM messages", [], |row| row.get(0))?;
            if last <= from {
                return Ok(());
            }
            let upto = last.min(from + SEARCH_BATCH);
            tx.execute(
                "INSERT INTO messages_fts (rowid, text)
                 SELECT seq, text FROM messages WHERE seq > ?1 AND seq <= ?2",
                params![from, upto],
            )?;
            tx.execute("UPDATE search_indexed SET seq = ?1", [upto])?;
            tx.commit()?;
            if upto == last {
                return Ok(());
            }
        }
    }
}

/// Inserts one message unless its id exists; returns the stored message, whether it is new and, when it is, the
/// members' unread counts right after it.
fn insert_message(
    connection: &Connection,
    message: NewMessage,
    now: &str,
) -> rusqlite::Result<AddedMessage> {
    ensure_user(connection, &message.user_id, now)?;
    let counts_as_unread = message.counts_as_unread();
    // Never earlier than the channel's newest message: time order is storage order (see `Store::add_message`).
    let previous: Option<String> = connection
        .prepare_cached("SELECT last_message_at FROM channels WHERE cid = ?1")?
        .query_row([&message.cid], |row| row.get(0))
        .optional()?
        .flatten();
    let now = match previous {
        Some(previous) if previous.as_str() > now => previous,
        _ => now.to_owned(),
    };
    let now = now.as_str();
    let inserted = connection
        .prepare_cached(
            "INSERT OR IGNORE INTO messages (id, cid, user_id, text, extra, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            message.id,
            message.cid,
            message.user_id,
            message.text,
            Value::Object(message.extra).to_string(),
            now
        ])?
        == 1;
    let mut unread = Vec::new();
    if inserted {
        connection
            .prepare_cached(
                "UPDATE channels SET last_message_at = ?2, updated_at = ?2 WHERE cid = ?1",
            )?
            .execute(params![message.cid, now])?;
        if counts_as_unread {
            connection
                .prepare_cached(
                    "UPDATE reads SET unread_messages = unread_messages + 1,
                     shared_unread_messages = shared_unread_messages + 1 WHERE cid = ?1 AND user_id != ?2
                     AND user_id NOT IN (SELECT user_id FROM moderation
                         WHERE ((kind = 'mute' AND target = ?2) OR (kind = 'channel_mute' AND target = ?1))
                         AND (expires IS NULL OR expires > ?3))",
                )?
                .execute(params![message.cid, message.user_id, now])?;
        }
        unread = member_unread(connection, &message.cid)?;
    }
    let stored =
        message_in(connection, &message.id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    Ok(AddedMessage { message: stored, inserted, unread })
}

/// Every member of `cid` with a read state: unread here, and totals across their channels, in one query.
pub(super) fn member_unread(
    connection: &Connection,
    cid: &str,
) -> rusqlite::Result<Vec<MemberUnread>> {
    let mut statement = connection.prepare_cached(
        "SELECT r.user_id, r.unread_messages, t.total, t.channels FROM reads r JOIN (
             SELECT user_id, COALESCE(SUM(unread_messages), 0) AS total,
                    COUNT(CASE WHEN unread_messages > 0 THEN 1 END) AS channels
             FROM reads WHERE user_id IN (SELECT user_id FROM reads WHERE cid = ?1) GROUP BY user_id
         ) t ON t.user_id = r.user_id
         WHERE r.cid = ?1",
    )?;
    let rows = statement.query_map([cid], |row| {
        Ok(MemberUnread {
            user_id: row.get(0)?,
            unread_messages: row.get(1)?,
            total_unread: row.get(2)?,
            unread_channels: row.get(3)?,
        })
    })?;
    rows.collect()
}

/// Locks a mutex whose data stays whole even if a holder panicked (plain queues).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
