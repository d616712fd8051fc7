//! Several nodes as one server: what crosses between them, over a [`Bus`].
//!
//! Every node serves its own connections from its own [`Hub`]. What a node publishes (a channel event with its
//! sender's privacy settings, a frame for all of a user's connections, a presence change) is fanned out locally
//! at once and also sent as an owned, serializable [`Note`] over the bus; every other node applies it to its own
//! hub, so privacy filtering stays in [`Hub::publish`] on every node. Who is connected and watching travels as
//! each node's full [`LiveState`], sent when it changed (checked every [`STATE_CHECK`]) and at least every
//! [`HEARTBEAT`]; a node not heard from for [`PEER_TIMEOUT`] stops counting, and a node shutting down says so
//! at once. Watcher counts, watcher lists and "is this user online" are the union of the local hub and the live
//! peers.
//!
//! Buses: [`LocalBus`] (the default: one process, nothing to send) and [`crate::nats::NatsBus`] (`--bus
//! nats://…`). When the NATS connection comes back after a break, notes sent meanwhile may be lost, so the node
//! drops its connections (WebSocket close 1001): clients reconnect and their recovery fills the gap.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::hub::{Delivery, Frame, Hub, LiveState, Privacy};

/// How often a node sends its live state even when nothing changed.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A peer not heard from for this long no longer counts (its watchers and users are dropped).
pub const PEER_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a node checks whether its live state changed (the most a peer's counts lag behind).
pub const STATE_CHECK: Duration = Duration::from_millis(50);
/// Notes waiting to be sent past which new ones are dropped (and counted in `chat_bus_dropped_total`).
pub const BUS_QUEUE: usize = 10_000;

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
    /// The sender's whole live state, replacing what was known of it.
    State(LiveState),
    /// The sender is shutting down: forget it now.
    Leaving,
}

/// A note and the node it comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    /// The sending node's id.
    pub node: String,
    /// What it says.
    pub note: Note,
}

/// Carries notes to the other nodes.
pub trait Bus: Send + Sync + 'static {
    /// Queues `envelope` for every other node; `false` when it had to be dropped (queue full).
    fn send(&self, envelope: Envelope) -> bool;
    /// Whether the bus is connected (`/readyz`).
    fn is_connected(&self) -> bool;
    /// Whether other nodes exist at all (`false`: skip building notes).
    fn is_shared(&self) -> bool;
}

/// The in-process bus of a single node: there is no one to tell.
#[derive(Debug, Default)]
pub struct LocalBus;

impl Bus for LocalBus {
    fn send(&self, _envelope: Envelope) -> bool {
        true
    }
    fn is_connected(&self) -> bool {
        true
    }
    fn is_shared(&self) -> bool {
        false
    }
}

/// What is known of one other node.
#[derive(Debug)]
struct Peer {
    /// When it was last heard from.
    seen: Instant,
    /// Its live state.
    state: LiveState,
}

/// This node's view of the cluster, and its way of telling the others.
pub struct Cluster {
    /// This node's id (also the prefix of its connection ids).
    node_id: String,
    /// The bus.
    bus: Box<dyn Bus>,
    /// Node id → what is known of it.
    peers: Mutex<HashMap<String, Peer>>,
    /// Users who were online on nodes that left or stopped answering, not yet looked at ([`Cluster::take_departed`]).
    departed: Mutex<Vec<String>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node_id", &self.node_id).finish()
    }
}

impl Cluster {
    /// A node named `node_id` on `bus`.
    pub fn new(node_id: String, bus: Box<dyn Bus>) -> Self {
        Cluster { node_id, bus, peers: Mutex::default(), departed: Mutex::default() }
    }

    /// This node's id.
    pub fn node_id(&self) -> &str {
        &self.node_id
    }

    /// Whether the bus is connected.
    pub fn bus_connected(&self) -> bool {
        self.bus.is_connected()
    }

    /// Sends `note` to the other nodes, if there are any; `false` when it was dropped.
    pub fn tell(&self, note: impl FnOnce() -> Note) -> bool {
        if !self.bus.is_shared() {
            return true;
        }
        self.bus.send(Envelope { node: self.node_id.clone(), note: note() })
    }

    /// Runs `read` on the states of the peers heard from within [`PEER_TIMEOUT`], under the peers' lock.
    fn with_live_peers<T>(&self, read: impl FnOnce(Vec<&LiveState>) -> T) -> T {
        let peers = self.peers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let live: Vec<&LiveState> = peers
            .values()
            .filter(|peer| peer.seen.elapsed() < PEER_TIMEOUT)
            .map(|peer| &peer.state)
            .collect();
        read(live)
    }

    /// How many other nodes count now.
    pub fn live_peers(&self) -> usize {
        self.with_live_peers(|peers| peers.len())
    }

    /// Distinct visible users watching `cid` on any node, sorted.
    pub fn watcher_users(&self, hub: &Hub, cid: &str) -> Vec<String> {
        let mut users: BTreeSet<String> = hub.watcher_users(cid).into_iter().collect();
        self.with_live_peers(|peers| {
            for peer in peers {
                users.extend(peer.watchers.get(cid).into_iter().flatten().cloned());
            }
        });
        users.into_iter().collect()
    }

    /// How many distinct visible users watch `cid` on any node.
    pub fn watcher_count(&self, hub: &Hub, cid: &str) -> usize {
        if !self.bus.is_shared() {
            return hub.watcher_count(cid);
        }
        self.watcher_users(hub, cid).len()
    }

    /// Whether `user_id` has a connection on another node.
    pub fn online_elsewhere(&self, user_id: &str) -> bool {
        self.with_live_peers(|peers| {
            peers.iter().any(|peer| peer.online.iter().any(|user| user == user_id))
        })
    }

    /// Whether `user_id` has a connection on any node.
    pub fn is_connected(&self, hub: &Hub, user_id: &str) -> bool {
        hub.is_connected(user_id) || (self.bus.is_shared() && self.online_elsewhere(user_id))
    }

    /// Users with a connection on any node.
    pub fn connected_users(&self, hub: &Hub) -> Vec<String> {
        let mut users: BTreeSet<String> = hub.connected_users().into_iter().collect();
        self.with_live_peers(|peers| {
            for peer in peers {
                users.extend(peer.online.iter().cloned());
            }
        });
        users.into_iter().collect()
    }

    /// Applies a note from another node to this node's hub; `followers` lists this node's connections following
    /// a user's presence.
    pub fn receive(&self, envelope: Envelope, hub: &Hub, followers: impl Fn(&str) -> Vec<String>) {
        if envelope.node == self.node_id {
            return;
        }
        let mut peers = self.peers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match envelope.note {
            Note::State(state) => {
                peers.insert(envelope.node, Peer { seen: Instant::now(), state });
                return;
            }
            Note::Leaving => {
                if let Some(peer) = peers.remove(&envelope.node) {
                    self.note_departed(peer);
                }
                return;
            }
            _ => {
                if let Some(peer) = peers.get_mut(&envelope.node) {
                    peer.seen = Instant::now();
                }
            }
        }
        drop(peers);
        match envelope.note {
            Note::Channel { cid, event, sender, personal, skip_users } => {
                hub.publish(Delivery {
                    cid: &cid,
                    event,
                    sender: sender.as_ref().map(|(user, privacy)| (user.as_str(), *privacy)),
                    personal,
                    skip_users: &skip_users,
                });
            }
            Note::User { user_id, frame } => {
                hub.send_to_user(&user_id, Frame::from(frame));
            }
            Note::Presence { user_id, frame } => {
                let frame = Frame::from(frame);
                for connection_id in followers(&user_id) {
                    hub.send_to_connection(&connection_id, frame.clone());
                }
            }
            Note::Unwatch { cid, user_id } => hub.unwatch_user(&cid, &user_id),
            Note::State(_) | Note::Leaving => {}
        }
    }

    /// Forgets peers not heard from for [`PEER_TIMEOUT`]; returns how many count still.
    pub fn prune(&self) -> usize {
        let mut peers = self.peers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let dead: Vec<String> = peers
            .iter()
            .filter(|(_, peer)| peer.seen.elapsed() >= PEER_TIMEOUT)
            .map(|(node, _)| node.clone())
            .collect();
        for node in dead {
            if let Some(peer) = peers.remove(&node) {
                self.note_departed(peer);
            }
        }
        peers.len()
    }

    fn note_departed(&self, peer: Peer) {
        let mut departed = self.departed.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        departed.extend(peer.state.online);
    }

    /// Users who were online on a node that left or died and are online nowhere now: every node announces them
    /// offline to its own followers (each node sees the departure itself, so nothing goes on the bus).
    pub fn take_departed(&self, hub: &Hub) -> Vec<String> {
        let users = std::mem::take(
            &mut *self.departed.lock().unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        let mut users: Vec<String> =
            users.into_iter().filter(|user| !self.is_connected(hub, user)).collect();
        users.sort();
        users.dedup();
        users
    }
}

/// Sends `note` to the other nodes, if there are any, counting it in `chat_bus_dropped_total` when the bus had to
/// drop it.
pub fn tell(state: &crate::AppState, note: impl FnOnce() -> Note) {
    if !state.cluster.tell(note) {
        state.metrics.bus_dropped.inc();
    }
}

/// The note for a channel delivery.
pub fn channel_note(delivery: &Delivery<'_>) -> Note {
    Note::Channel {
        cid: delivery.cid.to_owned(),
        event: delivery.event.clone(),
        sender: delivery.sender.map(|(user, privacy)| (user.to_owned(), privacy)),
        personal: delivery.personal.clone(),
        skip_users: delivery.skip_users.to_vec(),
    }
}

/// A new node id: short, lowercase letters and digits (connection ids start with it and `-`).
pub fn random_node_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_owned()
}

/// Whether `id` may name a node: 1–32 lowercase ASCII letters and digits.
pub fn valid_node_id(id: &str) -> bool {
    (1..=32).contains(&id.len())
        && id.bytes().all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// A bus that only says it is shared, so the cluster builds notes.
    struct Shared;
    impl Bus for Shared {
        fn send(&self, _: Envelope) -> bool {
            true
        }
        fn is_connected(&self) -> bool {
            true
        }
        fn is_shared(&self) -> bool {
            true
        }
    }

    #[test]
    fn peers_add_to_counts_until_they_leave() {
        let cluster = Cluster::new("a".into(), Box::new(Shared));
        let hub = Hub::default();
        let _alice = hub.register("a-1", "alice", false, 10).unwrap();
        hub.watch("messaging:x", "a-1");
        let state = LiveState {
            watchers: HashMap::from([("messaging:x".into(), vec!["alice".into(), "bob".into()])]),
            online: vec!["bob".into()],
        };
        cluster.receive(Envelope { node: "b".into(), note: Note::State(state) }, &hub, |_| vec![]);
        assert_eq!(cluster.watcher_count(&hub, "messaging:x"), 2, "alice counts once");
        assert!(cluster.is_connected(&hub, "bob"));
        assert_eq!(cluster.connected_users(&hub), vec!["alice".to_string(), "bob".to_string()]);
        cluster.receive(Envelope { node: "b".into(), note: Note::Leaving }, &hub, |_| vec![]);
        assert_eq!(cluster.watcher_count(&hub, "messaging:x"), 1);
        assert!(!cluster.is_connected(&hub, "bob"));
        assert_eq!(cluster.take_departed(&hub), vec!["bob".to_string()], "alice is still here");
        assert!(cluster.take_departed(&hub).is_empty());
    }

    #[test]
    fn a_channel_note_is_filtered_by_the_senders_privacy_on_the_receiving_node() {
        let cluster = Cluster::new("a".into(), Box::new(Shared));
        let hub = Hub::default();
        let mut bob = hub.register("a-1", "bob", false, 10).unwrap();
        hub.watch("messaging:x", "a-1");
        let quiet = Privacy { typing_indicators: false, read_receipts: true };
        let typing = json!({"type": "typing.start", "cid": "messaging:x"});
        let note = Note::Channel {
            cid: "messaging:x".into(),
            event: typing.as_object().unwrap().clone(),
            sender: Some(("alice".into(), quiet)),
            personal: HashMap::new(),
            skip_users: Vec::new(),
        };
        let wire = serde_json::to_string(&Envelope { node: "b".into(), note }).unwrap();
        cluster.receive(serde_json::from_str(&wire).unwrap(), &hub, |_| vec![]);
        assert!(bob.try_recv().is_none(), "typing of a user with typing indicators off");
        let loud = Privacy { typing_indicators: true, read_receipts: true };
        let note = Note::Channel {
            cid: "messaging:x".into(),
            event: typing.as_object().unwrap().clone(),
            sender: Some(("alice".into(), loud)),
            personal: HashMap::new(),
            skip_users: Vec::new(),
        };
        cluster.receive(Envelope { node: "b".into(), note }, &hub, |_| vec![]);
        assert!(bob.try_recv().unwrap().contains("typing.start"));
    }

    #[test]
    fn own_notes_are_ignored_and_node_ids_are_checked() {
        let cluster = Cluster::new("a".into(), Box::new(Shared));
        let hub = Hub::default();
        let state = LiveState { watchers: HashMap::new(), online: vec!["ghost".into()] };
        cluster.receive(Envelope { node: "a".into(), note: Note::State(state) }, &hub, |_| vec![]);
        assert!(!cluster.is_connected(&hub, "ghost"));
        assert!(valid_node_id(&random_node_id()));
        assert!(!valid_node_id("Node-1") && !valid_node_id(""));
    }
}
