//! What `Channel` methods and `queryChannels` do: async code that builds the request, awaits the REST call and
//! applies the answer to the channel's state. Also the channel registry (one `Channel` object per cid), typing
//! (keystroke throttle, automatic stop, remote expiry) and the re-query of watched channels after a reconnect.
//!
//! Channels hold the client weakly; once `disconnectUser()` forgot them (or the client is gone), every method
//! rejects with "You can't use a channel after client.disconnect() was called", as the official client's do.

use alloc::string::String;

use js_sys::{Date, Object, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::client::ChatError;
use crate::platform::errors::to_js_error;
use crate::platform::values::{copy, get, object, set};
use crate::runtime::channels::typing_allowed;
use crate::runtime::client::Port;
use crate::runtime::request::channel_path;
use crate::runtime::request::{send, Apply, Request, Scope, Then};

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// `sendMessage`'s body, `{...options, message}`: the message copied with its id (a new v4 uuid, written back
    /// to the app's object too, when it has none) and, when it failed before (a retry), without the fields the
    /// SDK and the server added.
    #[wasm_bindgen(js_name = messageBody)]
    fn message_body(message: &JsValue, options: &JsValue) -> JsValue;
}

/// `watch()` / `query()`: get or create the channel and rebuild its state. The app's options are merged into the
/// body with no borrow held (a getter of the app's may call back into the SDK).
pub fn query(port: Port, key: u32, options: JsValue, watch: bool) -> Promise {
    let slot_view = port.client().and_then(|client| {
        let mut state = client.state_mut();
        let slot =
            state.slot(key).ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))?;
        slot.watch_pending |= watch;
        let data = if slot.data.is_object() { slot.data.clone() } else { Object::new().into() };
        Ok((channel_path(&slot.kind, slot.id.as_deref(), "query"), data))
    });
    let (path, data) = match slot_view {
        Ok(view) => view,
        Err(error) => return Promise::reject(&error),
    };
    let body = object(&[
        ("data", data),
        ("state", true.into()),
        ("watch", watch.into()),
        ("presence", false.into()),
    ]);
    let options = Object::try_from(&options).cloned().unwrap_or_default();
    let body: JsValue = Object::assign(&body.into(), &options).into();
    let apply: Apply = |client, key, mark, body, answer| {
        let own = client.state_ref().user.clone();
        let mut latest = JsValue::UNDEFINED;
        if let Some(slot) = client.state_mut().slot(key) {
            slot.apply_response(answer, &own, &get(body, "messages"), Date::now());
            slot.watching |= get(body, "watch").is_truthy();
            slot.watch_pending = false;
            latest = get(&slot.state, "isUpToDate");
        }
        client.replay_since(mark, key);
        client.show_waiting(key);
        client.keep(&JsValue::UNDEFINED, answer);
        client.tell_queried(js_sys::Array::of1(answer).into(), latest);
        answer.clone()
    };
    let request = Request::new("POST", path, body);
    let server = send(&port, Request { key, apply: Some(apply), snapshot: true, ..request });
    if watch {
        crate::runtime::cache::channel_from_cache_first(port, key, server)
    } else {
        server
    }
}

/// A call on a channel: `POST /channels/{type}/{id}/{action}` with `body`; `then` runs on the channel's slot after
/// success, with the answer and the own user's id. Rejects as `scope` says (no id yet; never queried) or when the
/// channel is gone.
pub fn channel_call(
    port: Port,
    key: u32,
    (scope, action): (Scope, &'static str),
    body: JsValue,
    then: Then,
) -> Promise {
    let path = if action.is_empty() { String::new() } else { String::from("/") + action };
    let request = Request::new("POST", path, body);
    send(&port, Request { scope, key, then: Some(then), ..request })
}

/// `sendMessage(message, options)`: the message gets a client-generated id unless it has one, written back to the
/// app's message object too, so that sending the same object again after a failure (a timeout the server may have
/// stored) reuses the id and never duplicates the message.
pub fn send_message(port: Port, key: u32, message: &JsValue, options: &JsValue) -> Promise {
    let body = message_body(message, options);
    let message = get(&body, "message");
    let id = get(&message, "id");
    if let Ok(client) = port.client() {
        if let Some(held) = client.hold(key, &message, &body) {
            return crate::platform::errors::with_message_id(&held, &id);
        }
    }
    // The sent message is in the state when the promise resolves, as with the official client (the
    // `message.new` that follows changes nothing: one entry per id).
    let sent = channel_call(port, key, (Scope::Channel, "message"), body, |slot, answer, own| {
        slot.apply_sent(&get(answer, "message"), own, Date::now())
    });
    crate::platform::errors::with_message_id(&sent, &id)
}

/// `keystroke()`: `typing.start` at most every 2 s, only where typing is allowed; `typing.stop` follows by itself.
pub fn keystroke(port: Port, key: u32, parent_id: Option<String>) -> Promise {
    let send = port.client().map(|client| {
        let send = {
            let mut state = client.state_mut();
            let allowed = typing_allowed(&state.user);
            let now = Date::now();
            match state.slot(key) {
                Some(slot) if allowed && slot.initialized && slot.config("typing_events") => {
                    Some(slot.own_typing.keystroke(now))
                }
                Some(_) => Some(false),
                None => None,
            }
        };
        client.schedule_cleaner();
        send
    });
    match send {
        Ok(Some(true)) => typing_event(port, key, "typing.start", parent_id),
        Ok(Some(false)) => Promise::resolve(&JsValue::UNDEFINED),
        Ok(None) | Err(_) => Promise::reject(&to_js_error(&ChatError::ChannelAfterDisconnect)),
    }
}

/// `stopTyping()`: `typing.stop` if the own user was typing, only where typing is allowed.
pub fn stop_typing(port: Port, key: u32, parent_id: Option<String>) -> Promise {
    let send = port.client().map(|client| {
        let mut state = client.state_mut();
        let allowed = typing_allowed(&state.user);
        state.slot(key).map(|slot| slot.own_typing.stop() && allowed)
    });
    match send {
        Ok(Some(true)) => typing_event(port, key, "typing.stop", parent_id),
        Ok(Some(false)) => Promise::resolve(&JsValue::UNDEFINED),
        Ok(None) | Err(_) => Promise::reject(&to_js_error(&ChatError::ChannelAfterDisconnect)),
    }
}

fn typing_event(port: Port, key: u32, kind: &str, parent_id: Option<String>) -> Promise {
    let event = object(&[("type", kind.into())]);
    if let Some(parent_id) = parent_id {
        set(&event, "parent_id", &parent_id.into());
    }
    channel_call(port, key, (Scope::Watched, "event"), object(&[("event", event)]), |_, _, _| {})
}

/// `getReplies(parentId, options)`: a page of the thread (`limit`, `id_lt`), filed into `state.threads`.
pub fn get_replies(port: Port, key: u32, parent_id: &str, options: &JsValue) -> Promise {
    let mut path = String::from("/messages/")
        + &String::from(js_sys::encode_uri_component(parent_id))
        + "/replies";
    for name in ["limit", "id_lt"] {
        let value = get(options, name);
        let number = value.as_f64().map(|n| {
            let mut text = String::new();
            stream_chat_protocol::user::push_decimal(&mut text, n as u64);
            text
        });
        if let Some(value) = value.as_string().or(number) {
            crate::platform::http::push_param(&mut path, name, &value);
        }
    }
    let then: Then = |slot, page, _| slot.apply_replies(page);
    send(&port, Request { key, then: Some(then), ..Request::new("GET", path, JsValue::UNDEFINED) })
}

/// `markRead()`: only on channels whose config has read events (as the official client; resolves `null`
/// otherwise).
pub fn mark_read(port: Port, key: u32, data: &JsValue) -> Promise {
    let enabled = port.client().map(|client| {
        client.state_mut().slot(key).map(|s| !s.initialized || s.config("read_events"))
    });
    match enabled {
        Ok(Some(false)) => Promise::resolve(&JsValue::NULL),
        _ => channel_call(port, key, (Scope::Watched, "read"), copy(data), |_, _, _| {}),
    }
}
