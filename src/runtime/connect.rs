//! `connectUser` and `disconnectUser` in the browser: the shared promise of the connect call, the token provider
//! (awaited as a `JsFuture`, so an answer that comes after a newer request simply carries an old number), and
//! forgetting the user.

use alloc::string::String;

use js_sys::Promise;
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::calls::{ConnectCall, RestConfig};
use super::client::Client;
use super::share_link::Share;
use crate::client::session::ConnectRequest;
use crate::client::{ChatError, Input};
use crate::platform::errors::{connect_error, describe, to_js_error};
use crate::platform::fatal::promise;
use crate::platform::tasks::promise_of;
use crate::platform::Signal;
use crate::platform::Sink;

impl Client {
    /// Starts a `connectUser` call that passed validation; returns its promise.
    pub fn start_connect(&self, user: JsValue, request: ConnectRequest) -> Promise {
        let (promise, settle) = promise();
        let mut state = self.state_mut();
        state.user = user;
        state.last_request = Some(request.clone());
        if state.options.warm_up {
            say_hi(&state.rest, &state.session.config().user_agent);
        }
        state.share = if state.options.share_connection {
            let rest = &state.rest;
            Share::start(&rest.api_key, &rest.base_url, &request.user_id, &self.port)
        } else {
            None
        };
        state.connect = Some(ConnectCall {
            user_id: request.user_id.clone(),
            promise: promise.clone(),
            settle: Some(settle),
        });
        let user_id = request.user_id.clone();
        drop(state);
        self.receive(Signal::Input(Input::Connect(request)));
        // Messages kept offline are sent once connected: read them (`localStorage`, whose first read in a page
        // blocks for milliseconds) after the socket or the shared connection's lock is asked for.
        let mut state = self.state_mut();
        let api_key = state.rest.api_key.clone();
        state.outbox.load(&api_key, &user_id);
        promise
    }

    /// `disconnectUser` (`forget`) or `closeConnection`: rejects a pending `connectUser`, then closes the
    /// connection (after whatever the loop is handling, if called from an event handler). `disconnectUser`
    /// forgets the user and its channels (using one afterwards rejects); `closeConnection` keeps both, for
    /// `openConnection()`. The promise resolves when the WebSocket's close is confirmed, or after `timeout_ms`.
    pub fn disconnect(&self, timeout_ms: u32, forget: bool) -> Promise {
        let (closed, (resolve, _)) = promise();
        self.state_mut().close_waiter = Some(resolve.clone());
        let pending = {
            let mut state = self.state_mut();
            if forget {
                state.user = JsValue::UNDEFINED;
                state.token_provider = None;
                state.last_request = None;
                state.channels.clear();
                state.fresh = true;
                // The waiting messages stay in storage for the user's next `connectUser`.
                let outbox = core::mem::take(&mut state.outbox);
                drop(state);
                outbox.reject_all();
                state = self.state_mut();
                state.client_state =
                    crate::platform::values::object(&[("users", js_sys::Object::new().into())]);
            }
            state.cleaner = None;
            state.connect.take().and_then(|call| call.settle)
        };
        if let Some((_, reject)) = pending {
            let _ = reject.call1(&JsValue::NULL, &connect_error(&ChatError::Disconnected));
        }
        self.receive(Signal::Input(if forget { Input::Disconnect } else { Input::Close }));
        // Another tab takes the shared connection over, if one is left.
        self.state_mut().share = None;
        // No WebSocket took the waiter: nothing to wait for.
        if self.state_mut().close_waiter.take().is_some() {
            let _ = resolve.call0(&JsValue::NULL);
        } else {
            let resolve = move || drop(resolve.call0(&JsValue::NULL));
            crate::platform::timers::after(timeout_ms, resolve).forget();
        }
        closed
    }

    /// Settles the `connectUser` promise: with the first frame, or with an error (then the user is forgotten, as
    /// the official client's `disconnectUser` would).
    pub fn settle(&self, result: Result<(), ChatError>, frame: &JsValue) {
        let settle = {
            let mut state = self.state_mut();
            match (&result, state.connect.as_mut()) {
                (_, None) => None,
                (Ok(()), Some(call)) => call.settle.take(),
                // With `persistUserOnConnectionFailure` the user stays, for `openConnection()`.
                (Err(_), Some(_)) => {
                    state.share = None;
                    if !state.options.persist_user {
                        state.user = JsValue::UNDEFINED;
                        state.token_provider = None;
                        state.last_request = None;
                    }
                    state.connect.take().and_then(|call| call.settle)
                }
            }
        };
        let Some((resolve, reject)) = settle else { return };
        let _ = match result {
            Ok(()) => resolve.call1(&JsValue::NULL, frame),
            Err(error) => {
                self.log("warn", &(String::from("connectUser failed: ") + &error.message()));
                reject.call1(&JsValue::NULL, &connect_error(&error))
            }
        };
    }

    /// Calls the token provider and awaits its answer (a string, or a promise of one); the answer comes back as
    /// [`Input::TokenLoaded`] with `request`, checked to belong to the user. The session ignores answers to
    /// requests it no longer waits for.
    pub fn load_token(&self, request: u32) {
        let provider = self.state_ref().token_provider.clone();
        let returned = provider
            .ok_or_else(|| String::from("no token provider"))
            .and_then(|provider| provider.call0(&JsValue::NULL).map_err(|error| describe(&error)));
        let port = self.port.clone();
        crate::platform::tasks::spawn(async move {
            let result = match returned {
                Ok(value) => match JsFuture::from(Promise::resolve(&value)).await {
                    Ok(token) => token
                        .as_string()
                        .ok_or_else(|| "the token provider must return a string".into()),
                    Err(error) => Err(describe(&error)),
                },
                Err(reason) => Err(reason),
            };
            port.send(Signal::Input(Input::TokenLoaded { request, result }));
        });
    }

    /// `openConnection()`: the connection of the current user again, after `closeConnection()` or (with
    /// `persistUserOnConnectionFailure`) a failed `connectUser`; the channels watched before are watched again
    /// once it is open. Returns the pending or open connection's promise when there is one.
    pub fn open_connection(&self) -> Promise {
        let (user, request) = {
            let state = self.state_ref();
            if let Some(call) = &state.connect {
                return call.promise.clone();
            }
            (state.user.clone(), state.last_request.clone())
        };
        let Some(request) = request else {
            return Promise::reject(&to_js_error(&ChatError::NotConnected));
        };
        let opened = self.start_connect(user, request);
        let port = self.port.clone();
        promise_of(async move {
            let frame = JsFuture::from(opened).await?;
            if let Some(client) = port.live() {
                client.recover();
            }
            Ok(frame)
        })
    }
}

/// `GET /hi`, unawaited: opens the HTTP connection early (the `warmUp` option, as the official client's).
fn say_hi(rest: &RestConfig, user_agent: &str) {
    let mut url = rest.base_url.clone() + "/hi";
    crate::platform::http::push_param(&mut url, "api_key", &rest.api_key);
    let outgoing = crate::platform::http::Outgoing {
        method: "GET",
        url,
        token: String::new(),
        body: None,
        user_agent: user_agent.into(),
        timeout_ms: rest.timeout_ms,
    };
    crate::platform::tasks::spawn(async move {
        let _ = crate::platform::http::exchange(outgoing).await;
    });
}
