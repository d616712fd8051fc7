//! A channel's state as the SDK keeps it, sans I/O: message order and de-duplication, the read map, remote
//! typing with its 7 s expiry, watchers and the own unread count, merged from query results and events
//! (PROTOCOL.md §6.6, §6.9). Full objects stay in JS; this keeps the keys and the rules.

use alloc::string::String;
use alloc::vec::Vec;

use super::id_set::{id_hash, IdSet};

/// How long a remote `typing.start` counts without a `typing.stop`, in milliseconds.
pub const TYPING_EXPIRY_MS: f64 = 7_000.0;

/// What ordering needs of a message.
#[derive(Clone, Debug, PartialEq)]
pub struct MessageKey {
    /// The message id; one entry per id.
    pub id: String,
    /// When it was created, in milliseconds since the epoch (parsed by the shell; never compared as text, since
    /// other servers write timestamps with other precisions and offsets).
    pub created_at: f64,
}

/// One member's read state.
#[derive(Clone, Debug, PartialEq)]
pub struct Read {
    /// Whose.
    pub user_id: String,
    /// When they last read, in milliseconds since the epoch.
    pub last_read: f64,
    /// The last message they read.
    pub last_read_message_id: Option<String>,
    /// Messages since.
    pub unread_messages: u32,
}

/// The parts of a channel query answer the state is rebuilt from.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    /// Messages, any order.
    pub messages: Vec<MessageKey>,
    /// Read states the server let this user see.
    pub read: Vec<Read>,
    /// Watching users.
    pub watchers: Vec<String>,
    /// How many users watch.
    pub watcher_count: u32,
}

/// A server event, as the state needs it.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// `message.new` from `user_id`.
    MessageNew {
        /// The message.
        message: MessageKey,
        /// The sender.
        user_id: String,
        /// A thread reply not shown in the channel: it stays out of `messages` (the shell keeps it in
        /// `threads`) and changes no read state.
        thread_only: bool,
        /// A `silent`, `shadowed` or `system` message: shown, but unread for nobody (the official client's
        /// `_countMessageAsUnread`, and the server's count).
        quiet: bool,
    },
    /// `typing.start`.
    TypingStart {
        /// Who.
        user_id: String,
    },
    /// `typing.stop`.
    TypingStop {
        /// Who.
        user_id: String,
    },
    /// `message.read`.
    MessageRead {
        /// Who.
        user_id: String,
        /// When, in milliseconds since the epoch.
        created_at: f64,
        /// Up to which message.
        last_read_message_id: Option<String>,
    },
    /// `user.watching.start`.
    WatchingStart {
        /// Who.
        user_id: String,
    },
    /// `user.watching.stop`.
    WatchingStop {
        /// Who.
        user_id: String,
    },
    /// `notification.mark_unread`: the own user marked the channel unread from some message on.
    MarkedUnread {
        /// The own user.
        user_id: String,
        /// The read position it moved back to, in milliseconds since the epoch.
        last_read: f64,
        /// The last message it counts as read.
        last_read_message_id: Option<String>,
        /// How many messages are unread now.
        unread_messages: u32,
    },
    /// `message.updated`, or a soft `message.deleted`: the message with `id` changed in place.
    MessageChanged {
        /// Which message.
        id: String,
    },
    /// A hard `message.deleted`: the message with `id` is gone.
    MessageRemoved {
        /// Which message.
        id: String,
    },
    /// `channel.truncated` (or `channel.hidden` with `clear_history`): the messages created before `before` (ms;
    /// all of them when `None`) are gone, and nothing is unread.
    Truncated {
        /// The truncation time.
        before: Option<f64>,
    },
    /// Anything else; only its `watcher_count` matters.
    Other,
}

/// One channel's state.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChannelState {
    /// Messages oldest first, one per id.
    pub messages: Vec<MessageKey>,
    /// Hashes of the ids in `messages` (and of some removed since): a new id is told from the ones there are
    /// without a scan (a busy channel holds thousands) and without a copy of it; a hash found here is confirmed
    /// by a scan, for a duplicate or a collision.
    ids: IdSet,
    /// Read states, one per user.
    pub read: Vec<Read>,
    /// Users typing now, with when their `typing.start` arrived (ms).
    pub typing: Vec<(String, f64)>,
    /// Watching users.
    pub watchers: Vec<String>,
    /// How many users watch.
    pub watcher_count: u32,
    /// Unread messages for the own user.
    pub unread_count: u32,
    /// Bumped whenever `messages` changes, so the shell replaces its `messages` array only then (apps compare
    /// it by identity).
    pub revision: u32,
    /// The revision of the last change that was not an append at the end: while a shell's array is newer, it
    /// can copy it and push the new messages instead of rebuilding it (a busy channel stays linear).
    pub reordered_at: u32,
}

impl ChannelState {
    /// Rebuilds from a query answer at `now_ms`. Messages newer than the snapshot's newest (received while the
    /// query was in flight, e.g. during recovery) are kept, so nothing is lost or duplicated. The own user always
    /// has a read entry afterwards, as with the official client: the server's, or "read up to the newest message"
    /// (now, for an empty channel).
    /// Returns whether the messages are now exactly the snapshot's, in its order (each once, in time order, none
    /// kept from before), so that a shell may show the page as it holds it instead of re-reading it by id.
    pub fn apply_snapshot(&mut self, mut snapshot: Snapshot, own_user: &str, now_ms: f64) -> bool {
        let newest = snapshot.messages.iter().map(|m| m.created_at).fold(f64::MIN, f64::max);
        let mut later: Vec<MessageKey> =
            self.messages.drain(..).filter(|m| m.created_at > newest).collect();
        self.ids.clear();
        self.reordered();
        let emptied_at = self.revision;
        let only_page = later.is_empty();
        let page = snapshot.messages.len();
        self.merge_page(core::mem::take(&mut snapshot.messages), &mut later);
        self.apply_rest(snapshot, own_user, now_ms);
        // Nothing kept from before, every message appended (none moved since the array was emptied), none dropped.
        only_page && self.reordered_at == emptied_at && self.messages.len() == page
    }

    /// Adds a page of older or newer messages (a paginated query) to the messages there are: merged in order,
    /// each once, nothing dropped; the rest of the answer (reads, watchers) applies as from any query.
    pub fn apply_page(&mut self, mut snapshot: Snapshot, own_user: &str, now_ms: f64) {
        let mut kept = core::mem::take(&mut self.messages);
        self.ids.clear();
        self.reordered();
        self.merge_page(core::mem::take(&mut snapshot.messages), &mut kept);
        self.apply_rest(snapshot, own_user, now_ms);
    }

    /// Inserts `page` and then `kept`, in time order, each id once.
    fn merge_page(&mut self, page: Vec<MessageKey>, kept: &mut Vec<MessageKey>) {
        // Room for all at once: a 300-message page would otherwise regrow both several times.
        self.ids.reserve(page.len() + kept.len());
        self.messages.reserve(page.len() + kept.len());
        for message in page.into_iter().chain(kept.drain(..)) {
            self.insert_message(message);
        }
    }

    /// What every query answer sets besides messages: the own unread count and read entry, reads, watchers.
    fn apply_rest(&mut self, mut snapshot: Snapshot, own_user: &str, now_ms: f64) {
        self.unread_count = snapshot
            .read
            .iter()
            .find(|r| r.user_id == own_user)
            .map_or(self.unread_count, |r| r.unread_messages);
        if !own_user.is_empty() && !snapshot.read.iter().any(|r| r.user_id == own_user) {
            let newest = self.messages.last().map_or(now_ms, |m| m.created_at);
            snapshot.read.push(Read {
                user_id: own_user.into(),
                last_read: newest,
                last_read_message_id: None,
                unread_messages: 0,
            });
        }
        self.read = snapshot.read;
        self.watchers = snapshot.watchers;
        self.watcher_count = snapshot.watcher_count;
    }

    /// Applies an event received at `now_ms`; `watcher_count` is the event's, when it has one. Returns whether a
    /// message was added (false for a duplicate).
    pub fn apply_event(
        &mut self,
        event: Event,
        watcher_count: Option<u32>,
        own_user: &str,
        now_ms: f64,
    ) -> bool {
        if let Some(count) = watcher_count {
            self.watcher_count = count;
        }
        match event {
            Event::MessageNew { message, user_id, thread_only, quiet } => {
                let created_at = message.created_at;
                // Kept only for a sender whose read state is shown (see below).
                let message_id =
                    self.read.iter().any(|r| r.user_id == user_id).then(|| message.id.clone());
                if thread_only || !self.insert_message(message) {
                    // A message already there (the answer to the own send, or one the app added) may have
                    // changed: the shell takes the newer copy.
                    if !thread_only {
                        self.reordered();
                    }
                    self.typing.retain(|(typing, _)| *typing != user_id);
                    return false;
                }
                self.typing.retain(|(typing, _)| *typing != user_id);
                if user_id != own_user && !quiet {
                    for read in self.read.iter_mut().filter(|r| r.user_id != user_id) {
                        read.unread_messages += 1;
                    }
                    self.unread_count += 1;
                }
                // Another sender has read up to its own message; only for senders whose read state the server
                // shows (a user with read receipts off is never added to others' read map). The own read entry
                // stays: the official client leaves it, and `lastRead()` is when the user last read others.
                if user_id == own_user {
                    return true;
                }
                if let Some(read) = self.read.iter_mut().find(|r| r.user_id == user_id) {
                    *read = Read {
                        user_id,
                        last_read: created_at,
                        last_read_message_id: message_id,
                        unread_messages: 0,
                    };
                }
                return true;
            }
            Event::TypingStart { user_id } => {
                self.typing.retain(|(typing, _)| *typing != user_id);
                self.typing.push((user_id, now_ms));
            }
            Event::TypingStop { user_id } => self.typing.retain(|(typing, _)| *typing != user_id),
            Event::MessageRead { user_id, created_at, last_read_message_id } => {
                if user_id == own_user {
                    self.unread_count = 0;
                }
                self.set_read(Read {
                    user_id,
                    last_read: created_at,
                    last_read_message_id,
                    unread_messages: 0,
                });
            }
            Event::WatchingStart { user_id } => {
                if !self.watchers.contains(&user_id) {
                    self.watchers.push(user_id);
                }
            }
            Event::WatchingStop { user_id } => self.watchers.retain(|w| *w != user_id),
            Event::MarkedUnread { user_id, last_read, last_read_message_id, unread_messages } => {
                if user_id == own_user {
                    self.unread_count = unread_messages;
                }
                self.set_read(Read { user_id, last_read, last_read_message_id, unread_messages });
            }
            Event::MessageChanged { id } => {
                if self.has_message(&id) {
                    self.reordered();
                }
            }
            Event::MessageRemoved { id } => {
                if self.has_message(&id) {
                    // Its hash may stay: a later lookup of it scans and finds nothing.
                    self.messages.retain(|m| m.id != id);
                    self.reordered();
                }
            }
            Event::Truncated { before } => {
                let count = self.messages.len();
                self.messages.retain(|m| before.is_some_and(|before| m.created_at >= before));
                if self.messages.len() != count {
                    self.reordered();
                }
                self.unread_count = 0;
                for read in &mut self.read {
                    read.unread_messages = 0;
                }
            }
            Event::Other => {}
        }
        false
    }

    /// Everything read by `own_user` at `now_ms` (`notification.mark_read` after `markAllRead`).
    pub fn read_all(&mut self, own_user: &str, now_ms: f64) {
        self.unread_count = 0;
        let last = self.messages.last().map(|m| m.id.clone());
        self.set_read(Read {
            user_id: own_user.into(),
            last_read: now_ms,
            last_read_message_id: last,
            unread_messages: 0,
        });
    }

    /// Removes typing entries older than the expiry; returns who stopped, for local `typing.stop` events.
    pub fn expire_typing(&mut self, now_ms: f64) -> Vec<String> {
        let mut expired = Vec::new();
        self.typing.retain(|(user, since)| {
            let keep = now_ms - since < TYPING_EXPIRY_MS;
            if !keep {
                expired.push(user.clone());
            }
            keep
        });
        expired
    }

    /// Inserts in `created_at` order (after equal ones); `false` when the id is already there.
    fn insert_message(&mut self, message: MessageKey) -> bool {
        if !self.ids.insert(id_hash(&message.id))
            && self.messages.iter().any(|m| m.id == message.id)
        {
            return false;
        }
        let at = self
            .messages
            .iter()
            .rposition(|m| m.created_at <= message.created_at)
            .map_or(0, |at| at + 1);
        let appended = at == self.messages.len();
        self.messages.insert(at, message);
        self.revision = self.revision.wrapping_add(1);
        if !appended {
            self.reordered_at = self.revision;
        }
        true
    }

    /// A message the app put into the state itself (`state.addMessageSorted`): inserted in time order, or, when
    /// its id is there already, moved to its (maybe new) time. Changes no unread count or read state.
    pub fn put_message(&mut self, message: MessageKey) {
        if self.has_message(&message.id) {
            self.messages.retain(|m| m.id != message.id);
        }
        self.insert_message(message);
        self.reordered();
    }

    /// Whether a message with `id` is in `messages`.
    pub fn has_message(&self, id: &str) -> bool {
        self.ids.contains(id_hash(id)) && self.messages.iter().any(|m| m.id == id)
    }

    /// Marks a change to `messages` other than an append at the end.
    fn reordered(&mut self) {
        self.revision = self.revision.wrapping_add(1);
        self.reordered_at = self.revision;
    }

    /// Whether, since `revision`, messages were only appended at the end (so a shell holding the array of
    /// `revision` may extend a copy of it).
    pub fn only_appended_since(&self, revision: u32) -> bool {
        self.revision.wrapping_sub(self.reordered_at) >= self.revision.wrapping_sub(revision)
    }

    fn set_read(&mut self, read: Read) {
        match self.read.iter_mut().find(|r| r.user_id == read.user_id) {
            Some(existing) => *existing = read,
            None => self.read.push(read),
        }
    }
}

/// The own user's typing in one channel: at most one `typing.start` every 2 s while typing, and a `typing.stop`
/// about 1–1.5 s after the last keystroke (the official client's timing, PROTOCOL.md §6.4).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Typing {
    /// When the last keystroke happened.
    last_keystroke: Option<f64>,
    /// When the last `typing.start` was sent.
    last_start: Option<f64>,
}

/// How long after a `typing.start` the next one may go, in milliseconds.
pub const TYPING_START_INTERVAL_MS: f64 = 2_000.0;
/// How long after the last keystroke typing counts as stopped, in milliseconds.
pub const TYPING_STOP_AFTER_MS: f64 = 1_000.0;

impl Typing {
    /// A keystroke at `now`: whether to send `typing.start`.
    pub fn keystroke(&mut self, now: f64) -> bool {
        self.last_keystroke = Some(now);
        let send = self.last_start.is_none_or(|at| now - at > TYPING_START_INTERVAL_MS);
        if send {
            self.last_start = Some(now);
        }
        send
    }

    /// An explicit stop: whether to send `typing.stop` (only while typing).
    pub fn stop(&mut self) -> bool {
        let typing = self.last_keystroke.is_some();
        *self = Typing::default();
        typing
    }

    /// The periodic check at `now`: whether typing stopped by itself, so `typing.stop` must go.
    pub fn tick(&mut self, now: f64) -> bool {
        if self.last_keystroke.is_some_and(|at| now - at > TYPING_STOP_AFTER_MS) {
            return self.stop();
        }
        false
    }

    /// Whether the own user is typing here.
    pub fn is_typing(&self) -> bool {
        self.last_keystroke.is_some()
    }
}

#[cfg(test)]
mod tests;
