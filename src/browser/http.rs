//! One HTTP exchange with `fetch`, as an `async fn` over web-sys's `Request`, `Headers`, `Response` and an
//! `AbortController` that a gloo timer fires when the call runs past its timeout. REST calls and long-poll
//! requests both go through [`exchange`]; the caller spawns it and forwards the outcome to the session loop.

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::Cell;

use gloo_timers::callback::Timeout;
use js_sys::Promise;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortController, Headers, Request, RequestInit, Response};

use super::errors::describe;

/// What a request needs to go out.
#[derive(Debug)]
pub struct Outgoing {
    /// `GET`, `POST` or `PATCH`.
    pub method: &'static str,
    /// The full URL with query parameters.
    pub url: String,
    /// The raw JWT for the `Authorization` header; empty for an anonymous request.
    pub token: String,
    /// The JSON body, if any.
    pub body: Option<String>,
    /// Sent as `X-Stream-Client`.
    pub user_agent: String,
    /// Give up after this many milliseconds.
    pub timeout_ms: u32,
}

/// A request that got no HTTP answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// No answer within the timeout (the request was aborted).
    Timeout,
    /// The network failed (offline, refused, CORS); the browser's reason.
    Network(String),
}

/// An HTTP answer: the status and the parsed JSON body (`undefined` when it had none or it was not JSON).
pub type Answer = Result<(u16, JsValue), Failure>;

/// Sends `outgoing` and waits for the whole answer.
pub async fn exchange(outgoing: Outgoing) -> Answer {
    let network = |error: JsValue| Failure::Network(describe(&error));
    let controller = AbortController::new().map_err(network)?;
    let headers = Headers::new().map_err(network)?;
    // No token: an anonymous user's request (or one that needs none, like `POST /guest`).
    if outgoing.token.is_empty() {
        headers.set("stream-auth-type", "anonymous").map_err(network)?;
    } else {
        headers.set("Authorization", &outgoing.token).map_err(network)?;
        headers.set("stream-auth-type", "jwt").map_err(network)?;
    }
    for (name, value) in
        [("X-Stream-Client", outgoing.user_agent.as_str()), ("Content-Type", "application/json")]
    {
        headers.set(name, value).map_err(network)?;
    }
    let init = RequestInit::new();
    init.set_method(outgoing.method);
    init.set_headers(&headers);
    if let Some(body) = &outgoing.body {
        init.set_body(&JsValue::from_str(body));
    }
    init.set_signal(Some(&controller.signal()));
    let request = Request::new_with_str_and_init(&outgoing.url, &init).map_err(network)?;

    let timed_out = Rc::new(Cell::new(false));
    let flag = timed_out.clone();
    // Dropped (so cancelled) when this function returns.
    let _deadline = Timeout::new(outgoing.timeout_ms, move || {
        flag.set(true);
        controller.abort();
    });
    let failed = |error: JsValue| {
        if timed_out.get() {
            Failure::Timeout
        } else {
            Failure::Network(describe(&error))
        }
    };
    let response: Response =
        JsFuture::from(fetch(&request)).await.map_err(failed)?.unchecked_into();
    let status = response.status();
    // Parsed by the browser, never copied into wasm memory (a 1 MB answer would grow it for good). A body that
    // is not JSON (or empty) is `undefined`; a failure while reading it is the request's failure.
    let body = match JsFuture::from(response.json().map_err(failed)?).await {
        Ok(body) => body,
        Err(error) if error.is_instance_of::<js_sys::SyntaxError>() => JsValue::UNDEFINED,
        Err(error) => return Err(failed(error)),
    };
    Ok((status, body))
}

/// The global `fetch`, in a window or a worker.
fn fetch(request: &Request) -> Promise {
    match web_sys::window() {
        Some(window) => window.fetch_with_request(request),
        None => js_sys::global()
            .unchecked_into::<web_sys::WorkerGlobalScope>()
            .fetch_with_request(request),
    }
}

/// Appends `key=value` to a URL's query, form-encoded.
pub fn push_param(url: &mut String, key: &str, value: &str) {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(key);
    url.push('=');
    url.push_str(&String::from(js_sys::encode_uri_component(value)));
}
