//! Channels in headless Chromium with two clients in one page against the real server (`CHAT_SERVER_URL`):
//! messages, typing and reads reach the other client's handlers and state; privacy settings keep typing requests
//! in the browser and read state away from others; calls made before the connection wait for it; bad input
//! rejects with the protocol's code. Everything goes through the JS-facing methods.

#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Promise};
use stream_chat_wasm::StreamChat;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

mod common;

use common::{
    call, channel, client, client_event, connected, from, get, metric, next_event, object, settle,
    unique,
};

wasm_bindgen_test_configure!(run_in_browser);

/// Two connected clients watching one new channel of which both are members.
struct Pair {
    a: String,
    alice: StreamChat,
    bob: StreamChat,
    alices: JsValue,
    bobs: JsValue,
}

/// A [`Pair`] with ids starting with `prefix`; `alice_extra` goes into alice's user object.
async fn pair(prefix: &str, alice_extra: &[(&str, JsValue)]) -> Pair {
    let (a, b, id) = (
        format!("{prefix}-{}", unique()),
        format!("bob-{}", unique()),
        format!("{prefix}-{}", unique()),
    );
    let alice = connected(&a, alice_extra).await;
    let bob = connected(&b, &[]).await;
    let alices = channel(&alice, &id, &[&a, &b]);
    let bobs = channel(&bob, &id, &[&a, &b]);
    settle(call(&alices, "watch", &[])).await.unwrap();
    settle(call(&bobs, "watch", &[])).await.unwrap();
    Pair { a, alice, bob, alices, bobs }
}

/// Sends a message on `from` and waits until it arrives on `to`: everything sent before has arrived by then.
async fn send_marker(from: &JsValue, to: &JsValue) {
    let marker = next_event(to, "message.new", |_| true);
    settle(call(from, "sendMessage", &[object(&[("text", "marker".into())])])).await.unwrap();
    marker.await.unwrap();
}

/// Records the types of the `kinds` events on `target` into the returned array.
fn record(target: &JsValue, kinds: &[&str]) -> Array {
    let seen = Array::new();
    let handler = {
        let seen = seen.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            seen.push(&get(&event, "type"));
        })
        .into_js_value()
    };
    for kind in kinds {
        call(target, "on", &[(*kind).into(), handler.clone()]);
    }
    seen
}

#[wasm_bindgen_test]
async fn message_typing_and_read_reach_the_other_client() {
    let (a, b, id) = (
        format!("alice-{}", unique()),
        format!("bob-{}", unique()),
        format!("general-{}", unique()),
    );
    let alice = connected(&a, &[]).await;
    let bob = connected(&b, &[]).await;
    let alices = channel(&alice, &id, &[&a, &b]);
    let bobs = channel(&bob, &id, &[&a, &b]);
    assert_eq!(alices, channel(&alice, &id, &[]), "one channel object per cid");
    settle(call(&alices, "watch", &[])).await.unwrap();
    settle(call(&bobs, "watch", &[])).await.unwrap();
    assert_eq!(get(&bobs, "cid").as_string(), Some(format!("messaging:{id}")));

    let a_static: &'static str = Box::leak(a.clone().into_boxed_str());
    let typing = next_event(&bobs, "typing.start", from(a_static));
    settle(call(&alices, "keystroke", &[])).await.unwrap();
    typing.await.unwrap();
    assert!(
        get(&get(&bobs, "state"), &format!("typing.{a}")).is_object(),
        "bob's state.typing has alice"
    );

    let stopped = next_event(&bobs, "typing.stop", from(a_static));
    settle(call(&alices, "stopTyping", &[])).await.unwrap();
    stopped.await.unwrap();
    assert!(get(&get(&bobs, "state"), &format!("typing.{a}")).is_undefined());

    let arrived = next_event(&bobs, "message.new", |_| true);
    let sent = settle(call(&alices, "sendMessage", &[object(&[("text", "hi bob".into())])]))
        .await
        .unwrap();
    let event = arrived.await.unwrap();
    assert_eq!(get(&event, "message.id"), get(&sent, "message.id"));
    // The id the SDK gave the message: a v4 uuid, as the official client's.
    let id = get(&sent, "message.id").as_string().unwrap();
    let v4 = js_sys::RegExp::new(
        "^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
        "",
    );
    assert!(v4.test(&id), "{id}");
    let messages = Array::from(&get(&get(&bobs, "state"), "messages"));
    assert_eq!(messages.length(), 1);
    assert_eq!(get(&messages.get(0), "text").as_string().as_deref(), Some("hi bob"));
    assert_eq!(call(&bobs, "countUnread", &[]).as_f64(), Some(1.0));

    let b_static: &'static str = Box::leak(b.clone().into_boxed_str());
    // Each client's read state changes with the event on its own connection (as the official client's does),
    // which may come before or after the REST answer.
    let read = next_event(&alices, "message.read", from(b_static));
    let read_mine = next_event(&bobs, "message.read", from(b_static));
    settle(call(&bobs, "markRead", &[])).await.unwrap();
    read.await.unwrap();
    read_mine.await.unwrap();
    assert_eq!(
        get(&get(&alices, "state"), &format!("read.{b}.unread_messages")).as_f64(),
        Some(0.0)
    );
    assert_eq!(call(&bobs, "countUnread", &[]).as_f64(), Some(0.0));

    settle(alice.disconnect_user(None)).await.unwrap();
    settle(bob.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn typing_indicators_off_send_no_typing_request() {
    let off = object(&[("typing_indicators", object(&[("enabled", false.into())]))]);
    let Pair { alice, bob, alices, bobs, .. } = pair("quiet", &[("privacy_settings", off)]).await;
    let seen = record(&bobs, &["typing.start", "typing.stop"]);

    let before = metric("chat_events_received_total{type=\"typing.start\"}").await;
    settle(call(&alices, "keystroke", &[])).await.unwrap();
    settle(call(&alices, "stopTyping", &[])).await.unwrap();
    // A message after the keystrokes: events are ordered, so a typing event would have arrived first.
    send_marker(&alices, &bobs).await;
    assert_eq!(
        metric("chat_events_received_total{type=\"typing.start\"}").await,
        before,
        "no request left"
    );
    assert_eq!(seen.length(), 0);
    settle(alice.disconnect_user(None)).await.unwrap();
    settle(bob.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn read_receipts_off_keep_read_state_from_the_other_client() {
    let (a, b, id) = (
        format!("private-{}", unique()),
        format!("bob-{}", unique()),
        format!("private-{}", unique()),
    );
    let off = object(&[("read_receipts", object(&[("enabled", false.into())]))]);
    let alice = connected(&a, &[("privacy_settings", off)]).await;
    let bob = connected(&b, &[]).await;
    let alices = channel(&alice, &id, &[&a, &b]);
    let bobs = channel(&bob, &id, &[&a, &b]);
    settle(call(&alices, "watch", &[])).await.unwrap();
    settle(call(&bobs, "watch", &[])).await.unwrap();
    assert!(
        get(&get(&bobs, "state"), &format!("read.{a}")).is_undefined(),
        "not in the query's read[]"
    );

    let arrived = next_event(&alices, "message.new", |_| true);
    settle(call(&bobs, "sendMessage", &[object(&[("text", "read me".into())])])).await.unwrap();
    arrived.await.unwrap();
    assert_eq!(call(&alices, "countUnread", &[]).as_f64(), Some(1.0));
    let reads = Array::new();
    let record = {
        let reads = reads.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            reads.push(&event);
        })
        .into_js_value()
    };
    call(&bobs, "on", &["message.read".into(), record]);
    let own = next_event(&alices, "message.read", |_| true);
    settle(call(&alices, "markRead", &[])).await.unwrap();
    own.await.unwrap();
    assert_eq!(
        call(&alices, "countUnread", &[]).as_f64(),
        Some(0.0),
        "alice's own unread count resets"
    );
    let marker = next_event(&bobs, "message.new", |_| true);
    settle(call(&alices, "sendMessage", &[object(&[("text", "marker".into())])])).await.unwrap();
    marker.await.unwrap();
    assert_eq!(reads.length(), 0, "bob got no message.read from alice");
    assert!(get(&get(&bobs, "state"), &format!("read.{a}")).is_undefined());
    settle(call(&bobs, "query", &[])).await.unwrap();
    assert!(
        get(&get(&bobs, "state"), &format!("read.{a}")).is_undefined(),
        "nor after a fresh query"
    );
    settle(alice.disconnect_user(None)).await.unwrap();
    settle(bob.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn watch_before_connect_settles_waits_for_the_connection() {
    let (a, id) = (format!("early-{}", unique()), format!("early-{}", unique()));
    let alice = client();
    let connecting =
        alice.connect_user(object(&[("id", a.clone().into())]), alice.dev_token(a.clone().into()));
    let early = channel(&alice, &id, &[&a]);
    let watched = call(&early, "watch", &[]);
    let response = settle(watched).await.unwrap();
    settle(connecting).await.unwrap();
    assert_eq!(get(&response, "channel.id").as_string(), Some(id.clone()));
    assert!(get(&early, "initialized").as_bool().unwrap());
    // (Calls go out in order, but the server may run concurrent requests in any order: list after the watch.)
    let listed = alice.query_channels(
        object(&[("cid", format!("messaging:{id}").into())]),
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    );
    let listed = Array::from(&settle(listed).await.unwrap());
    assert_eq!(listed.length(), 1);
    assert_eq!(listed.get(0), early, "queryChannels returns the same channel object");
    settle(alice.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn watch_tells_channels_queried_as_the_official_client_does() {
    let (a, id) = (format!("told-{}", unique()), format!("told-{}", unique()));
    let alice = connected(&a, &[]).await;
    let told = client_event(&alice, "channels.queried", |_| true);
    let early = channel(&alice, &id, &[&a]);
    settle(call(&early, "watch", &[])).await.unwrap();
    let event = told.await.unwrap();
    let channels = Array::from(&get(&event, "queriedChannels.channels"));
    assert_eq!(channels.length(), 1);
    assert_eq!(get(&channels.get(0), "channel.id").as_string(), Some(id));
    assert_eq!(get(&event, "queriedChannels.isLatestMessageSet").as_bool(), Some(true));
    settle(alice.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn bad_input_rejects_with_the_protocols_code() {
    let a = format!("bad-{}", unique());
    let alice = connected(&a, &[]).await;
    let bad = alice.channel("messaging".into(), Some("bad id!".into()), JsValue::UNDEFINED);
    let error = settle(call(&bad, "watch", &[])).await.unwrap_err();
    assert_eq!(get(&error, "code").as_f64(), Some(4.0));
    assert_eq!(get(&error, "StatusCode").as_f64(), Some(400.0));
    assert!(get(&error, "message").as_string().unwrap().contains("bad id!"));

    let fresh = channel(&alice, &format!("fresh-{}", unique()), &[&a]);
    let error = settle(call(&fresh, "markRead", &[])).await.unwrap_err();
    assert!(get(&error, "message").as_string().unwrap().contains("watch()"), "before watch()");
    let error = settle(call(&fresh, "sendEvent", &[object(&[("type", "typing.start".into())])]))
        .await
        .unwrap_err();
    assert!(get(&error, "message").as_string().unwrap().contains("hasn't been initialized"));

    let other = channel(&alice, &format!("theirs-{}", unique()), &["someone-else"]);
    // Created with someone else as the only member: a second query is refused (not a member).
    settle(call(&other, "query", &[])).await.unwrap();
    let error =
        settle(call(&other, "sendMessage", &[object(&[("text", "hi".into())])])).await.unwrap_err();
    assert_eq!(get(&error, "code").as_f64(), Some(17.0));
    settle(alice.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn privacy_switched_while_connected_applies_at_once_without_a_reconnect() {
    let Pair { a, alice, bob, alices, bobs } = pair("switch", &[]).await;
    let connection = alice.connection_id();
    let seen = record(&bobs, &["typing.start", "typing.stop", "message.read"]);

    // Typing off: the update resolves with the setting already in force in this client.
    let updated = JsFuture::from(Promise::new(&mut |resolve, _| {
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &event);
        });
        bob.on("user.updated".into(), handler.into_js_value()).unwrap();
    }));
    let off = |feature: &str| object(&[(feature, object(&[("enabled", false.into())]))]);
    let update = object(&[
        ("id", a.clone().into()),
        ("set", object(&[("privacy_settings", off("typing_indicators"))])),
    ]);
    let answer = settle(alice.partial_update_user(update)).await.unwrap();
    assert!(
        get(&answer, &format!("users.{a}.privacy_settings")).is_undefined(),
        "others never see it"
    );
    assert_eq!(
        get(&alice.user(), "privacy_settings.typing_indicators.enabled").as_bool(),
        Some(false)
    );
    let seen_by_bob = updated.await.unwrap();
    assert!(get(&seen_by_bob, "user.privacy_settings").is_undefined());

    let before = metric("chat_events_received_total{type=\"typing.start\"}").await;
    settle(call(&alices, "keystroke", &[])).await.unwrap();
    settle(call(&alices, "stopTyping", &[])).await.unwrap();

    // Read receipts off: alice's read no longer reaches bob.
    let update = object(&[
        ("id", a.clone().into()),
        ("set", object(&[("privacy_settings", off("read_receipts"))])),
    ]);
    settle(alice.partial_update_user(update)).await.unwrap();
    assert_eq!(
        get(&alice.user(), "privacy_settings.typing_indicators.enabled").as_bool(),
        Some(false)
    );
    assert_eq!(get(&alice.user(), "privacy_settings.read_receipts.enabled").as_bool(), Some(false));
    settle(call(&alices, "markRead", &[])).await.unwrap();

    // A message after all that: events are ordered, so any typing or read event would have come first.
    send_marker(&alices, &bobs).await;
    assert_eq!(
        metric("chat_events_received_total{type=\"typing.start\"}").await,
        before,
        "no typing request left alice's browser"
    );
    assert_eq!(seen.length(), 0, "bob saw {:?}", seen.to_vec());
    assert_eq!(alice.connection_id(), connection, "no reconnect");
    settle(alice.disconnect_user(None)).await.unwrap();
    settle(bob.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn edits_and_deletes_reach_the_other_clients_state() {
    let Pair { alice, bob, alices, bobs, .. } = pair("edits", &[]).await;
    let arrived = next_event(&bobs, "message.new", |_| true);
    let sent =
        settle(call(&alices, "sendMessage", &[object(&[("text", "helo".into())])])).await.unwrap();
    arrived.await.unwrap();
    let id = get(&sent, "message.id").as_string().unwrap();
    let before = get(&get(&bobs, "state"), "messages");

    let updated = next_event(&bobs, "message.updated", |_| true);
    let edit = object(&[("id", id.clone().into()), ("text", "hello".into())]);
    settle(alice.update_message(edit, JsValue::UNDEFINED, JsValue::UNDEFINED)).await.unwrap();
    updated.await.unwrap();
    let after = get(&get(&bobs, "state"), "messages");
    assert_ne!(before, after, "a new messages array, so UIs re-render");
    assert_eq!(get(&after, "0.text").as_string().as_deref(), Some("hello"));
    assert!(get(&after, "0.updated_at").is_instance_of::<js_sys::Date>());

    let changed = next_event(&bobs, "message.updated", |_| true);
    let update = object(&[("set", object(&[("text", "hello!".into())]))]);
    settle(alice.partial_update_message(
        id.clone(),
        update,
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    ))
    .await
    .unwrap();
    changed.await.unwrap();
    assert_eq!(get(&get(&bobs, "state"), "messages.0.text").as_string().as_deref(), Some("hello!"));

    let refused = settle(bob.update_message(
        object(&[("id", id.clone().into()), ("text", "mine".into())]),
        JsValue::UNDEFINED,
        JsValue::UNDEFINED,
    ))
    .await
    .unwrap_err();
    assert_eq!(
        (get(&refused, "code").as_f64(), get(&refused, "status").as_f64()),
        (Some(17.0), Some(403.0))
    );

    let deleted = next_event(&bobs, "message.deleted", |_| true);
    settle(alice.delete_message(id.clone(), JsValue::UNDEFINED)).await.unwrap();
    deleted.await.unwrap();
    assert_eq!(
        get(&get(&bobs, "state"), "messages.0.type").as_string().as_deref(),
        Some("deleted")
    );
    let fetched = settle(bob.get_message(id.into())).await.unwrap();
    assert_eq!(get(&fetched, "message.type").as_string().as_deref(), Some("deleted"));
    settle(alice.disconnect_user(None)).await.unwrap();
    settle(bob.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn members_added_and_removed_show_in_every_state() {
    let Pair { alice, bob, alices, bobs, .. } = pair("members", &[]).await;
    let c = format!("carol-{}", unique());
    let carol = connected(&c, &[]).await;
    let added = next_event(&bobs, "member.added", |_| true);
    let members: Array = [JsValue::from(c.as_str())].into_iter().collect();
    settle(call(&alices, "addMembers", &[members.clone().into()])).await.unwrap();
    added.await.unwrap();
    assert!(get(&get(&bobs, "state"), &format!("members.{c}")).is_object());

    let cid = get(&alices, "cid").as_string().unwrap();
    let (kind, id) = cid.split_once(':').unwrap();
    let carols = carol.channel(kind.into(), Some(id.into()), JsValue::UNDEFINED);
    settle(call(&carols, "watch", &[])).await.unwrap();
    assert_eq!(get(&get(&carols, "state"), "membership.user_id").as_string(), Some(c.clone()));

    let removed = next_event(&carols, "member.removed", |_| true);
    settle(call(&alices, "removeMembers", &[members.into()])).await.unwrap();
    removed.await.unwrap();
    assert!(get(&get(&carols, "state"), &format!("members.{c}")).is_undefined());
    assert!(get(&get(&carols, "state"), "membership.user_id").is_undefined(), "no longer a member");
    for client in [alice, bob, carol] {
        settle(client.disconnect_user(None)).await.unwrap();
    }
}

#[wasm_bindgen_test]
async fn thread_replies_page_into_threads_and_stay_out_of_messages() {
    let Pair { a, alice, bob, alices, bobs } = pair("threads", &[]).await;
    let parent = settle(call(&alices, "sendMessage", &[object(&[("text", "question".into())])]))
        .await
        .unwrap();
    let parent_id = get(&parent, "message.id").as_string().unwrap();
    for n in 1..=3 {
        let reply = object(&[
            ("id", format!("{parent_id}-r{n}").into()),
            ("text", format!("reply {n}").into()),
            ("parent_id", parent_id.clone().into()),
        ]);
        settle(call(&bobs, "sendMessage", &[reply])).await.unwrap();
    }
    // A second connection of alice's, after the fact: the channel has only the parent; the thread pages in.
    let again = connected(&a, &[]).await;
    let cid = get(&alices, "cid").as_string().unwrap();
    let (kind, id) = cid.split_once(':').unwrap();
    let fresh = again.channel(kind.into(), Some(id.into()), JsValue::UNDEFINED);
    settle(call(&fresh, "watch", &[])).await.unwrap();
    let state = get(&fresh, "state");
    assert_eq!(get(&state, "messages.length").as_f64(), Some(1.0));
    assert_eq!(get(&state, "messages.0.reply_count").as_f64(), Some(3.0));
    settle(call(&fresh, "getReplies", &[parent_id.clone().into(), object(&[("limit", 2.into())])]))
        .await
        .unwrap();
    let older = object(&[("limit", 2.into()), ("id_lt", format!("{parent_id}-r2").into())]);
    settle(call(&fresh, "getReplies", &[parent_id.clone().into(), older])).await.unwrap();
    let thread: Vec<String> =
        Array::from(&get(&get(&fresh, "state"), &format!("threads.{parent_id}")))
            .iter()
            .filter_map(|reply| get(&reply, "text").as_string())
            .collect();
    assert_eq!(thread, ["reply 1", "reply 2", "reply 3"], "in time order, once each");

    let typing = next_event(&bobs, "typing.start", |_| true);
    settle(call(&alices, "keystroke", &[parent_id.clone().into()])).await.unwrap();
    let event = typing.await.unwrap();
    assert_eq!(get(&event, "parent_id").as_string(), Some(parent_id));
    for client in [alice, bob, again] {
        settle(client.disconnect_user(None)).await.unwrap();
    }
}

#[wasm_bindgen_test]
async fn older_pages_merge_into_state_without_gaps_or_duplicates() {
    let Pair { a, alice, bob, alices, .. } = pair("pages", &[]).await;
    // Ids with `:` and characters of one and two UTF-16 units: the state's order crosses into JS packed.
    let message_id = |n: u32| format!("{a}:ü😀-m{n}");
    for n in 1..=5 {
        let message = object(&[("id", message_id(n).into()), ("text", format!("{n}").into())]);
        settle(call(&alices, "sendMessage", &[message])).await.unwrap();
    }
    let reader = connected(&a, &[]).await;
    let cid = get(&alices, "cid").as_string().unwrap();
    let (kind, id) = cid.split_once(':').unwrap();
    let channel = reader.channel(kind.into(), Some(id.into()), JsValue::UNDEFINED);
    let page = |options: &[(&str, JsValue)]| object(&[("messages", object(options))]);
    let texts = |channel: &JsValue| -> Vec<String> {
        Array::from(&get(&get(channel, "state"), "messages"))
            .iter()
            .filter_map(|m| get(&m, "text").as_string())
            .collect()
    };
    settle(call(&channel, "watch", &[page(&[("limit", 2.into())])])).await.unwrap();
    assert_eq!(texts(&channel), ["4", "5"]);
    let ids: Vec<String> = Array::from(&get(&get(&channel, "state"), "messages"))
        .iter()
        .filter_map(|m| get(&m, "id").as_string())
        .collect();
    assert_eq!(ids, [message_id(4), message_id(5)]);
    assert_eq!(get(&get(&channel, "state"), "messagePagination.hasPrev").as_bool(), Some(true));
    let older = page(&[("limit", 2.into()), ("id_lt", message_id(4).into())]);
    settle(call(&channel, "query", &[older])).await.unwrap();
    assert_eq!(texts(&channel), ["2", "3", "4", "5"]);
    let oldest = page(&[("limit", 2.into()), ("id_lt", message_id(2).into())]);
    settle(call(&channel, "query", &[oldest])).await.unwrap();
    assert_eq!(texts(&channel), ["1", "2", "3", "4", "5"]);
    assert_eq!(
        get(&get(&channel, "state"), "messagePagination.hasPrev").as_bool(),
        Some(false),
        "the first message"
    );
    // The order is split at `\x01` while no id holds one; a server that allows one in an id (ours does not) has it
    // crossing length-prefixed. An older message, as another server could send it, goes first.
    let odd = object(&[
        ("id", format!("{a}:\u{1}0").into()),
        ("text", "0".into()),
        ("created_at", "2000-01-01T00:00:00.000Z".into()),
        ("user", object(&[("id", "someone".into())])),
    ]);
    let event =
        object(&[("type", "message.new".into()), ("cid", cid.clone().into()), ("message", odd)]);
    reader.dispatch_event(event);
    assert_eq!(texts(&channel), ["0", "1", "2", "3", "4", "5"]);
    for client in [alice, bob, reader] {
        settle(client.disconnect_user(None)).await.unwrap();
    }
}

#[wasm_bindgen_test]
async fn reactions_and_own_reactions_are_right_on_every_client() {
    let Pair { alice, bob, alices, bobs, .. } = pair("reactions", &[]).await;
    let sent =
        settle(call(&alices, "sendMessage", &[object(&[("text", "react".into())])])).await.unwrap();
    let id = get(&sent, "message.id").as_string().unwrap();
    let reacted = next_event(&alices, "reaction.new", |_| true);
    let like = object(&[("type", "like".into())]);
    settle(call(&bobs, "sendReaction", &[id.clone().into(), like])).await.unwrap();
    reacted.await.unwrap();
    let on = |channel: &JsValue, path: &str| get(&get(&get(channel, "state"), "messages.0"), path);
    assert_eq!(on(&alices, "reaction_counts.like").as_f64(), Some(1.0));
    assert_eq!(on(&alices, "own_reactions.length").as_f64(), Some(0.0), "alice did not react");

    // bob's own state: his reaction is his own. (His own `like` event may still be on its way: wait for `love`.)
    let is_love =
        |event: &JsValue| get(event, "reaction.type").as_string().as_deref() == Some("love");
    let mine = next_event(&bobs, "reaction.new", is_love);
    let loved = next_event(&alices, "reaction.new", is_love);
    let love = object(&[("type", "love".into())]);
    settle(call(&alices, "sendReaction", &[id.clone().into(), love])).await.unwrap();
    mine.await.unwrap();
    loved.await.unwrap();
    assert_eq!(on(&bobs, "own_reactions.0.type").as_string().as_deref(), Some("like"));
    assert_eq!(on(&bobs, "reaction_counts.love").as_f64(), Some(1.0));
    assert_eq!(on(&alices, "own_reactions.0.type").as_string().as_deref(), Some("love"));

    // Each client's state changes with the event on its own connection (as the official client's does), which
    // may come before or after the REST answer.
    let removed = next_event(&alices, "reaction.deleted", |_| true);
    let removed_mine = next_event(&bobs, "reaction.deleted", |_| true);
    settle(call(&bobs, "deleteReaction", &[id.clone().into(), "like".into()])).await.unwrap();
    removed.await.unwrap();
    removed_mine.await.unwrap();
    assert!(on(&alices, "reaction_counts.like").is_undefined());
    assert_eq!(on(&bobs, "own_reactions.length").as_f64(), Some(0.0));
    settle(alice.disconnect_user(None)).await.unwrap();
    settle(bob.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn unread_moves_for_the_user_only() {
    let Pair { alice, bob, alices, bobs, .. } = pair("unread", &[]).await;
    let mut ids = Vec::new();
    for n in 1..=3 {
        let arrived = next_event(&alices, "message.new", |_| true);
        let sent =
            settle(call(&bobs, "sendMessage", &[object(&[("text", format!("{n}").into())])]))
                .await
                .unwrap();
        arrived.await.unwrap();
        ids.push(get(&sent, "message.id").as_string().unwrap());
    }
    let counts = settle(alice.get_unread_count()).await.unwrap();
    assert_eq!(get(&counts, "total_unread_count").as_f64(), Some(3.0));

    let marked = next_event(&alices, "notification.mark_unread", |_| true);
    settle(call(&alices, "markUnread", &[object(&[("message_id", ids[1].clone().into())])]))
        .await
        .unwrap();
    marked.await.unwrap();
    assert_eq!(get(&get(&alices, "state"), "unreadCount").as_f64(), Some(2.0));
    assert_eq!(call(&alices, "countUnread", &[]).as_f64(), Some(2.0));

    let everything = JsFuture::from(Promise::new(&mut |resolve, _| {
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let _ = resolve.call1(&JsValue::NULL, &event);
        });
        alice.on("notification.mark_read".into(), handler.into_js_value()).unwrap();
    }));
    settle(alice.mark_all_read()).await.unwrap();
    everything.await.unwrap();
    assert_eq!(get(&get(&alices, "state"), "unreadCount").as_f64(), Some(0.0));
    assert_eq!(
        get(&settle(alice.get_unread_count()).await.unwrap(), "total_unread_count").as_f64(),
        Some(0.0)
    );
    settle(alice.disconnect_user(None)).await.unwrap();
    settle(bob.disconnect_user(None)).await.unwrap();
}
