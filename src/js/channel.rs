//! The JS `Channel` class: a thin handle (the client, weakly, and the channel's slot number) whose methods hand
//! over to `api::channel_ops`. Holding the client weakly keeps the client ↔ channel graph free of cycles:
//! dropping the `StreamChat` object frees the client even while the app keeps channel objects.

use core::cell::RefCell;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::OptionalArgument;

use super::listeners::{listener_args, optional, subscribe};
use crate::api::channel_ops;
use crate::api::routes::{self as api, request};
use crate::runtime::client::Client;
use crate::runtime::client::Port;
use crate::state::channels::Slot;

/// A chat channel, from `client.channel(…)`. Same API as the official client's `Channel`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Channel {
    /// The client it belongs to, weakly.
    pub(super) port: Port,
    /// Its slot in the client's channel registry.
    pub(super) key: u32,
    /// `channel.state`, the same object the slot updates; kept here so it stays readable (as it is with the
    /// official client) after `disconnectUser()` forgot the slot.
    state: JsValue,
    /// The channel type (it never changes), kept here so `type` and `cid` stay readable after
    /// `disconnectUser()` forgot the slot, as the official client's do.
    kind: String,
    /// The id as last seen in the slot (a query may name a channel made by its members), for the same reason.
    id: RefCell<Option<String>>,
}

/// A new JS `Channel` object for `slot`.
pub fn channel_object(port: Port, slot: &Slot) -> JsValue {
    let (kind, id) = (slot.kind.clone(), RefCell::new(slot.id.clone()));
    let object = Channel { port, key: slot.key, state: slot.state.clone(), kind, id }.into();
    crate::state::state_methods::attach_state_methods(&slot.state, &object);
    object
}

impl Channel {
    /// The own user's id, or empty.
    fn own_id(&self) -> alloc::string::String {
        self.port.live().map(|client| client.state_ref().own_id()).unwrap_or_default()
    }

    /// The client, or the error for a channel whose client is gone.
    fn client(&self) -> Result<alloc::rc::Rc<Client>, JsValue> {
        self.port.client()
    }

    /// The id: from the slot while it exists (a query may have named the channel), else as last seen.
    fn current_id(&self) -> Option<String> {
        if let Some(now) = self.read(|slot| slot.id.clone()) {
            *self.id.borrow_mut() = now;
        }
        self.id.borrow().clone()
    }

    /// Reads the channel's slot, if the client and the slot still exist.
    fn read<T>(&self, read: impl FnOnce(&mut crate::state::channels::Slot) -> T) -> Option<T> {
        let client = self.port.live()?;
        let mut state = client.state_mut();
        state.slot(self.key).map(read)
    }
}

#[wasm_bindgen]
impl Channel {
    /// Creates the channel if needed, returns its state and subscribes to its events. Waits for the connection.
    #[wasm_bindgen(unchecked_return_type = "Promise<ChannelResponse>")]
    pub fn watch(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelQueryOptions")] options: JsValue,
    ) -> Promise {
        channel_ops::query(self.port.clone(), self.key, options.or_undefined(), true)
    }

    /// Creates the channel if needed and returns its state, without watching unless `options.watch`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ChannelResponse>")]
    pub fn query(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelQueryOptions")] options: JsValue,
    ) -> Promise {
        let options = options.or_undefined();
        let watch = crate::platform::values::get(&options, "watch").is_truthy();
        channel_ops::query(self.port.clone(), self.key, options, watch)
    }

    /// Creates the channel if needed and returns its state, without watching (`query({watch: false})`).
    #[wasm_bindgen(unchecked_return_type = "Promise<ChannelResponse>")]
    pub fn create(&self) -> Promise {
        let options = crate::platform::values::object(&[("watch", false.into())]);
        channel_ops::query(self.port.clone(), self.key, options, false)
    }

    /// Adds members (ids or `{user_id}` objects); watchers, this client included, get `member.added` and
    /// `state.members` follows. Members (or a server token) may; anyone may join a public channel themselves.
    #[wasm_bindgen(js_name = addMembers, unchecked_return_type = "Promise<ChannelResponse>")]
    pub fn add_members(
        &self,
        #[wasm_bindgen(unchecked_param_type = "(string | { user_id: string })[]")] members: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "MessageInput")] message: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        request(
            &self.port,
            self.key,
            &api::ADD_MEMBERS,
            &[members, message.or_undefined(), options.or_undefined()],
        )
    }

    /// Removes members; watchers get `member.removed` and `state.members` follows.
    #[wasm_bindgen(js_name = removeMembers, unchecked_return_type = "Promise<ChannelResponse>")]
    pub fn remove_members(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] members: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "MessageInput")] message: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        request(
            &self.port,
            self.key,
            &api::REMOVE_MEMBERS,
            &[members, message.or_undefined(), options.or_undefined()],
        )
    }

    /// Reacts to a message (`{type, score?, …}`; `options.enforce_unique` replaces the user's other reactions);
    /// watchers get `reaction.new` / `reaction.updated` and their state follows, `own_reactions` included.
    #[wasm_bindgen(js_name = sendReaction, unchecked_return_type = "Promise<{ message: MessageResponse; reaction: Record<string, unknown> }>")]
    pub fn send_reaction(
        &self,
        #[wasm_bindgen(js_name = messageId, unchecked_param_type = "string")] message_id: JsValue,
        #[wasm_bindgen(
            unchecked_param_type = "{ type: string; score?: number; [custom: string]: unknown }"
        )]
        reaction: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ enforce_unique?: boolean }")]
        options: JsValue,
    ) -> Promise {
        request(
            &self.port,
            self.key,
            &api::SEND_REACTION,
            &[message_id, reaction, options.or_undefined()],
        )
    }

    /// Removes the user's reaction of `type` from a message; watchers get `reaction.deleted`.
    #[wasm_bindgen(js_name = deleteReaction, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn delete_reaction(
        &self,
        #[wasm_bindgen(js_name = messageId, unchecked_param_type = "string")] message_id: JsValue,
        #[wasm_bindgen(js_name = reactionType, unchecked_param_type = "string")]
        reaction_type: JsValue,
    ) -> Promise {
        request(&self.port, self.key, &api::DELETE_REACTION, &[message_id, reaction_type])
    }

    /// Stops watching: no more events from this channel.
    #[wasm_bindgen(js_name = stopWatching)]
    pub fn stop_watching(&self) -> Promise {
        request(&self.port, self.key, &api::STOP_WATCHING, &[])
    }

    /// Sends a message. It gets a client-generated id unless it has one, so a retry never duplicates it.
    #[wasm_bindgen(js_name = sendMessage, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn send_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageInput")] message: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        channel_ops::send_message(self.port.clone(), self.key, &message, &options.or_undefined())
    }

    /// Sends an event: `typing.start` / `typing.stop`, or a custom one (any type of its own) to every watcher.
    #[wasm_bindgen(js_name = sendEvent)]
    pub fn send_event(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "{ type: string; parent_id?: string; [field: string]: unknown }"
        )]
        event: JsValue,
    ) -> Promise {
        request(&self.port, self.key, &api::SEND_EVENT, &[event])
    }

    /// Call on every keystroke: sends `typing.start` at most every 2 s; `typing.stop` follows about a second after
    /// the last keystroke. Sends nothing when the user's typing indicators are off.
    pub fn keystroke(
        &self,
        #[wasm_bindgen(js_name = parentId)] parent_id: Option<String>,
    ) -> Promise {
        channel_ops::keystroke(self.port.clone(), self.key, parent_id)
    }

    /// Sends `typing.stop` now, if the user was typing.
    #[wasm_bindgen(js_name = stopTyping)]
    pub fn stop_typing(
        &self,
        #[wasm_bindgen(js_name = parentId)] parent_id: Option<String>,
    ) -> Promise {
        channel_ops::stop_typing(self.port.clone(), self.key, parent_id)
    }

    /// A page of a thread's replies (`options.limit`, `options.id_lt`), oldest first; they also go into
    /// `state.threads[parentId]`, in time order.
    #[wasm_bindgen(js_name = getReplies, unchecked_return_type = "Promise<{ messages: MessageResponse[] }>")]
    pub fn get_replies(
        &self,
        #[wasm_bindgen(js_name = parentId)] parent_id: String,
        #[wasm_bindgen(unchecked_optional_param_type = "{ limit?: number; id_lt?: string }")]
        options: JsValue,
    ) -> Promise {
        channel_ops::get_replies(self.port.clone(), self.key, &parent_id, &options.or_undefined())
    }

    /// Marks the channel read. With read receipts off the server keeps it to the user's own state.
    #[wasm_bindgen(js_name = markRead)]
    pub fn mark_read(
        &self,
        #[wasm_bindgen(
            unchecked_optional_param_type = "{ message_id?: string; thread_id?: string }"
        )]
        data: Option<JsValue>,
    ) -> Promise {
        channel_ops::mark_read(self.port.clone(), self.key, &data.unwrap_or_default())
    }

    /// Marks the channel unread from `message_id` on, for this user only (others see nothing move); the user's
    /// connections get `notification.mark_unread` and `state.read` / `unreadCount` follow.
    #[wasm_bindgen(js_name = markUnread)]
    pub fn mark_unread(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ message_id: string }")] data: JsValue,
    ) -> Promise {
        request(&self.port, self.key, &api::MARK_UNREAD, &[data])
    }

    /// `on(type, handler)` or `on(handler)` for this channel's events; returns the unsubscribe function.
    #[wasm_bindgen(unchecked_return_type = "Unsubscribe")]
    pub fn on(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        subscribe(&self.client()?, Some(self.key), kind, handler)
    }

    /// Removes a handler added with `on`.
    pub fn off(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: JsValue,
    ) -> Result<(), JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        if let Some(client) = self.port.live() {
            client.remove_handler(Some(self.key), kind.as_deref(), &handler);
        }
        Ok(())
    }

    /// `channel.state.addMessageSorted(…)` lands here (`state/state_methods.rs`).
    #[wasm_bindgen(js_name = keepLocal, skip_typescript)]
    pub fn keep_local(&self, message: &JsValue, add_if_absent: bool) {
        // Copied before any borrow: a getter of the app's may call back into the SDK.
        let message = crate::platform::values::copy(message);
        self.read(|slot| slot.add_local(&message, add_if_absent));
    }

    /// `channel.state.removeMessage(…)` lands here.
    #[wasm_bindgen(js_name = removeLocal, skip_typescript)]
    pub fn remove_local(&self, message: &JsValue) -> bool {
        let message = crate::platform::values::copy(message);
        self.read(|slot| slot.remove_local(&message)).unwrap_or(false)
    }

    /// The channel's state: one object for the channel's lifetime, updated in place as the official client's is
    /// (`messages` ordered by time, one per id, a new array only when it changes; `Date` timestamps; `read`,
    /// `typing`, `watchers` and `members` by user id; thread-only replies in `threads`).
    #[wasm_bindgen(getter, unchecked_return_type = "ChannelState")]
    pub fn state(&self) -> JsValue {
        self.state.clone()
    }

    /// Unread messages for the own user; with `lastRead`, the messages of others in `state.messages` created
    /// after it (as the official client counts).
    #[wasm_bindgen(js_name = countUnread)]
    pub fn count_unread(
        &self,
        #[wasm_bindgen(js_name = lastRead, unchecked_optional_param_type = "Date | null")]
        last_read: JsValue,
    ) -> u32 {
        let own = self.own_id();
        let since = last_read.dyn_into::<js_sys::Date>().ok().map(|date| date.get_time());
        let Some(since) = since else {
            return self.read(|slot| slot.core.unread_count).unwrap_or(0);
        };
        // Read with no borrow held: the messages are objects the app can reach (a getter may call back in).
        let messages = self.read(|slot| slot.messages_since(since)).unwrap_or_default();
        crate::state::channels::count_unread(&messages, &own, false)
    }

    /// Unread messages of others that mention the own user (`mentioned_users`), after the own last read.
    #[wasm_bindgen(js_name = countUnreadMentions)]
    pub fn count_unread_mentions(&self) -> u32 {
        let own = self.own_id();
        let messages = self
            .read(|slot| {
                let since = slot
                    .core
                    .read
                    .iter()
                    .find(|read| read.user_id == own)
                    .map_or(f64::MIN, |read| read.last_read);
                slot.messages_since(since)
            })
            .unwrap_or_default();
        crate::state::channels::count_unread(&messages, &own, true)
    }

    /// When the own user last read this channel (a `Date`), or `null`.
    #[wasm_bindgen(js_name = lastRead, unchecked_return_type = "Date | null")]
    pub fn last_read(&self) -> JsValue {
        let own = self.own_id();
        let state = self.read(|slot| slot.state.clone()).unwrap_or(JsValue::UNDEFINED);
        let read =
            crate::platform::values::get_at(&crate::platform::values::get(&state, "read"), &own);
        let last_read = crate::platform::values::get(&read, "last_read");
        if last_read.is_undefined() {
            JsValue::NULL
        } else {
            last_read
        }
    }

    /// The newest message in `state.messages`, or `undefined`.
    #[wasm_bindgen(js_name = lastMessage, unchecked_return_type = "LocalMessage | undefined")]
    pub fn last_message(&self) -> JsValue {
        let messages = crate::platform::values::list(&self.state, "messages");
        messages.get(messages.length().saturating_sub(1))
    }

    /// `type:id`, once the id is known.
    #[wasm_bindgen(getter, unchecked_return_type = "string | undefined")]
    pub fn cid(&self) -> JsValue {
        optional(self.current_id().map(|id| self.kind.clone() + ":" + &id).as_deref())
    }

    /// The channel id, once known.
    #[wasm_bindgen(getter, unchecked_return_type = "string | undefined")]
    pub fn id(&self) -> JsValue {
        optional(self.current_id().as_deref())
    }

    /// The channel type.
    #[wasm_bindgen(getter, js_name = type, unchecked_return_type = "string")]
    pub fn kind(&self) -> JsValue {
        self.kind.as_str().into()
    }

    /// Whether `watch()` or `query()` succeeded.
    #[wasm_bindgen(getter)]
    pub fn initialized(&self) -> bool {
        self.read(|slot| slot.initialized).unwrap_or(false)
    }

    /// The server's channel object: custom data, `config`, `own_capabilities`.
    #[wasm_bindgen(getter)]
    pub fn data(&self) -> JsValue {
        self.read(|slot| slot.channel.clone()).unwrap_or(JsValue::UNDEFINED)
    }
}
