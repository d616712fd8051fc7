//! The channels a client knows, one [`Slot`] per `client.channel(…)` object: the core's [`ChannelState`] (keys
//! and rules) next to the JS objects it refers to, and `channel.state`, one persistent JS object per channel that
//! is updated in place the way the official client's `ChannelState` is: `messages` is the same array until it
//! changes, timestamps are `Date`s, messages carry `status: 'received'`, thread-only replies live in `threads`.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Map, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::kept_js::in_order;
use crate::client::channel::{ChannelState, Read, Snapshot, Typing};
use crate::platform::listeners::Listeners;
use crate::platform::values::{date, get, get_at, list, number, object, set, set_at, text, time};

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// How many of `messages` count as unread for `own_user`, as the official client's `_countMessageAsUnread`
    /// counts: not the user's own, not `silent`, `shadowed` or `system`; with `mentions`, only those whose
    /// `mentioned_users` name the user (by id, or as the id itself).
    #[wasm_bindgen(js_name = countUnread)]
    pub fn count_unread(messages: &Array, own_user: &str, mentions: bool) -> u32;

    /// A new `channel.state`: no messages (`messages` and `latestMessages` the same empty array), empty `read`,
    /// `typing`, `watchers`, `members`, `membership` and `threads`, counts at 0, up to date, no pagination.
    #[wasm_bindgen(js_name = newChannelState)]
    fn new_channel_state() -> JsValue;

    /// Deletes every own key of `object` (kept: apps hold it), when it is an object.
    #[wasm_bindgen(js_name = emptyObject)]
    fn empty_object(object: &JsValue);

    /// `{[user id]: member}` of a query answer's `members` (the id from `member.user.id`, else `member.user_id`;
    /// members with neither are left out).
    #[wasm_bindgen(js_name = membersById)]
    fn members_by_id(members: &JsValue) -> JsValue;

    /// Which way a query's `messages` option `page` went from an anchor (bit 1: before, bit 2: after; 0: the
    /// latest page), with `state.messagePagination` and `isUpToDate` set from whether the `returned` messages
    /// filled the page (`page.limit`, else the server's default 25).
    fn paged(state: &JsValue, page: &JsValue, returned: usize) -> u8;
}

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
    /// For a channel made by its members (`client.channel(type, {members})`): their sorted ids joined by commas,
    /// so the same members give the same object, before and after the server named the channel.
    pub members_key: Option<String>,
    /// The JS `Channel` object, so `client.channel()` returns the same one every time.
    pub object: JsValue,
    /// Keys, order and counters.
    pub core: ChannelState,
    /// `channel.state`: the one JS object apps read, updated in place.
    pub state: JsValue,
    /// The `core.revision` the `messages` array was built at.
    synced_revision: Option<u32>,
    /// What `read`, `watchers` and `typing` were last written from; each is rewritten only when it changed.
    synced_lists: Option<(Vec<Read>, Vec<String>, u32)>,
    /// Message id → the message as apps see it (dates parsed, `status` set).
    pub messages: Map,
    /// User id → user object, for read entries and watchers.
    pub users: Map,
    /// User id → their `typing.start` event.
    pub typing: Map,
    /// The server's `channel` object (config, capabilities, custom data).
    pub channel: JsValue,
    /// Set by the first successful `watch()` / `query()`.
    pub initialized: bool,
    /// `channel.deleted` arrived: it left `client.activeChannels`.
    pub deleted: bool,
    /// Whether this client watches it (and so re-queries it after a reconnect).
    pub watching: bool,
    /// A `watch()` is in flight: the channel counts as watched for a recovery that runs before its answer (sent
    /// with the connection that was lost, that answer watches nothing).
    pub watch_pending: bool,
    /// The own user's typing here.
    pub own_typing: Typing,
    /// Handlers registered with `channel.on`.
    pub listeners: Listeners,
}

impl Slot {
    /// A slot for a channel not queried yet.
    pub fn new(key: u32, kind: String, id: Option<String>, data: JsValue) -> Slot {
        let state = new_channel_state();
        Slot {
            key,
            kind,
            id,
            data,
            members_key: None,
            object: JsValue::UNDEFINED,
            core: ChannelState::default(),
            state,
            synced_revision: None,
            synced_lists: None,
            messages: Map::new(),
            users: Map::new(),
            typing: Map::new(),
            channel: JsValue::UNDEFINED,
            initialized: false,
            deleted: false,
            watching: false,
            watch_pending: false,
            own_typing: Typing::default(),
            listeners: Listeners::default(),
        }
    }

    /// `type:id`, once the id is known.
    pub fn cid(&self) -> Option<String> {
        self.id.as_ref().map(|id| self.kind.clone() + ":" + id)
    }

    /// Whether this is the channel `cid`, without building its cid (asked for every event).
    pub fn is(&self, cid: &str) -> bool {
        match (crate::client::text::split_once(cid, b':'), &self.id) {
            (Some((kind, id)), Some(own)) => kind == self.kind && id == own,
            _ => false,
        }
    }

    /// Whether the channel's config has `flag` (`typing_events`, `read_events`) on.
    pub fn config(&self, flag: &'static str) -> bool {
        get(&get(&self.channel, "config"), flag).is_truthy()
    }

    /// Rebuilds the state from a channel response (`{channel, members, membership, messages, read, watchers,
    /// watcher_count}`) at `now_ms`; `own` is `client.user`.
    /// `page` is the query's `messages` option: a page before or after an anchor is merged into the messages
    /// there are; the latest page rebuilds them. `messagePagination` says whether more pages exist either way.
    pub fn apply_response(
        &mut self,
        response: &JsValue,
        own: &JsValue,
        page: &JsValue,
        now_ms: f64,
    ) {
        self.channel = get(response, "channel");
        self.synced_lists = None;
        // The server's answer replaces what the local cache gave (`runtime/cache.rs`).
        if get(&self.state, "isFromCache").is_truthy() {
            set(&self.state, "isFromCache", &false.into());
        }
        if let Some(id) = text(&self.channel, "id") {
            self.id = Some(id);
        }
        let own_id = text(own, "id").unwrap_or_default();
        if !own_id.is_empty() {
            self.users.set(&own_id.as_str().into(), own);
        }
        super::kept_js::set_pinned(&self.state, &get(response, "pinned_messages"));
        let (messages, copies) = self.keep_messages(&list(response, "messages"));
        let read = list(response, "read")
            .iter()
            .filter_map(|entry| {
                let user = get(&entry, "user");
                let user_id = text(&user, "id")?;
                self.users.set(&user_id.as_str().into(), &user);
                Some(Read {
                    user_id,
                    last_read: time(&entry, "last_read").unwrap_or(0.0),
                    last_read_message_id: text(&entry, "last_read_message_id"),
                    unread_messages: number(&entry, "unread_messages").unwrap_or(0),
                })
            })
            .collect();
        let watchers = list(response, "watchers")
            .iter()
            .filter_map(|user| {
                let id = text(&user, "id")?;
                self.users.set(&id.as_str().into(), &user);
                Some(id)
            })
            .collect();
        set(&self.state, "members", &members_by_id(&get(response, "members")));
        let membership = get(response, "membership");
        set(
            &self.state,
            "membership",
            &if membership.is_object() { membership } else { Object::new().into() },
        );
        let watcher_count = number(response, "watcher_count").unwrap_or(0);
        let snapshot = Snapshot { messages, read, watchers, watcher_count };
        let mut shown = None;
        if paged(&self.state, page, snapshot.messages.len()) != 0 {
            self.core.apply_page(snapshot, &own_id, now_ms);
        } else {
            if self.core.apply_snapshot(snapshot, &own_id, now_ms) {
                // The page is what `messages` shows: no need to look each message up again by id.
                shown = copies;
            }
            self.prune_kept();
        }
        self.initialized = true;
        self.sync_showing(shown);
    }

    /// The messages in the state created after `since_ms`, for [`count_unread`] to look at once no borrow is
    /// held (they are objects apps can reach); none where the channel has read events off.
    pub fn messages_since(&self, since_ms: f64) -> Array {
        if !self.config("read_events") {
            return Array::new();
        }
        let after = self.core.messages.iter().filter(|key| key.created_at > since_ms);
        after.map(|key| self.messages.get(&key.id.as_str().into())).collect()
    }

    /// A user changed: its member entry and watcher entry show the new object.
    pub fn user_changed(&mut self, id: &str, user: &JsValue) {
        self.users.set(&id.into(), user);
        self.synced_lists = None;
        let member = get_at(&get(&self.state, "members"), id);
        if member.is_object() {
            set(&member, "user", user);
        }
        let watchers = get(&self.state, "watchers");
        if get_at(&watchers, id).is_object() {
            set_at(&watchers, id, user);
        }
    }

    /// Everything read by the own user (`notification.mark_read`).
    pub fn read_all(&mut self, own_user: &str, now_ms: f64) {
        self.core.read_all(own_user, now_ms);
        self.sync();
    }

    /// The own user's message as the server stored it (the answer to `sendMessage`): applied as its
    /// `message.new` will be, which then finds it there already.
    pub fn apply_sent(&mut self, message: &JsValue, own_user: &str, now_ms: f64) {
        if !message.is_object() {
            return;
        }
        let event = object(&[("message", message.clone()), ("user", get(message, "user"))]);
        self.apply_event(&event, "message.new", (own_user, false), now_ms);
    }

    /// Expires remote typing at `now_ms`; returns who stopped.
    pub fn expire_typing(&mut self, now_ms: f64) -> Vec<String> {
        let expired = self.core.expire_typing(now_ms);
        for user in &expired {
            self.typing.delete(&user.as_str().into());
        }
        if !expired.is_empty() {
            self.sync();
        }
        expired
    }

    /// Brings `channel.state` up to date with the core: a new `messages` array only when the messages changed;
    /// `read`, `typing` and `watchers` rewritten in place.
    pub fn sync(&mut self) {
        self.sync_showing(None);
    }

    /// [`Slot::sync`], with `shown`, when given, the kept copies of the core's messages in its order.
    fn sync_showing(&mut self, shown: Option<Array>) {
        if self.synced_revision != Some(self.core.revision) {
            let previous: Array = get(&self.state, "messages").into();
            let kept = previous.length() as usize;
            let appended = self
                .synced_revision
                .filter(|synced| self.core.only_appended_since(*synced))
                .and_then(|_| self.core.messages.get(kept..));
            let messages = match (shown, appended) {
                (Some(shown), _) => shown,
                // A new array, as apps compare it by identity, but copied natively rather than rebuilt.
                (None, Some(new)) => {
                    let messages = previous.slice(0, kept as u32);
                    for key in new {
                        messages.push(&self.messages.get(&key.id.as_str().into()));
                    }
                    messages
                }
                (None, None) => {
                    in_order(&self.messages, self.core.messages.iter().map(|key| key.id.as_str()))
                }
            };
            self.synced_revision = Some(self.core.revision);
            set(&self.state, "messages", &messages);
            // One list of messages: the latest set is the one there is.
            set(&self.state, "latestMessages", &messages);
            let newest = self.core.messages.last().map_or(JsValue::NULL, |m| date(m.created_at));
            set(&self.state, "last_message_at", &newest);
        }
        if self.lists_changed() {
            self.write_lists();
        }
        set(&self.state, "watcher_count", &self.core.watcher_count.into());
        set(&self.state, "unreadCount", &self.core.unread_count.into());
    }

    /// Whether `read`, `watchers` or `typing` may show something else than when last written (typing entries
    /// are objects: rewritten whenever there are any). Compared without copying, as it is asked on every event.
    fn lists_changed(&self) -> bool {
        let typing = self.typing.size();
        typing > 0
            || !self.synced_lists.as_ref().is_some_and(|(read, watchers, synced_typing)| {
                *read == self.core.read
                    && *watchers == self.core.watchers
                    && *synced_typing == typing
            })
    }

    /// Rewrites `read`, `typing` and `watchers` in place from the core and the known users.
    fn write_lists(&mut self) {
        self.synced_lists =
            Some((self.core.read.clone(), self.core.watchers.clone(), self.typing.size()));
        let read = clear(&self.state, "read");
        for entry in &self.core.read {
            let value = object(&[
                ("user", self.user(&entry.user_id)),
                ("last_read", date(entry.last_read)),
                (
                    "last_read_message_id",
                    entry.last_read_message_id.as_deref().map_or(JsValue::NULL, Into::into),
                ),
                ("unread_messages", entry.unread_messages.into()),
            ]);
            set_at(&read, &entry.user_id, &value);
        }
        let typing = clear(&self.state, "typing");
        self.typing.for_each(&mut |event, user| {
            let _ = Reflect::set(&typing, &user, &event);
        });
        let watchers = clear(&self.state, "watchers");
        for watcher in &self.core.watchers {
            set_at(&watchers, watcher, &self.user(watcher));
        }
    }

    /// The user object known for `id`, or `{id}`.
    fn user(&self, id: &str) -> JsValue {
        let user = self.users.get(&id.into());
        if user.is_object() {
            user
        } else {
            object(&[("id", id.into())])
        }
    }
}

/// Empties `state[key]` in place (keeps the object's identity) and returns it.
fn clear(state: &JsValue, key: &'static str) -> JsValue {
    let target = get(state, key);
    empty_object(&target);
    target
}
