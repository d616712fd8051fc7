//! Several nodes as one server: what crosses between them, over a [`Bus`].
//!
//! Every node serves its own connections from its own [`Hub`]. What a node publishes (a channel event with its
//! sender's privacy settings, a frame for all of a user's connections, a presence change) is fanned out locally
//! at once and also sent as an owned, serializable [`Note`] over the bus; every other node applies it to its own
//! hub, so privacy filtering stays in [`Hub::publish`] on every node.
//!
//! Notes are routed by interest ([`Note::topic`]): a channel's notes reach only the nodes where a connection
//! watches it, a user's own notes only the nodes where the user has a connection. A node starts hearing a topic
//! ([`Cluster::listen`]) before it reads the state its connection is given, and stops once the topic's last local
//! connection is gone. Who is connected and watching travels as numbered deltas with a digest every
//! [`HEARTBEAT`] ([`crate::hub::live`]): each note bounded, a gap or a disagreeing digest answered by a whole state in
//! parts. A node not heard from for [`PEER_TIMEOUT`] stops counting, and a node shutting down says so at once.
//! Watcher counts, watcher lists and "is this user online" are the union of the local hub and the live peers.
//!
//! Buses: [`LocalBus`] (the default: one process, nothing to send) and [`crate::cluster::nats::NatsBus`] (`--bus
//! nats://…`). When the NATS connection comes back after a break, notes sent meanwhile may be lost, so the node
//! drops its connections (WebSocket close 1001): clients reconnect and their recovery fills the gap.

pub mod interest;
pub mod nats;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::cluster::interest::Interest;
pub use crate::cluster::interest::Ready;
use crate::hub::live::{LiveNote, Peer, Topic, View};
use crate::hub::{Delivery, Frame, Hub, Privacy};

/// How often a node sends its digest (position and state size) even when nothing changed.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A peer not heard from for this long no longer counts (its watchers and users are dropped).
pub const PEER_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a node sends the changes of its live state (the most a peer's counts lag behind).
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
}

/// Carries notes to the other nodes.
pub trait Bus: Send + Sync + 'static {
    /// Queues `envelope` for the other nodes hearing its topic; `false` when it had to be dropped (queue full).
    fn send(&self, envelope: Envelope) -> bool;
    /// Starts hearing `topic`; `ready` is set once notes on it arrive here.
    fn listen(&self, topic: Topic, ready: Arc<Ready>);
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
    fn listen(&self, _topic: Topic, ready: Arc<Ready>) {
        ready.set();
    }
    fn is_connected(&self) -> bool {
        true
    }
    fn is_shared(&self) -> bool {
        false
    }
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
    /// The topics this node hears or is starting to hear.
    interest: Interest,
    /// A peer asked for this node's whole live state.
    sync_requested: AtomicBool,
    /// Topics whose notes the bus had to drop, not yet announced for a resync ([`Cluster::take_lost`]); at most
    /// [`BUS_QUEUE`].
    lost: Mutex<Vec<Topic>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster").field("node_id", &self.node_id).finish()
    }
}

impl Cluster {
    /// A node named `node_id` on `bus`.
    pub fn new(node_id: String, bus: Box<dyn Bus>) -> Self {
        Cluster {
            node_id,
            bus,
            peers: Mutex::default(),
            departed: Mutex::default(),
            interest: Interest::default(),
            sync_requested: AtomicBool::new(false),
            lost: Mutex::default(),
        }
    }

    /// Whether other nodes exist.
    pub fn is_shared(&self) -> bool {
        self.bus.is_shared()
    }

    /// Makes sure this node hears `topic`'s notes, waiting (at most [`crate::cluster::interest::LISTEN_WAIT`], holding
    /// no thread) until it does; call it after the hub has the connection that needs it, and before reading the
    /// state that connection is given, so that no note falls between the two.
    pub async fn listen(&self, topic: Topic) {
        self.listen_all([topic]).await;
    }

    /// [`Cluster::listen`] for several topics at once: every subscription is asked for before any is waited on.
    pub async fn listen_all(&self, topics: impl IntoIterator<Item = Topic>) {
        if self.bus.is_shared() {
            let subscribe = |topic, ready| self.bus.listen(topic, ready);
            self.interest.listen_all(topics, subscribe).await;
        }
    }

    /// Stops hearing `topic` if no connection here needs it any more (`needed` says whether one does); `true`
    /// when the bus should drop it.
    pub fn unlisten_if_idle(&self, topic: &Topic, needed: impl Fn(&Topic) -> bool) -> bool {
        self.interest.unlisten_if_idle(topic, needed)
    }

    /// Stops hearing every topic no connection here needs; returns them, for the bus to drop.
    pub fn sweep_topics(&self, needed: impl Fn(&Topic) -> bool) -> Vec<Topic> {
        self.interest.sweep(needed)
    }

    /// Whether a peer asked for this node's whole live state since the last call.
    pub fn take_sync_request(&self) -> bool {
        self.sync_requested.swap(false, Ordering::Relaxed)
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
        let note = note();
        let topic = note.topic();
        let sent = self.bus.send(Envelope { node: self.node_id.clone(), note });
        if let (false, Some(topic)) = (sent, topic) {
            self.lost(topic);
        }
        sent
    }

    /// Records that a note on `topic` never reached the bus (its queue was full, or NATS refused it): the nodes
    /// hearing the topic are told to resync it ([`Cluster::take_lost`]).
    pub fn lost(&self, topic: Topic) {
        let mut lost = self.lost.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if lost.len() < BUS_QUEUE {
            lost.push(topic);
        }
    }

    /// The topics whose notes were dropped since the last call, once each: the bus tells the nodes hearing them to
    /// resync ([`Note::ResyncChannel`], [`Note::ResyncUser`]).
    pub fn take_lost(&self) -> Vec<Topic> {
        let mut lost =
            std::mem::take(&mut *self.lost.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut seen = std::collections::HashSet::new();
        lost.retain(|topic| seen.insert(topic.clone()));
        lost
    }

    /// The note asking the nodes hearing `topic` to resync it.
    pub fn resync_note(topic: Topic) -> Note {
        match topic {
            Topic::Channel(cid) => Note::ResyncChannel { cid },
            Topic::User(user_id) => Note::ResyncUser { user_id },
            Topic::Presence(user_id) => Note::ResyncPresence { user_id },
        }
    }

    /// Runs `read` on the states of the peers heard from within [`PEER_TIMEOUT`], under the peers' lock.
    fn with_live_peers<T>(&self, read: impl FnOnce(Vec<&View>) -> T) -> T {
        let peers = self.peers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let live: Vec<&View> = peers
            .values()
            .filter(|peer| peer.seen.elapsed() < PEER_TIMEOUT)
            .map(|peer| &peer.view)
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
        self.with_live_peers(|peers| peers.iter().any(|peer| peer.online.contains(user_id)))
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
    /// a user's presence. `true` when it showed this node out of step: its view of the sender's live state (its
    /// whole state was asked for), or a channel's or user's events (their connections were dropped to recover).
    pub fn receive(
        &self,
        envelope: Envelope,
        hub: &Hub,
        followers: impl Fn(&str) -> Vec<String>,
    ) -> bool {
        if envelope.node == self.node_id {
            return false;
        }
        let mut peers = self.peers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match envelope.note {
            Note::Live(LiveNote::SyncRequest { node }) => {
                if node == self.node_id {
                    self.sync_requested.store(true, Ordering::Relaxed);
                }
                return false;
            }
            Note::Live(note) => {
                let now = Instant::now();
                let peer = peers.entry(envelope.node.clone()).or_insert_with(|| Peer::new(now));
                let ask = peer.receive(note, now);
                // The first whole state of a peer just met is no resync.
                let out_of_step = ask && peer.met();
                drop(peers);
                if ask {
                    self.tell(|| Note::Live(LiveNote::SyncRequest { node: envelope.node }));
                }
                return out_of_step;
            }
            Note::Leaving => {
                if let Some(peer) = peers.remove(&envelope.node) {
                    self.note_departed(peer);
                }
                return false;
            }
            _ => {
                if let Some(peer) = peers.get_mut(&envelope.node) {
                    peer.seen = Instant::now();
                }
            }
        }
        drop(peers);
        match envelope.note {
            Note::Channel { cid, event, sender, personal, skip_users, version } => {
                hub.publish(Delivery {
                    cid: &cid,
                    event,
                    sender: sender.as_ref().map(|(user, privacy)| (user.as_str(), *privacy)),
                    personal,
                    skip_users: &skip_users,
                    version,
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
            Note::ResyncChannel { cid } => {
                let dropped = hub.drop_watchers(&cid);
                tracing::warn!(cid, dropped, "notes of a channel were lost: its watchers resync");
                return true;
            }
            Note::ResyncUser { user_id } => {
                let dropped = hub.drop_user(&user_id);
                tracing::warn!(dropped, "notes of a user were lost: their connections resync");
                return true;
            }
            Note::ResyncPresence { user_id } => {
                let dropped = hub.drop_connections(&followers(&user_id));
                tracing::warn!(
                    dropped,
                    "presence notes were lost: the followers' connections resync"
                );
                return true;
            }
            Note::Live(_) | Note::Leaving => {}
        }
        false
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
        departed.extend(peer.view.online);
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
        version: delivery.version,
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
    use crate::hub::live::Change;
    use serde_json::json;

    /// A bus that only says it is shared, so the cluster builds notes, and keeps what it accepts; `shared(false)`
    /// has a full queue.
    #[derive(Clone)]
    struct Shared {
        accepts: bool,
        kept: Arc<Mutex<Vec<Envelope>>>,
    }
    fn shared(accepts: bool) -> Shared {
        Shared { accepts, kept: Arc::default() }
    }
    impl Bus for Shared {
        fn send(&self, envelope: Envelope) -> bool {
            if self.accepts {
                self.kept.lock().unwrap().push(envelope);
            }
            self.accepts
        }
        fn listen(&self, _: Topic, ready: Arc<Ready>) {
            ready.set();
        }
        fn is_connected(&self) -> bool {
            true
        }
        fn is_shared(&self) -> bool {
            true
        }
    }

    /// A peer's whole live state in one part.
    fn whole(online: &[&str], watches: &[(&str, &str)]) -> Note {
        let mut changes: Vec<Change> =
            online.iter().map(|user| Change::Online(user.to_string())).collect();
        changes.extend(
            watches.iter().map(|(cid, user)| Change::Watch(cid.to_string(), user.to_string())),
        );
        Note::Live(LiveNote::Sync { epoch: 7, seq: 0, part: 0, last: true, changes })
    }

    #[test]
    fn peers_add_to_counts_until_they_leave() {
        let cluster = Cluster::new("a".into(), Box::new(shared(true)));
        let hub = Hub::default();
        let _alice = hub.register("a-1", "alice", false, 10).unwrap();
        hub.watch("messaging:x", "a-1");
        let state = whole(&["bob"], &[("messaging:x", "alice"), ("messaging:x", "bob")]);
        cluster.receive(Envelope { node: "b".into(), note: state }, &hub, |_| vec![]);
        assert_eq!(cluster.watcher_count(&hub, "messaging:x"), 2, "alice counts once");
        assert!(cluster.is_connected(&hub, "bob"));
        assert_eq!(cluster.connected_users(&hub), vec!["alice".to_string(), "bob".to_string()]);
        let delta = LiveNote::Delta {
            epoch: 7,
            seq: 1,
            changes: vec![Change::Unwatch("messaging:x".into(), "bob".into())],
        };
        cluster.receive(Envelope { node: "b".into(), note: Note::Live(delta) }, &hub, |_| vec![]);
        assert_eq!(cluster.watcher_count(&hub, "messaging:x"), 1, "bob stopped watching");
        cluster.receive(Envelope { node: "b".into(), note: Note::Leaving }, &hub, |_| vec![]);
        assert_eq!(cluster.watcher_count(&hub, "messaging:x"), 1);
        assert!(!cluster.is_connected(&hub, "bob"));
        assert_eq!(cluster.take_departed(&hub), vec!["bob".to_string()], "alice is still here");
        assert!(cluster.take_departed(&hub).is_empty());
    }

    #[test]
    fn meeting_a_peer_asks_for_its_whole_state_without_counting_a_resync() {
        let kept = shared(true);
        let cluster = Cluster::new("a".into(), Box::new(kept.clone()));
        let hub = Hub::default();
        let digest = LiveNote::Digest {
            epoch: 7,
            seq: 3,
            size: crate::hub::live::Size { online: 1, watches: 0 },
        };
        let b = |note| Envelope { node: "b".into(), note };
        let counted = cluster.receive(b(Note::Live(digest)), &hub, |_| vec![]);
        assert!(!counted, "a node just met is not out of step");
        let asked = LiveNote::SyncRequest { node: "b".into() };
        assert_eq!(kept.kept.lock().unwrap().pop().map(|sent| sent.note), Some(Note::Live(asked)));
        // Once met, a gap is a resync (`a_gap_in_a_peers_deltas_asks_for_its_whole_state_and_counts_it`).
    }

    #[test]
    fn a_gap_in_a_peers_deltas_asks_for_its_whole_state_and_counts_it() {
        let cluster = Cluster::new("a".into(), Box::new(shared(true)));
        let hub = Hub::default();
        let first = cluster.receive(
            Envelope { node: "b".into(), note: whole(&["bob"], &[]) },
            &hub,
            |_| vec![],
        );
        assert!(!first, "a whole state puts the peer in step");
        let skipped =
            LiveNote::Delta { epoch: 7, seq: 2, changes: vec![Change::Online("carol".into())] };
        let asked = cluster.receive(
            Envelope { node: "b".into(), note: Note::Live(skipped) },
            &hub,
            |_| vec![],
        );
        assert!(asked, "delta 1 never came");
        assert!(
            cluster.is_connected(&hub, "bob"),
            "the stale view is kept until the whole state arrives"
        );
    }

    #[test]
    fn a_channel_note_is_filtered_by_the_senders_privacy_on_the_receiving_node() {
        let cluster = Cluster::new("a".into(), Box::new(shared(true)));
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
            version: None,
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
            version: None,
        };
        cluster.receive(Envelope { node: "b".into(), note }, &hub, |_| vec![]);
        assert!(bob.try_recv().unwrap().contains("typing.start"));
    }

    #[test]
    fn an_edit_from_one_node_arriving_after_a_delete_from_another_is_not_delivered() {
        let cluster = Cluster::new("a".into(), Box::new(shared(true)));
        let hub = Hub::default();
        let mut bob = hub.register("a-1", "bob", false, 10).unwrap();
        hub.watch("messaging:x", "a-1");
        let note = |kind: &str, version| Note::Channel {
            cid: "messaging:x".into(),
            event: json!({"type": kind, "message": {"id": "m1"}}).as_object().unwrap().clone(),
            sender: None,
            personal: HashMap::new(),
            skip_users: Vec::new(),
            version: Some(version),
        };
        let deleted = Envelope { node: "c".into(), note: note("message.deleted", 2) };
        cluster.receive(deleted, &hub, |_| vec![]);
        let edited = Envelope { node: "b".into(), note: note("message.updated", 1) };
        let wire = serde_json::to_string(&edited).unwrap();
        cluster.receive(serde_json::from_str(&wire).unwrap(), &hub, |_| vec![]);
        assert!(bob.try_recv().unwrap().contains("message.deleted"));
        assert!(bob.try_recv().is_none(), "the older edit is not delivered");
    }

    #[tokio::test]
    async fn notes_a_full_queue_dropped_make_the_nodes_hearing_them_drop_those_connections() {
        let sender = Cluster::new("a".into(), Box::new(shared(false)));
        let unwatch = || Note::Unwatch { cid: "messaging:x".into(), user_id: "bob".into() };
        assert!(!sender.tell(unwatch) && !sender.tell(unwatch));
        assert!(!sender.tell(|| Note::User { user_id: "bob".into(), frame: "{}".into() }));
        let lost = sender.take_lost();
        assert_eq!(lost, vec![Topic::Channel("messaging:x".into()), Topic::User("bob".into())]);
        assert!(sender.take_lost().is_empty(), "announced once");

        let receiver = Cluster::new("b".into(), Box::new(shared(true)));
        let hub = Hub::default();
        let mut watcher = hub.register("b-1", "carol", false, 10).unwrap();
        let mut other = hub.register("b-2", "dave", false, 10).unwrap();
        hub.watch("messaging:x", "b-1");
        hub.watch("messaging:y", "b-2");
        let resync = Cluster::resync_note(lost[0].clone());
        assert!(receiver.receive(Envelope { node: "a".into(), note: resync }, &hub, |_| vec![]));
        assert!(
            watcher.recv().await.is_none(),
            "carol's connection is dropped: her client recovers"
        );
        assert_eq!(hub.connection_count(), 1, "dave watches another channel");
        assert!(other.try_recv().is_none());
    }

    #[test]
    fn own_notes_are_ignored_and_node_ids_are_checked() {
        let cluster = Cluster::new("a".into(), Box::new(shared(true)));
        let hub = Hub::default();
        cluster.receive(
            Envelope { node: "a".into(), note: whole(&["ghost"], &[]) },
            &hub,
            |_| vec![],
        );
        assert!(!cluster.is_connected(&hub, "ghost"));
        assert!(valid_node_id(&random_node_id()));
        assert!(!valid_node_id("Node-1") && !valid_node_id(""));
    }

    #[test]
    fn notes_are_routed_to_the_nodes_that_need_them() {
        let channel = Note::Unwatch { cid: "messaging:x".into(), user_id: "bob".into() };
        assert_eq!(channel.topic(), Some(Topic::Channel("messaging:x".into())));
        let own = Note::User { user_id: "bob".into(), frame: "{}".into() };
        assert_eq!(own.topic(), Some(Topic::User("bob".into())));
        let presence = Note::Presence { user_id: "bob".into(), frame: "{}".into() };
        assert_eq!(presence.topic(), Some(Topic::Presence("bob".into())));
        assert_eq!(Note::Leaving.topic(), None, "every node hears a node leave");
    }

    #[tokio::test]
    async fn lost_presence_notes_make_the_nodes_hearing_them_drop_the_followers_connections() {
        let sender = Cluster::new("a".into(), Box::new(shared(false)));
        assert!(!sender.tell(|| Note::Presence { user_id: "bob".into(), frame: "{}".into() }));
        let lost = sender.take_lost();
        assert_eq!(lost, vec![Topic::Presence("bob".into())]);

        let receiver = Cluster::new("b".into(), Box::new(shared(true)));
        let hub = Hub::default();
        let mut follower = hub.register("b-1", "carol", false, 10).unwrap();
        let mut other = hub.register("b-2", "dave", false, 10).unwrap();
        let resync = Cluster::resync_note(lost[0].clone());
        let followers = |user: &str| if user == "bob" { vec!["b-1".to_owned()] } else { vec![] };
        assert!(receiver.receive(Envelope { node: "a".into(), note: resync }, &hub, followers));
        assert!(follower.recv().await.is_none(), "carol follows bob: her client recovers");
        assert_eq!(hub.connection_count(), 1, "dave follows nobody");
        assert!(other.try_recv().is_none());
    }
}
