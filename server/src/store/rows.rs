//! How a row becomes a record, written once for both stores: the readers below take any row that can give its
//! columns as the few kinds the schema has ([`Columns`]), which SQLite's and PostgreSQL's rows each implement
//! over their own types (JSON as text or `JSONB`, a list as a JSON array or a `text[]`, flags as integers or
//! booleans). The column lists that feed them are each store's (`sqlite_rows`, `postgres_rows`), in the order
//! documented on each reader.

use serde_json::{Map, Value};

use super::{
    ChannelRecord, MemberRecord, MessageRecord, ReactionRecord, ReadRecord, Relation, SharedRead,
};
use crate::store::records::StoredUser;

/// A row's columns as the kinds the schema stores; `at` counts from 0.
pub(super) trait Columns {
    /// The driver's error.
    type Error;
    /// A text column.
    fn text(&self, at: usize) -> Result<String, Self::Error>;
    /// A text column that may be `NULL`.
    fn maybe_text(&self, at: usize) -> Result<Option<String>, Self::Error>;
    /// A JSON object column; anything else reads as empty rather than failing the whole query.
    fn object(&self, at: usize) -> Result<Map<String, Value>, Self::Error>;
    /// A list of texts (a thread's participants).
    fn texts(&self, at: usize) -> Result<Vec<String>, Self::Error>;
    /// An integer column.
    fn integer(&self, at: usize) -> Result<i64, Self::Error>;
    /// A count or version: an integer column, never negative.
    fn count(&self, at: usize) -> Result<u64, Self::Error> {
        Ok(u64::try_from(self.integer(at)?).unwrap_or(0))
    }
    /// A flag column.
    fn flag(&self, at: usize) -> Result<bool, Self::Error>;
}

/// Reads a [`StoredUser`] from `row`, starting at column `at`: id, role, fields, created, updated, last active.
pub(super) fn user_from<R: Columns>(row: &R, at: usize) -> Result<StoredUser, R::Error> {
    Ok(StoredUser {
        id: row.text(at)?,
        role: row.text(at + 1)?,
        fields: row.object(at + 2)?,
        created_at: row.text(at + 3)?,
        updated_at: row.text(at + 4)?,
        last_active: row.maybe_text(at + 5)?,
    })
}

/// Reads a [`MemberRecord`]: joined, channel role, hidden, then the user's columns.
pub(super) fn member_from<R: Columns>(row: &R) -> Result<MemberRecord, R::Error> {
    Ok(MemberRecord {
        created_at: row.text(0)?,
        channel_role: row.text(1)?,
        hidden: row.flag(2)?,
        user: user_from(row, 3)?,
    })
}

/// Reads a [`ChannelRecord`]: cid, type, id, data, created by, created, updated, last message, member count,
/// whether a member hid it.
pub(super) fn channel_from<R: Columns>(row: &R) -> Result<ChannelRecord, R::Error> {
    Ok(ChannelRecord {
        cid: row.text(0)?,
        kind: row.text(1)?,
        id: row.text(2)?,
        data: row.object(3)?,
        created_by: row.text(4)?,
        created_at: row.text(5)?,
        updated_at: row.text(6)?,
        last_message_at: row.maybe_text(7)?,
        member_count: row.count(8)?,
        any_hidden: row.flag(9)?,
        version: row.count(10)?,
    })
}

/// Reads a [`MessageRecord`] without its reactions: id, cid, text, extra, created, updated, deleted, reply
/// count, thread participants, version, then the sender's user columns.
pub(super) fn message_from<R: Columns>(row: &R) -> Result<MessageRecord, R::Error> {
    Ok(MessageRecord {
        id: row.text(0)?,
        cid: row.text(1)?,
        text: row.text(2)?,
        extra: row.object(3)?,
        created_at: row.text(4)?,
        updated_at: row.maybe_text(5)?,
        deleted_at: row.maybe_text(6)?,
        reply_count: row.count(7)?,
        thread_participants: row.texts(8)?,
        version: row.count(9)?,
        user: user_from(row, 10)?,
        reactions: Vec::new(),
    })
}

/// Reads a [`ReactionRecord`]: message id, type, score, extra, created, updated, then the user's columns.
pub(super) fn reaction_from<R: Columns>(row: &R) -> Result<ReactionRecord, R::Error> {
    Ok(ReactionRecord {
        message_id: row.text(0)?,
        kind: row.text(1)?,
        score: row.integer(2)?,
        extra: row.object(3)?,
        created_at: row.text(4)?,
        updated_at: row.text(5)?,
        user: user_from(row, 6)?,
    })
}

/// Reads a [`ReadRecord`]: own last read, its message and unread count, the user's columns, then the shared
/// state's three.
pub(super) fn read_from<R: Columns>(row: &R) -> Result<ReadRecord, R::Error> {
    Ok(ReadRecord {
        last_read: row.text(0)?,
        last_read_message_id: row.maybe_text(1)?,
        unread_messages: row.count(2)?,
        user: user_from(row, 3)?,
        shared: SharedRead {
            last_read: row.text(9)?,
            last_read_message_id: row.maybe_text(10)?,
            unread_messages: row.count(11)?,
        },
    })
}

/// Reads a [`Relation`] from a `moderation` row: kind, user, target, data, created, expires.
pub(super) fn relation_from<R: Columns>(row: &R) -> Result<Relation, R::Error> {
    Ok(Relation {
        kind: row.text(0)?,
        user_id: row.text(1)?,
        target: row.text(2)?,
        data: row.object(3)?,
        created_at: row.text(4)?,
        expires: row.maybe_text(5)?,
    })
}

impl Columns for rusqlite::Row<'_> {
    type Error = rusqlite::Error;
    fn text(&self, at: usize) -> rusqlite::Result<String> {
        self.get(at)
    }
    fn maybe_text(&self, at: usize) -> rusqlite::Result<Option<String>> {
        self.get(at)
    }
    /// JSON stored as text.
    fn object(&self, at: usize) -> rusqlite::Result<Map<String, Value>> {
        Ok(serde_json::from_str(&self.get::<_, String>(at)?).unwrap_or_default())
    }
    /// A JSON array stored as text.
    fn texts(&self, at: usize) -> rusqlite::Result<Vec<String>> {
        Ok(serde_json::from_str(&self.get::<_, String>(at)?).unwrap_or_default())
    }
    fn integer(&self, at: usize) -> rusqlite::Result<i64> {
        self.get(at)
    }
    /// An integer, 0 or 1.
    fn flag(&self, at: usize) -> rusqlite::Result<bool> {
        self.get(at)
    }
}

impl Columns for tokio_postgres::Row {
    type Error = tokio_postgres::Error;
    fn text(&self, at: usize) -> Result<String, Self::Error> {
        self.try_get(at)
    }
    fn maybe_text(&self, at: usize) -> Result<Option<String>, Self::Error> {
        self.try_get(at)
    }
    /// `JSONB`.
    fn object(&self, at: usize) -> Result<Map<String, Value>, Self::Error> {
        Ok(match self.try_get(at)? {
            Value::Object(map) => map,
            _ => Map::new(),
        })
    }
    /// A `text[]`.
    fn texts(&self, at: usize) -> Result<Vec<String>, Self::Error> {
        self.try_get(at)
    }
    /// A `BIGINT`.
    fn integer(&self, at: usize) -> Result<i64, Self::Error> {
        self.try_get(at)
    }
    fn flag(&self, at: usize) -> Result<bool, Self::Error> {
        self.try_get(at)
    }
}
