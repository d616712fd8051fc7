//! The hub's unit tests: privacy in fan-out, registration races, bounds, slow consumers, watcher counts.

use super::fanout::{serialize, with_fields};
use super::*;
use serde_json::{json, Map, Value};

fn event(kind: &str) -> Map<String, Value> {
    json!({"type": kind, "cid": "messaging:a"}).as_object().unwrap().clone()
}

#[test]
fn privacy_limits_typing_and_reads_to_the_sender() {
    let hub = Hub::default();
    let mut alice = hub.register("c-alice", "alice", false, 10).unwrap();
    let mut bob = hub.register("c-bob", "bob", false, 10).unwrap();
    hub.watch("messaging:a", "c-alice");
    hub.watch("messaging:a", "c-bob");
    let quiet = Privacy { typing_indicators: false, read_receipts: false };
    for kind in ["typing.start", "message.read"] {
        let delivery = Delivery {
            cid: "messaging:a",
            event: event(kind),
            sender: Some(("alice", quiet)),
            personal: HashMap::new(),
            skip_users: &[],
            version: None,
        };
        assert_eq!(hub.publish(delivery), 1);
        assert!(alice.try_recv().unwrap().contains(kind));
        assert!(bob.try_recv().is_none(), "{kind} must not reach bob");
    }
    let delivery = Delivery {
        cid: "messaging:a",
        event: event("message.new"),
        sender: Some(("alice", quiet)),
        skip_users: &[],
        version: None,
        personal: HashMap::from([(
            "bob".into(),
            json!({"unread_count": 3}).as_object().unwrap().clone(),
        )]),
    };
    assert_eq!(hub.publish(delivery), 2);
    assert!(bob.try_recv().unwrap().contains("\"unread_count\":3"));
    assert!(!alice.try_recv().unwrap().contains("unread_count"));
}

#[test]
fn unregister_removes_watchers() {
    let hub = Hub::default();
    let _rx = hub.register("c1", "alice", false, 10).unwrap();
    assert!(hub.watch("messaging:a", "c1"));
    assert!(!hub.watch("messaging:a", "c1"));
    assert_eq!(hub.watcher_users("messaging:a"), vec!["alice".to_string()]);
    assert_eq!(hub.active_channels(), 1);
    let gone = Unregistered {
        user_id: "alice".into(),
        watched: vec!["messaging:a".into()],
        invisible: false,
    };
    assert_eq!(hub.unregister("c1"), Some(gone));
    assert_eq!(hub.active_channels(), 0);
    assert!(!hub.watch("messaging:a", "unknown"));
}

#[test]
fn exactly_one_of_two_connections_opening_at_once_is_the_first() {
    let hub = std::sync::Arc::new(Hub::default());
    for round in 0..200 {
        let opened: Vec<bool> = (0..2)
            .map(|tab| {
                let hub = hub.clone();
                std::thread::spawn(move || {
                    let id = format!("c{round}-{tab}");
                    let (outbox, first) = hub.register_first(&id, "alice", false, 10).unwrap();
                    std::mem::forget(outbox);
                    first
                })
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|thread| thread.join().unwrap())
            .collect();
        assert_eq!(opened.iter().filter(|first| **first).count(), 1, "round {round}: {opened:?}");
        hub.unregister(&format!("c{round}-0"));
        hub.unregister(&format!("c{round}-1"));
    }
}

#[test]
fn a_user_s_own_events_reach_exactly_their_open_connections() {
    let hub = Hub::default();
    let mut tabs: Vec<Outbox> =
        (0..3).map(|i| hub.register(&format!("a{i}"), "alice", false, 10).unwrap()).collect();
    let mut bob = hub.register("b0", "bob", false, 10).unwrap();
    hub.unregister("a1");
    // Re-registering an id replaces it, and it still counts once.
    tabs[2] = hub.register("a2", "alice", false, 10).unwrap();
    assert_eq!(hub.connections_of("alice"), 2);
    assert_eq!(hub.send_to_user("alice", Frame::from("mine")), 2);
    assert_eq!(tabs[0].try_recv().as_deref(), Some("mine"));
    assert_eq!(tabs[2].try_recv().as_deref(), Some("mine"));
    assert!(bob.try_recv().is_none());
    hub.unregister("a0");
    hub.unregister("a2");
    assert_eq!((hub.connections_of("alice"), hub.send_to_user("alice", Frame::from("x"))), (0, 0));
}

#[test]
fn connections_per_user_are_bounded() {
    let hub = Hub::default();
    let _a = hub.register("c1", "alice", false, 2).unwrap();
    let _b = hub.register("c2", "alice", false, 2).unwrap();
    assert_eq!(hub.register("c3", "alice", false, 2).unwrap_err(), TooManyConnections);
    hub.unregister("c1");
    assert!(hub.register("c3", "alice", false, 2).is_ok());
}

#[tokio::test]
async fn a_slow_consumer_is_dropped_past_its_byte_bound_and_its_queue_discarded() {
    let hub = Hub::new(1000);
    let mut slow = hub.register("c1", "alice", false, 10).unwrap();
    hub.watch("messaging:a", "c1");
    let big = || Delivery {
        cid: "messaging:a",
        event: json!({"type": "message.new", "text": "x".repeat(400)}).as_object().unwrap().clone(),
        sender: None,
        personal: HashMap::new(),
        skip_users: &[],
        version: None,
    };
    assert_eq!(hub.publish(big()), 1);
    assert_eq!(hub.publish(big()), 1);
    assert_eq!(hub.publish(big()), 0, "a third frame would pass 1000 bytes");
    assert_eq!(hub.connection_count(), 0);
    assert_eq!(hub.slow_consumers_dropped(), 1, "counted (chat_slow_consumers_dropped_total)");
    assert!(slow.recv().await.is_none(), "queued frames are discarded");
    // The connection's task, ending, still learns what to announce (once).
    let gone = hub.unregister("c1").expect("the dropped connection is remembered");
    assert_eq!((gone.user_id.as_str(), gone.watched), ("alice", vec!["messaging:a".to_owned()]));
    assert_eq!(hub.unregister("c1"), None);
}

#[test]
fn invisible_users_are_not_listed_as_watchers() {
    let hub = Hub::default();
    let _a = hub.register("c1", "alice", true, 10).unwrap();
    let _b = hub.register("c2", "bob", false, 10).unwrap();
    hub.watch("messaging:a", "c1");
    hub.watch("messaging:a", "c2");
    assert_eq!(hub.watcher_users("messaging:a"), vec!["bob".to_string()]);
}

#[test]
fn one_serialization_is_shared_by_every_recipient_without_personal_fields() {
    let hub = Hub::default();
    let mut outboxes: Vec<Outbox> = (0..3)
        .map(|i| hub.register(&format!("c{i}"), &format!("u{i}"), false, 10).unwrap())
        .collect();
    for i in 0..3 {
        hub.watch("livestream:a", &format!("c{i}"));
    }
    let personal =
        HashMap::from([("u2".into(), json!({"unread_count": 1}).as_object().unwrap().clone())]);
    let delivery = Delivery {
        cid: "livestream:a",
        event: event("message.new"),
        sender: None,
        personal,
        skip_users: &[],
        version: None,
    };
    assert_eq!(hub.publish(delivery), 3);
    let frames: Vec<Frame> = outboxes.iter_mut().map(|outbox| outbox.try_recv().unwrap()).collect();
    assert_eq!(frames[0].as_str().as_ptr(), frames[1].as_str().as_ptr(), "shared, not copied");
    assert!(
        frames[2].as_str().contains("unread_count") && !frames[0].as_str().contains("unread_count")
    );
}

#[test]
fn personal_fields_are_spliced_into_the_shared_text_as_valid_json() {
    let fields = json!({"unread_count": 3, "note": "a \"quoted\" }"}).as_object().unwrap().clone();
    for event in [json!({"type": "message.new", "text": "}"}), json!({})] {
        let shared = serialize(event.as_object().unwrap());
        let spliced: Value = serde_json::from_str(with_fields(&shared, &fields).as_str()).unwrap();
        let mut expected = event.as_object().unwrap().clone();
        expected.extend(fields.clone());
        assert_eq!(spliced, Value::Object(expected));
    }
}

#[test]
fn watcher_counts_follow_visible_users_not_connections() {
    let hub = Hub::default();
    let _a1 = hub.register("a1", "alice", false, 10).unwrap();
    let _a2 = hub.register("a2", "alice", false, 10).unwrap();
    let _ghost = hub.register("g", "ghost", true, 10).unwrap();
    for connection in ["a1", "a2", "g"] {
        hub.watch("messaging:a", connection);
    }
    assert_eq!(hub.watcher_count("messaging:a"), 1);
    hub.unwatch("messaging:a", "a1");
    assert_eq!(hub.watcher_count("messaging:a"), 1, "alice still watches from a2");
    hub.unregister("a2");
    hub.unregister("g");
    assert_eq!((hub.watcher_count("messaging:a"), hub.active_channels()), (0, 0));
}

/// A server event on `messaging:x` carrying version `version` of its state.
fn versioned(event: Value, version: u64) -> Delivery<'static> {
    Delivery {
        cid: "messaging:x",
        event: event.as_object().unwrap().clone(),
        sender: None,
        personal: HashMap::new(),
        skip_users: &[],
        version: Some(version),
    }
}

#[test]
fn an_older_state_of_a_message_never_follows_a_newer_one() {
    let hub = Hub::default();
    let mut bob = hub.register("c-1", "bob", false, 10).unwrap();
    hub.watch("messaging:x", "c-1");
    let state = |kind: &str, id: &str, version: u64| {
        versioned(json!({"type": kind, "message": {"id": id}}), version)
    };
    assert_eq!(hub.publish(state("message.deleted", "m1", 2)), 1);
    assert_eq!(
        hub.publish(state("message.updated", "m1", 1)),
        0,
        "the edit finished after the delete"
    );
    assert_eq!(hub.publish(state("reaction.new", "m1", 2)), 1, "the same version goes through");
    assert_eq!(
        hub.publish(state("message.updated", "m2", 0)),
        1,
        "another message has its own versions"
    );
    assert_eq!(hub.stale_events(), 1);
    let kinds: Vec<String> =
        std::iter::from_fn(|| bob.try_recv()).map(|frame| frame.to_string()).collect();
    assert!(kinds[0].contains("message.deleted") && kinds[1].contains("reaction.new"), "{kinds:?}");
}

#[test]
fn an_older_state_of_the_channel_or_of_a_member_never_follows_a_newer_one() {
    let hub = Hub::default();
    let mut bob = hub.register("c-1", "bob", false, 10).unwrap();
    hub.watch("messaging:x", "c-1");
    let renamed = |name: &str| json!({"type": "channel.updated", "channel": {"name": name}});
    let role = |user: &str, role: &str| json!({"type": "member.updated", "member": {"user_id": user, "channel_role": role}});
    assert_eq!(hub.publish(versioned(renamed("second"), 7)), 1);
    assert_eq!(
        hub.publish(versioned(renamed("first"), 6)),
        0,
        "the rename the database took first"
    );
    assert_eq!(hub.publish(versioned(role("dave", "channel_member"), 9)), 1);
    assert_eq!(
        hub.publish(versioned(role("dave", "channel_moderator"), 8)),
        0,
        "dave's older role"
    );
    assert_eq!(
        hub.publish(versioned(role("erin", "channel_moderator"), 8)),
        1,
        "each member has their own newest state"
    );
    assert_eq!(
        hub.publish(versioned(json!({"type": "channel.truncated", "channel": {}}), 8)),
        1,
        "the channel's next version"
    );
    assert_eq!(
        hub.publish(versioned(
            json!({"type": "member.removed", "member": {"user_id": "dave"}}),
            10
        )),
        1
    );
    assert_eq!(hub.stale_events(), 2);
    let frames: Vec<String> =
        std::iter::from_fn(|| bob.try_recv()).map(|frame| frame.to_string()).collect();
    assert_eq!(frames.len(), 5);
    assert!(frames[0].contains("second") && frames[1].contains("channel_member"), "{frames:?}");
}

#[test]
fn a_channel_s_events_reach_every_outbox_in_the_order_they_were_admitted() {
    // An edit (version 1) and a delete (version 2) of each message published at once from two threads, as a local
    // request and a note from another node are: whichever is admitted second must not be queued first anywhere, or
    // a watcher ends with the edit after the delete.
    let hub = Arc::new(Hub::new(1 << 20));
    let mut outboxes: Vec<_> = (0..64)
        .map(|index| {
            let connection = format!("c-{index}");
            let outbox = hub.register(&connection, &format!("u-{index}"), false, 10).unwrap();
            hub.watch("messaging:x", &connection);
            outbox
        })
        .collect();
    let change = |kind: &'static str, id: String, version: u64| {
        let hub = Arc::clone(&hub);
        move |start: Arc<std::sync::Barrier>| {
            start.wait();
            hub.publish(versioned(json!({"type": kind, "message": {"id": id}}), version));
        }
    };
    let rounds = 400;
    for round in 0..rounds {
        let start = Arc::new(std::sync::Barrier::new(2));
        let threads = [
            change("message.updated", format!("m{round}"), 1),
            change("message.deleted", format!("m{round}"), 2),
        ]
        .map(|publish| {
            let start = Arc::clone(&start);
            std::thread::spawn(move || publish(start))
        });
        threads.into_iter().for_each(|thread| thread.join().unwrap());
    }
    for outbox in &mut outboxes {
        let mut last: HashMap<String, String> = HashMap::new();
        while let Some(frame) = outbox.try_recv() {
            let event: Value = serde_json::from_str(&frame.to_string()).unwrap();
            let id = event["message"]["id"].as_str().unwrap().to_owned();
            last.insert(id, event["type"].as_str().unwrap().to_owned());
        }
        assert_eq!(last.len(), rounds);
        let after_delete: Vec<&String> =
            last.iter().filter(|(_, kind)| *kind != "message.deleted").map(|(id, _)| id).collect();
        assert!(after_delete.is_empty(), "an edit queued after the delete for {after_delete:?}");
    }
}

/// Publishes a `message.new` to `cid` on another thread while `held` is alive; whether it was delivered to the
/// one watcher within 5 s (it cannot be if the publish waits for what `held` holds).
fn publishes_while_held<T>(hub: &Hub, cid: &str, held: T) -> bool {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        scope.spawn(|| {
            let delivery = Delivery {
                cid,
                event: event("message.new"),
                sender: None,
                personal: HashMap::new(),
                skip_users: &[],
                version: None,
            };
            let _ = done.send(hub.publish(delivery));
        });
        let delivered = finished.recv_timeout(std::time::Duration::from_secs(5)) == Ok(1);
        drop(held);
        delivered
    })
}

#[test]
fn fan_out_waits_neither_for_the_registry_nor_for_other_channels() {
    let hub = Hub::default();
    let _alice = hub.register("c-alice", "alice", false, 10).unwrap();
    // Two channels whose watchers sit behind different locks.
    let a = "messaging:a".to_owned();
    let b = (0..)
        .map(|n| format!("messaging:b{n}"))
        .find(|b| Shards::index(b) != Shards::index(&a))
        .unwrap();
    hub.watch(&a, "c-alice");
    hub.watch(&b, "c-alice");
    assert!(
        publishes_while_held(&hub, &a, hub.lock()),
        "registrations and closes do not hold fan-out back"
    );
    assert!(
        publishes_while_held(&hub, &b, hub.shards.of(&a)),
        "nor does another channel's fan-out"
    );
}

#[test]
fn a_new_message_behind_a_newer_state_of_it_arrives_in_that_state() {
    // The message was sent through another node; its delete, through this one, went out here before the other
    // node's `message.new` arrived. The watchers here never had the message: it reaches them as new, deleted.
    let hub = Hub::default();
    let mut bob = hub.register("c-1", "bob", false, 10).unwrap();
    hub.watch("messaging:x", "c-1");
    let deleted = json!({"type": "message.deleted", "message": {"id": "m1", "type": "deleted", "deleted_at": "t"}});
    let new = |id: &str| json!({"type": "message.new", "message": {"id": id, "type": "regular", "text": "hi"}});
    assert_eq!(hub.publish(versioned(deleted, 2)), 1);
    assert_eq!(hub.publish(versioned(new("m1"), 0)), 1, "the new message is not dropped");
    assert_eq!(hub.publish(versioned(new("m2"), 0)), 1);
    let frames: Vec<Value> = std::iter::from_fn(|| bob.try_recv())
        .map(|frame| serde_json::from_str(frame.as_str()).unwrap())
        .collect();
    assert_eq!(frames[1]["type"], "message.new");
    assert_eq!(frames[1]["message"]["type"], "deleted", "{}", frames[1]);
    assert_eq!(frames[1]["message"]["deleted_at"], "t");
    assert_eq!(
        frames[2]["message"]["text"], "hi",
        "a message with no newer state goes out as it is"
    );
    assert_eq!(hub.stale_events(), 0);

    // Hard deleted meanwhile: it stays gone.
    let gone = json!({"type": "message.deleted", "hard_delete": true, "message": {"id": "m3", "type": "deleted"}});
    assert_eq!(hub.publish(versioned(gone, 2)), 1);
    assert_eq!(hub.publish(versioned(new("m3"), 0)), 0);
    assert_eq!(hub.stale_events(), 1);
}
