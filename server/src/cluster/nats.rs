//! The NATS bus (`--bus nats://…`, `async-nats`), routed by interest: a channel's notes go on `<base>.c.<cid>`, a
//! user's own notes on `<base>.u.<user id>`, a user's presence changes on `<base>.p.<user id>`, and what every node
//! needs (live-state deltas and digests, leaving) on `<base>.live`. A node subscribes to a channel's, user's or
//! presence subject while a connection here needs it ([`crate::cluster::Cluster::listen`]); each subscription has
//! its own task, so the notes of one channel are applied in order and different channels in parallel. Notes to send
//! wait in a bounded queue ([`crate::cluster::BUS_QUEUE`]) for one publisher task, so publishing never blocks a
//! request. The client reconnects and resubscribes by itself; when it is back after a break, or NATS dropped notes
//! for this node (a slow consumer), this node drops its connections so that clients recover what they missed, and
//! counts it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Client, Event};
use futures_util::StreamExt;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;

use crate::cluster::{Bus, Envelope, Note, Ready, Received, BUS_QUEUE, HEARTBEAT, STATE_CHECK};
use crate::hub::live::{Outgoing, Topic};
use crate::AppState;

/// How often every heard topic is checked for a connection still needing it.
const SWEEP: Duration = Duration::from_secs(10);
/// The longest wait between reconnect attempts after NATS went away.
const MOST_RECONNECT_DELAY: Duration = Duration::from_secs(1);

/// The sending half, kept by the cluster.
#[derive(Debug)]
pub struct NatsBus {
    /// Notes for the publisher task.
    queue: mpsc::Sender<Envelope>,
    /// Topics to start hearing.
    listens: mpsc::UnboundedSender<(Topic, Arc<Ready>)>,
    /// Whether the client is connected now.
    connected: Arc<AtomicBool>,
}

impl Bus for NatsBus {
    fn send(&self, envelope: Envelope) -> bool {
        self.queue.try_send(envelope).is_ok()
    }
    fn listen(&self, topic: Topic, ready: Arc<Ready>) {
        let _ = self.listens.send((topic, ready));
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
    base: String,
    queue: mpsc::Receiver<Envelope>,
    listens: mpsc::UnboundedReceiver<(Topic, Arc<Ready>)>,
    events: mpsc::UnboundedReceiver<Event>,
    /// The flag the bus half reads; [`serve`] keeps it up to date.
    connected: Arc<AtomicBool>,
}

/// Connects to NATS at `url`; subjects start with `base`.
pub async fn connect(url: &str, base: String) -> Result<(NatsBus, NatsParts), String> {
    let (event_sender, events) = mpsc::unbounded_channel();
    let client = async_nats::ConnectOptions::new()
        .name("stream-chat-server")
        // A node's own notes come back to it on every subject it also hears (a channel watched here, the shared
        // subject): NATS would deliver, and the node parse, each only to ignore it.
        .no_echo()
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
    let (listen_sender, listens) = mpsc::unbounded_channel();
    let bus = NatsBus { queue: queue_sender, listens: listen_sender, connected: connected.clone() };
    Ok((bus, NatsParts { client, base, queue, listens, events, connected }))
}

/// The subject of a topic, or of the notes every node hears.
pub fn subject(base: &str, topic: Option<&Topic>) -> String {
    match topic {
        None => format!("{base}.live"),
        Some(Topic::Channel(cid)) => format!("{base}.c.{}", token(cid)),
        Some(Topic::User(user_id)) => format!("{base}.u.{}", token(user_id)),
        Some(Topic::Presence(user_id)) => format!("{base}.p.{}", token(user_id)),
    }
}

/// `id` as one subject token: as it is when it is made of letters, digits and `_-:!@`, else `~` and its bytes in
/// hex (so two ids never share a token, and `.`, `*`, `>` or spaces never reach a subject).
fn token(id: &str) -> String {
    let plain = !id.is_empty()
        && id.bytes().all(|byte| byte.is_ascii_alphanumeric() || b"_-:!@".contains(&byte));
    if plain {
        return id.to_owned();
    }
    let mut out = String::with_capacity(1 + 2 * id.len());
    out.push('~');
    for byte in id.bytes() {
        out.push_str(&format!("{byte:02x}"));
    }
    out
}

/// Runs the bus until the server stops: publishes queued notes, starts and stops hearing topics, sends this node's
/// live-state changes and digest, and handles reconnects. Says `Leaving` on the way out.
pub async fn serve(state: AppState, parts: NatsParts) {
    let NatsParts { client, base, mut queue, mut listens, mut events, connected } = parts;
    state.hub.track_changes();
    let mut heard: HashMap<Option<Topic>, AbortHandle> = HashMap::new();
    let shared_ready = Arc::new(Ready::default());
    heard.insert(None, hear(&state, &client, &base, None, shared_ready.clone()));
    let mut stopping = state.shutdown.clone();
    let mut check = tokio::time::interval(STATE_CHECK);
    let mut outgoing = Outgoing::new(rand_epoch());
    let mut last_digest = Instant::now();
    let mut last_sweep = Instant::now();
    let node = state.cluster.node_id().to_owned();
    loop {
        tokio::select! {
            Some(envelope) = queue.recv() => publish(&client, &base, &envelope, &state).await,
            Some((topic, ready)) = listens.recv() => {
                let topic = Some(topic);
                let task = hear(&state, &client, &base, topic.clone(), ready);
                if let Some(old) = heard.insert(topic, task) {
                    old.abort();
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
                        state.cluster.forget_numbers();
                        let dropped = state.hub.drop_all();
                        tracing::warn!(dropped, "NATS connection back: connections dropped so clients recover");
                        outgoing.sync_requested();
                    }
                }
                Event::SlowConsumer(_) => {
                    // NATS dropped notes for this node: resync its clients rather than lose events silently.
                    state.metrics.bus_lost.inc();
                    state.cluster.forget_numbers();
                    let dropped = state.hub.drop_all();
                    tracing::warn!(dropped, "NATS dropped notes for this node (slow consumer): connections dropped so clients recover");
                    outgoing.sync_requested();
                }
                other => tracing::info!(event = %other, "NATS"),
            },
            _ = check.tick() => {
                let now = Instant::now();
                if state.cluster.take_sync_request() {
                    outgoing.sync_requested();
                }
                let digest = now.duration_since(last_digest) >= HEARTBEAT;
                if digest {
                    last_digest = now;
                }
                for topic in state.cluster.take_lost() {
                    let note = crate::cluster::Cluster::resync_note(topic);
                    publish(&client, &base, &Envelope::unnumbered(node.clone(), note), &state).await;
                }
                let taken = state.hub.take_changes(outgoing.wants_whole(now));
                for note in outgoing.notes(taken, now, digest) {
                    publish(&client, &base, &Envelope::unnumbered(node.clone(), Note::Live(note)), &state)
                        .await;
                }
                // The hub knows channels and users, the presence book presence.
                let needed = |topic: &Topic| match topic {
                    Topic::Presence(user_id) => state.presence.is_followed(user_id),
                    _ => state.hub.has_interest(topic),
                };
                let mut idle: Vec<Topic> = state.hub.take_idle();
                idle.extend(state.presence.take_idle().into_iter().map(Topic::Presence));
                idle.retain(|topic| state.cluster.unlisten_if_idle(topic, needed));
                if now.duration_since(last_sweep) >= SWEEP {
                    last_sweep = now;
                    idle.extend(state.cluster.sweep_topics(needed));
                }
                for topic in idle {
                    if let Some(task) = heard.remove(&Some(topic)) {
                        task.abort();
                    }
                }
                state.metrics.bus_subscriptions.set(heard.len() as i64);
                let peers = state.cluster.prune();
                state.metrics.cluster_peers.set(peers as i64);
                state.metrics.bus_connected.set(i64::from(connected.load(Ordering::Relaxed)));
            }
            _ = crate::stopping(&mut stopping) => break,
        }
    }
    for task in heard.into_values() {
        task.abort();
    }
    publish(&client, &base, &Envelope::unnumbered(node, Note::Leaving), &state).await;
    let _ = client.flush().await;
}

/// A random incarnation number: peers tell a restarted node from its earlier self by it.
fn rand_epoch() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0
}

/// Publishes one note on its topic's subject, counted in the metrics. A note NATS refuses (over its
/// `max_payload`, or the client gone) is counted and, when it had a topic, that topic's hearers are told to resync
/// at once, before the topic's next numbered note shows them the gap (if that cannot be sent either, the next check
/// tries again; a live-state note needs nothing: its peers see the gap in its deltas and ask for the whole state).
async fn publish(client: &Client, base: &str, envelope: &Envelope, state: &AppState) {
    let Err(topic) = publish_one(client, base, envelope, state).await else { return };
    if let Some(topic) = topic {
        let note = crate::cluster::Cluster::resync_note(topic.clone());
        let resync = Envelope::unnumbered(envelope.node.clone(), note);
        if publish_one(client, base, &resync, state).await.is_err() {
            state.cluster.lost(topic);
        }
    }
}

/// Publishes one note, counted in the metrics; a refusal is counted and logged, and gives the note's topic.
async fn publish_one(
    client: &Client,
    base: &str,
    envelope: &Envelope,
    state: &AppState,
) -> Result<(), Option<Topic>> {
    let payload = serde_json::to_vec(envelope).map(bytes::Bytes::from).unwrap_or_default();
    let (bytes, topic) = (payload.len(), envelope.note.topic());
    state.metrics.count_bus_note(false, bytes);
    match client.publish(subject(base, topic.as_ref()), payload).await {
        Ok(()) => Ok(()),
        Err(error) => {
            state.metrics.bus_unpublished.inc();
            tracing::warn!(%error, bytes, "cluster note not published: its hearers resync");
            Err(topic)
        }
    }
}

/// A task hearing `topic` (every node's notes when `None`): subscribes, sets `ready` once NATS has the
/// subscription, and applies each note in order; aborting it unsubscribes.
fn hear(
    state: &AppState,
    client: &Client,
    base: &str,
    topic: Option<Topic>,
    ready: Arc<Ready>,
) -> AbortHandle {
    let (state, client, subject) = (state.clone(), client.clone(), subject(base, topic.as_ref()));
    tokio::spawn(async move {
        let mut subscription = match client.subscribe(subject).await {
            Ok(subscription) => subscription,
            Err(error) => {
                tracing::error!(%error, "cannot subscribe to a cluster subject");
                ready.set();
                return;
            }
        };
        let _ = client.flush().await;
        ready.set();
        while let Some(message) = subscription.next().await {
            state.metrics.count_bus_note(true, message.payload.len());
            match serde_json::from_slice::<Envelope>(&message.payload) {
                Ok(envelope) => {
                    let followers = |user: &str| state.presence.followers(user);
                    let received = state.cluster.receive(envelope, &state.hub, followers);
                    match received {
                        Received::Applied | Received::Resynced => {}
                        Received::Gap => state.metrics.bus_gaps.inc(),
                        Received::Repeat => state.metrics.bus_repeated.inc(),
                    }
                    if received.resynced() {
                        state.metrics.bus_resyncs.inc();
                    }
                }
                Err(error) => tracing::warn!(%error, "unreadable cluster note ignored"),
            }
        }
    })
    .abort_handle()
}
