//! Randomness from the browser: the session's backoff jitter (`Math.random`) and v4 uuids for client ids,
//! connect attempts, anonymous users and client-side message ids (one JS helper over `crypto.getRandomValues`, in
//! a window or a worker).

use alloc::string::String;

use wasm_bindgen::prelude::wasm_bindgen;

use crate::client::Entropy;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// A fresh RFC 4122 v4 uuid (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lowercase).
    pub fn uuid() -> String;
}

/// Randomness from the browser.
pub struct BrowserEntropy;

impl Entropy for BrowserEntropy {
    fn random(&mut self) -> f64 {
        js_sys::Math::random()
    }

    fn uuid(&mut self) -> String {
        uuid()
    }
}
