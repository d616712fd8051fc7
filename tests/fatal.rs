//! After a trap (a bug in the SDK; here one made on purpose, while the client's state is borrowed), in headless
//! Chromium against the real server: the SDK stops instead of half-working. The call in flight rejects with the
//! fatal error, `client.fatal` reaches the handlers, and every later call rejects with the same error. A file of
//! its own: a trap stops every client of the module.

#![cfg(target_arch = "wasm32")]

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

mod common;

use common::{call, channel, connected, get, next_event, object, settle, unique};

wasm_bindgen_test_configure!(run_in_browser);

/// The message of a rejection.
fn message_of(error: &JsValue) -> String {
    get(error, "message").as_string().unwrap_or_default()
}

#[wasm_bindgen_test]
async fn after_a_trap_everything_rejects_with_the_fatal_error_and_handlers_hear_of_it() {
    let me = format!("alice-{}", unique());
    let client = connected(&me, &[]).await;
    let room = channel(&client, &format!("fatal-{}", unique()), &[&me]);
    let js: JsValue = client.into();
    let fatal = next_event(&js, "client.fatal", |_| true);
    // A call in flight when the trap happens.
    let in_flight = call(&room, "watch", &[]);

    let trap: Function = Reflect::get(&js, &"trapForTests".into()).unwrap().unchecked_into();
    let trapped = trap.call0(&js).expect_err("the trap throws");
    assert!(trapped.is_instance_of::<js_sys::WebAssembly::RuntimeError>(), "{trapped:?}");

    let error = settle(in_flight).await.expect_err("the call in flight rejects");
    assert!(message_of(&error).contains("internal error"), "{}", message_of(&error));
    let event = fatal.await.expect("client.fatal reached the handler");
    assert_eq!(get(&event, "type").as_string().as_deref(), Some("client.fatal"));
    assert!(message_of(&get(&event, "error")).contains("internal error"));

    // Every later call rejects with it, none hangs.
    let later = settle(call(&js, "queryUsers", &[object(&[("id", me.as_str().into())])])).await;
    assert!(message_of(&later.expect_err("queryUsers rejects")).contains("internal error"));
    let send = settle(call(&room, "sendMessage", &[object(&[("text", "after".into())])])).await;
    assert!(message_of(&send.expect_err("sendMessage rejects")).contains("internal error"));
    let again = common::client();
    let connect = settle(again.connect_user(object(&[("id", "bob".into())]), "token".into())).await;
    assert!(connect.is_err(), "a new connectUser rejects too");
}
