//! `connectUser` and `disconnectUser` in the browser: the shared promise of the connect call, the token provider
//! (awaited as a `JsFuture`, so an answer that comes after a newer request simply carries an old number), and
//! forgetting the user.

use alloc::string::String;

use js_sys::{Function, Promise};
use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;

use super::client::Client;
use super::errors::{connect_error, describe, to_js_error};
use super::Signal;
use crate::client::session::ConnectRequest;
use crate::client::{ChatError, Input};

/// The `connectUser` call in progress or settled, until `disconnectUser`.
#[derive(Debug)]
pub struct ConnectCall {
    /// Whose connection it is; a second call for the same user gets the same promise.
    pub user_id: String,
    /// The promise every such call returns.
    pub promise: Promise,
    /// Settles the promise; `None` once settled.
    settle: Option<(Function, Function)>,
}

/// A promise and its resolve/reject.
pub fn promise() -> (Promise, (Function, Function)) {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let settle = settle.unwrap_or_else(|| {
        (Function::from(JsValue::UNDEFINED), Function::from(JsValue::UNDEFINED))
    });
    (promise, settle)
}

impl Client {
    /// Starts a `connectUser` call that passed validation; returns its promise.
    pub fn start_connect(&self, user: JsValue, request: ConnectRequest) -> Promise {
        let (promise, settle) = promise();
        let mut state = self.state.borrow_mut();
        state.user = user;
        state.connect = Some(ConnectCall {
            user_id: request.user_id.clone(),
            promise: promise.clone(),
            settle: Some(settle),
        });
        drop(state);
        self.receive(Signal::Input(Input::Connect(request)));
        promise
    }

    /// `disconnectUser`: rejects a pending `connectUser`, then closes the connection (after whatever the loop is
    /// handling, if called from an event handler). Channels are forgotten: using one afterwards rejects. The
    /// promise resolves when the WebSocket's close is confirmed, or after `timeout_ms`.
    pub fn disconnect(&self, timeout_ms: u32) -> Promise {
        let (closed, (resolve, _)) = promise();
        self.state.borrow_mut().close_waiter = Some(resolve.clone());
        let pending = {
            let mut state = self.state.borrow_mut();
            state.user = JsValue::UNDEFINED;
            state.token_provider = None;
            state.channels.clear();
            state.client_state = super::values::object(&[("users", js_sys::Object::new().into())]);
            state.cleaner = None;
            state.connect.take().and_then(|call| call.settle)
        };
        if let Some((_, reject)) = pending {
            let _ = reject.call1(&JsValue::NULL, &connect_error(&ChatError::Disconnected));
        }
        self.receive(Signal::Input(Input::Disconnect));
        // No WebSocket took the waiter: nothing to wait for.
        if self.state.borrow_mut().close_waiter.take().is_some() {
            let _ = resolve.call0(&JsValue::NULL);
        } else {
            gloo_timers::callback::Timeout::new(timeout_ms, move || {
                let _ = resolve.call0(&JsValue::NULL);
            })
            .forget();
        }
        closed
    }

    /// Settles the `connectUser` promise: with the first frame, or with an error (then the user is forgotten, as
    /// the official client's `disconnectUser` would).
    pub(super) fn settle(&self, result: Result<(), ChatError>, frame: &JsValue) {
        let settle = {
            let mut state = self.state.borrow_mut();
            match (&result, state.connect.as_mut()) {
                (_, None) => None,
                (Ok(()), Some(call)) => call.settle.take(),
                (Err(_), Some(_)) => {
                    state.user = JsValue::UNDEFINED;
                    state.token_provider = None;
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
    pub(super) fn load_token(&self, request: u32) {
        let provider = self.state.borrow().token_provider.clone();
        let returned = provider
            .ok_or_else(|| String::from("no token provider"))
            .and_then(|provider| provider.call0(&JsValue::NULL).map_err(|error| describe(&error)));
        let port = self.port.clone();
        wasm_bindgen_futures::spawn_local(async move {
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

    /// Rejects `settle` with `error` as a plain SDK error.
    pub(super) fn reject(settle: Option<(Function, Function)>, error: &ChatError) {
        if let Some((_, reject)) = settle {
            let _ = reject.call1(&JsValue::NULL, &to_js_error(error));
        }
    }
}
