//! Who is connected and who watches what: every open connection (whatever its transport) with the queue its
//! frames go out through, the watchers of each channel, and fan-out. Privacy filtering of events happens here and
//! nowhere else: typing events of a user with typing indicators off, and read events of a user with read
//! receipts off, reach only that user's own connections.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Map, Value};
use tokio::sync::mpsc;

/// Frames waiting for a slow connection before it is dropped.
pub const OUTBOX_CAPACITY: usize = 1024;

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
}

/// A registered connection.
#[derive(Debug)]
struct Entry {
    /// Whose connection it is.
    user_id: String,
    /// Serialized events go out through here; the connection's task writes them to its transport.
    outbox: mpsc::Sender<Arc<str>>,
    /// Channels this connection watches.
    watching: HashSet<String>,
}

/// The hub's maps, behind one lock.
#[derive(Debug, Default)]
struct State {
    /// Connection id → entry.
    connections: HashMap<String, Entry>,
    /// Channel cid → watching connection ids.
    watchers: HashMap<String, HashSet<String>>,
}

/// The registry of open connections and channel watchers.
#[derive(Debug, Default)]
pub struct Hub {
    /// Locked only for map operations and non-blocking sends; never across an `.await`.
    state: Mutex<State>,
}

impl Hub {
    /// Registers a connection and returns the receiving end of its outbox. Dropping the connection from the hub
    /// closes that receiver, which tells the connection's task to end.
    pub fn register(&self, connection_id: &str, user_id: &str) -> mpsc::Receiver<Arc<str>> {
        let (outbox, receiver) = mpsc::channel(OUTBOX_CAPACITY);
        let entry = Entry { user_id: user_id.into(), outbox, watching: HashSet::new() };
        self.lock().connections.insert(connection_id.into(), entry);
        receiver
    }

    /// Removes a connection; returns its user and the channels it watched.
    pub fn unregister(&self, connection_id: &str) -> Option<(String, Vec<String>)> {
        let mut state = self.lock();
        let entry = state.connections.remove(connection_id)?;
        for cid in &entry.watching {
            remove_watcher(&mut state.watchers, cid, connection_id);
        }
        Some((entry.user_id, entry.watching.into_iter().collect()))
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

    /// Distinct users watching the channel.
    pub fn watcher_users(&self, cid: &str) -> Vec<String> {
        let state = self.lock();
        let users: HashSet<&str> = state
            .watchers
            .get(cid)
            .into_iter()
            .flatten()
            .filter_map(|connection| state.connections.get(connection).map(|e| e.user_id.as_str()))
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
            if !shared && Some(user.as_str()) != sender {
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
            if send(&mut state, &connection_id, frame) {
                delivered += 1;
            }
        }
        delivered
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
        targets.into_iter().filter(|id| send(&mut state, id, frame.clone())).count()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the maps half-updated: recover them.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Queues a frame; a connection whose outbox is full is dropped rather than allowed to hold memory without bound.
fn send(state: &mut State, connection_id: &str, frame: Arc<str>) -> bool {
    let Some(entry) = state.connections.get(connection_id) else { return false };
    if entry.outbox.try_send(frame).is_ok() {
        return true;
    }
    tracing::warn!(connection_id, "outbox full or closed: dropping connection");
    if let Some(entry) = state.connections.remove(connection_id) {
        for cid in &entry.watching {
            remove_watcher(&mut state.watchers, cid, connection_id);
        }
    }
    false
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
        let mut alice = hub.register("c-alice", "alice");
        let mut bob = hub.register("c-bob", "bob");
        hub.watch("messaging:a", "c-alice");
        hub.watch("messaging:a", "c-bob");
        let quiet = Privacy { typing_indicators: false, read_receipts: false };
        for kind in ["typing.start", "message.read"] {
            let delivery = Delivery {
                cid: "messaging:a",
                event: event(kind),
                sender: Some(("alice", quiet)),
                personal: HashMap::new(),
            };
            assert_eq!(hub.publish(delivery), 1);
            assert!(alice.try_recv().unwrap().contains(kind));
            assert!(bob.try_recv().is_err(), "{kind} must not reach bob");
        }
        let delivery = Delivery {
            cid: "messaging:a",
            event: event("message.new"),
            sender: Some(("alice", quiet)),
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
        let _rx = hub.register("c1", "alice");
        assert!(hub.watch("messaging:a", "c1"));
        assert!(!hub.watch("messaging:a", "c1"));
        assert_eq!(hub.watcher_users("messaging:a"), vec!["alice".to_string()]);
        assert_eq!(hub.active_channels(), 1);
        assert_eq!(hub.unregister("c1"), Some(("alice".into(), vec!["messaging:a".into()])));
        assert_eq!(hub.active_channels(), 0);
        assert!(!hub.watch("messaging:a", "unknown"));
    }
}
