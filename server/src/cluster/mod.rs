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
//! Every note routed by topic is numbered per sender and topic ([`sequence`]): a node hearing a jump drops the
//! topic's connections here (their clients recover) and counts the gap, so a note lost anywhere between two nodes is
//! never a silent gap. A channel's message events also carry the message's version, and its channel and member
//! events the channel's, each taken with its write ([`Delivery::version`]): of two nodes' events on one message,
//! member or channel, no watcher gets an older state after a newer one.
//!
//! Buses: [`LocalBus`] (the default: one process, nothing to send) and [`crate::cluster::nats::NatsBus`] (`--bus
//! nats://…`). When the NATS connection comes back after a break, notes sent meanwhile may be lost, so the node
//! drops its connections (WebSocket close 1001): clients reconnect and their recovery fills the gap.

pub mod interest;
pub mod nats;
mod note;
pub mod sequence;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::cluster::interest::Interest;
pub use crate::cluster::interest::Ready;
pub use crate::cluster::note::{Envelope, Note, Received};
use crate::cluster::sequence::{Heard, Numbering, Order};
use crate::hub::live::{LiveNote, Peer, Topic, View};
use crate::hub::{Delivery, Frame, Hub};

/// How often a node sends its digest (position and state size) even when nothing changed.
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// A peer not heard from for this long no longer counts (its watchers and users are dropped).
pub const PEER_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a node sends the changes of its live state (the most a peer's counts lag behind).
pub const STATE_CHECK: Duration = Duration::from_millis(50);
/// Notes waiting to be sent past which new ones are dropped (and counted in `chat_bus_dropped_total`).
pub const BUS_QUEUE: usize = 10_000;

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
    /// The numbers this node gives its notes.
    numbering: Mutex<Numbering>,
    /// Where the other nodes' numbers stand on the topics heard here.
    heard: Mutex<Heard>,
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
            numbering: Mutex::new(Numbering::new(random_epoch())),
            heard: Mutex::default(),
        }
    }

    fn heard(&self) -> std::sync::MutexGuard<'_, Heard> {
        self.heard.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
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
            let subscribe = |topic, ready| {
                // Heard again: the first note from each sender sets where its numbers stand.
                self.heard().forget_topic(&topic);
                self.bus.listen(topic, ready)
            };
            self.interest.listen_all(topics, subscribe).await;
        }
    }

    /// Stops hearing `topic` if no connection here needs it any more (`needed` says whether one does); `true`
    /// when the bus should drop it.
    pub fn unlisten_if_idle(&self, topic: &Topic, needed: impl Fn(&Topic) -> bool) -> bool {
        let idle = self.interest.unlisten_if_idle(topic, needed);
        if idle {
            self.heard().forget_topic(topic);
        }
        idle
    }

    /// Stops hearing every topic no connection here needs; returns them, for the bus to drop.
    pub fn sweep_topics(&self, needed: impl Fn(&Topic) -> bool) -> Vec<Topic> {
        let idle = self.interest.sweep(needed);
        let mut heard = self.heard();
        for topic in &idle {
            heard.forget_topic(topic);
        }
        idle
    }

    /// Forgets where every other node's numbers stand: call it when this node drops all its connections (its bus
    /// came back, or NATS dropped notes for it), so that the first note on each topic afterwards is no gap.
    pub fn forget_numbers(&self) {
        self.heard().forget_all();
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

    /// Sends `note` to the other nodes, if there are any; `false` when it was dropped. A note with a topic is
    /// numbered and queued under one lock, so it leaves in number order.
    pub fn tell(&self, note: impl FnOnce() -> Note) -> bool {
        if !self.bus.is_shared() {
            return true;
        }
        let note = note();
        let topic = note.topic();
        let node = self.node_id.clone();
        let sent = match &topic {
            Some(topic) => {
                let mut numbering =
                    self.numbering.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                numbering.send(topic, random_epoch, |seq| {
                    self.bus.send(Envelope { node, note, seq: Some(seq) })
                })
            }
            None => self.bus.send(Envelope::unnumbered(node, note)),
        };
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
    /// a user's presence.
    pub fn receive(
        &self,
        envelope: Envelope,
        hub: &Hub,
        followers: impl Fn(&str) -> Vec<String>,
    ) -> Received {
        if envelope.node == self.node_id {
            return Received::Applied;
        }
        let mut peers = self.peers.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match envelope.note {
            Note::Live(LiveNote::SyncRequest { node }) => {
                if node == self.node_id {
                    self.sync_requested.store(true, Ordering::Relaxed);
                }
                return Received::Applied;
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
                return if out_of_step { Received::Resynced } else { Received::Applied };
            }
            Note::Leaving => {
                if let Some(peer) = peers.remove(&envelope.node) {
                    self.note_departed(peer);
                }
                drop(peers);
                self.heard().forget_sender(&envelope.node);
                return Received::Applied;
            }
            _ => {
                if let Some(peer) = peers.get_mut(&envelope.node) {
                    peer.seen = Instant::now();
                }
            }
        }
        drop(peers);
        if let (Some(seq), Some(topic)) = (envelope.seq, envelope.note.topic()) {
            let order = self.heard().check(&envelope.node, &topic, seq);
            match order {
                Order::Next => {}
                Order::Repeat => return Received::Repeat,
                Order::Gap => {
                    let dropped = resync(&topic, hub, &followers);
                    tracing::warn!(
                        dropped,
                        "notes from another node never came: their hearers here resync"
                    );
                    return Received::Gap;
                }
            }
        }
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
            Note::ResyncChannel { .. } | Note::ResyncUser { .. } | Note::ResyncPresence { .. } => {
                let topic = envelope.note.topic().expect("resync notes have a topic");
                // What the sender sends next on the topic starts its numbers over here.
                self.heard().forget(&envelope.node, &topic);
                let dropped = resync(&topic, hub, &followers);
                tracing::warn!(
                    dropped,
                    "notes were lost on another node: their hearers here resync"
                );
                return Received::Resynced;
            }
            Note::Live(_) | Note::Leaving => {}
        }
        Received::Applied
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
            self.heard().forget_sender(&node);
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

/// Drops this node's connections hearing `topic` (`followers` lists those following a user's presence), so that
/// their clients recover what was lost; returns how many.
fn resync(topic: &Topic, hub: &Hub, followers: &impl Fn(&str) -> Vec<String>) -> usize {
    match topic {
        Topic::Channel(cid) => hub.drop_watchers(cid),
        Topic::User(user_id) => hub.drop_user(user_id),
        Topic::Presence(user_id) => hub.drop_connections(&followers(user_id)),
    }
}

/// A random epoch for this node's numbers.
fn random_epoch() -> u32 {
    uuid::Uuid::new_v4().as_u64_pair().0 as u32
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
mod tests;
