//! Who is connected and who watches what: every open connection (whatever its transport) with the queue its
//! frames go out through, the watchers of each channel, and fan-out. Privacy filtering of events happens here and
//! nowhere else: typing events of a user with typing indicators off, and read events of a user with read
//! receipts off, reach only that user's own connections.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tokio::sync::{mpsc, Notify};

/// Frames waiting for a slow connection before it is dropped (bytes are bounded too, see [`Hub::new`]).
pub const OUTBOX_CAPACITY: usize = 1024;

/// What a connection's outbox and the hub share.
#[derive(Debug, Default)]
struct OutboxShared {
    /// Bytes queued and not yet taken by the connection's task.
    bytes: AtomicUsize,
    /// Set when the hub dropped the connection; what is still queued is discarded.
    dropped: AtomicBool,
    /// Wakes the connection's task when `dropped` is set.
    wake: Notify,
}

/// The receiving end of a connection's queue of serialized events.
#[derive(Debug)]
pub struct Outbox {
    /// Frames in order.
    receiver: mpsc::Receiver<Arc<str>>,
    /// Byte count and the dropped flag.
    shared: Arc<OutboxShared>,
}

impl Outbox {
    /// The next frame; `None` once the hub dropped the connection (slow consumer, unregistered, shutdown), at
    /// once, without delivering what was still queued.
    pub async fn recv(&mut self) -> Option<Arc<str>> {
        loop {
            if self.shared.dropped.load(Ordering::Acquire) {
                return None;
            }
            tokio::select! {
                biased;
                _ = self.shared.wake.notified() => continue,
                frame = self.receiver.recv() => return frame.map(|frame| self.taken(frame)),
            }
        }
    }

    /// A frame already queued, if any.
    pub fn try_recv(&mut self) -> Option<Arc<str>> {
        if self.shared.dropped.load(Ordering::Acquire) {
            return None;
        }
        self.receiver.try_recv().ok().map(|frame| self.taken(frame))
    }

    fn taken(&self, frame: Arc<str>) -> Arc<str> {
        self.shared.bytes.fetch_sub(frame.len(), Ordering::AcqRel);
        frame
    }
}

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

/// What a sender allows others to see, from its `privacy_settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Privacy {
    /// Others receive its `typing.start` / `typing.stop`.
    pub typing_indicators: bool,
    /// Others receive its `message.read` and see it in `read[]`.
    pub read_receipts: bool,
}

impl Privacy {
    /// Whether an event of type `kind` from this sender may reach users other than the sender.
    fn shares(self, kind: &str) -> bool {
        match kind {
            "typing.start" | "typing.stop" => self.typing_indicators,
            "message.read" => self.read_receipts,
            _ => true,
        }
    }
}

/// An event to fan out to a channel's watchers.
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The channel.
    pub cid: &'a str,
    /// The event; `type` decides the privacy rule.
    pub event: Map<String, Value>,
    /// The user whose action this is, with their privacy settings; `None` for server events.
    pub sender: Option<(&'a str, Privacy)>,
    /// Fields added for one recipient user only (their unread counts).
    pub personal: HashMap<String, Map<String, Value>>,
    /// A user whose connections do not get this event (they were told in their own way).
    pub skip_user: Option<&'a str>,
}

/// A registered connection.
#[derive(Debug)]
struct Entry {
    /// Whose connection it is.
    user_id: String,
    /// Serialized events go out through here; the connection's task writes them to its transport.
    outbox: mpsc::Sender<Arc<str>>,
    /// Shared with the [`Outbox`]: bytes queued, dropped flag.
    shared: Arc<OutboxShared>,
    /// Channels this connection watches.
    watching: HashSet<String>,
    /// The user is invisible: not listed among watchers, not announced.
    invisible: bool,
}

/// The hub's maps, behind one lock.
#[derive(Debug, Default)]
struct State {
    /// Connection id → entry.
    connections: HashMap<String, Entry>,
    /// Channel cid → watching connection ids.
    watchers: HashMap<String, HashSet<String>>,
    /// User id → how many connections the user has open.
    per_user: HashMap<String, usize>,
}

/// The registry of open connections and channel watchers.
#[derive(Debug)]
pub struct Hub {
    /// Locked only for map operations and non-blocking sends; never across an `.await`.
    state: Mutex<State>,
    /// Bytes queued for one connection past which it is dropped as a slow consumer.
    outbox_bytes: usize,
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new(crate::limits::Limits::default().outbox_bytes)
    }
}

impl Hub {
    /// A hub that drops a connection once more than `outbox_bytes` wait for it.
    pub fn new(outbox_bytes: usize) -> Self {
        Hub { state: Mutex::new(State::default()), outbox_bytes }
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
        let mut state = self.lock();
        let open = state.per_user.get(user_id).copied().unwrap_or(0);
        if open >= max_per_user {
            return Err(TooManyConnections);
        }
        let (outbox, receiver) = mpsc::channel(OUTBOX_CAPACITY);
        let shared = Arc::new(OutboxShared::default());
        let entry = Entry {
            user_id: user_id.into(),
            outbox,
            shared: shared.clone(),
            watching: HashSet::new(),
            invisible,
        };
        *state.per_user.entry(user_id.into()).or_default() += 1;
        if let Some(replaced) = state.connections.insert(connection_id.into(), entry) {
            release(&mut state, &replaced.user_id);
        }
        Ok(Outbox { receiver, shared })
    }

    /// Removes a connection; returns its user and the channels it watched.
    pub fn unregister(&self, connection_id: &str) -> Option<(String, Vec<String>)> {
        let mut state = self.lock();
        let entry = remove_connection(&mut state, connection_id)?;
        Some((entry.user_id, entry.watching.into_iter().collect()))
    }

    /// How many connections are open.
    pub fn connection_count(&self) -> usize {
        self.lock().connections.len()
    }

    /// The user of a connection, if it is open.
    pub fn user_of(&self, connection_id: &str) -> Option<String> {
        self.lock().connections.get(connection_id).map(|entry| entry.user_id.clone())
    }

    /// Subscribes a connection to a channel; returns whether it was not watching before.
    pub fn watch(&self, cid: &str, connection_id: &str) -> bool {
        let mut state = self.lock();
        let Some(entry) = state.connections.get_mut(connection_id) else { return false };
        if !entry.watching.insert(cid.into()) {
            return false;
        }
        state.watchers.entry(cid.into()).or_default().insert(connection_id.into());
        true
    }

    /// Unsubscribes a connection from a channel; returns whether it was watching.
    pub fn unwatch(&self, cid: &str, connection_id: &str) -> bool {
        let mut state = self.lock();
        let watched = state
            .connections
            .get_mut(connection_id)
            .is_some_and(|entry| entry.watching.remove(cid));
        if watched {
            remove_watcher(&mut state.watchers, cid, connection_id);
        }
        watched
    }

    /// Unsubscribes every connection of `user_id` from a channel (a removed member of a private channel stops
    /// hearing it).
    pub fn unwatch_user(&self, cid: &str, user_id: &str) {
        let mut state = self.lock();
        let connections: Vec<String> = state
            .watchers
            .get(cid)
            .into_iter()
            .flatten()
            .filter(|id| state.connections.get(*id).is_some_and(|entry| entry.user_id == user_id))
            .cloned()
            .collect();
        for connection_id in connections {
            if let Some(entry) = state.connections.get_mut(&connection_id) {
                entry.watching.remove(cid);
            }
            remove_watcher(&mut state.watchers, cid, &connection_id);
        }
    }

    /// Whether the connection's user is invisible.
    pub fn is_invisible(&self, connection_id: &str) -> bool {
        self.lock().connections.get(connection_id).is_some_and(|entry| entry.invisible)
    }

    /// Distinct users watching the channel, as others may see them: invisible users are left out.
    pub fn watcher_users(&self, cid: &str) -> Vec<String> {
        let state = self.lock();
        let users: HashSet<&str> = state
            .watchers
            .get(cid)
            .into_iter()
            .flatten()
            .filter_map(|connection| state.connections.get(connection))
            .filter(|entry| !entry.invisible)
            .map(|entry| entry.user_id.as_str())
            .collect();
        let mut users: Vec<String> = users.into_iter().map(Into::into).collect();
        users.sort();
        users
    }

    /// Channels with at least one watcher.
    pub fn active_channels(&self) -> usize {
        self.lock().watchers.len()
    }

    /// Fans `delivery` out to the channel's watchers, applying the sender's privacy settings; returns how many
    /// frames were queued. Each recipient user gets the event plus its `personal` fields.
    pub fn publish(&self, delivery: Delivery<'_>) -> usize {
        let kind = delivery.event.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
        let shared = delivery.sender.is_none_or(|(_, privacy)| privacy.shares(&kind));
        let sender = delivery.sender.map(|(user, _)| user);
        let mut state = self.lock();
        let recipients: Vec<String> =
            state.watchers.get(delivery.cid).into_iter().flatten().cloned().collect();
        let mut frames: HashMap<String, Arc<str>> = HashMap::new();
        let mut delivered = 0;
        for connection_id in recipients {
            let Some(user) = state.connections.get(&connection_id).map(|e| e.user_id.clone())
            else {
                continue;
            };
            if (!shared && Some(user.as_str()) != sender)
                || delivery.skip_user == Some(user.as_str())
            {
                continue;
            }
            let frame = frames
                .entry(user.clone())
                .or_insert_with(|| {
                    let mut event = delivery.event.clone();
                    if let Some(fields) = delivery.personal.get(&user) {
                        event.extend(fields.clone());
                    }
                    Value::Object(event).to_string().into()
                })
                .clone();
            if send(&mut state, &connection_id, frame, self.outbox_bytes) {
                delivered += 1;
            }
        }
        delivered
    }

    /// Users with at least one open connection.
    pub fn connected_users(&self) -> Vec<String> {
        self.lock().per_user.keys().cloned().collect()
    }

    /// How many connections `user_id` has open.
    pub fn connections_of(&self, user_id: &str) -> usize {
        self.lock().per_user.get(user_id).copied().unwrap_or(0)
    }

    /// Whether `user_id` has an open connection.
    pub fn is_connected(&self, user_id: &str) -> bool {
        self.connections_of(user_id) > 0
    }

    /// Queues `frame` for one connection; returns whether it was queued.
    pub fn send_to_connection(&self, connection_id: &str, frame: Arc<str>) -> bool {
        let mut state = self.lock();
        send(&mut state, connection_id, frame, self.outbox_bytes)
    }

    /// Queues `frame` for every connection of `user_id`; returns how many.
    pub fn send_to_user(&self, user_id: &str, frame: Arc<str>) -> usize {
        let mut state = self.lock();
        let targets: Vec<String> = state
            .connections
            .iter()
            .filter(|(_, entry)| entry.user_id == user_id)
            .map(|(id, _)| id.clone())
            .collect();
        targets
            .into_iter()
            .filter(|id| send(&mut state, id, frame.clone(), self.outbox_bytes))
            .count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the maps half-updated: recover them.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Queues a frame; a connection with more than `max_bytes` (or [`OUTBOX_CAPACITY`] frames) waiting is dropped
/// rather than allowed to hold memory without bound.
fn send(state: &mut State, connection_id: &str, frame: Arc<str>, max_bytes: usize) -> bool {
    let Some(entry) = state.connections.get(connection_id) else { return false };
    let len = frame.len();
    let queued = entry.shared.bytes.load(Ordering::Acquire);
    if queued + len <= max_bytes && entry.outbox.try_send(frame).is_ok() {
        entry.shared.bytes.fetch_add(len, Ordering::AcqRel);
        return true;
    }
    tracing::warn!(
        connection_id,
        queued,
        "slow consumer (outbox full) or closed: dropping connection"
    );
    remove_connection(state, connection_id);
    false
}

/// Takes a connection out of every map and ends its outbox at once.
fn remove_connection(state: &mut State, connection_id: &str) -> Option<Entry> {
    let entry = state.connections.remove(connection_id)?;
    for cid in &entry.watching {
        remove_watcher(&mut state.watchers, cid, connection_id);
    }
    release(state, &entry.user_id);
    entry.shared.dropped.store(true, Ordering::Release);
    entry.shared.wake.notify_one();
    Some(entry)
}

/// One connection of `user_id` fewer.
fn release(state: &mut State, user_id: &str) {
    if let Some(count) = state.per_user.get_mut(user_id) {
        *count -= 1;
        if *count == 0 {
            state.per_user.remove(user_id);
        }
    }
}

fn remove_watcher(watchers: &mut HashMap<String, HashSet<String>>, cid: &str, connection_id: &str) {
    if let Some(set) = watchers.get_mut(cid) {
        set.remove(connection_id);
        if set.is_empty() {
            watchers.remove(cid);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(kind: &str) -> Map<String, Value> {
        json!({"type": kind, "cid": "messaging:a"}).as_object().unwrap().clone()
    }

    #[test]
    fn privacy_limits_typing_and_reads_to_the_sender() {
        let hub = Hub::default();
        let mut alice = hub.register("c-alice", "alice", false, 10).unwrap();
        let mut bob = hub.register("c-bob", "bob", false, 10).unwrap();
        hub.watch("messaging:a", "c-alice");
        hub.watch("messaging:a", "c-bob");
        let quiet = Privacy { typing_indicators: false, read_receipts: false };
        for kind in ["typing.start", "message.read"] {
            let delivery = Delivery {
                cid: "messaging:a",
                event: event(kind),
                sender: Some(("alice", quiet)),
                personal: HashMap::new(),
                skip_user: None,
            };
            assert_eq!(hub.publish(delivery), 1);
            assert!(alice.try_recv().unwrap().contains(kind));
            assert!(bob.try_recv().is_none(), "{kind} must not reach bob");
        }
        let delivery = Delivery {
            cid: "messaging:a",
            event: event("message.new"),
            sender: Some(("alice", quiet)),
            skip_user: None,
            personal: HashMap::from([(
                "bob".into(),
                json!({"unread_count": 3}).as_object().unwrap().clone(),
            )]),
        };
        assert_eq!(hub.publish(delivery), 2);
        assert!(bob.try_recv().unwrap().contains("\"unread_count\":3"));
        assert!(!alice.try_recv().unwrap().contains("unread_count"));
    }

    #[test]
    fn unregister_removes_watchers() {
        let hub = Hub::default();
        let _rx = hub.register("c1", "alice", false, 10).unwrap();
        assert!(hub.watch("messaging:a", "c1"));
        assert!(!hub.watch("messaging:a", "c1"));
        assert_eq!(hub.watcher_users("messaging:a"), vec!["alice".to_string()]);
        assert_eq!(hub.active_channels(), 1);
        assert_eq!(hub.unregister("c1"), Some(("alice".into(), vec!["messaging:a".into()])));
        assert_eq!(hub.active_channels(), 0);
        assert!(!hub.watch("messaging:a", "unknown"));
    }

    #[test]
    fn connections_per_user_are_bounded() {
        let hub = Hub::default();
        let _a = hub.register("c1", "alice", false, 2).unwrap();
        let _b = hub.register("c2", "alice", false, 2).unwrap();
        assert_eq!(hub.register("c3", "alice", false, 2).unwrap_err(), TooManyConnections);
        hub.unregister("c1");
        assert!(hub.register("c3", "alice", false, 2).is_ok());
    }

    #[tokio::test]
    async fn a_slow_consumer_is_dropped_past_its_byte_bound_and_its_queue_discarded() {
        let hub = Hub::new(1000);
        let mut slow = hub.register("c1", "alice", false, 10).unwrap();
        hub.watch("messaging:a", "c1");
        let big = || Delivery {
            cid: "messaging:a",
            event: json!({"type": "message.new", "text": "x".repeat(400)})
                .as_object()
                .unwrap()
                .clone(),
            sender: None,
            personal: HashMap::new(),
            skip_user: None,
        };
        assert_eq!(hub.publish(big()), 1);
        assert_eq!(hub.publish(big()), 1);
        assert_eq!(hub.publish(big()), 0, "a third frame would pass 1000 bytes");
        assert_eq!(hub.connection_count(), 0);
        assert!(slow.recv().await.is_none(), "queued frames are discarded");
    }

    #[test]
    fn invisible_users_are_not_listed_as_watchers() {
        let hub = Hub::default();
        let _a = hub.register("c1", "alice", true, 10).unwrap();
        let _b = hub.register("c2", "bob", false, 10).unwrap();
        hub.watch("messaging:a", "c1");
        hub.watch("messaging:a", "c2");
        assert_eq!(hub.watcher_users("messaging:a"), vec!["bob".to_string()]);
    }
}
