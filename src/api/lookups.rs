//! Lookups that change no state (PROTOCOL.md §22.7, §22.9): the table rows of `getMessagesById` and
//! `getReactions`, and the two calls whose `sort` is normalised as the official client's `normalizeQuerySort`
//! does (`queryReactions`, `getPinnedMessages`).

use alloc::string::String;

use js_sys::Promise;
use wasm_bindgen::JsValue;

use super::routes::{Route, CLIENT};
use crate::platform::values::{copy, set, set_default};
use crate::runtime::channels::sort_value;
use crate::runtime::client::Port;
use crate::runtime::request::{send, Request, Scope};

/// `channel.getMessagesById(ids)`: `$0` is the ids joined by commas.
pub static GET_MESSAGES_BY_ID: Route =
    Route { method: "GET", scope: Scope::Channel, path: "/messages?ids=$0", ..CLIENT };
/// `channel.getReactions(messageId, {limit, offset})`.
pub static GET_REACTIONS: Route =
    Route { method: "GET", path: "/messages/$0/reactions", base: 1, ..CLIENT };

/// `client.queryReactions(messageId, filter, sort, options)`: `POST /messages/{id}/reactions` with
/// `{filter, sort, …options}`.
pub fn query_reactions(
    port: &Port,
    message_id: &str,
    filter: &JsValue,
    sort: &JsValue,
    options: &JsValue,
) -> Promise {
    // `{filter, sort, …options}`: what the options name wins.
    let body = copy(options);
    set_default(&body, "filter", filter);
    set_default(&body, "sort", &sort_value(sort));
    let path = String::from("/messages/")
        + &String::from(js_sys::encode_uri_component(message_id))
        + "/reactions";
    send(port, Request::new("POST", path, body))
}

/// `client.queryThreads(options)`: `POST /threads` with the official defaults (10 threads, 10 participants, 3
/// replies, watching) under `options`.
pub fn query_threads(port: &Port, options: &JsValue) -> Promise {
    let body = with_defaults(options, 10);
    set_default(&body, "limit", &10.into());
    send(port, Request::new("POST", "/threads".into(), body))
}

/// `client.getThread(id, options)`: `GET /threads/{id}` with the official defaults (100 participants, 3 replies,
/// watching) under `options`.
pub fn get_thread(port: &Port, id: &str, options: &JsValue) -> Promise {
    let body = with_defaults(options, 100);
    let path = String::from("/threads/") + &String::from(js_sys::encode_uri_component(id));
    send(port, Request::new("GET", path, body))
}

/// A copy of `options` with the thread defaults it lacks: `participant_limit`, 3 replies, watching.
fn with_defaults(options: &JsValue, participants: u32) -> JsValue {
    let body = copy(options);
    set_default(&body, "participant_limit", &participants.into());
    set_default(&body, "reply_limit", &3.into());
    set_default(&body, "watch", &true.into());
    body
}

/// `channel.getPinnedMessages(options, sort)`: `GET {C}/pinned_messages` with `{…options, sort}`.
pub fn pinned_messages(port: &Port, key: u32, options: &JsValue, sort: &JsValue) -> Promise {
    let body = copy(options);
    set(&body, "sort", &sort_value(sort));
    let request = Request::new("GET", "/pinned_messages".into(), body);
    send(port, Request { scope: Scope::Channel, key, ..request })
}
