//! The statements both stores run, written once. Placeholders are PostgreSQL's `$n`; SQLite runs a statement
//! through [`sqlite`], which writes them as its `?n` (a `$n` is a *named* parameter to SQLite, numbered by first
//! appearance, so `$2 … $1` would bind the wrong values). What the two write differently inside otherwise shared
//! statements (JSON access, the computed columns of a channel or message) each store says in its [`Dialect`]; the
//! statements that use it are functions of it; its JSON field access is the per-query builder's
//! ([`super::query_sql::Dialect::json_text`]), so each store writes that once. Statements only one store has (its group commit, its schema, the
//! other's locking and arrays) stay with that store.

/// What differs between the stores inside shared statements.
pub(super) trait Dialect {
    /// The store's builder of per-query SQL ([`super::query_sql`]), whose JSON access these statements use too.
    type Query: super::query_sql::Dialect;
    /// The channel columns of `channels c`, in `channel_from`'s order.
    const CHANNEL_COLUMNS: &'static str;
    /// The message columns of `messages g`, in `message_from`'s order (the sender's [`USER_COLUMNS`] follow).
    const MESSAGE_COLUMNS: &'static str;
    /// True for a reply of `messages g` shown only in its thread.
    const THREAD_ONLY: &'static str;
    /// True for a message of `messages g` that is not `silent`.
    const NOT_SILENT: &'static str;
    /// True when field `name` of the JSON object column `json` is `true`.
    fn field_is_true(json: &str, name: &str) -> String;
    /// The JSON object column `json` with field `name` set to the text `value`.
    fn with_text_field(json: &str, name: &str, value: &str) -> String;
    /// The JSON object column `json` with field `name` set to the JSON `value`.
    fn with_json_field(json: &str, name: &str, value: &str) -> String;
}

macro_rules! user_columns {
    () => {
        "u.id, u.role, u.fields, u.created_at, u.updated_at, u.last_active"
    };
}
macro_rules! reaction_columns {
    () => {
        "x.message_id, x.type, x.score, x.extra, x.created_at, x.updated_at"
    };
}

macro_rules! member_columns {
    () => {
        concat!("m.created_at, m.channel_role, m.hidden, ", user_columns!())
    };
}

/// The member columns of `members m JOIN users u`, in `member_from`'s order.
pub(super) const MEMBER_COLUMNS: &str = member_columns!();
/// The user columns of `users u`, in `user_from`'s order.
pub(super) const USER_COLUMNS: &str = user_columns!();
/// The reaction columns of `reactions x`, then the reacting user's [`USER_COLUMNS`], in `reaction_from`'s order.
pub(super) const REACTION_COLUMNS: &str = reaction_columns!();
/// The shared read columns of `reads r`, after [`USER_COLUMNS`] in `read_from`'s order.
macro_rules! shared_read_columns {
    () => {
        "COALESCE(r.shared_last_read, r.last_read), r.shared_last_read_message_id, r.shared_unread_messages"
    };
}

// Users.

/// One user by id.
pub(super) const SELECT_USER: &str =
    concat!("SELECT ", user_columns!(), " FROM users u WHERE u.id = $1");
macro_rules! returning_user {
    () => {
        " RETURNING id, role, fields, created_at, updated_at, last_active"
    };
}
/// A user written by the server side (`upsertUsers`): created, or their role (when given) and fields replaced;
/// gives the stored user ([`USER_COLUMNS`]' order; SQLite's `RETURNING` takes no table alias).
pub(super) const REPLACE_USER: &str = concat!(
    "INSERT INTO users AS u (id, role, fields, created_at, updated_at) VALUES ($1, COALESCE($2, 'user'), $3, $4, $4) \
     ON CONFLICT (id) DO UPDATE SET role = COALESCE($2, u.role), fields = $3, updated_at = $4",
    returning_user!()
);
/// A user made, unless the id exists; gives the stored user.
pub(super) const CREATE_USER: &str = concat!(
    "INSERT INTO users (id, role, fields, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) \
     ON CONFLICT (id) DO NOTHING",
    returning_user!()
);
/// A user's role and fields replaced; gives the stored user.
pub(super) const UPDATE_USER: &str = concat!(
    "UPDATE users SET role = $2, fields = $3, updated_at = $4 WHERE id = $1",
    returning_user!()
);
/// A connecting user written back: created, or their fields merged and `last_active` moved.
pub(super) const UPSERT_CONNECTING_USER: &str =
    "INSERT INTO users (id, role, fields, created_at, updated_at, last_active) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (id) DO UPDATE SET fields = $3, updated_at = $5, last_active = $6";
/// A user named (as a member or sender) before they ever connected: a bare row.
pub(super) const ENSURE_USER: &str =
    "INSERT INTO users (id, role, fields, created_at, updated_at) VALUES ($1, 'user', '{}', $2, $2) \
     ON CONFLICT (id) DO NOTHING";
/// A user counted active in a month.
pub(super) const RECORD_MONTHLY_ACTIVITY: &str =
    "INSERT INTO monthly_activity (month, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING";
/// Users active in a month.
pub(super) const COUNT_MONTHLY_ACTIVE: &str =
    "SELECT COUNT(*) FROM monthly_activity WHERE month = $1";

// Channels and members.

/// One channel by cid.
pub(super) fn select_channel<D: Dialect>() -> String {
    format!("SELECT {} FROM channels c WHERE c.cid = $1", D::CHANNEL_COLUMNS)
}
/// One channel by cid, with whether `$2` is a member of it.
pub(super) fn select_channel_for<D: Dialect>() -> String {
    format!(
        "SELECT {}, EXISTS (SELECT 1 FROM members WHERE cid = c.cid AND user_id = $2) FROM channels c \
         WHERE c.cid = $1",
        D::CHANNEL_COLUMNS
    )
}
/// A channel made, unless it exists.
pub(super) const INSERT_CHANNEL: &str =
    "INSERT INTO channels (cid, type, id, data, created_by, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT DO NOTHING";
/// A channel's data replaced (a new version).
pub(super) const UPDATE_CHANNEL_DATA: &str =
    "UPDATE channels SET data = $2, updated_at = $3, version = version + 1 WHERE cid = $1";
/// A channel truncated at `$2`: its `truncated_at` set, `updated_at` moved, a new version.
pub(super) fn truncate_channel<D: Dialect>() -> String {
    format!(
        "UPDATE channels SET data = {}, updated_at = $2, version = version + 1 WHERE cid = $1",
        D::with_text_field("data", "truncated_at", "$2")
    )
}
/// What goes with a channel besides its messages (gone before) and its row (gone after).
pub(super) const DELETE_CHANNEL_ROWS: [&str; 3] = [
    "DELETE FROM reads WHERE cid = $1",
    "DELETE FROM members WHERE cid = $1",
    "DELETE FROM files WHERE cid = $1",
];
/// A channel's `updated_at` moved and a new version taken (its members changed); gives the version.
pub(super) const TOUCH_CHANNEL: &str =
    "UPDATE channels SET updated_at = $2, version = version + 1 WHERE cid = $1 RETURNING version";
/// A new version of a channel taken (a member's role changed); gives it.
pub(super) const NEXT_CHANNEL_VERSION: &str =
    "UPDATE channels SET version = version + 1 WHERE cid = $1 RETURNING version";
/// When a channel was made.
pub(super) const CHANNEL_CREATED_AT: &str = "SELECT created_at FROM channels WHERE cid = $1";
/// A channel gone; gives the version its deletion takes.
pub(super) const DELETE_CHANNEL: &str = "DELETE FROM channels WHERE cid = $1 RETURNING version + 1";
/// Whether a user is a member of a channel.
pub(super) const IS_MEMBER: &str = "SELECT 1 FROM members WHERE cid = $1 AND user_id = $2";
/// A member added, unless they are one.
pub(super) const ADD_MEMBER: &str =
    "INSERT INTO members (cid, user_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING";
/// One member of a channel, with the user.
pub(super) const SELECT_MEMBER: &str = concat!(
    "SELECT ",
    member_columns!(),
    " FROM members m JOIN users u ON u.id = m.user_id WHERE m.cid = $1 AND m.user_id = $2"
);
/// A channel's members, with the users, oldest first.
pub(super) const SELECT_MEMBERS: &str = concat!(
    "SELECT ",
    member_columns!(),
    " FROM members m JOIN users u ON u.id = m.user_id WHERE m.cid = $1 ORDER BY m.created_at, m.user_id"
);
/// A hidden channel shown again to every member; gives who had hidden it.
pub(super) const SHOW_CHANNEL: &str =
    "UPDATE members SET hidden = FALSE WHERE cid = $1 AND hidden RETURNING user_id";
/// A member removed.
pub(super) const DELETE_MEMBER: &str = "DELETE FROM members WHERE cid = $1 AND user_id = $2";
/// The channels a user is a member of.
pub(super) const MEMBER_CHANNELS: &str = "SELECT cid FROM members WHERE user_id = $1 ORDER BY cid";

// Moderation.

/// A mute, block, ban or flag written (or written again).
pub(super) const UPSERT_RELATION: &str =
    "INSERT INTO moderation (kind, user_id, target, data, created_at, expires) VALUES ($1, $2, $3, $4, $5, $6) \
     ON CONFLICT (kind, user_id, target) DO UPDATE SET data = $4, created_at = $5, expires = $6";
/// A mute, block, ban or flag removed.
pub(super) const DELETE_RELATION: &str =
    "DELETE FROM moderation WHERE kind = $1 AND user_id = $2 AND target = $3";
/// What stops a sender: bans of `$1` here (`$2`) or everywhere, and who blocked `$1`, still in force at `$3`.
pub(super) const SENDER_MODERATION: &str =
    "SELECT kind, user_id, target, data, created_at, expires FROM moderation \
     WHERE ((kind = 'ban' AND user_id = $1 AND target IN ('*', $2)) OR (kind = 'block' AND target = $1)) \
     AND (expires IS NULL OR expires > $3)";

// Messages and reactions.

/// One message by id, with its sender.
pub(super) fn select_message<D: Dialect>() -> String {
    format!(
        "SELECT {}, {USER_COLUMNS} FROM messages g JOIN users u ON u.id = g.user_id WHERE g.id = $1",
        D::MESSAGE_COLUMNS
    )
}
/// A thread's replies, newest first, before the reply `$2` when it is given, at most `$3`.
pub(super) fn replies<D: Dialect>() -> String {
    format!(
        "SELECT {}, {USER_COLUMNS} FROM messages g JOIN users u ON u.id = g.user_id WHERE {} = $1 \
         AND (CAST($2 AS TEXT) IS NULL OR g.seq < (SELECT seq FROM messages WHERE id = CAST($2 AS TEXT))) \
         ORDER BY g.seq DESC LIMIT $3",
        D::MESSAGE_COLUMNS,
        field::<D>("g.extra", "parent_id")
    )
}
/// A channel's pinned messages whose pin has not expired at `$2`, newest pin first, at most `$3`.
pub(super) fn pinned_messages<D: Dialect>() -> String {
    format!(
        "SELECT {}, {USER_COLUMNS} FROM messages g JOIN users u ON u.id = g.user_id \
         WHERE g.cid = $1 AND {} AND g.deleted_at IS NULL AND COALESCE({} > $2, TRUE) ORDER BY {} DESC LIMIT $3",
        D::MESSAGE_COLUMNS,
        D::field_is_true("g.extra", "pinned"),
        field::<D>("g.extra", "pin_expires"),
        field::<D>("g.extra", "pinned_at")
    )
}
/// The quoted copy `$3` written into every message of channel `$1` that quotes message `$2`, their versions
/// raised.
pub(super) fn update_quotes<D: Dialect>() -> String {
    format!(
        "UPDATE messages SET extra = {}, version = version + 1 WHERE cid = $1 AND {} = $2",
        D::with_json_field("extra", "quoted_message", "$3"),
        field::<D>("extra", "quoted_message_id")
    )
}
/// Whether a message is in a channel.
pub(super) const MESSAGE_IN_CHANNEL: &str = "SELECT 1 FROM messages WHERE cid = $1 AND id = $2";
/// A message's text and fields replaced (not once deleted), its version raised.
pub(super) const UPDATE_MESSAGE: &str =
    "UPDATE messages SET text = $2, extra = $3, updated_at = $4, version = version + 1 \
     WHERE id = $1 AND deleted_at IS NULL";
/// A message marked deleted (the first time kept), its version raised.
pub(super) const SOFT_DELETE_MESSAGE: &str =
    "UPDATE messages SET deleted_at = COALESCE(deleted_at, $2), updated_at = $2, version = version + 1 \
     WHERE id = $1";
/// A message gone.
pub(super) const DELETE_MESSAGE: &str = "DELETE FROM messages WHERE id = $1";
/// A channel's messages gone.
pub(super) const DELETE_CHANNEL_MESSAGES: &str = "DELETE FROM messages WHERE cid = $1";
/// One reaction by message, user and type, with its user.
pub(super) const SELECT_REACTION: &str = concat!(
    "SELECT ",
    reaction_columns!(),
    ", ",
    user_columns!(),
    " FROM reactions x JOIN users u ON u.id = x.user_id WHERE x.message_id = $1 AND x.user_id = $2 AND x.type = $3"
);
/// A reaction written.
pub(super) const INSERT_REACTION: &str =
    "INSERT INTO reactions (message_id, user_id, type, score, extra, created_at, updated_at) \
     VALUES ($1, $2, $3, $4, $5, $6, $6)";
/// A user's reactions of one type to a message gone.
pub(super) const DELETE_REACTION: &str =
    "DELETE FROM reactions WHERE message_id = $1 AND user_id = $2 AND type = $3";
/// All of a user's reactions to a message gone (an `enforce_unique` reaction replaces them).
pub(super) const DELETE_USER_REACTIONS: &str =
    "DELETE FROM reactions WHERE message_id = $1 AND user_id = $2";

// Threads and files.

/// A thread's newest reply that is not deleted.
pub(super) fn latest_reply<D: Dialect>() -> String {
    format!(
        "SELECT id FROM messages WHERE {} = $1 AND deleted_at IS NULL ORDER BY seq DESC LIMIT 1",
        field::<D>("extra", "parent_id")
    )
}
/// Every user's read state in a thread.
pub(super) const THREAD_READS: &str =
    "SELECT user_id, last_read, last_read_message_id FROM thread_reads WHERE parent_id = $1 ORDER BY user_id";
/// A user's thread read up to reply `$4` at `$3`.
pub(super) const MARK_THREAD_READ: &str =
    "INSERT INTO thread_reads (parent_id, user_id, last_read, last_read_message_id) VALUES ($1, $2, $3, $4) \
     ON CONFLICT (parent_id, user_id) DO UPDATE SET last_read = $3, last_read_message_id = $4";
/// An uploaded file stored.
pub(super) const INSERT_FILE: &str =
    "INSERT INTO files (id, cid, user_id, kind, name, mime_type, size, created_at, bytes) \
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

// Reads.

/// A channel's newest message.
pub(super) const LAST_MESSAGE_ID: &str =
    "SELECT id FROM messages WHERE cid = $1 ORDER BY seq DESC LIMIT 1";
/// A message's place in its channel.
pub(super) const MESSAGE_SEQ: &str = "SELECT seq FROM messages WHERE cid = $1 AND id = $2";
/// The message just before a place in a channel.
pub(super) const MESSAGE_BEFORE: &str =
    "SELECT id, created_at FROM messages WHERE cid = $1 AND seq < $2 ORDER BY seq DESC LIMIT 1";
/// How many messages from a place on count as unread for a user (not theirs, not thread-only, not silent).
pub(super) fn count_unread_from<D: Dialect>() -> String {
    format!(
        "SELECT COUNT(*) FROM messages g WHERE g.cid = $1 AND g.seq >= $2 AND g.user_id != $3 AND NOT ({}) AND {}",
        D::THREAD_ONLY,
        D::NOT_SILENT
    )
}
/// A new member's read state: read as of joining.
pub(super) const ADD_READ: &str =
    "INSERT INTO reads (cid, user_id, last_read, shared_last_read) VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING";
/// The channels where a user has unread messages.
pub(super) const UNREAD_CHANNEL_IDS: &str =
    "SELECT cid FROM reads WHERE user_id = $1 AND unread_messages > 0 ORDER BY cid";
/// A user's unread messages and channels with unread messages.
pub(super) const UNREAD_TOTALS: &str =
    "SELECT CAST(COALESCE(SUM(unread_messages), 0) AS BIGINT), COUNT(*) FILTER (WHERE unread_messages > 0) \
     FROM reads WHERE user_id = $1";
/// A user's own read of a channel: read up to `$4` at `$3`.
pub(super) const MARK_READ: &str =
    "INSERT INTO reads (cid, user_id, last_read, last_read_message_id, unread_messages, shared_last_read) \
     VALUES ($1, $2, $3, $4, 0, $3) \
     ON CONFLICT (cid, user_id) DO UPDATE SET last_read = $3, last_read_message_id = $4, unread_messages = 0";
/// The read others see, moved with the user's own (read receipts on).
pub(super) const MARK_SHARED_READ: &str =
    "UPDATE reads SET shared_last_read = $3, shared_last_read_message_id = $4, shared_unread_messages = 0 \
     WHERE cid = $1 AND user_id = $2";
/// A user's own read set back (marked unread).
pub(super) const SET_READ: &str =
    "UPDATE reads SET last_read = $3, last_read_message_id = $4, unread_messages = $5 WHERE cid = $1 AND user_id = $2";
/// Every channel of a user read.
pub(super) const MARK_ALL_READ: &str =
    "UPDATE reads SET last_read = $2, unread_messages = 0, \
     last_read_message_id = (SELECT id FROM messages m WHERE m.cid = reads.cid ORDER BY seq DESC LIMIT 1) \
     WHERE user_id = $1";
/// The reads others see of every channel of a user, moved with the user's own.
pub(super) const MARK_ALL_SHARED_READ: &str =
    "UPDATE reads SET shared_last_read = last_read, shared_last_read_message_id = last_read_message_id, \
     shared_unread_messages = 0 WHERE user_id = $1";
/// A user's channels with unread messages.
pub(super) const UNREAD_CHANNELS: &str =
    "SELECT cid, unread_messages, last_read FROM reads WHERE user_id = $1 AND unread_messages > 0 ORDER BY cid";
/// No one has unread messages in a channel (truncated).
pub(super) const CLEAR_CHANNEL_UNREAD: &str =
    "UPDATE reads SET unread_messages = 0, shared_unread_messages = 0 WHERE cid = $1";
/// A user's read state of a channel, with the user.
pub(super) const SELECT_READ: &str = concat!(
    "SELECT r.last_read, r.last_read_message_id, r.unread_messages, ",
    user_columns!(),
    ", ",
    shared_read_columns!(),
    " FROM reads r JOIN users u ON u.id = r.user_id WHERE r.cid = $1 AND r.user_id = $2"
);
/// Every read state of a channel, with the users.
pub(super) const SELECT_READS: &str = concat!(
    "SELECT r.last_read, r.last_read_message_id, r.unread_messages, ",
    user_columns!(),
    ", ",
    shared_read_columns!(),
    " FROM reads r JOIN users u ON u.id = r.user_id WHERE r.cid = $1 ORDER BY r.user_id"
);
/// A member's read state gone.
pub(super) const DELETE_READ: &str = "DELETE FROM reads WHERE cid = $1 AND user_id = $2";

/// Field `name` of the JSON object column `json`, as text (`NULL` when absent).
fn field<D: Dialect>(json: &str, name: &str) -> String {
    <D::Query as super::query_sql::Dialect>::json_text(json, name)
}

/// `sql` with SQLite's placeholders: each `$n` written `?n`.
pub(super) fn sqlite(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    while let Some(char) = chars.next() {
        let placeholder = char == '$' && chars.peek().is_some_and(char::is_ascii_digit);
        out.push(if placeholder { '?' } else { char });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite_rows::Sqlite;

    /// Every statement above, as SQLite runs it.
    fn all() -> Vec<String> {
        let fixed = [
            SELECT_USER,
            ENSURE_USER,
            REPLACE_USER,
            CREATE_USER,
            UPDATE_USER,
            RECORD_MONTHLY_ACTIVITY,
            INSERT_CHANNEL,
            ADD_MEMBER,
            SELECT_MEMBER,
            SELECT_MEMBERS,
            SHOW_CHANNEL,
            ADD_READ,
            UNREAD_CHANNEL_IDS,
            UNREAD_TOTALS,
            UPSERT_CONNECTING_USER,
            COUNT_MONTHLY_ACTIVE,
            UPDATE_CHANNEL_DATA,
            TOUCH_CHANNEL,
            NEXT_CHANNEL_VERSION,
            CHANNEL_CREATED_AT,
            DELETE_CHANNEL,
            IS_MEMBER,
            DELETE_MEMBER,
            MEMBER_CHANNELS,
            UPSERT_RELATION,
            DELETE_RELATION,
            SENDER_MODERATION,
            MESSAGE_IN_CHANNEL,
            UPDATE_MESSAGE,
            SOFT_DELETE_MESSAGE,
            DELETE_MESSAGE,
            DELETE_CHANNEL_MESSAGES,
            SELECT_REACTION,
            INSERT_REACTION,
            DELETE_REACTION,
            DELETE_USER_REACTIONS,
            LAST_MESSAGE_ID,
            MESSAGE_SEQ,
            MESSAGE_BEFORE,
            MARK_READ,
            MARK_SHARED_READ,
            SET_READ,
            MARK_ALL_READ,
            MARK_ALL_SHARED_READ,
            UNREAD_CHANNELS,
            CLEAR_CHANNEL_UNREAD,
            DELETE_READ,
            SELECT_READ,
            SELECT_READS,
            THREAD_READS,
            MARK_THREAD_READ,
            INSERT_FILE,
        ];
        let mut all: Vec<String> =
            fixed.into_iter().chain(DELETE_CHANNEL_ROWS).map(str::to_owned).collect();
        all.extend([
            select_channel::<Sqlite>(),
            select_channel_for::<Sqlite>(),
            select_message::<Sqlite>(),
            replies::<Sqlite>(),
            latest_reply::<Sqlite>(),
            truncate_channel::<Sqlite>(),
            update_quotes::<Sqlite>(),
            pinned_messages::<Sqlite>(),
            count_unread_from::<Sqlite>(),
        ]);
        all
    }

    #[test]
    fn placeholders_are_written_for_sqlite_and_json_paths_are_left_alone() {
        assert_eq!(
            sqlite("SELECT json_extract(extra, '$.a') FROM t WHERE b = $2 AND c = $10 AND d = $1"),
            "SELECT json_extract(extra, '$.a') FROM t WHERE b = ?2 AND c = ?10 AND d = ?1"
        );
    }

    #[test]
    fn every_shared_statement_prepares_on_the_sqlite_schema_with_its_numbered_parameters() {
        let connection = rusqlite::Connection::open_in_memory().unwrap();
        for step in crate::store::sqlite_schema::MIGRATIONS {
            connection.execute_batch(step).unwrap();
        }
        for text in all() {
            let statement = connection
                .prepare(&sqlite(&text))
                .unwrap_or_else(|error| panic!("{text}: {error}"));
            let count = statement.parameter_count();
            let highest = (1..=9).rev().find(|n| text.contains(&format!("${n}"))).unwrap_or(0);
            assert_eq!(count, highest, "{text}");
            for index in 1..=count {
                assert_eq!(
                    statement.parameter_name(index),
                    Some(format!("?{index}").as_str()),
                    "{text}"
                );
            }
        }
    }
}
