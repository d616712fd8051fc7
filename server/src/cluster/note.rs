//! What crosses between nodes: a [`Note`] in its [`Envelope`] (the sender, and the note's number on its topic,
//! [`crate::cluster::sequence`]), and what hearing one did here ([`Received`]).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cluster::sequence::Seq;
use crate::hub::live::{LiveNote, Topic};
use crate::hub::Privacy;

/// Something one node tells the others.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// A channel event for the channel's watchers.
    Channel {
        /// The channel.
        cid: String,
        /// The event.
        event: Map<String, Value>,
        /// The acting user and their privacy settings.
        sender: Option<(String, Privacy)>,
        /// Fields for one recipient user only.
        personal: HashMap<String, Map<String, Value>>,
        /// Users whose connections do not get it.
        #[serde(default)]
        skip_users: Vec<String>,
        /// The version of the message it carries ([`Delivery::version`]).
        #[serde(default)]
        version: Option<u64>,
    },
    /// A frame for every connection of a user.
    User {
        /// The user.
        user_id: String,
        /// The serialized event.
        frame: String,
    },
    /// A `user.presence.changed` frame for the connections following the user.
    Presence {
        /// The user whose presence changed.
        user_id: String,
        /// The serialized event.
        frame: String,
    },
    /// Every connection of a user stops watching a channel (a removed member).
    Unwatch {
        /// The channel.
        cid: String,
        /// The user.
        user_id: String,
    },
    /// Notes for a channel's watchers were lost on the way (the sender's bus queue was full, or NATS refused one):
    /// nodes drop the connections watching it, whose clients reconnect and recover.
    ResyncChannel {
        /// The channel.
        cid: String,
    },
    /// The same for a user's own notes: nodes drop the user's connections.
    ResyncUser {
        /// The user.
        user_id: String,
    },
    /// The same for a user's presence changes: nodes drop the connections following the user.
    ResyncPresence {
        /// The user.
        user_id: String,
    },
    /// Who is connected and watching on the sender ([`crate::hub::live`]).
    Live(LiveNote),
    /// The sender is shutting down: forget it now.
    Leaving,
}

impl Note {
    /// Which nodes need it: those hearing the topic; `None` for every node.
    pub fn topic(&self) -> Option<Topic> {
        match self {
            Note::Channel { cid, .. } | Note::Unwatch { cid, .. } | Note::ResyncChannel { cid } => {
                Some(Topic::Channel(cid.clone()))
            }
            Note::User { user_id, .. } | Note::ResyncUser { user_id } => {
                Some(Topic::User(user_id.clone()))
            }
            Note::Presence { user_id, .. } | Note::ResyncPresence { user_id } => {
                Some(Topic::Presence(user_id.clone()))
            }
            Note::Live(_) | Note::Leaving => None,
        }
    }
}

/// A note and the node it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sending node's id.
    pub node: String,
    /// What it says.
    pub note: Note,
    /// Its place among the sender's notes on its topic ([`sequence`]); `None` for notes every node hears, and for
    /// resync notes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<Seq>,
}

impl Envelope {
    /// A note sent without a number.
    pub fn unnumbered(node: String, note: Note) -> Self {
        Envelope { node, note, seq: None }
    }
}

/// What a note heard from another node did here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    /// Applied (or nothing to do).
    Applied,
    /// It showed this node out of step: its view of the sender's live state (its whole state was asked for), or a
    /// topic's notes lost on the sender's side (the topic's connections here were dropped to recover).
    Resynced,
    /// Notes before it on its topic never came: the topic's connections here were dropped to recover.
    Gap,
    /// Its number was seen already: skipped.
    Repeat,
}

impl Received {
    /// Whether connections or the live state had to resync.
    pub fn resynced(self) -> bool {
        matches!(self, Received::Resynced | Received::Gap)
    }
}
