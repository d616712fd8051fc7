//! `/connect` against a real listener and SQLite file: the handshake, upsert and merge, every refusal code,
//! ping/pong, idle drop and the connection metrics.

mod common;

use std::time::Duration;

use common::{assert_refused, Next, Options, TestServer, API_KEY};
use serde_json::{json, Value};
use stream_chat_protocol::token::dev_token;

async fn server(dir: &tempfile::TempDir, options: Options) -> TestServer {
    TestServer::start(&dir.path().join("chat.db"), options).await
}

#[tokio::test]
async fn connect_answers_health_check_with_the_stored_user() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Options::default()).await;
    let user = json!({"id": "alice", "name": "Alice", "color": "red"});
    let mut client = server.open(&user, &server.token("alice")).await;
    let frame = client.frame().await;
    assert_eq!(frame["type"], "health.check");
    assert_eq!(frame["cid"], "*");
    assert!(frame["connection_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert!(frame["created_at"].as_str().is_some());
    let me = &frame["me"];
    assert_eq!(
        (me["id"].as_str(), me["name"].as_str(), me["color"].as_str()),
        (Some("alice"), Some("Alice"), Some("red"))
    );
    assert_eq!(me["role"], "user");
    assert_eq!(me["privacy_settings"]["typing_indicators"]["enabled"], true);
    assert_eq!(me["privacy_settings"]["read_receipts"]["enabled"], true);
    client.close().await;
    server.stop().await;
}

#[tokio::test]
async fn reconnect_merges_fields_and_keeps_server_owned_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Options::default()).await;
    let token = server.token("bob");
    let first = json!({"id": "bob", "name": "Bob", "color": "blue",
        "privacy_settings": {"typing_indicators": {"enabled": false}}});
    let mut client = server.open(&first, &token).await;
    let created_at = client.frame().await["me"]["created_at"].clone();
    client.close().await;

    let second = json!({"id": "bob", "name": "Robert", "role": "admin", "created_at": "1999-01-01T00:00:00Z",
        "privacy_settings": {"read_receipts": {"enabled": false}}});
    let mut client = server.open(&second, &token).await;
    let me = client.frame().await["me"].clone();
    assert_eq!(me["name"], "Robert");
    assert_eq!(me["color"], "blue", "a field the second connect did not name is kept");
    assert_eq!(me["role"], "user", "role is not writable on connect");
    assert_eq!(me["created_at"], created_at, "created_at is not writable");
    assert_eq!(me["privacy_settings"]["typing_indicators"]["enabled"], false);
    assert_eq!(me["privacy_settings"]["read_receipts"]["enabled"], false);
    client.close().await;
    server.stop().await;

    // The merged user survives a restart on the same file.
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let mut client = server.open(&json!({"id": "bob"}), &token).await;
    let me = client.frame().await["me"].clone();
    assert_eq!((me["name"].as_str(), me["color"].as_str()), (Some("Robert"), Some("blue")));
    client.close().await;
    server.stop().await;
}

#[tokio::test]
async fn each_bad_input_gets_its_code_and_others_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Options::default()).await;
    let mut alice = server.open(&json!({"id": "alice"}), &server.token("alice")).await;
    let connection_id = alice.frame().await["connection_id"].clone();

    let payload = |user: Value| json!({"user_id": user["id"], "user_details": user}).to_string();
    let token = server.token("carol");
    // Invalid id.
    assert_refused(server.open(&json!({"id": "Carol!"}), &server.token("Carol!")).await, 4, 400)
        .await;
    // Oversized user.
    let big = json!({"id": "carol", "bio": "x".repeat(6000)});
    assert_refused(server.open(&big, &token).await, 4, 400).await;
    // Malformed json.
    assert_refused(server.open_raw(API_KEY, "{not json", &token).await, 4, 400).await;
    // Unknown api key.
    assert_refused(server.open_raw("nope", &payload(json!({"id": "carol"})), &token).await, 2, 401)
        .await;
    // Bad signature.
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert_refused(server.open(&json!({"id": "carol"}), &forged).await, 43, 401).await;
    // Dev token outside dev mode.
    assert_refused(server.open(&json!({"id": "carol"}), &dev_token("carol")).await, 43, 401).await;
    // Expired.
    let expired = stream_chat_server::auth::Auth::new(API_KEY, common::SECRET, false)
        .sign(&json!({"user_id": "carol", "exp": 1_600_000_000}));
    assert_refused(server.open(&json!({"id": "carol"}), &expired).await, 40, 401).await;
    // Token for someone else.
    assert_refused(server.open(&json!({"id": "carol"}), &server.token("dave")).await, 5, 401).await;

    // Alice is still served.
    alice.send(r#"[{"type":"health.check","client_id":"alice--1"}]"#).await;
    let pong = alice.frame().await;
    assert_eq!((&pong["type"], &pong["connection_id"]), (&json!("health.check"), &connection_id));
    assert_eq!(server.metric("chat_connect_errors_total{code=\"4\"}").await, 3.0);
    assert_eq!(server.metric("chat_connections{transport=\"websocket\"}").await, 1.0);
    alice.close().await;
    server.stop().await;
}

#[tokio::test]
async fn dev_mode_accepts_dev_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Options { dev: true, ..Options::default() }).await;
    let mut client = server.open(&json!({"id": "alice"}), &dev_token("alice")).await;
    assert_eq!(client.frame().await["me"]["id"], "alice");
    client.close().await;
    server.stop().await;
}

#[tokio::test]
async fn every_ping_gets_a_health_check() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Options::default()).await;
    let mut client = server.open(&json!({"id": "alice"}), &server.token("alice")).await;
    let connection_id = client.frame().await["connection_id"].clone();
    for _ in 0..3 {
        client.send(r#"[{"type":"health.check","client_id":"alice--1"}]"#).await;
        let pong = client.frame().await;
        assert_eq!(pong["type"], "health.check");
        assert_eq!(pong["connection_id"], connection_id);
        assert_eq!(pong["cid"], "*");
        assert!(pong.get("me").is_none());
    }
    client.close().await;
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_connections_and_monthly_active_users() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Options::default()).await;
    let open = "chat_connections{transport=\"websocket\"}";
    let mut alice = server.open(&json!({"id": "alice"}), &server.token("alice")).await;
    alice.frame().await;
    let mut alice2 = server.open(&json!({"id": "alice"}), &server.token("alice")).await;
    alice2.frame().await;
    let mut bob = server.open(&json!({"id": "bob"}), &server.token("bob")).await;
    bob.frame().await;
    assert_eq!(server.metric(open).await, 3.0);
    assert_eq!(server.metric("chat_connections_opened_total{transport=\"websocket\"}").await, 3.0);
    assert_eq!(server.metric("chat_monthly_active_users").await, 2.0, "distinct users");
    alice.close().await;
    alice2.close().await;
    bob.close().await;
    server.wait_metric(open, 0.0).await;
    assert_eq!(server.metric("chat_connections_closed_total{transport=\"websocket\"}").await, 3.0);
    assert_eq!(server.metric("chat_connect_attempts_total").await, 3.0);
    server.stop().await;
}

#[tokio::test]
async fn silent_connections_are_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options { idle_timeout: Duration::from_millis(300), ..Options::default() };
    let server = server(&dir, options).await;
    let mut client = server.open(&json!({"id": "alice"}), &server.token("alice")).await;
    client.frame().await;
    // Say nothing: the server closes with 1001 (going away), which a client answers by reconnecting.
    assert!(matches!(client.next().await, Next::Closed(Some(1001))));
    server.wait_metric("chat_connections{transport=\"websocket\"}", 0.0).await;
    server.stop().await;
}

#[tokio::test]
async fn shutdown_closes_connections_with_going_away() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir, Options::default()).await;
    let mut client = server.open(&json!({"id": "alice"}), &server.token("alice")).await;
    client.frame().await;
    server.stop().await;
    assert!(matches!(client.next().await, Next::Closed(Some(1001))));
}
