//! Prometheus metrics, kept with the `prometheus` crate and rendered in its text format at `GET /metrics`.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

/// Every metric the server exposes. Cheap to update from any task.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// Owns the metrics below; rendered at `/metrics`.
    registry: Registry,
    /// Distinct users who connected this calendar month (UTC); refreshed from the store at each scrape.
    pub monthly_active_users: IntGauge,
    /// Connections open now, by transport (`websocket`, `longpoll`).
    pub connections: IntGaugeVec,
    /// Connections accepted since start, by transport.
    pub connections_opened: IntCounterVec,
    /// Connections ended since start, by transport.
    pub connections_closed: IntCounterVec,
    /// Every connect request, accepted or refused: lets tests prove a client made no network call.
    pub connect_attempts: IntCounter,
    /// Refused connects, by protocol error code.
    pub connect_errors: IntCounterVec,
    /// Messages stored (retries with a known id not counted).
    pub messages_sent: IntCounter,
    /// Channel events (typing) received from clients, by type, before privacy filtering.
    pub events_received: IntCounterVec,
    /// Event frames queued to connections by fan-out.
    pub events_fanned_out: IntCounter,
    /// How long one fan-out takes, from publish to every outbox.
    pub fanout_seconds: Histogram,
    /// Channels with at least one watcher.
    pub active_channels: IntGauge,
    /// `POST /channels` calls (the official client's recovery path runs one per reconnect).
    pub query_channels: IntCounter,
    /// Other nodes of the cluster heard from lately (0 on a single node).
    pub cluster_peers: IntGauge,
    /// 1 while the cluster bus is connected (always 1 on a single node).
    pub bus_connected: IntGauge,
    /// Cluster notes dropped because the bus queue was full.
    pub bus_dropped: IntCounter,
    /// Times NATS dropped notes for this node (a slow consumer); its connections were dropped so clients recover.
    pub bus_lost: IntCounter,
    /// Times this node found itself out of step: its view of a peer's live state (asked for whole), or a channel's or
    /// user's events lost on the way (their connections dropped so that clients recover).
    pub bus_resyncs: IntCounter,
    /// Bus subjects this node hears (channels watched here, users connected here, and the shared one).
    pub bus_subscriptions: IntGauge,
    /// Cluster notes this node put on the bus (`published`) and that NATS delivered to it (`received`).
    pub bus_notes: IntCounterVec,
    /// The bytes of those notes, by the same `direction`.
    pub bus_bytes: IntCounterVec,
    /// The largest note this node has published, in bytes (the bus's `max_payload` bounds it; see `cluster`).
    pub bus_largest_note: IntGauge,
    /// Notes NATS refused (over its `max_payload`, or the client gone); the nodes hearing their topic resync.
    pub bus_unpublished: IntCounter,
    /// Gaps in another node's numbered notes on a topic heard here; the topic's connections here were dropped so
    /// that clients recover (`cluster::sequence`).
    pub bus_gaps: IntCounter,
    /// Notes from another node skipped because their number was seen already.
    pub bus_repeated: IntCounter,
    /// Store requests running or waiting (bounded by `Limits::store_queue`).
    pub store_queue: IntGauge,
    /// REST requests whose client went away before the answer; each still ran to its end (a stored message is
    /// still fanned out).
    pub requests_abandoned: IntCounter,
    /// Events not delivered because they carried an older state of a message than one delivered before (brought
    /// up to the hub's count on each scrape).
    pub stale_events: IntCounter,
    /// Connections dropped because events for them piled up past `Limits::outbox_bytes` (their clients reconnect
    /// and recover; brought up to the hub's count on each scrape).
    pub slow_consumers: IntCounter,
    /// Uploads by outcome: `stored`, `too_big`, `refused` (type, rate, capacity, time).
    pub uploads: IntCounterVec,
    /// Bytes of uploaded files stored.
    pub upload_bytes: IntCounter,
}

impl Metrics {
    /// A fresh registry with every metric registered.
    pub fn new() -> Self {
        let registry = Registry::new();
        let gauge = |name: &str, help: &str| IntGauge::new(name, help).expect("valid metric");
        let by = |name: &str, help: &str, label: &str| {
            IntCounterVec::new(Opts::new(name, help), &[label]).expect("valid metric")
        };
        let metrics = Metrics {
            monthly_active_users: gauge(
                "chat_monthly_active_users",
                "Distinct users connected this calendar month (UTC)",
            ),
            connections: IntGaugeVec::new(
                Opts::new("chat_connections", "Connections open now"),
                &["transport"],
            )
            .expect("valid metric"),
            connections_opened: by(
                "chat_connections_opened_total",
                "Connections accepted",
                "transport",
            ),
            connections_closed: by(
                "chat_connections_closed_total",
                "Connections ended",
                "transport",
            ),
            connect_attempts: IntCounter::new(
                "chat_connect_attempts_total",
                "Connect requests, accepted or refused",
            )
            .expect("valid metric"),
            connect_errors: by(
                "chat_connect_errors_total",
                "Refused connects by error code",
                "code",
            ),
            messages_sent: IntCounter::new("chat_messages_sent_total", "Messages stored")
                .expect("valid metric"),
            events_received: by(
                "chat_events_received_total",
                "Channel events sent by clients",
                "type",
            ),
            events_fanned_out: IntCounter::new(
                "chat_events_fanned_out_total",
                "Event frames queued to connections",
            )
            .expect("valid metric"),
            fanout_seconds: Histogram::with_opts(
                HistogramOpts::new(
                    "chat_fanout_seconds",
                    "Time to fan one event out to its watchers",
                )
                .buckets(vec![0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1]),
            )
            .expect("valid metric"),
            active_channels: gauge("chat_active_channels", "Channels with at least one watcher"),
            query_channels: IntCounter::new("chat_query_channels_total", "POST /channels calls")
                .expect("valid metric"),
            cluster_peers: gauge(
                "chat_cluster_peers",
                "Other nodes of the cluster heard from lately",
            ),
            bus_connected: gauge("chat_bus_connected", "1 while the cluster bus is connected"),
            bus_dropped: IntCounter::new(
                "chat_bus_dropped_total",
                "Cluster notes dropped because the bus queue was full",
            )
            .expect("valid metric"),
            bus_lost: IntCounter::new(
                "chat_bus_lost_total",
                "Times NATS dropped notes for this node (slow consumer); its connections were dropped to recover",
            )
            .expect("valid metric"),
            bus_resyncs: IntCounter::new(
                "chat_bus_resyncs_total",
                "Times this node resynced: a peer's live state asked for whole, or lost events' connections dropped",
            )
            .expect("valid metric"),
            bus_subscriptions: gauge("chat_bus_subscriptions", "Bus subjects this node hears"),
            bus_notes: by("chat_bus_notes_total", "Cluster notes published and received", "direction"),
            bus_bytes: by(
                "chat_bus_bytes_total",
                "Bytes of cluster notes published and received",
                "direction",
            ),
            bus_largest_note: gauge(
                "chat_bus_largest_note_bytes",
                "The largest cluster note this node published",
            ),
            bus_unpublished: IntCounter::new(
                "chat_bus_unpublished_total",
                "Cluster notes NATS refused; the nodes hearing their topic were told to resync",
            )
            .expect("valid metric"),
            bus_gaps: IntCounter::new(
                "chat_bus_gaps_total",
                "Gaps in another node's numbered notes on a topic heard here; its connections here were dropped to recover",
            )
            .expect("valid metric"),
            bus_repeated: IntCounter::new(
                "chat_bus_repeated_total",
                "Notes from another node skipped because their number was seen already",
            )
            .expect("valid metric"),
            store_queue: gauge("chat_store_queue", "Store requests running or waiting"),
            requests_abandoned: IntCounter::new(
                "chat_requests_abandoned_total",
                "REST requests whose client went away before the answer (each still ran to its end)",
            )
            .expect("valid metric"),
            stale_events: IntCounter::new(
                "chat_stale_events_dropped_total",
                "Events not delivered: an older state of a message than one already delivered",
            )
            .expect("valid metric"),
            slow_consumers: IntCounter::new(
                "chat_slow_consumers_dropped_total",
                "Connections dropped because their queued events passed the outbox limit",
            )
            .expect("valid metric"),
            uploads: by("chat_uploads_total", "Uploads by outcome", "outcome"),
            upload_bytes: IntCounter::new(
                "chat_upload_bytes_total",
                "Bytes of uploaded files stored",
            )
            .expect("valid metric"),
            registry,
        };
        let r = &metrics.registry;
        r.register(Box::new(metrics.monthly_active_users.clone())).expect("unique metric");
        r.register(Box::new(metrics.connections.clone())).expect("unique metric");
        r.register(Box::new(metrics.connections_opened.clone())).expect("unique metric");
        r.register(Box::new(metrics.connections_closed.clone())).expect("unique metric");
        r.register(Box::new(metrics.connect_attempts.clone())).expect("unique metric");
        r.register(Box::new(metrics.connect_errors.clone())).expect("unique metric");
        r.register(Box::new(metrics.messages_sent.clone())).expect("unique metric");
        r.register(Box::new(metrics.events_received.clone())).expect("unique metric");
        r.register(Box::new(metrics.events_fanned_out.clone())).expect("unique metric");
        r.register(Box::new(metrics.fanout_seconds.clone())).expect("unique metric");
        r.register(Box::new(metrics.active_channels.clone())).expect("unique metric");
        r.register(Box::new(metrics.query_channels.clone())).expect("unique metric");
        r.register(Box::new(metrics.cluster_peers.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_connected.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_dropped.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_lost.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_resyncs.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_subscriptions.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_notes.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_bytes.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_largest_note.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_unpublished.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_gaps.clone())).expect("unique metric");
        r.register(Box::new(metrics.bus_repeated.clone())).expect("unique metric");
        r.register(Box::new(metrics.store_queue.clone())).expect("unique metric");
        r.register(Box::new(metrics.requests_abandoned.clone())).expect("unique metric");
        r.register(Box::new(metrics.stale_events.clone())).expect("unique metric");
        r.register(Box::new(metrics.slow_consumers.clone())).expect("unique metric");
        r.register(Box::new(metrics.uploads.clone())).expect("unique metric");
        r.register(Box::new(metrics.upload_bytes.clone())).expect("unique metric");
        for outcome in ["stored", "too_big", "refused"] {
            metrics.uploads.with_label_values(&[outcome]);
        }
        metrics.bus_connected.set(1);
        for direction in ["published", "received"] {
            metrics.bus_notes.with_label_values(&[direction]);
            metrics.bus_bytes.with_label_values(&[direction]);
        }
        // Show both transports from the start, so a scrape never misses a series.
        for kind in ["typing.start", "typing.stop"] {
            metrics.events_received.with_label_values(&[kind]);
        }
        for transport in ["websocket", "longpoll"] {
            metrics.connections.with_label_values(&[transport]);
            metrics.connections_opened.with_label_values(&[transport]);
            metrics.connections_closed.with_label_values(&[transport]);
        }
        metrics
    }

    /// Counts a cluster note of `bytes` this node published (`received`: false) or was delivered.
    pub fn count_bus_note(&self, received: bool, bytes: usize) {
        let direction = if received { "received" } else { "published" };
        self.bus_notes.with_label_values(&[direction]).inc();
        self.bus_bytes.with_label_values(&[direction]).inc_by(bytes as u64);
        if !received && bytes as i64 > self.bus_largest_note.get() {
            self.bus_largest_note.set(bytes as i64);
        }
    }

    /// The registry in Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        // Encoding into a Vec cannot fail for well-formed metrics.
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut out);
        String::from_utf8(out).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
