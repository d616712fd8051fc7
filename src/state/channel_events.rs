//! What a server event does to one channel's [`Slot`]: messages, typing, reads and reactions through the core,
//! and the channel-level events (`channel.updated` / `hidden` / `visible` / `truncated` / `deleted`, members,
//! bans) applied to `channel.data` and `channel.state` as the official client's `_handleChannelEvent` does.

use js_sys::Map;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::channels::Slot;
use crate::client::channel::Event;
use crate::platform::values::{get, number, set, text, time};

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// `channel.updated`: the event's `channel` (a copy) as `channel.data`, keeping `current`'s `hidden` and
    /// `own_capabilities` where it has none, as the official client does; `current` when it is not an object.
    #[wasm_bindgen(js_name = channelUpdated)]
    fn channel_updated(channel: &JsValue, current: &JsValue) -> JsValue;

    /// A copy of a reaction event's message with `own_reactions` as this user's: the server sends the message as
    /// everyone sees it, so the own reactions come from the message kept in `messages`, changed by the event when
    /// the reaction is `own_user`'s (the official client does the same).
    #[wasm_bindgen(js_name = withOwnReactions)]
    fn with_own_reactions(event: &JsValue, messages: &Map, kind: &str, own_user: &str) -> JsValue;

    /// A member joined, changed or left: `state.members` follows, and `state.membership` when it is `own_user`.
    #[wasm_bindgen(js_name = memberChanged)]
    fn member_changed(state: &JsValue, event: &JsValue, removed: bool, own_user: &str);

    /// `user.banned` / `user.unbanned`: the member entry (made for a non-member) becomes a new object with
    /// `banned` set and the event's user fields over its own, as the official client's handler does.
    #[wasm_bindgen(js_name = banChanged)]
    fn ban_changed(state: &JsValue, user: &JsValue, banned: bool);
}

impl Slot {
    /// Applies a server event for this channel at `now_ms`.
    pub fn apply_event(
        &mut self,
        raw: &JsValue,
        kind: &str,
        (own_user, muted): (&str, bool),
        now_ms: f64,
    ) {
        let user = get(raw, "user");
        // The id as the JS string it already is, for the maps keyed by it (no copy back out of wasm).
        let user_key = get(&user, "id");
        let user_id = user_key.as_string().unwrap_or_default();
        if !user_id.is_empty() {
            self.users.set(&user_key, &user);
        }
        let event = match kind {
            "message.new" => match self.keep_message(&get(raw, "message")) {
                (Some(message), thread_only) => {
                    super::kept_js::pin_kept(&self.state, true);
                    let quiet = muted || super::kept_js::kept_quiet();
                    Event::MessageNew { message, user_id, thread_only, quiet }
                }
                (None, _) => Event::Other,
            },
            "typing.start" => {
                self.typing.set(&user_key, raw);
                Event::TypingStart { user_id }
            }
            "typing.stop" => {
                self.typing.delete(&user_key);
                Event::TypingStop { user_id }
            }
            // A thread's read leaves the channel's read state alone (the official client skips it too).
            "message.read" if get(raw, "thread").is_object() => Event::Other,
            "message.read" => Event::MessageRead {
                user_id,
                created_at: time(raw, "created_at").unwrap_or(now_ms),
                last_read_message_id: text(raw, "last_read_message_id"),
            },
            "message.updated" | "message.deleted" => {
                let message = get(raw, "message");
                let id = text(&message, "id").unwrap_or_default();
                super::kept_js::requote(&self.messages, &message, kind == "message.deleted");
                if kind == "message.deleted" && get(raw, "hard_delete").is_truthy() {
                    super::kept_js::unpin(&self.state, &id);
                    self.forget_message(&id, text(&message, "parent_id").as_deref());
                    Event::MessageRemoved { id }
                } else {
                    if self.keep_message(&message).0.is_some() {
                        super::kept_js::pin_kept(&self.state, kind == "message.updated");
                    }
                    Event::MessageChanged { id }
                }
            }
            "notification.mark_unread" => Event::MarkedUnread {
                user_id: own_user.into(),
                last_read: time(raw, "last_read").unwrap_or(0.0),
                last_read_message_id: text(raw, "last_read_message_id"),
                unread_messages: number(raw, "unread_messages").unwrap_or(0),
            },
            "reaction.new" | "reaction.updated" | "reaction.deleted" => {
                let message = with_own_reactions(raw, &self.messages, kind, own_user);
                let id = text(&message, "id").unwrap_or_default();
                self.keep_message(&message);
                Event::MessageChanged { id }
            }
            "member.added" | "member.updated" | "member.removed" => {
                member_changed(&self.state, raw, kind == "member.removed", own_user);
                Event::Other
            }
            "channel.updated" => {
                self.channel = channel_updated(&get(raw, "channel"), &self.channel);
                Event::Other
            }
            "channel.hidden" | "channel.visible" => {
                let hidden = kind == "channel.hidden";
                if self.channel.is_object() {
                    set(&self.channel, "hidden", &hidden.into());
                }
                match hidden && get(raw, "clear_history").is_truthy() {
                    true => self.truncated(None),
                    false => Event::Other,
                }
            }
            "channel.truncated" => self.truncated(time(&get(raw, "channel"), "truncated_at")),
            "channel.deleted" | "notification.channel_deleted" => {
                self.deleted = true;
                Event::Other
            }
            "user.banned" | "user.unbanned" => {
                ban_changed(
                    &self.state,
                    &user,
                    kind == "user.banned" && !get(raw, "shadow").is_truthy(),
                );
                Event::Other
            }
            "user.watching.start" => Event::WatchingStart { user_id },
            "user.watching.stop" => Event::WatchingStop { user_id },
            _ => Event::Other,
        };
        if let Event::MessageNew { user_id, .. } = &event {
            if self.typing.size() > 0 {
                self.typing.delete(&user_id.as_str().into());
            }
        }
        let truncated = matches!(event, Event::Truncated { .. });
        self.core.apply_event(event, number(raw, "watcher_count"), own_user, now_ms);
        if truncated {
            self.prune_kept();
        }
        self.sync();
    }

    /// A truncation before `before` (ms; everything when `None`): its messages leave `pinnedMessages` too.
    fn truncated(&mut self, before: Option<f64>) -> Event {
        let gone = self.core.messages.iter().filter(|m| before.is_none_or(|t| m.created_at < t));
        for message in gone {
            super::kept_js::unpin(&self.state, &message.id);
        }
        Event::Truncated { before }
    }
}
