//! The store's own promises, through the `Store` trait, on whichever store the harness opens (SQLite, or
//! PostgreSQL when `STREAM_TEST_POSTGRES` is set: `npm test` runs both).

mod common;

use serde_json::Map;
use stream_chat_server::store::{MemberChange, MessageAnchor, NewChannel, NewMessage};

fn message(id: &str, text: &str) -> NewMessage {
    NewMessage {
        id: id.into(),
        cid: "messaging:clock".into(),
        user_id: "alice".into(),
        text: text.into(),
        extra: Map::new(),
    }
}

#[tokio::test]
async fn a_lagging_clock_never_puts_a_message_before_an_earlier_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("chat.db")).await;
    let (first, second, retry, page) = {
        let channel = NewChannel {
            cid: "messaging:clock".into(),
            kind: "messaging".into(),
            id: "clock".into(),
            data: Map::new(),
            members: vec!["alice".into(), "bob".into()],
            created_by: "alice".into(),
        };
        store.get_or_create_channel(channel, "2026-11-29T08:00:00.000Z").await.unwrap();
        // The second arrives from a node whose clock is two seconds behind.
        let first =
            store.add_message(message("m1", "first"), "2026-11-29T08:00:05.000Z").await.unwrap();
        let second =
            store.add_message(message("m2", "second"), "2026-11-29T08:00:03.000Z").await.unwrap();
        let retry =
            store.add_message(message("m1", "first"), "2026-11-29T08:00:09.000Z").await.unwrap();
        let mut budget = usize::MAX;
        let page = store
            .messages("messaging:clock", 10, &MessageAnchor::Latest, &mut budget)
            .await
            .unwrap();
        (first, second, retry, page)
    };
    assert!(second.message.created_at >= first.message.created_at);
    assert_eq!(second.message.created_at, "2026-11-29T08:00:05.000Z");
    assert!(!retry.inserted, "a retry stores nothing");
    assert_eq!(retry.message.created_at, first.message.created_at);
    let texts: Vec<&str> = page.iter().map(|m| m.text.as_str()).collect();
    assert_eq!(texts, ["first", "second"]);
    let bob = second.unread.iter().find(|u| u.user_id == "bob").unwrap();
    assert_eq!((bob.unread_messages, bob.total_unread), (2, 2));
    // A time anchor sees the same order.
    let before = {
        let mut budget = usize::MAX;
        let anchor =
            MessageAnchor::BeforeTime { at: "2026-11-29T08:00:05Z".into(), inclusive: true };
        store.messages("messaging:clock", 10, &anchor, &mut budget).await.unwrap()
    };
    assert_eq!(before.len(), 2);
}

#[tokio::test]
async fn every_change_of_a_message_row_raises_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("chat.db")).await;
    let versions = {
        let channel = NewChannel {
            cid: "messaging:clock".into(),
            kind: "messaging".into(),
            id: "clock".into(),
            data: Map::new(),
            members: vec!["alice".into()],
            created_by: "alice".into(),
        };
        store.get_or_create_channel(channel, "2026-11-29T08:00:00.000Z").await.unwrap();
        let new =
            store.add_message(message("v1", "first"), "2026-11-29T08:00:01.000Z").await.unwrap();
        let mut quoting = message("v2", "quoting");
        quoting.extra.insert("quoted_message_id".into(), "v1".into());
        store.add_message(quoting, "2026-11-29T08:00:02.000Z").await.unwrap();
        let edited = store.update_message("v1", "edited", Map::new(), "2026-11-29T08:00:03.000Z");
        let edited = edited.await.unwrap().unwrap();
        let copy = serde_json::json!({"id": "v1", "text": "edited"});
        store.update_quotes("messaging:clock", "v1", &copy).await.unwrap();
        let quote = store.message("v2").await.unwrap().unwrap();
        let deleted =
            store.delete_message("v1", false, "2026-11-29T08:00:04.000Z").await.unwrap().unwrap();
        (new.message.version, edited.version, deleted.version, quote.version)
    };
    assert_eq!(
        versions,
        (0, 1, 2, 1),
        "new, edited, deleted; the quoting message's copy refreshed once"
    );
}

#[tokio::test]
async fn every_change_of_a_channel_or_its_members_raises_the_channel_version() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("chat.db")).await;
    let cid = "messaging:versions";
    let channel = NewChannel {
        cid: cid.into(),
        kind: "messaging".into(),
        id: "versions".into(),
        data: Map::new(),
        members: vec!["alice".into()],
        created_by: "alice".into(),
    };
    let at = "2026-11-29T08:00:00.000Z";
    let (created, _) = store.get_or_create_channel(channel, at).await.unwrap();
    let mut data = Map::new();
    data.insert("name".into(), "renamed".into());
    let renamed = store.update_channel(cid, data, at).await.unwrap().unwrap();
    let joined = store.change_members(cid, &["bob".into()], &[], at).await.unwrap();
    let promoted = MemberChange { channel_role: Some("channel_moderator".into()), hidden: None };
    let (bob, promoted) = store.change_member(cid, "bob", &promoted).await.unwrap().unwrap();
    store.truncate_channel(cid, at).await.unwrap();
    let truncated = store.channel(cid).await.unwrap().unwrap();
    let outsider = MemberChange { channel_role: Some("channel_member".into()), hidden: None };
    let nobody = store.change_member(cid, "carol", &outsider).await.unwrap();
    let left = store.change_members(cid, &[], &["bob".into()], at).await.unwrap();
    let deleted = store.delete_channel(cid).await.unwrap();
    let again = store.delete_channel(cid).await.unwrap();
    assert_eq!(
        (created.version, renamed.version, joined.version, promoted, truncated.version),
        (0, 1, 2, 3, 4),
        "made, renamed, bob joined, bob promoted, truncated"
    );
    assert_eq!(joined.added.len(), 1);
    assert_eq!(bob.channel_role, "channel_moderator");
    assert_eq!(nobody, None, "no member, no change, no version");
    assert_eq!((left.version, left.removed.len()), (5, 1));
    assert_eq!((deleted, again), (Some(6), None), "the deletion takes the last version");
}

#[test]
fn an_unreachable_or_malformed_postgres_url_is_a_typed_error() {
    use stream_chat_server::store::{PostgresStore, StoreError};
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let refused =
        PostgresStore::open(&format!("postgres://chat@127.0.0.1:{port}/chat")).unwrap_err();
    assert!(matches!(refused, StoreError::Pool(_)), "{refused}");
    let malformed = PostgresStore::open("postgres://chat@127.0.0.1:notaport/chat").unwrap_err();
    assert!(matches!(malformed, StoreError::Postgres(_)), "{malformed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_arriving_together_are_each_stored_once_in_order_with_their_own_unread_counts() {
    let dir = tempfile::tempdir().unwrap();
    let store = common::open_store(&dir.path().join("chat.db")).await;
    let channel = NewChannel {
        cid: "messaging:burst".into(),
        kind: "messaging".into(),
        id: "burst".into(),
        data: Map::new(),
        members: vec!["alice".into(), "bob".into()],
        created_by: "alice".into(),
    };
    store.get_or_create_channel(channel, "2026-11-29T08:00:00.000Z").await.unwrap();
    // 100 messages, 20 of them sent twice (a retry), and one that PostgreSQL refuses (a NUL in its text): written
    // together, the refused one must fail alone.
    let mut sends = tokio::task::JoinSet::new();
    let ids = (0..100).chain(0..20).map(|n| format!("b{n}")).chain(["refused".to_owned()]);
    for id in ids {
        let store = store.clone();
        sends.spawn(async move {
            let text = if id == "refused" { "nul \0".to_owned() } else { format!("text of {id}") };
            let new = NewMessage { cid: "messaging:burst".into(), ..message(&id, &text) };
            (id, store.add_message(new, "2026-11-29T08:00:01.000Z").await)
        });
    }
    let mut outcomes = Vec::new();
    while let Some(done) = sends.join_next().await {
        outcomes.push(done.unwrap());
    }
    let mut budget = usize::MAX;
    let page =
        store.messages("messaging:burst", 300, &MessageAnchor::Latest, &mut budget).await.unwrap();
    let position = |id: &str| page.iter().position(|m| m.id == id).map(|at| at as u64 + 1);
    for n in 0..100 {
        let id = format!("b{n}");
        assert_eq!(page.iter().filter(|m| m.id == id).count(), 1, "{id} stored once");
        let answers: Vec<_> = outcomes.iter().filter(|(sent, _)| *sent == id).collect();
        let added: Vec<_> = answers.iter().map(|(_, outcome)| outcome.as_ref().unwrap()).collect();
        assert_eq!(added.iter().filter(|a| a.inserted).count(), 1, "{id} inserted by one send");
        assert!(added
            .iter()
            .all(|a| a.message.id == id && a.message.text == format!("text of {id}")));
        let new = added.iter().find(|a| a.inserted).unwrap();
        let bob = new.unread.iter().find(|u| u.user_id == "bob").unwrap();
        assert_eq!(Some(bob.unread_messages), position(&id), "bob's unread count right after {id}");
    }
    let times: Vec<&str> = page.iter().map(|m| m.created_at.as_str()).collect();
    assert!(times.windows(2).all(|pair| pair[0] <= pair[1]), "storage order is time order");
    if std::env::var("STREAM_TEST_POSTGRES").is_ok() {
        let refused = outcomes.iter().find(|(id, _)| id == "refused").unwrap();
        assert!(refused.1.is_err(), "PostgreSQL refuses a NUL in text");
    }
}
