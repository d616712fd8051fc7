//! The server binary as its own process, measured from outside: its memory stays bounded while a watcher stops
//! reading large messages (that watcher is closed within the write timeout and everyone else keeps being served),
//! its logs name paths and user ids but never tokens or user objects, a second process on the same database
//! refuses to start, and SIGTERM drains it (WebSockets closed with 1001, a clean exit, nothing acknowledged lost).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::{encode, http_get, http_json, API_KEY, DEADLINE, SECRET};
use futures_util::StreamExt;
use serde_json::{json, Value};
use stream_chat_server::auth::Auth;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running `stream-chat-server` process; killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

fn command(db: &Path, log: &Path, extra: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_stream-chat-server"));
    command
        .args(["--port", "0", "--api-key", API_KEY, "--api-secret", SECRET, "--db"])
        .arg(db)
        .args(extra)
        .env("RUST_LOG", "stream_chat_server=debug,tower_http=debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(log).unwrap())
        .kill_on_drop(true);
    command
}

async fn spawn(db: &Path, log: &Path, extra: &[&str]) -> Server {
    let mut child = command(db, log, extra).spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(DEADLINE, lines.next_line()).await.unwrap().unwrap().unwrap();
    let addr = line.split("http://").nth(1).unwrap().split_whitespace().next().unwrap();
    Server { child, addr: addr.parse().unwrap() }
}

fn token(user_id: &str) -> String {
    Auth::new(API_KEY, SECRET, false).sign(&json!({ "user_id": user_id }))
}

fn server_token() -> String {
    Auth::new(API_KEY, SECRET, false).sign(&json!({ "server": true }))
}

/// Resident memory of a process, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|line| line.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn metric(addr: SocketAddr, series: &str) -> f64 {
    let body = http_get(addr, "/metrics").await.1;
    body.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or(0.0)
}

fn connect_url(addr: SocketAddr, user: &Value, token: &str) -> String {
    let payload = json!({"user_id": user["id"], "user_details": user, "client_request_id": "r"});
    format!(
        "ws://{addr}/connect?api_key={API_KEY}&stream-auth-type=jwt&authorization={token}&json={}",
        encode(&payload.to_string())
    )
}

/// A REST call as `user_id` with its own token and connection.
async fn call(
    addr: SocketAddr,
    user_id: &str,
    connection_id: &str,
    path: &str,
    body: Value,
) -> (u16, Value) {
    let query = format!("{path}?api_key={API_KEY}&user_id={user_id}&connection_id={connection_id}");
    http_json(addr, "POST", &query, Some(&token(user_id)), &body.to_string()).await
}

#[tokio::test]
async fn a_watcher_that_stops_reading_is_closed_announced_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["--write-timeout", "2", "--outbox-bytes", "262144"];
    let server = spawn(&dir.path().join("chat.db"), &dir.path().join("log"), &args).await;
    let addr = server.addr;
    let pid = server.child.id().unwrap();

    // alice reads everything; sloth has a tiny receive buffer and stops reading after its first frame.
    let alice_user = json!({"id": "alice"});
    let (mut alice, _) =
        tokio_tungstenite::connect_async(connect_url(addr, &alice_user, &token("alice")))
            .await
            .unwrap();
    let first: Value =
        serde_json::from_str(alice.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    let alice_connection = first["connection_id"].as_str().unwrap().to_owned();
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    let sloth_user = json!({"id": "sloth"});
    let (mut sloth, _) =
        tokio_tungstenite::client_async(connect_url(addr, &sloth_user, &token("sloth")), stream)
            .await
            .unwrap();
    let first: Value =
        serde_json::from_str(sloth.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    let sloth_connection = first["connection_id"].as_str().unwrap().to_owned();
    let body = json!({"data": {"members": ["alice", "sloth"]}, "watch": true});
    let general = "/channels/messaging/general/query";
    assert_eq!(call(addr, "alice", &alice_connection, general, body.clone()).await.0, 200);
    assert_eq!(call(addr, "sloth", &sloth_connection, general, body).await.0, 200);
    // Whether a frame says sloth stopped watching (it may come before alice has read every message).
    let sloth_stopped =
        |text: &str| text.contains("\"user.watching.stop\"") && text.contains("\"sloth\"");
    let reader = tokio::spawn(async move {
        let (mut received, mut stopped) = (0usize, false);
        while let Some(Ok(frame)) = alice.next().await {
            let Ok(text) = frame.to_text() else { continue };
            stopped |= sloth_stopped(text);
            if text.contains("\"message.new\"") {
                received += 1;
                if received == 300 {
                    break;
                }
            }
        }
        (received, stopped, alice)
    });

    let baseline = rss_kib(pid);
    let mut peak = baseline;
    let query = format!("/channels/messaging/general/message?api_key={API_KEY}&user_id=alice");
    for n in 0..300 {
        let body =
            json!({"message": {"id": format!("big-{n}"), "text": "x", "blob": "y".repeat(30_000)}});
        let (status, answer) =
            http_json(addr, "POST", &query, Some(&server_token()), &body.to_string()).await;
        assert_eq!(status, 200, "message {n}: {answer}");
        peak = peak.max(rss_kib(pid));
    }
    // 300 messages of 30 KB: 9 MB fanned out to each watcher. The reader got them all.
    let (received, stopped, mut alice) =
        tokio::time::timeout(DEADLINE, reader).await.unwrap().unwrap();
    assert_eq!(received, 300);
    // However it was dropped (its outbox full, or its writes timing out), alice hears that sloth stopped watching.
    let stopped = stopped
        || tokio::time::timeout(DEADLINE, async {
            while let Some(Ok(frame)) = alice.next().await {
                if frame.to_text().is_ok_and(sloth_stopped) {
                    return true;
                }
            }
            false
        })
        .await
        .expect("no user.watching.stop for the dropped watcher in time");
    assert!(stopped, "alice's socket ended before sloth's departure was announced");
    // The one that stopped reading is closed (write timeout 2 s): one WebSocket left.
    let deadline = tokio::time::Instant::now() + DEADLINE;
    while metric(addr, "chat_connections{transport=\"websocket\"}").await != 1.0 {
        assert!(tokio::time::Instant::now() < deadline, "the silent watcher is still connected");
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak = peak.max(rss_kib(pid));
    }
    let growth_mib = peak.saturating_sub(baseline) / 1024;
    eprintln!("server RSS: baseline {} MiB, peak growth {growth_mib} MiB", baseline / 1024);
    assert!(growth_mib < 64, "RSS grew by {growth_mib} MiB (baseline {} MiB)", baseline / 1024);
    drop(sloth);
}

#[tokio::test]
async fn logs_carry_paths_and_user_ids_but_no_tokens_or_user_objects() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let server = spawn(&dir.path().join("chat.db"), &log, &[]).await;
    let addr = server.addr;
    let marker = "Private Name 7f3a";
    let user = json!({"id": "alice", "name": marker});
    let alice_token = token("alice");
    let (mut alice, _) =
        tokio_tungstenite::connect_async(connect_url(addr, &user, &alice_token)).await.unwrap();
    let first: Value =
        serde_json::from_str(alice.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    let connection = first["connection_id"].as_str().unwrap().to_owned();
    // A long-poll connect with the token in the URL (as a careless client might), and a refused connect whose
    // malformed payload quotes the user.
    let payload = json!({"user_id": "alice", "user_details": user});
    let path = format!(
        "/longpoll?api_key={API_KEY}&authorization={alice_token}&json={}",
        encode(&payload.to_string())
    );
    assert_eq!(http_json(addr, "GET", &path, None, "").await.0, 200);
    let bad = json!({"user_id": marker, "user_details": {"id": marker}});
    let path = format!(
        "/longpoll?api_key={API_KEY}&authorization={alice_token}&json={}",
        encode(&bad.to_string())
    );
    assert_eq!(http_json(addr, "GET", &path, None, "").await.0, 400);
    let body = json!({"data": {"members": ["alice"]}, "watch": true});
    assert_eq!(
        call(addr, "alice", &connection, "/channels/messaging/general/query", body).await.0,
        200
    );
    drop(alice);
    drop(server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("/connect") && text.contains("/longpoll") && text.contains("alice"),
        "{text}"
    );
    let signature = alice_token.rsplit('.').next().unwrap();
    assert!(!text.contains(signature), "a token reached the logs:\n{text}");
    assert!(
        !text.contains("7f3a") && !text.contains("Private"),
        "a user object reached the logs:\n{text}"
    );
    assert!(!text.contains("user_details"), "a connect payload reached the logs:\n{text}");
}

#[tokio::test]
async fn a_second_process_on_the_same_database_refuses_to_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let first = spawn(&db, &dir.path().join("log1"), &[]).await;
    let log2 = dir.path().join("log2");
    let mut second = command(&db, &log2, &[]).spawn().unwrap();
    let status = tokio::time::timeout(DEADLINE, second.wait()).await.unwrap().unwrap();
    assert!(!status.success());
    let said = std::fs::read_to_string(&log2).unwrap();
    assert!(said.contains("another server process is using"), "{said}");
    // The first keeps serving.
    assert_eq!(http_get(first.addr, "/metrics").await.0, 200);
}

#[tokio::test]
async fn sigterm_drains_closes_sockets_with_1001_and_keeps_what_was_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let mut server = spawn(&db, &dir.path().join("log"), &[]).await;
    let addr = server.addr;
    assert_eq!(http_get(addr, "/healthz").await.0, 200);
    let (status, ready) = http_json(addr, "GET", "/readyz", None, "").await;
    assert_eq!((status, ready["ready"].as_bool()), (200, Some(true)), "{ready}");
    let user = json!({"id": "alice"});
    let (mut alice, _) =
        tokio_tungstenite::connect_async(connect_url(addr, &user, &token("alice"))).await.unwrap();
    let first: Value =
        serde_json::from_str(alice.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    let connection = first["connection_id"].as_str().unwrap().to_owned();
    let body = json!({"data": {"members": ["alice"]}, "watch": true});
    assert_eq!(
        call(addr, "alice", &connection, "/channels/messaging/drain/query", body).await.0,
        200
    );
    let sent = json!({"message": {"id": "kept", "text": "acknowledged before the drain"}});
    assert_eq!(
        call(addr, "alice", &connection, "/channels/messaging/drain/message", sent).await.0,
        200
    );

    let pid = server.child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    // The socket is closed with 1001 (going away): the client reconnects elsewhere.
    let close = loop {
        match tokio::time::timeout(DEADLINE, alice.next()).await.unwrap() {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("no close frame: {other:?}"),
        }
    };
    assert_eq!(close.map(|frame| u16::from(frame.code)), Some(1001));
    let exit = tokio::time::timeout(DEADLINE, server.child.wait()).await.unwrap().unwrap();
    assert!(exit.success(), "a drain exits cleanly: {exit}");

    let again = spawn(&db, &dir.path().join("log2"), &[]).await;
    let (mut alice, _) =
        tokio_tungstenite::connect_async(connect_url(again.addr, &user, &token("alice")))
            .await
            .unwrap();
    let first: Value =
        serde_json::from_str(alice.next().await.unwrap().unwrap().to_text().unwrap()).unwrap();
    let connection = first["connection_id"].as_str().unwrap();
    let (_, state) =
        call(again.addr, "alice", connection, "/channels/messaging/drain/query", json!({})).await;
    let texts: Vec<&str> =
        state["messages"].as_array().unwrap().iter().filter_map(|m| m["text"].as_str()).collect();
    assert_eq!(texts, ["acknowledged before the drain"]);
}
