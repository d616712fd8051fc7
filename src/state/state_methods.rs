//! The methods of `channel.state` that optimistic UIs call, as the official client's `ChannelState` has them:
//! `addMessageSorted`, `removeMessage` and `findMessage`. They live on a prototype shared by every state object
//! (its own properties stay the plain data apps read and serialize); the two that change state forward to the
//! channel through a `WeakRef`, so the state object never keeps its channel alive.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// Gives `state` the methods above, forwarding to `channel` (weakly).
    #[wasm_bindgen(js_name = attachStateMethods)]
    pub fn attach_state_methods(state: &JsValue, channel: &JsValue);
}
