//! A store that stops answering writes (another client holds them): store work waits in a bounded queue, past
//! which requests are answered 429 with code 9 (the official client retries it) rather than piling up; `/readyz`
//! and `/metrics` still answer at once, since they ask the store on a thread of their own; and once the store
//! answers again every admitted request completes.

mod common;

use std::time::Duration;

use common::{http_get, TestServer, WriteHold, DEADLINE};
use serde_json::json;
use stream_chat_server::limits::Limits;

/// Store requests admitted at once in this test.
const QUEUE: usize = 12;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_store_queues_a_bounded_number_of_requests_and_health_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("chat.db");
    let limits = Limits { store_queue: QUEUE, ..Limits::default() };
    let server = TestServer::start(&db, common::Options { limits, ..Default::default() }).await;
    let (alice, _bob) = server.watching_pair().await;
    let hold = WriteHold::take(&db).await;

    // QUEUE sends take every place in the queue (8 of them on the blocking threads, the rest waiting).
    let path = "/channels/messaging/general/message";
    let mut sends = Vec::new();
    for at in 0..QUEUE {
        let (addr, token, connection) =
            (server.addr, alice.token.clone(), alice.connection_id.clone());
        sends.push(tokio::spawn(async move {
            let query = format!(
                "{path}?api_key={}&user_id=alice&connection_id={connection}",
                common::API_KEY
            );
            let body =
                json!({"message": {"id": format!("queued-{at}"), "text": "waits"}}).to_string();
            common::http_json(addr, "POST", &query, Some(&token), &body).await
        }));
    }
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
