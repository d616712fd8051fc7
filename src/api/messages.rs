//! One message by id, as the official client's methods send it: `updateMessage` (`POST /messages/{id}`, the
//! whole message), `partialUpdateMessage` (`PUT`, `set` / `unset`), `deleteMessage` (`DELETE`, soft or `hard`).
//! `getMessage` and the reactions are rows of `routes.rs`. The channels' state follows from the `message.updated` /
//! `message.deleted` events every watcher gets, this client included.

use alloc::string::String;

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::client::ChatError;
use crate::platform::errors::to_js_error;
use crate::platform::values::{get, object, text};
use crate::runtime::client::Port;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// `updateMessage`'s body as the official client's `toUpdatedMessagePayload` forms it: `{...options, message}`
    /// with the message copied without the server's and the SDK's own fields (`RESERVED_UPDATED_MESSAGE_FIELDS`,
    /// `LOCAL_MESSAGE_FIELDS`; `status` kept), `pinned` while it has a pin time, mentions as user ids, and
    /// `user_id` from `userId` (a user or an id).
    #[wasm_bindgen(js_name = updatePayload)]
    fn update_payload(message: &JsValue, user_id: &JsValue, options: &JsValue) -> JsValue;
    /// `partialUpdateMessage`'s body: `{...options, set, unset, user_id}`, each only when given; `user_id` from
    /// `userId` (a user or an id).
    #[wasm_bindgen(js_name = partialPayload)]
    fn partial_payload(update: &JsValue, user_id: &JsValue, options: &JsValue) -> JsValue;
    /// The update `pinMessage` (`pinned`) and `unpinMessage` send: `{set: {pinned, pin_expires}}`, the pin's end
    /// as the official client's `_normalizeExpiration` writes it (seconds from now, a time string as it is, a
    /// `Date` as ISO text; otherwise null), no end when unpinning.
    #[wasm_bindgen(js_name = pinUpdate)]
    fn pin_update(expires: &JsValue, pinned: bool) -> JsValue;
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
    send(port, "POST", path(&id), update_payload(message, user_id, options))
}

/// `partialUpdateMessage(id, {set, unset}, userId, options)`.
pub fn partial_update_message(
    port: Port,
    id: &str,
    update: &JsValue,
    user_id: &JsValue,
    options: &JsValue,
) -> Promise {
    send(port, "PUT", path(id), partial_payload(update, user_id, options))
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
    partial_update_message(port, &id, &pin_update(expires, pinned), user_id, &JsValue::UNDEFINED)
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
