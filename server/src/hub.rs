//! Who is connected: every open connection, whatever its transport, with the queue its frames go out through.
//! Fan-out to channels builds on this registry.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

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

/// A registered connection.
#[derive(Debug)]
struct Entry {
    /// Whose connection it is.
    user_id: String,
    /// Serialized events go out through here; the connection's task writes them to its transport.
    outbox: mpsc::Sender<Arc<str>>,
}

/// The registry of open connections.
#[derive(Debug, Default)]
pub struct Hub {
    /// Connection id → entry. Locked only for map operations.
    connections: Mutex<HashMap<String, Entry>>,
}

impl Hub {
    /// Registers a connection and returns the receiving end of its outbox. Dropping the connection from the hub
    /// closes that receiver, which tells the connection's task to end.
    pub fn register(&self, connection_id: &str, user_id: &str) -> mpsc::Receiver<Arc<str>> {
        let (outbox, receiver) = mpsc::channel(OUTBOX_CAPACITY);
        self.lock().insert(connection_id.into(), Entry { user_id: user_id.into(), outbox });
        receiver
    }

    /// Removes a connection; unknown ids are ignored.
    pub fn unregister(&self, connection_id: &str) {
        self.lock().remove(connection_id);
    }

    /// The user of a connection, if it is open.
    pub fn user_of(&self, connection_id: &str) -> Option<String> {
        self.lock().get(connection_id).map(|entry| entry.user_id.clone())
    }

    /// Queues `frame` for one connection. A connection whose outbox is full is dropped rather than allowed to
    /// hold memory without bound; returns whether the frame was queued.
    pub fn send_to(&self, connection_id: &str, frame: Arc<str>) -> bool {
        let mut connections = self.lock();
        let Some(entry) = connections.get(connection_id) else { return false };
        if entry.outbox.try_send(frame).is_ok() {
            return true;
        }
        tracing::warn!(connection_id, "outbox full or closed: dropping connection");
        connections.remove(connection_id);
        false
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        // A panic while holding this lock cannot leave the map half-updated: recover it.
        self.connections.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
