//! `/longpoll` against a real listener: connect, hold and release, queued events in order, the buffer bound,
//! expiry, code 46, close, and REST calls made with a long-poll connection id.

mod common;

use std::time::Duration;

use common::{encode, http_json, Options, TestServer, User, API_KEY, DEADLINE};
use serde_json::{json, Value};

const LONGPOLL_OPEN: &str = "chat_connections{transport=\"longpoll\"}";

fn options() -> Options {
    Options {
        longpoll_hold: Duration::from_millis(300),
        longpoll_expiry: Duration::from_millis(600),
        ..Options::default()
    }
}

/// A long-poll connection: its id and token.
struct Poller {
    user_id: String,
    token: String,
    connection_id: String,
}

async fn lp_connect(server: &TestServer, user: Value) -> (u16, Value, String) {
    let id = user["id"].as_str().unwrap().to_owned();
    let token = server.token(&id);
    let payload = json!({"user_id": id, "user_details": user}).to_string();
    let path =
        format!("/longpoll?api_key={API_KEY}&user_id={}&json={}", encode(&id), encode(&payload));
    let (status, body) = http_json(server.addr, "GET", &path, Some(&token), "").await;
    (status, body, token)
}

async fn connect(server: &TestServer, id: &str) -> Poller {
    let (status, body, token) = lp_connect(server, json!({"id": id, "name": id})).await;
    assert_eq!(status, 200, "{body}");
    let connection_id = body["event"]["connection_id"].as_str().unwrap().to_owned();
    Poller { user_id: id.into(), token, connection_id }
}

async fn poll(server: &TestServer, poller: &Poller) -> (u16, Value) {
    let path = format!(
        "/longpoll?api_key={API_KEY}&user_id={}&connection_id={}",
        poller.user_id, poller.connection_id
    );
    http_json(server.addr, "GET", &path, Some(&poller.token), "").await
}

/// REST as the long-poll user, with its connection id.
async fn call(server: &TestServer, poller: &Poller, path: &str, body: Value) -> (u16, Value) {
    let query = format!("{path}?api_key={API_KEY}&connection_id={}", poller.connection_id);
    http_json(server.addr, "POST", &query, Some(&poller.token), &body.to_string()).await
}

/// Polls until `count` events of type `kind` arrived (with a deadline); returns all events seen.
async fn collect(server: &TestServer, poller: &Poller, kind: &str, count: usize) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let mut events = Vec::new();
    while events.iter().filter(|e: &&Value| e["type"] == kind).count() < count {
        assert!(tokio::time::Instant::now() < deadline, "only {} {kind} events", events.len());
        let (status, body) = poll(server, poller).await;
        assert_eq!(status, 200, "{body}");
        events.extend(body["events"].as_array().unwrap().iter().cloned());
    }
    events
}

async fn watch_general(server: &TestServer, alice: &Poller, bob: &User) {
    let body = json!({"data": {"members": ["alice", "bob"]}, "watch": true, "state": true});
    let (status, state) =
        call(server, alice, "/channels/messaging/general/query", body.clone()).await;
    assert_eq!(status, 200, "{state}");
    assert_eq!(server.call(bob, "/channels/messaging/general/query", body).await.0, 200);
}

#[tokio::test]
async fn connect_answers_the_health_check_event_and_counts_the_transport() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), options()).await;
    let (status, body, _) = lp_connect(&server, json!({"id": "alice", "name": "Alice"})).await;
    assert_eq!(status, 200, "{body}");
    let event = &body["event"];
    assert_eq!((event["type"].as_str(), event["cid"].as_str()), (Some("health.check"), Some("*")));
    assert!(event["connection_id"].as_str().is_some_and(|id| !id.is_empty()));
    assert_eq!(event["me"]["name"], "Alice");
    assert_eq!(server.metric(LONGPOLL_OPEN).await, 1.0);
    // Refusals keep their codes.
    let (status, body, _) = lp_connect(&server, json!({"id": "Not Valid"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(4)));
    server.stop().await;
}

#[tokio::test]
async fn a_poll_holds_until_an_event_and_events_arrive_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        &dir.path().join("chat.db"),
        // Expiry well past the hold: on a loaded machine the REST calls between two polls may take a while.
        Options {
            longpoll_hold: Duration::from_secs(5),
            longpoll_expiry: Duration::from_secs(10),
            ..options()
        },
    )
    .await;
    let alice = connect(&server, "alice").await;
    let bob = server.user(json!({"id": "bob"})).await;
    watch_general(&server, &alice, &bob).await;
    collect(&server, &alice, "user.watching.start", 2).await;

    // A poll in flight is released by the first event.
    let started = tokio::time::Instant::now();
    let sender = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        server
            .call(
                &bob,
                "/channels/messaging/general/message",
                json!({"message": {"text": "wake up"}}),
            )
            .await
    };
    let ((status, body), (sent, _)) = tokio::join!(poll(&server, &alice), sender);
    assert_eq!((status, sent), (200, 200));
    assert_eq!(body["events"][0]["message"]["text"], "wake up");
    assert!(started.elapsed() < Duration::from_secs(4), "released by the event, not the hold");

    // Events sent between polls wait, and come back in order.
    for n in 0..20 {
        let message = json!({"message": {"text": format!("m{n}")}});
        assert_eq!(server.call(&bob, "/channels/messaging/general/message", message).await.0, 200);
    }
    let events = collect(&server, &alice, "message.new", 20).await;
    let texts: Vec<String> = events
        .iter()
        .filter(|e| e["type"] == "message.new")
        .map(|e| e["message"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(texts, (0..20).map(|n| format!("m{n}")).collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn an_idle_poll_answers_no_events_after_the_hold() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), options()).await;
    let alice = connect(&server, "alice").await;
    let (status, body) = poll(&server, &alice).await;
    assert_eq!((status, &body["events"]), (200, &json!([])));
    server.stop().await;
}

#[tokio::test]
async fn unknown_closed_and_expired_connections_get_code_46() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), options()).await;
    let alice = connect(&server, "alice").await;
    let ghost =
        Poller { connection_id: "no-such-connection".into(), ..connect(&server, "ghost").await };
    let (status, body) = poll(&server, &ghost).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(46)), "{body}");

    // Close: gone at once, counted closed.
    let path =
        format!("/longpoll?api_key={API_KEY}&connection_id={}&close=true", alice.connection_id);
    assert_eq!(http_json(server.addr, "GET", &path, Some(&alice.token), "").await.0, 200);
    assert_eq!(poll(&server, &alice).await.1["code"], 46);

    // Expiry: the ghost's real connection is never polled again and is dropped.
    server.wait_metric(LONGPOLL_OPEN, 0.0).await;
    assert_eq!(server.metric("chat_connections_closed_total{transport=\"longpoll\"}").await, 2.0);
    server.stop().await;
}

#[tokio::test]
async fn an_overflowing_buffer_drops_the_connection_and_others_keep_working() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        &dir.path().join("chat.db"),
        Options { longpoll_expiry: Duration::from_secs(60), ..options() },
    )
    .await;
    let alice = connect(&server, "alice").await;
    let mut bob = server.user(json!({"id": "bob"})).await;
    watch_general(&server, &alice, &bob).await;
    // More events than the buffer holds, with nobody polling.
    for _ in 0..(stream_chat_server::hub::OUTBOX_CAPACITY + 10) {
        let typing = json!({"event": {"type": "typing.start"}});
        assert_eq!(server.call(&bob, "/channels/messaging/general/event", typing).await.0, 200);
    }
    // What the buffer held is delivered, then the connection reports code 46 so the client connects again.
    let mut delivered = 0;
    let code = loop {
        let (status, body) = poll(&server, &alice).await;
        if status != 200 {
            break body["code"].as_i64();
        }
        delivered += body["events"].as_array().unwrap().len();
        assert!(delivered <= stream_chat_server::hub::OUTBOX_CAPACITY, "the buffer is bounded");
    };
    assert_eq!(code, Some(46));
    server.wait_metric(LONGPOLL_OPEN, 0.0).await;
    // Bob is unaffected: his connection is open and his next message comes back to him.
    let message = json!({"message": {"text": "still here"}});
    assert_eq!(server.call(&bob, "/channels/messaging/general/message", message).await.0, 200);
    loop {
        let event = bob.event().await;
        if event["type"] == "message.new" {
            assert_eq!(event["message"]["text"], "still here");
            break;
        }
    }
    server.stop().await;
}
