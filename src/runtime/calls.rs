//! What the loop keeps of the calls in flight: the `connectUser` call, each REST call from submission to
//! settlement, and where REST calls go.

use alloc::string::String;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;

use crate::client::ChatError;
use crate::platform::errors::to_js_error;
use crate::platform::http::Answer;

/// The `connectUser` call in progress or settled, until `disconnectUser`.
#[derive(Debug)]
pub struct ConnectCall {
    /// Whose connection it is; a second call for the same user gets the same promise.
    pub user_id: String,
    /// The promise every such call returns.
    pub promise: Promise,
    /// Settles the promise; `None` once settled.
    pub settle: Option<(Function, Function)>,
}

/// Where REST calls go.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// The REST base URL, without a trailing slash.
    pub base_url: String,
    /// The app's API key.
    pub api_key: String,
    /// Per-call timeout in milliseconds.
    pub timeout_ms: u32,
}

/// A REST call from submission to settlement.
#[derive(Debug)]
pub struct Call {
    /// Its number in the session's eyes.
    pub id: u32,
    /// `POST`, `PATCH`, or `GET` (whose body goes in the `payload` parameter).
    pub method: &'static str,
    /// Path below the base URL.
    pub path: String,
    /// The body: JSON text, or a `FormData` (an upload: no timeout, the browser sets its type).
    pub body: JsValue,
    /// Resolve and reject of its promise (`None` for calls nobody awaits, like an automatic typing stop).
    pub settle: Option<(Function, Function)>,
    /// The answer, once it came.
    pub answer: Option<Answer>,
}

impl Call {
    /// Rejects this call's promise with `error`.
    pub fn reject(self, error: &ChatError) {
        reject(self.settle, error);
    }
}

/// Rejects `settle` with `error` as a plain SDK error.
pub fn reject(settle: Option<(Function, Function)>, error: &ChatError) {
    if let Some((_, reject)) = settle {
        let _ = reject.call1(&JsValue::NULL, &to_js_error(error));
    }
}
