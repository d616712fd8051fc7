//! Channel members after creation, against a real listener and SQLite file: members add and remove members
//! (`POST /channels/{type}/{id}`), watchers get `member.added` / `member.removed`, non-members change nothing.

mod common;

use common::{Options, TestServer};
use serde_json::json;

const GENERAL: &str = "/channels/messaging/general";

#[tokio::test]
async fn members_add_and_remove_members_and_watchers_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let mut alice = server.user(json!({"id": "alice"})).await;
    let mut carol = server.user(json!({"id": "carol"})).await;
    let body = json!({"data": {"members": ["alice"]}, "state": true, "watch": true});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/query"), body).await.0, 200);
    assert_eq!(alice.event().await["type"], "user.watching.start");

    // carol is no member: she changes nothing, not even by adding herself to a private channel.
    let (status, answer) = server.call(&carol, GENERAL, json!({"add_members": ["carol"]})).await;
    assert_eq!((status, answer["code"].as_i64()), (403, Some(17)), "{answer}");

    let (status, answer) =
        server.call(&alice, GENERAL, json!({"add_members": ["bob", {"user_id": "carol"}]})).await;
    assert_eq!(status, 200, "{answer}");
    let members: Vec<&str> = answer["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(members.len(), 3, "{members:?}");
    for expected in ["bob", "carol"] {
        let event = alice.event().await;
        assert_eq!(
            (event["type"].as_str(), event["member"]["user_id"].as_str()),
            (Some("member.added"), Some(expected))
        );
    }
    // Now a member, carol may read and watch the channel.
    let watch = json!({"state": true, "watch": true});
    let (status, _) = server.call(&carol, &format!("{GENERAL}/query"), watch).await;
    assert_eq!(status, 200);
    assert_eq!(carol.event().await["type"], "user.watching.start");
    assert_eq!(alice.event().await["type"], "user.watching.start");

    let (status, _) = server.call(&alice, GENERAL, json!({"remove_members": ["carol"]})).await;
    assert_eq!(status, 200);
    let event = alice.event().await;
    assert_eq!(
        (event["type"].as_str(), event["user"]["id"].as_str()),
        (Some("member.removed"), Some("carol"))
    );
    let (status, _) =
        server.call(&carol, &format!("{GENERAL}/query"), json!({"state": true})).await;
    assert_eq!(status, 403, "a removed member may no longer read it");

    assert_eq!(carol.event().await["type"], "member.removed", "the removed member is told");
    // Nor hears it: carol had watched it; after her removal its messages no longer reach her.
    let bye = json!({"message": {"text": "bye"}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/message"), bye).await.0, 200);
    assert_eq!(alice.event().await["type"], "message.new");
    carol.assert_no_event().await;

    // Members and watchers page.
    let (_, members) = server.call(&alice, GENERAL, json!({"add_members": ["dave", "erin"]})).await;
    assert_eq!(members["members"].as_array().unwrap().len(), 4, "{members}");
    let page =
        json!({"state": true, "members": {"limit": 2, "offset": 1}, "watchers": {"limit": 1}});
    let (status, state) = server.call(&alice, &format!("{GENERAL}/query"), page).await;
    assert_eq!(status, 200, "{state}");
    let ids: Vec<&str> = state["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(state["watchers"].as_array().unwrap().len(), 1);
    let too_many = json!({"state": true, "members": {"limit": 301}});
    assert_eq!(server.call(&alice, &format!("{GENERAL}/query"), too_many).await.0, 400);

    for bad in [json!({}), json!({"add_members": ["Not Valid"]}), json!({"add_members": [5]})] {
        let (status, answer) = server.call(&alice, GENERAL, bad.clone()).await;
        assert_eq!((status, answer["code"].as_i64()), (400, Some(4)), "{bad}: {answer}");
    }
}

#[tokio::test]
async fn query_members_filters_sorts_and_pages_for_readers_only() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, _bob) = server.watching_pair().await;
    let carol = server.user(json!({"id": "carol", "name": "Carol Jones"})).await;
    assert_eq!(server.call(&alice, GENERAL, json!({"add_members": ["carol"]})).await.0, 200);
    let query = |user: &common::User, payload: serde_json::Value| {
        let path = format!(
            "/members?api_key={}&payload={}",
            common::API_KEY,
            common::encode(&payload.to_string())
        );
        let token = user.token.clone();
        let addr = server.addr;
        async move { common::http_json(addr, "GET", &path, Some(&token), "").await }
    };
    let ids = |answer: &serde_json::Value| -> Vec<String> {
        answer["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["user_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = json!({"type": "messaging", "id": "general", "filter_conditions": {}, "sort": [{"field": "user_id", "direction": -1}]});
    let (status, answer) = query(&alice, all).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(ids(&answer), ["carol", "bob", "alice"]);
    let named = json!({"type": "messaging", "id": "general", "filter_conditions": {"name": {"$autocomplete": "jon"}}});
    assert_eq!(ids(&query(&alice, named).await.1), ["carol"]);
    let some = json!({"type": "messaging", "id": "general", "filter_conditions": {"id": {"$in": ["alice", "bob"]}}, "limit": 1, "offset": 1});
    assert_eq!(ids(&query(&alice, some).await.1), ["bob"]);
    let outsider = server.user(json!({"id": "dave"})).await;
    let (status, _) = query(&outsider, json!({"type": "messaging", "id": "general"})).await;
    assert_eq!(status, 403, "non-members of a members-only channel read no members");
    let (status, _) = query(
        &alice,
        json!({"type": "messaging", "id": "general", "filter_conditions": {"secret": 1}}),
    )
    .await;
    assert_eq!(status, 400);
    drop(carol);
}
