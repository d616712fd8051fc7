//! Moderation against a real listener and store (SQLite, or PostgreSQL with `STREAM_TEST_POSTGRES`): user and
//! channel mutes (in `me`, told to the user's connections, keeping unread counts down), blocks (the blocker hears
//! nothing from the blocked user), flags (kept, read by moderators only), bans (global and per channel, shadow,
//! timeouts) enforced on connect, send, reactions and queries, and who may do each (code 17 otherwise).

mod common;

use common::{http_json, Options, TestServer, User, API_KEY};
use serde_json::{json, Value};
use stream_chat_server::auth::Auth;

const GENERAL: &str = "/channels/messaging/general";

async fn send(server: &TestServer, user: &User, text: &str) -> (u16, Value) {
    server.call(user, &format!("{GENERAL}/message"), json!({"message": {"text": text}})).await
}

fn server_token() -> String {
    Auth::new(API_KEY, common::SECRET, false).sign(&json!({"server": true}))
}

/// Alice's own unread count in `general`, as her query shows it.
async fn unread(server: &TestServer, alice: &User) -> u64 {
    let (_, state) = server.call(alice, &format!("{GENERAL}/query"), json!({"state": true})).await;
    let own =
        state["read"].as_array().unwrap().iter().find(|r| r["user"]["id"] == "alice").cloned();
    own.unwrap()["unread_messages"].as_u64().unwrap()
}

#[tokio::test]
async fn mutes_keep_unread_down_and_reach_the_own_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, mut bob) = server.watching_pair().await;

    let (status, answer) =
        server.call(&alice, "/moderation/mute", json!({"target_id": "bob", "timeout": 60})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["mute"]["target"]["id"], "bob");
    assert!(answer["mute"]["expires"].is_string());
    let event = alice.event().await;
    assert_eq!(
        (event["type"].as_str(), event["me"]["mutes"][0]["target"]["id"].as_str()),
        (Some("notification.mutes_updated"), Some("bob"))
    );
    assert_eq!(send(&server, &bob, "muted").await.0, 200);
    assert_eq!(alice.event().await["type"], "message.new");
    bob.event().await;
    assert_eq!(unread(&server, &alice).await, 0, "a muted user's messages are not unread");
    let mut again = server.open(&json!({"id": "alice"}), &alice.token).await;
    assert_eq!(
        again.frame().await["me"]["mutes"][0]["target"]["id"],
        "bob",
        "me carries the mutes"
    );

    assert_eq!(server.call(&alice, "/moderation/unmute", json!({"target_id": "bob"})).await.0, 200);
    assert_eq!(alice.event().await["me"]["mutes"], json!([]));
    assert_eq!(send(&server, &bob, "heard").await.0, 200);
    alice.event().await;
    assert_eq!(unread(&server, &alice).await, 1);

    // A channel mute: the channel's messages are not unread; only members mute a members-only channel.
    let body = json!({"channel_cid": "messaging:general", "expiration": 60_000});
    let (status, answer) = server.call(&alice, "/moderation/mute/channel", body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["channel_mute"]["channel"]["cid"], "messaging:general");
    let event = alice.event().await;
    assert_eq!(event["type"], "notification.channel_mutes_updated");
    assert_eq!(send(&server, &bob, "quiet channel").await.0, 200);
    alice.event().await;
    assert_eq!(unread(&server, &alice).await, 1, "unchanged while the channel is muted");
    let carol = server.user(json!({"id": "carol"})).await;
    let (status, _) = server.call(&carol, "/moderation/mute/channel", body).await;
    assert_eq!(status, 403);
    for bad in [
        json!({}),
        json!({"target_id": 5}),
        json!({"target_id": "bob", "timeout": -1}),
        json!({"target_id": "alice"}),
    ] {
        let (status, answer) = server.call(&alice, "/moderation/mute", bad.clone()).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{bad}: {answer}");
    }
}

#[tokio::test]
async fn a_blocker_hears_nothing_from_the_blocked_user() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (mut alice, mut bob) = server.watching_pair().await;
    let (status, answer) =
        server.call(&alice, "/users/block", json!({"blocked_user_id": "bob"})).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["blocked_user_id"], "bob");
    assert_eq!(send(&server, &bob, "can you hear me").await.0, 200);
    assert_eq!(bob.event().await["type"], "message.new", "the sender still sees their message");
    alice.assert_no_event().await;
    let path = format!("/users/block?api_key={API_KEY}");
    let (status, list) = http_json(server.addr, "GET", &path, Some(&alice.token), "").await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["blocks"][0]["blocked_user_id"], "bob");
    assert_eq!(
        server.call(&alice, "/users/unblock", json!({"blocked_user_id": "bob"})).await.0,
        200
    );
    assert_eq!(send(&server, &bob, "now?").await.0, 200);
    assert_eq!(alice.event().await["message"]["text"], "now?");
}

#[tokio::test]
async fn flags_are_kept_for_moderators_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;
    let (_, sent) = send(&server, &bob, "rude").await;
    let id = sent["message"]["id"].as_str().unwrap().to_owned();
    let (status, answer) = server
        .call(&alice, "/moderation/flag", json!({"target_message_id": id, "reason": "rude"}))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["flag"]["target_message_id"], id.as_str());
    let carol = server.user(json!({"id": "carol"})).await;
    let (status, _) =
        server.call(&carol, "/moderation/flag", json!({"target_message_id": id})).await;
    assert_eq!(status, 403, "a message one cannot read cannot be flagged");
    let path = format!("/moderation/flags/message?api_key={API_KEY}");
    let (status, _) = http_json(server.addr, "GET", &path, Some(&alice.token), "").await;
    assert_eq!(status, 403, "users do not read flags");
    let (status, flags) = http_json(server.addr, "GET", &path, Some(&server_token()), "").await;
    assert_eq!(status, 200, "{flags}");
    assert_eq!(flags["flags"][0]["reason"], "rude");
}

#[tokio::test]
async fn bans_are_enforced_and_only_moderators_ban() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, mut bob) = server.watching_pair().await;
    let carol = server.user(json!({"id": "carol"})).await;

    // bob is a plain member: he bans nobody; alice created the channel: she bans there, not everywhere.
    let ban = json!({"target_user_id": "alice", "type": "messaging", "id": "general"});
    assert_eq!(server.call(&bob, "/moderation/ban", ban).await.0, 403);
    let global = json!({"target_user_id": "bob"});
    assert_eq!(server.call(&alice, "/moderation/ban", global.clone()).await.0, 403);
    let ban = json!({"target_user_id": "bob", "type": "messaging", "id": "general", "reason": "spam", "timeout": 5});
    let (status, answer) = server.call(&alice, "/moderation/ban", ban).await;
    assert_eq!(status, 200, "{answer}");
    let event = bob.event().await;
    assert_eq!(
        (event["type"].as_str(), event["user"]["id"].as_str()),
        (Some("user.banned"), Some("bob"))
    );
    let (status, answer) = send(&server, &bob, "still here?").await;
    assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{answer}");
    let (status, _) = server.call(&bob, &format!("{GENERAL}/query"), json!({})).await;
    assert_eq!(status, 403, "a banned user does not read the channel");
    let path = format!("/moderation/ban?api_key={API_KEY}&user_id=alice&target_user_id=bob&type=messaging&id=general");
    let (status, answer) = http_json(server.addr, "DELETE", &path, Some(&alice.token), "").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(bob.event().await["type"], "user.unbanned");
    assert_eq!(send(&server, &bob, "back").await.0, 200);

    // A shadow ban: bob's messages are stored and answered, and reach others marked shadowed.
    let shadow =
        json!({"target_user_id": "bob", "type": "messaging", "id": "general", "shadow": true});
    assert_eq!(server.call(&alice, "/moderation/ban", shadow).await.0, 200);
    let (status, answer) = send(&server, &bob, "shadowed").await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["message"]["shadowed"], true);

    // A global ban by a server token: no connection, no send.
    let token = server_token();
    let path = format!("/moderation/ban?api_key={API_KEY}");
    let (status, answer) = http_json(
        server.addr,
        "POST",
        &path,
        Some(&token),
        &json!({"target_user_id": "carol"}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    let refused = server.open(&json!({"id": "carol"}), &carol.token).await;
    common::assert_refused(refused, 17, 403).await;
    drop(alice);
}
