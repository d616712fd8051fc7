//! A store that stops answering writes (another client holds them): store work waits in a bounded queue, past
//! which requests are answered 429 with code 9 (the official client retries it) rather than piling up; `/readyz`
//! and `/metrics` still answer at once, since they ask the store on a thread of their own; on PostgreSQL, reads go
//! on meanwhile, however many writes wait (none of them holds a thread); and once the store answers again every
//! admitted request completes, its client waiting or not.

mod common;

use std::time::Duration;

use common::{http_get, TestServer, WriteHold, DEADLINE};
use serde_json::json;
use stream_chat_server::limits::Limits;

/// Store requests admitted at once in this test.
const QUEUE: usize = 12;

/// Sends `count` messages as `alice` on `server`'s general channel, each in a task of its own.
fn spawn_sends(
    server: &TestServer,
    alice: &common::User,
    count: usize,
) -> Vec<tokio::task::JoinHandle<(u16, serde_json::Value)>> {
    let path = "/channels/messaging/general/message";
    (0..count)
        .map(|at| {
            let (addr, token, connection) =
                (server.addr, alice.token.clone(), alice.connection_id.clone());
            tokio::spawn(async move {
                let query = format!(
                    "{path}?api_key={}&user_id=alice&connection_id={connection}",
                    common::API_KEY
                );
                let body =
                    json!({"message": {"id": format!("queued-{at}"), "text": "waits"}}).to_string();
                common::http_json(addr, "POST", &query, Some(&token), &body).await
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_store_queues_a_bounded_number_of_requests_and_health_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let limits = Limits { store_queue: QUEUE, ..Limits::default() };
    let server = TestServer::start(&db, common::Options { limits, ..Default::default() }).await;
    let (alice, _bob) = server.watching_pair().await;
    let hold = WriteHold::take(&db).await;

    // QUEUE sends take every place in the queue.
    let path = "/channels/messaging/general/message";
    let sends = spawn_sends(&server, &alice, QUEUE);
    let full = async {
        loop {
            if server.metric("chat_store_queue").await == QUEUE as f64 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(DEADLINE, full)
        .await
        .expect("the queue fills, and /metrics answers meanwhile");

    let (status, refused) =
        server.call(&alice, path, json!({"message": {"text": "one too many"}})).await;
    assert_eq!((status, refused["code"].as_i64()), (429, Some(9)), "{refused}");

    let ready =
        tokio::time::timeout(Duration::from_secs(3), http_get(server.addr, "/readyz")).await;
    let (status, body) = ready.expect("/readyz answers while the store's queue is full");
    assert!(status == 200 || status == 503, "{status} {body}");

    hold.release().await;
    for send in sends {
        let (status, answer) = tokio::time::timeout(DEADLINE, send).await.unwrap().unwrap();
        assert_eq!(status, 200, "{answer}");
    }
    server.stop().await;
}

#[test]
fn reads_go_on_while_more_writes_wait_than_the_server_has_blocking_threads() {
    // The runtime the server binary runs on: its blocking pool bounded as `main.rs` bounds it.
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .max_blocking_threads(stream_chat_server::BLOCKING_THREADS)
        .enable_all()
        .build()
        .unwrap()
        .block_on(reads_go_on_while_writes_wait());
}

async fn reads_go_on_while_writes_wait() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let server = TestServer::start(&db, common::Options::default()).await;
    let (alice, _bob) = server.watching_pair().await;
    let hold = WriteHold::take(&db).await;
    // Twelve sends wait for the held writes: more than the blocking threads a node has, fewer than its 16 pooled
    // PostgreSQL connections.
    let sends = spawn_sends(&server, &alice, 12);
    let waiting = async {
        while server.metric("chat_store_queue").await < 12.0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(DEADLINE, waiting).await.expect("the twelve sends wait");
    if std::env::var("STREAM_TEST_POSTGRES").is_ok() {
        // SQLite has one writer connection, which the reads of these requests wait for like the writes do; a
        // PostgreSQL node answers a read on another pooled connection, no thread being held by the waiting writes.
        let read =
            server.call_as(&alice, "GET", "/channels/messaging/general/pinned_messages", json!({}));
        let (status, answer) = tokio::time::timeout(DEADLINE, read)
            .await
            .expect("a read is answered while the writes wait");
        assert_eq!(status, 200, "{answer}");
        assert!(sends.iter().all(|send| !send.is_finished()), "the writes were still waiting");
    }
    hold.release().await;
    for send in sends {
        let (status, answer) = tokio::time::timeout(DEADLINE, send).await.unwrap().unwrap();
        assert_eq!(status, 200, "{answer}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_send_whose_client_went_away_meanwhile_still_reaches_the_watchers_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let server = TestServer::start(&db, common::Options::default()).await;
    let (alice, mut bob) = server.watching_pair().await;
    let hold = WriteHold::take(&db).await;

    // alice's send waits for the store; then her page goes away (a reload, a lost network) before the answer.
    let path = format!(
        "/channels/messaging/general/message?api_key={}&user_id=alice&connection_id={}",
        common::API_KEY,
        alice.connection_id
    );
    let body =
        json!({"message": {"id": "went-away", "text": "sent as the page closed"}}).to_string();
    let page = common::send_json(server.addr, "POST", &path, Some(&alice.token), &body).await;
    server.wait_metric("chat_store_queue", 1.0).await;
    drop(page);
    server.wait_metric("chat_requests_abandoned_total", 1.0).await;

    // The store answers: the message is stored and bob hears of it, as if alice had waited.
    hold.release().await;
    let event = bob.event().await;
    assert_eq!(
        (event["type"].as_str(), event["message"]["id"].as_str()),
        (Some("message.new"), Some("went-away")),
        "{event}"
    );
    // alice's retry after the reload finds it stored; nobody hears of it twice.
    let retry = json!({"message": {"id": "went-away", "text": "sent as the page closed"}});
    let (status, answer) = server.call(&alice, "/channels/messaging/general/message", retry).await;
    assert_eq!((status, answer["message"]["id"].as_str()), (200, Some("went-away")), "{answer}");
    bob.assert_no_event().await;
    server.stop().await;
}
