//! `connectUser`'s checks before anything goes on the wire: one connection per client, a user object with an id
//! within the size limit, a token that is the user's (or a token provider), the transport to start with.

use alloc::string::String;

use js_sys::{Function, Promise, JSON};
use wasm_bindgen::{JsCast, JsValue};

use crate::client::session::ConnectRequest;
use crate::client::user::{check_token, check_user};
use crate::client::ChatError;
use crate::platform::shapes::{read_claims, shape, Identified};
use crate::runtime::client::Client;

/// `connectUser` on `client`: validates, then starts the connection (see [`StreamChat::connect_user`]).
pub(super) fn begin_connect(
    client: &Client,
    enable_ws_fallback: bool,
    user: JsValue,
    token_or_provider: JsValue,
) -> Result<Promise, ChatError> {
    let user_id = shape::<Identified>(&user).and_then(|user| user.id().as_string());
    if let (Some(call), Some(id)) = (&client.state_ref().connect, &user_id) {
        if call.user_id == *id {
            return Ok(call.promise.clone());
        }
        return Err(ChatError::AlreadyConnected { current: call.user_id.clone() });
    }
    let user_json: String = if user.is_object() {
        JSON::stringify(&user).ok().and_then(|json| json.as_string()).unwrap_or_default()
    } else {
        String::new()
    };
    check_user(user_id.as_deref(), user_json.len())?;
    let user_id = user_id.unwrap_or_default();
    let (token, provider) = if let Some(token) = token_or_provider.as_string() {
        check_token(&token, &user_id, read_claims)?;
        (Some(token), None)
    } else if let Some(provider) = token_or_provider.dyn_ref::<Function>() {
        (None, Some(provider.clone()))
    } else {
        return Err(ChatError::MissingToken);
    };
    {
        let mut state = client.state_mut();
        state.session.use_token_provider(provider.is_some());
        state.token_provider = provider;
        // Decided per connect, for the WebSocket URL in use now (it can be reassigned after construction).
        let url = state.session.config().ws_base_url.clone();
        let remembered =
            enable_ws_fallback && crate::platform::storage::websocket_failed_recently(&url);
        state.session.set_start_with_longpoll(remembered);
    }
    let request = ConnectRequest { user_id, user_json, token };
    Ok(client.start_connect(user, request))
}
