//! Read state in SQLite, for [`SqliteDb`]'s `Store` methods: marking read (own and, with receipts on, shared;
//! see [`super::SharedRead`]) and unread, and the unread counts.

use rusqlite::{params, OptionalExtension};

use super::sqlite::SqliteDb;
use super::sqlite_rows::{
    read_from, read_of, NOT_SILENT, SHARED_COLUMNS, THREAD_ONLY, USER_COLUMNS,
};
use super::{ReadRecord, StoreError};

pub(super) fn mark_read(
    store: &SqliteDb,
    cid: &str,
    user_id: &str,
    message_id: Option<&str>,
    now: &str,
    shared: bool,
) -> Result<ReadRecord, StoreError> {
    let mut connection = store.lock()?;
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

pub(super) fn mark_unread(
    store: &SqliteDb,
    cid: &str,
    user_id: &str,
    message_id: &str,
) -> Result<Option<ReadRecord>, StoreError> {
    let mut connection = store.lock()?;
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
        tx.query_row("SELECT created_at FROM channels WHERE cid = ?1", [cid], |row| row.get(0))?;
    let unread: i64 = tx.query_row(
        &format!(
            "SELECT COUNT(*) FROM messages g WHERE g.cid = ?1 AND g.seq >= ?2 AND g.user_id != ?3 AND NOT ({THREAD_ONLY}) AND {NOT_SILENT}"
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

pub(super) fn mark_all_read(
    store: &SqliteDb,
    user_id: &str,
    now: &str,
    shared: bool,
) -> Result<Vec<String>, StoreError> {
    let mut connection = store.lock()?;
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

pub(super) fn unread_channels(
    store: &SqliteDb,
    user_id: &str,
) -> Result<Vec<(String, u64, String)>, StoreError> {
    let connection = store.lock()?;
    let mut statement = connection.prepare(
        "SELECT cid, unread_messages, last_read FROM reads WHERE user_id = ?1 AND unread_messages > 0 ORDER BY cid",
    )?;
    let rows = statement.query_map([user_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn reads(store: &SqliteDb, cid: &str) -> Result<Vec<ReadRecord>, StoreError> {
    let connection = store.lock()?;
    let sql = format!(
        "SELECT r.last_read, r.last_read_message_id, r.unread_messages, {USER_COLUMNS}, {SHARED_COLUMNS}
         FROM reads r JOIN users u ON u.id = r.user_id WHERE r.cid = ?1 ORDER BY r.user_id"
    );
    let mut statement = connection.prepare(&sql)?;
    let rows = statement.query_map([cid], read_from)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn unread_totals(store: &SqliteDb, user_id: &str) -> Result<(u64, u64), StoreError> {
    let connection = store.lock()?;
    Ok(connection.query_row(
        "SELECT COALESCE(SUM(unread_messages), 0), COUNT(CASE WHEN unread_messages > 0 THEN 1 END)
         FROM reads WHERE user_id = ?1",
        [user_id],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?)
}
