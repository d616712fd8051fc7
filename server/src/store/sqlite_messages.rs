//! Messages, replies and reactions in SQLite, for [`SqliteDb`]'s `Store` methods. New messages are written by
//! the group commit in [`super::sqlite_writes`].

use rusqlite::{params, OptionalExtension};
use serde_json::{Map, Value};

use super::sql::{self, sqlite, USER_COLUMNS};
use super::sqlite::SqliteDb;
use super::sqlite_rows::{
    attach_reactions, message_from, message_in, reaction_from, Query, Sqlite, MESSAGE_COLUMNS,
    THREAD_ONLY,
};
use super::{MessageAnchor, MessageRecord, MessageSearch, NewReaction, ReactionRecord, StoreError};

pub(super) fn send_reaction(
    store: &SqliteDb,
    reaction: NewReaction,
    now: &str,
) -> Result<(ReactionRecord, bool), StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    let replaced = if reaction.unique {
        tx.execute(&sqlite(sql::DELETE_USER_REACTIONS), [&reaction.message_id, &reaction.user_id])?
    } else {
        tx.execute(
            &sqlite(sql::DELETE_REACTION),
            [&reaction.message_id, &reaction.user_id, &reaction.kind],
        )?
    } > 0;
    tx.execute(
        &sqlite(sql::INSERT_REACTION),
        params![
            reaction.message_id,
            reaction.user_id,
            reaction.kind,
            reaction.score,
            Value::Object(reaction.extra).to_string(),
            now
        ],
    )?;
    let sql = sqlite(sql::SELECT_REACTION);
    let stored = tx.query_row(
        &sql,
        [&reaction.message_id, &reaction.user_id, &reaction.kind],
        reaction_from,
    )?;
    tx.commit()?;
    Ok((stored, replaced))
}

pub(super) fn delete_reaction(
    store: &SqliteDb,
    message_id: &str,
    user_id: &str,
    kind: &str,
) -> Result<Option<ReactionRecord>, StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    let sql = sqlite(sql::SELECT_REACTION);
    let found = tx.query_row(&sql, [message_id, user_id, kind], reaction_from).optional()?;
    tx.execute(&sqlite(sql::DELETE_REACTION), [message_id, user_id, kind])?;
    tx.commit()?;
    Ok(found)
}

pub(super) fn message(store: &SqliteDb, id: &str) -> Result<Option<MessageRecord>, StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    Ok(message_in(&tx, id)?)
}

pub(super) fn update_message(
    store: &SqliteDb,
    id: &str,
    text: &str,
    extra: Map<String, Value>,
    now: &str,
) -> Result<Option<MessageRecord>, StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    tx.execute(
        &sqlite(sql::UPDATE_MESSAGE),
        params![id, text, Value::Object(extra).to_string(), now],
    )?;
    let stored = message_in(&tx, id)?;
    tx.commit()?;
    Ok(stored)
}

pub(super) fn delete_message(
    store: &SqliteDb,
    id: &str,
    hard: bool,
    now: &str,
) -> Result<Option<MessageRecord>, StoreError> {
    let mut connection = store.lock()?;
    let tx = connection.transaction()?;
    let Some(mut stored) = message_in(&tx, id)? else { return Ok(None) };
    if hard {
        tx.execute(&sqlite(sql::DELETE_MESSAGE), [id])?;
        stored.deleted_at = Some(now.into());
    } else {
        tx.execute(&sqlite(sql::SOFT_DELETE_MESSAGE), params![id, now])?;
        stored = message_in(&tx, id)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
    }
    tx.commit()?;
    Ok(Some(stored))
}

pub(super) fn replies(
    store: &SqliteDb,
    parent_id: &str,
    limit: usize,
    id_lt: Option<&str>,
) -> Result<Vec<MessageRecord>, StoreError> {
    let connection = store.lock()?;
    let mut statement = connection.prepare(&sqlite(&sql::replies::<Sqlite>()))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![parent_id, id_lt, limit], message_from)?;
    let mut replies: Vec<MessageRecord> = rows.collect::<rusqlite::Result<_>>()?;
    replies.reverse();
    drop(statement);
    attach_reactions(&connection, &mut replies)?;
    Ok(replies)
}

pub(super) fn pinned_messages(
    store: &SqliteDb,
    cid: &str,
    now: &str,
    limit: usize,
) -> Result<Vec<MessageRecord>, StoreError> {
    let connection = store.lock()?;
    let mut statement = connection.prepare(&sqlite(&sql::pinned_messages::<Sqlite>()))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = statement.query_map(params![cid, now, limit], message_from)?;
    let mut pinned: Vec<MessageRecord> = rows.collect::<rusqlite::Result<_>>()?;
    drop(statement);
    attach_reactions(&connection, &mut pinned)?;
    Ok(pinned)
}

pub(super) fn messages(
    store: &SqliteDb,
    cid: &str,
    limit: usize,
    anchor: &MessageAnchor,
    budget: &mut usize,
) -> Result<Vec<MessageRecord>, StoreError> {
    if *budget == 0 {
        return Ok(Vec::new());
    }
    let connection = store.lock()?;
    let anchor = super::query_sql::anchor_sql(anchor);
    let (op, value, newest_first) = (anchor.op, anchor.value, anchor.newest_first);
    let condition = match (value, anchor.by_seq) {
        (None, _) => "1".to_owned(),
        (Some(_), true) => format!("g.seq {op} (SELECT seq FROM messages WHERE id = ?2)"),
        (Some(_), false) => format!("julianday(g.created_at) {op} julianday(?2)"),
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
    // Cached: a handful of texts (anchor kind × order) serve every channel query.
    let mut statement = connection.prepare_cached(&sql)?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut rows = statement.query(params![cid, value, limit])?;
    // In page order, stopping before the byte budget is spent: memory stays bounded whatever the rows hold.
    let mut messages = Vec::new();
    while let Some(row) = rows.next()? {
        let size = usize::try_from(row.get::<_, i64>(16)?).unwrap_or(usize::MAX);
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

pub(super) fn has_message(store: &SqliteDb, cid: &str, id: &str) -> Result<bool, StoreError> {
    let connection = store.lock()?;
    Ok(connection
        .query_row(&sqlite(sql::MESSAGE_IN_CHANNEL), [cid, id], |_| Ok(()))
        .optional()?
        .is_some())
}

pub(super) fn search_messages(
    store: &SqliteDb,
    search: &MessageSearch,
    caller: &str,
) -> Result<Vec<MessageRecord>, StoreError> {
    // What was sent up to now is found: index it first (at most about a second of messages).
    store.index_search()?;
    let mut query = Query::default();
    let columns = format!("{MESSAGE_COLUMNS}, {USER_COLUMNS}");
    let sql = super::query_sql::message_search_select(&columns, search, caller, &mut query);
    let connection = store.read();
    let mut statement = connection.prepare(&sql)?;
    let rows =
        statement.query_map(rusqlite::params_from_iter(query.values.iter()), message_from)?;
    let mut found: Vec<MessageRecord> = rows.collect::<rusqlite::Result<_>>()?;
    drop(statement);
    attach_reactions(&connection, &mut found)?;
    Ok(found)
}
