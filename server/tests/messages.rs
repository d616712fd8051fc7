//! One message by id, against a real listener and SQLite file: get, edit (whole and partial) and delete (soft, and
//! hard with a server token); only the author or a server token may change a message; watchers see
//! `message.updated` / `message.deleted`; deleted messages show as such in channel state.

mod common;

use common::{assert_refused, http_json, Options, TestServer, User, API_KEY};
use serde_json::{json, Value};
use stream_chat_server::auth::Auth;

const GENERAL: &str = "/channels/messaging/general";

async fn pair(server: &TestServer) -> (User, User) {
    server.watching_pair().await
}

/// `method /messages/{id}` as `token`.
async fn on_message(
    server: &TestServer,
    method: &str,
    id: &str,
    query: &str,
    token: &str,
    body: Value,
) -> (u16, Value) {
    let path = format!("/messages/{id}?api_key={API_KEY}{query}");
    http_json(server.addr, method, &path, Some(token), &body.to_string()).await
}

#[tokio::test]
async fn authors_edit_and_delete_and_watchers_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, mut bob) = pair(&server).await;
    let sent = json!({"message": {"id": "m1", "text": "helo", "mood": "happy"}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/message"), sent).await.0, 200);
    assert_eq!(bob.event().await["type"], "message.new");
    assert_eq!(alice.event().await["type"], "message.new");

    let (status, got) = on_message(&server, "GET", "m1", "", &bob.token, json!({})).await;
    assert_eq!((status, got["message"]["text"].as_str()), (200, Some("helo")), "{got}");

    let (status, edited) = on_message(
        &server,
        "POST",
        "m1",
        "",
        &alice.token,
        json!({"message": {"text": "hello", "mood": "happy"}}),
    )
    .await;
    assert_eq!(status, 200, "{edited}");
    let seen = bob.event().await;
    assert_eq!(
        (seen["type"].as_str(), seen["message"]["text"].as_str()),
        (Some("message.updated"), Some("hello"))
    );
    alice.event().await;

    let patch = json!({"set": {"text": "hello!", "pinned_note": true}, "unset": ["mood"]});
    let (status, patched) = on_message(&server, "PUT", "m1", "", &alice.token, patch).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(
        (patched["message"]["text"].as_str(), patched["message"].get("mood")),
        (Some("hello!"), None)
    );
    assert_eq!(bob.event().await["message"]["pinned_note"], true);
    alice.event().await;

    // Others may not change it; a user token may not hard-delete.
    let (status, refused) =
        on_message(&server, "POST", "m1", "", &bob.token, json!({"message": {"text": "mine"}}))
            .await;
    assert_eq!((status, refused["code"].as_i64()), (403, Some(17)));
    let (status, _) = on_message(&server, "DELETE", "m1", "", &bob.token, json!({})).await;
    assert_eq!(status, 403);
    let (status, _) =
        on_message(&server, "DELETE", "m1", "&hard=true", &alice.token, json!({})).await;
    assert_eq!(status, 403);

    let (status, deleted) = on_message(&server, "DELETE", "m1", "", &alice.token, json!({})).await;
    assert_eq!((status, deleted["message"]["type"].as_str()), (200, Some("deleted")), "{deleted}");
    let seen = bob.event().await;
    assert_eq!(
        (seen["type"].as_str(), seen["hard_delete"].as_bool()),
        (Some("message.deleted"), Some(false))
    );
    let (_, state) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(state["messages"][0]["type"], "deleted");
    let (status, _) =
        on_message(&server, "POST", "m1", "", &alice.token, json!({"message": {"text": "back"}}))
            .await;
    assert_eq!(status, 400, "a deleted message cannot be edited");

    // A server token hard-deletes: gone from the channel.
    let server_token = Auth::new(API_KEY, common::SECRET, false).sign(&json!({"server": true}));
    let (status, _) =
        on_message(&server, "DELETE", "m1", "&hard=true", &server_token, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(bob.event().await["hard_delete"], true);
    let (_, state) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(state["messages"].as_array().unwrap().len(), 0);
    let (status, missing) = on_message(&server, "GET", "m1", "", &bob.token, json!({})).await;
    assert_eq!((status, missing["code"].as_i64()), (404, Some(16)));
}

#[tokio::test]
async fn non_members_cannot_read_messages_of_private_channels() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, _bob) = pair(&server).await;
    let carol = server.user(json!({"id": "carol"})).await;
    let sent = json!({"message": {"id": "secret", "text": "between us"}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/message"), sent).await.0, 200);
    let (status, answer) = on_message(&server, "GET", "secret", "", &carol.token, json!({})).await;
    assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{answer}");
    let (status, _) =
        on_message(&server, "PUT", "secret", "", &carol.token, json!({"set": {"text": "x"}})).await;
    assert_eq!(status, 403);
    // Nor its thread, nor react to it, nor see its members.
    let (status, _) =
        on_message(&server, "GET", "secret/replies", "", &carol.token, json!({})).await;
    assert_eq!(status, 403);
    let like = json!({"reaction": {"type": "like"}});
    let (status, _) = on_message(&server, "POST", "secret/reaction", "", &carol.token, like).await;
    assert_eq!(status, 403);
    let (status, _) =
        server.call(&carol, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(status, 403);
}

#[tokio::test]
async fn thread_replies_stay_in_their_thread_and_page_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, mut bob) = pair(&server).await;
    let path = format!("{GENERAL}/message");
    let send = |message: Value| server.call(&alice, &path, json!({ "message": message }));
    assert_eq!(send(json!({"id": "parent", "text": "question"})).await.0, 200);
    for n in 1..=3 {
        let (status, answer) = send(
            json!({"id": format!("r{n}"), "text": format!("reply {n}"), "parent_id": "parent"}),
        )
        .await;
        assert_eq!(status, 200, "{answer}");
    }
    let shown =
        json!({"id": "r4", "text": "also here", "parent_id": "parent", "show_in_channel": true});
    assert_eq!(send(shown).await.0, 200);
    assert_eq!(bob.event().await["type"], "message.new");
    for n in 1..=4 {
        let reply = bob.event().await;
        assert_eq!(reply["type"], "message.new", "watchers hear replies as they come");
        assert_eq!(reply["message"]["parent_id"], "parent");
        // Then the parent as it now is: what makes the UI kits show "N replies".
        let parent = bob.event().await;
        assert_eq!(
            (parent["type"].as_str(), parent["message"]["id"].as_str()),
            (Some("message.updated"), Some("parent"))
        );
        assert_eq!(parent["message"]["reply_count"], n);
        assert_eq!(parent["message"]["thread_participants"], json!([{"id": "alice"}]));
    }

    let (_, state) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let ids: Vec<&str> =
        state["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["parent", "r4"], "thread-only replies stay out of the channel");
    assert_eq!(state["messages"][0]["reply_count"], 4);
    assert_eq!(state["messages"][0]["thread_participants"], json!([{"id": "alice"}]));

    let (status, page) =
        on_message(&server, "GET", "parent/replies", "&limit=2", &bob.token, json!({})).await;
    assert_eq!(status, 200, "{page}");
    let ids: Vec<&str> =
        page["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["r3", "r4"]);
    let (_, older) =
        on_message(&server, "GET", "parent/replies", "&limit=2&id_lt=r3", &bob.token, json!({}))
            .await;
    let ids: Vec<&str> =
        older["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["r1", "r2"]);

    let (status, _) = send(json!({"text": "nested", "parent_id": "r1"})).await;
    assert_eq!(status, 400, "replies to replies are refused");
    let (status, _) = send(json!({"text": "orphan", "parent_id": "nowhere"})).await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn message_pages_go_both_ways_from_an_id_or_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = pair(&server).await;
    let mut created = Vec::new();
    for n in 1..=5 {
        let message = json!({"message": {"id": format!("m{n}"), "text": format!("{n}")}});
        let (_, sent) = server.call(&alice, &format!("{GENERAL}/message"), message).await;
        created.push(sent["message"]["created_at"].as_str().unwrap().to_owned());
    }
    let (server, bob) = (&server, &bob);
    let page = |messages: Value| async move {
        let (status, state) = server
            .call(bob, &format!("{GENERAL}/query"), json!({"state": true, "messages": messages}))
            .await;
        assert_eq!(status, 200, "{state}");
        state["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(page(json!({"limit": 2})).await, ["m4", "m5"]);
    assert_eq!(page(json!({"limit": 2, "id_lt": "m4"})).await, ["m2", "m3"]);
    assert_eq!(page(json!({"limit": 2, "id_lte": "m4"})).await, ["m3", "m4"]);
    assert_eq!(page(json!({"limit": 2, "id_gt": "m2"})).await, ["m3", "m4"]);
    assert_eq!(page(json!({"limit": 2, "id_gte": "m2"})).await, ["m2", "m3"]);
    assert_eq!(page(json!({"limit": 10, "created_at_after": created[3]})).await, ["m5"]);
    assert_eq!(
        page(json!({"limit": 10, "created_at_after_or_equal": created[3]})).await,
        ["m4", "m5"]
    );
    assert_eq!(page(json!({"limit": 1, "created_at_before": created[1]})).await, ["m1"]);
    let (status, answer) = server
        .call(
            bob,
            &format!("{GENERAL}/query"),
            json!({"state": true, "messages": {"id_lt": "m3", "id_gt": "m1"}}),
        )
        .await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)));
}

#[tokio::test]
async fn reactions_count_group_and_belong_to_their_user() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, mut bob) = pair(&server).await;
    let carol = server.user(json!({"id": "carol"})).await;
    let sent = json!({"message": {"id": "m1", "text": "react to me"}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/message"), sent).await.0, 200);
    assert_eq!(bob.event().await["type"], "message.new");

    let server_ref = &server;
    let react = |token: String, body: Value| async move {
        on_message(server_ref, "POST", "m1/reaction", "", &token, body).await
    };
    let (status, answer) = react(alice.token.clone(), json!({"reaction": {"type": "like"}})).await;
    assert_eq!(status, 200, "{answer}");
    let event = bob.event().await;
    assert_eq!(
        (event["type"].as_str(), event["reaction"]["user_id"].as_str()),
        (Some("reaction.new"), Some("alice"))
    );
    assert_eq!(event["message"]["reaction_counts"]["like"], 1);
    let (_, _) = react(bob.token.clone(), json!({"reaction": {"type": "like", "score": 3}})).await;
    bob.event().await;
    let (_, answer) = react(bob.token.clone(), json!({"reaction": {"type": "love"}})).await;
    bob.event().await;
    let message = &answer["message"];
    assert_eq!(
        (message["reaction_counts"]["like"].as_i64(), message["reaction_counts"]["love"].as_i64()),
        (Some(2), Some(1))
    );
    assert_eq!(message["reaction_scores"]["like"], 4);
    assert_eq!(message["reaction_groups"]["like"]["count"], 2);
    assert_eq!(message["latest_reactions"].as_array().unwrap().len(), 3);

    // enforce_unique: bob's two reactions become one.
    let (_, answer) =
        react(bob.token.clone(), json!({"reaction": {"type": "wow"}, "enforce_unique": true}))
            .await;
    assert_eq!(bob.event().await["type"], "reaction.updated");
    assert_eq!(answer["message"]["reaction_counts"], json!({"like": 1, "wow": 1}));

    // own_reactions are the viewer's: in bob's query, his; in alice's, hers.
    let (_, state) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let own: Vec<&str> = state["messages"][0]["own_reactions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(own, ["wow"]);
    let (_, state) = server.call(&alice, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(state["messages"][0]["own_reactions"][0]["type"], "like");

    let (status, _) =
        on_message(&server, "DELETE", "m1/reaction/wow", "", &bob.token, json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(bob.event().await["type"], "reaction.deleted");
    let (status, answer) =
        on_message(&server, "DELETE", "m1/reaction/wow", "", &bob.token, json!({})).await;
    assert_eq!((status, answer["code"].as_i64()), (404, Some(16)));

    // A non-member cannot react to a private channel's message; bad reactions are refused.
    let (status, _) = react(carol.token.clone(), json!({"reaction": {"type": "like"}})).await;
    assert_eq!(status, 403);
    for bad in [
        json!({"reaction": {}}),
        json!({"reaction": {"type": "like", "score": 0}}),
        json!({"reaction": {"type": "x".repeat(65)}}),
    ] {
        let (status, answer) = react(alice.token.clone(), bad.clone()).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{bad}");
    }
}

#[tokio::test]
async fn concurrent_senders_are_each_acknowledged_once_and_on_disk_after_a_restart() {
    // Messages sent at once share group commits; each answer must be its own message, retries (the same id sent
    // twice at once) must store one message, and everything acknowledged must be there after a restart.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let server = TestServer::start(&db, Options::default()).await;
    let senders: Vec<String> = (0..12).map(|i| format!("sender-{i}")).collect();
    let first = server.user(json!({"id": senders[0]})).await;
    let create = json!({"data": {"members": senders}, "state": false});
    assert_eq!(server.call(&first, "/channels/messaging/busy/query", create).await.0, 200);
    let mut sends = tokio::task::JoinSet::new();
    for (index, sender) in senders.iter().enumerate() {
        let token = server.token(sender);
        let addr = server.addr;
        for n in 0..8 {
            // Every sender sends its message 0 twice at once (a client retry racing the original).
            let id = format!("{sender}-m{}", if n == 1 { 0 } else { n });
            let (token, sender) = (token.clone(), sender.clone());
            sends.spawn(async move {
                let body =
                    json!({"message": {"id": id, "text": format!("{index}/{n}")}}).to_string();
                let path = format!("/channels/messaging/busy/message?api_key={API_KEY}");
                let (status, answer) = http_json(addr, "POST", &path, Some(&token), &body).await;
                assert_eq!(status, 200, "{answer}");
                assert_eq!(
                    answer["message"]["id"],
                    id.as_str(),
                    "the answer is the sender's own message"
                );
                assert_eq!(answer["message"]["user"]["id"], sender.as_str());
            });
        }
    }
    while let Some(done) = sends.join_next().await {
        done.unwrap();
    }
    server.stop().await;

    let server = TestServer::start(&db, Options::default()).await;
    let reader = server.user(json!({"id": senders[0]})).await;
    let query = json!({"state": true, "messages": {"limit": 300}});
    let (status, state) = server.call(&reader, "/channels/messaging/busy/query", query).await;
    assert_eq!(status, 200, "{state}");
    let mut ids: Vec<&str> =
        state["messages"].as_array().unwrap().iter().map(|m| m["id"].as_str().unwrap()).collect();
    ids.sort();
    let mut expected: Vec<String> = senders
        .iter()
        .flat_map(|sender| [0, 2, 3, 4, 5, 6, 7].map(|n| format!("{sender}-m{n}")))
        .collect();
    expected.sort();
    assert_eq!(ids, expected, "every acknowledged message once, nothing else");
    server.stop().await;
}

#[tokio::test]
async fn members_pin_and_unpin_and_pins_last_until_they_expire() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, bob) = server.watching_pair().await;
    let path = format!("{GENERAL}/message");
    let (_, sent) =
        server.call(&alice, &path, json!({"message": {"id": "p1", "text": "pin me"}})).await;
    assert_eq!(sent["message"]["pinned"], false);
    alice.event().await;

    // bob pins alice's message (pinning is not editing: any member may).
    let pin = json!({"set": {"pinned": true, "pin_expires": null}});
    let (status, answer) = on_message(&server, "PUT", "p1", "", &bob.token, pin).await;
    assert_eq!(status, 200, "{answer}");
    let event = alice.event().await;
    assert_eq!(
        (event["type"].as_str(), event["message"]["pinned"].as_bool()),
        (Some("message.updated"), Some(true))
    );
    assert_eq!(event["message"]["pinned_by"]["id"], "bob");
    assert!(event["message"]["pinned_at"].is_string());
    let (_, state) = server.call(&alice, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(state["pinned_messages"][0]["id"], "p1");

    // An edit keeps the pin; a client cannot forge one with a plain edit either.
    let edit = json!({"message": {"text": "still pinned", "pinned": false, "pinned_by": {"id": "mallory"}}});
    assert_eq!(on_message(&server, "POST", "p1", "", &alice.token, edit).await.0, 200);
    let event = alice.event().await;
    assert_eq!(
        (event["message"]["pinned"].as_bool(), event["message"]["pinned_by"]["id"].as_str()),
        (Some(true), Some("bob"))
    );

    // Unpin; then a pin that has already expired is no pin.
    let unpin = json!({"set": {"pinned": false}});
    assert_eq!(on_message(&server, "PUT", "p1", "", &alice.token, unpin).await.0, 200);
    assert_eq!(alice.event().await["message"]["pinned"], false);
    let expired = json!({"set": {"pinned": true, "pin_expires": "2001-01-01T00:00:00Z"}});
    assert_eq!(on_message(&server, "PUT", "p1", "", &bob.token, expired).await.0, 200);
    assert_eq!(alice.event().await["message"]["pinned"], false);
    let (_, state) = server.call(&alice, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(state["pinned_messages"], json!([]));

    // Outsiders and bad values are refused.
    let carol = server.user(json!({"id": "carol"})).await;
    let pin = json!({"set": {"pinned": true}});
    assert_eq!(on_message(&server, "PUT", "p1", "", &carol.token, pin).await.0, 403);
    let bad = json!({"set": {"pinned": true, "pin_expires": "soon"}});
    assert_eq!(on_message(&server, "PUT", "p1", "", &bob.token, bad).await.0, 400);
}

#[tokio::test]
async fn a_nul_character_is_refused_with_code_4_by_every_store() {
    // PostgreSQL can store no U+0000 in text or JSONB: it used to answer 500 there (and SQLite stored it).
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, mut bob) = pair(&server).await;
    let path = format!("{GENERAL}/message");
    let send = |body: Value| server.call(&alice, &path, body);
    for body in [
        json!({"message": {"id": "n1", "text": "a\u{0}b"}}),
        json!({"message": {"id": "n2", "text": "fine", "mood": "a\u{0}"}}),
    ] {
        let (status, answer) = send(body).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{answer}");
    }
    let nul_name = json!({"id": "carol", "name": "c\u{0}"});
    assert_refused(server.open(&nul_name, &server.token("carol")).await, 4, 400).await;
    // Nothing was stored, and the server goes on.
    let (status, _) = send(json!({"message": {"id": "n3", "text": "after"}})).await;
    assert_eq!(status, 200);
    let event = bob.event().await;
    assert_eq!(
        (event["type"].as_str(), event["message"]["id"].as_str()),
        (Some("message.new"), Some("n3"))
    );
    server.stop().await;
}
