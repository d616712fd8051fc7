//! What a server event does to one channel's [`Slot`]: messages, typing, reads and reactions through the core,
//! and the channel-level events (`channel.updated` / `hidden` / `visible` / `truncated` / `deleted`, members,
//! bans) applied to `channel.data` and `channel.state` as the official client's `_handleChannelEvent` does.

use alloc::vec::Vec;

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::JsValue;

use super::channels::Slot;
use crate::client::channel::Event;
use crate::platform::values::{copy, get, get_at, list, number, set, set_at, text, time};

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
                let message = self.with_own_reactions(raw, kind, own_user);
                let id = text(&message, "id").unwrap_or_default();
                self.keep_message(&message);
                Event::MessageChanged { id }
            }
            "member.added" | "member.updated" | "member.removed" => {
                self.member_changed(raw, kind == "member.removed", own_user);
                Event::Other
            }
            "channel.updated" => {
                self.channel_updated(&get(raw, "channel"));
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
                self.ban_changed(&user, kind == "user.banned" && !get(raw, "shadow").is_truthy());
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

    /// `channel.updated`: `channel.data` becomes the event's channel, keeping the own `hidden` and
    /// `own_capabilities` when it has none (as the official client does).
    fn channel_updated(&mut self, channel: &JsValue) {
        if !channel.is_object() {
            return;
        }
        let channel = copy(channel);
        for own in ["hidden", "own_capabilities"] {
            if get(&channel, own).is_null_or_undefined() {
                set(&channel, own, &get(&self.channel, own));
            }
        }
        self.channel = channel;
    }

    /// A truncation before `before` (ms; everything when `None`): its messages leave `pinnedMessages` too.
    fn truncated(&mut self, before: Option<f64>) -> Event {
        let gone = self.core.messages.iter().filter(|m| before.is_none_or(|t| m.created_at < t));
        for message in gone {
            super::kept_js::unpin(&self.state, &message.id);
        }
        Event::Truncated { before }
    }

    /// The message of a reaction event with `own_reactions` as this user's: the server sends the message as
    /// everyone sees it, so the own reactions come from the message kept here, changed by the event when the
    /// reaction is the own user's (the official client does the same).
    fn with_own_reactions(&self, raw: &JsValue, kind: &str, own_user: &str) -> JsValue {
        let message = copy(&get(raw, "message"));
        let reaction = get(raw, "reaction");
        let id = text(&message, "id").unwrap_or_default();
        let kept = self.messages.get(&id.as_str().into());
        let mut own: Vec<JsValue> = list(&kept, "own_reactions").iter().collect();
        if text(&reaction, "user_id").as_deref() == Some(own_user) {
            let kind_of = |r: &JsValue| text(r, "type");
            let same = |r: &JsValue| kind_of(r) == kind_of(&reaction);
            match kind {
                "reaction.deleted" => own.retain(|r| !same(r)),
                // An update that replaced another type came with enforce_unique: it is the only one left.
                "reaction.updated" if !own.iter().any(same) => own = alloc::vec![reaction.clone()],
                _ => {
                    own.retain(|r| !same(r));
                    own.push(reaction.clone());
                }
            }
        }
        set(&message, "own_reactions", &own.into_iter().collect::<Array>());
        message
    }

    /// A member joined, changed or left: `state.members` follows, and `membership` when it is the own user.
    fn member_changed(&mut self, raw: &JsValue, removed: bool, own_user: &str) {
        let member = get(raw, "member");
        let Some(id) = text(&member, "user_id").or_else(|| text(&get(&member, "user"), "id"))
        else {
            return;
        };
        let members = get(&self.state, "members");
        if removed {
            let _ = Reflect::delete_property(&Object::from(members), &id.as_str().into());
        } else {
            set_at(&members, &id, &member);
        }
        if id == own_user {
            let membership = if removed { Object::new().into() } else { member };
            set(&self.state, "membership", &membership);
        }
    }

    /// `user.banned` / `user.unbanned`: the member entry (made for a non-member) becomes a new object with
    /// `banned` set and the event's user fields over its own, as the official client's handler does.
    fn ban_changed(&mut self, user: &JsValue, banned: bool) {
        let Some(id) = text(user, "id") else { return };
        let members = get(&self.state, "members");
        let old = get_at(&members, &id);
        let member = copy(&old);
        let merged = copy(&get(&old, "user"));
        let _ = Object::assign(&Object::from(merged.clone()), &Object::from(user.clone()));
        set(&member, "banned", &banned.into());
        set(&member, "shadow_banned", &false.into());
        set(&member, "user", &merged);
        set_at(&members, &id, &member);
    }
}
