//! [`ChatError`]s as the JS errors the official client throws, so app code written for it branches the same way:
//! - `connectUser` rejects with an `Error` whose `message` is the JSON text `{code, StatusCode, message,
//!   isWSFailure}` (apps do `JSON.parse(err.message).code`), with `code`, `StatusCode` and `isWSFailure` also set
//!   as properties;
//! - a REST call the server refused rejects like `ErrorFromResponse`: message `StreamChat error code N: …`,
//!   `name`, `code`, `status` and `response` (`{data, status}`);
//! - a REST call with no answer rejects like the official client's axios errors: `code` `ECONNABORTED` for a
//!   timeout, `ERR_NETWORK` for a network failure;
//! - everything else: an `Error` with the message, and `code` / `StatusCode` where the protocol has them.
//!
//! A failed `sendMessage` also carries the message's id as `message_id`, so a retry can reuse it.

use alloc::string::String;

use js_sys::{Reflect, JSON};
use serde::ser::{Serialize, SerializeMap};
use stream_chat_protocol::ErrorBody;
use wasm_bindgen::JsValue;

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;

use super::shapes::{as_i32, shape, ErrorShape};
use super::values::{object, set, to_js};
use crate::client::ChatError;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// `promise`, whose rejection (an `Error`) carries `message_id: id`.
    #[wasm_bindgen(js_name = withMessageId)]
    pub fn with_message_id(promise: &Promise, id: &JsValue) -> Promise;
}

/// The JSON inside a failed `connectUser`'s message (the official client's shape and field names).
#[derive(Debug)]
struct ConnectFailure<'a> {
    /// The protocol code.
    code: Option<i32>,
    /// The HTTP status.
    status_code: Option<u16>,
    /// What went wrong.
    message: &'a str,
    /// Whether the connection failed at the network level (not refused).
    is_ws_failure: bool,
}

/// As a map, not a struct (see [`to_js`]).
impl Serialize for ConnectFailure<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(4))?;
        map.serialize_entry("code", &self.code)?;
        map.serialize_entry("StatusCode", &self.status_code)?;
        map.serialize_entry("message", self.message)?;
        map.serialize_entry("isWSFailure", &self.is_ws_failure)?;
        map.end()
    }
}

/// The JS `Error` a failed `connectUser` rejects with.
pub fn connect_error(error: &ChatError) -> JsValue {
    let message = match error {
        // The official client wraps a refusal this way (connection.ts `_errorFromWSEvent`).
        ChatError::Server(body) => {
            let mut text = String::from("WS failed with code ");
            stream_chat_protocol::user::push_decimal(&mut text, body.code.unsigned_abs().into());
            text + " and reason - " + &body.message
        }
        other => other.message(),
    };
    let failure = ConnectFailure {
        code: error.code(),
        status_code: error.status_code(),
        message: &message,
        is_ws_failure: error.is_ws_failure(),
    };
    let json =
        JSON::stringify(&to_js(&failure)).ok().and_then(|text| text.as_string()).unwrap_or(message);
    with_properties(js_sys::Error::new(&json).into(), error)
}

/// The JS `Error` for any other failure.
pub fn to_js_error(error: &ChatError) -> JsValue {
    let js_error: JsValue = js_sys::Error::new(&error.message()).into();
    match error {
        ChatError::RequestTimeout { .. } => set(&js_error, "code", &"ECONNABORTED".into()),
        ChatError::Network(_) => set(&js_error, "code", &"ERR_NETWORK".into()),
        _ => return with_properties(js_error, error),
    }
    js_error
}

/// `code`, `StatusCode` and `isWSFailure` as properties of `js_error`.
fn with_properties(js_error: JsValue, error: &ChatError) -> JsValue {
    if let Some(code) = error.code() {
        set(&js_error, "code", &code.into());
    }
    if let Some(status) = error.status_code() {
        set(&js_error, "StatusCode", &status.into());
    }
    set(&js_error, "isWSFailure", &error.is_ws_failure().into());
    js_error
}

/// The protocol's error body (PROTOCOL.md §5.2) read from a frame's `error` or a REST answer, when it has a code:
/// every other field is optional (a service that leaves one out still gets its code through), and one of the wrong
/// type counts as absent. `status` stands in for a missing `StatusCode`.
pub fn error_body(value: &JsValue, status: u16) -> Option<ErrorBody> {
    let fields = shape::<ErrorShape>(value)?;
    let text = |value: JsValue| value.as_string().unwrap_or_default();
    Some(ErrorBody {
        code: as_i32(&fields.code())?,
        message: text(fields.message()),
        status_code: as_i32(&fields.status_code())
            .and_then(|status| u16::try_from(status).ok())
            .unwrap_or(status),
        duration: text(fields.duration()),
        more_info: text(fields.more_info()),
    })
}

/// The error for a REST answer with a non-2xx `status` and its parsed `body`: the official `ErrorFromResponse`.
pub fn response_error(status: u16, body: &JsValue) -> JsValue {
    let parsed = error_body(body, status);
    let code = parsed.as_ref().map(|body| body.code);
    let message = match &parsed {
        Some(body) => ChatError::Server(body.clone()).message(),
        None => {
            let mut text = String::from("StreamChat error HTTP code: ");
            stream_chat_protocol::user::push_decimal(&mut text, status.into());
            text
        }
    };
    let error: JsValue = js_sys::Error::new(&message).into();
    set(&error, "name", &"ErrorFromResponse".into());
    set(&error, "code", &code.map_or(JsValue::NULL, JsValue::from));
    set(&error, "status", &status.into());
    if let Some(body) = &parsed {
        set(&error, "StatusCode", &body.status_code.into());
    }
    set(&error, "response", &object(&[("data", body.clone()), ("status", status.into())]));
    error
}

/// A readable description of a thrown JS value.
pub fn describe(error: &JsValue) -> String {
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|message| message.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
