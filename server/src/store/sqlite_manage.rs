//! Channel management in SQLite, for [`SqliteStore`]'s `Store` methods: a member's role and hidden flag, the
//! channel's custom data, truncation and deletion.

use rusqlite::{params, OptionalExtension};
use serde_json::{Map, Value};

use super::sqlite::SqliteStore;
use super::sqlite_rows::{channel_from, member_from, CHANNEL_COLUMNS, MEMBER_COLUMNS};
use super::{ChannelRecord, MemberChange, MemberRecord, StoreError};

pub(super) fn change_member(
    store: &SqliteStore,
    cid: &str,
    user_id: &str,
    change: &MemberChange,
) -> Result<Option<MemberRecord>, StoreError> {
    let connection = store.lock()?;
    connection.execute(
        "UPDATE members SET channel_role = COALESCE(?3, channel_role), hidden = COALESCE(?4, hidden)
         WHERE cid = ?1 AND user_id = ?2",
        params![cid, user_id, change.channel_role, change.hidden],
    )?;
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members m JOIN users u ON u.id = m.user_id
         WHERE m.cid = ?1 AND m.user_id = ?2"
    );
    Ok(connection.query_row(&sql, [cid, user_id], member_from).optional()?)
}

pub(super) fn unhide_channel(store: &SqliteStore, cid: &str) -> Result<Vec<String>, StoreError> {
    let connection = store.lock()?;
    let mut statement = connection.prepare_cached(
        "UPDATE members SET hidden = 0 WHERE cid = ?1 AND hidden = 1 RETURNING user_id",
    )?;
    let rows = statement.query_map([cid], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn update_channel(
    store: &SqliteStore,
    cid: &str,
    data: Map<String, Value>,
    now: &str,
) -> Result<Option<ChannelRecord>, StoreError> {
    let connection = store.lock()?;
    connection.execute(
        "UPDATE channels SET data = ?2, updated_at = ?3 WHERE cid = ?1",
        params![cid, Value::Object(data).to_string(), now],
    )?;
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels c WHERE c.cid = ?1");
    Ok(connection.query_row(&sql, [cid], channel_from).optional()?)
}

pub(super) fn truncate_channel(
    store: &SqliteStore,
    cid: &str,
    now: &str,
) -> Result<(), StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    delete_messages(&tx, cid)?;
    tx.execute(
        "UPDATE reads SET unread_messages = 0, shared_unread_messages = 0 WHERE cid = ?1",
        [cid],
    )?;
    tx.execute(
        "UPDATE channels SET data = json_set(data, '$.truncated_at', ?2), updated_at = ?2
         WHERE cid = ?1",
        [cid, now],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn delete_channel(store: &SqliteStore, cid: &str) -> Result<bool, StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    delete_messages(&tx, cid)?;
    tx.execute("DELETE FROM reads WHERE cid = ?1", [cid])?;
    tx.execute("DELETE FROM members WHERE cid = ?1", [cid])?;
    let existed = tx.execute("DELETE FROM channels WHERE cid = ?1", [cid])? == 1;
    tx.commit()?;
    Ok(existed)
}

/// Removes the channel's messages and their reactions.
fn delete_messages(tx: &rusqlite::Transaction<'_>, cid: &str) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages WHERE cid = ?1)",
        [cid],
    )?;
    tx.execute("DELETE FROM messages WHERE cid = ?1", [cid])?;
    Ok(())
}
