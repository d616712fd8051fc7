//! What `Channel` methods and `queryChannels` do: async code that builds the request, awaits the REST call and
//! applies the answer to the channel's state. Also the channel registry (one `Channel` object per cid), typing
//! (keystroke throttle, automatic stop, remote expiry) and the re-query of watched channels after a reconnect.
//!
//! Channels hold the client weakly; once `disconnectUser()` forgot them (or the client is gone), every method
//! rejects with "You can't use a channel after client.disconnect() was called", as the official client's do.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Date, Object, Promise};
use serde::Serialize;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

use super::api::{send, Apply, Request, Scope, Then};
use super::channels::Slot;
use super::client::Client;
use super::errors::to_js_error;
use super::inbox::Port;
use super::shapes::{shape, ListOptionsShape};
use super::values::{copy, get, list, object, set, text};
use super::Signal;
use crate::client::{ChatError, Input};

/// How often the typing cleaner runs while there is typing (the official client's 500 ms).
const CLEAN_INTERVAL_MS: u32 = 500;

/// One sort key of `queryChannels`, as the protocol sends it.
#[derive(Debug, Serialize)]
struct SortParam {
    /// The field.
    field: String,
    /// 1 ascending, -1 descending.
    direction: i32,
}

/// `/channels/{type}/{id}/{action}`, or `/channels/{type}/{action}` for a channel known by its members;
/// `/channels/{type}/{id}` for no action.
pub(super) fn channel_path(kind: &str, id: Option<&str>, action: &str) -> String {
    let mut path = String::from("/channels/") + &String::from(js_sys::encode_uri_component(kind));
    if let Some(id) = id {
        path = path + "/" + &String::from(js_sys::encode_uri_component(id));
    }
    if !action.is_empty() {
        path = path + "/" + action;
    }
    path
}

/// `watch()` / `query()`: get or create the channel and rebuild its state. The app's options are merged into the
/// body with no borrow held (a getter of the app's may call back into the SDK).
pub fn query(port: Port, key: u32, options: JsValue, watch: bool) -> Promise {
    let slot_view = port.client().and_then(|client| {
        let mut state = client.state.borrow_mut();
        let slot =
            state.slot(key).ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))?;
        slot.watch_pending |= watch;
        let data = if slot.data.is_object() { slot.data.clone() } else { Object::new().into() };
        Ok((channel_path(&slot.kind, slot.id.as_deref(), "query"), data))
    });
    let (path, data) = match slot_view {
        Ok(view) => view,
        Err(error) => return Promise::reject(&error),
    };
    let body = object(&[
        ("data", data),
        ("state", true.into()),
        ("watch", watch.into()),
        ("presence", false.into()),
    ]);
    let options = Object::try_from(&options).cloned().unwrap_or_default();
    let body: JsValue = Object::assign(&body.into(), &options).into();
    let apply: Apply = |client, key, mark, body, answer| {
        let own = client.state.borrow().user.clone();
        let mut latest = JsValue::UNDEFINED;
        if let Some(slot) = client.state.borrow_mut().slot(key) {
            slot.apply_response(answer, &own, &get(body, "messages"), Date::now());
            slot.watching |= get(body, "watch").is_truthy();
            slot.watch_pending = false;
            latest = get(&slot.state, "isUpToDate");
        }
        client.replay_since(mark, key);
        client.show_waiting(key);
        client.keep(&JsValue::UNDEFINED, answer);
        client.tell_queried(js_sys::Array::of1(answer).into(), latest);
        answer.clone()
    };
    let request = Request::new("POST", path, body);
    let server = send(&port, Request { key, apply: Some(apply), snapshot: true, ..request });
    if watch {
        super::cache::channel_from_cache_first(port, key, server)
    } else {
        server
    }
}

/// `/channels/{type}/{id}` of channel `key`; rejects when its id is not known, when `watched` and it was never
/// watched or queried, or when it is gone.
pub fn channel_prefix(port: &Port, key: u32, watched: bool) -> Result<String, JsValue> {
    let client = port.client()?;
    let mut state = client.state.borrow_mut();
    let slot = state.slot(key).ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))?;
    match (&slot.id, slot.initialized || !watched) {
        (Some(id), true) => Ok(channel_path(&slot.kind, Some(id), "")),
        _ => {
            let cid = slot.cid().unwrap_or_else(|| slot.kind.clone());
            Err(to_js_error(&ChatError::NotInitialized { cid }))
        }
    }
}

/// A call on a channel: `POST /channels/{type}/{id}/{action}` with `body`; `then` runs on the channel's slot after
/// success, with the answer and the own user's id. Rejects as `scope` says (no id yet; never queried) or when the
/// channel is gone.
pub fn channel_call(
    port: Port,
    key: u32,
    (scope, action): (Scope, &'static str),
    body: JsValue,
    then: Then,
) -> Promise {
    let path = if action.is_empty() { String::new() } else { String::from("/") + action };
    let request = Request::new("POST", path, body);
    send(&port, Request { scope, key, then: Some(then), ..request })
}

/// `sendMessage(message, options)`: the message gets a client-generated id unless it has one, written back to the
/// app's message object too, so that sending the same object again after a failure (a timeout the server may have
/// stored) reuses the id and never duplicates the message.
pub fn send_message(port: Port, key: u32, message: &JsValue, options: &JsValue) -> Promise {
    let given = get(message, "id");
    let id = if given.is_null_or_undefined() {
        let id = JsValue::from(super::client::uuid());
        if message.is_object() {
            set(message, "id", &id);
        }
        id
    } else {
        given
    };
    let message = copy(message);
    set(&message, "id", &id);
    // A failed message sent again (a retry) goes without the fields the SDK and the server added.
    if get(&message, "status").as_string().as_deref() == Some("failed") {
        super::messages::strip_local_fields(&message);
    }
    let body = copy(options);
    set(&body, "message", &message);
    if let Ok(client) = port.client() {
        if let Some(held) = client.hold(key, &message, &body) {
            return super::errors::with_message_id(&held, &id);
        }
    }
    // The sent message is in the state when the promise resolves, as with the official client (the
    // `message.new` that follows changes nothing: one entry per id).
    let sent = channel_call(port, key, (Scope::Channel, "message"), body, |slot, answer, own| {
        slot.apply_sent(&get(answer, "message"), own, Date::now())
    });
    super::errors::with_message_id(&sent, &id)
}

/// `keystroke()`: `typing.start` at most every 2 s, only where typing is allowed; `typing.stop` follows by itself.
pub fn keystroke(port: Port, key: u32, parent_id: Option<String>) -> Promise {
    let send = port.client().map(|client| {
        let send = {
            let mut state = client.state.borrow_mut();
            let allowed = typing_allowed(&state.user);
            let now = Date::now();
            match state.slot(key) {
                Some(slot) if allowed && slot.initialized && slot.config("typing_events") => {
                    Some(slot.own_typing.keystroke(now))
                }
                Some(_) => Some(false),
                None => None,
            }
        };
        client.schedule_cleaner();
        send
    });
    match send {
        Ok(Some(true)) => typing_event(port, key, "typing.start", parent_id),
        Ok(Some(false)) => Promise::resolve(&JsValue::UNDEFINED),
        Ok(None) | Err(_) => Promise::reject(&to_js_error(&ChatError::ChannelAfterDisconnect)),
    }
}

/// `stopTyping()`: `typing.stop` if the own user was typing, only where typing is allowed.
pub fn stop_typing(port: Port, key: u32, parent_id: Option<String>) -> Promise {
    let send = port.client().map(|client| {
        let mut state = client.state.borrow_mut();
        let allowed = typing_allowed(&state.user);
        state.slot(key).map(|slot| slot.own_typing.stop() && allowed)
    });
    match send {
        Ok(Some(true)) => typing_event(port, key, "typing.stop", parent_id),
        Ok(Some(false)) => Promise::resolve(&JsValue::UNDEFINED),
        Ok(None) | Err(_) => Promise::reject(&to_js_error(&ChatError::ChannelAfterDisconnect)),
    }
}

fn typing_event(port: Port, key: u32, kind: &str, parent_id: Option<String>) -> Promise {
    let event = object(&[("type", kind.into())]);
    if let Some(parent_id) = parent_id {
        set(&event, "parent_id", &parent_id.into());
    }
    channel_call(port, key, (Scope::Watched, "event"), object(&[("event", event)]), |_, _, _| {})
}

/// `getReplies(parentId, options)`: a page of the thread (`limit`, `id_lt`), filed into `state.threads`.
pub fn get_replies(port: Port, key: u32, parent_id: &str, options: &JsValue) -> Promise {
    let mut path = String::from("/messages/")
        + &String::from(js_sys::encode_uri_component(parent_id))
        + "/replies";
    for name in ["limit", "id_lt"] {
        let value = get(options, name);
        let number = value.as_f64().map(|n| {
            let mut text = String::new();
            stream_chat_protocol::user::push_decimal(&mut text, n as u64);
            text
        });
        if let Some(value) = value.as_string().or(number) {
            super::http::push_param(&mut path, name, &value);
        }
    }
    let then: Then = |slot, page, _| slot.apply_replies(page);
    send(&port, Request { key, then: Some(then), ..Request::new("GET", path, JsValue::UNDEFINED) })
}

/// `markRead()`: only on channels whose config has read events (as the official client; resolves `null`
/// otherwise).
pub fn mark_read(port: Port, key: u32, data: &JsValue) -> Promise {
    let enabled = port.client().map(|client| {
        client.state.borrow_mut().slot(key).map(|s| !s.initialized || s.config("read_events"))
    });
    match enabled {
        Ok(Some(false)) => Promise::resolve(&JsValue::NULL),
        _ => channel_call(port, key, (Scope::Watched, "read"), copy(data), |_, _, _| {}),
    }
}

/// `queryChannels(filter, sort, options)`: resolves with the `Channel` objects, their state rebuilt; with
/// `cached`, from the local cache first when it has the list (`cache.rs`).
pub fn query_channels(
    port: Port,
    filter: &JsValue,
    sort: &JsValue,
    options: &JsValue,
    cached: bool,
) -> Promise {
    let watch = shape::<ListOptionsShape>(options)
        .and_then(|options| options.watch().as_bool())
        .unwrap_or(true);
    let body = copy(options);
    set(&body, "filter_conditions", &copy(filter));
    set(&body, "sort", &sort_value(sort));
    set(&body, "state", &true.into());
    set(&body, "watch", &watch.into());
    set(&body, "presence", &get(options, "presence").is_truthy().into());
    let apply: Apply = |client, _, mark, body, answer| {
        let channels = client.apply_channel_list(answer, mark, get(body, "watch").is_truthy());
        client.queried(body, answer);
        channels.into()
    };
    let request = Request::new("POST", "/channels".into(), body.clone());
    let server = send(&port, Request { apply: Some(apply), snapshot: true, ..request });
    if cached {
        super::cache::from_cache_first(port, &body, server)
    } else {
        server
    }
}

/// The official client's sort argument as the protocol's JS list `[{field, direction}]`.
pub fn sort_value(sort: &JsValue) -> JsValue {
    serde_wasm_bindgen::to_value(&sort_list(sort)).unwrap_or_default()
}

/// The official client's sort argument (`{field: direction}` or a list of them) as the protocol's list.
fn sort_list(sort: &JsValue) -> Vec<SortParam> {
    let entries: Array = if Array::is_array(sort) {
        Array::from(sort)
    } else if sort.is_object() {
        Array::of1(sort)
    } else {
        Array::new()
    };
    let mut list = Vec::new();
    for entry in entries.iter() {
        let Some(entry) = Object::try_from(&entry) else { continue };
        for pair in Object::entries(entry).iter() {
            let pair = Array::from(&pair);
            if let (Some(field), Some(direction)) = (pair.get(0).as_string(), pair.get(1).as_f64())
            {
                list.push(SortParam { field, direction: if direction < 0.0 { -1 } else { 1 } });
            }
        }
    }
    list
}

/// Whether the own user lets typing events go out (`privacy_settings.typing_indicators.enabled`, on unless
/// switched off). `client.user` is the server's `me` once connected, so the server's view wins.
/// The member ids of `data.members` (ids or `{user_id}` objects) sorted and joined by commas in JS, as the official
/// client keys a channel made by its members; `None` without members.
fn members_key(data: &JsValue) -> Option<String> {
    let ids: Array = list(data, "members")
        .iter()
        .map(|member| {
            let id = if member.is_string() { member } else { get(&member, "user_id") };
            if id.is_string() {
                id
            } else {
                JsValue::from_str("")
            }
        })
        .collect::<Array>();
    if ids.length() == 0 {
        return None;
    }
    ids.sort().join(",").as_string()
}

fn typing_allowed(user: &JsValue) -> bool {
    get(&get(&get(user, "privacy_settings"), "typing_indicators"), "enabled").as_bool()
        != Some(false)
}

impl Client {
    /// The channel object for `kind`/`id` (one per cid; one per set of members for a channel made by its
    /// members), made by `make(slot)` the first time.
    pub fn channel(
        &self,
        kind: String,
        id: Option<String>,
        data: JsValue,
        make: impl FnOnce(&Slot) -> JsValue,
    ) -> JsValue {
        // Read from the app's object before any borrow: a getter of the app's may call back into the SDK.
        let members_key = if id.is_none() { members_key(&data) } else { None };
        let mut state = self.state.borrow_mut();
        let same = |slot: &&Slot| {
            slot.kind == kind
                && match (&id, &members_key) {
                    (Some(_), _) => slot.id == id,
                    (None, Some(members)) => slot.members_key.as_ref() == Some(members),
                    (None, None) => false,
                }
        };
        if let Some(slot) = state.channels.iter().find(same) {
            return slot.object.clone();
        }
        state.next_key = state.next_key.wrapping_add(1);
        let key = state.next_key;
        let mut slot = Slot::new(key, kind, id, data);
        slot.members_key = members_key;
        slot.object = make(&slot);
        let object = slot.object.clone();
        state.channels.push(slot);
        object
    }

    /// Applies each channel of a `POST /channels` answer to its slot (creating slots as needed), then the
    /// channel's events that arrived since the query began (`mark`); returns the channel objects in answer order.
    pub(super) fn apply_channel_list(&self, body: &JsValue, mark: u64, watch: bool) -> Array {
        let objects = Array::new();
        let own = self.state.borrow().user.clone();
        for response in list(body, "channels").iter() {
            let channel = get(&response, "channel");
            let (Some(kind), Some(id)) = (text(&channel, "type"), text(&channel, "id")) else {
                continue;
            };
            let port = self.port.clone();
            let object = self.channel(kind.clone(), Some(id.clone()), JsValue::UNDEFINED, |slot| {
                crate::js::channel_object(port, slot)
            });
            let key = {
                let mut state = self.state.borrow_mut();
                let slot = state
                    .channels
                    .iter_mut()
                    .find(|s| s.kind == kind && s.id.as_deref() == Some(&id));
                slot.map(|slot| {
                    slot.apply_response(&response, &own, &JsValue::UNDEFINED, Date::now());
                    slot.watching |= watch;
                    slot.key
                })
            };
            if let Some(key) = key {
                self.replay_since(mark, key);
                self.show_waiting(key);
            }
            objects.push(&object);
        }
        objects
    }

    /// After a reconnect: [`Client::recover_state`], unawaited; a failure is logged.
    pub(super) fn recover(&self) {
        let recovered = self.recover_state();
        let port = self.port.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if wasm_bindgen_futures::JsFuture::from(recovered).await.is_err() {
                if let Some(client) = port.live() {
                    client.log("warn", "recovery query failed");
                }
            }
        });
    }

    /// `recoverState()`: re-query the watched channels (and those with a `watch()` in flight) in one `POST
    /// /channels` (their state rebuilt, keeping messages that arrived meanwhile), then `connection.recovered`.
    pub fn recover_state(&self) -> Promise {
        let cids: Array = {
            let state = self.state.borrow();
            state
                .channels
                .iter()
                .filter(|slot| slot.watching || slot.watch_pending)
                .filter_map(|slot| slot.cid())
                .map(JsValue::from)
                .collect()
        };
        if cids.length() == 0 {
            self.receive(Signal::Input(Input::Recovered));
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        let filter = object(&[("cid", object(&[("$in", cids.into())]))]);
        let sort = object(&[("last_message_at", (-1).into())]);
        let options = object(&[("limit", 30.into())]);
        let port = self.port.clone();
        let requery = query_channels(port.clone(), &filter, &sort, &options, false);
        future_to_promise(async move {
            wasm_bindgen_futures::JsFuture::from(requery).await?;
            if let Some(client) = port.live() {
                client.receive(Signal::Input(Input::Recovered));
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Arms the typing cleaner unless it runs.
    pub(super) fn schedule_cleaner(&self) {
        let mut state = self.state.borrow_mut();
        if state.cleaner.is_none() {
            let port = self.port.clone();
            state.cleaner =
                Some(gloo_timers::callback::Timeout::new(CLEAN_INTERVAL_MS, move || {
                    port.send(Signal::Clean)
                }));
        }
    }

    /// Expires remote typing (emitting local `typing.stop` events) and stops the own typing that went quiet.
    pub(super) fn clean(&self) {
        let now = Date::now();
        let (expired, stops, busy, allowed) = {
            let mut state = self.state.borrow_mut();
            state.cleaner = None;
            let allowed = typing_allowed(&state.user);
            let (mut expired, mut stops, mut busy) = (Vec::new(), Vec::new(), false);
            for slot in &mut state.channels {
                let cid = slot.cid().unwrap_or_default();
                expired.extend(
                    slot.expire_typing(now).into_iter().map(|user| (slot.key, cid.clone(), user)),
                );
                if slot.own_typing.tick(now) {
                    stops.extend(
                        slot.id.clone().map(|id| channel_path(&slot.kind, Some(&id), "event")),
                    );
                }
                busy |= slot.own_typing.is_typing() || !slot.core.typing.is_empty();
            }
            (expired, stops, busy, allowed)
        };
        for (key, cid, user) in expired {
            let event = object(&[
                ("type", "typing.stop".into()),
                ("cid", cid.into()),
                ("user", object(&[("id", user.into())])),
            ]);
            self.dispatch(Some(key), "typing.stop", &event);
        }
        for path in stops.into_iter().filter(|_| allowed) {
            let body = object(&[("event", object(&[("type", "typing.stop".into())]))]);
            self.submit(path, &body, false);
        }
        if busy {
            self.schedule_cleaner();
        }
    }
}
