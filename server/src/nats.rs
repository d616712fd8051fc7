//! The NATS bus (`--bus nats://…`, `async-nats`): every node publishes its notes on one subject per app and
//! subscribes to it. Notes wait in a bounded queue ([`crate::cluster::BUS_QUEUE`]) for one publisher task, so
//! publishing never blocks a request. The client reconnects and resubscribes by itself; when it is back after a
//! break, this node drops its connections so that clients recover what they missed (see [`crate::cluster`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_nats::{Client, Event};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use crate::cluster::{Bus, Envelope, Note, BUS_QUEUE, HEARTBEAT, STATE_CHECK};
use crate::AppState;

/// The longest wait between reconnect attempts after NATS went away.
const MOST_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// The sending half, kept by the cluster.
#[derive(Debug)]
pub struct NatsBus {
    /// Notes for the publisher task.
    queue: mpsc::Sender<Envelope>,
    /// Whether the client is connected now.
    connected: Arc<AtomicBool>,
}

impl Bus for NatsBus {
    fn send(&self, envelope: Envelope) -> bool {
        self.queue.try_send(envelope).is_ok()
    }
    fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Relaxed)
    }
    fn is_shared(&self) -> bool {
        true
    }
}

/// What [`serve`] runs once the state exists.
#[derive(Debug)]
pub struct NatsParts {
    client: Client,
    subject: String,
    queue: mpsc::Receiver<Envelope>,
    events: mpsc::UnboundedReceiver<Event>,
    /// The flag the bus half reads; [`serve`] keeps it up to date.
    connected: Arc<AtomicBool>,
}

/// Connects to NATS at `url`; notes go on `subject`.
pub async fn connect(url: &str, subject: String) -> Result<(NatsBus, NatsParts), String> {
    let (event_sender, events) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .name("stream-chat-server")
        .max_reconnects(None)
        .reconnect_delay_callback(|attempts| {
            MOST_RECONNECT_DELAY.min(Duration::from_millis(50 * attempts as u64))
        })
        .event_callback(move |event| {
            let sender = event_sender.clone();
            async move {
                let _ = sender.send(event);
            }
        })
        .connect(url)
        .await
        .map_err(|error| format!("cannot connect to NATS: {error}"))?;
    let connected = Arc::new(AtomicBool::new(true));
    let (queue_sender, queue) = mpsc::channel(BUS_QUEUE);
    let bus = NatsBus { queue: queue_sender, connected: connected.clone() };
    Ok((bus, NatsParts { client, subject, queue, events, connected }))
}

/// Runs the bus until the server stops: publishes queued notes, applies received ones, sends this node's live
/// state, and handles reconnects. Says `Leaving` on the way out.
pub async fn serve(state: AppState, parts: NatsParts) {
    let NatsParts { client, subject, mut queue, mut events, connected } = parts;
    let mut subscription = match client.subscribe(subject.clone()).await {
        Ok(subscription) => subscription,
        Err(error) => {
            tracing::error!(%error, "cannot subscribe to the cluster subject");
            return;
        }
    };
    let mut stopping = state.shutdown.clone();
    let mut check = tokio::time::interval(STATE_CHECK);
    let mut sent_generation = None;
    let mut last_sent = tokio::time::Instant::now();
    let node = state.cluster.node_id().to_owned();
    let encode = |envelope: &Envelope| {
        serde_json::to_vec(envelope).map(bytes::Bytes::from).unwrap_or_default()
    };
    loop {
        tokio::select! {
            Some(envelope) = queue.recv() => {
                if let Err(error) = client.publish(subject.clone(), encode(&envelope)).await {
                    tracing::warn!(%error, "cluster note not published");
                }
            }
            Some(message) = subscription.next() => {
                match serde_json::from_slice::<Envelope>(&message.payload) {
                    Ok(envelope) => state.cluster.receive(envelope, &state.hub, |user| state.presence.followers(user)),
                    Err(error) => tracing::warn!(%error, "unreadable cluster note ignored"),
                }
            }
            Some(event) = events.recv() => match event {
                Event::Disconnected => {
                    connected.store(false, Ordering::Relaxed);
                    tracing::warn!("NATS connection lost; reconnecting");
                }
                Event::Connected => {
                    let was_connected = connected.swap(true, Ordering::Relaxed);
                    if !was_connected {
                        // Notes may have been lost meanwhile: clients reconnect and recover.
                        let dropped = state.hub.drop_all();
                        tracing::warn!(dropped, "NATS connection back: connections dropped so clients recover");
                        sent_generation = None;
                    }
                }
                other => tracing::info!(event = %other, "NATS"),
            },
            _ = check.tick() => {
                let generation = state.hub.generation();
                if sent_generation != Some(generation) || last_sent.elapsed() >= HEARTBEAT {
                    let envelope = Envelope { node: node.clone(), note: Note::State(state.hub.snapshot()) };
                    if client.publish(subject.clone(), encode(&envelope)).await.is_ok() {
                        sent_generation = Some(generation);
                        last_sent = tokio::time::Instant::now();
                    }
                }
                let peers = state.cluster.prune();
                state.metrics.cluster_peers.set(peers as i64);
                announce_departed(&state);
                state.metrics.bus_connected.set(i64::from(connected.load(Ordering::Relaxed)));
            }
            _ = crate::connect::stopping(&mut stopping) => break,
        }
    }
    let leaving = Envelope { node, note: Note::Leaving };
    let _ = client.publish(subject, encode(&leaving)).await;
    let _ = client.flush().await;
}

/// Announces offline the users of departed nodes who are online nowhere now (off the async threads: it reads the
/// store).
fn announce_departed(state: &AppState) {
    let users = state.cluster.take_departed(&state.hub);
    if users.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        for id in users {
            if let Ok(Some(user)) = state.store.user(&id) {
                crate::presence::announce_here(&state, &user, false);
            }
        }
    });
}
