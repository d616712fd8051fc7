//! One message by id, as the official client's methods send it: `updateMessage` (`POST /messages/{id}`, the
//! whole message), `partialUpdateMessage` (`PUT`, `set` / `unset`), `deleteMessage` (`DELETE`, soft or `hard`).
//! `getMessage` and the reactions are rows of `routes.rs`. The channels' state follows from the `message.updated` /
//! `message.deleted` events every watcher gets, this client included.

use alloc::string::String;

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::{JsCast, JsValue};

use crate::client::ChatError;
use crate::platform::errors::to_js_error;
use crate::platform::values::{copy, get, object, set, text};
use crate::runtime::client::Port;

/// Fields of a message as apps hold it that an update leaves out: the server's, and the client's own (the
/// official client's `RESERVED_UPDATED_MESSAGE_FIELDS` and `LOCAL_MESSAGE_FIELDS`, which `toUpdatedMessagePayload`
/// drops). `pinned` and `mentioned_users` go back in their update form.
const SERVER_FIELDS: &[&str] = &[
    "created_at",
    "deleted_at",
    "pinned_at",
    "updated_at",
    "command",
    "mentioned_groups",
    "mentioned_users",
    "quoted_message",
    "latest_reactions",
    "own_reactions",
    "reaction_counts",
    "reply_count",
    "i18n",
    "type",
    "html",
    "__html",
    "user",
    "error",
];

/// Takes out of `message` (a copy the SDK made) the fields the server and the SDK add (`updateMessage` keeps
/// `status`, as the official client's payload does).
fn strip_fields(message: &JsValue, fields: &[&str]) {
    for key in fields {
        let _ = Reflect::delete_property(message.unchecked_ref::<Object>(), &(*key).into());
    }
}

/// A failed message sent again (`runtime/outbox.rs`): without the server's fields, its failure or its status.
pub fn strip_local_fields(message: &JsValue) {
    strip_fields(message, SERVER_FIELDS);
    strip_fields(message, &["status", "errorStatusCode"]);
}

/// `/messages/{id}`.
fn path(id: &str) -> String {
    String::from("/messages/") + &String::from(js_sys::encode_uri_component(id))
}

/// `method /messages/{id}` with `body`, as a promise.
fn send(port: Port, method: &'static str, path: String, body: JsValue) -> Promise {
    crate::runtime::request::send(&port, crate::runtime::request::Request::new(method, path, body))
}

/// The message's id, or the rejection for a message without one.
fn id_of(message: &JsValue) -> Result<String, Promise> {
    text(message, "id").filter(|id| !id.is_empty()).ok_or_else(|| {
        Promise::reject(&to_js_error(&ChatError::InvalidArgument(
            "Please specify the message.id when calling updateMessage",
        )))
    })
}

/// `updateMessage(message, userId, options)`.
pub fn update_message(
    port: Port,
    message: &JsValue,
    user_id: &JsValue,
    options: &JsValue,
) -> Promise {
    let id = match id_of(message) {
        Ok(id) => id,
        Err(rejected) => return rejected,
    };
    let payload = copy(message);
    strip_fields(&payload, SERVER_FIELDS);
    // As the official client sends them: pinned while it has a pin time, mentions as user ids.
    set(&payload, "pinned", &get(message, "pinned_at").is_truthy().into());
    let mentioned = get(message, "mentioned_users");
    if Array::is_array(&mentioned) {
        let ids: Array = Array::from(&mentioned)
            .iter()
            .map(|user| if user.is_string() { user } else { get(&user, "id") })
            .collect();
        set(&payload, "mentioned_users", &ids);
    }
    if let Some(user) = text(user_id, "id").or_else(|| user_id.as_string()) {
        set(&payload, "user_id", &user.into());
    }
    let body = copy(options);
    set(&body, "message", &payload);
    send(port, "POST", path(&id), body)
}

/// `partialUpdateMessage(id, {set, unset}, userId, options)`.
pub fn partial_update_message(
    port: Port,
    id: &str,
    update: &JsValue,
    user_id: &JsValue,
    options: &JsValue,
) -> Promise {
    let body = copy(options);
    for key in ["set", "unset"] {
        let value = get(update, key);
        if !value.is_undefined() {
            set(&body, key, &value);
        }
    }
    if let Some(user) = text(user_id, "id").or_else(|| user_id.as_string()) {
        set(&body, "user_id", &user.into());
    }
    send(port, "PUT", path(id), body)
}

/// `pinMessage(messageOrId, timeoutOrExpirationDate, pinnedBy)` (`pinned`: true) and `unpinMessage(messageOrId,
/// userId)` (false): a partial update of `pinned` (and `pin_expires`), as the official client sends it.
pub fn pin_message(
    port: Port,
    message: &JsValue,
    expires: &JsValue,
    user_id: &JsValue,
    pinned: bool,
) -> Promise {
    let Some(id) = message.as_string().or_else(|| text(message, "id")) else {
        let error =
            ChatError::InvalidArgument("Please specify the message id when calling pinMessage");
        return Promise::reject(&to_js_error(&error));
    };
    let set_fields = object(&[("pinned", pinned.into())]);
    if pinned {
        set(&set_fields, "pin_expires", &expiration(expires));
    }
    let update = object(&[("set", set_fields)]);
    partial_update_message(port, &id, &update, user_id, &JsValue::UNDEFINED)
}

/// A pin's end as the official client's `_normalizeExpiration` writes it: seconds from now, a time string as it
/// is, a `Date` as ISO text; otherwise null.
fn expiration(value: &JsValue) -> JsValue {
    if let Some(seconds) = value.as_f64() {
        let at = js_sys::Date::new(&(js_sys::Date::now() + seconds * 1000.0).into());
        return at.to_iso_string().into();
    }
    if value.is_string() {
        return value.clone();
    }
    match value.dyn_ref::<js_sys::Date>() {
        Some(date) => date.to_iso_string().into(),
        None => JsValue::NULL,
    }
}

/// `deleteMessage(id, hardDelete | {hardDelete})`.
pub fn delete_message(port: Port, id: &str, hard: &JsValue) -> Promise {
    let hard = hard.as_bool().unwrap_or_else(|| get(hard, "hardDelete").is_truthy());
    let mut path = path(id);
    if hard {
        path.push_str("?hard=true");
    }
    send(port, "DELETE", path, object(&[]))
}
