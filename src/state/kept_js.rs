//! The JS side of kept messages (`helpers.js`): one small JS function copies a server message as apps see it and
//! files it in the channel's `Map` of messages (another a whole page of them at once); others read what that copy
//! found, pin and unpin, rewrite quotes, and hand a channel's messages over in order as one call.

use alloc::string::String;
use js_sys::Array;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// Keeps the server message `raw` as apps see it, in `messages` under its id unless it is a thread-only reply,
    /// and returns its id (`undefined` when `raw` is not an object with a string `id`; then nothing is kept). The
    /// copy has `created_at` and `updated_at` as `Date`s (now when absent or unparsable), `deleted_at` and
    /// `pinned_at` as `Date`s or `null`, and `status: 'received'` unless it has one: one object literal with a
    /// spread, as the official client builds it. The `kept_*` functions read the message it kept last.
    #[wasm_bindgen(js_name = keepMessage)]
    pub fn keep_in(raw: &JsValue, messages: &js_sys::Map) -> Option<String>;

    /// Keeps a page of server messages (a channel answer's) as [`keep_in`] keeps each, and returns
    /// `[ids, times, copies]`: each id after a `\x01`, as ASCII bytes (a `Uint8Array`); each `created_at` in
    /// milliseconds (a `Float64Array`); the kept copies in the page's order. `undefined`, keeping nothing, when one
    /// is a reply or is not an object with a string `id` of ASCII characters other than `\x00` and `\x01`: such
    /// a page is kept message by message.
    /// The ids as one run of bytes, copied into wasm at once: a string per message, or one string, is copied by
    /// the glue's JS loop over its characters, not yet compiled on a first load (~4 ms for 3,000 ids).
    #[wasm_bindgen(js_name = keepPage)]
    pub fn keep_page(list: &Array, messages: &js_sys::Map) -> JsValue;

    /// Whether the last kept message is a thread reply not shown in the channel.
    #[wasm_bindgen(js_name = keptThreadOnly)]
    pub fn kept_thread_only() -> bool;

    /// The last kept message's `created_at`, in milliseconds.
    #[wasm_bindgen(js_name = keptTime)]
    pub fn kept_time() -> f64;

    /// Whether the last kept message is a reply (has a string `parent_id`): a plain `bool` back, so the common
    /// case costs no string.
    #[wasm_bindgen(js_name = keptIsReply)]
    pub fn kept_is_reply() -> bool;

    /// `state.pinnedMessages` from a channel answer's `pinned_messages`: copies with `Date`s, by `pinned_at`.
    #[wasm_bindgen(js_name = setPinned)]
    pub fn set_pinned(state: &JsValue, raw: &JsValue);

    /// The last kept message into `state.pinnedMessages` (a new array, by `pinned_at`) when `stays` and it is
    /// pinned, else out of it (the official client's `addPinnedMessage` / `removePinnedMessage`).
    #[wasm_bindgen(js_name = pinKept)]
    pub fn pin_kept(state: &JsValue, stays: bool);

    /// Takes message `id` out of `state.pinnedMessages` (a new array when it was there).
    pub fn unpin(state: &JsValue, id: &str);

    /// Whether the last kept message is unread for nobody: `silent`, `shadowed` or a `system` message (one JS rule
    /// with `channels::count_unread`'s).
    #[wasm_bindgen(js_name = keptQuiet)]
    pub fn kept_quiet() -> bool;

    /// Files the last kept message, a reply (see [`kept_is_reply`]), in `state.threads[parent_id]`: in time order
    /// (after replies of the same time), replacing one with its id, as a new array so apps see the change.
    #[wasm_bindgen(js_name = fileKeptReply)]
    pub fn file_kept_reply(state: &JsValue);

    /// Takes reply `id` out of `state.threads[parent]` (a hard delete), as a new array so apps see the change;
    /// whether it was there.
    #[wasm_bindgen(js_name = removeReply)]
    pub fn remove_reply(state: &JsValue, parent: &str, id: &str) -> bool;

    /// Replaces each message of `messages` quoting `raw` (by `quoted_message_id`) with a copy whose
    /// `quoted_message` is `raw` (without its attachments when `removed`), as the official client's
    /// `_updateQuotedMessageReferences` does on `message.updated` and `message.deleted`.
    pub fn requote(messages: &js_sys::Map, raw: &JsValue, removed: bool);

    /// The messages of `messages` whose ids `packed` lists, in its order, so that a whole channel's order crosses
    /// into JS as one string: `\x01<id>\x01<id>…` (split natively: a cold JS loop over 3,000 ids took ~3 ms of
    /// a first load) when no id holds that character, else each id as `<UTF-16 length>:<id>`.
    #[wasm_bindgen(js_name = messagesInOrder)]
    pub fn messages_in_order(messages: &js_sys::Map, packed: &str) -> Array;
}

/// Starts each id in the split form of [`messages_in_order`]'s list and in [`keep_page`]'s. Ids are the app's or
/// the server's strings, so one may hold it: that list is then length-prefixed, and that page kept message by
/// message.
pub const SEPARATOR: char = '\u{1}';

/// `ids` packed for [`messages_in_order`].
fn packed_ids<'a>(ids: impl Iterator<Item = &'a str> + Clone) -> String {
    let mut packed = String::with_capacity(ids.clone().map(|id| id.len() + 4).sum());
    if ids.clone().all(|id| crate::client::text::position(id, SEPARATOR as u8).is_none()) {
        for id in ids {
            packed.push(SEPARATOR);
            packed.push_str(id);
        }
        return packed;
    }
    for id in ids {
        let len = if id.is_ascii() { id.len() } else { id.encode_utf16().count() };
        push_decimal(&mut packed, len);
        packed.push(':');
        packed.push_str(id);
    }
    packed
}

/// Appends `n` in decimal (without `core::fmt`, which is slow in a size-optimised build).
fn push_decimal(out: &mut String, n: usize) {
    let mut divisor = 1;
    while divisor <= n / 10 {
        divisor *= 10;
    }
    while divisor > 0 {
        out.push(char::from(b'0' + (n / divisor % 10) as u8));
        divisor /= 10;
    }
}

/// The messages of `messages` in the order of `ids`.
pub fn in_order<'a>(messages: &js_sys::Map, ids: impl Iterator<Item = &'a str> + Clone) -> Array {
    messages_in_order(messages, &packed_ids(ids))
}
