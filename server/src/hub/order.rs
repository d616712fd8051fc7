//! The order a channel's events reach its watchers in: each event is admitted and queued for every watcher under
//! the channel's [`Order`] lock, so no other event of the channel is queued between (two events published at once,
//! a local request's and a note from another node, reach every outbox in the order they were admitted); and an
//! event carrying an older state of a message, a member or the channel than one delivered before ([`Versioned`]) is
//! not admitted at all. The exception is a `message.new` behind a newer state of its message (sent through another
//! node, whose note came after a change made here): the watchers here never had the message, so it goes out as new,
//! carrying the newest state delivered here.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

/// Messages and members whose latest delivered version one channel remembers, at most.
pub const MAX_VERSIONS_KEPT: usize = 4096;
/// How long the newest delivered state of a message is kept for its `message.new`, which may still be on its way
/// from another node (a note takes milliseconds; this is the bound on how late it may come and still be made whole).
pub const NEWEST_STATE_KEPT: Duration = Duration::from_secs(10);
/// Newest states of messages one channel keeps for that, at most (the oldest goes first).
pub const MAX_NEWEST_STATES: usize = 32;

/// What a versioned event carries a state of: its version is compared with the newest delivered of the same.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum Versioned {
    /// A message, by id (message and reaction events).
    Message(String),
    /// A member of the channel, by user id (`member.*`).
    Member(String),
    /// The channel itself (`channel.*`).
    Channel,
}

impl Versioned {
    /// Which state `event` carries, from its type and fields.
    pub(super) fn of(event: &Map<String, Value>) -> Option<Versioned> {
        let kind = event.get("type").and_then(Value::as_str).unwrap_or("");
        let text = |value: Option<&Value>| value.and_then(Value::as_str).map(str::to_owned);
        if kind.starts_with("channel.") {
            Some(Versioned::Channel)
        } else if kind.starts_with("member.") {
            text(event.get("member").and_then(|member| member.get("user_id")))
                .map(Versioned::Member)
        } else {
            text(event.get("message").and_then(|message| message.get("id"))).map(Versioned::Message)
        }
    }
}

/// Whether an event may go out, from [`Order::admit`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Admission {
    /// As it is.
    Deliver,
    /// Not at all: it carries an older state than one delivered.
    Stale,
    /// A `message.new` that now carries its message's newest delivered state (its frames must be made again).
    Completed,
}

/// One channel's delivery order: held from an event's admission until it is queued for every watcher.
#[derive(Debug, Default)]
pub(super) struct Order {
    /// Message, member or the channel → the newest version of it delivered here, so that an older state arriving
    /// later (two requests finishing in the other order, or notes from two nodes) never overwrites a newer one. At
    /// most [`MAX_VERSIONS_KEPT`] (past it the memory starts again).
    versions: HashMap<Versioned, u64>,
    /// The newest state of the messages changed here lately, `None` for one hard deleted: `(id, when, message)`,
    /// at most [`MAX_NEWEST_STATES`], each for [`NEWEST_STATE_KEPT`].
    newest: VecDeque<(String, Instant, Option<Value>)>,
}

impl Order {
    /// Whether `event`, carrying version `version` of `what`, may be delivered: not older than the newest
    /// delivered, or a `message.new` that can be given its message's newest state (put into `event`). Remembers
    /// the version, and a message event's state (taken out of `event`, whose frames are made already).
    pub(super) fn admit(
        &mut self,
        what: Versioned,
        version: u64,
        event: &mut Map<String, Value>,
    ) -> Admission {
        if self.versions.get(&what).is_some_and(|&newest| version < newest) {
            let new = event.get("type").and_then(Value::as_str) == Some("message.new");
            return match (&what, new) {
                (Versioned::Message(id), true) => match self.newest_state(id) {
                    Some(message) => {
                        event.insert("message".into(), message);
                        Admission::Completed
                    }
                    None => Admission::Stale,
                },
                _ => Admission::Stale,
            };
        }
        if version == 0 {
            // Nothing is older than a new message: remembering it could never hold an event back (and every
            // `message.new` would cost an entry).
            return Admission::Deliver;
        }
        if self.versions.len() >= MAX_VERSIONS_KEPT && !self.versions.contains_key(&what) {
            self.versions = HashMap::new();
        }
        if let Versioned::Message(id) = &what {
            let hard = event.get("hard_delete").and_then(Value::as_bool) == Some(true);
            let message = event.remove("message").filter(|_| !hard);
            self.keep_state(id.clone(), message);
        }
        self.versions.insert(what, version);
        Admission::Deliver
    }

    /// Keeps `message` as the newest state of message `id`, forgetting states kept too long or too many.
    fn keep_state(&mut self, id: String, message: Option<Value>) {
        let now = Instant::now();
        self.newest
            .retain(|(kept, at, _)| *kept != id && now.duration_since(*at) < NEWEST_STATE_KEPT);
        if self.newest.len() >= MAX_NEWEST_STATES {
            self.newest.pop_front();
        }
        self.newest.push_back((id, now, message));
    }

    /// The newest state kept of message `id` (none when it was hard deleted, or not kept).
    fn newest_state(&mut self, id: &str) -> Option<Value> {
        let at = self.newest.iter().position(|(kept, ..)| kept == id)?;
        let (_, when, message) = self.newest.remove(at)?;
        message.filter(|_| when.elapsed() < NEWEST_STATE_KEPT)
    }
}
