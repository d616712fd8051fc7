//! Read state in SQLite, for [`SqliteDb`]'s `Store` methods: marking read (own and, with receipts on, shared;
//! see [`super::SharedRead`]) and unread, and the unread counts.

use rusqlite::{params, OptionalExtension};

use super::sql::{self, sqlite};
use super::sqlite::SqliteDb;
use super::sqlite_rows::Sqlite;
use super::sqlite_rows::{read_from, read_of};
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
        None => tx.query_row(&sqlite(sql::LAST_MESSAGE_ID), [cid], |row| row.get(0)).optional()?,
    };
    tx.execute(&sqlite(sql::MARK_READ), params![cid, user_id, now, last_message])?;
    if shared {
        tx.execute(&sqlite(sql::MARK_SHARED_READ), params![cid, user_id, now, last_message])?;
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
        .query_row(&sqlite(sql::MESSAGE_SEQ), [cid, message_id], |row| row.get::<_, i64>(0))
        .optional()?
    else {
        return Ok(None);
    };
    // The message just before: the new last read (or the channel's creation when there is none).
    let before: Option<(String, String)> = tx
        .query_row(&sqlite(sql::MESSAGE_BEFORE), params![cid, seq], |row| {
            Ok((row.get(0)?, row.get(1)?))
        })
        .optional()?;
    let created: String =
        tx.query_row(&sqlite(sql::CHANNEL_CREATED_AT), [cid], |row| row.get(0))?;
    let unread: i64 = tx.query_row(
        &sqlite(&sql::count_unread_from::<Sqlite>()),
        params![cid, seq, user_id],
        |row| row.get(0),
    )?;
    let (last_id, last_read) = match before {
        Some((id, at)) => (Some(id), at),
        None => (None, created),
    };
    tx.execute(&sqlite(sql::SET_READ), params![cid, user_id, last_read, last_id, unread])?;
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
        let mut statement = tx.prepare(&sqlite(sql::UNREAD_CHANNEL_IDS))?;
        let rows = statement.query_map([user_id], |row| row.get(0))?;
        rows.collect::<rusqlite::Result<_>>()?
    };
    tx.execute(&sqlite(sql::MARK_ALL_READ), params![user_id, now])?;
    if shared {
        tx.execute(&sqlite(sql::MARK_ALL_SHARED_READ), [user_id])?;
    }
    tx.commit()?;
    Ok(cids)
}

pub(super) fn unread_channels(
    store: &SqliteDb,
    user_id: &str,
) -> Result<Vec<(String, u64, String)>, StoreError> {
    let connection = store.lock()?;
    let mut statement = connection.prepare(&sqlite(sql::UNREAD_CHANNELS))?;
    let rows = statement.query_map([user_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn reads(store: &SqliteDb, cid: &str) -> Result<Vec<ReadRecord>, StoreError> {
    let connection = store.lock()?;
    let mut statement = connection.prepare(&sqlite(sql::SELECT_READS))?;
    let rows = statement.query_map([cid], read_from)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn unread_totals(store: &SqliteDb, user_id: &str) -> Result<(u64, u64), StoreError> {
    let connection = store.lock()?;
    Ok(connection
        .query_row(&sqlite(sql::UNREAD_TOTALS), [user_id], |row| Ok((row.get(0)?, row.get(1)?)))?)
}
