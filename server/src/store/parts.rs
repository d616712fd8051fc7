//! The store's parts by concern, each an async trait that both stores implement in the file of that concern:
//! [`Users`], [`Messages`], [`Channels`], [`ChannelManagement`], [`Reads`], [`Moderation`], [`Threads`], [`Files`]. [`super::Store`] is all
//! of them.

use serde_json::{Map, Value};

use super::*;

/// The store's part for users: creation, merges on connect, monthly activity, queries.
#[async_trait::async_trait]
pub trait Users: Send + Sync {
    /// Creates the user or merges `fields` into it (see [`crate::domain::users::merge_fields`]), marks it active at `now`
    /// in `month` (`"YYYY-MM"`), and returns the stored result.
    async fn connect_user(
        &self,
        id: &str,
        fields: Map<String, Value>,
        now: &str,
        month: &str,
    ) -> Result<StoredUser, StoreError>;

    /// How many distinct users connected in `month` (`"YYYY-MM"`).
    async fn monthly_active_users(&self, month: &str) -> Result<u64, StoreError>;

    /// A user, if known.
    async fn user(&self, id: &str) -> Result<Option<StoredUser>, StoreError>;

    /// Server-side upsert: each user's fields are replaced (not merged); `role` is set when given.
    async fn replace_users(
        &self,
        users: Vec<UserReplace>,
        now: &str,
    ) -> Result<Vec<StoredUser>, StoreError>;

    /// Changes stored users in one transaction: for each id, `change` gets the stored user (`None` if unknown)
    /// and returns the user to write, or refuses with a reason; one refusal writes nothing. Concurrent updates
    /// of one user never lose each other's fields.
    async fn update_users(
        &self,
        ids: &[String],
        now: &str,
        change: UserChange,
    ) -> Result<Result<Vec<StoredUser>, String>, StoreError>;

    /// Creates a user that must not exist yet; `None` when the id is taken (nothing is changed then).
    async fn create_user(
        &self,
        id: &str,
        role: &str,
        fields: Map<String, Value>,
        now: &str,
    ) -> Result<Option<StoredUser>, StoreError>;

    /// Users matching `query`, in its order, one page.
    async fn query_users(&self, query: &UserQuery) -> Result<Vec<StoredUser>, StoreError>;
}

/// The store's part for messages and their reactions: sends, edits, deletes, pages, pins, search, quotes.
#[async_trait::async_trait]
pub trait Messages: Send + Sync {
    /// The replies to `parent_id`, oldest first: the newest `limit` of those older than `id_lt`.
    async fn replies(
        &self,
        parent_id: &str,
        limit: usize,
        id_lt: Option<&str>,
    ) -> Result<Vec<MessageRecord>, StoreError>;

    /// Adds or replaces a reaction; returns it, and whether it replaced one (same type, or any with `unique`).
    async fn send_reaction(
        &self,
        reaction: NewReaction,
        now: &str,
    ) -> Result<(ReactionRecord, bool), StoreError>;

    /// Removes `user_id`'s reaction of `kind` to `message_id`; returns it if there was one.
    async fn delete_reaction(
        &self,
        message_id: &str,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<ReactionRecord>, StoreError>;

    /// The message `id`, if it exists.
    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError>;

    /// Replaces the text and other fields of message `id` (not a deleted one); the stored result.
    async fn update_message(
        &self,
        id: &str,
        text: &str,
        extra: Map<String, Value>,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError>;

    /// Deletes message `id`: soft (kept, marked deleted) or hard (gone); the message as it was deleted.
    async fn delete_message(
        &self,
        id: &str,
        hard: bool,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError>;

    /// Stores a message unless one with its id exists (a retry): returns the stored message, whether it was new
    /// and, when it was, every member's unread counts right after it (for `message.new`). A new message moves the
    /// channel's `last_message_at` and adds one unread for every other member. Its `created_at` is `now`, but never
    /// earlier than the channel's previous message: a channel's messages are in the same order by time as stored,
    /// whichever request (or node, with a lagging clock) stored them.
    async fn add_message(&self, message: NewMessage, now: &str)
        -> Result<AddedMessage, StoreError>;

    /// Up to `limit` messages of the channel next to `anchor` (the newest ones before it, or the oldest ones after
    /// it), oldest first, taking no more than `budget` bytes (at least one message unless the budget is spent)
    /// and deducting what they took from it.
    async fn messages(
        &self,
        cid: &str,
        limit: usize,
        anchor: &MessageAnchor,
        budget: &mut usize,
    ) -> Result<Vec<MessageRecord>, StoreError>;

    /// The channel's pinned messages whose pin has not expired at `now` (not deleted), the latest pinned first, at
    /// most `limit`.
    async fn pinned_messages(
        &self,
        cid: &str,
        now: &str,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError>;

    /// Whether message `id` exists in channel `cid`.
    async fn has_message(&self, cid: &str, id: &str) -> Result<bool, StoreError>;

    /// The messages `search` finds in the channels `caller` may read, with their senders and reactions.
    async fn search_messages(
        &self,
        search: &MessageSearch,
        caller: &str,
    ) -> Result<Vec<MessageRecord>, StoreError>;

    /// Sets `quoted_message` to `copy` in every message of `cid` quoting message `quoted_id`; how many.
    async fn update_quotes(
        &self,
        cid: &str,
        quoted_id: &str,
        copy: &Value,
    ) -> Result<u64, StoreError>;
}

/// The store's part for channels and their members: creation, membership, management, queries.
#[async_trait::async_trait]
pub trait Channels: Send + Sync {
    /// Adds `add` as members (users created as needed) and removes `remove`, in one transaction with a new version
    /// of the channel; returns the members that joined and those that left (ids already in, or never in, change
    /// nothing).
    async fn change_members(
        &self,
        cid: &str,
        add: &[String],
        remove: &[String],
        now: &str,
    ) -> Result<MembersChanged, StoreError>;

    /// The cids of the channels `user_id` is a member of.
    async fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError>;

    /// The channel `cid`, creating it with `data` and `members` (users created as needed) when it does not
    /// exist. Returns the channel and whether it was created.
    async fn get_or_create_channel(
        &self,
        new: NewChannel,
        now: &str,
    ) -> Result<(ChannelRecord, bool), StoreError>;

    /// The channel `cid`, if it exists.
    async fn channel(&self, cid: &str) -> Result<Option<ChannelRecord>, StoreError>;

    /// Whether `user_id` is a member of the channel.
    async fn is_member(&self, cid: &str, user_id: &str) -> Result<bool, StoreError> {
        Ok(self.members(cid).await?.iter().any(|member| member.user.id == user_id))
    }

    /// The channel's members, oldest first, with their users.
    async fn members(&self, cid: &str) -> Result<Vec<MemberRecord>, StoreError>;

    /// The channel `cid`, if it exists, and whether `user_id` is a member, in one call.
    async fn channel_for(
        &self,
        cid: &str,
        user_id: &str,
    ) -> Result<Option<(ChannelRecord, bool)>, StoreError> {
        match self.channel(cid).await? {
            Some(channel) => Ok(Some((channel, self.is_member(cid, user_id).await?))),
            None => Ok(None),
        }
    }

    /// Channels matching `filter` that `caller` may read, most recent activity first.
    async fn query_channels(
        &self,
        filter: &ChannelFilter,
        caller: &str,
    ) -> Result<Vec<ChannelRecord>, StoreError>;
}

/// The store's part for managing a channel: a member's role and hidden flag, its data, truncation, deletion.
#[async_trait::async_trait]
pub trait ChannelManagement: Send + Sync {
    /// Changes one member's channel role or hidden flag, with a new version of the channel; the member after and
    /// that version, `None` when `user_id` is not a member.
    async fn change_member(
        &self,
        cid: &str,
        user_id: &str,
        change: &MemberChange,
    ) -> Result<Option<(MemberRecord, u64)>, StoreError>;

    /// Shows the channel again to every member who hid it (a new message arrived); their ids.
    async fn unhide_channel(&self, cid: &str) -> Result<Vec<String>, StoreError>;

    /// Replaces the channel's custom data (`updated_at` = `now`, a new version); the channel after, `None` if it
    /// does not exist.
    async fn update_channel(
        &self,
        cid: &str,
        data: Map<String, Value>,
        now: &str,
    ) -> Result<Option<ChannelRecord>, StoreError>;

    /// Removes every message of the channel with its reactions, sets every member's unread count to zero and
    /// records `truncated_at` = `now` in the channel's data (a new version).
    async fn truncate_channel(&self, cid: &str, now: &str) -> Result<(), StoreError>;

    /// Removes the channel with its members, messages, reactions and read states; the version its deletion took,
    /// `None` if it did not exist.
    async fn delete_channel(&self, cid: &str) -> Result<Option<u64>, StoreError>;
}

/// The store's part for read state: marks, unread counts.
#[async_trait::async_trait]
pub trait Reads: Send + Sync {
    /// Marks the channel read by `user_id` up to `message_id` (the latest message when `None`). `shared`: the
    /// user's read receipts are on, so the read state others see moves too.
    async fn mark_read(
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
    async fn mark_unread(
        &self,
        cid: &str,
        user_id: &str,
        message_id: &str,
    ) -> Result<Option<ReadRecord>, StoreError>;

    /// Marks every channel of `user_id` read at `now` (`shared`: the read state others see moves too); returns
    /// the cids that had unread messages.
    async fn mark_all_read(
        &self,
        user_id: &str,
        now: &str,
        shared: bool,
    ) -> Result<Vec<String>, StoreError>;

    /// The user's unread messages per channel with any: `(cid, unread, last_read)`.
    async fn unread_channels(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, u64, String)>, StoreError>;

    /// Every member's read state in the channel. Privacy is applied by the caller ([`crate::domain::channels`]).
    async fn reads(&self, cid: &str) -> Result<Vec<ReadRecord>, StoreError>;

    /// `(total unread messages, channels with unread messages)` of a user across channels.
    async fn unread_totals(&self, user_id: &str) -> Result<(u64, u64), StoreError>;
}

/// The store's part for moderation records (mutes, blocks, bans, flags) and what a send must check.
#[async_trait::async_trait]
pub trait Moderation: Channels + Send + Sync {
    /// Stores a moderation record, replacing one of the same kind, user and target.
    async fn put_relation(&self, relation: &Relation) -> Result<(), StoreError>;

    /// Removes the moderation record of `kind` by `user_id` on `target`; whether there was one.
    async fn delete_relation(
        &self,
        kind: &str,
        user_id: &str,
        target: &str,
    ) -> Result<bool, StoreError>;

    /// The moderation records of `kind` by `user_id` and/or on `target` (each `None`: any) that have not expired
    /// at `now`, oldest first.
    async fn relations(
        &self,
        kind: &str,
        user_id: Option<&str>,
        target: Option<&str>,
        now: &str,
    ) -> Result<Vec<Relation>, StoreError>;

    /// What a send of `user_id` to `cid` at `now` reads: the channel (`None` if there is none), whether they are a
    /// member, and [`Moderation::sender_moderation`]. One round trip where the store can (PostgreSQL: one statement,
    /// which leaves the channel's `member_count` uncounted, 0: a send never shows it); by default the two reads.
    async fn send_context(
        &self,
        cid: &str,
        user_id: &str,
        now: &str,
    ) -> Result<Option<(ChannelRecord, bool, Vec<Relation>)>, StoreError> {
        match self.channel_for(cid, user_id).await? {
            Some((channel, member)) => {
                Ok(Some((channel, member, self.sender_moderation(user_id, cid, now).await?)))
            }
            None => Ok(None),
        }
    }

    /// What applies to a message or event `user_id` sends in `cid` at `now`, in one read: their unexpired bans
    /// there or everywhere, and the unexpired blocks of them.
    async fn sender_moderation(
        &self,
        user_id: &str,
        cid: &str,
        now: &str,
    ) -> Result<Vec<Relation>, StoreError>;
}

/// The store's part for threads: who takes part, their read states.
#[async_trait::async_trait]
pub trait Threads: Send + Sync {
    /// The parent ids of the threads `user_id` takes part in (wrote the parent or a reply) in channels they are a
    /// member of, latest reply first, paged.
    async fn threads_of(
        &self,
        user_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<String>, StoreError>;

    /// The read states of thread `parent_id`.
    async fn thread_reads(&self, parent_id: &str) -> Result<Vec<ThreadRead>, StoreError>;

    /// Records that `user_id` read thread `parent_id` at `now`, up to its latest reply.
    async fn mark_thread_read(
        &self,
        parent_id: &str,
        user_id: &str,
        now: &str,
    ) -> Result<ThreadRead, StoreError>;

    /// Live replies in thread `parent_id` by others than `user_id`, after `since` (all when `None`).
    async fn thread_unread(
        &self,
        parent_id: &str,
        user_id: &str,
        since: Option<&str>,
    ) -> Result<u64, StoreError>;
}

/// The store's part for uploaded files.
#[async_trait::async_trait]
pub trait Files: Send + Sync {
    /// Stores an uploaded file and its bytes.
    async fn put_file(&self, file: &FileRecord, bytes: &[u8]) -> Result<(), StoreError>;

    /// The uploaded file `id`, with its bytes when `with_bytes`.
    async fn file(
        &self,
        id: &str,
        with_bytes: bool,
    ) -> Result<Option<(FileRecord, Vec<u8>)>, StoreError>;

    /// Removes the uploaded files `ids` of channel `cid`; how many there were.
    async fn delete_files(&self, cid: &str, ids: &[String]) -> Result<u64, StoreError>;
}
