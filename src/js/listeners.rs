//! Event handlers as the official client takes them: `on(type, handler)` or `on(handler)`, and the function that
//! removes one again (also callable as its `unsubscribe` method).

use alloc::rc::Rc;
use alloc::string::String;

use js_sys::{Function, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::runtime::client::Client;

/// Registers a handler on the client (`channel` `None`) or a channel; returns a function that removes it and
/// also has an `unsubscribe` method, as the official client's return value does.
pub(super) fn subscribe(
    client: &Rc<Client>,
    channel: Option<u32>,
    kind: Option<String>,
    handler: Function,
) -> Result<JsValue, JsValue> {
    let id = client.add_listener(channel, kind, handler);
    let client = Rc::downgrade(client);
    let unsubscribe = Closure::<dyn FnMut()>::new(move || {
        if let Some(client) = client.upgrade() {
            client.remove_listener(channel, id);
        }
    })
    .into_js_value();
    Reflect::set(&unsubscribe, &"unsubscribe".into(), &unsubscribe)?;
    Ok(unsubscribe)
}

/// `(type, handler)` or `(handler)` → the type (`None` for every event) and the handler.
pub(super) fn listener_args(
    first: JsValue,
    second: JsValue,
) -> Result<(Option<String>, Function), JsValue> {
    let (kind, handler) = match first.as_string() {
        Some(kind) => (Some(kind).filter(|kind| kind != "all"), second),
        None => (None, first),
    };
    let handler = handler
        .dyn_into::<Function>()
        .map_err(|_| js_sys::TypeError::new("handler must be a function"))?;
    Ok((kind, handler))
}

/// A string, or `undefined`.
pub(super) fn optional(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::UNDEFINED, JsValue::from)
}
