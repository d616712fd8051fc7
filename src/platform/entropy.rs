//! Randomness from the browser's `crypto.getRandomValues` (in a window or a worker): the session's backoff
//! jitter and the uuids of client-side message ids.

use alloc::string::String;

use wasm_bindgen::JsCast;

use crate::client::id::uuid_v4;
use crate::client::Entropy;

/// Randomness from the browser's `crypto.getRandomValues`.
pub struct BrowserEntropy;

impl BrowserEntropy {
    /// 16 random bytes from `crypto.getRandomValues` (in a window or a worker).
    fn bytes() -> [u8; 16] {
        let mut bytes = [0u8; 16];
        let crypto = match web_sys::window() {
            Some(window) => window.crypto(),
            None => js_sys::global().unchecked_into::<web_sys::WorkerGlobalScope>().crypto(),
        };
        if let Ok(crypto) = crypto {
            let _ = crypto.get_random_values_with_u8_array(&mut bytes);
        }
        bytes
    }
}

impl Entropy for BrowserEntropy {
    fn random(&mut self) -> f64 {
        let [a, b, c, d, ..] = Self::bytes();
        f64::from(u32::from_le_bytes([a, b, c, d])) / 4_294_967_296.0
    }

    fn uuid(&mut self) -> String {
        uuid_v4(Self::bytes())
    }
}

/// A fresh v4 uuid from the browser's randomness (client-side message ids).
pub fn uuid() -> String {
    BrowserEntropy.uuid()
}
