//! Channels against a real listener and SQLite file: two WebSocket users watch a channel and see each other's
//! messages, typing and reads in order; privacy settings stop typing and read state from reaching others on
//! every path; state survives a restart; bad input gets its code and disturbs no one.

mod common;

use common::{http_json, Options, TestServer, User, API_KEY};
use serde_json::{json, Value};

const GENERAL: &str = "/channels/messaging/general";

async fn server(dir: &tempfile::TempDir) -> TestServer {
    TestServer::start(&dir.path().join("chat.db"), Options::default()).await
}

/// alice and bob connected, both watching `messaging:general` with both as members; watching events drained.
async fn pair(server: &TestServer, alice: Value, bob: Value) -> (User, User) {
    let mut alice = server.user(alice).await;
    let mut bob = server.user(bob).await;
    let body = json!({"data": {"members": ["alice", "bob"], "name": "General"}, "state": true, "watch": true});
    let (status, state) = server.call(&alice, &format!("{GENERAL}/query"), body.clone()).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(alice.event().await["type"], "user.watching.start");
    let (status, _) = server.call(&bob, &format!("{GENERAL}/query"), body).await;
    assert_eq!(status, 200);
    let watching = alice.event().await;
    assert_eq!(
        (watching["type"].as_str(), watching["user"]["id"].as_str()),
        (Some("user.watching.start"), Some("bob"))
    );
    assert_eq!(watching["watcher_count"], 2);
    assert_eq!(bob.event().await["type"], "user.watching.start");
    (alice, bob)
}

fn read_of<'a>(state: &'a Value, user: &str) -> Option<&'a Value> {
    state["read"].as_array().unwrap().iter().find(|read| read["user"]["id"] == user)
}

#[tokio::test]
async fn query_returns_the_state_the_official_client_needs() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = server.user(json!({"id": "alice", "name": "Alice"})).await;
    let body = json!({"data": {"members": ["alice", "bob"], "name": "General"}, "state": true, "watch": true});
    let (status, state) = server.call(&alice, &format!("{GENERAL}/query"), body).await;
    assert_eq!(status, 200, "{state}");
    let channel = &state["channel"];
    assert_eq!(
        (channel["cid"].as_str(), channel["name"].as_str()),
        (Some("messaging:general"), Some("General"))
    );
    assert_eq!(channel["config"]["typing_events"], true);
    assert_eq!(channel["config"]["read_events"], true);
    assert_eq!(channel["config"]["delivery_events"], false);
    for capability in ["send-message", "send-typing-events", "read-events"] {
        assert!(
            channel["own_capabilities"].as_array().unwrap().contains(&json!(capability)),
            "{capability}"
        );
    }
    assert_eq!(channel["member_count"], 2);
    assert_eq!(state["messages"], json!([]));
    assert_eq!(state["watcher_count"], 1);
    assert_eq!(state["members"].as_array().unwrap().len(), 2);
    assert!(read_of(&state, "bob").unwrap()["last_read"].is_string());
    assert!(state["duration"].is_string());
    assert_eq!(state["membership"]["user_id"], "alice");
    server.stop().await;
}

#[tokio::test]
async fn message_typing_and_read_reach_the_other_user_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let (mut alice, mut bob) = pair(&server, json!({"id": "alice"}), json!({"id": "bob"})).await;

    let typing = json!({"event": {"type": "typing.start"}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/event"), typing).await.0, 200);
    let message = json!({"message": {"id": "m-1", "text": "hello bob"}});
    let (status, sent) = server.call(&alice, &format!("{GENERAL}/message"), message.clone()).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(
        (sent["message"]["id"].as_str(), sent["message"]["type"].as_str()),
        (Some("m-1"), Some("regular"))
    );
    let stop = json!({"event": {"type": "typing.stop"}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/event"), stop).await.0, 200);
    assert_eq!(server.call(&bob, &format!("{GENERAL}/read"), json!({})).await.0, 200);

    let started = bob.event().await;
    assert_eq!(
        (started["type"].as_str(), started["user"]["id"].as_str()),
        (Some("typing.start"), Some("alice"))
    );
    assert_eq!(started["cid"], "messaging:general");
    let new = bob.event().await;
    assert_eq!(new["type"], "message.new");
    assert_eq!(
        (new["message"]["text"].as_str(), new["user"]["id"].as_str()),
        (Some("hello bob"), Some("alice"))
    );
    assert_eq!(new["unread_count"], 1, "bob's own unread count");
    assert_eq!(new["watcher_count"], 2);
    assert_eq!(bob.event().await["type"], "typing.stop");
    let read = bob.event().await;
    assert_eq!(
        (read["type"].as_str(), read["last_read_message_id"].as_str()),
        (Some("message.read"), Some("m-1"))
    );

    // Alice sees the same sequence, with her own unread count at 0, and bob's read.
    assert_eq!(alice.event().await["type"], "typing.start");
    assert_eq!(alice.event().await["unread_count"], 0);
    assert_eq!(alice.event().await["type"], "typing.stop");
    assert_eq!(alice.event().await["user"]["id"], "bob");

    // A retry with the same id stores nothing new and fans nothing out.
    let (status, again) = server.call(&alice, &format!("{GENERAL}/message"), message).await;
    assert_eq!((status, &again["message"]["id"]), (200, &json!("m-1")));
    bob.assert_no_event().await;
    let (_, state) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(state["messages"].as_array().unwrap().len(), 1);
    assert_eq!(read_of(&state, "bob").unwrap()["unread_messages"], 0);
    assert_eq!(read_of(&state, "alice").unwrap()["unread_messages"], 0);
    assert_eq!(server.metric("chat_messages_sent_total").await, 1.0);
    server.stop().await;
}

#[tokio::test]
async fn typing_indicators_off_reach_no_one_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let quiet =
        json!({"id": "alice", "privacy_settings": {"typing_indicators": {"enabled": false}}});
    let (alice, mut bob) = pair(&server, quiet, json!({"id": "bob"})).await;
    for kind in ["typing.start", "typing.stop"] {
        let (status, answer) = server
            .call(&alice, &format!("{GENERAL}/event"), json!({"event": {"type": kind}}))
            .await;
        assert_eq!(status, 200, "accepted: {answer}");
    }
    bob.assert_no_event().await;
    server.stop().await;
}

#[tokio::test]
async fn read_receipts_off_hide_read_state_from_others_on_every_path() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let private = json!({"id": "alice", "privacy_settings": {"read_receipts": {"enabled": false}}});
    let (mut alice, mut bob) = pair(&server, private, json!({"id": "bob"})).await;
    let message = json!({"message": {"id": "m-1", "text": "from bob"}});
    assert_eq!(server.call(&bob, &format!("{GENERAL}/message"), message).await.0, 200);
    assert_eq!(alice.event().await["unread_count"], 1);
    bob.event().await;

    let (status, answer) = server.call(&alice, &format!("{GENERAL}/read"), json!({})).await;
    assert_eq!((status, answer["event"]["type"].as_str()), (200, Some("message.read")));
    // Alice's own connection learns her read state; bob gets nothing.
    let own = alice.event().await;
    assert_eq!(
        (own["type"].as_str(), own["user"]["id"].as_str()),
        (Some("message.read"), Some("alice"))
    );
    bob.assert_no_event().await;

    // Channel query: bob's read[] has no alice; alice's own has her, reset.
    let (_, bobs) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert!(read_of(&bobs, "alice").is_none(), "{}", bobs["read"]);
    assert!(read_of(&bobs, "bob").is_some());
    let (_, alices) =
        server.call(&alice, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(read_of(&alices, "alice").unwrap()["unread_messages"], 0);
    assert_eq!(read_of(&alices, "alice").unwrap()["last_read_message_id"], "m-1");
    // Query channels (the recovery path): the same.
    let filter =
        json!({"filter_conditions": {"cid": {"$in": ["messaging:general"]}}, "state": true});
    let (status, listed) = server.call(&bob, "/channels", filter).await;
    assert_eq!(status, 200, "{listed}");
    assert!(read_of(&listed["channels"][0], "alice").is_none());

    // Switching read receipts back on with a server-side upsert applies at once.
    let server_token = stream_chat_server::auth::Auth::new(API_KEY, common::SECRET, false)
        .sign(&json!({"server": true}));
    let body = json!({"users": {"alice": {"id": "alice", "privacy_settings": {"read_receipts": {"enabled": true}}}}});
    let (status, users) = http_json(
        server.addr,
        "POST",
        &format!("/users?api_key={API_KEY}"),
        Some(&server_token),
        &body.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{users}");
    let updated = alice.event().await;
    assert_eq!(updated["type"], "user.updated");
    assert_eq!(updated["user"]["privacy_settings"]["read_receipts"]["enabled"], true);
    let (_, bobs) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert!(read_of(&bobs, "alice").is_some());
    server.stop().await;
}

#[tokio::test]
async fn state_survives_a_restart_on_the_same_file() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let (alice, bob) = pair(&server, json!({"id": "alice"}), json!({"id": "bob"})).await;
    for n in 1..=3 {
        let message = json!({"message": {"id": format!("m-{n}"), "text": format!("message {n}")}});
        assert_eq!(server.call(&alice, &format!("{GENERAL}/message"), message).await.0, 200);
    }
    assert_eq!(
        server.call(&bob, &format!("{GENERAL}/read"), json!({"message_id": "m-2"})).await.0,
        200
    );
    drop((alice, bob));
    server.stop().await;

    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let bob = server.user(json!({"id": "bob"})).await;
    let (status, state) =
        server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(status, 200, "{state}");
    let texts: Vec<&str> =
        state["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["message 1", "message 2", "message 3"]);
    let members: Vec<&str> = state["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(members, ["alice", "bob"]);
    let read = read_of(&state, "bob").unwrap();
    assert_eq!(
        (read["last_read_message_id"].as_str(), read["unread_messages"].as_u64()),
        (Some("m-2"), Some(0))
    );
    // Paging: the 2 newest, then what is older than the oldest of those.
    let page = json!({"state": true, "messages": {"limit": 2}});
    let (_, newest) = server.call(&bob, &format!("{GENERAL}/query"), page).await;
    assert_eq!(newest["messages"][0]["id"], "m-2");
    let older = json!({"state": true, "messages": {"limit": 2, "id_lt": "m-2"}});
    let (_, older) = server.call(&bob, &format!("{GENERAL}/query"), older).await;
    assert_eq!(older["messages"].as_array().unwrap().len(), 1);
    assert_eq!(older["messages"][0]["id"], "m-1");
    server.stop().await;
}

#[tokio::test]
async fn bad_input_gets_its_code_and_others_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let (alice, mut bob) = pair(&server, json!({"id": "alice"}), json!({"id": "bob"})).await;
    let carol = server.user(json!({"id": "carol"})).await;
    let expect = |(status, body): (u16, Value), code: i64, http: u16| {
        assert_eq!((status, body["code"].as_i64()), (http, Some(code)), "{body}");
        assert_eq!(body["StatusCode"], http);
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty())
                && body["more_info"].is_string()
        );
    };
    expect(server.call(&alice, "/channels/nope/general/query", json!({})).await, 4, 400);
    expect(server.call(&alice, "/channels/messaging/bad:id/query", json!({})).await, 4, 400);
    let long = json!({"message": {"text": "x".repeat(5001)}});
    expect(server.call(&alice, &format!("{GENERAL}/message"), long).await, 4, 400);
    expect(
        server
            .call(&alice, &format!("{GENERAL}/event"), json!({"event": {"type": "message.new"}}))
            .await,
        4,
        400,
    );
    expect(
        server
            .call(&carol, &format!("{GENERAL}/message"), json!({"message": {"text": "hi"}}))
            .await,
        17,
        403,
    );
    expect(server.call(&carol, &format!("{GENERAL}/query"), json!({})).await, 17, 403);
    let path = format!("{GENERAL}/query?api_key={API_KEY}&connection_id={}", alice.connection_id);
    expect(
        http_json(server.addr, "POST", &path, Some(&carol.token), r#"{"watch":true}"#).await,
        17,
        403,
    );
    let path = format!("{GENERAL}/query?api_key={API_KEY}");
    expect(
        http_json(server.addr, "POST", &path, Some(&alice.token), r#"{"watch":true}"#).await,
        4,
        400,
    );
    expect(http_json(server.addr, "POST", &path, Some(&alice.token), "{not json").await, 4, 400);
    let big = format!(r#"{{"message":{{"text":"{}"}}}}"#, "x".repeat(1024 * 1024 + 10));
    let path = format!("{GENERAL}/message?api_key={API_KEY}");
    expect(http_json(server.addr, "POST", &path, Some(&alice.token), &big).await, 22, 413);
    let path = format!("{GENERAL}/message?api_key=wrong");
    expect(http_json(server.addr, "POST", &path, Some(&alice.token), "{}").await, 2, 401);
    let path = format!("{GENERAL}/message?api_key={API_KEY}");
    expect(http_json(server.addr, "POST", &path, Some("not.a.token"), "{}").await, 43, 401);
    expect(
        http_json(
            server.addr,
            "POST",
            "/users?api_key=test-key",
            Some(&alice.token),
            r#"{"users":{"bob":{"id":"bob","name":"Mallory"}}}"#,
        )
        .await,
        17,
        403,
    );
    bob.assert_no_event().await;

    // Everyone else is still served.
    let (status, _) = server
        .call(&alice, &format!("{GENERAL}/message"), json!({"message": {"text": "still here"}}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(bob.event().await["message"]["text"], "still here");
    server.stop().await;
}

#[tokio::test]
async fn closing_a_connection_stops_its_watching() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let (alice, mut bob) = pair(&server, json!({"id": "alice"}), json!({"id": "bob"})).await;
    assert_eq!(server.metric("chat_active_channels").await, 1.0);
    alice.socket.close().await;
    let stop = bob.event().await;
    assert_eq!(
        (stop["type"].as_str(), stop["user"]["id"].as_str()),
        (Some("user.watching.stop"), Some("alice"))
    );
    assert_eq!(stop["watcher_count"], 1);
    let (status, _) = server.call(&bob, &format!("{GENERAL}/stop-watching"), json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(server.metric("chat_active_channels").await, 0.0);
    server.stop().await;
}

#[tokio::test]
async fn channels_by_members_and_query_channels() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(&dir).await;
    let alice = server.user(json!({"id": "alice"})).await;
    let body = json!({"data": {"members": ["alice", "bob"]}});
    let (status, first) = server.call(&alice, "/channels/messaging/query", body.clone()).await;
    assert_eq!(status, 200, "{first}");
    let id = first["channel"]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("!members-"));
    let reversed = json!({"data": {"members": ["bob", "alice"]}});
    let (_, second) = server.call(&alice, "/channels/messaging/query", reversed).await;
    assert_eq!(second["channel"]["id"], id.as_str(), "same members, same channel");
    server
        .call(&alice, "/channels/messaging/other/query", json!({"data": {"members": ["alice"]}}))
        .await;
    let message = json!({"message": {"text": "latest"}});
    server.call(&alice, "/channels/messaging/other/message", message).await;

    let filter = json!({"filter_conditions": {"members": {"$in": ["alice"]}}, "sort": [{"field": "last_message_at", "direction": -1}], "limit": 10, "state": true, "watch": true});
    let (status, listed) = server.call(&alice, "/channels", filter).await;
    assert_eq!(status, 200, "{listed}");
    let cids: Vec<&str> = listed["channels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["channel"]["cid"].as_str().unwrap())
        .collect();
    assert_eq!(cids, ["messaging:other", format!("messaging:{id}").as_str()]);
    assert_eq!(listed["channels"][0]["messages"][0]["text"], "latest");
    let filter =
        json!({"filter_conditions": {"members": {"$in": ["alice"]}}, "limit": 1, "offset": 1});
    let (_, page) = server.call(&alice, "/channels", filter).await;
    assert_eq!(page["channels"].as_array().unwrap().len(), 1);
    assert_eq!(page["channels"][0]["channel"]["id"], id.as_str());
    server.stop().await;
}

#[tokio::test]
async fn a_watching_query_with_a_stale_connection_is_refused_not_silently_unwatched() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;
    let query =
        json!({"filter_conditions": {"cid": "messaging:general"}, "watch": true, "state": true});
    let path = |connection: &str| {
        format!("/channels?api_key={API_KEY}&user_id=alice&connection_id={connection}")
    };
    // A connection that is gone (as after a reconnect): code 46, so the client reconnects and asks again.
    let (status, answer) =
        http_json(server.addr, "POST", &path("gone-1234"), Some(&alice.token), &query.to_string())
            .await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(46)), "{answer}");
    // Another user's connection: code 17.
    let (status, answer) = http_json(
        server.addr,
        "POST",
        &path(&bob.connection_id),
        Some(&alice.token),
        &query.to_string(),
    )
    .await;
    assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{answer}");
    // No connection at all (a backend's query): answered, nothing watched.
    let bare = format!("/channels?api_key={API_KEY}&user_id=alice");
    let (status, answer) =
        http_json(server.addr, "POST", &bare, Some(&alice.token), &query.to_string()).await;
    assert_eq!(status, 200, "{answer}");
    // Its own live connection: answered and watched.
    let (status, _) = http_json(
        server.addr,
        "POST",
        &path(&alice.connection_id),
        Some(&alice.token),
        &query.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    server.stop().await;
}
