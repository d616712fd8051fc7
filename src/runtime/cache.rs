//! The local cache (the `localCache` option, on by default where the browser has IndexedDB): `queryChannels`
//! answers kept in IndexedDB per API key and user, so a page loaded again draws its channel list at once.
//!
//! - Each answer is kept under its request (filter, sort, options): at most [`CACHED_CHANNELS`] channels, each with
//!   its newest [`CACHED_MESSAGES`] messages, and at most [`CACHED_LISTS`] lists per user (a new one beyond that
//!   clears the user's older ones). Each channel of a list, and each `watch()` / `query()` answer, is also kept
//!   under its cid (at most `CACHED_LISTS × CACHED_CHANNELS` per user, the same way). Message events
//!   (`message.*`, `reaction.*`) update the channel kept under their cid, written together within 500 ms or
//!   when the page is hidden, and a list is given back with its channels as kept under their cids: a page loaded
//!   again shows the messages that arrived after the last query too.
//! - `watch()` (and `query({watch: true})`) of a channel that has no state from the server yet asks the cache and the server at
//!   once, as `queryChannels` does, and resolves with the kept channel if the cache answers first.
//! - Only calls made while the client is fresh ask the cache: from `connectUser` until its connection first opens
//!   (or a channel list came from the server), the time a page loaded again spends waiting for the network. After
//!   that the server answers at once and the client's own state is newer than anything kept. Such a
//!   `queryChannels` asks the server and the cache at once. When the cache answers first, the call resolves with
//!   the cached channels, their `state.isFromCache` set; the server's answer then rebuilds the same channel
//!   objects' state in place (one entry per message id, so nothing doubles), clears `isFromCache`, and is told
//!   by `channels.queried` (as the official client tells every answer). When the server answers first, the cache
//!   is not used.
//! - `disconnectUser({ clearCache: true })` forgets the user's lists.

use alloc::string::String;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::client::Client;
use super::client::Port;
use crate::platform::tasks::promise_of;
use crate::platform::values::{get, object, set};

/// The most channel lists kept per user.
pub const CACHED_LISTS: u32 = 20;
/// The most channels kept per list.
pub const CACHED_CHANNELS: u32 = 30;
/// The newest messages kept per channel.
pub const CACHED_MESSAGES: u32 = 50;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// The list kept under `prefix` and the request `body`, if the cache has it before `server` (the query's
    /// promise) settles; `undefined` otherwise. Clears `state.isFromCache` of the channels `server` resolves with.
    #[wasm_bindgen(js_name = cacheLookup)]
    fn cache_lookup(prefix: &str, space: &str, body: &JsValue, server: &Promise) -> Promise;

    /// Notes a message event (`message.*`, `reaction.*`) for the channel kept under `prefix` and the event's cid,
    /// so the kept newest `messages` include what arrived since; written within 500 ms or when the page is hidden.
    #[wasm_bindgen(js_name = cacheNote)]
    fn cache_note(prefix: &str, event: &JsValue, messages: u32);

    /// Keeps `answer` under `prefix` and `body`, trimmed to the bounds given.
    #[wasm_bindgen(js_name = cachePut)]
    fn cache_put(
        prefix: &str,
        body: &JsValue,
        answer: &JsValue,
        lists: u32,
        channels: u32,
        messages: u32,
    );

    /// Forgets every list kept under `prefix`.
    #[wasm_bindgen(js_name = cacheClear)]
    fn cache_clear(prefix: &str);
}

impl Client {
    /// Where the current user's lists are kept; `None` when the cache is off or no user is connected.
    fn cache_prefix(&self) -> Option<String> {
        let state = self.state_ref();
        let user = state.session.user_id()?;
        state.options.local_cache.then(|| String::from(&*state.rest.api_key) + ":" + user + ":")
    }

    /// A `queryChannels` answer arrived for `body`: keeps it, and tells listeners (`channels.queried`).
    pub fn queried(&self, body: &JsValue, answer: &JsValue) {
        self.state_mut().fresh = false;
        self.keep(body, answer);
        self.tell_queried(get(answer, "channels"), true.into());
    }

    /// Tells `channels.queried` of `channels` (server answers), as the official client does after a channel list
    /// and after each channel's own query; `latest`: whether they hold a channel's newest messages.
    pub fn tell_queried(&self, channels: JsValue, latest: JsValue) {
        let queried = object(&[("channels", channels), ("isLatestMessageSet", latest)]);
        let event = object(&[("type", "channels.queried".into()), ("queriedChannels", queried)]);
        self.dispatch(None, "channels.queried", &event);
    }

    /// Keeps a list's answer (`list`: its request body) or one channel's (`list` undefined).
    pub fn keep(&self, list: &JsValue, answer: &JsValue) {
        if let Some(prefix) = self.cache_prefix() {
            cache_put(&prefix, list, answer, CACHED_LISTS, CACHED_CHANNELS, CACHED_MESSAGES);
        }
    }

    /// A server event: a message it carries updates the channel's kept copy (see `cache_note`).
    pub fn note_cached(&self, event: &JsValue) {
        if let Some(prefix) = self.cache_prefix() {
            cache_note(&prefix, event, CACHED_MESSAGES);
        }
    }

    /// Forgets the current user's lists.
    pub fn clear_cache(&self) {
        if let Some(prefix) = self.cache_prefix() {
            cache_clear(&prefix);
        }
    }
}

/// `queryChannels` with `body`, whose server call is `server`: resolves with the cached channels when the cache
/// answers first (see the module's docs), with `server`'s otherwise.
pub fn from_cache_first(port: Port, body: &JsValue, server: Promise) -> Promise {
    let prefix =
        port.live().filter(|client| client.state_ref().fresh).and_then(|c| c.cache_prefix());
    let Some(prefix) = prefix else { return server };
    let lookup = cache_lookup(&prefix, "L", body, &server);
    promise_of(async move {
        let hit = JsFuture::from(lookup).await.unwrap_or_default();
        if let (true, Some(client)) = (hit.is_object(), port.live()) {
            // No events to replay onto a cached list: the server's answer replaces it.
            let channels: Array = client.apply_channel_list(&hit, u64::MAX, false);
            for channel in channels.iter() {
                set(&get(&channel, "state"), "isFromCache", &true.into());
            }
            return Ok(channels.into());
        }
        JsFuture::from(server).await
    })
}

/// `watch()` / `query()` of channel `key`, whose server call is `server`: resolves with the kept channel when the
/// cache answers first and the channel has no state from the server yet, with `server`'s answer otherwise.
pub fn channel_from_cache_first(port: Port, key: u32, server: Promise) -> Promise {
    let cached = port.live().filter(|client| client.state_ref().fresh).and_then(|client| {
        let prefix = client.cache_prefix()?;
        let mut state = client.state_mut();
        let slot = state.slot(key).filter(|slot| !slot.initialized)?;
        Some((prefix, String::from("C") + &slot.cid()?))
    });
    let Some((prefix, space)) = cached else { return server };
    let lookup = cache_lookup(&prefix, &space, &JsValue::UNDEFINED, &server);
    promise_of(async move {
        let hit = JsFuture::from(lookup).await.unwrap_or_default();
        if let (true, Some(client)) = (hit.is_object(), port.live()) {
            let own = client.state_ref().user.clone();
            if let Some(slot) = client.state_mut().slot(key) {
                slot.apply_response(&hit, &own, &JsValue::UNDEFINED, js_sys::Date::now());
                set(&slot.state, "isFromCache", &true.into());
                return Ok(hit);
            }
        }
        JsFuture::from(server).await
    })
}
