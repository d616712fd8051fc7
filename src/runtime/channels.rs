//! The client's channels: one `Channel` object per cid (or per set of members), made by the JS layer's maker
//! ([`Client::make_channel`]); `queryChannels` and its answer applied channel by channel; the re-query of the
//! watched channels after a reconnect; and the typing cleaner (remote typing expired, the own typing stopped).

use alloc::string::String;
use alloc::vec::Vec;

use js_sys::{Array, Date, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::client::{Client, Port};
use super::request::{channel_path, send, Apply, Request};
use crate::client::Input;
use crate::platform::tasks::promise_of;
use crate::platform::values::{get, list, object, text};
use crate::platform::Signal;
use crate::platform::Sink;
use crate::state::channels::Slot;

/// How often the typing cleaner runs while there is typing (the official client's 500 ms).
const CLEAN_INTERVAL_MS: u32 = 500;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// The official client's sort argument (`{field: direction}` or a list of them) as the protocol's JS list
    /// `[{field, direction}]`, direction 1 or -1.
    #[wasm_bindgen(js_name = sortList)]
    pub fn sort_value(sort: &JsValue) -> JsValue;

    /// `queryChannels`' body: `{...options, filter_conditions, sort, state: true, watch, presence}`, `watch` on
    /// unless `options.watch` is `false`, `presence` off unless asked for.
    #[wasm_bindgen(js_name = channelsQuery)]
    fn channels_query(filter: &JsValue, sort: &JsValue, options: &JsValue) -> JsValue;

    /// The member ids of `data.members` (ids or `{user_id}` objects; anything else counts as `""`) sorted and
    /// joined by commas, as the official client keys a channel made by its members; `undefined` without members.
    #[wasm_bindgen(js_name = membersKey)]
    fn members_key(data: &JsValue) -> Option<String>;
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
    let body = channels_query(filter, sort, options);
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

/// Whether the own user lets typing events go out (`privacy_settings.typing_indicators.enabled`, on unless
/// switched off). `client.user` is the server's `me` once connected, so the server's view wins.
pub fn typing_allowed(user: &JsValue) -> bool {
    get(&get(&get(user, "privacy_settings"), "typing_indicators"), "enabled").as_bool()
        != Some(false)
}

impl Client {
    /// The channel object for `kind`/`id` (one per cid; one per set of members for a channel made by its
    /// members), made by [`Client::make_channel`] the first time.
    pub fn channel(&self, kind: String, id: Option<String>, data: JsValue) -> JsValue {
        // Read from the app's object before any borrow: a getter of the app's may call back into the SDK.
        let members_key = if id.is_none() { members_key(&data) } else { None };
        let mut state = self.state_mut();
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
        slot.object = (self.make_channel)(self.port.clone(), &slot);
        let object = slot.object.clone();
        state.channels.push(slot);
        object
    }

    /// Applies each channel of a `POST /channels` answer to its slot (creating slots as needed), then the
    /// channel's events that arrived since the query began (`mark`); returns the channel objects in answer order.
    pub fn apply_channel_list(&self, body: &JsValue, mark: u64, watch: bool) -> Array {
        let objects = Array::new();
        let own = self.state_ref().user.clone();
        for response in list(body, "channels").iter() {
            let channel = get(&response, "channel");
            let (Some(kind), Some(id)) = (text(&channel, "type"), text(&channel, "id")) else {
                continue;
            };
            let object = self.channel(kind.clone(), Some(id.clone()), JsValue::UNDEFINED);
            let key = {
                let mut state = self.state_mut();
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
    pub fn recover(&self) {
        let recovered = self.recover_state();
        let port = self.port.clone();
        crate::platform::tasks::spawn(async move {
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
            let state = self.state_ref();
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
        promise_of(async move {
            wasm_bindgen_futures::JsFuture::from(requery).await?;
            if let Some(client) = port.live() {
                client.receive(Signal::Input(Input::Recovered));
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Arms the typing cleaner unless it runs.
    pub fn schedule_cleaner(&self) {
        let mut state = self.state_mut();
        if state.cleaner.is_none() {
            let port = self.port.clone();
            let clean = move || port.send(Signal::Clean);
            state.cleaner = Some(crate::platform::timers::after(CLEAN_INTERVAL_MS, clean));
        }
    }

    /// Expires remote typing (emitting local `typing.stop` events) and stops the own typing that went quiet.
    pub fn clean(&self) {
        let now = Date::now();
        let (expired, stops, busy, allowed) = {
            let mut state = self.state_mut();
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
