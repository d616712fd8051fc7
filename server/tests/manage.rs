//! Channel management and custom events against a real listener and store (SQLite, or PostgreSQL with
//! `STREAM_TEST_POSTGRES`): capabilities and config, `update` / `updatePartial` with their events, freezing and
//! slow mode enforced on send, moderators, `hide` / `show`, `truncate`, `delete`, and the attack cases (other
//! users, non-members, plain members, reserved event types, oversize data).

mod common;

use common::{Options, TestServer, User};
use serde_json::{json, Value};

const GENERAL: &str = "/channels/messaging/general";

fn capabilities(answer: &Value) -> Vec<&str> {
    answer["channel"]["own_capabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect()
}

async fn send(server: &TestServer, user: &User, text: &str) -> (u16, Value) {
    server.call(user, &format!("{GENERAL}/message"), json!({"message": {"text": text}})).await
}

/// The next event of `user` that is not about watching.
async fn next(user: &mut User) -> Value {
    loop {
        let event = user.event().await;
        if !event["type"].as_str().unwrap().starts_with("user.watching") {
            return event;
        }
    }
}

/// The caller's channel list for `messaging:general`.
async fn listed(server: &TestServer, user: &User) -> Value {
    let filter = json!({"filter_conditions": {"cid": "messaging:general"}});
    server.call(user, "/channels", filter).await.1
}

#[tokio::test]
async fn capabilities_and_config_say_what_the_server_allows() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;
    let (_, as_bob) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let caps = capabilities(&as_bob);
    for name in ["send-message", "send-reaction", "send-reply", "update-own-message", "read-events"]
    {
        assert!(caps.contains(&name), "bob lacks {name}: {caps:?}");
    }
    assert!(!caps.contains(&"delete-any-message") && !caps.contains(&"freeze-channel"));
    let config = &as_bob["channel"]["config"];
    assert_eq!(
        (config["reactions"].as_bool(), config["replies"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(config["custom_events"], true);

    // alice created the channel: she moderates it.
    let (_, as_alice) =
        server.call(&alice, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let caps = capabilities(&as_alice);
    assert!(caps.contains(&"delete-any-message") && caps.contains(&"freeze-channel"), "{caps:?}");

    // A moderator edits others' messages; a plain member does not.
    let (_, sent) = send(&server, &alice, "from alice").await;
    let id = sent["message"]["id"].as_str().unwrap().to_owned();
    let edit = json!({"message": {"text": "edited by bob"}});
    let (status, answer) = server.call(&bob, &format!("/messages/{id}"), edit).await;
    assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{answer}");
    let (_, sent) = send(&server, &bob, "from bob").await;
    let id = sent["message"]["id"].as_str().unwrap().to_owned();
    let (status, answer) =
        server.call_as(&alice, "DELETE", &format!("/messages/{id}"), json!({})).await;
    assert_eq!(status, 200, "{answer}");
}

#[tokio::test]
async fn update_partial_update_freeze_and_slow_mode() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, mut bob) = server.watching_pair().await;

    // update: a full overwrite of the custom data, with a system message.
    let body = json!({"data": {"name": "General", "color": "red", "cid": "x:y"}, "message": {"text": "renamed", "type": "system"}});
    let (status, answer) = server.call(&alice, GENERAL, body).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["channel"]["name"].as_str(), answer["channel"]["cid"].as_str()),
        (Some("General"), Some("messaging:general"))
    );
    assert!(
        answer["channel"]["own_capabilities"].is_array(),
        "the answer replaces channel.data whole"
    );
    let event = next(&mut bob).await;
    assert_eq!(
        (event["type"].as_str(), event["channel"]["name"].as_str()),
        (Some("channel.updated"), Some("General"))
    );
    assert!(
        event["channel"].get("own_capabilities").is_none(),
        "nobody's own list in a shared event"
    );
    let event = next(&mut bob).await;
    assert_eq!(
        (event["type"].as_str(), event["message"]["type"].as_str()),
        (Some("message.new"), Some("system"))
    );
    let (_, answer) = server.call(&alice, GENERAL, json!({"data": {"name": "Only"}})).await;
    assert!(answer["channel"].get("color").is_none(), "update removes what it does not send");
    assert_eq!(next(&mut bob).await["type"], "channel.updated");

    // updatePartial: set and unset.
    let patch = json!({"set": {"topic": "rust"}, "unset": ["name"]});
    let (status, answer) = server.call_as(&bob, "PATCH", GENERAL, patch).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["channel"]["topic"].as_str(), answer["channel"].get("name")),
        (Some("rust"), None)
    );
    assert!(answer["members"].is_array());
    assert_eq!(next(&mut bob).await["channel"]["topic"], "rust");
    let (status, answer) =
        server.call_as(&bob, "PATCH", GENERAL, json!({"set": {"cid": "a:b"}})).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)));

    // Freezing takes a moderator; a frozen channel takes no messages or reactions.
    let freeze = json!({"set": {"frozen": true}});
    let (status, answer) = server.call_as(&bob, "PATCH", GENERAL, freeze.clone()).await;
    assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{answer}");
    let (status, answer) = server.call_as(&alice, "PATCH", GENERAL, freeze).await;
    assert_eq!((status, answer["channel"]["frozen"].as_bool()), (200, Some(true)), "{answer}");
    assert!(!capabilities(&answer).contains(&"send-message"));
    assert_eq!(next(&mut bob).await["channel"]["frozen"], true);
    let (status, answer) = send(&server, &bob, "frozen?").await;
    assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{answer}");
    let thaw = json!({"set": {"frozen": false}});
    assert_eq!(server.call_as(&alice, "PATCH", GENERAL, thaw).await.0, 200);
    assert_eq!(next(&mut bob).await["type"], "channel.updated");

    // Slow mode: a moderator sets it; members wait, the moderator does not.
    let (status, answer) = server.call(&bob, GENERAL, json!({"cooldown": 30})).await;
    assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{answer}");
    let (status, answer) = server.call(&alice, GENERAL, json!({"cooldown": 500})).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{answer}");
    let (status, answer) = server.call(&alice, GENERAL, json!({"cooldown": 30})).await;
    assert_eq!((status, answer["channel"]["cooldown"].as_i64()), (200, Some(30)), "{answer}");
    assert_eq!(send(&server, &bob, "one").await.0, 200);
    let (status, answer) = send(&server, &bob, "two").await;
    assert_eq!((status, answer["code"].as_i64()), (429, Some(60)), "{answer}");
    assert_eq!(send(&server, &alice, "a").await.0, 200);
    assert_eq!(send(&server, &alice, "b").await.0, 200, "moderators skip slow mode");
    assert_eq!(server.call(&alice, GENERAL, json!({"cooldown": 0})).await.0, 200);
    assert_eq!(send(&server, &bob, "two").await.0, 200);
}

#[tokio::test]
async fn moderators_hide_show_truncate_and_delete() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, mut bob) = server.watching_pair().await;
    let mut carol = server.user(json!({"id": "carol"})).await;

    // Moderators: only moderators name them, only members can be.
    let (status, _) = server.call(&bob, GENERAL, json!({"add_moderators": ["bob"]})).await;
    assert_eq!(status, 403);
    let (status, _) = server.call(&alice, GENERAL, json!({"add_moderators": ["carol"]})).await;
    assert_eq!(status, 400);
    let (status, answer) = server.call(&alice, GENERAL, json!({"add_moderators": ["bob"]})).await;
    assert_eq!(status, 200, "{answer}");
    let event = next(&mut bob).await;
    assert_eq!(
        (event["type"].as_str(), event["member"]["channel_role"].as_str()),
        (Some("member.updated"), Some("channel_moderator"))
    );
    let (_, answer) = server.call(&bob, &format!("{GENERAL}/query"), json!({})).await;
    assert!(capabilities(&answer).contains(&"delete-any-message"));
    assert_eq!(server.call(&alice, GENERAL, json!({"demote_moderators": ["bob"]})).await.0, 200);
    assert_eq!(next(&mut bob).await["member"]["channel_role"], "channel_member");

    // hide: gone from bob's channel list (not alice's) until a message arrives; channel.hidden to bob only.
    let (status, _) = server.call(&carol, &format!("{GENERAL}/hide"), json!({})).await;
    assert_eq!(status, 403, "non-members hide nothing");
    let (status, answer) =
        server.call(&bob, &format!("{GENERAL}/hide"), json!({"clear_history": true})).await;
    assert_eq!(status, 200, "{answer}");
    let event = next(&mut bob).await;
    assert_eq!(
        (event["type"].as_str(), event["clear_history"].as_bool()),
        (Some("channel.hidden"), Some(true))
    );
    assert_eq!(listed(&server, &bob).await["channels"].as_array().unwrap().len(), 0);
    assert_eq!(listed(&server, &alice).await["channels"].as_array().unwrap().len(), 1);
    let hidden = json!({"filter_conditions": {"hidden": true}});
    let (status, answer) = server.call(&bob, "/channels", hidden).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["channels"][0]["channel"]["hidden"], true);
    assert_eq!(send(&server, &alice, "wake up").await.0, 200);
    let mut seen = vec![next(&mut bob).await["type"].clone(), next(&mut bob).await["type"].clone()];
    seen.sort_by_key(|t| t.to_string());
    assert_eq!(seen, [json!("channel.visible"), json!("message.new")]);
    assert_eq!(listed(&server, &bob).await["channels"].as_array().unwrap().len(), 1);
    assert_eq!(server.call(&bob, &format!("{GENERAL}/hide"), json!({})).await.0, 200);
    assert_eq!(next(&mut bob).await["type"], "channel.hidden");
    assert_eq!(server.call(&bob, &format!("{GENERAL}/show"), json!({})).await.0, 200);
    assert_eq!(next(&mut bob).await["type"], "channel.visible");
    assert_eq!(listed(&server, &bob).await["channels"].as_array().unwrap().len(), 1);

    // truncate: moderators only; messages and unread counts go.
    let (status, _) = server.call(&bob, &format!("{GENERAL}/truncate"), json!({})).await;
    assert_eq!(status, 403);
    let body = json!({"message": {"text": "history cleared"}});
    let (status, answer) = server.call(&alice, &format!("{GENERAL}/truncate"), body).await;
    assert_eq!(status, 200, "{answer}");
    let event = next(&mut bob).await;
    assert_eq!(event["type"], "channel.truncated");
    assert!(event["channel"]["truncated_at"].is_string(), "{event}");
    assert_eq!(next(&mut bob).await["message"]["text"], "history cleared");
    let (_, state) = server.call(&bob, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let texts: Vec<&str> =
        state["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["history cleared"]);

    // delete: a plain member may not; the creator may. Watchers and members hear it; the channel is gone.
    let (status, _) = server.call_as(&bob, "DELETE", GENERAL, json!({})).await;
    assert_eq!(status, 403);
    let (status, answer) =
        server.call_as(&alice, "DELETE", &format!("{GENERAL}?hard_delete=true"), json!({})).await;
    assert_eq!(status, 200, "{answer}");
    assert!(answer["channel"]["deleted_at"].is_string());
    let mut seen = vec![next(&mut bob).await["type"].clone(), next(&mut bob).await["type"].clone()];
    seen.sort_by_key(|t| t.to_string());
    assert_eq!(seen, [json!("channel.deleted"), json!("notification.channel_deleted")]);
    let (status, answer) = send(&server, &alice, "anyone?").await;
    assert_eq!((status, answer["code"].as_i64()), (404, Some(16)));
    carol.assert_no_event().await;
}

#[tokio::test]
async fn custom_events_reach_every_watcher_within_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, mut bob) = server.watching_pair().await;
    let carol = server.user(json!({"id": "carol"})).await;
    let path = format!("{GENERAL}/event");
    let event = json!({"event": {"type": "friendship_request", "text": "hi", "cid": "forged:x", "user": {"id": "carol"}}});
    let (status, answer) = server.call(&bob, &path, event.clone()).await;
    assert_eq!(status, 200, "{answer}");
    for user in [&mut alice, &mut bob] {
        let got = next(user).await;
        assert_eq!(
            (got["type"].as_str(), got["text"].as_str()),
            (Some("friendship_request"), Some("hi"))
        );
        assert_eq!(
            (got["cid"].as_str(), got["user"]["id"].as_str()),
            (Some("messaging:general"), Some("bob"))
        );
    }
    let (status, _) = server.call(&carol, &path, event).await;
    assert_eq!(status, 403, "non-members send nothing to a members-only channel");
    for reserved in ["message.new", "channel.deleted", "notification.mark_read", "user.banned", ""]
    {
        let (status, answer) = server.call(&bob, &path, json!({"event": {"type": reserved}})).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{reserved}: {answer}");
    }
    let big = json!({"event": {"type": "big", "blob": "x".repeat(6 * 1024)}});
    let (status, answer) = server.call(&bob, &path, big).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{answer}");
    alice.assert_no_event().await;
}

#[tokio::test]
async fn management_refuses_outsiders_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, _bob) = server.watching_pair().await;
    let carol = server.user(json!({"id": "carol"})).await;
    for (method, path, body) in [
        ("POST", GENERAL.to_owned(), json!({"data": {"name": "mine"}})),
        ("PATCH", GENERAL.to_owned(), json!({"set": {"name": "mine"}})),
        ("POST", format!("{GENERAL}/truncate"), json!({})),
        ("DELETE", GENERAL.to_owned(), json!({})),
        ("POST", format!("{GENERAL}/show"), json!({})),
    ] {
        let (status, answer) = server.call_as(&carol, method, &path, body).await;
        assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{method} {path}: {answer}");
    }
    let missing = "/channels/messaging/nowhere";
    let (status, answer) = server.call_as(&alice, "PATCH", missing, json!({"set": {"a": 1}})).await;
    assert_eq!((status, answer["code"].as_i64()), (404, Some(16)));
    let big = json!({"data": {"blob": "x".repeat(10 * 1024)}});
    let (status, answer) = server.call(&alice, GENERAL, big).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{answer}");
    let (status, answer) = server.call(&alice, GENERAL, json!({"invites": ["carol"]})).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{answer}");
    let (status, answer) = server.call(&alice, GENERAL, json!({})).await;
    assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{answer}");
    let frozen = json!({"set": {"frozen": "yes"}});
    let (status, _) = server.call_as(&alice, "PATCH", GENERAL, frozen).await;
    assert_eq!(status, 400);
}
