//! Who is connected and who watches what: every open connection (whatever its transport) with the queue its
//! frames go out through, the watchers of each channel, and fan-out. Privacy filtering of events happens here and
//! nowhere else: typing events of a user with typing indicators off, and read events of a user with read
//! receipts off, reach only that user's own connections.
//!
//! Two kinds of lock: the registry (connections, users, the change log) behind one, and channels' watchers spread
//! over [`CHANNEL_SHARDS`] by their cid. Fan-out takes only its channel's shard, and holds it only to copy the
//! channel's connection handles: registrations, closes and other channels' fan-out do not wait for it. When both
//! are needed (watch, unwatch, close) the registry is locked first. The event is serialized once for everyone
//! without personal fields (once more per user with them) and queued under its channel's own [`order`] lock alone,
//! so that a channel's events reach every watcher in the order they were admitted.

mod drops;
mod fanout;
pub mod live;
mod order;
pub mod outbox;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

pub use crate::hub::fanout::{Delivery, Privacy};
use crate::hub::live::{Change, ChangeLog, Size, Taken, Topic, View, MAX_PENDING_CHANGES};
use crate::hub::order::Order;
use crate::hub::outbox::OutboxSender;
pub use crate::hub::outbox::{Frame, Outbox, OUTBOX_CAPACITY};

/// Why [`Hub::register`] refused a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyConnections;

/// The transport a connection uses; also the `transport` label of the connection metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// A `/connect` WebSocket.
    WebSocket,
    /// A `/longpoll` connection.
    LongPoll,
}

impl Transport {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Transport::WebSocket => "websocket",
            Transport::LongPoll => "longpoll",
        }
    }
}

/// What fan-out needs of a connection, shared so that it can be used with the hub's lock released.
#[derive(Debug)]
struct Handle {
    /// The connection's id.
    connection_id: String,
    /// Whose connection it is.
    user_id: String,
    /// Serialized events go out through here; the connection's task writes them to its transport.
    outbox: OutboxSender,
}

/// A registered connection.
#[derive(Debug)]
struct Entry {
    /// Where its frames go.
    handle: Arc<Handle>,
    /// Channels this connection watches.
    watching: HashSet<String>,
    /// The user is invisible: not listed among watchers, not announced.
    invisible: bool,
}

/// One channel's watchers.
#[derive(Debug, Default)]
struct Watchers {
    /// Connection id → handle.
    connections: HashMap<String, Arc<Handle>>,
    /// Visible user id → how many of their connections watch: the watcher count without a scan.
    visible_users: HashMap<String, usize>,
    /// The order the channel's events are queued in, and the newest states delivered ([`order`]).
    order: Arc<Mutex<Order>>,
}

/// How many locks channels' watchers are spread over (by a hash of the cid).
pub const CHANNEL_SHARDS: usize = 64;

/// The watchers of the channels whose cid hashes to one shard.
#[derive(Debug, Default)]
struct Shard {
    /// Channel cid → its watchers.
    watchers: HashMap<String, Watchers>,
}

/// Every shard; the shard of a cid is [`Shards::of`].
#[derive(Debug)]
struct Shards(Box<[Mutex<Shard>]>);

impl Shards {
    fn new() -> Self {
        Shards((0..CHANNEL_SHARDS).map(|_| Mutex::default()).collect())
    }

    /// Which shard holds `cid`'s watchers.
    fn index(cid: &str) -> usize {
        crate::part_of(cid, CHANNEL_SHARDS)
    }

    /// The locked shard holding `cid`'s watchers.
    fn of(&self, cid: &str) -> std::sync::MutexGuard<'_, Shard> {
        lock(&self.0[Shards::index(cid)])
    }

    /// Every shard, locked one after the other.
    fn each(&self) -> impl Iterator<Item = std::sync::MutexGuard<'_, Shard>> {
        self.0.iter().map(lock)
    }
}

/// Locks `mutex`; a panic while holding one cannot leave the maps half-updated: recover them.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The registry's maps, behind one lock (channels' watchers are in [`Shards`]).
#[derive(Debug, Default)]
struct State {
    /// Connection id → entry.
    connections: HashMap<String, Entry>,
    /// User id → the ids of the connections the user has open (their count, and the user's own events without a
    /// scan of every connection).
    per_user: HashMap<String, Vec<String>>,
    /// Connections the hub dropped itself (slow consumer, bus reconnect, shutdown) whose tasks have not ended yet:
    /// what they watched, so the task's end still announces it ([`Hub::unregister`]). At most [`MAX_DROPPED`].
    dropped: HashMap<String, Unregistered>,
    /// Changes of what other nodes know of this one, until the bus takes them.
    log: ChangeLog,
    /// (channel, visible user) watching pairs: the live state's size without a scan.
    visible_watches: usize,
    /// Channels and users that lost their last local connection since the bus last looked: it may stop listening.
    idle: Vec<Topic>,
    /// Connections dropped so far because their outbox was full (slow consumers).
    slow_dropped: u64,
}

/// Dropped connections remembered for their tasks' ends, at most; past it the oldest memory is not kept (those
/// connections' departures go unannounced, and are counted in the log).
const MAX_DROPPED: usize = 100_000;

/// What a connection leaves behind when it is unregistered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unregistered {
    /// Its user.
    pub user_id: String,
    /// The channels it watched.
    pub watched: Vec<String>,
    /// Whether its user was invisible (nothing is announced for them).
    pub invisible: bool,
}

impl From<Entry> for Unregistered {
    fn from(entry: Entry) -> Self {
        Unregistered {
            user_id: entry.handle.user_id.clone(),
            invisible: entry.invisible,
            watched: entry.watching.into_iter().collect(),
        }
    }
}

/// The registry of open connections and channel watchers.
#[derive(Debug)]
pub struct Hub {
    /// Locked only for map operations; never while serializing, sending, or across an `.await`.
    state: Mutex<State>,
    /// Channels' watchers, locked (after `state` when both are) only for map operations.
    shards: Shards,
    /// Bytes queued for one connection past which it is dropped as a slow consumer.
    outbox_bytes: usize,
    /// Events not delivered because they carried an older state than one delivered before ([`order`]).
    stale: AtomicU64,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(crate::limits::Limits::default().outbox_bytes)
    }
}

impl Hub {
    /// A hub that drops a connection once more than `outbox_bytes` wait for it.
    pub fn new(outbox_bytes: usize) -> Self {
        Hub {
            state: Mutex::new(State::default()),
            shards: Shards::new(),
            outbox_bytes,
            stale: AtomicU64::new(0),
        }
    }

    /// Starts recording the changes other nodes are told of ([`Hub::take_changes`]); a single node never does.
    pub fn track_changes(&self) {
        self.lock().log.tracking = true;
    }

    /// The changes of who is connected and watching here since the last call, the state's size after them, and,
    /// when `whole`, the whole state, all under one lock so that they agree.
    pub fn take_changes(&self, whole: bool) -> Taken {
        let mut state = self.lock();
        let log = std::mem::take(&mut state.log);
        state.log.tracking = log.tracking;
        let size = Size { online: state.per_user.len(), watches: state.visible_watches };
        let whole = whole.then(|| View {
            online: state.per_user.keys().cloned().collect(),
            watchers: self
                .shards
                .each()
                .flat_map(|shard| {
                    shard
                        .watchers
                        .iter()
                        .filter(|(_, watchers)| !watchers.visible_users.is_empty())
                        .map(|(cid, watchers)| {
                            (cid.clone(), watchers.visible_users.keys().cloned().collect())
                        })
                        .collect::<Vec<_>>()
                })
                .collect(),
        });
        Taken { changes: log.pending, overflowed: log.overflowed, size, whole }
    }

    /// Channels and users that lost their last connection here since the last call.
    pub fn take_idle(&self) -> Vec<Topic> {
        std::mem::take(&mut self.lock().idle)
    }

    /// Whether a connection here watches the channel or belongs to the user (presence is followed outside the
    /// hub: `false`).
    pub fn has_interest(&self, topic: &Topic) -> bool {
        match topic {
            Topic::Channel(cid) => self.shards.of(cid).watchers.contains_key(cid),
            Topic::User(user_id) => self.lock().per_user.contains_key(user_id),
            Topic::Presence(_) => false,
        }
    }

    /// Registers a connection and returns its outbox, unless the user already has `max_per_user` connections.
    /// Dropping the connection from the hub ends the outbox, which tells the connection's task to end.
    pub fn register(
        &self,
        connection_id: &str,
        user_id: &str,
        invisible: bool,
        max_per_user: usize,
    ) -> Result<Outbox, TooManyConnections> {
        self.register_first(connection_id, user_id, invisible, max_per_user)
            .map(|(outbox, _)| outbox)
    }

    /// [`Hub::register`], also telling whether this is the user's only connection on this node, decided under the
    /// same lock as the count (two connections opening at once cannot both see two, and both miss announcing
    /// the user online).
    pub fn register_first(
        &self,
        connection_id: &str,
        user_id: &str,
        invisible: bool,
        max_per_user: usize,
    ) -> Result<(Outbox, bool), TooManyConnections> {
        let mut state = self.lock();
        let open = state.per_user.get(user_id).map_or(0, Vec::len);
        if open >= max_per_user {
            return Err(TooManyConnections);
        }
        let (sender, outbox) = crate::hub::outbox::outbox();
        let handle =
            Handle { connection_id: connection_id.into(), user_id: user_id.into(), outbox: sender };
        let entry = Entry { handle: Arc::new(handle), watching: HashSet::new(), invisible };
        if state.connections.contains_key(connection_id) {
            remove_connection(&mut state, &self.shards, connection_id);
        }
        let own = state.per_user.entry(user_id.into()).or_default();
        own.push(connection_id.into());
        let first = own.len() == 1;
        if first {
            state.log.push(Change::Online(user_id.into()));
        }
        state.connections.insert(connection_id.into(), entry);
        Ok((outbox, first))
    }

    /// Removes a connection; returns its user and the channels it watched.
    /// Also answers for a connection the hub dropped itself earlier, once.
    pub fn unregister(&self, connection_id: &str) -> Option<Unregistered> {
        let mut state = self.lock();
        let Some(entry) = remove_connection(&mut state, &self.shards, connection_id) else {
            return state.dropped.remove(connection_id);
        };
        Some(entry.into())
    }

    /// How many connections are open.
    pub fn connection_count(&self) -> usize {
        self.lock().connections.len()
    }

    /// The user of a connection, if it is open.
    pub fn user_of(&self, connection_id: &str) -> Option<String> {
        self.lock().connections.get(connection_id).map(|entry| entry.handle.user_id.clone())
    }

    /// Subscribes a connection to a channel; returns whether it was not watching before.
    pub fn watch(&self, cid: &str, connection_id: &str) -> bool {
        let mut state = self.lock();
        let Some(entry) = state.connections.get_mut(connection_id) else { return false };
        if !entry.watching.insert(cid.into()) {
            return false;
        }
        let (handle, invisible) = (entry.handle.clone(), entry.invisible);
        let state = &mut *state;
        let mut shard = self.shards.of(cid);
        let watchers = shard.watchers.entry(cid.into()).or_default();
        if !invisible {
            let count = watchers.visible_users.entry(handle.user_id.clone()).or_default();
            *count += 1;
            if *count == 1 {
                state.visible_watches += 1;
                state.log.push(Change::Watch(cid.into(), handle.user_id.clone()));
            }
        }
        watchers.connections.insert(connection_id.into(), handle);
        true
    }

    /// Unsubscribes a connection from a channel; returns whether it was watching.
    pub fn unwatch(&self, cid: &str, connection_id: &str) -> bool {
        let mut state = self.lock();
        let Some(entry) = state.connections.get_mut(connection_id) else { return false };
        let (watched, invisible) = (entry.watching.remove(cid), entry.invisible);
        if watched {
            remove_watcher(&mut state, &self.shards, cid, connection_id, invisible);
        }
        watched
    }

    /// Unsubscribes every connection of `user_id` from a channel (a removed member of a private channel stops
    /// hearing it).
    pub fn unwatch_user(&self, cid: &str, user_id: &str) {
        let mut state = self.lock();
        let connections: Vec<String> = self
            .shards
            .of(cid)
            .watchers
            .get(cid)
            .into_iter()
            .flat_map(|watchers| watchers.connections.values())
            .filter(|handle| handle.user_id == user_id)
            .map(|handle| handle.connection_id.clone())
            .collect();
        for connection_id in connections {
            let Some(entry) = state.connections.get_mut(&connection_id) else { continue };
            entry.watching.remove(cid);
            let invisible = entry.invisible;
            remove_watcher(&mut state, &self.shards, cid, &connection_id, invisible);
        }
    }

    /// Whether the connection's user is invisible.
    pub fn is_invisible(&self, connection_id: &str) -> bool {
        self.lock().connections.get(connection_id).is_some_and(|entry| entry.invisible)
    }

    /// Distinct users watching the channel, as others may see them (invisible users are left out), sorted.
    pub fn watcher_users(&self, cid: &str) -> Vec<String> {
        let shard = self.shards.of(cid);
        let mut users: Vec<String> = shard
            .watchers
            .get(cid)
            .map(|watchers| watchers.visible_users.keys().cloned().collect())
            .unwrap_or_default();
        drop(shard);
        users.sort();
        users
    }

    /// How many distinct visible users watch the channel.
    pub fn watcher_count(&self, cid: &str) -> usize {
        self.shards.of(cid).watchers.get(cid).map_or(0, |watchers| watchers.visible_users.len())
    }

    /// Channels with at least one watcher.
    pub fn active_channels(&self) -> usize {
        self.shards.each().map(|shard| shard.watchers.len()).sum()
    }

    /// Connections dropped so far because their outbox was full (slow consumers).
    pub fn slow_consumers_dropped(&self) -> u64 {
        self.lock().slow_dropped
    }

    /// Users with at least one open connection.
    pub fn connected_users(&self) -> Vec<String> {
        self.lock().per_user.keys().cloned().collect()
    }

    /// How many connections `user_id` has open.
    pub fn connections_of(&self, user_id: &str) -> usize {
        self.lock().per_user.get(user_id).map_or(0, Vec::len)
    }

    /// Whether `user_id` has an open connection.
    pub fn is_connected(&self, user_id: &str) -> bool {
        self.connections_of(user_id) > 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        lock(&self.state)
    }
}

/// Takes a connection out of every map and ends its outbox at once.
fn remove_connection(state: &mut State, shards: &Shards, connection_id: &str) -> Option<Entry> {
    let entry = state.connections.remove(connection_id)?;
    for cid in &entry.watching {
        remove_watcher(state, shards, cid, connection_id, entry.invisible);
    }
    release(state, &entry.handle.user_id, connection_id);
    shrink(&mut state.connections);
    shrink(&mut state.per_user);
    entry.handle.outbox.drop_connection();
    Some(entry)
}

/// Gives back a map's memory once it holds under a quarter of its capacity (a burst of connections has closed);
/// maps never shrink by themselves, so without this a server keeps its peak's tables for good.
fn shrink<K: std::hash::Hash + Eq, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 1024 && map.len() * 4 < map.capacity() {
        map.shrink_to(map.len() * 2);
    }
}

/// Connection `connection_id` of `user_id` closed.
fn release(state: &mut State, user_id: &str, connection_id: &str) {
    if let Some(own) = state.per_user.get_mut(user_id) {
        own.retain(|id| id != connection_id);
        if own.is_empty() {
            state.per_user.remove(user_id);
            state.log.push(Change::Offline(user_id.into()));
            note_idle(state, Topic::User(user_id.into()));
        }
    }
}

/// Remembers that `topic` lost its last local connection, for the bus (only when it tracks; at most
/// [`MAX_PENDING_CHANGES`] until it looks).
fn note_idle(state: &mut State, topic: Topic) {
    if state.log.tracking && state.idle.len() < MAX_PENDING_CHANGES {
        state.idle.push(topic);
    }
}

/// Takes one connection out of a channel's watchers.
fn remove_watcher(
    state: &mut State,
    shards: &Shards,
    cid: &str,
    connection_id: &str,
    invisible: bool,
) {
    let mut shard = shards.of(cid);
    let Some(watchers) = shard.watchers.get_mut(cid) else { return };
    if let Some(handle) = watchers.connections.remove(connection_id) {
        if let Some(count) = watchers.visible_users.get_mut(&handle.user_id).filter(|_| !invisible)
        {
            *count -= 1;
            if *count == 0 {
                watchers.visible_users.remove(&handle.user_id);
                state.visible_watches -= 1;
                state.log.push(Change::Unwatch(cid.into(), handle.user_id.clone()));
            }
        }
    }
    shrink(&mut watchers.connections);
    if watchers.connections.is_empty() {
        shard.watchers.remove(cid);
        shrink(&mut shard.watchers);
        note_idle(state, Topic::Channel(cid.into()));
    }
}

#[cfg(test)]
mod tests;
