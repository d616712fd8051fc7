//! The outbox's queue (`outbox.rs` sends it): the messages waiting for the connection, oldest first, each under
//! its own `localStorage` key through the helpers in `helpers.js`.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Function};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::client::ChatError;
use crate::platform::errors::to_js_error;

/// The most messages that wait for the connection, per user.
pub const OUTBOX_LIMIT: usize = 100;
/// The most JSON the waiting messages (with their options) take in `localStorage`, per user.
pub const OUTBOX_BYTES: usize = 256 * 1024;
/// A message waiting for the connection.
#[derive(Debug)]
pub struct Waiting {
    /// `type:id` of its channel.
    pub cid: String,
    /// The request body: `{message, ...options}`.
    pub body: JsValue,
    /// Its `localStorage` key (`<prefix><time><sequence>:<id>`: one key per message, so tabs of the same user
    /// never overwrite each other's, in send order).
    pub key: String,
    /// Settles the `sendMessage` promise (none for messages a previous page left).
    pub settle: Option<(Function, Function)>,
}

/// The messages waiting, oldest first.
#[derive(Debug, Default)]
pub struct Outbox {
    /// In send order.
    pub waiting: Vec<Waiting>,
    /// The `localStorage` key prefix of the current user's messages.
    pub key: Option<String>,
    /// Whether a send is in flight.
    pub sending: bool,
}

impl Outbox {
    /// The outbox of `user_id` with `api_key`: what earlier pages (or other tabs) left in `localStorage`,
    /// oldest first.
    /// Does nothing when this already is that outbox (`openConnection()` after `closeConnection()`: its promises
    /// still wait).
    pub fn load(&mut self, api_key: &str, user_id: &str) {
        let prefix = String::from("stream-chat-wasm:outbox:") + api_key + ":" + user_id + ":";
        if self.key.as_ref() == Some(&prefix) {
            return;
        }
        let waiting = outbox_load(&prefix)
            .iter()
            .filter_map(|entry| {
                let entry = Array::from(&entry);
                let (cid, body, key) = (entry.get(0), entry.get(1), entry.get(2));
                Some(Waiting { cid: cid.as_string()?, body, key: key.as_string()?, settle: None })
            })
            .collect();
        *self = Outbox { waiting, key: Some(prefix), sending: false };
    }

    /// Rejects the waiting `sendMessage` promises (`disconnectUser`); their messages stay stored.
    pub fn reject_all(self) {
        for waiting in self.waiting {
            if let Some((_, reject)) = waiting.settle {
                let _ = reject.call1(&JsValue::NULL, &to_js_error(&ChatError::Disconnected));
            }
        }
    }

    /// Whether messages wait.
    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }
}

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// The `[cid, body, key]` of each message stored under a key starting with `prefix`, in key order (those
    /// that do not parse as `[cid, body]` are skipped).
    #[wasm_bindgen(js_name = outboxLoad)]
    pub fn outbox_load(prefix: &str) -> Array;

    /// Stores `[cid, body]` as JSON under `prefix`, the time, a sequence number (messages sent in the same
    /// millisecond keep their order) and the message's id; returns the key, or
    /// `undefined` when all stored under `prefix` would exceed `limit` bytes or storage refused it.
    #[wasm_bindgen(js_name = outboxPut)]
    pub fn outbox_put(prefix: &str, cid: &str, body: &JsValue, limit: u32) -> Option<String>;

    /// Removes the message stored under `key`.
    #[wasm_bindgen(js_name = outboxDrop)]
    pub fn outbox_drop(key: &str);
}
