//! What the store takes and gives: the records of users' channels, members, messages, reactions and reads, and
//! the checked queries (user filters, channel filters, message pages) the handlers build.

use serde_json::{Map, Value};

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
    /// Some member hid it (a new message shows it to them again).
    pub any_hidden: bool,
    /// One more on every change of its data or members ([`crate::hub::Delivery::version`]).
    pub version: u64,
}

/// What a membership change did: who joined, who left, and the channel version it took.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MembersChanged {
    /// The members that joined.
    pub added: Vec<MemberRecord>,
    /// The members that left.
    pub removed: Vec<MemberRecord>,
    /// The channel's version after the change ([`ChannelRecord::version`]).
    pub version: u64,
}

/// A channel member.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberRecord {
    /// The member's user.
    pub user: StoredUser,
    /// When they joined.
    pub created_at: String,
    /// `channel_member` or `channel_moderator`.
    pub channel_role: String,
    /// The member hid the channel: it leaves their channel queries until a new message arrives or they show it.
    pub hidden: bool,
}

/// A moderation record: one user's mute, channel mute, block or flag, or a ban of a user.
#[derive(Debug, Clone, PartialEq)]
pub struct Relation {
    /// `mute`, `channel_mute`, `block`, `flag` or `ban`.
    pub kind: String,
    /// Who: the muting, blocking or flagging user; for a ban, the banned user.
    pub user_id: String,
    /// Whom or what: a user id, a cid, `message:<id>` / `user:<id>` for flags, `*` or a cid for bans.
    pub target: String,
    /// What else it says (reason, shadow, who banned).
    pub data: Map<String, Value>,
    /// When it was made (or last renewed).
    pub created_at: String,
    /// When it ends by itself, if ever.
    pub expires: Option<String>,
}

/// One user's read state in one thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadRead {
    /// Whose.
    pub user_id: String,
    /// When they last read it.
    pub last_read: String,
    /// The latest reply then, if any.
    pub last_read_message_id: Option<String>,
}

/// An uploaded file, without its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileRecord {
    /// Its unguessable id, the secret part of its URL.
    pub id: String,
    /// The channel it was sent to.
    pub cid: String,
    /// Who sent it.
    pub user_id: String,
    /// `image` (checked from its bytes, shown inline) or `file` (served as a download).
    pub kind: String,
    /// Its file name, made safe for a URL and a header.
    pub name: String,
    /// Its type: from the bytes for images, as declared for files.
    pub mime_type: String,
    /// Its length in bytes.
    pub size: u64,
    /// When it was uploaded.
    pub created_at: String,
}

/// What [`Store::change_member`](super::Store::change_member) changes of one member (`None`: left alone).
#[derive(Debug, Clone, Default)]
pub struct MemberChange {
    /// A new channel role.
    pub channel_role: Option<String>,
    /// Hidden or shown.
    pub hidden: Option<bool>,
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

impl NewMessage {
    /// Whether it adds to the unread counts of the channel's other members: not a `silent` message, not a
    /// thread reply kept out of the channel, not a system message (the official client counts none of them, nor
    /// does Stream's service).
    pub fn counts_as_unread(&self) -> bool {
        let flag = |key: &str| self.extra.get(key).and_then(Value::as_bool).unwrap_or(false);
        let thread_only =
            self.extra.get("parent_id").is_some_and(Value::is_string) && !flag("show_in_channel");
        let system = self.extra.get("type").and_then(Value::as_str) == Some("system");
        !flag("silent") && !flag("shadowed") && !thread_only && !system
    }
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
    /// How many times its row changed (0 when new): of two states of a message, the later has the higher version.
    pub version: u64,
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
    /// `Some(true)`: only the channels the caller hid; `Some(false)`: only those they did not; `None`: both.
    pub hidden: Option<bool>,
    /// `name: {$eq | $in | $autocomplete}`.
    pub name: Option<NameMatch>,
    /// Sort by `last_message_at` descending (`true`) or ascending.
    pub newest_first: bool,
    /// Page size.
    pub limit: usize,
    /// Page start.
    pub offset: usize,
}

/// A condition on a text field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    /// Equal to one of these (`$eq`, `$in`).
    OneOf(Vec<String>),
    /// Some word of it starts with this, ignoring case (`$autocomplete`).
    WordPrefix(String),
}

/// A message search (`GET /search`): the channels' filter, then conditions on the messages in them; deleted
/// messages are never found.
#[derive(Debug, Clone, Default)]
pub struct MessageSearch {
    /// Which channels (only those the caller may read; hidden ones too).
    pub channels: ChannelFilter,
    /// Full-text: every word, lower-cased (letters and digits only), the last one as a prefix when `prefix`.
    pub words: Vec<String>,
    /// The last word is a prefix (`$autocomplete`).
    pub prefix: bool,
    /// Only pinned (`true`) or unpinned messages.
    pub pinned: Option<bool>,
    /// Only messages with an attachment of one of these types.
    pub attachment_types: Option<Vec<String>>,
    /// Only messages of these senders.
    pub user_ids: Option<Vec<String>>,
    /// Newest first (`created_at` descending, the default) or oldest first.
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

/// A stored user: the writable fields plus what the server owns.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUser {
    /// The user id.
    pub id: String,
    /// `"user"` unless a server-side upsert set another.
    pub role: String,
    /// Name, image, privacy settings and custom fields.
    pub fields: Map<String, Value>,
    /// When the user was first seen, RFC 3339.
    pub created_at: String,
    /// When the user object last changed, RFC 3339.
    pub updated_at: String,
    /// When the user last connected, RFC 3339.
    pub last_active: Option<String>,
}

/// Merges a connect's writable fields into the stored ones: named keys are added or replaced, keys not named stay.
/// `privacy_settings` merges one level deeper, so switching one feature keeps the others.
pub fn merge_fields(stored: &mut Map<String, Value>, incoming: Map<String, Value>) {
    for (key, value) in incoming {
        match (key.as_str(), stored.get_mut(&key), value) {
            ("privacy_settings", Some(Value::Object(old)), Value::Object(new)) => old.extend(new),
            (_, _, value) => {
                stored.insert(key, value);
            }
        }
    }
}
