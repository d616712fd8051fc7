//! Users after connecting: `upsertUser(s)` (`POST /users`, whole objects) and `partialUpdateUser(s)` (`PATCH
//! /users`, `set` / `unset`), and keeping `client.user` current from `user.updated` the way the official client
//! does. One thing goes further than the official client: a successful update of the own user's
//! `privacy_settings` applies to `client.user` at once, so a `keystroke()` right after `await
//! partialUpdateUser(…)` already obeys it (the official client waits for the `user.updated` event).

use js_sys::{Array, Object, Promise};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::client::ChatError;
use crate::platform::errors::to_js_error;
use crate::platform::values::{copy, get, object, text};
use crate::runtime::client::Port;
use crate::runtime::request::{send, Apply, Request};

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// Files each of `list`'s users with a string `id` in `into` under it; returns `into`.
    #[wasm_bindgen(js_name = indexById)]
    fn index_by_id(list: &JsValue, into: &JsValue) -> JsValue;

    /// `user` with the `privacy_settings` that `updates` (`partialUpdateUsers`' list) set for `own` merged into its
    /// own (one level deep, as the server merges), as a copy; `user` itself when none did.
    #[wasm_bindgen(js_name = withOwnPrivacy)]
    fn with_own_privacy(user: &JsValue, updates: &JsValue, own: &str) -> JsValue;

    /// `queryUsers`' payload: `{...options, filter_conditions, sort, presence}`, `presence` false unless given.
    #[wasm_bindgen(js_name = usersQuery)]
    fn users_query(filter: &JsValue, sort: &JsValue, options: &JsValue) -> JsValue;

    /// The guest user of a `POST /guest` answer, without the server's timestamps and `online` (as the official
    /// client strips them).
    #[wasm_bindgen(js_name = guestUser)]
    fn guest_user(answer: &JsValue) -> JsValue;
}

/// `users` (one object or a list) as a list; every entry needs an `id`.
fn with_ids(users: &JsValue) -> Result<Array, ChatError> {
    let list =
        if Array::is_array(users) { users.clone().unchecked_into() } else { Array::of1(users) };
    if list.iter().any(|user| text(&user, "id").is_none_or(|id| id.is_empty())) {
        return Err(ChatError::MissingUserId);
    }
    Ok(list)
}

/// `upsertUsers(users)`: `POST /users` with `{users: {id: user}}`.
pub fn upsert_users(port: Port, users: &JsValue) -> Promise {
    let list = match with_ids(users) {
        Ok(list) => list,
        Err(error) => return Promise::reject(&to_js_error(&error)),
    };
    let body = object(&[("users", index_by_id(&list, &Object::new()))]);
    send(&port, Request::new("POST", "/users".into(), body))
}

/// `partialUpdateUsers(updates)`: `PATCH /users` with `{users: [{id, set, unset}]}`. Privacy settings the own user
/// set apply to `client.user` as soon as the server accepted them.
pub fn partial_update_users(port: Port, updates: &JsValue) -> Promise {
    let updates = match with_ids(updates) {
        Ok(list) => list,
        Err(error) => return Promise::reject(&to_js_error(&error)),
    };
    let body = object(&[("users", updates.into())]);
    let apply: Apply = |client, _, _, body, answer| {
        // No borrow is held while the app's objects are read.
        let (own, user) = {
            let state = client.state_ref();
            (state.own_id(), state.user.clone())
        };
        let user = with_own_privacy(&user, &get(body, "users"), &own);
        client.state_mut().user = user;
        answer.clone()
    };
    send(&port, Request { apply: Some(apply), ..Request::new("PATCH", "/users".into(), body) })
}

/// `queryUsers(filter, sort, options)`: `GET /users` with the payload `{filter_conditions, sort, presence, …}`;
/// the users found go into `client.state.users`. `presence: true` makes the server send their
/// `user.presence.changed` events to this connection.
pub fn query_users(port: Port, filter: &JsValue, sort: &JsValue, options: &JsValue) -> Promise {
    let payload = users_query(filter, sort, options);
    let apply: Apply = |client, _, _, _, answer| {
        let users = get(&client.state_ref().client_state, "users");
        index_by_id(&get(answer, "users"), &users);
        answer.clone()
    };
    send(&port, Request { apply: Some(apply), ..Request::new("GET", "/users".into(), payload) })
}

/// `POST /guest` with `{user}`, before any connection (so not through the session): the guest user to connect
/// as (without the server's timestamps, as the official client strips them) and its token.
pub async fn create_guest(
    client: &crate::runtime::client::Client,
    user: &JsValue,
) -> Result<(JsValue, String), JsValue> {
    let outgoing = {
        let state = client.state_ref();
        let mut url = state.rest.base_url.clone() + "/guest";
        crate::platform::http::push_param(&mut url, "api_key", &state.rest.api_key);
        let body = object(&[("user", copy(user))]);
        crate::platform::http::Outgoing {
            method: "POST",
            url,
            token: alloc::string::String::new(),
            body: js_sys::JSON::stringify(&body).ok().map(Into::into),
            user_agent: state.session.config().user_agent.clone(),
            timeout_ms: state.rest.timeout_ms,
        }
    };
    let timeout_ms = outgoing.timeout_ms;
    match crate::platform::http::exchange(outgoing).await {
        Ok((status, body)) if (200..300).contains(&status) => {
            let token = text(&body, "access_token").unwrap_or_default();
            Ok((guest_user(&body), token))
        }
        Ok((status, body)) => Err(crate::platform::errors::response_error(status, &body)),
        Err(crate::platform::http::Failure::Timeout) => {
            Err(to_js_error(&ChatError::RequestTimeout { after_ms: timeout_ms }))
        }
        Err(crate::platform::http::Failure::Network(reason)) => {
            Err(to_js_error(&ChatError::Network(reason)))
        }
    }
}
