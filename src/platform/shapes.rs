//! The JS objects the SDK reads fields of, as wasm-bindgen typed imports: each getter is one property read in the
//! glue, with no parsing and no error formatting in the wasm (serde-wasm-bindgen's deserializer, which this
//! replaced, cost 20 KB gzip, nearly all of it `core::fmt` and float printing reached through its type errors).
//!
//! A token's claims are read the same way, after one JS helper has split the token and decoded its payload
//! (`atob`, a strict UTF-8 decode, `JSON.parse`): the wasm has no base64 decoder and no UTF-8 validation of its own.
//!
//! Getters return `JsValue` and the caller checks the type (`as_string`, `as_f64`, `as_bool`): an app's object
//! may hold anything, and a typed return (`Option<String>`) would hand the glue a value it cannot convert. A getter
//! on `null` or `undefined` throws, so every read goes through [`shape`], which gives `None` for non-objects.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

/// `value` seen as shape `T` when it is an object (or a function: apps pass either), `None` otherwise.
pub fn shape<T: JsCast>(value: &JsValue) -> Option<&T> {
    (value.is_object() || value.is_function()).then(|| value.unchecked_ref::<T>())
}

#[wasm_bindgen]
extern "C" {
    /// The options of `new StreamChat(apiKey, options)` the SDK reads; others are ignored, as by the official
    /// client.
    #[derive(Debug)]
    pub type ClientOptionsShape;
    /// REST base URL.
    #[wasm_bindgen(method, getter = baseURL)]
    pub fn base_url(this: &ClientOptionsShape) -> JsValue;
    /// REST timeout in milliseconds.
    #[wasm_bindgen(method, getter)]
    pub fn timeout(this: &ClientOptionsShape) -> JsValue;
    /// Whether the long-poll fallback may be used.
    #[wasm_bindgen(method, getter = enableWSFallback)]
    pub fn enable_ws_fallback(this: &ClientOptionsShape) -> JsValue;
    /// How long a WebSocket may go without its first frame before falling back.
    #[wasm_bindgen(method, getter = wsFallbackTimeout)]
    pub fn ws_fallback_timeout(this: &ClientOptionsShape) -> JsValue;
    /// The first interval between WebSocket probes while on long-poll.
    #[wasm_bindgen(method, getter = wsProbeInterval)]
    pub fn ws_probe_interval(this: &ClientOptionsShape) -> JsValue;
    /// Re-query the watched channels after a reconnect (default true).
    #[wasm_bindgen(method, getter = recoverStateOnReconnect)]
    pub fn recover_state_on_reconnect(this: &ClientOptionsShape) -> JsValue;
    /// Keep the user when `connectUser` fails, for `openConnection()`.
    #[wasm_bindgen(method, getter = persistUserOnConnectionFailure)]
    pub fn persist_user_on_connection_failure(this: &ClientOptionsShape) -> JsValue;
    /// Send `GET /hi` when connecting, to open the HTTP connection early.
    #[wasm_bindgen(method, getter = warmUp)]
    pub fn warm_up(this: &ClientOptionsShape) -> JsValue;
    /// Share one connection between the tabs of a user (default true).
    #[wasm_bindgen(method, getter = shareConnection)]
    pub fn share_connection(this: &ClientOptionsShape) -> JsValue;
    /// Keep `queryChannels` answers in IndexedDB (default true).
    #[wasm_bindgen(method, getter = localCache)]
    pub fn local_cache(this: &ClientOptionsShape) -> JsValue;
    /// `(level, message, extra)`.
    #[wasm_bindgen(method, getter)]
    pub fn logger(this: &ClientOptionsShape) -> JsValue;

    /// Anything identified by an `id`: the user given to `connectUser`.
    #[derive(Debug)]
    pub type Identified;
    /// The id.
    #[wasm_bindgen(method, getter)]
    pub fn id(this: &Identified) -> JsValue;

    /// A token's payload, parsed.
    #[derive(Debug)]
    pub type ClaimsShape;
    /// Whose token it is.
    #[wasm_bindgen(method, getter)]
    pub fn user_id(this: &ClaimsShape) -> JsValue;

    /// A server frame: the fields the session reads (the frame goes to listeners whole).
    #[derive(Debug)]
    pub type FrameShape;
    /// The event type.
    #[wasm_bindgen(method, getter = type)]
    pub fn kind(this: &FrameShape) -> JsValue;
    /// The connection's id, on `health.check`.
    #[wasm_bindgen(method, getter)]
    pub fn connection_id(this: &FrameShape) -> JsValue;
    /// The refusal, on an error frame.
    #[wasm_bindgen(method, getter)]
    pub fn error(this: &FrameShape) -> JsValue;

    /// The protocol's error body (PROTOCOL.md §5.2), from a frame or a REST answer.
    #[derive(Debug)]
    pub type ErrorShape;
    /// The protocol code.
    #[wasm_bindgen(method, getter)]
    pub fn code(this: &ErrorShape) -> JsValue;
    /// What went wrong.
    #[wasm_bindgen(method, getter)]
    pub fn message(this: &ErrorShape) -> JsValue;
    /// The HTTP status.
    #[wasm_bindgen(method, getter = StatusCode)]
    pub fn status_code(this: &ErrorShape) -> JsValue;
    /// How long the server took.
    #[wasm_bindgen(method, getter)]
    pub fn duration(this: &ErrorShape) -> JsValue;
    /// A link explaining the codes.
    #[wasm_bindgen(method, getter)]
    pub fn more_info(this: &ErrorShape) -> JsValue;
}

/// `value` as an integer in `i32`'s range, if it is a whole number.
pub fn as_i32(value: &JsValue) -> Option<i32> {
    value
        .as_f64()
        .filter(|n| n.fract() == 0.0 && *n >= f64::from(i32::MIN) && *n <= f64::from(i32::MAX))
        .map(|n| n as i32)
}

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// A JWT's payload as an object (`atob`, a strict UTF-8 decode, `JSON.parse`); `undefined` when `token` is not
    /// a compact JWT whose payload is base64 or base64url of a JSON object.
    #[wasm_bindgen(js_name = tokenPayload)]
    fn token_payload(token: &str) -> JsValue;
    /// The dev token for `user_id`, as the official client's `devToken` builds it, but its payload base64 of the
    /// JSON's UTF-8 bytes (the official client's drops each character's high byte).
    #[wasm_bindgen(js_name = devToken)]
    pub fn dev_token(user_id: &JsValue) -> JsValue;
}

/// The [`ClaimsReader`](crate::client::user::ClaimsReader) of the browser: the payload read by a JS helper,
/// `user_id` through a typed import.
pub fn read_claims(token: &str) -> Option<crate::client::user::Claims> {
    let payload = token_payload(token);
    let user_id = shape::<ClaimsShape>(&payload)?.user_id();
    if user_id.is_null_or_undefined() {
        return Some(crate::client::user::Claims { user_id: None });
    }
    Some(crate::client::user::Claims { user_id: Some(user_id.as_string()?) })
}
