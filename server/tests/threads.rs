//! Threads against a real listener and store (SQLite, or PostgreSQL with `STREAM_TEST_POSTGRES`): `POST /threads`
//! lists the threads a user takes part in, latest reply first, paged with `next`, each with its parent, latest
//! replies, participants and unread replies per user; `GET /threads/{id}`; `markRead({thread_id})` reads the
//! thread (not the channel) and tells watchers with `message.read` carrying `thread`; strangers see nothing.

mod common;

use common::{Options, TestServer, User};
use serde_json::{json, Value};

const GENERAL: &str = "/channels/messaging/general";

async fn send(server: &TestServer, user: &User, body: Value) {
    let (status, answer) =
        server.call(user, &format!("{GENERAL}/message"), json!({ "message": body })).await;
    assert_eq!(status, 200, "{answer}");
}

async fn threads(server: &TestServer, user: &User, body: Value) -> Value {
    let (status, answer) = server.call(user, "/threads", body).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

/// `user`'s unread replies in `thread`, from its `read`.
fn unread(thread: &Value, user: &str) -> i64 {
    thread["read"].as_array().unwrap().iter().find(|r| r["user"]["id"] == user).unwrap()
        ["unread_messages"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn threads_list_reads_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, mut bob) = server.watching_pair().await;
    let carol = server.user(json!({"id": "carol"})).await;
    send(&server, &alice, json!({"id": "p1", "text": "first topic"})).await;
    send(&server, &alice, json!({"id": "p2", "text": "second topic"})).await;
    send(&server, &alice, json!({"id": "lonely", "text": "no replies"})).await;
    for (user, text) in [(&bob, "bob on one"), (&bob, "bob again"), (&alice, "alice on one")] {
        send(&server, user, json!({"text": text, "parent_id": "p1"})).await;
    }
    send(&server, &bob, json!({"text": "bob on two", "parent_id": "p2"})).await;
    let secret = json!({"data": {"members": ["carol"]}});
    assert_eq!(server.call(&carol, "/channels/messaging/secret/query", secret).await.0, 200);
    send_in(&server, &carol, "secret", json!({"id": "c1", "text": "carol's"})).await;
    send_in(&server, &carol, "secret", json!({"text": "carol replies", "parent_id": "c1"})).await;

    // alice's threads, latest reply first: p2 (bob replied last there), then p1.
    let list =
        threads(&server, &alice, json!({"limit": 10, "reply_limit": 2, "watch": false})).await;
    let ids: Vec<&str> = list["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["parent_message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["p2", "p1"]);
    let p1 = &list["threads"][1];
    assert_eq!(
        (p1["reply_count"].as_i64(), p1["channel"]["cid"].as_str()),
        (Some(3), Some("messaging:general"))
    );
    assert_eq!(p1["parent_message"]["text"], "first topic");
    let replies: Vec<&str> = p1["latest_replies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["text"].as_str().unwrap())
        .collect();
    assert_eq!(replies, ["bob again", "alice on one"]);
    assert_eq!(unread(p1, "alice"), 2, "never read: bob's two replies");
    let participants: Vec<&str> = p1["thread_participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["user_id"].as_str().unwrap())
        .collect();
    assert!(participants.contains(&"alice") && participants.contains(&"bob"), "{participants:?}");
    assert!(list.get("next").is_none());

    // Paged.
    let page = threads(&server, &alice, json!({"limit": 1})).await;
    assert_eq!(page["threads"][0]["parent_message_id"], "p2");
    let next = threads(&server, &alice, json!({"limit": 1, "next": page["next"]})).await;
    assert_eq!(next["threads"][0]["parent_message_id"], "p1");

    // Reading the thread: bob hears it as a thread read; alice's thread unread is 0, the channel's untouched.
    let (_, before) = server.call_as(&alice, "GET", "/unread", json!({})).await;
    let (status, _) =
        server.call(&alice, &format!("{GENERAL}/read"), json!({"thread_id": "p1"})).await;
    assert_eq!(status, 200);
    let read = loop {
        let event = bob.event().await;
        if event["type"] == "message.read" {
            break event;
        }
    };
    assert_eq!(
        (read["thread_id"].as_str(), read["thread"]["parent_message_id"].as_str()),
        (Some("p1"), Some("p1"))
    );
    let (_, after) = server.call_as(&alice, "GET", "/unread", json!({})).await;
    assert_eq!(before["total_unread_count"], after["total_unread_count"]);
    let (status, one) = server.call_as(&alice, "GET", "/threads/p1", json!({})).await;
    assert_eq!(status, 200, "{one}");
    assert_eq!(unread(&one["thread"], "alice"), 0);
    send(&server, &bob, json!({"text": "bob once more", "parent_id": "p1"})).await;
    let (_, one) = server.call_as(&alice, "GET", "/threads/p1", json!({})).await;
    assert_eq!(unread(&one["thread"], "alice"), 1);

    // Strangers and non-threads.
    let (status, _) = server.call_as(&carol, "GET", "/threads/p1", json!({})).await;
    assert_eq!(status, 403);
    let (status, answer) = server.call_as(&alice, "GET", "/threads/lonely", json!({})).await;
    assert_eq!((status, answer["code"].as_i64()), (404, Some(16)));
    let carols = threads(&server, &carol, json!({})).await;
    let ids: Vec<&str> = carols["threads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["parent_message_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["c1"], "only her own channel's threads");
    let (status, _) = server.call(&alice, "/threads", json!({"limit": 1000})).await;
    assert_eq!(status, 400);
    let (status, _) =
        server.call(&alice, &format!("{GENERAL}/read"), json!({"thread_id": "c1"})).await;
    assert_eq!(status, 400, "another channel's thread");
    server.stop().await;
}

async fn send_in(server: &TestServer, user: &User, channel: &str, body: Value) {
    let path = format!("/channels/messaging/{channel}/message");
    let (status, answer) = server.call(user, &path, json!({ "message": body })).await;
    assert_eq!(status, 200, "{answer}");
}
