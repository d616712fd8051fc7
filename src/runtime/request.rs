//! The one request path: every REST call, from a table row (`api/routes.rs`) or built by a method that decides
//! more, is a [`Request`] sent through one `async` body ([`send`]), which resolves the channel's path, awaits the
//! call, applies the answer to the channel's state and settles with it. A channel query's answer is a snapshot:
//! the channel events that arrived while it was in flight are applied again on top ([`Client::replay_since`]).

use alloc::string::String;

use js_sys::Promise;
use wasm_bindgen::JsValue;

use super::client::{Client, Port};
use super::rest::call_with;
use crate::client::ChatError;
use crate::platform::errors::to_js_error;
use crate::platform::tasks::promise_of;
use crate::platform::values::text;
use crate::state::channels::Slot;
use crate::state::mutes::muted_message;

/// Where a row's path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Below the base URL.
    Client,
    /// Below `/channels/{type}/{id}` of the calling channel, whose id must be known (as the official client's
    /// `sendMessage`, `addMembers`, … need only the id).
    Channel,
    /// The same, for a channel that was watched or queried (the call rejects otherwise, as the official client's
    /// `sendEvent`, `markRead` and `markUnread` do).
    Watched,
}

/// What a successful answer does to the calling channel's state: the slot, the answer, the own user's id.
pub type Then = fn(&mut Slot, &JsValue, &str);

/// What a successful answer does beyond the channel's state: gets the client, the calling channel's key, the
/// query's mark (see [`Request::snapshot`]), the body sent and the answer; returns what the call resolves with.
pub type Apply = fn(&Client, u32, u64, &JsValue, &JsValue) -> JsValue;

/// A REST call ready to go, from a [`Route`] or built by a method that decides more than a row can say.
#[derive(Debug)]
pub struct Request {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// Where the path starts.
    pub scope: Scope,
    /// The calling channel's slot (channel scopes).
    pub key: u32,
    /// The path below the scope.
    pub path: String,
    /// The JSON body (`GET`: the `payload` parameter).
    pub body: JsValue,
    /// What the answer does to the calling channel's state.
    pub then: Option<Then>,
    /// What the answer does beyond that, and what the call resolves with (the answer when `None`).
    pub apply: Option<Apply>,
    /// A channel query, whose answer is a snapshot: the channel events that arrive while it is in flight are kept
    /// and applied again after it (`state/replay.rs`); `apply` gets the mark they count from.
    pub snapshot: bool,
}

impl Request {
    /// `method path` with `body`, below the base URL, resolving with the answer.
    pub fn new(method: &'static str, path: String, body: JsValue) -> Request {
        Request {
            method,
            scope: Scope::Client,
            key: 0,
            path,
            body,
            then: None,
            apply: None,
            snapshot: false,
        }
    }
}

/// Sends `request` through the client behind `port` and settles with its answer after applying it: the one `async`
/// body every REST method shares.
#[inline(never)]
pub fn send(port: &Port, request: Request) -> Promise {
    // A query's mark is taken now, when the app called it: events from here on may be newer than its answer.
    let mark = match (request.snapshot, port.live()) {
        (true, Some(client)) => Some(client.state_mut().replay.begin()),
        _ => None,
    };
    let port = port.clone();
    promise_of(async move {
        let Request { method, scope, key, path, body, then, apply, .. } = request;
        let answered = async {
            // `call_with` rejects once the client is gone, whatever the scope.
            let path = match scope {
                Scope::Client => path,
                Scope::Channel => channel_prefix(&port, key, false)? + &path,
                Scope::Watched => channel_prefix(&port, key, true)? + &path,
            };
            let answer = call_with(&port, method, path, &body).await?;
            let client = port.client()?;
            if let Some(then) = then {
                let mut state = client.state_mut();
                let own = state.own_id();
                if let Some(slot) = state.slot(key) {
                    then(slot, &answer, &own);
                }
            }
            Ok(match apply {
                Some(apply) => apply(&client, key, mark.unwrap_or(0), &body, &answer),
                None => answer,
            })
        }
        .await;
        if let (Some(_), Some(client)) = (mark, port.live()) {
            client.state_mut().replay.end();
        }
        answered
    })
}

/// `/channels/{type}/{id}/{action}`, or `/channels/{type}/{action}` for a channel known by its members;
/// `/channels/{type}/{id}` for no action.
pub fn channel_path(kind: &str, id: Option<&str>, action: &str) -> String {
    let mut path = String::from("/channels/") + &String::from(js_sys::encode_uri_component(kind));
    if let Some(id) = id {
        path = path + "/" + &String::from(js_sys::encode_uri_component(id));
    }
    if !action.is_empty() {
        path = path + "/" + action;
    }
    path
}

/// `/channels/{type}/{id}` of channel `key`; rejects when its id is not known, when `watched` and it was never
/// watched or queried, or when it is gone.
pub fn channel_prefix(port: &Port, key: u32, watched: bool) -> Result<String, JsValue> {
    let client = port.client()?;
    let mut state = client.state_mut();
    let slot = state.slot(key).ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))?;
    match (&slot.id, slot.initialized || !watched) {
        (Some(id), true) => Ok(channel_path(&slot.kind, Some(id), "")),
        _ => {
            let cid = slot.cid().unwrap_or_else(|| slot.kind.clone());
            Err(to_js_error(&ChatError::NotInitialized { cid }))
        }
    }
}

impl Client {
    /// Applies again, on top of a query's answer just applied to channel `key`, the channel's events that arrived
    /// since the query began (`mark`): the answer never moves the state backwards.
    pub fn replay_since(&self, mark: u64, key: u32) {
        let mut state = self.state_mut();
        let own = state.own_id();
        let Some(cid) = state.slot(key).and_then(|slot| slot.cid()) else { return };
        let events = state.replay.since(mark, &cid);
        for frame in events {
            let kind = text(&frame, "type").unwrap_or_default();
            let muted = kind == "message.new" && muted_message(&state.mutes, &frame);
            if let Some(slot) = state.slot(key) {
                slot.apply_event(&frame, &kind, (&own, muted), js_sys::Date::now());
            }
        }
    }
}
