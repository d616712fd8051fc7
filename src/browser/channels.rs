//! The channels a client knows, one [`Slot`] per `client.channel(…)` object: the core's [`ChannelState`] (keys
//! and rules) next to the full JS objects it refers to (messages, users, typing events), and the conversions
//! between server JSON and the core's types, read field by field.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Map, Object, Reflect};
use wasm_bindgen::JsValue;

use super::listeners::Listeners;
use crate::client::channel::{ChannelState, Event, MessageKey, Read, Snapshot, Typing};

/// One channel object and its state.
#[derive(Debug)]
pub struct Slot {
    /// Stable identity of the JS `Channel` object (its cid may be learned only after the first query).
    pub key: u32,
    /// The channel type.
    pub kind: String,
    /// The channel id, once known.
    pub id: Option<String>,
    /// Custom data given to `client.channel()`, sent on the first query.
    pub data: JsValue,
    /// The JS `Channel` object, so `client.channel()` returns the same one every time.
    pub object: JsValue,
    /// Keys, order and counters.
    pub state: ChannelState,
    /// Message id → message object.
    pub messages: Map,
    /// User id → user object, for read entries.
    pub users: Map,
    /// User id → their `typing.start` event.
    pub typing: Map,
    /// The server's `channel` object (config, capabilities, custom data).
    pub channel: JsValue,
    /// Set by the first successful `watch()` / `query()`.
    pub initialized: bool,
    /// Whether this client watches it (and so re-queries it after a reconnect).
    pub watching: bool,
    /// The own user's typing here.
    pub own_typing: Typing,
    /// Handlers registered with `channel.on`.
    pub listeners: Listeners,
}

impl Slot {
    /// A slot for a channel not queried yet.
    pub fn new(key: u32, kind: String, id: Option<String>, data: JsValue) -> Slot {
        Slot {
            key,
            kind,
            id,
            data,
            object: JsValue::UNDEFINED,
            state: ChannelState::default(),
            messages: Map::new(),
            users: Map::new(),
            typing: Map::new(),
            channel: JsValue::UNDEFINED,
            initialized: false,
            watching: false,
            own_typing: Typing::default(),
            listeners: Listeners::default(),
        }
    }

    /// `type:id`, once the id is known.
    pub fn cid(&self) -> Option<String> {
        self.id.as_ref().map(|id| self.kind.clone() + ":" + id)
    }

    /// Whether the channel's config has `flag` (`typing_events`, `read_events`) on.
    pub fn config(&self, flag: &str) -> bool {
        get(&get(&self.channel, "config"), flag).is_truthy()
    }

    /// Rebuilds the state from a channel response (`{channel, messages, read, watchers, watcher_count}`).
    pub fn apply_response(&mut self, response: &JsValue, own_user: &str) {
        self.channel = get(response, "channel");
        if let Some(id) = text(&self.channel, "id") {
            self.id = Some(id);
        }
        let messages = Array::from(&get(response, "messages"))
            .iter()
            .filter_map(|message| self.keep_message(&message))
            .collect();
        let read = Array::from(&get(response, "read"))
            .iter()
            .filter_map(|entry| {
                let user = get(&entry, "user");
                let user_id = text(&user, "id")?;
                self.users.set(&user_id.clone().into(), &user);
                Some(Read {
                    user_id,
                    last_read: text(&entry, "last_read").unwrap_or_default(),
                    last_read_message_id: text(&entry, "last_read_message_id"),
                    unread_messages: number(&entry, "unread_messages").unwrap_or(0),
                })
            })
            .collect();
        let watchers =
            Array::from(&get(response, "watchers")).iter().filter_map(|w| text(&w, "id")).collect();
        let watcher_count = number(response, "watcher_count").unwrap_or(0);
        let snapshot = Snapshot { messages, read, watchers, watcher_count };
        self.state.apply_snapshot(snapshot, own_user);
        self.initialized = true;
    }

    /// Applies a server event for this channel at `now_ms`.
    pub fn apply_event(&mut self, raw: &JsValue, kind: &str, own_user: &str, now_ms: f64) {
        let user = get(raw, "user");
        let user_id = text(&user, "id").unwrap_or_default();
        if !user_id.is_empty() {
            self.users.set(&user_id.clone().into(), &user);
        }
        let event = match kind {
            "message.new" => {
                let message = get(raw, "message");
                let thread_only = text(&message, "parent_id").is_some()
                    && !get(&message, "show_in_channel").is_truthy();
                match self.keep_message(&message) {
                    Some(message) => Event::MessageNew { message, user_id, thread_only },
                    None => Event::Other,
                }
            }
            "typing.start" => {
                self.typing.set(&user_id.clone().into(), raw);
                Event::TypingStart { user_id }
            }
            "typing.stop" => {
                self.typing.delete(&user_id.clone().into());
                Event::TypingStop { user_id }
            }
            "message.read" => Event::MessageRead {
                user_id,
                created_at: text(raw, "created_at").unwrap_or_default(),
                last_read_message_id: text(raw, "last_read_message_id"),
            },
            "user.watching.start" => Event::WatchingStart { user_id },
            "user.watching.stop" => Event::WatchingStop { user_id },
            _ => Event::Other,
        };
        if let Event::MessageNew { user_id, .. } = &event {
            self.typing.delete(&user_id.clone().into());
        }
        self.state.apply_event(event, number(raw, "watcher_count"), own_user, now_ms);
    }

    /// Expires remote typing at `now_ms`; returns who stopped.
    pub fn expire_typing(&mut self, now_ms: f64) -> Vec<String> {
        let expired = self.state.expire_typing(now_ms);
        for user in &expired {
            self.typing.delete(&user.clone().into());
        }
        expired
    }

    /// `channel.state`, as a fresh plain object: `messages` (ordered), `read` and `typing` (by user id),
    /// `watchers`, `watcher_count`, `unreadCount`.
    pub fn state_object(&self) -> JsValue {
        let messages: Array = self
            .state
            .messages
            .iter()
            .map(|key| self.messages.get(&key.id.clone().into()))
            .collect();
        let read = Object::new();
        for entry in &self.state.read {
            let user = self.users.get(&entry.user_id.clone().into());
            let user = if user.is_undefined() {
                object(&[("id", entry.user_id.clone().into())])
            } else {
                user
            };
            let value = object(&[
                ("user", user),
                ("last_read", entry.last_read.clone().into()),
                (
                    "last_read_message_id",
                    entry.last_read_message_id.clone().map_or(JsValue::NULL, Into::into),
                ),
                ("unread_messages", entry.unread_messages.into()),
            ]);
            let _ = Reflect::set(&read, &entry.user_id.clone().into(), &value);
        }
        let typing = Object::from_entries(&self.typing).unwrap_or_default();
        let watchers = Object::new();
        for watcher in &self.state.watchers {
            let _ = Reflect::set(
                &watchers,
                &watcher.clone().into(),
                &object(&[("id", watcher.clone().into())]),
            );
        }
        object(&[
            ("messages", messages.into()),
            ("read", read.into()),
            ("typing", typing.into()),
            ("watchers", watchers.into()),
            ("watcher_count", self.state.watcher_count.into()),
            ("unreadCount", self.state.unread_count.into()),
        ])
    }

    /// Keeps a message object by id; its key for the state.
    fn keep_message(&self, message: &JsValue) -> Option<MessageKey> {
        let id = text(message, "id")?;
        self.messages.set(&id.clone().into(), message);
        Some(MessageKey { id, created_at: text(message, "created_at").unwrap_or_default() })
    }
}

/// `object[key]`, `undefined` when absent or when `object` is not an object.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `object[key]` as a string.
pub fn text(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

/// `object[key]` as a non-negative integer.
pub fn number(object: &JsValue, key: &str) -> Option<u32> {
    get(object, key).as_f64().filter(|n| *n >= 0.0).map(|n| n as u32)
}

/// A plain object from pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        let _ = Reflect::set(&object, &(*key).into(), value);
    }
    object.into()
}
