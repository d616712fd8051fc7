//! The methods of `channel.state` that optimistic UIs call, as the official client's `ChannelState` has them:
//! `addMessageSorted`, `removeMessage` and `findMessage`. They live on a prototype shared by every state object
//! (its own properties stay the plain data apps read and serialize); the two that change state forward to the
//! channel through a `WeakRef`, so the state object never keeps its channel alive.

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen(inline_js = "
const CHANNEL = Symbol('channel');
function channelOf(state) {
  const channel = state[CHANNEL] && state[CHANNEL].deref();
  if (!channel) throw new Error('This channel was disconnected (disconnectUser); get it again with client.channel()');
  return channel;
}
const methods = {
  addMessageSorted(message, timestampChanged, addIfDoesNotExist) {
    channelOf(this).keepLocal(message, addIfDoesNotExist !== false);
  },
  removeMessage(message) { return channelOf(this).removeLocal(message); },
  findMessage(id, parentId) {
    const list = parentId ? this.threads[parentId] : this.messages;
    return list && list.find((message) => message.id === id);
  },
};
export function attachStateMethods(state, channel) {
  Object.setPrototypeOf(state, methods);
  Object.defineProperty(state, CHANNEL, { value: new WeakRef(channel) });
}
")]
extern "C" {
    /// Gives `state` the methods above, forwarding to `channel` (weakly).
    #[wasm_bindgen(js_name = attachStateMethods)]
    pub fn attach_state_methods(state: &JsValue, channel: &JsValue);
}
