//! Persistence behind a narrow trait, so the handlers never see SQL. [`SqliteStore`] is the embedded default (one
//! process per file); [`PostgresStore`] serves several nodes sharing one database. [`open`] picks one from `--db`.

mod postgres;
mod postgres_channels;
mod postgres_messages;
mod postgres_rows;
mod postgres_users;
mod query_sql;
mod sqlite;
mod sqlite_rows;
mod sqlite_schema;
mod sqlite_writes;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// `db` as it may be logged: a URL's password left out.
pub fn without_password(db: &str) -> String {
    match (db.find("://"), db.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &db[..scheme], &db[at..]),
        _ => db.to_owned(),
    }
}

/// Opens the store `--db` names: a `postgres://` (or `postgresql://`) URL, or else a SQLite file path.
pub fn open(db: &str) -> Result<Arc<dyn Store>, StoreError> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(db)?))
    } else {
        Ok(Arc::new(SqliteStore::open(std::path::Path::new(db))?))
    }
}

use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Map, Value};

use crate::users::StoredUser;

/// A store failure; handlers turn it into an internal error (the cause is logged, never sent).
#[derive(Debug, Clone)]
pub enum StoreError {
    /// SQLite refused or failed a statement.
    Sqlite(Arc<rusqlite::Error>),
    /// PostgreSQL refused or failed a statement, or the connection to it broke.
    Postgres(Arc<tokio_postgres::Error>),
    /// No database connection could be had in time (the database is down or every pooled connection is busy).
    Unavailable(String),
    /// Another server process holds the SQLite database (one process per file).
    Locked(PathBuf),
    /// The lock file next to the SQLite database could not be opened or locked.
    LockFile(PathBuf, Arc<std::io::Error>),
    /// A stored JSON value could not be read back.
    Corrupt(Arc<serde_json::Error>),
    /// A queued message was not written by its group commit (a bug; never expected).
    LostFromGroupCommit,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(error) => write!(f, "sqlite: {error}"),
            StoreError::Postgres(error) => write!(f, "postgres: {error}"),
            StoreError::Unavailable(why) => write!(f, "database unavailable: {why}"),
            StoreError::Locked(path) => write!(
                f,
                "another server process is using {}: one process per database \
                 (run several nodes on PostgreSQL instead)",
                path.display()
            ),
            StoreError::LockFile(path, error) => {
                write!(f, "cannot lock {}: {error}", path.display())
            }
            StoreError::Corrupt(error) => write!(f, "stored JSON unreadable: {error}"),
            StoreError::LostFromGroupCommit => write!(f, "message lost from its group commit"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sqlite(Arc::new(error))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        if error.is_closed() {
            return StoreError::Unavailable(error.to_string());
        }
        StoreError::Postgres(Arc::new(error))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Corrupt(Arc::new(error))
    }
}

/// What the server keeps. Methods block; async callers run them on the blocking pool.
pub trait Store: Send + Sync + 'static {
    /// Creates the user or merges `fields` into it (see [`crate::users::merge_fields`]), marks it active at `now`
    /// in `month` (`"YYYY-MM"`), and returns the stored result.
    fn connect_user(
        &self,
        id: &str,
        fields: Map<String, Value>,
        now: &str,
        month: &str,
    ) -> Result<StoredUser, StoreError>;

    /// How many distinct users connected in `month` (`"YYYY-MM"`).
    fn monthly_active_users(&self, month: &str) -> Result<u64, StoreError>;

    /// A user, if known.
    fn user(&self, id: &str) -> Result<Option<StoredUser>, StoreError>;

    /// Server-side upsert: each user's fields are replaced (not merged); `role` is set when given.
    fn replace_users(
        &self,
        users: Vec<UserReplace>,
        now: &str,
    ) -> Result<Vec<StoredUser>, StoreError>;

    /// Changes stored users in one transaction: for each id, `change` gets the stored user (`None` if unknown)
    /// and returns the user to write, or refuses with a reason; one refusal writes nothing. Concurrent updates
    /// of one user never lose each other's fields.
    fn update_users(
        &self,
        ids: &[String],
        now: &str,
        change: &mut dyn FnMut(Option<StoredUser>) -> Result<StoredUser, String>,
    ) -> Result<Result<Vec<StoredUser>, String>, StoreError>;

    /// Creates a user that must not exist yet; `None` when the id is taken (nothing is changed then).
    fn create_user(
        &self,
        id: &str,
        role: &str,
        fields: Map<String, Value>,
        now: &str,
    ) -> Result<Option<StoredUser>, StoreError>;

    /// Users matching `query`, in its order, one page.
    fn query_users(&self, query: &UserQuery) -> Result<Vec<StoredUser>, StoreError>;

    /// The replies to `parent_id`, oldest first: the newest `limit` of those older than `id_lt`.
    fn replies(
        &self,
        parent_id: &str,
        limit: usize,
        id_lt: Option<&str>,
    ) -> Result<Vec<MessageRecord>, StoreError>;

    /// Adds or replaces a reaction; returns it, and whether it replaced one (same type, or any with `unique`).
    fn send_reaction(
        &self,
        reaction: NewReaction,
        now: &str,
    ) -> Result<(ReactionRecord, bool), StoreError>;

    /// Removes `user_id`'s reaction of `kind` to `message_id`; returns it if there was one.
    fn delete_reaction(
        &self,
        message_id: &str,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<ReactionRecord>, StoreError>;

    /// The message `id`, if it exists.
    fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError>;

    /// Replaces the text and other fields of message `id` (not a deleted one); the stored result.
    fn update_message(
        &self,
        id: &str,
        text: &str,
        extra: Map<String, Value>,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError>;

    /// Deletes message `id`: soft (kept, marked deleted) or hard (gone); the message as it was deleted.
    fn delete_message(
        &self,
        id: &str,
        hard: bool,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError>;

    /// Adds `add` as members (users created as needed) and removes `remove`, in one transaction; returns the
    /// members that joined and those that left (ids already in, or never in, change nothing).
    fn change_members(
        &self,
        cid: &str,
        add: &[String],
        remove: &[String],
        now: &str,
    ) -> Result<(Vec<MemberRecord>, Vec<MemberRecord>), StoreError>;

    /// The cids of the channels `user_id` is a member of.
    fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError>;

    /// The channel `cid`, creating it with `data` and `members` (users created as needed) when it does not
    /// exist. Returns the channel and whether it was created.
    fn get_or_create_channel(
        &self,
        new: NewChannel,
        now: &str,
    ) -> Result<(ChannelRecord, bool), StoreError>;

    /// The channel `cid`, if it exists.
    fn channel(&self, cid: &str) -> Result<Option<ChannelRecord>, StoreError>;

    /// Whether `user_id` is a member of the channel.
    fn is_member(&self, cid: &str, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.members(cid)?.iter().any(|member| member.user.id == user_id))
    }

    /// The channel's members, oldest first, with their users.
    fn members(&self, cid: &str) -> Result<Vec<MemberRecord>, StoreError>;

    /// Stores a message unless one with its id exists (a retry): returns the stored message, whether it was new
    /// and, when it was, every member's unread counts right after it (for `message.new`). A new message moves the
    /// channel's `last_message_at` and adds one unread for every other member. Its `created_at` is `now`, but never
    /// earlier than the channel's previous message: a channel's messages are in the same order by time as stored,
    /// whichever request (or node, with a lagging clock) stored them.
    fn add_message(&self, message: NewMessage, now: &str) -> Result<AddedMessage, StoreError>;

    /// The channel `cid`, if it exists, and whether `user_id` is a member, in one call.
    fn channel_for(
        &self,
        cid: &str,
        user_id: &str,
    ) -> Result<Option<(ChannelRecord, bool)>, StoreError> {
        match self.channel(cid)? {
            Some(channel) => Ok(Some((channel, self.is_member(cid, user_id)?))),
            None => Ok(None),
        }
    }

    /// Up to `limit` messages of the channel next to `anchor` (the newest ones before it, or the oldest ones after
    /// it), oldest first, taking no more than `budget` bytes (at least one message unless the budget is spent)
    /// and deducting what they took from it.
    fn messages(
        &self,
        cid: &str,
        limit: usize,
        anchor: &MessageAnchor,
        budget: &mut usize,
    ) -> Result<Vec<MessageRecord>, StoreError>;

    /// Whether message `id` exists in channel `cid`.
    fn has_message(&self, cid: &str, id: &str) -> Result<bool, StoreError>;

    /// Marks the channel read by `user_id` up to `message_id` (the latest message when `None`). `shared`: the
    /// user's read receipts are on, so the read state others see moves too.
    fn mark_read(
        &self,
        cid: &str,
        user_id: &str,
        message_id: Option<&str>,
        now: &str,
        shared: bool,
    ) -> Result<ReadRecord, StoreError>;

    /// Marks the channel unread for `user_id` from message `message_id` on: the own read state moves back to just
    /// before it, and counts the messages of others from it on. Only the user's own state changes (others never
    /// see it move back). `None` when the message is not in the channel.
    fn mark_unread(
        &self,
        cid: &str,
        user_id: &str,
        message_id: &str,
    ) -> Result<Option<ReadRecord>, StoreError>;

    /// Marks every channel of `user_id` read at `now` (`shared`: the read state others see moves too); returns
    /// the cids that had unread messages.
    fn mark_all_read(
        &self,
        user_id: &str,
        now: &str,
        shared: bool,
    ) -> Result<Vec<String>, StoreError>;

    /// The user's unread messages per channel with any: `(cid, unread, last_read)`.
    fn unread_channels(&self, user_id: &str) -> Result<Vec<(String, u64, String)>, StoreError>;

    /// Every member's read state in the channel. Privacy is applied by the caller ([`crate::channels`]).
    fn reads(&self, cid: &str) -> Result<Vec<ReadRecord>, StoreError>;

    /// `(total unread messages, channels with unread messages)` of a user across channels.
    fn unread_totals(&self, user_id: &str) -> Result<(u64, u64), StoreError>;

    /// Writes activity a store keeps in memory for a while (connects that changed nothing else). Stores that
    /// write it at once have nothing to do.
    fn flush_activity(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether the database answers (`/readyz`). Embedded stores always do.
    fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Channels matching `filter` that `caller` may read, most recent activity first.
    fn query_channels(
        &self,
        filter: &ChannelFilter,
        caller: &str,
    ) -> Result<Vec<ChannelRecord>, StoreError>;
}

/// A server-side user replacement (`POST /users`).
#[derive(Debug, Clone)]
pub struct UserReplace {
    /// The user id.
    pub id: String,
    /// The new role, or keep the stored one.
    pub role: Option<String>,
    /// The complete writable fields.
    pub fields: Map<String, Value>,
}

/// A channel to create if missing.
#[derive(Debug, Clone)]
pub struct NewChannel {
    /// `type:id`.
    pub cid: String,
    /// The channel type.
    pub kind: String,
    /// The channel id.
    pub id: String,
    /// Custom data (name, image, …).
    pub data: Map<String, Value>,
    /// Initial members.
    pub members: Vec<String>,
    /// Who created it.
    pub created_by: String,
}

/// A stored channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelRecord {
    /// `type:id`.
    pub cid: String,
    /// The channel type.
    pub kind: String,
    /// The channel id.
    pub id: String,
    /// Custom data.
    pub data: Map<String, Value>,
    /// Who created it.
    pub created_by: String,
    /// Creation time, RFC 3339.
    pub created_at: String,
    /// Last change, RFC 3339.
    pub updated_at: String,
    /// When the newest message arrived.
    pub last_message_at: Option<String>,
    /// How many members it has.
    pub member_count: u64,
}

/// A channel member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    /// The member's user.
    pub user: StoredUser,
    /// When they joined.
    pub created_at: String,
}

/// What [`Store::add_message`] did.
#[derive(Debug, Clone)]
pub struct AddedMessage {
    /// The stored message (the one already there, for a retry).
    pub message: MessageRecord,
    /// Whether it is new.
    pub inserted: bool,
    /// Every member's unread counts right after it; empty for a retry.
    pub unread: Vec<MemberUnread>,
}

/// One member's unread counts, for the personal fields of `message.new`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberUnread {
    /// The member.
    pub user_id: String,
    /// Unread messages in this channel.
    pub unread_messages: u64,
    /// Unread messages across all their channels.
    pub total_unread: u64,
    /// Channels with unread messages.
    pub unread_channels: u64,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    /// Client-chosen (or server-generated) id.
    pub id: String,
    /// The channel.
    pub cid: String,
    /// The sender.
    pub user_id: String,
    /// The text.
    pub text: String,
    /// Other fields the client sent (attachments, custom data), stored as they are.
    pub extra: Map<String, Value>,
}

/// A stored message with its sender.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageRecord {
    /// The message id.
    pub id: String,
    /// The channel.
    pub cid: String,
    /// The text.
    pub text: String,
    /// Other fields as sent.
    pub extra: Map<String, Value>,
    /// When it was stored.
    pub created_at: String,
    /// When it was last edited (or deleted).
    pub updated_at: Option<String>,
    /// When it was deleted; a soft-deleted message stays, with `type: "deleted"`.
    pub deleted_at: Option<String>,
    /// How many replies it has (messages whose `parent_id` it is).
    pub reply_count: u64,
    /// Who replied in its thread, each once.
    pub thread_participants: Vec<String>,
    /// Its reactions, oldest first.
    pub reactions: Vec<ReactionRecord>,
    /// Its sender.
    pub user: StoredUser,
}

/// One user's reaction of one type to a message.
#[derive(Debug, Clone, PartialEq)]
pub struct ReactionRecord {
    /// The message.
    pub message_id: String,
    /// Whose.
    pub user: StoredUser,
    /// `like`, `love`, …
    pub kind: String,
    /// Its weight (1 unless set).
    pub score: i64,
    /// Custom fields.
    pub extra: Map<String, Value>,
    /// When it was made.
    pub created_at: String,
    /// When it was last changed.
    pub updated_at: String,
}

/// A reaction to store.
#[derive(Debug, Clone)]
pub struct NewReaction {
    /// The message.
    pub message_id: String,
    /// Whose.
    pub user_id: String,
    /// Its type.
    pub kind: String,
    /// Its weight.
    pub score: i64,
    /// Custom fields.
    pub extra: Map<String, Value>,
    /// Replace the user's other reactions to the message (`enforce_unique`).
    pub unique: bool,
}

/// One member's read state in a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadRecord {
    /// The member.
    pub user: StoredUser,
    /// When they last read the channel.
    pub last_read: String,
    /// The last message they read.
    pub last_read_message_id: Option<String>,
    /// Messages since.
    pub unread_messages: u64,
    /// The read state as others may see it: where it stood the last time the user read with receipts on.
    pub shared: SharedRead,
}

/// The part of a read state that moves only while the user's read receipts are on.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedRead {
    /// When they last read the channel with receipts on.
    pub last_read: String,
    /// The last message they read with receipts on.
    pub last_read_message_id: Option<String>,
    /// Messages since then.
    pub unread_messages: u64,
}

/// What `POST /channels` filters on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelFilter {
    /// `cid: {$in: [...]}` or `cid: "..."`.
    pub cids: Option<Vec<String>>,
    /// `members: {$in: [...]}`: channels with any of these members.
    pub members: Option<Vec<String>>,
    /// `type: "..."` or `{$in: [...]}`.
    pub kinds: Option<Vec<String>>,
    /// Channel types anyone may read; others only their members.
    pub public_kinds: Vec<String>,
    /// Sort by `last_message_at` descending (`true`) or ascending.
    pub newest_first: bool,
    /// Page size.
    pub limit: usize,
    /// Page start.
    pub offset: usize,
}

/// Where a page of channel messages is taken from (the official client's `messages` pagination options).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum MessageAnchor {
    /// The newest messages.
    #[default]
    Latest,
    /// Older than message `id` (`id_lt`), or up to and including it (`id_lte`).
    BeforeId {
        /// The message.
        id: String,
        /// Include it.
        inclusive: bool,
    },
    /// Newer than message `id` (`id_gt`), or from it on (`id_gte`).
    AfterId {
        /// The message.
        id: String,
        /// Include it.
        inclusive: bool,
    },
    /// Created before `at` (`created_at_before`, `_or_equal`).
    BeforeTime {
        /// An RFC 3339 time.
        at: String,
        /// Include messages created at exactly `at`.
        inclusive: bool,
    },
    /// Created after `at` (`created_at_after`, `_or_equal`).
    AfterTime {
        /// An RFC 3339 time.
        at: String,
        /// Include messages created at exactly `at`.
        inclusive: bool,
    },
}

/// A checked user query (`GET /users`): filter, order and page.
#[derive(Debug, Clone, PartialEq)]
pub struct UserQuery {
    /// Which users.
    pub filter: UserFilter,
    /// Sort keys, first first; `true` for ascending. The user id breaks ties.
    pub sort: Vec<(UserSort, bool)>,
    /// Page size.
    pub limit: usize,
    /// Page start.
    pub offset: usize,
}

/// A user filter, as `filter_conditions` describe it.
#[derive(Debug, Clone, PartialEq)]
pub enum UserFilter {
    /// Every condition holds (`$and`, or several keys in one object); no conditions: every user.
    All(Vec<UserFilter>),
    /// Any condition holds (`$or`).
    Any(Vec<UserFilter>),
    /// The field equals one of the values (`$eq`, `$in`).
    OneOf(UserField, Vec<String>),
    /// The field starts with the text, ignoring case (`$autocomplete`).
    StartsWith(UserField, String),
    /// `online: true` / `false`: whether the user is in `connected` and not invisible.
    Online {
        /// The value asked for.
        online: bool,
        /// The users with an open connection.
        connected: Vec<String>,
    },
}

/// A user field a filter may test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserField {
    /// `id`.
    Id,
    /// `role`.
    Role,
    /// `name`.
    Name,
}

/// A user field a query may sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserSort {
    /// `id`.
    Id,
    /// `name`.
    Name,
    /// `created_at`.
    CreatedAt,
    /// `last_active`.
    LastActive,
}
