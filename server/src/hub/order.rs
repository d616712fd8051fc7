//! The order a channel's events reach its watchers in: each event is admitted and queued for every watcher under
//! the channel's [`Order`] lock, so no other event of the channel is queued between (two events published at once,
//! a local request's and a note from another node, reach every outbox in the order they were admitted); and an
//! event carrying an older state of a message, a member or the channel than one delivered before ([`Versioned`]) is
//! not admitted at all.

use std::collections::HashMap;

use serde_json::{Map, Value};

/// Messages and members whose latest delivered version one channel remembers, at most.
pub const MAX_VERSIONS_KEPT: usize = 4096;

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

/// One channel's delivery order: held from an event's admission until it is queued for every watcher.
#[derive(Debug, Default)]
pub(super) struct Order {
    /// Message, member or the channel → the newest version of it delivered here, so that an older state arriving
    /// later (two requests finishing in the other order, or notes from two nodes) never overwrites a newer one. At
    /// most [`MAX_VERSIONS_KEPT`] (past it the memory starts again).
    versions: HashMap<Versioned, u64>,
}

impl Order {
    /// Whether an event carrying version `version` of `what` may be delivered: not older than the newest
    /// delivered; remembers it.
    pub(super) fn admit(&mut self, what: Versioned, version: u64) -> bool {
        if self.versions.get(&what).is_some_and(|&newest| version < newest) {
            return false;
        }
        if version == 0 {
            // Nothing is older than a new message: remembering it could never hold an event back (and every
            // `message.new` would cost an entry).
            return true;
        }
        if self.versions.len() >= MAX_VERSIONS_KEPT && !self.versions.contains_key(&what) {
            self.versions = HashMap::new();
        }
        self.versions.insert(what, version);
        true
    }
}
