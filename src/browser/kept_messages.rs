//! Messages as apps hold them in `channel.state`: a copy of the server's message with `Date`s for its times and
//! `status: 'received'`, thread-only replies filed under `threads[parent_id]` in time order.
//!
//! The copy is made by one small JS function per message: building it field by field from wasm crossed into JS
//! about forty times per message (each `Date` a read, two type checks, a parse and a write), which a CPU profile of
//! loading 10 channels × 300 messages showed as most of the SDK's own time.

use js_sys::Array;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::channels::Slot;
use super::values::{array, get, get_at, list, set_at, text, time};
use crate::client::channel::MessageKey;

#[wasm_bindgen(inline_js = "
const DATES = [['created_at', true], ['updated_at', true], ['deleted_at', false], ['pinned_at', false]];
export function keptMessage(raw) {
  const message = { ...raw };
  for (const [key, nowWhenAbsent] of DATES) {
    const value = message[key];
    const parsed = typeof value === 'string' || value instanceof Date ? new Date(value) : null;
    message[key] = parsed !== null && !Number.isNaN(parsed.getTime()) ? parsed : nowWhenAbsent ? new Date() : null;
  }
  if (!message.status) message.status = 'received';
  return message;
}
export function createdAt(message) { return message.created_at.getTime(); }
")]
extern "C" {
    /// A copy of the server message `raw` (an object) as apps see it: `created_at` and `updated_at` as `Date`s
    /// (now when absent or unparsable), `deleted_at` and `pinned_at` as `Date`s or `null`, `status` set to
    /// `'received'` unless it has one. A spread copy, so V8 gives it the source's fast layout.
    #[wasm_bindgen(js_name = keptMessage)]
    fn kept_message(raw: &JsValue) -> JsValue;

    /// `message.created_at` in milliseconds, of a message [`kept_message`] made.
    #[wasm_bindgen(js_name = createdAt)]
    fn created_at(message: &JsValue) -> f64;
}

impl Slot {
    /// Keeps a server message as apps see it (a copy with `Date`s and `status`), filing thread replies under
    /// `threads[parent_id]`; returns its key and whether it is thread-only (not shown in the channel).
    pub(super) fn keep_message(&self, raw: &JsValue, now_ms: f64) -> (Option<MessageKey>, bool) {
        let id_key = get(raw, "id");
        let Some(id) = id_key.as_string() else { return (None, false) };
        let message = kept_message(raw);
        let created_at = created_at(&message);
        let created_at = if created_at.is_finite() { created_at } else { now_ms };
        let parent = text(&message, "parent_id");
        let thread_only = parent.is_some() && !get(&message, "show_in_channel").is_truthy();
        if let Some(parent) = parent {
            self.add_reply(&parent, &id, &message);
        }
        if !thread_only {
            self.messages.set(&id_key, &message);
        }
        (Some(MessageKey { id, created_at }), thread_only)
    }

    /// Adds (or replaces) a reply in `threads[parent]`, as a new array so apps see the change.
    fn add_reply(&self, parent: &str, id: &str, message: &JsValue) {
        let threads = get(&self.state, "threads");
        let mut replies: Vec<JsValue> = array(get_at(&threads, parent))
            .iter()
            .filter(|reply| text(reply, "id").as_deref() != Some(id))
            .collect();
        // In time order, whatever order pages and events arrive in (equal times keep arrival order).
        let at = time(message, "created_at").unwrap_or(f64::MAX);
        let position = replies
            .iter()
            .rposition(|reply| time(reply, "created_at").unwrap_or(f64::MIN) <= at)
            .map_or(0, |found| found + 1);
        replies.insert(position, message.clone());
        set_at(&threads, parent, &replies.into_iter().collect::<Array>());
    }

    /// A page of replies from `getReplies`, filed under their parent in `threads`.
    pub fn apply_replies(&mut self, replies: &JsValue, now_ms: f64) {
        for reply in list(replies, "messages").iter() {
            self.keep_message(&reply, now_ms);
        }
    }
}
