//! How PostgreSQL rows become records, and the schema they come from: the migrations, the column lists every
//! query selects, the readers that turn a row into a record (written once for both stores in [`super::rows`]),
//! and the helpers queries share (reactions attached to messages, one message or read by key, bare users named
//! before they connect, numbered parameters).
//!
//! The tables are SQLite's ([`super::sqlite_schema`]) with JSON in `JSONB` and every text column in the `"C"`
//! collation, so ordering is by code point on every database whatever its locale (as in SQLite).

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

use super::postgres_prepared::Prepared;
pub(super) use super::rows::{channel_from, message_from, reaction_from, read_from, user_from};
use super::sql::{self, REACTION_COLUMNS, USER_COLUMNS};
use super::{MessageRecord, ReadRecord, StoreError};

/// Schema steps, applied in order; `schema_version` records how many ran. Append, never edit.
pub(super) const MIGRATIONS: &[&str] = &[
    r#"
    CREATE TABLE users (
        id TEXT COLLATE "C" PRIMARY KEY,
        role TEXT COLLATE "C" NOT NULL DEFAULT 'user',
        fields JSONB NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        last_active TEXT COLLATE "C"
    );
    CREATE TABLE monthly_activity (
        month TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (month, user_id)
    );
    CREATE TABLE channels (
        cid TEXT COLLATE "C" PRIMARY KEY,
        type TEXT COLLATE "C" NOT NULL,
        id TEXT COLLATE "C" NOT NULL,
        data JSONB NOT NULL,
        created_by TEXT COLLATE "C" NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        last_message_at TEXT COLLATE "C"
    );
    CREATE TABLE members (
        cid TEXT COLLATE "C" NOT NULL REFERENCES channels (cid),
        user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
        created_at TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (cid, user_id)
    );
    CREATE INDEX members_by_user ON members (user_id);
    CREATE TABLE messages (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT COLLATE "C" NOT NULL UNIQUE,
        cid TEXT COLLATE "C" NOT NULL REFERENCES channels (cid),
        user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
        text TEXT NOT NULL,
        extra JSONB NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C",
        deleted_at TEXT COLLATE "C"
    );
    CREATE INDEX messages_by_channel ON messages (cid, seq);
    CREATE INDEX messages_by_parent ON messages ((extra->>'parent_id'), seq);
    CREATE TABLE reads (
        cid TEXT COLLATE "C" NOT NULL REFERENCES channels (cid),
        user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
        last_read TEXT COLLATE "C" NOT NULL,
        last_read_message_id TEXT COLLATE "C",
        unread_messages BIGINT NOT NULL DEFAULT 0,
        shared_last_read TEXT COLLATE "C",
        shared_last_read_message_id TEXT COLLATE "C",
        shared_unread_messages BIGINT NOT NULL DEFAULT 0,
        PRIMARY KEY (cid, user_id)
    );
    CREATE INDEX reads_by_user ON reads (user_id);
    CREATE TABLE reactions (
        seq BIGINT GENERATED ALWAYS AS IDENTITY,
        message_id TEXT COLLATE "C" NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        user_id TEXT COLLATE "C" NOT NULL REFERENCES users (id),
        type TEXT COLLATE "C" NOT NULL,
        score BIGINT NOT NULL,
        extra JSONB NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        updated_at TEXT COLLATE "C" NOT NULL,
        PRIMARY KEY (message_id, user_id, type)
    );"#,
    // Channel management: moderators, and channels a member hid (found fast when a message unhides them).
    r#"
    ALTER TABLE members ADD COLUMN channel_role TEXT COLLATE "C" NOT NULL DEFAULT 'channel_member';
    ALTER TABLE members ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;
    CREATE INDEX members_hidden ON members (cid) WHERE hidden;"#,
    // Moderation: mutes, channel mutes, blocks, flags and bans, one row each (`Relation`).
    r#"
    CREATE TABLE moderation (
        kind TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        target TEXT COLLATE "C" NOT NULL,
        data JSONB NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        expires TEXT COLLATE "C",
        PRIMARY KEY (kind, user_id, target)
    );
    CREATE INDEX moderation_by_target ON moderation (kind, target);"#,
    // Uploads: each file's bytes with who sent it where (`FileRecord`), found by its unguessable id.
    r#"
    CREATE TABLE files (
        id TEXT COLLATE "C" PRIMARY KEY,
        cid TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        kind TEXT COLLATE "C" NOT NULL,
        name TEXT NOT NULL,
        mime_type TEXT NOT NULL,
        size BIGINT NOT NULL,
        created_at TEXT COLLATE "C" NOT NULL,
        bytes BYTEA NOT NULL
    );
    CREATE INDEX files_by_channel ON files (cid);"#,
    // Search: message text by word (`GET /search`), the expression `text_has` matches.
    "CREATE INDEX messages_text_search ON messages USING GIN (to_tsvector('simple', text));",
    // Quotes: the messages quoting one, found when it changes.
    "CREATE INDEX messages_by_quote ON messages (cid, (extra->>'quoted_message_id'))
        WHERE (extra->>'quoted_message_id') IS NOT NULL;",
    // Threads: each user's read state in a thread (`markRead({thread_id})`), apart from the channel's.
    r#"
    CREATE TABLE thread_reads (
        parent_id TEXT COLLATE "C" NOT NULL,
        user_id TEXT COLLATE "C" NOT NULL,
        last_read TEXT COLLATE "C" NOT NULL,
        last_read_message_id TEXT COLLATE "C",
        PRIMARY KEY (parent_id, user_id)
    );"#,
    // Each message row's version: one more on every change, so that no node delivers an older state of a message
    // after a newer one.
    "ALTER TABLE messages ADD COLUMN version BIGINT NOT NULL DEFAULT 0;",
    // Each channel's version: one more on every change of its data or members, taken with the change, so that no
    // node delivers an older state of the channel or of a member after a newer one.
    "ALTER TABLE channels ADD COLUMN version BIGINT NOT NULL DEFAULT 0;",
];

/// A reply shown only in its thread: it has a parent and is not also shown in the channel.
pub(super) const THREAD_ONLY: &str =
    "g.extra->>'parent_id' IS NOT NULL AND COALESCE(g.extra->'show_in_channel' NOT IN ('false', '0', 'null'), false) = false";

/// SQL that is true for a message that is not `silent` (silent messages count as unread for nobody).
pub(super) const NOT_SILENT: &str = "(g.extra->>'silent') IS DISTINCT FROM 'true'";

/// The message columns every query that returns messages selects, in [`message_from`]'s order (the sender's
/// [`USER_COLUMNS`] follow): reply count and thread participants (in the order they first replied) included.
/// `COLLATE "default"`: ids are in the "C" collation and `messages_by_parent` in the database's default; equality
/// is the same in both, and only a comparison in the index's collation can use it (without, every message
/// returned scanned the whole table twice).
pub(super) const MESSAGE_COLUMNS: &str =
    "g.id, g.cid, g.text, g.extra, g.created_at, g.updated_at, g.deleted_at, \
    (SELECT COUNT(*) FROM messages r WHERE r.extra->>'parent_id' = g.id COLLATE \"default\"), \
    ARRAY(SELECT r.user_id FROM messages r WHERE r.extra->>'parent_id' = g.id COLLATE \"default\" \
        GROUP BY r.user_id ORDER BY MIN(r.seq)), \
    g.version";

/// The channel columns in [`channel_from`]'s order, with `$member_count` as the member count's column.
macro_rules! channel_columns {
    ($member_count:literal) => {
        concat!(
            "c.cid, c.type, c.id, c.data, c.created_by, c.created_at, c.updated_at, c.last_message_at, ",
            $member_count,
            ", EXISTS (SELECT 1 FROM members h WHERE h.cid = c.cid AND h.hidden), c.version"
        )
    };
}

/// The channel columns, in [`channel_from`]'s order.
pub(super) const CHANNEL_COLUMNS: &str =
    channel_columns!("(SELECT COUNT(*) FROM members m WHERE m.cid = c.cid)");

/// [`CHANNEL_COLUMNS`] for reads that never show the channel (a send's checks): the member count, which reads
/// every membership of the channel, is not counted (0).
pub(super) const CHANNEL_COLUMNS_UNCOUNTED: &str = channel_columns!("0::BIGINT");

/// Reads every row with `read`.
pub(super) fn all<T>(
    rows: Vec<Row>,
    read: impl Fn(&Row) -> Result<T, tokio_postgres::Error>,
) -> Result<Vec<T>, StoreError> {
    Ok(rows.iter().map(read).collect::<Result<_, _>>()?)
}

/// Fills in each message's reactions, with one query for all of them.
pub(super) async fn attach_reactions(
    client: &impl GenericClient,
    messages: &mut [MessageRecord],
) -> Result<(), StoreError> {
    if messages.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = messages.iter().map(|m| m.id.clone()).collect();
    let sql = format!(
        "SELECT {REACTION_COLUMNS}, {USER_COLUMNS} FROM reactions x JOIN users u ON u.id = x.user_id
         WHERE x.message_id = ANY($1::text[]) ORDER BY x.created_at, x.seq"
    );
    for row in client.query_prepared(&sql, &[&ids]).await? {
        let reaction = reaction_from(&row)?;
        if let Some(message) = messages.iter_mut().find(|m| m.id == reaction.message_id) {
            message.reactions.push(reaction);
        }
    }
    Ok(())
}

/// The message `id` with its sender and reactions.
pub(super) async fn message_in(
    client: &impl GenericClient,
    id: &str,
) -> Result<Option<MessageRecord>, StoreError> {
    let sql = sql::select_message::<Postgres>();
    let mut found = match client.query_opt_prepared(&sql, &[&id]).await? {
        Some(row) => vec![message_from(&row)?],
        None => return Ok(None),
    };
    attach_reactions(client, &mut found).await?;
    Ok(found.pop())
}

/// The read state of `user_id` in `cid`.
pub(super) async fn read_of(
    client: &impl GenericClient,
    cid: &str,
    user_id: &str,
) -> Result<ReadRecord, StoreError> {
    Ok(read_from(&client.query_one_prepared(sql::SELECT_READ, &[&cid, &user_id]).await?)?)
}

/// Creates a bare user row for an id that is named (as a member or sender) before it ever connected.
pub(super) async fn ensure_user(
    client: &impl GenericClient,
    id: &str,
    now: &str,
) -> Result<(), StoreError> {
    client.execute_prepared(sql::ENSURE_USER, &[&id, &now]).await?;
    Ok(())
}

/// Numbered SQL parameters collected while a query's text is built.
#[derive(Default)]
pub(super) struct Params {
    /// `$n` names `values[n - 1]`.
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Params {
    /// Adds one text value and returns its placeholder.
    pub(super) fn value(&mut self, value: &str) -> String {
        self.values.push(Box::new(value.to_owned()));
        format!("${}::text", self.values.len())
    }

    /// Adds a list of text values and returns its placeholder, for `= ANY(...)`.
    pub(super) fn list(&mut self, values: &[String]) -> String {
        self.values.push(Box::new(values.to_vec()));
        format!("${}::text[]", self.values.len())
    }

    /// The values, as the driver takes them.
    pub(super) fn refs(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values.iter().map(|value| value.as_ref() as &(dyn ToSql + Sync)).collect()
    }
}

impl super::query_sql::Dialect for Params {
    const LIKE: &'static str = "ILIKE";
    const TRUE: &'static str = "TRUE";

    fn value(&mut self, value: &str) -> String {
        Params::value(self, value)
    }

    fn one_of(&mut self, expr: &str, values: &[String]) -> String {
        format!("COALESCE({expr} = ANY({}), FALSE)", self.list(values))
    }

    fn user_field(field: &str) -> String {
        format!("(u.fields->>'{field}')")
    }

    fn user_flag(field: &str) -> String {
        format!("COALESCE(u.fields->'{field}' = 'true'::jsonb, FALSE)")
    }

    fn order(expr: &str, ascending: bool) -> String {
        let direction = if ascending { "ASC NULLS FIRST" } else { "DESC NULLS LAST" };
        format!("{expr} COLLATE \"C\" {direction}")
    }

    fn json_text(column: &str, field: &str) -> String {
        format!("({column}->>'{field}')")
    }

    fn json_true(column: &str, field: &str) -> String {
        format!("COALESCE({column}->'{field}' = 'true'::jsonb, FALSE)")
    }

    fn text_has(&mut self, words: &[String], prefix: bool) -> String {
        // A tsquery of the words joined by `&` (they hold only letters and digits), `:*` for a prefix; the
        // expression is the one `messages_text_search` indexes.
        let mut query = words.join(" & ");
        if prefix {
            query.push_str(":*");
        }
        let query = self.value(&query);
        format!("to_tsvector('simple', g.text) @@ to_tsquery('simple', {query})")
    }

    fn attachment_of(&mut self, kinds: &[String]) -> String {
        format!(
            "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE WHEN jsonb_typeof(g.extra->'attachments') = 'array' \
             THEN g.extra->'attachments' ELSE '[]'::jsonb END) a WHERE (a->>'type') = ANY({}))",
            self.list(kinds)
        )
    }
}

/// PostgreSQL's side of the statements both stores share ([`super::sql`]).
pub(super) struct Postgres;

impl super::sql::Dialect for Postgres {
    type Query = Params;
    const CHANNEL_COLUMNS: &'static str = CHANNEL_COLUMNS;
    const MESSAGE_COLUMNS: &'static str = MESSAGE_COLUMNS;
    const THREAD_ONLY: &'static str = THREAD_ONLY;
    const NOT_SILENT: &'static str = NOT_SILENT;
    fn field_is_true(json: &str, name: &str) -> String {
        format!("({json}->>'{name}') = 'true'")
    }
    fn with_text_field(json: &str, name: &str, value: &str) -> String {
        format!("jsonb_set({json}, '{{{name}}}', to_jsonb(CAST({value} AS TEXT)))")
    }
    fn with_json_field(json: &str, name: &str, value: &str) -> String {
        format!("jsonb_set({json}, '{{{name}}}', {value})")
    }
}
