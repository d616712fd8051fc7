//! Channel management in SQLite, for [`SqliteDb`]'s `Store` methods: a member's role and hidden flag, the
//! channel's custom data, truncation and deletion.

use rusqlite::{params, OptionalExtension};
use serde_json::{Map, Value};

use super::sql::{self, sqlite};
use super::sqlite::SqliteDb;
use super::sqlite_rows::Sqlite;
use super::sqlite_rows::{channel_from, member_from};
use super::{ChannelRecord, MemberChange, MemberRecord, Relation, StoreError};

pub(super) fn change_member(
    store: &SqliteDb,
    cid: &str,
    user_id: &str,
    change: &MemberChange,
) -> Result<Option<(MemberRecord, u64)>, StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    let changed = tx.execute(
        "UPDATE members SET channel_role = COALESCE(?3, channel_role), hidden = COALESCE(?4, hidden)
         WHERE cid = ?1 AND user_id = ?2",
        params![cid, user_id, change.channel_role, change.hidden],
    )?;
    if changed == 0 {
        return Ok(None);
    }
    let member = tx.query_row(&sqlite(sql::SELECT_MEMBER), [cid, user_id], member_from)?;
    let version = tx.query_row(&sqlite(sql::NEXT_CHANNEL_VERSION), [cid], |row| row.get(0))?;
    tx.commit()?;
    Ok(Some((member, version)))
}

pub(super) fn unhide_channel(store: &SqliteDb, cid: &str) -> Result<Vec<String>, StoreError> {
    let connection = store.lock()?;
    let mut statement = connection.prepare_cached(&sqlite(sql::SHOW_CHANNEL))?;
    let rows = statement.query_map([cid], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn update_channel(
    store: &SqliteDb,
    cid: &str,
    data: Map<String, Value>,
    now: &str,
) -> Result<Option<ChannelRecord>, StoreError> {
    let connection = store.lock()?;
    connection.execute(
        &sqlite(sql::UPDATE_CHANNEL_DATA),
        params![cid, Value::Object(data).to_string(), now],
    )?;
    let sql = sqlite(&sql::select_channel::<Sqlite>());
    Ok(connection.query_row(&sql, [cid], channel_from).optional()?)
}

pub(super) fn truncate_channel(store: &SqliteDb, cid: &str, now: &str) -> Result<(), StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    delete_messages(&tx, cid)?;
    tx.execute(&sqlite(sql::CLEAR_CHANNEL_UNREAD), [cid])?;
    tx.execute(&sqlite(&sql::truncate_channel::<Sqlite>()), [cid, now])?;
    tx.commit()?;
    Ok(())
}

pub(super) fn delete_channel(store: &SqliteDb, cid: &str) -> Result<Option<u64>, StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    delete_messages(&tx, cid)?;
    for rows in sql::DELETE_CHANNEL_ROWS {
        tx.execute(&sqlite(rows), [cid])?;
    }
    let version = tx.query_row(&sqlite(sql::DELETE_CHANNEL), [cid], |row| row.get(0)).optional()?;
    tx.commit()?;
    Ok(version)
}

/// Removes the channel's messages and their reactions.
fn delete_messages(tx: &rusqlite::Transaction<'_>, cid: &str) -> Result<(), StoreError> {
    tx.execute(
        "DELETE FROM reactions WHERE message_id IN (SELECT id FROM messages WHERE cid = ?1)",
        [cid],
    )?;
    tx.execute(&sqlite(sql::DELETE_CHANNEL_MESSAGES), [cid])?;
    Ok(())
}

pub(super) fn put_relation(store: &SqliteDb, relation: &Relation) -> Result<(), StoreError> {
    let connection = store.lock()?;
    connection.execute(
        &sqlite(sql::UPSERT_RELATION),
        params![
            relation.kind,
            relation.user_id,
            relation.target,
            Value::Object(relation.data.clone()).to_string(),
            relation.created_at,
            relation.expires
        ],
    )?;
    Ok(())
}

pub(super) fn delete_relation(
    store: &SqliteDb,
    kind: &str,
    user_id: &str,
    target: &str,
) -> Result<bool, StoreError> {
    let connection = store.lock()?;
    let sql = &sqlite(sql::DELETE_RELATION);
    Ok(connection.execute(sql, [kind, user_id, target])? > 0)
}

pub(super) fn relations(
    store: &SqliteDb,
    kind: &str,
    user_id: Option<&str>,
    target: Option<&str>,
    now: &str,
) -> Result<Vec<Relation>, StoreError> {
    let connection = store.read();
    let mut statement = connection.prepare_cached(
        "SELECT kind, user_id, target, data, created_at, expires FROM moderation
         WHERE kind = ?1 AND (?2 IS NULL OR user_id = ?2) AND (?3 IS NULL OR target = ?3)
         AND (expires IS NULL OR expires > ?4) ORDER BY created_at, user_id, target",
    )?;
    let rows = statement.query_map(params![kind, user_id, target, now], relation_from)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(super) fn sender_moderation(
    store: &SqliteDb,
    user_id: &str,
    cid: &str,
    now: &str,
) -> Result<Vec<Relation>, StoreError> {
    // The reader connection and one statement: this runs on every message's path, which must not wait for a
    // group commit (two lookups here cost the ingest bench about a tenth).
    let connection = store.read();
    let mut statement = connection.prepare_cached(&sqlite(sql::SENDER_MODERATION))?;
    let rows = statement.query_map(params![user_id, cid, now], relation_from)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

/// Reads a [`Relation`] from a `moderation` row in column order ([`super::rows::relation_from`]).
fn relation_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<Relation> {
    super::rows::relation_from(row)
}
