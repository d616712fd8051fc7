//! Search against a real listener and store (SQLite FTS5, or PostgreSQL `tsvector` with `STREAM_TEST_POSTGRES`):
//! `GET /search` by words, word starts, pins, attachment types and senders, newest first and paged with `next`,
//! following edits and deletes; other users' channels never leak; huge queries are bounded. Also what the UI kits'
//! search boxes send elsewhere: channels by `name` (`$autocomplete`, `$eq`) and users by id or name
//! (`$autocomplete`).

mod common;

use common::{encode, Options, TestServer, User};
use serde_json::{json, Value};

const GENERAL: &str = "/channels/messaging/general";

async fn search(server: &TestServer, user: &User, payload: Value) -> (u16, Value) {
    let path = format!("/search?payload={}", encode(&payload.to_string()));
    server.call_as(user, "GET", &path, json!({})).await
}

/// The texts of a search's results, in order.
async fn texts(server: &TestServer, user: &User, payload: Value) -> Vec<String> {
    let (status, answer) = search(server, user, payload).await;
    assert_eq!(status, 200, "{answer}");
    answer["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|result| result["message"]["text"].as_str().unwrap().to_owned())
        .collect()
}

async fn send(server: &TestServer, user: &User, id: &str, text: &str) {
    let body = json!({"message": {"id": id, "text": text}});
    let (status, answer) = server.call(user, &format!("{GENERAL}/message"), body).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn messages_are_found_by_their_words_in_readable_channels_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;
    let carol = server.user(json!({"id": "carol"})).await;
    let secret =
        json!({"data": {"members": ["carol"]}, "message": {"text": "hello world, secretly"}});
    let (status, _) = server.call(&carol, "/channels/messaging/secret/query", secret).await;
    assert_eq!(status, 200);
    server
        .call(
            &carol,
            "/channels/messaging/secret/message",
            json!({"message": {"text": "world secrets"}}),
        )
        .await;
    send(&server, &alice, "m1", "Hello world").await;
    send(&server, &bob, "m2", "Help wanted: world peace").await;
    send(&server, &alice, "m3", "nothing to see").await;

    let mine = json!({"members": {"$in": ["alice"]}});
    let found = texts(&server, &alice, json!({"filter_conditions": mine, "query": "world"})).await;
    assert_eq!(found, ["Help wanted: world peace", "Hello world"], "newest first");
    // What the UI kit's search box sends; each result names its channel, which the kit opens.
    let (_, answer) = search(
        &server,
        &alice,
        json!({"filter_conditions": mine,
        "message_filter_conditions": {"type": "regular", "text": "WORLD"},
        "sort": [{"field": "created_at", "direction": -1}], "limit": 10}),
    )
    .await;
    let first = &answer["results"][0]["message"];
    assert_eq!(
        (first["channel"]["cid"].as_str(), first["channel"]["type"].as_str()),
        (Some("messaging:general"), Some("messaging"))
    );
    assert_eq!(first["channel"]["id"], "general");
    assert_eq!(first["cid"], "messaging:general");
    assert_eq!(first["user"]["id"], "bob");
    let starts = json!({"filter_conditions": {}, "message_filter_conditions": {"text": {"$autocomplete": "hel"}}});
    assert_eq!(texts(&server, &alice, starts).await, ["Help wanted: world peace", "Hello world"]);
    let both = json!({"filter_conditions": {}, "query": "world hello"});
    assert_eq!(texts(&server, &alice, both).await, ["Hello world"], "every word must match");

    // carol's channel never leaks, however the channels are named.
    for filter in
        [json!({}), json!({"cid": "messaging:secret"}), json!({"members": {"$in": ["carol"]}})]
    {
        let found =
            texts(&server, &alice, json!({"filter_conditions": filter, "query": "secret"})).await;
        assert!(found.is_empty(), "{found:?}");
        let found =
            texts(&server, &alice, json!({"filter_conditions": filter, "query": "world"})).await;
        assert!(found.iter().all(|text| !text.contains("secret")), "{found:?}");
    }
    assert_eq!(
        texts(&server, &carol, json!({"filter_conditions": {}, "query": "secrets"})).await,
        ["world secrets"]
    );

    // Edits change what is found; deleted messages are not found.
    let edit = json!({"message": {"text": "goodbye planet"}});
    assert_eq!(server.call(&alice, "/messages/m1", edit).await.0, 200);
    assert_eq!(
        texts(&server, &alice, json!({"filter_conditions": mine, "query": "world"})).await,
        ["Help wanted: world peace"]
    );
    assert_eq!(
        texts(&server, &alice, json!({"filter_conditions": mine, "query": "planet"})).await,
        ["goodbye planet"]
    );
    assert_eq!(server.call_as(&bob, "DELETE", "/messages/m2", json!({})).await.0, 200);
    assert!(texts(&server, &alice, json!({"filter_conditions": mine, "query": "peace"}))
        .await
        .is_empty());

    // The same for messages changed before the index caught up with them (SQLite indexes in batches).
    send(&server, &alice, "late1", "fresh paint").await;
    send(&server, &alice, "late2", "fresh bread").await;
    let edit = json!({"message": {"text": "dry paint"}});
    assert_eq!(server.call(&alice, "/messages/late1", edit).await.0, 200);
    assert_eq!(server.call_as(&alice, "DELETE", "/messages/late2", json!({})).await.0, 200);
    let fresh = json!({"filter_conditions": mine, "query": "fresh"});
    assert!(texts(&server, &alice, fresh).await.is_empty());
    let dry = json!({"filter_conditions": mine, "query": "dry"});
    assert_eq!(texts(&server, &alice, dry).await, ["dry paint"]);
    server.stop().await;
}

#[tokio::test]
async fn pins_attachments_senders_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;
    for n in 0..5 {
        send(&server, &alice, &format!("a{n}"), &format!("report number {n}")).await;
    }
    let file = json!({"message": {"text": "the report file", "attachments": [{"type": "file", "asset_url": "https://x/r.pdf"}]}});
    assert_eq!(server.call(&bob, &format!("{GENERAL}/message"), file).await.0, 200);
    let pin = json!({"set": {"pinned": true}});
    assert_eq!(server.call_as(&bob, "PUT", "/messages/a2", pin).await.0, 200);

    let general = json!({"cid": "messaging:general"});
    let pinned = json!({"filter_conditions": general, "message_filter_conditions": {"pinned": true, "text": {"$autocomplete": "rep"}}});
    assert_eq!(texts(&server, &alice, pinned).await, ["report number 2"]);
    let files = json!({"filter_conditions": general, "message_filter_conditions": {"attachments.type": {"$in": ["file", "audio"]}}});
    assert_eq!(texts(&server, &alice, files).await, ["the report file"]);
    let by_bob =
        json!({"filter_conditions": general, "message_filter_conditions": {"user.id": "bob"}});
    assert_eq!(texts(&server, &alice, by_bob).await, ["the report file"]);

    // Pages of two, oldest first, until no `next`.
    let mut seen = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let mut payload = json!({"filter_conditions": general, "query": "report", "limit": 2,
            "sort": [{"field": "created_at", "direction": 1}]});
        if let Some(next) = &next {
            payload["next"] = next.clone().into();
        }
        let (status, answer) = search(&server, &alice, payload).await;
        assert_eq!(status, 200, "{answer}");
        seen.extend(
            answer["results"].as_array().unwrap().iter().map(|r| r["message"]["id"].clone()),
        );
        match answer["next"].as_str() {
            Some(cursor) => next = Some(cursor.to_owned()),
            None => break,
        }
        assert!(seen.len() <= 6, "paging never ends: {seen:?}");
    }
    assert_eq!(seen.len(), 6);
    assert_eq!(seen[..2], [json!("a0"), json!("a1")]);

    // Bounds: a huge query, a huge page, unknown fields, and no query at all are code 4.
    for bad in [
        json!({"filter_conditions": {}, "query": "word ".repeat(400)}),
        json!({"filter_conditions": {}, "query": "x", "limit": 1000}),
        json!({"filter_conditions": {}, "message_filter_conditions": {"$where": "1"}}),
        json!({"filter_conditions": {}}),
    ] {
        let (status, answer) = search(&server, &alice, bad).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{answer}");
    }
    // Query syntax of the engines is never interpreted: quotes, stars, operators are just separators.
    let odd = json!({"filter_conditions": {}, "query": "\"report\" OR * NEAR(x) & !:* ' ; --"});
    let (status, answer) = search(&server, &alice, odd).await;
    assert_eq!(status, 200, "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn channels_by_name_and_users_by_id_or_name_as_the_search_boxes_send_them() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let alice = server.user(json!({"id": "alice", "name": "Alice Liddell"})).await;
    server.user(json!({"id": "albert", "name": "Bert"})).await;
    server.user(json!({"id": "zed", "name": "Zed Alfa"})).await;
    for (id, name) in [("rust", "Rust lovers"), ("travel", "Summer travel"), ("other", "Trusty")] {
        let body = json!({"data": {"members": ["alice"], "name": name}});
        assert_eq!(
            server.call(&alice, &format!("/channels/messaging/{id}/query"), body).await.0,
            200
        );
    }
    let names = |answer: &Value| -> Vec<String> {
        let mut names: Vec<String> = answer["channels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["channel"]["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let query =
        |name: Value| json!({"filter_conditions": {"members": {"$in": ["alice"]}, "name": name}});
    let (_, found) = server.call(&alice, "/channels", query(json!({"$autocomplete": "tr"}))).await;
    assert_eq!(names(&found), ["Summer travel", "Trusty"], "a word starting with it, any case");
    let (_, found) = server.call(&alice, "/channels", query(json!({"$eq": "Rust lovers"}))).await;
    assert_eq!(names(&found), ["Rust lovers"]);
    let (_, found) =
        server.call(&alice, "/channels", query(json!({"$in": ["Trusty", "nope"]}))).await;
    assert_eq!(names(&found), ["Trusty"]);
    let (status, _) = server.call(&alice, "/channels", query(json!({"$regex": "."}))).await;
    assert_eq!(status, 400);

    // The UI kit's user search: `$or` of id and name `$autocomplete`, sorted by id.
    let users = json!({"filter_conditions": {"$or": [{"id": {"$autocomplete": "al"}}, {"name": {"$autocomplete": "al"}}]},
        "sort": [{"field": "id", "direction": 1}]});
    let path = format!("/users?payload={}", encode(&users.to_string()));
    let (status, answer) = server.call_as(&alice, "GET", &path, json!({})).await;
    assert_eq!(status, 200, "{answer}");
    let ids: Vec<&str> =
        answer["users"].as_array().unwrap().iter().map(|u| u["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["albert", "alice", "zed"]);
    server.stop().await;
}
