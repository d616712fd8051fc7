//! Messages as apps hold them in `channel.state`: a copy of the server's message with `Date`s for its times and
//! `status: 'received'`, thread-only replies filed under `threads[parent_id]` in time order.
//!
//! The copy is made by one small JS function per message: building it field by field from wasm crossed into JS
//! about forty times per message (each `Date` a read, two type checks, a parse and a write), which a CPU profile of
//! loading 10 channels × 300 messages showed as most of the SDK's own time.

use alloc::string::String;
use js_sys::{Array, Float64Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use super::channels::Slot;
use super::kept_js::{
    file_kept_reply, keep_in, keep_page, kept_is_reply, kept_thread_only, kept_time, remove_reply,
    SEPARATOR,
};
use crate::client::channel::{Event, MessageKey};
use crate::platform::values::{list, text};

impl Slot {
    /// Keeps a server message as apps see it (a copy with `Date`s and `status`), filing thread replies under
    /// `threads[parent_id]`; returns its key and whether it is thread-only (not shown in the channel).
    /// Its time is always a valid one: `keepMessage` gives a message without a parsable `created_at` the time
    /// it was kept.
    pub fn keep_message(&self, raw: &JsValue) -> (Option<MessageKey>, bool) {
        let Some(id) = keep_in(raw, &self.messages) else { return (None, false) };
        let created_at = kept_time();
        let mut thread_only = false;
        if kept_is_reply() {
            thread_only = kept_thread_only();
            file_kept_reply(&self.state);
        }
        (Some(MessageKey { id, created_at }), thread_only)
    }

    /// Keeps a page of server messages (see [`keep_page`]); returns the keys of those shown in the channel, in
    /// the page's order, and, when the page was kept at once, the kept copies in that order (what `messages`
    /// shows when the core keeps the page as it is).
    pub fn keep_messages(&self, received: &Array) -> (Vec<MessageKey>, Option<Array>) {
        let page = keep_page(received, &self.messages);
        if page.is_undefined() {
            let keys = received
                .iter()
                .filter_map(|message| match self.keep_message(&message) {
                    (key, false) => key,
                    (_, true) => None,
                })
                .collect();
            return (keys, None);
        }
        let page = Array::from(&page);
        // ASCII (`keepPage` checked): each byte is its char.
        let ids: String = page
            .get(0)
            .unchecked_into::<Uint8Array>()
            .to_vec()
            .into_iter()
            .map(char::from)
            .collect();
        let times = page.get(1).unchecked_into::<Float64Array>();
        let mut keys = Vec::with_capacity(times.length() as usize);
        for (at, id) in crate::client::text::pieces(&ids, SEPARATOR as u8).skip(1).enumerate() {
            keys.push(MessageKey { id: id.into(), created_at: times.get_index(at as u32) });
        }
        (keys, Some(page.get(2).into()))
    }

    /// `state.addMessageSorted(message, timestampChanged, addIfDoesNotExist)`: a message the app adds or
    /// replaces itself (an optimistic send with `status: 'sending'`, say), kept and ordered like a server's; the
    /// server's copy replaces it when its `message.new` or `message.updated` arrives.
    pub fn add_local(&mut self, message: &JsValue, add_if_absent: bool) {
        let known = text(message, "id").is_some_and(|id| self.messages.has(&id.as_str().into()));
        if !add_if_absent && !known {
            return;
        }
        if let (Some(key), false) = self.keep_message(message) {
            self.core.put_message(key);
        }
        self.sync();
    }

    /// `state.removeMessage({id, parent_id})`: takes a message out of `messages` (and its thread); whether it
    /// was there.
    pub fn remove_local(&mut self, message: &JsValue) -> bool {
        let Some(id) = text(message, "id") else { return false };
        let removed = self.forget_message(&id, text(message, "parent_id").as_deref());
        self.core.apply_event(Event::MessageRemoved { id }, None, "", 0.0);
        self.sync();
        removed
    }

    /// Drops the kept copy of message `id` and takes it out of its thread (`parent`); whether it was in either.
    /// The core's order is the caller's to change.
    pub fn forget_message(&self, id: &str, parent: Option<&str>) -> bool {
        let kept = self.messages.delete(&id.into());
        parent.is_some_and(|parent| remove_reply(&self.state, parent, id)) || kept
    }

    /// Forgets the kept copies of messages a rebuild left out, so each reconnect's snapshot does not leave the
    /// old ones behind (nor lets `addMessageSorted(…, addIfDoesNotExist = false)` bring one back).
    pub fn prune_kept(&self) {
        // Every message in the core has its copy here: only a larger map has copies to forget (a first load has
        // none, and walking 300 keys through JS would cost more than the load's own bookkeeping).
        if self.messages.size() as usize <= self.core.messages.len() {
            return;
        }
        let gone: Vec<JsValue> = self
            .messages
            .keys()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|id| !id.as_string().is_some_and(|id| self.core.has_message(&id)))
            .collect();
        for id in gone {
            self.messages.delete(&id);
        }
    }

    /// A page of replies from `getReplies`, filed under their parent in `threads`.
    pub fn apply_replies(&mut self, replies: &JsValue) {
        for reply in list(replies, "messages").iter() {
            self.keep_message(&reply);
        }
    }
}
