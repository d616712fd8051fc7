//! Channel state merges and typing timing, driven with explicit times (no clock).

use super::*;
use alloc::string::ToString;
use alloc::vec;

fn key(id: &str, at: f64) -> MessageKey {
    MessageKey { id: id.into(), created_at: at }
}

fn new(id: &str, at: f64, user: &str) -> Event {
    Event::MessageNew {
        message: key(id, at),
        user_id: user.into(),
        thread_only: false,
        quiet: false,
    }
}

fn ids(state: &ChannelState) -> Vec<&str> {
    state.messages.iter().map(|m| m.id.as_str()).collect()
}

fn read(user: &str, unread: u32) -> Read {
    Read {
        user_id: user.into(),
        last_read: 0.0,
        last_read_message_id: None,
        unread_messages: unread,
    }
}

#[test]
fn messages_are_ordered_and_deduplicated() {
    let mut state = ChannelState::default();
    assert!(state.apply_event(new("b", 2_000.0, "bob"), None, "alice", 0.0));
    assert!(state.apply_event(new("a", 1_000.0, "bob"), None, "alice", 0.0));
    assert!(state.apply_event(new("c", 2_000.0, "bob"), None, "alice", 0.0));
    assert!(!state.apply_event(new("b", 2_000.0, "bob"), None, "alice", 0.0));
    assert_eq!(ids(&state), ["a", "b", "c"]);
    assert_eq!(state.unread_count, 3, "a duplicate counts once");
}

#[test]
fn snapshot_replaces_state_and_keeps_later_messages() {
    let mut state = ChannelState::default();
    state.apply_event(new("old", 1_000.0, "bob"), None, "alice", 0.0);
    state.apply_event(new("live", 9_000.0, "bob"), None, "alice", 0.0);
    let snapshot = Snapshot {
        messages: vec![key("s2", 5_000.0), key("s1", 4_000.0)],
        read: vec![read("alice", 2), read("bob", 0)],
        watchers: vec!["bob".into()],
        watcher_count: 2,
    };
    state.apply_snapshot(snapshot, "alice", 0.0);
    assert_eq!(
        ids(&state),
        ["s1", "s2", "live"],
        "the message newer than the snapshot is kept, the old one is not"
    );
    assert_eq!((state.unread_count, state.watcher_count), (2, 2));
    assert_eq!(state.watchers, ["bob"]);
    // The same snapshot again (a second recovery) duplicates nothing.
    let again = Snapshot {
        messages: vec![key("s1", 4_000.0), key("live", 9_000.0)],
        ..Snapshot::default()
    };
    state.apply_snapshot(again, "alice", 0.0);
    assert_eq!(ids(&state), ["s1", "live"]);
}

#[test]
fn a_snapshot_says_whether_its_messages_are_the_page_as_given() {
    let page = |keys: Vec<MessageKey>| Snapshot { messages: keys, ..Snapshot::default() };
    let mut state = ChannelState::default();
    assert!(state.apply_snapshot(page(vec![]), "alice", 0.0), "an empty page on an empty channel");
    let in_order = vec![key("a", 1.0), key("b", 2.0), key("c", 2.0)];
    assert!(state.apply_snapshot(page(in_order.clone()), "alice", 0.0), "a page in time order");
    assert!(state.apply_snapshot(page(in_order), "alice", 0.0), "the same page again");
    assert!(
        !state.apply_snapshot(page(vec![key("b", 2.0), key("a", 1.0)]), "alice", 0.0),
        "a page out of time order is shown sorted"
    );
    assert!(
        !state.apply_snapshot(page(vec![key("c", 3.0), key("c", 3.0)]), "alice", 0.0),
        "an id twice is shown once"
    );
    state.apply_event(new("live", 9.0, "bob"), None, "alice", 0.0);
    assert!(
        !state.apply_snapshot(page(vec![key("c", 3.0)]), "alice", 0.0),
        "a message newer than the page is kept after it"
    );
    assert_eq!(ids(&state), ["c", "live"]);
}

#[test]
fn new_messages_update_reads_like_the_official_client() {
    let mut state = ChannelState::default();
    state.apply_snapshot(
        Snapshot { read: vec![read("alice", 0), read("bob", 0)], ..Snapshot::default() },
        "alice",
        0.0,
    );
    state.apply_event(new("m1", 1.0, "bob"), Some(2), "alice", 0.0);
    let alice = state.read.iter().find(|r| r.user_id == "alice").unwrap();
    let bob = state.read.iter().find(|r| r.user_id == "bob").unwrap();
    assert_eq!((alice.unread_messages, bob.unread_messages), (1, 0));
    assert_eq!(bob.last_read_message_id.as_deref(), Some("m1"));
    assert_eq!((state.unread_count, state.watcher_count), (1, 2));
    // Own messages do not count as unread.
    state.apply_event(new("m2", 2.0, "alice"), None, "alice", 0.0);
    assert_eq!(state.unread_count, 1);
    // Reading resets the reader.
    let own_read = Event::MessageRead {
        user_id: "alice".into(),
        created_at: 3.0,
        last_read_message_id: Some("m2".into()),
    };
    state.apply_event(own_read, None, "alice", 0.0);
    assert_eq!(state.unread_count, 0);
    let alice = state.read.iter().find(|r| r.user_id == "alice").unwrap();
    assert_eq!((alice.unread_messages, alice.last_read), (0, 3.0));
}

#[test]
fn a_sender_missing_from_the_read_map_is_not_added() {
    let mut state = ChannelState::default();
    state.apply_snapshot(
        Snapshot { read: vec![read("bob", 0)], ..Snapshot::default() },
        "bob",
        0.0,
    );
    state.apply_event(new("m1", 1.0, "alice"), None, "bob", 0.0);
    assert_eq!(state.read.iter().map(|r| r.user_id.as_str()).collect::<Vec<_>>(), ["bob"]);
}

#[test]
fn remote_typing_expires_after_7_seconds() {
    let mut state = ChannelState::default();
    state.apply_event(Event::TypingStart { user_id: "bob".into() }, None, "alice", 1_000.0);
    state.apply_event(Event::TypingStart { user_id: "carol".into() }, None, "alice", 5_000.0);
    assert_eq!(state.expire_typing(7_999.0), Vec::<String>::new());
    assert_eq!(state.expire_typing(8_000.0), vec!["bob".to_string()]);
    assert_eq!(state.typing.len(), 1);
    state.apply_event(Event::TypingStop { user_id: "carol".into() }, None, "alice", 6_000.0);
    assert!(state.typing.is_empty());
    // A message from a typing user ends their typing.
    state.apply_event(Event::TypingStart { user_id: "bob".into() }, None, "alice", 9_000.0);
    state.apply_event(new("m", 9.0, "bob"), None, "alice", 9_100.0);
    assert!(state.typing.is_empty());
}

#[test]
fn keystrokes_send_at_most_one_start_every_2_seconds() {
    let mut typing = Typing::default();
    assert!(typing.keystroke(0.0));
    assert!(!typing.keystroke(500.0));
    assert!(!typing.keystroke(2_000.0));
    assert!(typing.keystroke(2_001.0));
    assert!(typing.is_typing());
}

#[test]
fn typing_stops_by_itself_a_second_after_the_last_keystroke() {
    let mut typing = Typing::default();
    typing.keystroke(0.0);
    typing.keystroke(800.0);
    assert!(!typing.tick(1_500.0));
    assert!(typing.tick(1_801.0));
    assert!(!typing.tick(2_500.0), "stops once");
    assert!(typing.keystroke(3_000.0), "a new burst starts again at once");
    assert!(typing.stop());
    assert!(!typing.stop());
}

#[test]
fn watchers_follow_watching_events() {
    let mut state = ChannelState::default();
    state.apply_event(Event::WatchingStart { user_id: "bob".into() }, Some(1), "alice", 0.0);
    state.apply_event(Event::WatchingStart { user_id: "bob".into() }, Some(1), "alice", 0.0);
    assert_eq!((state.watchers.len(), state.watcher_count), (1, 1));
    state.apply_event(Event::WatchingStop { user_id: "bob".into() }, Some(0), "alice", 0.0);
    assert_eq!((state.watchers.len(), state.watcher_count), (0, 0));
}

#[test]
fn order_follows_parsed_time_and_thread_replies_stay_out() {
    let mut state = ChannelState::default();
    // Times arrive parsed (the shell reads them with `Date.parse`), so any timestamp format orders correctly.
    state.apply_event(new("ten", 10_000.0, "bob"), None, "alice", 0.0);
    state.apply_event(new("nine", 9_000.0, "bob"), None, "alice", 0.0);
    assert_eq!(ids(&state), ["nine", "ten"]);
    let revision = state.revision;
    let reply = Event::MessageNew {
        message: key("reply", 11_000.0),
        user_id: "bob".into(),
        thread_only: true,
        quiet: false,
    };
    assert!(!state.apply_event(reply, None, "alice", 0.0));
    assert_eq!(ids(&state), ["nine", "ten"], "a thread-only reply is not a channel message");
    assert_eq!(state.revision, revision, "nothing changed, so the shell keeps its array");
    assert_eq!(state.unread_count, 2, "thread-only replies are not unread channel messages");
}

#[test]
fn the_own_user_has_a_read_entry_after_a_query() {
    let mut state = ChannelState::default();
    let snapshot = Snapshot { messages: vec![key("m1", 4_000.0)], ..Snapshot::default() };
    state.apply_snapshot(snapshot, "alice", 9_000.0);
    let own = state.read.iter().find(|r| r.user_id == "alice").unwrap();
    assert_eq!((own.last_read, own.unread_messages), (4_000.0, 0), "read up to the newest message");
    let mut empty = ChannelState::default();
    empty.apply_snapshot(Snapshot::default(), "alice", 9_000.0);
    assert_eq!(empty.read.first().map(|r| r.last_read), Some(9_000.0), "an empty channel: now");
}

#[test]
fn edits_renew_the_list_and_hard_deletes_remove() {
    let mut state = ChannelState::default();
    state.apply_event(new("m1", 1.0, "bob"), None, "alice", 0.0);
    state.apply_event(new("m2", 2.0, "bob"), None, "alice", 0.0);
    let revision = state.revision;
    state.apply_event(Event::MessageChanged { id: "m1".into() }, None, "alice", 0.0);
    assert_ne!(state.revision, revision, "an edit gives apps a new messages array");
    let revision = state.revision;
    state.apply_event(Event::MessageChanged { id: "unknown".into() }, None, "alice", 0.0);
    assert_eq!(state.revision, revision);
    state.apply_event(Event::MessageRemoved { id: "m1".into() }, None, "alice", 0.0);
    assert_eq!(ids(&state), ["m2"]);
    // A removed id is gone for edits and duplicates alike, and may come back.
    let revision = state.revision;
    state.apply_event(Event::MessageChanged { id: "m1".into() }, None, "alice", 0.0);
    assert_eq!(state.revision, revision, "an edit of a removed message changes nothing");
    state.apply_event(Event::MessageRemoved { id: "m1".into() }, None, "alice", 0.0);
    assert_eq!(state.revision, revision);
    assert!(state.apply_event(new("m1", 3.0, "bob"), None, "alice", 0.0));
    assert!(!state.apply_event(new("m1", 3.0, "bob"), None, "alice", 0.0));
    assert_eq!(ids(&state), ["m2", "m1"]);
}

#[test]
fn pages_merge_without_gaps_or_duplicates() {
    let mut state = ChannelState::default();
    let latest = Snapshot { messages: vec![key("m4", 4.0), key("m5", 5.0)], ..Snapshot::default() };
    state.apply_snapshot(latest, "alice", 0.0);
    // An older page, overlapping by one: merged in front.
    let older = Snapshot {
        messages: vec![key("m2", 2.0), key("m3", 3.0), key("m4", 4.0)],
        ..Snapshot::default()
    };
    state.apply_page(older, "alice", 0.0);
    assert_eq!(ids(&state), ["m2", "m3", "m4", "m5"]);
    // A newer page from an old anchor: nothing older is dropped.
    let newer = Snapshot { messages: vec![key("m5", 5.0), key("m6", 6.0)], ..Snapshot::default() };
    state.apply_page(newer, "alice", 0.0);
    assert_eq!(ids(&state), ["m2", "m3", "m4", "m5", "m6"]);
}

#[test]
fn appends_at_the_end_are_told_apart_from_other_changes() {
    let mut state = ChannelState::default();
    state.apply_snapshot(
        Snapshot { messages: vec![key("m1", 1.0)], ..Snapshot::default() },
        "alice",
        0.0,
    );
    let synced = state.revision;
    state.apply_event(new("m2", 2.0, "bob"), None, "alice", 0.0);
    state.apply_event(new("m3", 3.0, "bob"), None, "alice", 0.0);
    assert!(state.only_appended_since(synced), "two messages appended: extend the shell's array");
    let synced = state.revision;
    state.apply_event(new("early", 0.5, "bob"), None, "alice", 0.0);
    assert!(!state.only_appended_since(synced), "inserted before others: rebuild");
    let synced = state.revision;
    state.apply_event(new("m4", 4.0, "bob"), None, "alice", 0.0);
    assert!(state.only_appended_since(synced));
    state.apply_event(Event::MessageChanged { id: "m1".into() }, None, "alice", 0.0);
    assert!(!state.only_appended_since(synced), "an edit: rebuild");
}

#[test]
fn quiet_messages_are_shown_but_unread_for_nobody() {
    let mut state = ChannelState::default();
    state.apply_snapshot(
        Snapshot { read: vec![read("alice", 0), read("carol", 0)], ..Snapshot::default() },
        "alice",
        0.0,
    );
    let silent = Event::MessageNew {
        message: key("quiet", 1_000.0),
        user_id: "bob".into(),
        thread_only: false,
        quiet: true,
    };
    assert!(state.apply_event(silent, None, "alice", 0.0));
    assert_eq!(ids(&state), ["quiet"], "a silent message is in the channel");
    assert_eq!(state.unread_count, 0, "but not unread");
    assert!(state.read.iter().all(|r| r.unread_messages == 0), "for anybody");
    state.apply_event(new("loud", 2_000.0, "bob"), None, "alice", 0.0);
    assert_eq!(state.unread_count, 1);
}

#[test]
fn own_messages_leave_the_own_read_entry() {
    let mut state = ChannelState::default();
    state.apply_snapshot(
        Snapshot { read: vec![read("alice", 0), read("bob", 0)], ..Snapshot::default() },
        "alice",
        0.0,
    );
    state.apply_event(new("mine", 5_000.0, "alice"), None, "alice", 0.0);
    let own = state.read.iter().find(|r| r.user_id == "alice").unwrap();
    assert_eq!(own.last_read, 0.0, "lastRead() is when the user last read others' messages");
    assert_eq!(state.unread_count, 0);
    let bob = state.read.iter().find(|r| r.user_id == "bob").unwrap();
    assert_eq!(
        bob.unread_messages, 0,
        "others' counts come with the next query, as with the official client"
    );
}

#[test]
fn a_truncation_drops_older_messages_and_every_unread_count() {
    let mut state = ChannelState::default();
    state.apply_snapshot(
        Snapshot {
            messages: vec![],
            read: vec![read("alice", 0), read("bob", 0)],
            watchers: vec![],
            watcher_count: 2,
        },
        "alice",
        0.0,
    );
    for (id, at) in [("a", 1_000.0), ("b", 2_000.0), ("c", 3_000.0)] {
        state.apply_event(new(id, at, "bob"), None, "alice", 0.0);
    }
    assert_eq!(state.unread_count, 3);
    let revision = state.revision;
    state.apply_event(Event::Truncated { before: Some(2_000.0) }, None, "alice", 0.0);
    assert_eq!(ids(&state), ["b", "c"], "messages from the truncation time on stay");
    assert_eq!(state.unread_count, 0);
    assert!(state.read.iter().all(|r| r.unread_messages == 0));
    assert_ne!(state.revision, revision, "the shell rebuilds its messages array");
    state.apply_event(Event::Truncated { before: None }, None, "alice", 0.0);
    assert!(state.messages.is_empty(), "no time: everything goes");
}
