//! Users after connecting, against a real listener and SQLite file: `PATCH /users` and `POST /users` with user
//! and server tokens, `user.updated` to the user's own connections (own view) and to the watchers of its channels
//! (public view, never privacy settings), privacy switched at runtime taking effect without a reconnect, and bad
//! input refused with nothing stored.

mod common;

use common::{http_json, Options, TestServer, User, API_KEY};
use serde_json::{json, Value};
use stream_chat_server::auth::Auth;

const GENERAL: &str = "/channels/messaging/general";

async fn pair(server: &TestServer) -> (User, User) {
    server.watching_pair().await
}

/// `PATCH /users` (or another method) as `token`.
async fn users_call(server: &TestServer, method: &str, token: &str, body: Value) -> (u16, Value) {
    let path = format!("/users?api_key={API_KEY}");
    http_json(server.addr, method, &path, Some(token), &body.to_string()).await
}

fn server_token() -> String {
    Auth::new(API_KEY, common::SECRET, false).sign(&json!({"server": true}))
}

#[tokio::test]
async fn a_partial_update_reaches_the_user_with_privacy_and_others_without() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, mut bob) = pair(&server).await;
    let patch = json!({"users": [{"id": "alice", "set": {"name": "Alice B",
        "privacy_settings": {"typing_indicators": {"enabled": false}}}, "unset": ["color"]}]});
    let (status, body) = users_call(&server, "PATCH", &alice.token, patch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["users"]["alice"]["name"], "Alice B");
    assert!(body["users"]["alice"].get("privacy_settings").is_none(), "{body}");

    let own = alice.event().await;
    assert_eq!(
        (own["type"].as_str(), own["user"]["name"].as_str()),
        (Some("user.updated"), Some("Alice B"))
    );
    assert_eq!(own["user"]["privacy_settings"]["typing_indicators"]["enabled"], false);
    assert_eq!(
        own["user"]["privacy_settings"]["read_receipts"]["enabled"], true,
        "the other switch stays on"
    );
    alice.assert_no_event().await;

    let seen = bob.event().await;
    assert_eq!(
        (seen["type"].as_str(), seen["user"]["name"].as_str()),
        (Some("user.updated"), Some("Alice B"))
    );
    assert!(
        seen["user"].get("privacy_settings").is_none() && seen["user"].get("invisible").is_none(),
        "{seen}"
    );

    // At once, without a reconnect: alice's typing no longer reaches bob; her message does.
    let typing = json!({"event": {"type": "typing.start"}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/event"), typing).await.0, 200);
    let message = json!({"message": {"text": "hi"}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/message"), message).await.0, 200);
    let next = bob.event().await;
    assert_eq!(next["type"], "message.new", "no typing.start first: {next}");

    // Read receipts the same way: bob no longer sees alice's reads, and queries leave her out of read[].
    let patch = json!({"users": [{"id": "alice", "set": {"privacy_settings": {"read_receipts": {"enabled": false}}}}]});
    assert_eq!(users_call(&server, "PATCH", &alice.token, patch).await.0, 200);
    assert_eq!(bob.event().await["type"], "user.updated");
    assert_eq!(server.call(&alice, &format!("{GENERAL}/read"), json!({})).await.0, 200);
    bob.assert_no_event().await;
    let (_, state) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let readers: Vec<&str> =
        state["read"].as_array().unwrap().iter().filter_map(|r| r["user"]["id"].as_str()).collect();
    assert!(!readers.contains(&"alice"), "{readers:?}");
}

#[tokio::test]
async fn user_tokens_update_only_themselves_and_bad_updates_store_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, _bob) = pair(&server).await;
    let refusals = [
        (json!({"users": [{"id": "bob", "set": {"name": "Mallory"}}]}), 17, 403),
        (json!({"users": [{"id": "alice", "set": {"role": "admin"}}]}), 17, 403),
        (json!({"users": [{"id": "alice", "unset": ["id"]}]}), 4, 400),
        (
            json!({"users": [{"id": "alice", "set": {"created_at": "2000-01-01T00:00:00Z"}}]}),
            4,
            400,
        ),
        (
            json!({"users": [{"id": "alice", "set": {"privacy_settings": {"read_receipts": {"enabled": "no"}}}}]}),
            4,
            400,
        ),
        (json!({"users": [{"id": "alice", "set": {"bio": "x".repeat(6_000)}}]}), 4, 400),
        (json!({"users": [{"set": {"name": "nobody"}}]}), 4, 400),
        (json!({"users": []}), 4, 400),
        (
            json!({"users": [{"id": "alice", "set": {"name": "ok"}}, {"id": "ghost", "set": {"name": "x"}}]}),
            17,
            403,
        ),
    ];
    for (body, code, status) in refusals {
        let (got, answer) = users_call(&server, "PATCH", &alice.token, body.clone()).await;
        assert_eq!(
            (got, answer["code"].as_i64(), answer["StatusCode"].as_i64()),
            (status, Some(code), Some(status as i64)),
            "{body}: {answer}"
        );
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    // A whole-object upsert by a user token: its own user only, and its role unchanged.
    let (status, _) =
        users_call(&server, "POST", &alice.token, json!({"users": {"bob": {"id": "bob"}}})).await;
    assert_eq!(status, 403);
    let (status, _) = users_call(
        &server,
        "POST",
        &alice.token,
        json!({"users": {"alice": {"id": "alice", "role": "admin"}}}),
    )
    .await;
    assert_eq!(status, 403);
    // Nothing of the above was stored.
    let (status, body) =
        users_call(&server, "PATCH", &alice.token, json!({"users": [{"id": "alice"}]})).await;
    assert_eq!(status, 200, "{body}");
    let alice_now = &body["users"]["alice"];
    assert_eq!(
        (alice_now["name"].as_str(), alice_now["role"].as_str()),
        (Some("Alice"), Some("user"))
    );
    assert!(alice_now.get("bio").is_none());
    let (_, body) =
        users_call(&server, "PATCH", &server_token(), json!({"users": [{"id": "bob"}]})).await;
    assert_eq!(body["users"]["bob"]["name"], "Bob");
}

#[tokio::test]
async fn a_server_token_updates_anyone_and_sets_roles() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, _bob) = pair(&server).await;
    let patch = json!({"users": [{"id": "alice", "set": {"role": "moderator", "title": "Mod"}}]});
    let (status, body) = users_call(&server, "PATCH", &server_token(), patch).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["users"]["alice"]["role"].as_str(), body["users"]["alice"]["title"].as_str()),
        (Some("moderator"), Some("Mod"))
    );
    assert_eq!(alice.event().await["user"]["role"], "moderator");
    let (status, body) = users_call(
        &server,
        "PATCH",
        &server_token(),
        json!({"users": [{"id": "nobody", "set": {"name": "x"}}]}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_i64()),
        (400, Some(4)),
        "an unknown user is not created by a patch"
    );
}

/// `GET /users` as `user` (with its connection) and `payload`.
async fn query(server: &TestServer, user: &User, payload: Value) -> (u16, Value) {
    let path = format!(
        "/users?api_key={API_KEY}&connection_id={}&payload={}",
        user.connection_id,
        common::encode(&payload.to_string())
    );
    http_json(server.addr, "GET", &path, Some(&user.token), "").await
}

fn ids(answer: &Value) -> Vec<&str> {
    answer["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn query_users_filters_sorts_pages_and_never_shows_invisible_users_online() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let alice = server.user(json!({"id": "alice", "name": "Alice"})).await;
    let _bob = server.user(json!({"id": "bob", "name": "Bob"})).await;
    let _carol = server.user(json!({"id": "carol", "name": "Carol", "invisible": true})).await;
    let patch = json!({"users": [{"id": "carol", "set": {"role": "moderator"}}]});
    assert_eq!(users_call(&server, "PATCH", &server_token(), patch).await.0, 200);

    let (status, answer) = query(
        &server,
        &alice,
        json!({"filter_conditions": {"id": {"$in": ["alice", "bob", "carol"]}},
        "sort": [{"field": "name", "direction": -1}]}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ids(&answer), ["carol", "bob", "alice"]);
    for user in answer["users"].as_array().unwrap() {
        assert!(
            user.get("privacy_settings").is_none() && user.get("invisible").is_none(),
            "{user}"
        );
    }
    let online: Vec<bool> = answer["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["online"].as_bool().unwrap())
        .collect();
    assert_eq!(online, [false, true, true], "carol is invisible: offline to others");

    let (_, answer) =
        query(&server, &alice, json!({"filter_conditions": {"name": {"$autocomplete": "al"}}}))
            .await;
    assert_eq!(ids(&answer), ["alice"]);
    let (_, answer) = query(
        &server,
        &alice,
        json!({"filter_conditions": {"online": true}, "sort": [{"field": "id"}]}),
    )
    .await;
    assert_eq!(ids(&answer), ["alice", "bob"]);
    let (_, answer) = query(&server, &alice, json!({"filter_conditions": {"online": false}})).await;
    assert_eq!(ids(&answer), ["carol"]);
    let (_, answer) = query(
        &server,
        &alice,
        json!({"filter_conditions":
        {"$or": [{"role": "moderator"}, {"id": "bob"}]}, "sort": [{"field": "id"}]}),
    )
    .await;
    assert_eq!(ids(&answer), ["bob", "carol"]);
    let (_, answer) =
        query(&server, &alice, json!({"sort": [{"field": "id"}], "limit": 1, "offset": 1})).await;
    assert_eq!(ids(&answer), ["bob"]);

    for bad in [
        json!({"filter_conditions": {"id": {"$regex": "a"}}}),
        json!({"filter_conditions": {"privacy_settings": {"$eq": "x"}}}),
        json!({"sort": [{"field": "invisible"}]}),
        json!({"limit": 500}),
    ] {
        let (status, answer) = query(&server, &alice, bad.clone()).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{bad}: {answer}");
    }
}

#[tokio::test]
async fn presence_followers_hear_users_come_and_go_but_never_invisible_ones() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let mut bob = server.user(json!({"id": "bob"})).await;
    let alice = server.user(json!({"id": "alice", "name": "Alice"})).await;
    let carol = server.user(json!({"id": "carol", "invisible": true})).await;
    let (status, answer) = query(
        &server,
        &bob,
        json!({"filter_conditions": {"id": {"$in": ["alice", "carol"]}}, "presence": true}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");

    alice.socket.close().await;
    let gone = bob.event().await;
    assert_eq!(
        (gone["type"].as_str(), gone["user"]["id"].as_str()),
        (Some("user.presence.changed"), Some("alice"))
    );
    assert_eq!(gone["user"]["online"], false);
    let _alice = server.user(json!({"id": "alice"})).await;
    let back = bob.event().await;
    assert_eq!(
        (back["user"]["id"].as_str(), back["user"]["online"].as_bool()),
        (Some("alice"), Some(true))
    );
    assert!(back["user"].get("privacy_settings").is_none());

    // carol is invisible: her coming and going is never announced.
    carol.socket.close().await;
    let _carol = server.user(json!({"id": "carol", "invisible": true})).await;
    bob.assert_no_event().await;
}

/// `POST /guest` with `body`.
async fn guest(server: &TestServer, body: Value) -> (u16, Value) {
    let path = format!("/guest?api_key={API_KEY}");
    http_json(server.addr, "POST", &path, None, &body.to_string()).await
}

#[tokio::test]
async fn guests_get_a_token_and_never_take_over_an_existing_user() {
    let dir = tempfile::tempdir().unwrap();
    let off = TestServer::start(&dir.path().join("off.db"), Options::default()).await;
    let (status, answer) = guest(&off, json!({"user": {"id": "visitor"}})).await;
    assert_eq!(
        (status, answer["code"].as_i64()),
        (403, Some(17)),
        "guests are off unless switched on"
    );

    let server = TestServer::start(
        &dir.path().join("chat.db"),
        Options { guests: true, ..Options::default() },
    )
    .await;
    let _alice = server.user(json!({"id": "alice", "name": "Alice"})).await;
    let (status, answer) = guest(&server, json!({"user": {"id": "visitor", "name": "Vi"}})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["user"]["id"].as_str(), answer["user"]["role"].as_str()),
        (Some("visitor"), Some("guest"))
    );
    let token = answer["access_token"].as_str().unwrap().to_owned();
    let mut socket = server.open(&json!({"id": "visitor", "name": "Vi"}), &token).await;
    let me = socket.frame().await;
    assert_eq!(
        (me["me"]["id"].as_str(), me["me"]["role"].as_str()),
        (Some("visitor"), Some("guest"))
    );

    // Asking for an existing user's id (or the same guest's again) gives a fresh id, never that user.
    for taken in ["alice", "visitor"] {
        let (status, answer) = guest(&server, json!({"user": {"id": taken}})).await;
        assert_eq!(status, 200, "{answer}");
        let id = answer["user"]["id"].as_str().unwrap();
        assert!(id.starts_with("guest-") && id != taken, "{id}");
    }
    let (status, answer) = guest(&server, json!({"user": {"id": "Bad Id"}})).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)));
    let path = "/guest?api_key=wrong";
    let (status, answer) = http_json(server.addr, "POST", path, None, r#"{"user":{}}"#).await;
    assert_eq!((status, answer["code"].as_i64()), (401, Some(2)));
}

/// Opens an anonymous WebSocket (no token) as the official client's `connectAnonymousUser` does.
async fn anonymous(server: &TestServer) -> common::Client {
    let json = json!({"user_id": "made-up-1", "user_details": {"id": "made-up-1", "anon": true}});
    let query = format!(
        "json={}&api_key={API_KEY}&stream-auth-type=anonymous",
        common::encode(&json.to_string())
    );
    let url = format!("ws://{}/connect?{query}", server.addr);
    common::Client { socket: tokio_tungstenite::connect_async(url).await.unwrap().0 }
}

#[tokio::test]
async fn anonymous_users_read_public_channels_write_nothing_and_are_not_counted() {
    let dir = tempfile::tempdir().unwrap();
    let off = TestServer::start(&dir.path().join("off.db"), Options::default()).await;
    common::assert_refused(anonymous(&off).await, 5, 401).await;

    let server = TestServer::start(
        &dir.path().join("chat.db"),
        Options { guests: true, ..Options::default() },
    )
    .await;
    let mut host = server.user(json!({"id": "host"})).await;
    let live = json!({"data": {"members": ["host"]}, "state": true, "watch": true});
    assert_eq!(server.call(&host, "/channels/livestream/show/query", live).await.0, 200);
    let private = json!({"data": {"members": ["host"]}, "state": true});
    assert_eq!(server.call(&host, "/channels/messaging/private/query", private).await.0, 200);
    assert_eq!(host.event().await["type"], "user.watching.start");
    let active = server.metric("chat_monthly_active_users").await;

    let mut socket = anonymous(&server).await;
    let first = socket.frame().await;
    let me = &first["me"];
    assert!(me["id"].as_str().unwrap().starts_with("!anon-"), "{first}");
    assert_eq!(me["role"], "anonymous");
    let connection_id = first["connection_id"].as_str().unwrap().to_owned();
    let call = |path: &str, body: Value| {
        let path = format!("{path}?api_key={API_KEY}&connection_id={connection_id}");
        let body = body.to_string();
        let addr = server.addr;
        async move {
            let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let request = format!(
                "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nstream-auth-type: anonymous\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            );
            stream.write_all(request.as_bytes()).await.unwrap();
            let mut response = String::new();
            stream.read_to_string(&mut response).await.unwrap();
            let status: u16 = response[9..12].parse().unwrap();
            let body =
                response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
            (status, serde_json::from_str::<Value>(&body).unwrap_or(Value::Null))
        }
    };
    // Reads a public channel, and watches it unseen: no watching event reaches the host.
    let (status, state) =
        call("/channels/livestream/show/query", json!({"state": true, "watch": true})).await;
    assert_eq!(status, 200, "{state}");
    host.assert_no_event().await;
    // Writes nothing, reads no private channel, creates nothing.
    let refusals = [
        ("/channels/livestream/show/message", json!({"message": {"text": "hi"}}), 403),
        ("/channels/livestream/show/event", json!({"event": {"type": "typing.start"}}), 403),
        ("/channels/livestream/show/read", json!({}), 403),
        ("/channels/messaging/private/query", json!({"state": true}), 403),
        ("/channels/livestream/new-show/query", json!({"state": true}), 404),
    ];
    for (path, body, status) in refusals {
        let (got, answer) = call(path, body).await;
        assert_eq!(got, status, "{path}: {answer}");
    }
    // The host's messages reach the anonymous watcher.
    let message = json!({"message": {"text": "welcome"}});
    assert_eq!(server.call(&host, "/channels/livestream/show/message", message).await.0, 200);
    loop {
        let frame = socket.frame().await;
        if frame["type"] == "message.new" {
            assert_eq!(frame["message"]["text"], "welcome");
            break;
        }
    }
    assert_eq!(
        server.metric("chat_monthly_active_users").await,
        active,
        "anonymous users are not counted"
    );
}

#[tokio::test]
async fn a_connect_that_changes_nothing_still_records_last_active_across_a_restart() {
    // Such a connect writes no row at once (its activity is batched); the batch is written at the latest when
    // the server stops.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let server = TestServer::start(&db, Options::default()).await;
    let first = server.user(json!({"id": "alice", "name": "Alice"})).await;
    drop(first);
    let mut again =
        server.open(&json!({"id": "alice", "name": "Alice"}), &server.token("alice")).await;
    let me = again.frame().await["me"].clone();
    let last_active = me["last_active"].as_str().expect("me carries last_active").to_owned();
    server.stop().await;

    let server = TestServer::start(&db, Options::default()).await;
    let bob = server.user(json!({"id": "bob"})).await;
    let (status, answer) =
        query(&server, &bob, json!({"filter_conditions": {"id": "alice"}})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["users"][0]["last_active"], last_active.as_str(), "{answer}");
    assert_eq!(server.metric("chat_monthly_active_users").await, 2.0);
    server.stop().await;
}
