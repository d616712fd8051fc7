//! The attack suite: what an outsider tried against the server, each as a case over real sockets against a real
//! server and SQLite file. Every case of the hardening issue failed before its fix; the forged-token, traversal,
//! spoofing and membership cases held and stay here so they keep holding. Each `attack_*` test is one case; the
//! test harness counts them.

mod common;

use std::time::Duration;

use common::{assert_refused, encode, http_json, Options, TestServer, User, API_KEY};
use serde_json::{json, Value};
use stream_chat_server::auth::Auth;
use stream_chat_server::domain::channels::distinct_id;
use stream_chat_server::limits::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn start(dir: &tempfile::TempDir, options: Options) -> TestServer {
    TestServer::start(&dir.path().join("chat.db"), options).await
}

async fn server(dir: &tempfile::TempDir) -> TestServer {
    start(dir, Options::default()).await
}

/// A server token (`{"server": true}`), which may act as any user and is not rate limited.
fn server_token() -> String {
    Auth::new(API_KEY, common::SECRET, false).sign(&json!({"server": true}))
}

/// A REST call with a server token acting as `user_id`.
async fn as_server(server: &TestServer, user_id: &str, path: &str, body: Value) -> (u16, Value) {
    let query = format!("{path}?api_key={API_KEY}&user_id={user_id}");
    http_json(server.addr, "POST", &query, Some(&server_token()), &body.to_string()).await
}

/// Sends raw bytes and reads the whole answer: status and body text.
async fn raw(server: &TestServer, request: &[u8]) -> (u16, String, String) {
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut response = Vec::new();
    let read = tokio::time::timeout(common::DEADLINE, stream.read_to_end(&mut response)).await;
    read.unwrap_or_else(|_| {
        panic!(
            "no answer in time to {}",
            String::from_utf8_lossy(&request[..request.len().min(60)])
        )
    })
    .unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (status, head.to_ascii_lowercase(), body.to_owned())
}

/// Asserts an answer is the protocol's error body with `code` and HTTP `status`.
fn assert_error(answer: &(u16, Value), status: u16, code: i64) {
    let (got, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(body["code"].as_i64(), Some(code), "{body}");
    assert_eq!(body["StatusCode"].as_u64(), Some(u64::from(status)), "{body}");
    assert!(body["duration"].as_str().is_some_and(|d| d.ends_with("ms")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

/// `user` watching `messaging:general` whose members are `members`.
async fn watch_general(server: &TestServer, user: &mut User, members: &[&str]) -> Value {
    let body = json!({"data": {"members": members}, "watch": true, "state": true});
    let (status, state) = server.call(user, "/channels/messaging/general/query", body).await;
    assert_eq!(status, 200, "{state}");
    state
}

/// Every user object inside `value`, at any depth, with the path it was found at.
fn user_objects<'a>(value: &'a Value, path: String, out: &mut Vec<(String, &'a Value)>) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                if key == "user" || key == "created_by" {
                    out.push((format!("{path}.{key}"), inner));
                }
                user_objects(inner, format!("{path}.{key}"), out);
            }
        }
        Value::Array(items) => {
            for (index, inner) in items.iter().enumerate() {
                user_objects(inner, format!("{path}[{index}]"), out);
            }
        }
        _ => {}
    }
}

fn assert_no_private_fields(value: &Value) {
    let mut users = Vec::new();
    user_objects(value, String::new(), &mut users);
    assert!(!users.is_empty(), "no user objects in {value}");
    for (path, user) in users {
        assert!(user.get("privacy_settings").is_none(), "privacy_settings at {path}: {value}");
        assert!(user.get("invisible").is_none(), "invisible at {path}: {value}");
    }
}

#[tokio::test]
async fn attack_dm_squatting_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let mut mallory = server.user(json!({"id": "mallory"})).await;
    let dm = distinct_id(&["alice".into(), "bob".into()]);
    // Creating the pair's member-named id explicitly, with or without the pair in it.
    for members in [json!(["mallory"]), json!(["mallory", "alice", "bob"])] {
        let body = json!({"data": {"members": members}});
        let answer = server.call(&mallory, &format!("/channels/messaging/{dm}/query"), body).await;
        assert_error(&answer, 400, 4);
    }
    // Creating the pair's channel by its members without being one of them.
    let body = json!({"data": {"members": ["alice", "bob"]}});
    assert_error(&server.call(&mallory, "/channels/messaging/query", body).await, 403, 17);
    // The real pair gets a fresh channel that mallory cannot read.
    let alice = server.user(json!({"id": "alice"})).await;
    let body = json!({"data": {"members": ["alice", "bob"]}});
    let (status, state) = server.call(&alice, "/channels/messaging/query", body).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(state["channel"]["id"], dm);
    assert_eq!(state["channel"]["created_by"]["id"], "alice");
    let answer = server.call(&mallory, &format!("/channels/messaging/{dm}/query"), json!({})).await;
    assert_error(&answer, 403, 17);
    mallory.assert_no_event().await;
    server.stop().await;
}

#[tokio::test]
async fn attack_large_custom_fields_are_refused_and_responses_are_bounded_in_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { response_bytes: 200 * 1024, ..Limits::default() };
    let server = start(&dir, Options { limits, ..Options::default() }).await;
    let mut alice = server.user(json!({"id": "alice"})).await;
    watch_general(&server, &mut alice, &["alice"]).await;
    let huge = json!({"message": {"text": "hi", "blob": "x".repeat(100 * 1024)}});
    assert_error(&server.call(&alice, "/channels/messaging/general/message", huge).await, 400, 4);
    // 20 messages of 30 KB each, the most a message may be: 600 KB in the channel.
    for n in 0..20 {
        let body =
            json!({"message": {"id": format!("m{n}"), "text": "x", "blob": "y".repeat(30_000)}});
        let (status, answer) =
            as_server(&server, "alice", "/channels/messaging/general/message", body).await;
        assert_eq!(status, 200, "{answer}");
    }
    let page = json!({"messages": {"limit": 300}});
    let (status, state) =
        server.call(&alice, "/channels/messaging/general/query", page.clone()).await;
    assert_eq!(status, 200);
    let messages = state["messages"].as_array().unwrap();
    let bytes = state.to_string().len();
    assert!(bytes < 300 * 1024, "a 200 KB budget answered {bytes} bytes");
    assert!(!messages.is_empty() && messages.len() < 20, "{} messages", messages.len());
    assert_eq!(messages.last().unwrap()["id"], "m19", "the newest are kept");
    // queryChannels shares one budget across channels.
    let body = json!({"filter_conditions": {"members": {"$in": ["alice"]}}, "message_limit": 300});
    let (status, answer) = server.call(&alice, "/channels", body).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer.to_string().len() < 300 * 1024);
    server.stop().await;
}

#[tokio::test]
async fn attack_message_flood_is_rate_limited_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { message_burst: 5, messages_per_second: 1, ..Limits::default() };
    let server = start(&dir, Options { limits, ..Options::default() }).await;
    let mut alice = server.user(json!({"id": "alice"})).await;
    let bob = server.user(json!({"id": "bob"})).await;
    watch_general(&server, &mut alice, &["alice", "bob"]).await;
    let mut refused = 0;
    for n in 0..20 {
        let body = json!({"message": {"text": format!("flood {n}")}});
        let answer = server.call(&alice, "/channels/messaging/general/message", body).await;
        if answer.0 == 429 {
            assert_error(&answer, 429, 9);
            refused += 1;
        }
    }
    assert!(refused >= 10, "only {refused} of 20 refused");
    // Others keep being served.
    let body = json!({"message": {"text": "bob is fine"}});
    assert_eq!(server.call(&bob, "/channels/messaging/general/message", body).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn attack_connection_hoarding_is_refused_per_user() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { connections_per_user: 3, ..Limits::default() };
    let server = start(&dir, Options { limits, ..Options::default() }).await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(server.user(json!({"id": "alice"})).await);
    }
    let token = server.token("alice");
    assert_refused(server.open(&json!({"id": "alice"}), &token).await, 9, 429).await;
    let _bob = server.user(json!({"id": "bob"})).await;
    held.pop().unwrap().socket.close().await;
    server.wait_metric("chat_connections{transport=\"websocket\"}", 3.0).await;
    let _again = server.user(json!({"id": "alice"})).await;
    server.stop().await;
}

#[tokio::test]
async fn attack_privacy_settings_never_reach_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let quiet =
        json!({"typing_indicators": {"enabled": false}, "read_receipts": {"enabled": true}});
    let mut alice = server.user(json!({"id": "alice", "privacy_settings": quiet})).await;
    let mut bob = server.user(json!({"id": "bob"})).await;
    watch_general(&server, &mut alice, &["alice", "bob"]).await;
    assert_eq!(alice.event().await["type"], "user.watching.start");
    let state = watch_general(&server, &mut bob, &["alice", "bob"]).await;
    let watching = alice.event().await;
    let message = json!({"message": {"id": "m1", "text": "hi"}});
    let (status, sent) = server.call(&alice, "/channels/messaging/general/message", message).await;
    assert_eq!(status, 200);
    bob.event().await; // bob's own watching event
    let new = bob.event().await;
    assert_eq!(new["type"], "message.new");
    let (_, read) = server.call(&alice, "/channels/messaging/general/read", json!({})).await;
    let bob_read = bob.event().await;
    assert_eq!(bob_read["type"], "message.read");
    let (_, again) = server.call(&bob, "/channels/messaging/general/query", json!({})).await;
    for seen in [&state, &watching, &sent, &new, &read, &bob_read, &again] {
        assert_no_private_fields(seen);
    }
    server.stop().await;
}

#[tokio::test]
async fn attack_invisible_users_are_not_shown_online_or_watching() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let mut bob = server.user(json!({"id": "bob"})).await;
    watch_general(&server, &mut bob, &["alice", "bob"]).await;
    assert_eq!(bob.event().await["type"], "user.watching.start");
    let mut alice = server.user(json!({"id": "alice", "invisible": true})).await;
    let state = watch_general(&server, &mut alice, &["alice", "bob"]).await;
    assert_eq!(state["watcher_count"], 1);
    bob.assert_no_event().await;
    let (_, seen) = server.call(&bob, "/channels/messaging/general/query", json!({})).await;
    assert_eq!(seen["watchers"], json!([{"id": "bob"}]));
    assert_eq!(seen["watcher_count"], 1);
    let member = seen["members"].as_array().unwrap().iter().find(|m| m["user_id"] == "alice");
    assert_eq!(member.unwrap()["user"]["online"], false);
    assert_no_private_fields(&seen);
    alice.socket.close().await;
    bob.assert_no_event().await;
    server.stop().await;
}

#[tokio::test]
async fn attack_receipts_back_on_reveal_nothing_read_while_off() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let off = json!({"read_receipts": {"enabled": false}});
    let mut alice = server.user(json!({"id": "alice", "privacy_settings": off})).await;
    let mut bob = server.user(json!({"id": "bob"})).await;
    watch_general(&server, &mut alice, &["alice", "bob"]).await;
    watch_general(&server, &mut bob, &["alice", "bob"]).await;
    let message = json!({"message": {"id": "secret-read", "text": "did you read this?"}});
    assert_eq!(server.call(&bob, "/channels/messaging/general/message", message).await.0, 200);
    let (status, _) = server.call(&alice, "/channels/messaging/general/read", json!({})).await;
    assert_eq!(status, 200);
    alice.socket.close().await;
    let on = json!({"read_receipts": {"enabled": true}});
    let mut alice = server.user(json!({"id": "alice", "privacy_settings": on})).await;
    let (_, own) = server.call(&alice, "/channels/messaging/general/query", json!({})).await;
    let mine = own["read"].as_array().unwrap().iter().find(|r| r["user"]["id"] == "alice");
    assert_eq!(mine.unwrap()["last_read_message_id"], "secret-read", "alice sees her own read");
    let (_, seen) = server.call(&bob, "/channels/messaging/general/query", json!({})).await;
    let hers = seen["read"].as_array().unwrap().iter().find(|r| r["user"]["id"] == "alice");
    let hers = hers.expect("receipts are on again");
    assert_ne!(hers["last_read_message_id"], "secret-read", "{hers}");
    assert_eq!(hers["unread_messages"], 1, "{hers}");
    // A read with receipts on is shared again.
    let (status, _) = server.call(&alice, "/channels/messaging/general/read", json!({})).await;
    assert_eq!(status, 200);
    let (_, seen) = server.call(&bob, "/channels/messaging/general/query", json!({})).await;
    let hers = seen["read"].as_array().unwrap().iter().find(|r| r["user"]["id"] == "alice");
    assert_eq!(hers.unwrap()["last_read_message_id"], "secret-read");
    alice.assert_no_event().await;
    server.stop().await;
}

#[tokio::test]
async fn attack_huge_offsets_and_filter_lists_get_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = server.user(json!({"id": "alice"})).await;
    let body = json!({"filter_conditions": {}, "offset": 9_223_372_036_854_775_807u64});
    assert_error(&server.call(&alice, "/channels", body).await, 400, 4);
    let many: Vec<String> = (0..40_000).map(|n| format!("messaging:c{n}")).collect();
    let body = json!({"filter_conditions": {"cid": {"$in": many}}});
    assert_error(&server.call(&alice, "/channels", body).await, 400, 4);
    let body =
        json!({"filter_conditions": {}, "sort": [{"field": "last_message_at", "direction": 7}]});
    assert_error(&server.call(&alice, "/channels", body).await, 400, 4);
    let (status, _) = server.call(&alice, "/channels", json!({"filter_conditions": {}})).await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn attack_malformed_http_gets_the_protocol_error_body() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let token = server.token("alice");
    let payload = json!({"user_id": "alice", "user_details": {"id": "alice"}}).to_string();
    // A duplicated parameter on /longpoll: HTTP 400 with a body.
    let path = format!(
        "/longpoll?api_key={API_KEY}&api_key={API_KEY}&json={}&authorization={token}",
        encode(&payload)
    );
    assert_error(&http_json(server.addr, "GET", &path, None, "").await, 400, 4);
    // … and on /connect: the WebSocket's error frame.
    let url = format!(
        "ws://{}/connect?api_key={API_KEY}&api_key=x&json={}&authorization={token}",
        server.addr,
        encode(&payload)
    );
    let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
    assert_refused(common::Client { socket }, 4, 400).await;
    // A 100 KB token in the URL: 414 (or 431, the head's limit) with a body.
    let long = "a".repeat(100 * 1024);
    let request = format!("GET /longpoll?authorization={long} HTTP/1.1\r\nHost: x\r\n\r\n");
    let (status, head, body) = raw(&server, request.as_bytes()).await;
    assert!(head.contains("content-type: application/json"), "{head}");
    let body: Value = serde_json::from_str(&body).unwrap();
    match status {
        414 => assert_error(&(status, body), 414, 4),
        _ => assert_error(&(status, body), 431, 24),
    }
    // A 100 KB header: 431 with a body.
    let request = format!("GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: {long}\r\n\r\n");
    let (status, _, body) = raw(&server, request.as_bytes()).await;
    assert_error(&(status, serde_json::from_str(&body).unwrap()), 431, 24);
    // Garbage: 400 with a body.
    let (status, _, body) = raw(&server, b"NOT HTTP AT ALL\r\n\r\n").await;
    assert_error(&(status, serde_json::from_str(&body).unwrap()), 400, 4);
    // Unknown routes and methods.
    assert_error(&http_json(server.addr, "GET", "/nope", None, "").await, 404, 16);
    assert_error(&http_json(server.addr, "DELETE", "/channels", None, "").await, 405, 4);
    // A plain GET of /connect without an upgrade.
    let (status, _, body) =
        raw(&server, b"GET /connect HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert!(status >= 400, "{status}");
    assert!(serde_json::from_str::<Value>(&body).unwrap()["code"].is_i64(), "{body}");
    // Still serving.
    let _alice = server.user(json!({"id": "alice"})).await;
    server.stop().await;
}

#[tokio::test]
async fn attack_loose_user_input_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    // privacy settings given as strings are refused, not read as "on".
    let user = json!({"id": "alice", "privacy_settings": {"read_receipts": {"enabled": "false"}}});
    assert_refused(server.open(&user, &server.token("alice")).await, 4, 400).await;
    // A 5,000-character user id.
    let long = "a".repeat(5_000);
    assert_refused(server.open(&json!({ "id": long }), &server.token(&long)).await, 4, 400).await;
    // POST /users: a 100 KB id, a user over 5 KB, typed fields.
    let huge_id = "b".repeat(100 * 1024);
    let body = json!({"users": {huge_id.clone(): {"id": huge_id}}});
    assert_error(&as_server(&server, "admin", "/users", body).await, 400, 4);
    let body = json!({"users": {"carol": {"id": "carol", "bio": "x".repeat(6_000)}}});
    assert_error(&as_server(&server, "admin", "/users", body).await, 400, 4);
    let body = json!({"users": {"carol": {"id": "carol", "invisible": "yes"}}});
    assert_error(&as_server(&server, "admin", "/users", body).await, 400, 4);
    // A 100 KB member id creates no user and no channel.
    let alice = server.user(json!({"id": "alice"})).await;
    let body = json!({"data": {"members": ["alice", "m".repeat(100 * 1024)]}});
    assert_error(&server.call(&alice, "/channels/messaging/general/query", body).await, 400, 4);
    let (status, _) = server.call(&alice, "/channels/messaging/general/query", json!({})).await;
    assert_eq!(status, 200, "the channel was created now, not by the refused call");
    // Marking read up to a message that does not exist.
    let body = json!({"message_id": "no-such-message"});
    assert_error(&server.call(&alice, "/channels/messaging/general/read", body).await, 400, 4);
    server.stop().await;
}

#[tokio::test]
async fn attack_server_owned_message_fields_are_not_taken_from_clients() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let mut alice = server.user(json!({"id": "alice"})).await;
    let mut bob = server.user(json!({"id": "bob"})).await;
    watch_general(&server, &mut alice, &["alice", "bob"]).await;
    watch_general(&server, &mut bob, &["alice", "bob"]).await;
    assert_eq!(bob.event().await["type"], "user.watching.start");
    let forged = json!({"message": {"id": "m1", "text": "hello",
        "quoted_message": {"id": "q", "text": "bob said I owe you", "user": {"id": "bob"}},
        "deleted_at": "2020-01-01T00:00:00Z", "pinned_by": {"id": "admin"}, "pinned": true,
        "user": {"id": "bob"}, "user_id": "bob", "type": "system", "color": "blue"}});
    let (status, sent) = server.call(&alice, "/channels/messaging/general/message", forged).await;
    assert_eq!(status, 200, "{sent}");
    let event = bob.event().await;
    for message in [&sent["message"], &event["message"]] {
        assert!(message.get("quoted_message").is_none(), "{message}");
        assert!(message.get("deleted_at").is_none(), "{message}");
        assert!(message.get("pinned_by").is_none(), "{message}");
        assert_eq!(message["pinned"], false);
        assert_eq!(message["type"], "regular");
        assert_eq!(message["user"]["id"], "alice", "no spoofing the author");
        assert_eq!(message["color"], "blue", "custom fields stay");
    }
    server.stop().await;
}

#[tokio::test]
async fn attack_a_second_store_on_one_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("chat.db");
    let first = stream_chat_server::store::SqliteStore::open(&path).unwrap();
    let second = stream_chat_server::store::SqliteStore::open(&path).unwrap_err();
    assert!(second.to_string().contains("another server process"), "{second}");
    drop(first);
    assert!(stream_chat_server::store::SqliteStore::open(&path).is_ok());
}

#[tokio::test]
async fn attack_forged_tokens_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let user = json!({"id": "alice"});
    let b64 = |text: &str| {
        stream_chat_protocol::token::encode_base64(
            text.as_bytes(),
            stream_chat_protocol::token::Alphabet::UrlSafe,
        )
    };
    let payload = b64(r#"{"user_id":"alice"}"#);
    let none = format!("{}.{payload}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
    let hs512 = format!("{}.{payload}.c2ln", b64(r#"{"alg":"HS512","typ":"JWT"}"#));
    let other_secret = Auth::new(API_KEY, "guessed", false).sign(&json!({"user_id": "alice"}));
    let dev = stream_chat_protocol::token::dev_token("alice");
    let expired = Auth::new(API_KEY, common::SECRET, false)
        .sign(&json!({"user_id": "alice", "exp": 1_000_000_000}));
    for (token, code) in [(none, 43), (hs512, 43), (other_secret, 43), (dev, 43), (expired, 40)] {
        assert_refused(server.open(&user, &token).await, code, 401).await;
        let answer = http_json(
            server.addr,
            "POST",
            &format!("/channels?api_key={API_KEY}&user_id=alice"),
            Some(&token),
            "{}",
        )
        .await;
        assert_error(&answer, 401, code);
    }
    // bob's token with alice's id: the connect is refused, and REST acts as bob, never as alice.
    assert_refused(server.open(&user, &server.token("bob")).await, 5, 401).await;
    server.stop().await;
}

#[tokio::test]
async fn attack_membership_and_connections_of_others_hold() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let mut alice = server.user(json!({"id": "alice"})).await;
    watch_general(&server, &mut alice, &["alice"]).await;
    assert_eq!(alice.event().await["type"], "user.watching.start");
    let mut mallory = server.user(json!({"id": "mallory"})).await;
    let general = "/channels/messaging/general";
    for (path, body) in [
        ("query", json!({})),
        ("message", json!({"message": {"text": "let me in"}})),
        ("event", json!({"event": {"type": "typing.start"}})),
        ("read", json!({})),
    ] {
        let answer = server.call(&mallory, &format!("{general}/{path}"), body).await;
        assert_error(&answer, 403, 17);
    }
    // Using alice's connection id to watch with mallory's token.
    let query = format!(
        "{general}/query?api_key={API_KEY}&user_id=alice&connection_id={}",
        alice.connection_id
    );
    let body = json!({"watch": true}).to_string();
    let answer = http_json(server.addr, "POST", &query, Some(&mallory.token), &body).await;
    assert_error(&answer, 403, 17);
    // A REST user_id parameter does not change who a user token acts as.
    let query = format!("/channels?api_key={API_KEY}&user_id=alice");
    let body = json!({"filter_conditions": {}}).to_string();
    let (status, found) = http_json(server.addr, "POST", &query, Some(&mallory.token), &body).await;
    assert_eq!(status, 200);
    assert_eq!(found["channels"], json!([]), "mallory sees none of alice's channels");
    alice.assert_no_event().await;
    mallory.assert_no_event().await;
    server.stop().await;
}

#[tokio::test]
async fn attack_static_file_traversal_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = dir.path().join("pkg");
    std::fs::create_dir(&pkg).unwrap();
    std::fs::write(pkg.join("sdk.js"), "export {}").unwrap();
    std::fs::write(dir.path().join("secret.txt"), "top secret").unwrap();
    let options = Options { pkg_dir: Some(pkg), ..Options::default() };
    let server = start(&dir, options).await;
    let (status, _, body) =
        raw(&server, b"GET /pkg/sdk.js HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!((status, body.as_str()), (200, "export {}"));
    for path in
        ["/pkg/../secret.txt", "/pkg/..%2fsecret.txt", "/pkg/%2e%2e/secret.txt", "/pkg//etc/passwd"]
    {
        let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (status, _, body) = raw(&server, request.as_bytes()).await;
        assert!(status >= 400, "{path}: {status}");
        assert!(!body.contains("top secret") && !body.contains("root:"), "{path}: {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn attack_slowloris_sockets_are_closed_after_the_header_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits { header_timeout: Duration::from_millis(500), ..Limits::default() };
    let server = start(&dir, Options { limits, ..Options::default() }).await;
    // 100 sockets: half send half a request and stop, half send nothing.
    let mut slow = Vec::new();
    for n in 0..100 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        if n % 2 == 0 {
            stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
        }
        slow.push(stream);
    }
    // A normal request is answered while they are all still open.
    let (status, _) = common::http_get(server.addr, "/metrics").await;
    assert_eq!(status, 200);
    let mut byte = [0u8; 1];
    let first = slow[0].try_read(&mut byte);
    assert!(
        matches!(first, Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "still open"
    );
    // Each is closed by the server (EOF or reset) after the header timeout.
    for stream in &mut slow {
        let mut rest = Vec::new();
        let read = tokio::time::timeout(common::DEADLINE, stream.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "a slow socket stayed open");
    }
    server.stop().await;
}
