//! The SDK in headless Chromium against a real server (`scripts/test.sh` starts it and sets `CHAT_SERVER_URL`):
//! connecting, validation before any network call, server refusals, token providers, one connection per user,
//! and disconnect. Tests drive the exported `StreamChat` methods, the ones JS calls.

#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Promise};
use stream_chat_wasm::StreamChat;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

mod common;

use common::{client, get, metric, object, settle, SERVER};

wasm_bindgen_test_configure!(run_in_browser);

fn token(client: &StreamChat, user_id: &str) -> JsValue {
    client.dev_token(user_id.into())
}

fn user(id: &str, name: &str) -> JsValue {
    object(&[("id", id.into()), ("name", name.into())])
}

/// Waits (polling, with a deadline) until `series` equals `value`.
async fn wait_metric(series: &str, value: f64) {
    for _ in 0..200 {
        if metric(series).await == value {
            return;
        }
        let tick = Promise::new(&mut |resolve, _| {
            web_sys::window()
                .unwrap()
                .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 25)
                .unwrap();
        });
        JsFuture::from(tick).await.unwrap();
    }
    panic!("{series} never reached {value} (now {})", metric(series).await);
}

const OPEN: &str = "chat_connections{transport=\"websocket\"}";
const ATTEMPTS: &str = "chat_connect_attempts_total";

#[wasm_bindgen_test]
async fn connect_resolves_with_connection_id_and_me() {
    let client = client();
    let opened =
        settle(client.connect_user(user("web-alice", "Alice"), token(&client, "web-alice")))
            .await
            .unwrap();
    let connection_id = get(&opened, "connection_id").as_string().unwrap();
    assert!(!connection_id.is_empty());
    assert_eq!(get(&opened, "type").as_string().as_deref(), Some("health.check"));
    assert_eq!(get(&opened, "me.name").as_string().as_deref(), Some("Alice"));
    assert_eq!(get(&opened, "me.privacy_settings.typing_indicators.enabled").as_bool(), Some(true));
    assert_eq!(client.connection_id().as_string(), Some(connection_id));
    assert_eq!(client.user_id().as_string().as_deref(), Some("web-alice"));
    assert_eq!(
        get(&client.user(), "role").as_string().as_deref(),
        Some("user"),
        "client.user is the server's me"
    );
    settle(client.disconnect_user(None)).await.unwrap();
    assert!(client.connection_id().is_undefined());
    assert!(client.user().is_undefined());
}

#[wasm_bindgen_test]
async fn invalid_id_and_oversized_user_reject_without_a_network_call() {
    let client = client();
    let before = metric(ATTEMPTS).await;
    let error = settle(client.connect_user(user("Not Valid!", "x"), token(&client, "Not Valid!")))
        .await
        .unwrap_err();
    assert_eq!(get(&error, "code").as_f64(), Some(4.0));
    assert_eq!(get(&error, "StatusCode").as_f64(), Some(400.0));
    assert!(get(&error, "message").as_string().unwrap().contains("Not Valid!"));

    let big = object(&[("id", "web-big".into()), ("bio", "x".repeat(6000).into())]);
    let error = settle(client.connect_user(big, token(&client, "web-big"))).await.unwrap_err();
    assert_eq!(get(&error, "code").as_f64(), Some(4.0));

    let missing = settle(client.connect_user(object(&[]), "a.b.c".into())).await.unwrap_err();
    assert_eq!(get(&missing, "code").as_f64(), Some(4.0));
    let mismatch =
        settle(client.connect_user(user("web-x", "X"), token(&client, "web-y"))).await.unwrap_err();
    assert_eq!(get(&mismatch, "code").as_f64(), Some(5.0));
    assert_eq!(metric(ATTEMPTS).await, before, "no connect request reached the server");
}

#[wasm_bindgen_test]
async fn tokens_that_are_not_jwts_reject_without_a_network_call() {
    let client = client();
    let before = metric(ATTEMPTS).await;
    let not_jwts = [
        "abc",
        "a.b",
        "a.b.c.d",
        ".eyJ1c2VyX2lkIjoid2ViLXoifQ.sig",
        "a.!!!.c",
        "a.ey=J1.c",
        // Not JSON; JSON but not an object; a `user_id` that is not a string; bytes that are not UTF-8.
        "a.bm90IGpzb24.c",
        "a.NDI.c",
        "a.eyJ1c2VyX2lkIjo1fQ.c",
        "a._w.c",
    ];
    for token in not_jwts {
        let error =
            settle(client.connect_user(user("web-z", "Z"), token.into())).await.unwrap_err();
        assert_eq!(get(&error, "code").as_f64(), Some(43.0), "{token}");
        let message = get(&error, "message").as_string().unwrap();
        assert!(message.contains("not a valid JWT"), "{token}: {message}");
    }
    assert_eq!(metric(ATTEMPTS).await, before, "no connect request reached the server");
}

#[wasm_bindgen_test]
async fn a_base64url_unpadded_payload_is_read() {
    let client = client();
    // {"user_id":"web-b64url","note":"??~"}: `_` where base64 has `/`, no `=` padding.
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.\
                 eyJ1c2VyX2lkIjoid2ViLWI2NHVybCIsIm5vdGUiOiI_P34ifQ.devtoken";
    let me = settle(client.connect_user(user("web-b64url", "U"), token.into())).await.unwrap();
    assert_eq!(get(&me, "me.id").as_string().as_deref(), Some("web-b64url"));
    // The dev token is the official client's, byte for byte, for an ASCII id.
    let dev = client.dev_token("web-b64url".into()).as_string().unwrap();
    assert_eq!(
        dev,
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ1c2VyX2lkIjoid2ViLWI2NHVybCJ9.devtoken"
    );
}

#[wasm_bindgen_test]
async fn wrong_signature_rejects_with_code_43() {
    let client = client();
    let dev = client.dev_token("web-carol".into()).as_string().unwrap();
    let forged = dev.replace("devtoken", "c2lnbmF0dXJl");
    let error =
        settle(client.connect_user(user("web-carol", "Carol"), forged.into())).await.unwrap_err();
    assert_eq!(get(&error, "code").as_f64(), Some(43.0));
    assert_eq!(get(&error, "StatusCode").as_f64(), Some(401.0));
    // The official client's shape: the message is JSON with the same fields (apps do
    // `JSON.parse(err.message).code`).
    let inner = js_sys::JSON::parse(&get(&error, "message").as_string().unwrap()).unwrap();
    assert_eq!(get(&inner, "code").as_f64(), Some(43.0));
    assert_eq!(get(&inner, "StatusCode").as_f64(), Some(401.0));
    assert_eq!(get(&inner, "isWSFailure").as_bool(), Some(false));
    assert!(get(&inner, "message").as_string().unwrap().starts_with("WS failed with code 43"));
    // A refused connect forgets the user: connecting again (here as someone else) is allowed.
    assert!(client.user_id().is_undefined());
}

#[wasm_bindgen_test]
async fn token_provider_is_called_and_its_token_used() {
    let client = client();
    let calls = js_sys::Array::new();
    let token: JsValue = client.dev_token("web-dave".into());
    let provider = {
        let calls = calls.clone();
        Closure::<dyn FnMut() -> Promise>::new(move || {
            calls.push(&JsValue::TRUE);
            Promise::resolve(&token)
        })
    };
    let provider: Function = provider.into_js_value().unchecked_into();
    let opened =
        settle(client.connect_user(user("web-dave", "Dave"), provider.into())).await.unwrap();
    assert_eq!(get(&opened, "me.id").as_string().as_deref(), Some("web-dave"));
    assert_eq!(calls.length(), 1);
    settle(client.disconnect_user(None)).await.unwrap();

    // The provider's token is what goes out: a forged one is refused by the server.
    let forged: JsValue = client
        .dev_token("web-dave".into())
        .as_string()
        .unwrap()
        .replace("devtoken", "Zm9yZ2Vk")
        .into();
    let provider: Function =
        Closure::<dyn FnMut() -> Promise>::new(move || Promise::resolve(&forged))
            .into_js_value()
            .unchecked_into();
    let error =
        settle(client.connect_user(user("web-dave", "Dave"), provider.into())).await.unwrap_err();
    assert_eq!(get(&error, "code").as_f64(), Some(43.0));
}

#[wasm_bindgen_test]
async fn same_user_twice_is_one_connection_and_disconnect_drops_it() {
    wait_metric(OPEN, 0.0).await;
    let client = client();
    let erin = token(&client, "web-erin");
    let first = client.connect_user(user("web-erin", "Erin"), erin.clone());
    let second = client.connect_user(user("web-erin", "Erin"), erin);
    assert_eq!(JsValue::from(&first), JsValue::from(&second), "the same promise");
    settle(first).await.unwrap();
    settle(second).await.unwrap();
    assert_eq!(metric(OPEN).await, 1.0);

    let other =
        settle(client.connect_user(user("web-frank", "Frank"), token(&client, "web-frank")))
            .await
            .unwrap_err();
    assert_eq!(get(&other, "code").as_f64(), Some(4.0));
    assert!(get(&other, "message").as_string().unwrap().contains("disconnect"));

    settle(client.disconnect_user(None)).await.unwrap();
    wait_metric(OPEN, 0.0).await;
}

#[wasm_bindgen_test]
async fn listeners_receive_events_and_unsubscribe() {
    let client = client();
    let seen = js_sys::Array::new();
    let handler: Function = {
        let seen = seen.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            seen.push(&get(&event, "type"));
        })
        .into_js_value()
        .unchecked_into()
    };
    let unsubscribe: Function =
        client.on("health.check".into(), handler.clone().into()).unwrap().unchecked_into();
    let changes = js_sys::Array::new();
    let on_change: Function = {
        let changes = changes.clone();
        Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            changes.push(&get(&event, "online"));
        })
        .into_js_value()
        .unchecked_into()
    };
    client.on("connection.changed".into(), on_change.into()).unwrap();
    settle(client.connect_user(user("web-gina", "Gina"), token(&client, "web-gina")))
        .await
        .unwrap();
    assert_eq!(seen.length(), 1, "the first health.check reaches listeners");
    assert_eq!(seen.get(0).as_string().as_deref(), Some("health.check"));
    assert_eq!(changes.get(0).as_bool(), Some(true), "connection.changed {{online: true}}");
    assert!(get(&unsubscribe, "unsubscribe").is_function());
    unsubscribe.call0(&JsValue::NULL).unwrap();
    settle(client.disconnect_user(None)).await.unwrap();
    settle(client.connect_user(user("web-gina", "Gina"), token(&client, "web-gina")))
        .await
        .unwrap();
    assert_eq!(seen.length(), 1, "no events after unsubscribe");
    settle(client.disconnect_user(None)).await.unwrap();
}

#[wasm_bindgen_test]
async fn disconnect_rejects_a_pending_connect() {
    let client = client();
    let pending = client.connect_user(user("web-hal", "Hal"), token(&client, "web-hal"));
    let done = client.disconnect_user(None);
    let error = settle(pending).await.unwrap_err();
    assert!(get(&error, "message").as_string().unwrap().contains("disconnectUser"));
    settle(done).await.unwrap();
}

#[wasm_bindgen_test]
fn get_instance_returns_the_same_object() {
    let options = object(&[("baseURL", SERVER.into())]);
    let first = StreamChat::get_instance("demo-key".into(), options, JsValue::UNDEFINED);
    let second = StreamChat::get_instance("other".into(), JsValue::UNDEFINED, JsValue::UNDEFINED);
    assert_eq!(first, second);
    let client = client();
    assert_eq!(client.ws_base_url(), SERVER.replacen("http", "ws", 1));
    assert_eq!(client.base_url(), SERVER);
    assert_eq!(client.timeout(), 3000);
}

#[wasm_bindgen_test]
async fn a_dropped_client_closes_its_socket_and_its_channels_reject() {
    wait_metric(OPEN, 0.0).await;
    let client = client();
    settle(client.connect_user(user("web-gina", "Gina"), token(&client, "web-gina")))
        .await
        .unwrap();
    let members = object(&[("members", js_sys::Array::of1(&"web-gina".into()).into())]);
    let channel = client.channel("messaging".into(), Some("web-drop".into()), members);
    let watch: Function = get(&channel, "watch").unchecked_into();
    settle(watch.call0(&channel).unwrap()).await.unwrap();
    assert_eq!(metric(OPEN).await, 1.0);

    // The channel object stays alive (the app keeps it), yet dropping the client frees it: no cycle.
    drop(client);
    wait_metric(OPEN, 0.0).await;
    let error = settle(watch.call0(&channel).unwrap()).await.unwrap_err();
    assert!(get(&error, "message").as_string().unwrap().contains("disconnect"));
}
