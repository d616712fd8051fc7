//! REST calls. A call is submitted to the session (which sends it now, queues it until the connection is up,
//! parks it for a token refresh, or rejects it), goes out as an [`http::exchange`] future, and its answer comes
//! back through the loop, which settles the call's promise: with the body, or with the official client's error
//! shapes. Callers `await` that promise as a `JsFuture` ([`call_with`]; REST methods through `request::send`) and
//! apply the answer to their state after it.

use alloc::string::String;

use js_sys::{Promise, JSON};
use stream_chat_protocol::ErrorCode;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::FormData;

use super::calls::{reject, Call};
use super::client::Client;
use super::client::Port;
use crate::client::{ChatError, Input};
use crate::platform::errors::{response_error, to_js_error};
use crate::platform::fatal::promise;
use crate::platform::http::{self, push_param, Answer, Failure, Outgoing};
use crate::platform::values::get;
use crate::platform::Signal;
use crate::platform::Sink;

/// `method path` with `body` (`GET`: as the `payload` parameter) on the client behind `port`; resolves with the
/// answer's body. Rejects with the official client's error shapes, or at once when the client is gone.
pub async fn call_with(
    port: &Port,
    method: &'static str,
    path: String,
    body: &JsValue,
) -> Result<JsValue, JsValue> {
    let promise = {
        let client = port.client()?;
        client.submit_with(method, path, body, true)
    };
    match promise {
        Some(promise) => JsFuture::from(promise).await,
        None => Ok(JsValue::UNDEFINED),
    }
}

impl Client {
    /// Submits `POST path` with `body`; returns the promise it settles when `awaited`.
    pub fn submit(&self, path: String, body: &JsValue, awaited: bool) -> Option<Promise> {
        self.submit_with("POST", path, body, awaited)
    }

    /// Submits `method path` with `body`; returns the promise it settles when `awaited`.
    pub fn submit_with(
        &self,
        method: &'static str,
        path: String,
        body: &JsValue,
        awaited: bool,
    ) -> Option<Promise> {
        let body = if body.is_instance_of::<FormData>() {
            body.clone()
        } else {
            JSON::stringify(body).map_or_else(|_| "{}".into(), Into::into)
        };
        let (promise, settle) = if awaited {
            let (promise, settle) = promise();
            (Some(promise), Some(settle))
        } else {
            (None, None)
        };
        let id = {
            let mut state = self.state_mut();
            state.next_call = state.next_call.wrapping_add(1);
            let id = state.next_call;
            state.calls.push(Call { id, method, path, body, settle, answer: None });
            id
        };
        self.receive(Signal::Input(Input::Submit { request: id }));
        promise
    }

    /// Sends REST call `request` now; its answer comes back as [`Signal::Response`].
    pub fn fetch(&self, request: u32, connection_id: Option<String>, token: String) {
        let outgoing = {
            let state = self.state_ref();
            let Some(call) = state.calls.iter().find(|call| call.id == request) else { return };
            let mut url = state.rest.base_url.clone() + &call.path;
            // A GET carries its JSON as the `payload` parameter, as the official client's do; a DELETE has none.
            let body = match call.method {
                "GET" => {
                    push_param(&mut url, "payload", &call.body.as_string().unwrap_or_default());
                    None
                }
                "DELETE" => None,
                _ => Some(call.body.clone()),
            };
            push_param(&mut url, "api_key", &state.rest.api_key);
            push_param(&mut url, "user_id", &state.own_id());
            if let Some(connection_id) = connection_id {
                push_param(&mut url, "connection_id", &connection_id);
            }
            // An upload may take as long as it takes, as the official client's (`timeout: 0`).
            let upload = !call.body.is_string();
            Outgoing {
                method: call.method,
                url,
                token,
                body,
                user_agent: state.session.config().user_agent.clone(),
                timeout_ms: if upload { 0 } else { state.rest.timeout_ms },
            }
        };
        let port = self.port.clone();
        crate::platform::tasks::spawn(async move {
            let answer = http::exchange(outgoing).await;
            port.send(Signal::Response { request, answer });
        });
    }

    /// Keeps the answer to `request` for [`Client::finish`]; the session's input for it (`expired` when the
    /// server said the token expired, code 40; [`Input::ConnectionGone`] for code 46).
    pub fn answered(&self, request: u32, answer: Answer) -> Input {
        let code = match &answer {
            Ok((status, body)) if !(200..300).contains(status) => get(body, "code").as_f64(),
            _ => None,
        };
        let is = |error: ErrorCode| code == Some(f64::from(error.code()));
        let (expired, gone) = (is(ErrorCode::TokenExpired), is(ErrorCode::ConnectionIdNotFound));
        if let Some(call) = self.state_mut().calls.iter_mut().find(|call| call.id == request) {
            call.answer = Some(answer);
        }
        if gone {
            return Input::ConnectionGone { request };
        }
        Input::Answered { request, expired }
    }

    /// Settles REST call `request` with its answer.
    pub fn finish(&self, request: u32) {
        let Some(call) = self.take_call(request) else { return };
        let Some((resolve, reject)) = call.settle else { return };
        let timeout_ms = self.state_ref().rest.timeout_ms;
        let _ = match call.answer {
            Some(Ok((status, body))) if (200..300).contains(&status) => {
                resolve.call1(&JsValue::NULL, &body)
            }
            Some(Ok((status, body))) => {
                reject.call1(&JsValue::NULL, &response_error(status, &body))
            }
            Some(Err(Failure::Timeout)) => reject.call1(
                &JsValue::NULL,
                &to_js_error(&ChatError::RequestTimeout { after_ms: timeout_ms }),
            ),
            Some(Err(Failure::Network(reason))) => {
                reject.call1(&JsValue::NULL, &to_js_error(&ChatError::Network(reason)))
            }
            None => {
                reject.call1(&JsValue::NULL, &to_js_error(&ChatError::Network("no answer".into())))
            }
        };
    }

    /// Rejects REST call `request` with `error`.
    pub fn fail(&self, request: u32, error: &ChatError) {
        if let Some(call) = self.take_call(request) {
            reject(call.settle, error);
        }
    }

    fn take_call(&self, request: u32) -> Option<Call> {
        let mut state = self.state_mut();
        let at = state.calls.iter().position(|call| call.id == request)?;
        Some(state.calls.remove(at))
    }
}
