//! Which object an app holds, in headless Chromium against the real server (`CHAT_SERVER_URL`): a channel made by
//! its members is one object however often the app asks for it (React apps ask on every render), before and after
//! the server named it, and that object gets the channel's events; a channel keeps its type, id and cid after
//! `disconnectUser()`; a sent message's id is written back to the app's message, so sending the same object again
//! (a retry) never makes a second message.

#![cfg(target_arch = "wasm32")]

use js_sys::Array;
use stream_chat_wasm::StreamChat;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

mod common;

use common::{call, channel, connected, get, next_event, object, settle, unique};

wasm_bindgen_test_configure!(run_in_browser);

/// `client.channel('messaging', {members})`.
fn by_members(client: &StreamChat, members: &[&str]) -> JsValue {
    let members: Array = members.iter().map(|m| JsValue::from(*m)).collect();
    client.channel(
        "messaging".into(),
        Some(object(&[("members", members.into())])),
        JsValue::UNDEFINED,
    )
}

#[wasm_bindgen_test]
async fn a_channel_by_members_is_one_object_that_gets_the_events() {
    let (a, b) = (format!("alice-{}", unique()), format!("bob-{}", unique()));
    let alice = connected(&a, &[]).await;
    let bob = connected(&b, &[]).await;

    let first = by_members(&alice, &[&a, &b]);
    // The same members in another order, and as `{user_id}` objects: the same object.
    let again = by_members(&alice, &[&b, &a]);
    assert!(js_sys::Object::is(&first, &again), "a second call made a second object");
    let as_objects = {
        let members: Array =
            [&a, &b].iter().map(|id| object(&[("user_id", JsValue::from(id.as_str()))])).collect();
        alice.channel(
            "messaging".into(),
            Some(object(&[("members", members.into())])),
            JsValue::UNDEFINED,
        )
    };
    assert!(js_sys::Object::is(&first, &as_objects));
    // Other members: another object.
    assert!(!js_sys::Object::is(&first, &by_members(&alice, &[&a])));

    settle(call(&first, "watch", &[])).await.unwrap();
    let cid = get(&first, "cid").as_string().expect("a cid once watched");
    // Asked for again after the server named it (as a re-render does): still the same object.
    let after = by_members(&alice, &[&a, &b]);
    assert!(js_sys::Object::is(&first, &after), "after watch() a new object was made");

    // And that object gets the channel's events.
    let bobs = by_members(&bob, &[&a, &b]);
    settle(call(&bobs, "watch", &[])).await.unwrap();
    assert_eq!(get(&bobs, "cid").as_string().as_deref(), Some(cid.as_str()));
    let heard = next_event(&after, "message.new", |_| true);
    settle(call(&bobs, "sendMessage", &[object(&[("text", "hi".into())])])).await.unwrap();
    let event = heard.await.unwrap();
    assert_eq!(get(&event, "message.text").as_string().as_deref(), Some("hi"));
}

#[wasm_bindgen_test]
async fn a_channel_keeps_its_type_id_and_cid_after_disconnect() {
    let a = format!("alice-{}", unique());
    let id = format!("kept-{}", unique());
    let alice = connected(&a, &[]).await;
    let by_id = channel(&alice, &id, &[&a]);
    settle(call(&by_id, "watch", &[])).await.unwrap();
    let named_later = by_members(&alice, &[&a, "nobody-else"]);
    settle(alice.disconnect_user(None)).await.unwrap();

    assert_eq!(get(&by_id, "type").as_string().as_deref(), Some("messaging"));
    assert_eq!(get(&by_id, "id").as_string().as_deref(), Some(id.as_str()));
    let cid = String::from("messaging:") + &id;
    assert_eq!(get(&by_id, "cid").as_string().as_deref(), Some(cid.as_str()));
    // Never named: a type and no id, as before the disconnect.
    assert_eq!(get(&named_later, "type").as_string().as_deref(), Some("messaging"));
    assert!(get(&named_later, "cid").is_undefined());
}

#[wasm_bindgen_test]
async fn a_sent_message_keeps_its_id_so_a_retry_never_duplicates_it() {
    let a = format!("alice-{}", unique());
    let id = format!("retry-{}", unique());
    let alice = connected(&a, &[]).await;
    let general = channel(&alice, &id, &[&a]);
    settle(call(&general, "watch", &[])).await.unwrap();

    let message = object(&[("text", "once".into())]);
    let sent = settle(call(&general, "sendMessage", std::slice::from_ref(&message))).await.unwrap();
    let given = get(&message, "id").as_string().expect("the id written back to the app's message");
    assert_eq!(get(&sent, "message.id").as_string(), Some(given.clone()));

    // The app sends the same object again, as a retry after a timeout does.
    let _ = settle(call(&general, "sendMessage", std::slice::from_ref(&message))).await;
    assert_eq!(get(&message, "id").as_string(), Some(given.clone()));
    let page = settle(call(
        &general,
        "query",
        &[object(&[("messages", object(&[("limit", 10.into())]))])],
    ))
    .await
    .unwrap();
    let stored: Vec<String> = Array::from(&get(&page, "messages"))
        .iter()
        .filter_map(|message| get(&message, "id").as_string())
        .collect();
    assert_eq!(stored, vec![given], "the retry made a second message");
}
