//! What `Channel` methods and `queryChannels` do: async code that builds the request, awaits the REST call and
//! applies the answer to the channel's state. Also the channel registry (one `Channel` object per cid), typing
//! (keystroke throttle, automatic stop, remote expiry) and the re-query of watched channels after a reconnect.
//!
//! Channels hold the client weakly; once `disconnectUser()` forgot them (or the client is gone), every method
//! rejects with "You can't use a channel after client.disconnect() was called", as the official client's do.

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Date, Object, Promise};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::future_to_promise;

use super::channels::Slot;
use super::client::Client;
use super::errors::to_js_error;
use super::inbox::Port;
use super::rest::call;
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

/// The `queryChannels` options the SDK reads; the others pass through to the server unchanged.
#[derive(Debug, Default, Deserialize)]
struct ListOptions {
    /// Whether to watch the channels (default true).
    watch: Option<bool>,
}

/// `/channels/{type}/{id}/{action}`, or `/channels/{type}/{action}` for a channel known by its members;
/// `/channels/{type}/{id}` for no action.
fn channel_path(kind: &str, id: Option<&str>, action: &str) -> String {
    let mut path = String::from("/channels/") + &String::from(js_sys::encode_uri_component(kind));
    if let Some(id) = id {
        path = path + "/" + &String::from(js_sys::encode_uri_component(id));
    }
    if !action.is_empty() {
        path = path + "/" + action;
    }
    path
}

/// `addMembers(members, message, options)` / `removeMembers(ids, message, options)`: `field` is
/// `add_members` or `remove_members`.
pub fn change_members(
    port: Port,
    key: u32,
    field: &'static str,
    members: &JsValue,
    message: &JsValue,
    options: &JsValue,
) -> Promise {
    let body = copy(options);
    set(&body, field, members);
    if message.is_object() {
        set(&body, "message", message);
    }
    channel_call(port, key, "", body, |_, _, _| {})
}

/// `watch()` / `query()`: get or create the channel and rebuild its state.
pub fn query(port: Port, key: u32, options: JsValue, watch: bool) -> Promise {
    future_to_promise(async move {
        let (path, body) = {
            let client = port.client()?;
            let mut state = client.state.borrow_mut();
            let slot =
                state.slot(key).ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))?;
            let data = if slot.data.is_object() { slot.data.clone() } else { Object::new().into() };
            let body = object(&[
                ("data", data),
                ("state", true.into()),
                ("watch", watch.into()),
                ("presence", false.into()),
            ]);
            let options = Object::try_from(&options).cloned().unwrap_or_default();
            let body: JsValue = Object::assign(&body.into(), &options).into();
            (channel_path(&slot.kind, slot.id.as_deref(), "query"), body)
        };
        let response = call(&port, path, &body).await?;
        let client = port.client()?;
        let own = client.state.borrow().user.clone();
        if let Some(slot) = client.state.borrow_mut().slot(key) {
            slot.apply_response(&response, &own, &get(&body, "messages"), Date::now());
            slot.watching |= watch;
        }
        Ok(response)
    })
}

/// A call on an initialized channel: `POST /channels/{type}/{id}/{action}` with `body`; `then` runs on the
/// channel's slot after success, with the answer and the own user's id. Rejects when the channel was never
/// queried or is gone.
pub fn channel_call(
    port: Port,
    key: u32,
    action: &'static str,
    body: JsValue,
    then: fn(&mut Slot, &JsValue, &str),
) -> Promise {
    future_to_promise(async move {
        let path = {
            let client = port.client()?;
            let mut state = client.state.borrow_mut();
            let slot =
                state.slot(key).ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))?;
            match (&slot.id, slot.initialized) {
                (Some(id), true) => channel_path(&slot.kind, Some(id), action),
                _ => {
                    let cid = slot.cid().unwrap_or_else(|| slot.kind.clone());
                    return Err(to_js_error(&ChatError::NotInitialized { cid }));
                }
            }
        };
        let response = call(&port, path, &body).await?;
        let client = port.client()?;
        let mut state = client.state.borrow_mut();
        let own = state.own_id();
        if let Some(slot) = state.slot(key) {
            then(slot, &response, &own);
        }
        Ok(response)
    })
}

/// `sendMessage(message, options)`: the message gets a client-generated id unless it has one, so a retry never
/// duplicates it.
pub fn send_message(port: Port, key: u32, message: &JsValue, options: &JsValue) -> Promise {
    let message = copy(message);
    if get(&message, "id").is_undefined() || get(&message, "id").is_null() {
        set(&message, "id", &super::client::uuid().into());
    }
    let body = copy(options);
    set(&body, "message", &message);
    // The sent message is in the state when the promise resolves, as with the official client (the
    // `message.new` that follows changes nothing: one entry per id).
    channel_call(port, key, "message", body, |slot, answer, own| {
        slot.apply_sent(&get(answer, "message"), own, Date::now())
    })
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
    channel_call(port, key, "event", object(&[("event", event)]), |_, _, _| {})
}

/// `getReplies(parentId, options)`: a page of the thread (`limit`, `id_lt`), filed into `state.threads`.
pub fn get_replies(port: Port, key: u32, parent_id: &str, options: &JsValue) -> Promise {
    let mut path = String::from("/messages/")
        + &String::from(js_sys::encode_uri_component(parent_id))
        + "/replies";
    for name in ["limit", "id_lt"] {
        let value = get(options, name);
        if let Some(value) =
            value.as_string().or_else(|| value.as_f64().map(|n| (n as u64).to_string()))
        {
            super::http::push_param(&mut path, name, &value);
        }
    }
    future_to_promise(async move {
        let page = super::rest::call_with(&port, "GET", path, &JsValue::UNDEFINED).await?;
        if let Some(slot) = port.client()?.state.borrow_mut().slot(key) {
            slot.apply_replies(&page);
        }
        Ok(page)
    })
}

/// `markRead()`: only on channels whose config has read events (as the official client; resolves `null`
/// otherwise).
pub fn mark_read(port: Port, key: u32, data: &JsValue) -> Promise {
    let enabled = port.client().map(|client| {
        client.state.borrow_mut().slot(key).map(|s| !s.initialized || s.config("read_events"))
    });
    match enabled {
        Ok(Some(false)) => Promise::resolve(&JsValue::NULL),
        _ => channel_call(port, key, "read", copy(data), |_, _, _| {}),
    }
}

/// `queryChannels(filter, sort, options)`: resolves with the `Channel` objects, their state rebuilt.
pub fn query_channels(port: Port, filter: &JsValue, sort: &JsValue, options: &JsValue) -> Promise {
    let watch = serde_wasm_bindgen::from_value::<ListOptions>(options.clone())
        .unwrap_or_default()
        .watch
        .unwrap_or(true);
    let body = copy(options);
    set(&body, "filter_conditions", &copy(filter));
    set(&body, "sort", &sort_value(sort));
    set(&body, "state", &true.into());
    set(&body, "watch", &watch.into());
    set(&body, "presence", &get(options, "presence").is_truthy().into());
    future_to_promise(async move {
        let response = call(&port, "/channels".into(), &body).await?;
        Ok(port.client()?.apply_channel_list(&response, watch).into())
    })
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
fn typing_allowed(user: &JsValue) -> bool {
    get(&get(&get(user, "privacy_settings"), "typing_indicators"), "enabled").as_bool()
        != Some(false)
}

impl Client {
    /// The channel object for `kind`/`id` (one per cid), made by `make(key, state)` the first time.
    pub fn channel(
        &self,
        kind: String,
        id: Option<String>,
        data: JsValue,
        make: impl FnOnce(u32, JsValue) -> JsValue,
    ) -> JsValue {
        let mut state = self.state.borrow_mut();
        if let Some(slot) =
            state.channels.iter().find(|slot| id.is_some() && slot.kind == kind && slot.id == id)
        {
            return slot.object.clone();
        }
        state.next_key = state.next_key.wrapping_add(1);
        let key = state.next_key;
        let mut slot = Slot::new(key, kind, id, data);
        slot.object = make(key, slot.state.clone());
        let object = slot.object.clone();
        state.channels.push(slot);
        object
    }

    /// Applies each channel of a `POST /channels` answer to its slot (creating slots as needed); returns the
    /// channel objects in answer order.
    pub(super) fn apply_channel_list(&self, body: &JsValue, watch: bool) -> Array {
        let objects = Array::new();
        let own = self.state.borrow().user.clone();
        for response in list(body, "channels").iter() {
            let channel = get(&response, "channel");
            let (Some(kind), Some(id)) = (text(&channel, "type"), text(&channel, "id")) else {
                continue;
            };
            let port = self.port.clone();
            let object =
                self.channel(kind.clone(), Some(id.clone()), JsValue::UNDEFINED, |key, state| {
                    crate::js::channel_object(port, key, state)
                });
            let mut state = self.state.borrow_mut();
            if let Some(slot) =
                state.channels.iter_mut().find(|s| s.kind == kind && s.id.as_deref() == Some(&id))
            {
                slot.apply_response(&response, &own, &JsValue::UNDEFINED, Date::now());
                slot.watching |= watch;
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
                if let Some(client) = port.0.upgrade() {
                    client.log("warn", "recovery query failed");
                }
            }
        });
    }

    /// `recoverState()`: re-query the watched channels in one `POST /channels` (their state rebuilt, keeping
    /// messages that arrived meanwhile), then `connection.recovered`.
    pub fn recover_state(&self) -> Promise {
        let cids: Array = {
            let state = self.state.borrow();
            state
                .channels
                .iter()
                .filter(|slot| slot.watching)
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
        let requery = query_channels(port.clone(), &filter, &sort, &options);
        future_to_promise(async move {
            wasm_bindgen_futures::JsFuture::from(requery).await?;
            if let Some(client) = port.0.upgrade() {
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
