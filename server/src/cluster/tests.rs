//! The cluster's notes between nodes, on a bus that keeps what it is given.

use super::*;
use crate::cluster::sequence::Seq;
use crate::hub::live::Change;
use crate::hub::Privacy;
use serde_json::{json, Value};

/// A bus that only says it is shared, so the cluster builds notes, and keeps what it accepts; `shared(false)`
/// has a full queue.
#[derive(Clone)]
struct Shared {
    accepts: bool,
    kept: Arc<Mutex<Vec<Envelope>>>,
}
fn shared(accepts: bool) -> Shared {
    Shared { accepts, kept: Arc::default() }
}
impl Bus for Shared {
    fn send(&self, envelope: Envelope) -> bool {
        if self.accepts {
            self.kept.lock().unwrap().push(envelope);
        }
        self.accepts
    }
    fn listen(&self, _: Topic, ready: Arc<Ready>) {
        ready.set();
    }
    fn is_connected(&self) -> bool {
        true
    }
    fn is_shared(&self) -> bool {
        true
    }
}

/// A note of `event` on channel `messaging:x`, from `sender`, carrying a message's `version`.
fn on_x(event: &Value, sender: Option<(String, Privacy)>, version: Option<u64>) -> Note {
    Note::Channel {
        cid: "messaging:x".into(),
        event: event.as_object().unwrap().clone(),
        sender,
        personal: HashMap::new(),
        skip_users: Vec::new(),
        version,
    }
}

/// A peer's whole live state in one part.
fn whole(online: &[&str], watches: &[(&str, &str)]) -> Note {
    let mut changes: Vec<Change> =
        online.iter().map(|user| Change::Online(user.to_string())).collect();
    changes
        .extend(watches.iter().map(|(cid, user)| Change::Watch(cid.to_string(), user.to_string())));
    Note::Live(LiveNote::Sync { epoch: 7, seq: 0, part: 0, last: true, changes })
}

#[test]
fn peers_add_to_counts_until_they_leave() {
    let cluster = Cluster::new("a".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let _alice = hub.register("a-1", "alice", false, 10).unwrap();
    hub.watch("messaging:x", "a-1");
    let state = whole(&["bob"], &[("messaging:x", "alice"), ("messaging:x", "bob")]);
    cluster.receive(Envelope::unnumbered("b".into(), state), &hub, |_| vec![]);
    assert_eq!(cluster.watcher_count(&hub, "messaging:x"), 2, "alice counts once");
    assert!(cluster.is_connected(&hub, "bob"));
    assert_eq!(cluster.connected_users(&hub), vec!["alice".to_string(), "bob".to_string()]);
    let delta = LiveNote::Delta {
        epoch: 7,
        seq: 1,
        changes: vec![Change::Unwatch("messaging:x".into(), "bob".into())],
    };
    cluster.receive(Envelope::unnumbered("b".into(), Note::Live(delta)), &hub, |_| vec![]);
    assert_eq!(cluster.watcher_count(&hub, "messaging:x"), 1, "bob stopped watching");
    cluster.receive(Envelope::unnumbered("b".into(), Note::Leaving), &hub, |_| vec![]);
    assert_eq!(cluster.watcher_count(&hub, "messaging:x"), 1);
    assert!(!cluster.is_connected(&hub, "bob"));
    assert_eq!(cluster.take_departed(&hub), vec!["bob".to_string()], "alice is still here");
    assert!(cluster.take_departed(&hub).is_empty());
}

#[test]
fn meeting_a_peer_asks_for_its_whole_state_without_counting_a_resync() {
    let kept = shared(true);
    let cluster = Cluster::new("a".into(), Box::new(kept.clone()));
    let hub = Hub::default();
    let digest = LiveNote::Digest {
        epoch: 7,
        seq: 3,
        size: crate::hub::live::Size { online: 1, watches: 0 },
    };
    let b = |note| Envelope::unnumbered("b".into(), note);
    let counted = cluster.receive(b(Note::Live(digest)), &hub, |_| vec![]);
    assert!(!counted.resynced(), "a node just met is not out of step");
    let asked = LiveNote::SyncRequest { node: "b".into() };
    assert_eq!(kept.kept.lock().unwrap().pop().map(|sent| sent.note), Some(Note::Live(asked)));
    // Once met, a gap is a resync (`a_gap_in_a_peers_deltas_asks_for_its_whole_state_and_counts_it`).
}

#[test]
fn a_gap_in_a_peers_deltas_asks_for_its_whole_state_and_counts_it() {
    let cluster = Cluster::new("a".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let first =
        cluster.receive(Envelope::unnumbered("b".into(), whole(&["bob"], &[])), &hub, |_| vec![]);
    assert!(!first.resynced(), "a whole state puts the peer in step");
    let skipped =
        LiveNote::Delta { epoch: 7, seq: 2, changes: vec![Change::Online("carol".into())] };
    let asked =
        cluster.receive(Envelope::unnumbered("b".into(), Note::Live(skipped)), &hub, |_| vec![]);
    assert_eq!(asked, Received::Resynced, "delta 1 never came");
    assert!(
        cluster.is_connected(&hub, "bob"),
        "the stale view is kept until the whole state arrives"
    );
}

#[test]
fn a_channel_note_is_filtered_by_the_senders_privacy_on_the_receiving_node() {
    let cluster = Cluster::new("a".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let mut bob = hub.register("a-1", "bob", false, 10).unwrap();
    hub.watch("messaging:x", "a-1");
    let quiet = Privacy { typing_indicators: false, read_receipts: true };
    let typing = json!({"type": "typing.start", "cid": "messaging:x"});
    let note = on_x(&typing, Some(("alice".into(), quiet)), None);
    let wire = serde_json::to_string(&Envelope::unnumbered("b".into(), note)).unwrap();
    cluster.receive(serde_json::from_str(&wire).unwrap(), &hub, |_| vec![]);
    assert!(bob.try_recv().is_none(), "typing of a user with typing indicators off");
    let loud = Privacy { typing_indicators: true, read_receipts: true };
    let note = on_x(&typing, Some(("alice".into(), loud)), None);
    cluster.receive(Envelope::unnumbered("b".into(), note), &hub, |_| vec![]);
    assert!(bob.try_recv().unwrap().contains("typing.start"));
}

#[test]
fn an_edit_from_one_node_arriving_after_a_delete_from_another_is_not_delivered() {
    let cluster = Cluster::new("a".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let mut bob = hub.register("a-1", "bob", false, 10).unwrap();
    hub.watch("messaging:x", "a-1");
    let note = |kind: &str, version| {
        on_x(&json!({"type": kind, "message": {"id": "m1"}}), None, Some(version))
    };
    let deleted = Envelope::unnumbered("c".into(), note("message.deleted", 2));
    cluster.receive(deleted, &hub, |_| vec![]);
    let edited = Envelope::unnumbered("b".into(), note("message.updated", 1));
    let wire = serde_json::to_string(&edited).unwrap();
    cluster.receive(serde_json::from_str(&wire).unwrap(), &hub, |_| vec![]);
    assert!(bob.try_recv().unwrap().contains("message.deleted"));
    assert!(bob.try_recv().is_none(), "the older edit is not delivered");
}

#[tokio::test]
async fn notes_a_full_queue_dropped_make_the_nodes_hearing_them_drop_those_connections() {
    let sender = Cluster::new("a".into(), Box::new(shared(false)));
    let unwatch = || Note::Unwatch { cid: "messaging:x".into(), user_id: "bob".into() };
    assert!(!sender.tell(unwatch) && !sender.tell(unwatch));
    assert!(!sender.tell(|| Note::User { user_id: "bob".into(), frame: "{}".into() }));
    let lost = sender.take_lost();
    assert_eq!(lost, vec![Topic::Channel("messaging:x".into()), Topic::User("bob".into())]);
    assert!(sender.take_lost().is_empty(), "announced once");

    let receiver = Cluster::new("b".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let mut watcher = hub.register("b-1", "carol", false, 10).unwrap();
    let mut other = hub.register("b-2", "dave", false, 10).unwrap();
    hub.watch("messaging:x", "b-1");
    hub.watch("messaging:y", "b-2");
    let resync = Cluster::resync_note(lost[0].clone());
    assert!(receiver
        .receive(Envelope::unnumbered("a".into(), resync), &hub, |_| vec![])
        .resynced());
    assert!(watcher.recv().await.is_none(), "carol's connection is dropped: her client recovers");
    assert_eq!(hub.connection_count(), 1, "dave watches another channel");
    assert!(other.try_recv().is_none());
}

#[test]
fn own_notes_are_ignored_and_node_ids_are_checked() {
    let cluster = Cluster::new("a".into(), Box::new(shared(true)));
    let hub = Hub::default();
    cluster.receive(Envelope::unnumbered("a".into(), whole(&["ghost"], &[])), &hub, |_| vec![]);
    assert!(!cluster.is_connected(&hub, "ghost"));
    assert!(valid_node_id(&random_node_id()));
    assert!(!valid_node_id("Node-1") && !valid_node_id(""));
}

#[test]
fn notes_are_routed_to_the_nodes_that_need_them() {
    let channel = Note::Unwatch { cid: "messaging:x".into(), user_id: "bob".into() };
    assert_eq!(channel.topic(), Some(Topic::Channel("messaging:x".into())));
    let own = Note::User { user_id: "bob".into(), frame: "{}".into() };
    assert_eq!(own.topic(), Some(Topic::User("bob".into())));
    let presence = Note::Presence { user_id: "bob".into(), frame: "{}".into() };
    assert_eq!(presence.topic(), Some(Topic::Presence("bob".into())));
    assert_eq!(Note::Leaving.topic(), None, "every node hears a node leave");
}

#[tokio::test]
async fn lost_presence_notes_make_the_nodes_hearing_them_drop_the_followers_connections() {
    let sender = Cluster::new("a".into(), Box::new(shared(false)));
    assert!(!sender.tell(|| Note::Presence { user_id: "bob".into(), frame: "{}".into() }));
    let lost = sender.take_lost();
    assert_eq!(lost, vec![Topic::Presence("bob".into())]);

    let receiver = Cluster::new("b".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let mut follower = hub.register("b-1", "carol", false, 10).unwrap();
    let mut other = hub.register("b-2", "dave", false, 10).unwrap();
    let resync = Cluster::resync_note(lost[0].clone());
    let followers = |user: &str| if user == "bob" { vec!["b-1".to_owned()] } else { vec![] };
    assert!(receiver.receive(Envelope::unnumbered("a".into(), resync), &hub, followers).resynced());
    assert!(follower.recv().await.is_none(), "carol follows bob: her client recovers");
    assert_eq!(hub.connection_count(), 1, "dave follows nobody");
    assert!(other.try_recv().is_none());
}

/// Channel notes numbered as node `b` sends them.
fn numbered(seq: u64, text: &str) -> Envelope {
    let event =
        json!({"type": "message.new", "cid": "messaging:x", "message": {"id": text, "text": text}});
    Envelope { node: "b".into(), note: on_x(&event, None, None), seq: Some(Seq(7, seq)) }
}

#[tokio::test]
async fn a_gap_in_a_senders_numbers_on_a_channel_drops_its_watchers_here() {
    let cluster = Cluster::new("a".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let mut carol = hub.register("a-1", "carol", false, 10).unwrap();
    let mut dave = hub.register("a-2", "dave", false, 10).unwrap();
    hub.watch("messaging:x", "a-1");
    hub.watch("messaging:y", "a-2");
    let wire = serde_json::to_string(&numbered(4, "m4")).unwrap();
    assert!(wire.contains(r#""seq":[7,4]"#), "{wire}");
    let heard = |envelope| cluster.receive(envelope, &hub, |_| vec![]);
    assert_eq!(
        heard(serde_json::from_str(&wire).unwrap()),
        Received::Applied,
        "the first one heard"
    );
    assert_eq!(heard(numbered(5, "m5")), Received::Applied);
    assert_eq!(heard(numbered(5, "m5")), Received::Repeat);
    assert!(carol.try_recv().unwrap().contains("m4"));
    assert!(carol.try_recv().unwrap().contains("m5"));
    assert!(carol.try_recv().is_none(), "the repeat is skipped");
    assert_eq!(heard(numbered(7, "m7")), Received::Gap, "6 never came");
    assert!(carol.recv().await.is_none(), "carol's connection is dropped: her client recovers");
    assert_eq!(hub.connection_count(), 1, "dave watches another channel");
    assert!(dave.try_recv().is_none());
}

#[test]
fn a_senders_notes_are_numbered_per_topic_and_a_resync_starts_its_numbers_over() {
    let kept = shared(true);
    let cluster = Cluster::new("b".into(), Box::new(kept.clone()));
    let unwatch = || Note::Unwatch { cid: "messaging:x".into(), user_id: "bob".into() };
    let own = || Note::User { user_id: "bob".into(), frame: "{}".into() };
    assert!(cluster.tell(unwatch) && cluster.tell(own) && cluster.tell(unwatch));
    let seqs: Vec<u64> = kept.kept.lock().unwrap().iter().map(|sent| sent.seq.unwrap().1).collect();
    assert_eq!(seqs, vec![1, 1, 2]);
    let live = Note::Live(LiveNote::SyncRequest { node: "a".into() });
    assert!(cluster.tell(|| live));
    assert_eq!(
        kept.kept.lock().unwrap().last().unwrap().seq,
        None,
        "every node hears it: unnumbered"
    );

    let receiver = Cluster::new("a".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let _carol = hub.register("a-1", "carol", false, 10).unwrap();
    hub.watch("messaging:x", "a-1");
    let heard = |envelope| receiver.receive(envelope, &hub, |_| vec![]);
    assert_eq!(heard(numbered(1, "m1")), Received::Applied);
    let resync = Note::ResyncChannel { cid: "messaging:x".into() };
    assert_eq!(heard(Envelope::unnumbered("b".into(), resync)), Received::Resynced);
    assert_eq!(
        heard(numbered(3, "m3")),
        Received::Applied,
        "the note resynced for was 2: no second drop"
    );
}

#[test]
fn after_this_node_dropped_all_its_connections_the_next_note_is_no_gap() {
    let cluster = Cluster::new("a".into(), Box::new(shared(true)));
    let hub = Hub::default();
    let heard = |envelope| cluster.receive(envelope, &hub, |_| vec![]);
    assert_eq!(heard(numbered(1, "m1")), Received::Applied);
    cluster.forget_numbers();
    assert_eq!(
        heard(numbered(9, "m9")),
        Received::Applied,
        "missed while away, recovered by the clients"
    );
}
