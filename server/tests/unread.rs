//! Unread counts, against a real listener and SQLite file: `GET /unread`, `markUnread` from a message on,
//! `markAllRead`, the totals on a new connection's `me`, and that none of it reaches other users.

mod common;

use common::{http_json, Options, TestServer, API_KEY};
use serde_json::{json, Value};

const GENERAL: &str = "/channels/messaging/general";

#[tokio::test]
async fn unread_counts_move_for_the_user_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, mut bob) = server.watching_pair().await;
    for n in 1..=3 {
        let message = json!({"message": {"id": format!("m{n}"), "text": format!("{n}")}});
        assert_eq!(server.call(&bob, &format!("{GENERAL}/message"), message).await.0, 200);
        assert_eq!(alice.event().await["type"], "message.new");
        assert_eq!(bob.event().await["type"], "message.new");
    }
    let unread = |user: &common::User| {
        let path = format!("/unread?api_key={API_KEY}");
        let token = user.token.clone();
        let addr = server.addr;
        async move { http_json(addr, "GET", &path, Some(&token), "").await.1 }
    };
    let counts = unread(&alice).await;
    assert_eq!(
        (counts["total_unread_count"].as_u64(), counts["channels"][0]["unread_count"].as_u64()),
        (Some(3), Some(3)),
        "{counts}"
    );

    assert_eq!(server.call(&alice, &format!("{GENERAL}/read"), json!({})).await.0, 200);
    assert_eq!(alice.event().await["type"], "message.read");
    assert_eq!(bob.event().await["type"], "message.read");
    assert_eq!(unread(&alice).await["total_unread_count"], 0);

    // Unread from m2 on: two messages; only alice hears of it.
    let (status, answer) =
        server.call(&alice, &format!("{GENERAL}/unread"), json!({"message_id": "m2"})).await;
    assert_eq!(status, 200, "{answer}");
    let event = alice.event().await;
    assert_eq!(
        (event["type"].as_str(), event["unread_messages"].as_u64()),
        (Some("notification.mark_unread"), Some(2))
    );
    assert_eq!(event["last_read_message_id"], "m1");
    assert_eq!(event["total_unread_count"], 2);
    bob.assert_no_event().await;
    assert_eq!(unread(&alice).await["total_unread_count"], 2);
    // Bob's view of alice's read state did not move back.
    let (_, state) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let alices: Vec<&Value> =
        state["read"].as_array().unwrap().iter().filter(|r| r["user"]["id"] == "alice").collect();
    assert_eq!(alices[0]["last_read_message_id"], "m3");

    // A new connection's `me` carries the totals.
    let mut again = server.open(&json!({"id": "alice"}), &alice.token).await;
    let first = again.frame().await;
    assert_eq!(
        (first["me"]["total_unread_count"].as_u64(), first["me"]["unread_channels"].as_u64()),
        (Some(2), Some(1))
    );

    let path = format!("/channels/read?api_key={API_KEY}");
    let (status, _) = http_json(server.addr, "POST", &path, Some(&alice.token), "{}").await;
    assert_eq!(status, 200);
    assert_eq!(alice.event().await["type"], "notification.mark_read");
    assert_eq!(unread(&alice).await["total_unread_count"], 0);

    let (status, answer) =
        server.call(&alice, &format!("{GENERAL}/unread"), json!({"message_id": "nope"})).await;
    assert_eq!((status, answer["code"].as_i64()), (404, Some(16)));
}

#[tokio::test]
async fn silent_messages_and_thread_only_replies_are_unread_for_nobody() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, mut bob) = server.watching_pair().await;
    let messages = [
        json!({"id": "counted", "text": "counts"}),
        json!({"id": "quiet", "text": "silent", "silent": true}),
        json!({"id": "reply", "text": "in the thread only", "parent_id": "counted"}),
        json!({"id": "shown", "text": "also in the channel", "parent_id": "counted", "show_in_channel": true}),
    ];
    for message in messages {
        let (status, answer) =
            server.call(&bob, &format!("{GENERAL}/message"), json!({ "message": message })).await;
        assert_eq!(status, 200, "{answer}");
        let event = alice.event().await;
        assert_eq!(event["type"], "message.new");
        assert_eq!(event["message"]["silent"], message.get("silent").is_some(), "{event}");
        bob.event().await;
        if message.get("parent_id").is_some() {
            // The parent's new reply count follows each reply.
            assert_eq!(alice.event().await["type"], "message.updated");
            bob.event().await;
        }
    }
    let (_, state) = server.call(&alice, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let own: Vec<&Value> =
        state["read"].as_array().unwrap().iter().filter(|r| r["user"]["id"] == "alice").collect();
    assert_eq!(
        own[0]["unread_messages"], 2,
        "the plain message and the reply shown in the channel"
    );

    // Unread from the first message on counts the same two.
    let (status, _) =
        server.call(&alice, &format!("{GENERAL}/unread"), json!({"message_id": "counted"})).await;
    assert_eq!(status, 200);
    assert_eq!(alice.event().await["unread_messages"], 2);

    let (status, answer) = server
        .call(
            &bob,
            &format!("{GENERAL}/message"),
            json!({"message": {"text": "x", "silent": "yes"}}),
        )
        .await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)));
}
