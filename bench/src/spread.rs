//! `spread`: what a cluster's bus carries as the cluster grows. `connections` WebSockets over its nodes, one
//! livestream channel watched on every node (`shared_per_node` watchers on each) and `channels` channels each
//! watched on one node only (the other connections split evenly among them, channel `c` on node `c % n`). Stamped
//! messages go through the first node: `messages` to the shared channel, then one to each single-node channel.
//! Figures: delivery latency of each phase across every node, and per node, from its own `/metrics`, the bus notes
//! and bytes it received per message sent in each phase and the largest note it published. With interest routing,
//! a node with no watcher of a channel receives nothing for it: a single-node channel's message reaches the bus
//! only for the node that watches it.

use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};
use serde_json::{json, Value};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::client::{Failure, Http, Target, STEP_TIMEOUT};
use crate::scenarios::{
    collect_readers, create_channel, now_micros, open_sockets_on, receive_stamped, send_stamped,
    watch_each, Watch, STAMP, WARM_UP_MESSAGES,
};
use crate::stats::Samples;

/// How fast the single-node channels' messages are sent, one to each, through `SENDERS` connections.
const LOCAL_PER_SECOND: f64 = 200.0;
/// Keep-alive connections the single-node channels' messages are sent over.
const SENDERS: usize = 8;

/// What one connection watches.
#[derive(Clone, Copy, PartialEq)]
enum Watching {
    Shared,
    Local(usize),
}

/// A node's bus counters, from its `/metrics`: notes and bytes received.
#[derive(Clone, Copy, Default)]
struct Received {
    notes: f64,
    bytes: f64,
}

/// Every node's [`Received`], in node order (each over a new connection: the server closes idle keep-alives).
async fn received(nodes: &[Target]) -> Result<Vec<Received>, Failure> {
    let mut all = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut http = node.http().await?;
        all.push(Received {
            notes: http.metric("chat_bus_notes_total{direction=\"received\"}").await?,
            bytes: http.metric("chat_bus_bytes_total{direction=\"received\"}").await?,
        });
    }
    Ok(all)
}

/// Per node: notes and bytes received between `before` and `after`, per one of `messages`.
fn per_message(before: &[Received], after: &[Received], messages: usize) -> Vec<Value> {
    let messages = messages.max(1) as f64;
    before
        .iter()
        .zip(after)
        .map(|(before, after)| {
            json!({
                "notes": (after.notes - before.notes) / messages,
                "bytes": (after.bytes - before.bytes) / messages,
            })
        })
        .collect()
}

/// Runs the scenario: `target` is where channels are created and messages sent, `nodes` every node (the
/// connections spread over them; `target` alone when empty).
pub async fn spread(
    target: &Target,
    nodes: &[Target],
    connections: usize,
    channels: usize,
    shared_per_node: usize,
    messages: usize,
    per_second: f64,
) -> Result<Value, Failure> {
    let nodes = if nodes.is_empty() { std::slice::from_ref(target) } else { nodes };
    let count = nodes.len();
    let run = now_micros();
    let host = "spread-host".to_string();
    let shared = format!("livestream:spread-shared-{run}");
    let locals: Vec<String> =
        (0..channels).map(|c| format!("livestream:spread-{c}-{run}")).collect();
    let shared_watchers = (shared_per_node * count).min(connections);
    let per_channel = (connections - shared_watchers) / channels.max(1);
    if channels > 0 && per_channel == 0 {
        return Err("fewer connections than single-node channels".into());
    }
    // Connection `i`: the shared channel's watchers first, round robin over the nodes, then each single-node
    // channel's, all on that channel's node.
    let plan: Vec<(usize, Watching)> = (0..shared_watchers + per_channel * channels)
        .map(|i| match i.checked_sub(shared_watchers) {
            None => (i % count, Watching::Shared),
            Some(k) => ((k / per_channel) % count, Watching::Local(k / per_channel)),
        })
        .collect();

    let mut http = target.http().await?;
    create_channel(target, &mut http, &host, &shared, std::slice::from_ref(&host)).await?;
    for_each_paced(target, locals.clone(), None, |mut http, cid| {
        let (target, host) = (target.clone(), host.clone());
        async move {
            create_channel(&target, &mut http, &host, &cid, std::slice::from_ref(&host)).await?;
            Ok(http)
        }
    })
    .await?;

    let users: Vec<String> = (0..plan.len()).map(|i| format!("spread-{i}")).collect();
    let targets: Vec<Target> = plan.iter().map(|(node, _)| nodes[*node].clone()).collect();
    let started = Instant::now();
    let sockets = open_sockets_on(&targets, &users).await?;
    let connect_ms = started.elapsed().as_secs_f64() * 1000.0;
    // Every connection reads its socket from now on; each phase's readers stop at their own deadline.
    let (stop_shared, until_shared) = watch::channel(None);
    let (stop_local, until_local) = watch::channel(None);
    let (mut shared_readers, mut local_readers) = (JoinSet::new(), JoinSet::new());
    let mut watches = Vec::with_capacity(plan.len());
    for (((socket, connection_id), (node, watching)), user) in
        sockets.into_iter().zip(&plan).zip(&users)
    {
        let cid = match watching {
            Watching::Shared => {
                let expected = messages;
                shared_readers.spawn(receive_stamped(socket, expected, until_shared.clone()));
                shared.clone()
            }
            Watching::Local(channel) => {
                local_readers.spawn(receive_stamped(socket, 1, until_local.clone()));
                locals[*channel].clone()
            }
        };
        watches.push(Watch { node: nodes[*node].clone(), user: user.clone(), connection_id, cid });
    }
    let started = Instant::now();
    watch_each(watches).await?;
    let watch_ms = started.elapsed().as_secs_f64() * 1000.0;

    let before = received(nodes).await?;
    send_stamped(target, &host, &shared, messages, per_second).await?;
    let _ = stop_shared.send(Some(Instant::now() + STEP_TIMEOUT));
    let (shared_samples, mut open) = collect_readers(&mut shared_readers).await?;
    let between = received(nodes).await?;
    for_each_paced(target, locals.clone(), Some(LOCAL_PER_SECOND), |mut http, cid| {
        let (target, host) = (target.clone(), host.clone());
        async move {
            let (kind, id) = cid.split_once(':').ok_or("cid without type")?;
            let path = format!("/channels/{kind}/{id}/message?api_key={}", target.api_key);
            let text = format!("{STAMP}{}", now_micros());
            http.post_ok(&target, &host, &path, &json!({"message": {"text": text}})).await?;
            Ok(http)
        }
    })
    .await?;
    let _ = stop_local.send(Some(Instant::now() + STEP_TIMEOUT));
    let (local_samples, local_open) = collect_readers(&mut local_readers).await?;
    open.extend(local_open);
    let after = received(nodes).await?;
    let mut largest = Vec::with_capacity(count);
    for node in nodes {
        largest.push(node.http().await?.metric("chat_bus_largest_note_bytes").await?);
    }
    // Watchers of a single-node channel on each node: the notes that node needs per single-node message.
    let needed: Vec<f64> = (0..count)
        .map(|node| {
            let own = (0..channels).filter(|c| c % count == node).count() as f64;
            if nodes[node].addr == target.addr {
                0.0
            } else {
                own / channels.max(1) as f64
            }
        })
        .collect();
    drop(open);
    Ok(json!({
        "scenario": "spread", "nodes": count, "connections": plan.len(), "channels": channels,
        "shared_watchers": shared_watchers, "watchers_per_channel": per_channel,
        "connect_ms": connect_ms, "watch_ms": watch_ms,
        "shared": phase(shared_samples, shared_watchers * messages, messages),
        "local": phase(local_samples, per_channel * channels, channels),
        "shared_received_per_message": per_message(&before, &between, messages + WARM_UP_MESSAGES),
        "local_received_per_message": per_message(&between, &after, channels),
        "local_needed_per_message": needed,
        "largest_note_bytes": largest,
    }))
}

/// One phase's figures: deliveries against what was expected, latency percentiles.
fn phase(mut samples: Samples, expected: usize, messages: usize) -> Value {
    json!({
        "messages": messages, "delivered": samples.0.len(), "expected": expected,
        "p50_ms": samples.percentile_ms(50.0), "p99_ms": samples.percentile_ms(99.0),
        "max_ms": samples.percentile_ms(100.0),
    })
}

/// Runs `each` for every item over [`SENDERS`] keep-alive connections to `target` (one request per connection at
/// a time; `each` hands its connection back), started at `per_second` when given, else as soon as a connection is
/// free; fails with the first failure.
async fn for_each_paced<F, Fut>(
    target: &Target,
    items: Vec<String>,
    per_second: Option<f64>,
    each: F,
) -> Result<(), Failure>
where
    F: Fn(Http, String) -> Fut,
    Fut: std::future::Future<Output = Result<Http, Failure>>,
{
    let mut pool = Vec::with_capacity(SENDERS);
    for _ in 0..SENDERS {
        pool.push(target.http().await?);
    }
    let mut ticks =
        per_second.map(|rate| tokio::time::interval(Duration::from_secs_f64(1.0 / rate)));
    let mut busy = FuturesUnordered::new();
    for item in items {
        if let Some(ticks) = ticks.as_mut() {
            ticks.tick().await;
        }
        let http = match pool.pop() {
            Some(http) => http,
            None => busy.next().await.ok_or("no connection to send on")??,
        };
        busy.push(each(http, item));
    }
    while let Some(done) = busy.next().await {
        done?;
    }
    Ok(())
}
