//! HTTP exchanges as `async fn`s that a gloo timer aborts when they run past their timeout; the caller spawns one
//! and forwards the outcome to the session loop.
//! - REST calls go through [`exchange`], over `XMLHttpRequest` (as the official client's axios makes them in a
//!   browser): Chromium decodes an XHR's text as it arrives, where `fetch`'s `json()` waits for the whole body
//!   first, so a 1.7 MB channel list is ready ~3 ms sooner.
//! - Long-poll requests go through [`fetch_exchange`], over `fetch` (web-sys's `Request`, `Headers`, `Response`
//!   and an `AbortController`); their answers are small. REST calls use it too where there is no XHR (a service
//!   worker).

use alloc::rc::Rc;
use alloc::string::String;
use core::cell::Cell;

use gloo_timers::callback::Timeout;
use js_sys::{Function, Promise};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    AbortController, Headers, Request, RequestInit, Response, XmlHttpRequest,
    XmlHttpRequestResponseType,
};

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
    /// The body, if any: JSON text, or a `FormData` (an upload, whose type the browser sets with its boundary).
    pub body: Option<JsValue>,
    /// Sent as `X-Stream-Client`.
    pub user_agent: String,
    /// Give up after this many milliseconds (0: never, as uploads).
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

impl Outgoing {
    /// The request's headers: the token (none for an anonymous request, or one that needs none like
    /// `POST /guest`), the client's name and the body's type.
    fn headers(&self) -> impl Iterator<Item = (&str, &str)> {
        let auth: [(&str, &str); 2] = if self.token.is_empty() {
            [("stream-auth-type", "anonymous"), ("", "")]
        } else {
            [("Authorization", &self.token), ("stream-auth-type", "jwt")]
        };
        let form = self.body.as_ref().is_some_and(|body| !body.is_string());
        let json = if form { ("", "") } else { ("Content-Type", "application/json") };
        let rest = [("X-Stream-Client", self.user_agent.as_str()), json];
        auth.into_iter().chain(rest).filter(|(name, _)| !name.is_empty())
    }
}

/// Runs `abort` (and remembers that it ran) unless the returned timer is dropped within `timeout_ms` (0: never).
fn deadline(timeout_ms: u32, abort: impl FnOnce() + 'static) -> (Option<Timeout>, Rc<Cell<bool>>) {
    let timed_out = Rc::new(Cell::new(false));
    let flag = timed_out.clone();
    let timer = (timeout_ms > 0).then(|| {
        let expire = move || {
            flag.set(true);
            abort();
        };
        super::timers::after(timeout_ms, expire)
    });
    (timer, timed_out)
}

/// Sends REST call `outgoing` with `XMLHttpRequest` and waits for the whole answer.
pub async fn exchange(outgoing: Outgoing) -> Answer {
    let network = |error: JsValue| Failure::Network(describe(&error));
    let Ok(xhr) = XmlHttpRequest::new() else { return fetch_exchange(outgoing).await };
    xhr.open_with_async(outgoing.method, &outgoing.url, true).map_err(network)?;
    for (name, value) in outgoing.headers() {
        xhr.set_request_header(name, value).map_err(network)?;
    }
    // Parsed by the browser, never copied into wasm memory (a 1 MB answer would grow it for good). A body that
    // is not JSON (or empty) is `null`.
    xhr.set_response_type(XmlHttpRequestResponseType::Json);
    // Settles when the request ends in any way: an answer, a network failure or an abort.
    let ended = Promise::new(&mut |resolve: Function, _| xhr.set_onloadend(Some(&resolve)));
    // JSON text or a `FormData`: `send` takes either as it is.
    xhr.send_with_opt_form_data(outgoing.body.as_ref().map(JsCast::unchecked_ref))
        .map_err(network)?;
    let aborted = xhr.clone();
    // Dropped (so cancelled) when this function returns.
    let (_deadline, timed_out) = deadline(outgoing.timeout_ms, move || {
        let _ = aborted.abort();
    });
    let _ = JsFuture::from(ended).await;
    xhr.set_onloadend(None);
    match xhr.status() {
        Ok(status) if status != 0 => {
            let body = xhr.response().ok().filter(|body| !body.is_null()).unwrap_or_default();
            Ok((status, body))
        }
        _ if timed_out.get() => Err(Failure::Timeout),
        // The browser gives no reason for a failed XHR; axios says this.
        _ => Err(Failure::Network("Network Error".into())),
    }
}

/// Sends `outgoing` (a long-poll request) with `fetch` and waits for the whole answer.
pub async fn fetch_exchange(outgoing: Outgoing) -> Answer {
    let network = |error: JsValue| Failure::Network(describe(&error));
    let controller = AbortController::new().map_err(network)?;
    let headers = Headers::new().map_err(network)?;
    for (name, value) in outgoing.headers() {
        headers.set(name, value).map_err(network)?;
    }
    let init = RequestInit::new();
    init.set_method(outgoing.method);
    init.set_headers(&headers);
    if let Some(body) = &outgoing.body {
        init.set_body(body);
    }
    init.set_signal(Some(&controller.signal()));
    let request = Request::new_with_str_and_init(&outgoing.url, &init).map_err(network)?;
    // Dropped (so cancelled) when this function returns.
    let (_deadline, timed_out) = deadline(outgoing.timeout_ms, move || controller.abort());
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
    // A body that is not JSON (or empty) is `undefined`; a failure while reading it is the request's failure.
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
    url.push(if crate::client::text::position(url, b'?').is_some() { '&' } else { '?' });
    url.push_str(key);
    url.push('=');
    url.push_str(&String::from(js_sys::encode_uri_component(value)));
}
