//! The load scenarios. Each returns one JSON object of figures; none sleeps for synchronization: counts and
//! memory are polled until they settle or a deadline passes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{Failure, Http, Socket, Target, STEP_TIMEOUT};
use crate::stats::{kib_each, rss_kib, Samples};

/// Sockets or requests in flight at once while a scenario sets up.
pub(crate) const SETUP_CONCURRENCY: usize = 128;
/// Messages sent before the measured ones in `fanout` and `longpoll`.
pub(crate) const WARM_UP_MESSAGES: usize = 5;
/// The metric series of open WebSockets.
const OPEN_SOCKETS: &str = "chat_connections{transport=\"websocket\"}";
/// The metric series of open long-poll connections.
const OPEN_POLLS: &str = "chat_connections{transport=\"longpoll\"}";

/// Microseconds since the generator started: the timestamp a message carries in its text.
pub(crate) fn now_micros() -> u64 {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    ORIGIN.get_or_init(Instant::now).elapsed().as_micros() as u64
}

/// How a measured message's text starts; its send time follows.
pub(crate) const STAMP: &str = "bench:";

/// The send time carried by a `message.new` frame sent by [`send_stamped`], if `frame` is one. Read from the
/// frame's text without parsing it (thousands of watchers read every frame); the searched text ends in [`STAMP`].
fn stamp_of(frame: &str) -> Option<u64> {
    if !frame.contains("\"message.new\"") {
        return None;
    }
    let (_, rest) = frame.split_once("\"text\":\"bench:")?;
    rest.split('"').next()?.parse().ok()
}

/// The same for an event already parsed (a long-poll answer's).
fn stamp_of_event(event: &Value) -> Option<u64> {
    let text = event["message"]["text"].as_str()?;
    text.strip_prefix(STAMP)?.parse().ok().filter(|_| event["type"] == "message.new")
}

/// Opens one WebSocket per user, `SETUP_CONCURRENCY` at a time; returns them in the users' order.
pub async fn open_sockets(
    target: &Target,
    users: &[String],
) -> Result<Vec<(Socket, String)>, Failure> {
    open_sockets_over(std::slice::from_ref(target), users).await
}

/// [`open_sockets`] spread over `targets` (nodes of a cluster): user `i` connects to `targets[i % n]`.
pub async fn open_sockets_over(
    targets: &[Target],
    users: &[String],
) -> Result<Vec<(Socket, String)>, Failure> {
    if targets.is_empty() {
        return Err("no target".into());
    }
    let each: Vec<Target> =
        (0..users.len()).map(|index| targets[index % targets.len()].clone()).collect();
    open_sockets_on(&each, users).await
}

/// [`open_sockets`] with user `i` connecting to `targets[i]`.
pub(crate) async fn open_sockets_on(
    targets: &[Target],
    users: &[String],
) -> Result<Vec<(Socket, String)>, Failure> {
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let mut tasks = JoinSet::new();
    for (index, (user, target)) in users.iter().zip(targets).enumerate() {
        let (user, target, gate) = (user.clone(), target.clone(), gate.clone());
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|error| error.to_string())?;
            target.open_socket(&user).await.map(|opened| (index, opened))
        });
    }
    let mut opened: Vec<Option<(Socket, String)>> = (0..users.len()).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let (index, socket) = done.map_err(|error| error.to_string())??;
        if let Some(slot) = opened.get_mut(index) {
            *slot = Some(socket);
        }
    }
    opened.into_iter().map(|socket| socket.ok_or_else(|| "a socket was lost".to_string())).collect()
}

/// Polls `series` until it equals `value`; returns how long that took.
async fn settle(
    http: &mut Http,
    series: &str,
    value: f64,
    limit: Duration,
) -> Result<Duration, Failure> {
    let started = Instant::now();
    loop {
        if http.metric(series).await? == value {
            return Ok(started.elapsed());
        }
        if started.elapsed() > limit {
            return Err(format!("{series} did not reach {value} within {limit:?}"));
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Idle WebSockets: resident memory per connection, how fast closed ones are counted out, and whether memory
/// returns to its baseline (within 20 %) once all are closed, waiting at most `settle_for`.
pub async fn idle(
    target: &Target,
    connections: usize,
    pid: Option<u32>,
    settle_for: Duration,
) -> Result<Value, Failure> {
    let mut http = target.http().await?;
    // Warm-up: every user connects once, a few at a time, so the baseline is a server that has served and whose
    // store knows these users; what the burst leaves behind is then the connections' own residue.
    let users: Vec<String> = (0..connections).map(|i| format!("idle-{i}")).collect();
    for few in users.chunks(SETUP_CONCURRENCY) {
        drop(open_sockets(target, few).await?);
        settle(&mut http, OPEN_SOCKETS, 0.0, STEP_TIMEOUT).await?;
    }
    let baseline = pid.and_then(rss_kib);
    let started = Instant::now();
    let sockets = open_sockets(target, &users).await?;
    let open_for = started.elapsed();
    settle(&mut http, OPEN_SOCKETS, connections as f64, STEP_TIMEOUT).await?;
    let loaded = pid.and_then(rss_kib);
    drop(sockets);
    let counted_out = settle(&mut http, OPEN_SOCKETS, 0.0, STEP_TIMEOUT).await?;
    let closed_at = Instant::now();
    let mut after = pid.and_then(rss_kib);
    let mut recovered_ms = None;
    if let (Some(pid), Some(base)) = (pid, baseline) {
        loop {
            after = rss_kib(pid);
            if after.is_some_and(|now| now as f64 <= base as f64 * 1.2) {
                recovered_ms = Some(closed_at.elapsed().as_millis() as u64);
                break;
            }
            if closed_at.elapsed() > settle_for {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let per_connection = kib_each(baseline, loaded, connections);
    Ok(json!({
        "scenario": "idle", "connections": connections,
        "open_ms": open_for.as_millis() as u64,
        "rss_baseline_kib": baseline, "rss_open_kib": loaded, "rss_after_close_kib": after,
        "kib_per_connection": per_connection,
        "counted_out_ms": counted_out.as_millis() as u64,
        "rss_recovered_ms": recovered_ms,
    }))
}

/// Connects per second: `total` connects (handshake, first frame, close), `concurrency` at a time, cycling
/// through `users` users that have connected before (a connect that changes nothing).
pub async fn connect_rate(
    target: &Target,
    total: usize,
    concurrency: usize,
    users: usize,
) -> Result<Value, Failure> {
    let names: Vec<String> = (0..users.max(1)).map(|i| format!("conn-{i}")).collect();
    drop(open_sockets(target, &names).await?);
    let gate = Arc::new(Semaphore::new(concurrency.max(1)));
    let mut tasks = JoinSet::new();
    let started = Instant::now();
    for index in 0..total {
        let (target, gate) = (target.clone(), gate.clone());
        let user = names.get(index % names.len()).cloned().unwrap_or_default();
        tasks.spawn(async move {
            let _permit = gate.acquire_owned().await.map_err(|error| error.to_string())?;
            let begun = Instant::now();
            let (mut socket, _) = target.open_socket(&user).await?;
            let took = begun.elapsed();
            let _ = socket.close(None).await;
            Ok::<_, Failure>(took)
        });
    }
    let mut latencies = Samples::default();
    while let Some(done) = tasks.join_next().await {
        latencies.push(done.map_err(|error| error.to_string())??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(json!({
        "scenario": "connect_rate", "connects": total, "concurrency": concurrency,
        "connects_per_second": total as f64 / elapsed,
        "p50_ms": latencies.percentile_ms(50.0), "p99_ms": latencies.percentile_ms(99.0),
    }))
}

/// Creates (or opens) a channel as `user_id`, with `members`.
pub(crate) async fn create_channel(
    target: &Target,
    http: &mut Http,
    user_id: &str,
    cid: &str,
    members: &[String],
) -> Result<(), Failure> {
    let (kind, id) = cid.split_once(':').ok_or("cid without type")?;
    let path = format!("/channels/{kind}/{id}/query?api_key={}", target.api_key);
    http.post_ok(target, user_id, &path, &json!({"data": {"members": members}, "state": false}))
        .await?;
    Ok(())
}

/// Sends `count` messages to `cid` as `user_id` at `per_second`, each stamped with its send time.
pub(crate) async fn send_stamped(
    target: &Target,
    user_id: &str,
    cid: &str,
    count: usize,
    per_second: f64,
) -> Result<(), Failure> {
    let mut http = target.http().await?;
    let (kind, id) = cid.split_once(':').ok_or("cid without type")?;
    let path = format!("/channels/{kind}/{id}/message?api_key={}", target.api_key);
    let mut ticks = tokio::time::interval(Duration::from_secs_f64(1.0 / per_second.max(0.1)));
    // Warm-up messages first, not measured: the first event to reach every connection allocates its queue.
    for _ in 0..WARM_UP_MESSAGES {
        ticks.tick().await;
        http.post_ok(target, user_id, &path, &json!({"message": {"text": "warm-up"}})).await?;
    }
    for _ in 0..count {
        ticks.tick().await;
        let text = format!("{STAMP}{}", now_micros());
        http.post_ok(target, user_id, &path, &json!({"message": {"text": text}})).await?;
    }
    Ok(())
}

/// Reads a watcher's socket from the moment it is open, as a client does (frames left unread pile up at the
/// server, which drops the connection as a slow consumer past its outbox bound), until `expected` stamped messages
/// arrived or the time `until` names has passed; returns their latencies, and the socket, still open (closing it
/// while other watchers still wait for the last message would put its close in their measurement).
pub(crate) async fn receive_stamped(
    mut socket: Socket,
    expected: usize,
    mut until: watch::Receiver<Option<Instant>>,
) -> (Samples, Socket) {
    let deadline = async move {
        let at = loop {
            if let Some(at) = *until.borrow_and_update() {
                break at;
            }
            if until.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        };
        tokio::time::sleep_until(at.into()).await;
    };
    tokio::pin!(deadline);
    let mut samples = Samples::default();
    while samples.0.len() < expected {
        tokio::select! {
            biased;
            frame = socket.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if let Some(sent) = stamp_of(&text) {
                        samples.0.push(now_micros().saturating_sub(sent));
                    }
                }
                Some(Ok(_)) => {}
                _ => break,
            },
            () = &mut deadline => break,
        }
    }
    (samples, socket)
}

/// Waits for every [`receive_stamped`] reader; returns their latencies together and their sockets, still open.
pub(crate) async fn collect_readers<S: Send + 'static>(
    readers: &mut JoinSet<(Samples, S)>,
) -> Result<(Samples, Vec<S>), Failure> {
    let (mut all, mut open) = (Samples::default(), Vec::with_capacity(readers.len()));
    while let Some(done) = readers.join_next().await {
        let (samples, socket) = done.map_err(|error| error.to_string())?;
        all.0.extend(samples.0);
        open.push(socket);
    }
    Ok((all, open))
}

/// One connection's watch of a channel: made on the node the connection is open on.
pub(crate) struct Watch {
    pub node: Target,
    pub user: String,
    pub connection_id: String,
    pub cid: String,
}

/// Makes every watch (`POST …/query` with `watch: true` and the connection's id) from `SETUP_CONCURRENCY`
/// workers, each keeping one keep-alive connection per node (a new TCP connection per watch measured the
/// handshakes more than the watches).
pub(crate) async fn watch_each(watches: Vec<Watch>) -> Result<(), Failure> {
    let queue = Arc::new(std::sync::Mutex::new(watches));
    let mut workers = JoinSet::new();
    for _ in 0..SETUP_CONCURRENCY {
        let queue = queue.clone();
        workers.spawn(async move {
            let mut connections: HashMap<SocketAddr, Http> = HashMap::new();
            loop {
                let next = queue.lock().map_err(|error| error.to_string())?.pop();
                let Some(watch) = next else { return Ok::<(), Failure>(()) };
                watch_once(&mut connections, watch).await?;
            }
        });
    }
    while let Some(done) = workers.join_next().await {
        done.map_err(|error| error.to_string())??;
    }
    Ok(())
}

/// One watch over the worker's connection to its node, opened (or opened again, once, when the server closed it)
/// as needed.
async fn watch_once(
    connections: &mut HashMap<SocketAddr, Http>,
    Watch { node, user, connection_id, cid }: Watch,
) -> Result<(), Failure> {
    let (kind, id) = cid.split_once(':').ok_or("cid without type")?;
    let path = format!(
        "/channels/{kind}/{id}/query?api_key={}&connection_id={connection_id}",
        node.api_key
    );
    let body = json!({"watch": true, "state": false});
    if let Some(http) = connections.get_mut(&node.addr) {
        if http.post_ok(&node, &user, &path, &body).await.is_ok() {
            return Ok(());
        }
    }
    let mut http = node.http().await?;
    let done = http.post_ok(&node, &user, &path, &body).await.map(drop);
    connections.insert(node.addr, http);
    done
}

/// Fan-out: `watchers` WebSockets watch one livestream channel; one user sends `messages` at `per_second`.
/// Latency is from just before the send request to the watcher reading the event; each watcher reads its socket
/// from the moment it opens, as a client does (a socket left unread through the watch phase is dropped by the
/// server as a slow consumer once the other watchers' arrivals pass its outbox bound). The watchers connect (and
/// watch) round-robin over `watcher_nodes` (other nodes of a cluster, the sender's node when empty); the channel
/// is created and the messages sent on `target`.
pub async fn fanout(
    target: &Target,
    watcher_nodes: &[Target],
    watchers: usize,
    messages: usize,
    per_second: f64,
) -> Result<Value, Failure> {
    let cid = format!("livestream:fanout-{watchers}-{}", now_micros());
    let host = "fanout-host".to_string();
    let mut http = target.http().await?;
    create_channel(target, &mut http, &host, &cid, std::slice::from_ref(&host)).await?;
    let users: Vec<String> = (0..watchers).map(|i| format!("watcher-{i}")).collect();
    let nodes = if watcher_nodes.is_empty() { std::slice::from_ref(target) } else { watcher_nodes };
    let sockets = open_sockets_over(nodes, &users).await?;
    // Every watcher reads its socket from now on, through the watch phase (the other watchers' arrivals) too.
    let (stop, until) = watch::channel(None);
    let mut readers = JoinSet::new();
    let mut connection_ids = Vec::with_capacity(sockets.len());
    for (socket, connection_id) in sockets {
        readers.spawn(receive_stamped(socket, messages, until.clone()));
        connection_ids.push(connection_id);
    }
    let watches =
        users.iter().zip(connection_ids).enumerate().map(|(index, (user, connection_id))| Watch {
            node: nodes[index % nodes.len()].clone(),
            user: user.clone(),
            connection_id,
            cid: cid.clone(),
        });
    watch_each(watches.collect()).await?;
    send_stamped(target, &host, &cid, messages, per_second).await?;
    let _ = stop.send(Some(Instant::now() + STEP_TIMEOUT));
    let (mut all, open) = collect_readers(&mut readers).await?;
    drop(open);
    let delivered = all.0.len();
    Ok(json!({
        "scenario": "fanout", "watchers": watchers, "messages": messages, "per_second": per_second,
        "delivered": delivered, "expected": watchers * messages,
        "p50_ms": all.percentile_ms(50.0), "p99_ms": all.percentile_ms(99.0), "max_ms": all.percentile_ms(100.0),
    }))
}

/// Ingest: `senders` users post to one channel as fast as the server acknowledges, for `duration`.
pub async fn ingest(target: &Target, senders: usize, duration: Duration) -> Result<Value, Failure> {
    let cid = format!("messaging:ingest-{senders}-{}", now_micros());
    let users: Vec<String> = (0..senders.max(1)).map(|i| format!("sender-{i}")).collect();
    let mut http = target.http().await?;
    create_channel(target, &mut http, users.first().ok_or("no senders")?, &cid, &users).await?;
    let (kind, id) = cid.split_once(':').ok_or("cid without type")?;
    let path = format!("/channels/{kind}/{id}/message?api_key={}", target.api_key);
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for user in users {
        let (target, path) = (target.clone(), path.clone());
        tasks.spawn(async move {
            let mut http = target.http().await?;
            let mut samples = Samples::default();
            while started.elapsed() < duration {
                let begun = Instant::now();
                http.post_ok(&target, &user, &path, &json!({"message": {"text": "ingest"}}))
                    .await?;
                samples.push(begun.elapsed());
            }
            Ok::<_, Failure>(samples)
        });
    }
    let mut all = Samples::default();
    while let Some(done) = tasks.join_next().await {
        all.0.extend(done.map_err(|error| error.to_string())??.0);
    }
    let elapsed = started.elapsed().as_secs_f64();
    Ok(json!({
        "scenario": "ingest", "senders": senders, "acknowledged": all.0.len(),
        "messages_per_second": all.0.len() as f64 / elapsed,
        "p50_ms": all.percentile_ms(50.0), "p99_ms": all.percentile_ms(99.0),
    }))
}

/// Long-poll: `clients` long-poll connections watch one channel (idle memory per connection), then one user sends
/// `messages` at `per_second` and the polls' latency is measured.
pub async fn longpoll(
    target: &Target,
    clients: usize,
    messages: usize,
    per_second: f64,
    pid: Option<u32>,
) -> Result<Value, Failure> {
    let cid = format!("livestream:poll-{clients}-{}", now_micros());
    let host = "poll-host".to_string();
    let mut http = target.http().await?;
    create_channel(target, &mut http, &host, &cid, std::slice::from_ref(&host)).await?;
    let baseline = pid.and_then(rss_kib);
    let (kind, id) = cid.split_once(':').ok_or("cid without type")?;
    let gate = Arc::new(Semaphore::new(SETUP_CONCURRENCY));
    let sending = (messages + WARM_UP_MESSAGES) as f64 / per_second.max(0.1);
    let limit = Duration::from_secs_f64(sending) + STEP_TIMEOUT;
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel::<()>(clients.max(1));
    let mut pollers = JoinSet::new();
    for index in 0..clients {
        let user = format!("poller-{index}");
        let (target, gate, ready) = (target.clone(), gate.clone(), ready_tx.clone());
        let watch = format!("/channels/{kind}/{id}/query?api_key={}", target.api_key);
        pollers.spawn(async move {
            let mut http = {
                let _permit = gate.acquire_owned().await.map_err(|error| error.to_string())?;
                let mut http = target.http().await?;
                let (_, body) = http.request("GET", &format!("/longpoll?{}", target.connect_query(&user)), None, None).await?;
                let event: Value = serde_json::from_slice(&body).map_err(|error| error.to_string())?;
                let connection_id = event["event"]["connection_id"].as_str().ok_or("long-poll connect refused")?.to_owned();
                let path = format!("{watch}&connection_id={connection_id}");
                http.post_ok(&target, &user, &path, &json!({"watch": true, "state": false})).await?;
                let poll = format!("/longpoll?connection_id={connection_id}&api_key={}&authorization={}&stream-auth-type=jwt", target.api_key, target.token(&user));
                (http, poll)
            };
            let _ = ready.send(()).await;
            let mut samples = Samples::default();
            let deadline = Instant::now() + limit;
            while samples.0.len() < messages && Instant::now() < deadline {
                let (status, body) = http.0.request("GET", &http.1, None, None).await?;
                if status != 200 {
                    return Err(format!("poll answered {status}"));
                }
                let answer: Value = serde_json::from_slice(&body).map_err(|error| error.to_string())?;
                for sent in answer["events"].as_array().into_iter().flatten().filter_map(stamp_of_event) {
                    samples.0.push(now_micros().saturating_sub(sent));
                }
            }
            Ok::<_, Failure>(samples)
        });
    }
    drop(ready_tx);
    for _ in 0..clients {
        ready_rx.recv().await.ok_or("a long-poll client failed to start")?;
    }
    settle(&mut http, OPEN_POLLS, clients as f64, STEP_TIMEOUT).await?;
    let loaded = pid.and_then(rss_kib);
    send_stamped(target, &host, &cid, messages, per_second).await?;
    let mut all = Samples::default();
    while let Some(done) = pollers.join_next().await {
        all.0.extend(done.map_err(|error| error.to_string())??.0);
    }
    let per_connection = kib_each(baseline, loaded, clients);
    Ok(json!({
        "scenario": "longpoll", "clients": clients, "messages": messages,
        "delivered": all.0.len(), "expected": clients * messages,
        "kib_per_connection": per_connection,
        "p50_ms": all.percentile_ms(50.0), "p99_ms": all.percentile_ms(99.0),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_are_read_from_message_new_frames_only() {
        let frame = r#"{"type":"message.new","message":{"id":"m","text":"bench:1234","user":{}}}"#;
        assert_eq!(stamp_of(frame), Some(1234));
        assert_eq!(stamp_of(r#"{"type":"message.updated","message":{"text":"bench:1"}}"#), None);
        assert_eq!(stamp_of(r#"{"type":"message.new","message":{"text":"hi"}}"#), None);
        let event = serde_json::json!({"type": "message.new", "message": {"text": "bench:1234"}});
        assert_eq!(stamp_of_event(&event), Some(1234));
        assert_eq!(
            stamp_of_event(
                &serde_json::json!({"type": "message.updated", "message": {"text": "bench:1"}})
            ),
            None
        );
    }
}
