//! Lookups and quotes against a real listener and store (SQLite, or PostgreSQL with `STREAM_TEST_POSTGRES`):
//! `getMessagesById` (this channel's only), `getReactions` / `queryReactions` (filtered, sorted, paged with
//! `next`), `getPinnedMessages`, and quoted replies (`quoted_message` set by the server, following edits and
//! deletes of the quoted message; ids of other channels refused); strangers read nothing.

mod common;

use common::{encode, Options, TestServer, User};
use serde_json::{json, Value};

const GENERAL: &str = "/channels/messaging/general";

async fn send(server: &TestServer, user: &User, body: Value) -> (u16, Value) {
    server.call(user, &format!("{GENERAL}/message"), json!({ "message": body })).await
}

/// carol's own channel `elsewhere` with her message `c1`.
async fn elsewhere(server: &TestServer, carol: &User) {
    let create = json!({"data": {"members": ["carol"]}});
    assert_eq!(server.call(carol, "/channels/messaging/elsewhere/query", create).await.0, 200);
    let message = json!({"message": {"id": "c1", "text": "mine"}});
    assert_eq!(server.call(carol, "/channels/messaging/elsewhere/message", message).await.0, 200);
}

fn ids(list: &Value) -> Vec<&str> {
    list.as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect()
}

#[tokio::test]
async fn messages_by_id_reactions_and_pins() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;
    let carol = server.user(json!({"id": "carol"})).await;
    elsewhere(&server, &carol).await;
    for n in 1..=3 {
        assert_eq!(
            send(&server, &alice, json!({"id": format!("m{n}"), "text": format!("number {n}")}))
                .await
                .0,
            200
        );
    }

    // By id: this channel's messages only, in the order asked; other channels' ids are left out.
    let path = format!("{GENERAL}/messages?ids={}", encode("m3,m1,c1,nope"));
    let (status, answer) = server.call_as(&alice, "GET", &path, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ids(&answer["messages"]), ["m3", "m1"]);
    let (status, _) = server.call_as(&carol, "GET", &path, json!({})).await;
    assert_eq!(status, 403, "a stranger to the channel reads nothing");
    let many: Vec<String> = (0..101).map(|n| format!("x{n}")).collect();
    let path = format!("{GENERAL}/messages?ids={}", many.join(","));
    assert_eq!(server.call_as(&alice, "GET", &path, json!({})).await.0, 400);

    // Reactions: a page newest first, then a query by type, paged with `next`.
    for (user, kind) in [(&alice, "like"), (&bob, "like"), (&bob, "love")] {
        let body = json!({"reaction": {"type": kind}});
        assert_eq!(server.call(user, "/messages/m1/reaction", body).await.0, 200);
    }
    let (status, answer) =
        server.call_as(&alice, "GET", "/messages/m1/reactions?limit=2", json!({})).await;
    assert_eq!(status, 200, "{answer}");
    let kinds: Vec<&str> = answer["reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["love", "like"]);
    let query = json!({"filter": {"type": "like"}, "sort": [{"field": "created_at", "direction": 1}], "limit": 1});
    let (_, first) = server.call(&alice, "/messages/m1/reactions", query.clone()).await;
    assert_eq!(first["reactions"][0]["user"]["id"], "alice");
    let mut next = query;
    next["next"] = first["next"].clone();
    let (_, second) = server.call(&alice, "/messages/m1/reactions", next).await;
    assert_eq!(second["reactions"][0]["user"]["id"], "bob");
    assert!(second.get("next").is_none(), "{second}");
    let (status, _) = server.call(&carol, "/messages/m1/reactions", json!({})).await;
    assert_eq!(status, 403);
    let (status, _) =
        server.call(&alice, "/messages/m1/reactions", json!({"filter": {"score": 1}})).await;
    assert_eq!(status, 400);

    // Pinned messages: latest pin first, or oldest with the sort; unknown options are code 4.
    for id in ["m1", "m3"] {
        assert_eq!(
            server
                .call_as(&bob, "PUT", &format!("/messages/{id}"), json!({"set": {"pinned": true}}))
                .await
                .0,
            200
        );
    }
    let pinned = |payload: Value| {
        format!("{GENERAL}/pinned_messages?payload={}", encode(&payload.to_string()))
    };
    let (status, answer) =
        server.call_as(&alice, "GET", &pinned(json!({"limit": 10, "sort": []})), json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ids(&answer["messages"]), ["m3", "m1"]);
    let oldest = json!({"limit": 1, "sort": [{"field": "pinned_at", "direction": 1}]});
    let (_, answer) = server.call_as(&alice, "GET", &pinned(oldest), json!({})).await;
    assert_eq!(ids(&answer["messages"]), ["m1"]);
    let (status, _) =
        server.call_as(&alice, "GET", &pinned(json!({"id_around": "m1"})), json!({})).await;
    assert_eq!(status, 400);
    let (status, _) = server.call_as(&carol, "GET", &pinned(json!({})), json!({})).await;
    assert_eq!(status, 403);
    server.stop().await;
}

#[tokio::test]
async fn quotes_carry_the_quoted_message_as_it_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;
    let carol = server.user(json!({"id": "carol"})).await;
    elsewhere(&server, &carol).await;
    assert_eq!(send(&server, &alice, json!({"id": "q", "text": "original"})).await.0, 200);
    let (status, answer) = send(
        &server,
        &bob,
        json!({"id": "r", "text": "replying", "quoted_message_id": "q",
        "quoted_message": {"text": "forged"}}),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["message"]["quoted_message"]["text"], "original");
    assert_eq!(answer["message"]["quoted_message"]["user"]["id"], "alice");
    assert_eq!(answer["message"]["quoted_message_id"], "q");

    // Another channel's message, an unknown one, or itself cannot be quoted.
    for quoted in ["c1", "nope", "self"] {
        let (status, answer) =
            send(&server, &bob, json!({"id": "self", "text": "x", "quoted_message_id": quoted}))
                .await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{quoted}: {answer}");
    }

    // The quoted message edited, then deleted: a channel loaded later shows the quote as it now is.
    let loaded = |body: Value| {
        body["messages"].as_array().unwrap().iter().find(|m| m["id"] == "r").cloned().unwrap()
    };
    assert_eq!(
        server.call(&alice, "/messages/q", json!({"message": {"text": "edited"}})).await.0,
        200
    );
    let (_, channel) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(loaded(channel)["quoted_message"]["text"], "edited");
    assert_eq!(server.call_as(&alice, "DELETE", "/messages/q", json!({})).await.0, 200);
    let (_, channel) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let quoted = &loaded(channel)["quoted_message"];
    assert!(quoted["deleted_at"].is_string() || quoted["type"] == "deleted", "{quoted}");
    server.stop().await;
}
