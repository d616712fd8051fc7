//! How SQLite rows become records: the column lists every query selects, the readers that turn a row into a
//! record (written once for both stores in [`super::rows`]), and the small helpers queries share (reactions
//! attached to messages, one message or read by key, bare users named before they connect, numbered parameters).

use rusqlite::{params, Connection, OptionalExtension};

use super::rows;
use super::sql::{self, sqlite, REACTION_COLUMNS, USER_COLUMNS};
use super::{ChannelRecord, MemberRecord, MessageRecord, ReactionRecord, ReadRecord};
use crate::store::records::StoredUser;

// The readers (`super::rows`) for SQLite's rows, each for a row of any lifetime, as rusqlite's callbacks take them.

pub(super) fn user_from(row: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<StoredUser> {
    rows::user_from(row, at)
}

pub(super) fn member_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<MemberRecord> {
    rows::member_from(row)
}

pub(super) fn channel_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<ChannelRecord> {
    rows::channel_from(row)
}

pub(super) fn message_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<MessageRecord> {
    rows::message_from(row)
}

pub(super) fn reaction_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReactionRecord> {
    rows::reaction_from(row)
}

pub(super) fn read_from(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReadRecord> {
    rows::read_from(row)
}

/// A reply shown only in its thread: it has a parent and is not also shown in the channel.
pub(super) const THREAD_ONLY: &str =
    "json_extract(g.extra, '$.parent_id') IS NOT NULL AND COALESCE(json_extract(g.extra, '$.show_in_channel'), 0) = 0";

/// SQL that is true for a message that is not `silent` (silent messages count as unread for nobody).
pub(super) const NOT_SILENT: &str = "COALESCE(json_extract(g.extra, '$.silent'), 0) = 0";

/// The message columns every query that returns messages selects, in [`message_from`]'s order (the sender's
/// [`USER_COLUMNS`] follow).
///
/// `+g.id`, not `g.id`: the column's TEXT affinity would otherwise keep SQLite from using the `messages_by_parent`
/// index, and every message read would scan the whole table (found by `npm run bench`, scenario ingest).
pub(super) const MESSAGE_COLUMNS: &str =
    "g.id, g.cid, g.text, g.extra, g.created_at, g.updated_at, g.deleted_at, \
    (SELECT COUNT(*) FROM messages r WHERE json_extract(r.extra, '$.parent_id') = +g.id), \
    (SELECT json_group_array(DISTINCT r.user_id) FROM messages r WHERE json_extract(r.extra, '$.parent_id') = +g.id), \
    g.version";

/// The channel columns, in [`channel_from`]'s order.
pub(super) const CHANNEL_COLUMNS: &str =
    "c.cid, c.type, c.id, c.data, c.created_by, c.created_at, c.updated_at, \
    c.last_message_at, (SELECT COUNT(*) FROM members m WHERE m.cid = c.cid), \
    EXISTS (SELECT 1 FROM members h WHERE h.cid = c.cid AND h.hidden = 1), c.version";

/// Fills in each message's reactions, with one query for all of them.
pub(super) fn attach_reactions(
    connection: &Connection,
    messages: &mut [MessageRecord],
) -> rusqlite::Result<()> {
    if messages.is_empty() {
        return Ok(());
    }
    let mut query = Query::default();
    let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    let sql = format!(
        "SELECT {REACTION_COLUMNS}, {USER_COLUMNS} FROM reactions x JOIN users u ON u.id = x.user_id
         WHERE x.message_id IN ({}) ORDER BY x.created_at, x.rowid",
        query.list(&ids)
    );
    // Cached: every stored message is read back with its reactions, always the one-id text.
    let mut statement = connection.prepare_cached(&sql)?;
    let rows =
        statement.query_map(rusqlite::params_from_iter(query.values.iter()), reaction_from)?;
    for reaction in rows {
        let reaction = reaction?;
        if let Some(message) = messages.iter_mut().find(|m| m.id == reaction.message_id) {
            message.reactions.push(reaction);
        }
    }
    Ok(())
}

/// The message `id` with its sender, inside `tx`.
pub(super) fn message_in(tx: &Connection, id: &str) -> rusqlite::Result<Option<MessageRecord>> {
    let sql = sqlite(&sql::select_message::<Sqlite>());
    let mut found: Vec<MessageRecord> =
        tx.prepare_cached(&sql)?.query_row([id], message_from).optional()?.into_iter().collect();
    attach_reactions(tx, &mut found)?;
    Ok(found.pop())
}

/// Creates a bare user row for an id that is named (as a member) before it ever connected.
pub(super) fn ensure_user(tx: &Connection, id: &str, now: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(&sqlite(sql::ENSURE_USER))?.execute(params![id, now])?;
    Ok(())
}

impl super::query_sql::Dialect for Query {
    const LIKE: &'static str = "LIKE";
    const TRUE: &'static str = "1";

    fn value(&mut self, value: &str) -> String {
        Query::value(self, value)
    }

    fn one_of(&mut self, expr: &str, values: &[String]) -> String {
        if values.is_empty() {
            return "FALSE".into();
        }
        format!("COALESCE({expr} IN ({}), FALSE)", self.list(values))
    }

    fn user_field(field: &str) -> String {
        format!("json_extract(u.fields, '$.{field}')")
    }

    fn user_flag(field: &str) -> String {
        format!("(COALESCE(json_extract(u.fields, '$.{field}'), 0) != 0)")
    }

    fn order(expr: &str, ascending: bool) -> String {
        format!("{expr} {}", if ascending { "ASC" } else { "DESC" })
    }

    fn json_text(column: &str, field: &str) -> String {
        format!("json_extract({column}, '$.{field}')")
    }

    fn json_true(column: &str, field: &str) -> String {
        format!("COALESCE(json_extract({column}, '$.{field}') = 1, FALSE)")
    }

    fn text_has(&mut self, words: &[String], prefix: bool) -> String {
        // FTS5: each word a quoted string (the words hold only letters and digits), `*` for a prefix.
        let mut query: Vec<String> = words.iter().map(|word| format!("\"{word}\"")).collect();
        if let (true, Some(last)) = (prefix, query.last_mut()) {
            last.push('*');
        }
        let query = self.value(&query.join(" "));
        format!("g.seq IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH {query})")
    }

    fn attachment_of(&mut self, kinds: &[String]) -> String {
        format!(
            "EXISTS (SELECT 1 FROM json_each(g.extra, '$.attachments') a \
             WHERE json_valid(a.value) AND json_extract(a.value, '$.type') IN ({}))",
            self.list(kinds)
        )
    }
}

/// Numbered SQL parameters collected while a query's text is built.
#[derive(Debug, Default)]
pub(super) struct Query {
    /// Parameter values; `?n` names `values[n - 1]`.
    pub(super) values: Vec<String>,
}

impl Query {
    /// Adds one value and returns its placeholder.
    pub(super) fn value(&mut self, value: &str) -> String {
        self.values.push(value.to_owned());
        format!("?{}", self.values.len())
    }

    /// Adds values and returns their comma-separated placeholders (`NULL`, matching nothing, for none).
    pub(super) fn list(&mut self, values: &[String]) -> String {
        if values.is_empty() {
            return "NULL".into();
        }
        values.iter().map(|value| self.value(value)).collect::<Vec<_>>().join(",")
    }
}

pub(super) fn read_of(
    tx: &rusqlite::Transaction<'_>,
    cid: &str,
    user_id: &str,
) -> rusqlite::Result<ReadRecord> {
    tx.query_row(&sqlite(sql::SELECT_READ), [cid, user_id], read_from)
}

/// SQLite's side of the statements both stores share ([`super::sql`]).
pub(crate) struct Sqlite;

impl super::sql::Dialect for Sqlite {
    type Query = Query;
    const CHANNEL_COLUMNS: &'static str = CHANNEL_COLUMNS;
    const MESSAGE_COLUMNS: &'static str = MESSAGE_COLUMNS;
    const THREAD_ONLY: &'static str = THREAD_ONLY;
    const NOT_SILENT: &'static str = NOT_SILENT;
    fn field_is_true(json: &str, name: &str) -> String {
        format!("json_extract({json}, '$.{name}') = 1")
    }
    fn with_text_field(json: &str, name: &str, value: &str) -> String {
        format!("json_set({json}, '$.{name}', {value})")
    }
    fn with_json_field(json: &str, name: &str, value: &str) -> String {
        format!("json_set({json}, '$.{name}', json({value}))")
    }
}
