//! REST calls with the browser's `fetch`: one [`Exchange`] per call owns its callbacks and its timeout, and
//! sends the outcome to the session loop as [`Signal::Response`]. Bound directly to the global `fetch` (windows
//! and workers alike) with the few `Response` members used, which costs less than web-sys's request types.

use alloc::boxed::Box;
use alloc::string::String;

use js_sys::{Function, Object, Promise, Reflect, JSON};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::inbox::Port;
use super::timers::Timeout;
use super::Signal;

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(url: &str, init: &Object) -> Promise;

    /// A fetch `Response`: only its status and text are read.
    type FetchResponse;
    #[wasm_bindgen(method, getter)]
    fn status(this: &FetchResponse) -> u16;
    #[wasm_bindgen(method)]
    fn text(this: &FetchResponse) -> Promise;

    /// A promise seen only for `then(fulfilled, rejected)` with plain functions.
    type Thenable;
    #[wasm_bindgen(method, js_name = then)]
    fn then_with(this: &Thenable, fulfilled: &Function, rejected: &Function);

    /// Cancels a fetch that ran past the timeout.
    type AbortController;
    #[wasm_bindgen(constructor)]
    fn new() -> AbortController;
    #[wasm_bindgen(method, getter)]
    fn signal(this: &AbortController) -> JsValue;
    #[wasm_bindgen(method)]
    fn abort(this: &AbortController);
}

/// What a REST call needs to go out.
#[derive(Debug)]
pub struct Outgoing<'a> {
    /// `POST` or `GET`.
    pub method: &'static str,
    /// The full URL with query parameters.
    pub url: &'a str,
    /// The raw JWT.
    pub token: &'a str,
    /// The JSON body, if any.
    pub body: Option<&'a str>,
    /// Sent as `X-Stream-Client`.
    pub user_agent: &'a str,
    /// Give up after this many milliseconds.
    pub timeout_ms: u32,
}

/// A call in flight. Dropping it detaches its callbacks and cancels its timeout.
#[derive(Debug)]
pub struct Exchange {
    /// Called with the `Response`.
    _on_response: Closure<dyn FnMut(JsValue)>,
    /// Called with the body text.
    _on_text: Closure<dyn FnMut(JsValue)>,
    /// Called when the network or the timeout fails the call.
    _on_error: Closure<dyn FnMut(JsValue)>,
    /// Aborts the fetch when it runs too long.
    _timeout: Timeout,
}

/// Makes the signal that reports an answer: the status (0 when the network failed or the call timed out) and the
/// parsed JSON body (`undefined` when there was none or it was not JSON).
pub type Deliver = fn(u32, u16, JsValue) -> Signal;

/// Sends `outgoing`; the outcome reaches `port` as `deliver(tag, status, body)`.
pub fn send(outgoing: &Outgoing<'_>, tag: u32, deliver: Deliver, port: &Port) -> Exchange {
    let respond =
        move |port: &Port, status: u16, body: JsValue| port.send(deliver(tag, status, body));
    let status = alloc::rc::Rc::new(core::cell::Cell::new(0u16));
    let (text_port, error_port) = (port.clone(), port.clone());
    let text_status = status.clone();
    let on_text: Closure<dyn FnMut(JsValue)> = Closure::wrap(Box::new(move |text: JsValue| {
        let body =
            text.as_string().and_then(|text| JSON::parse(&text).ok()).unwrap_or(JsValue::UNDEFINED);
        respond(&text_port, text_status.get(), body);
    }));
    let on_error: Closure<dyn FnMut(JsValue)> =
        Closure::wrap(Box::new(move |error: JsValue| respond(&error_port, 0, error)));
    let (text_fn, error_fn): (Function, Function) =
        (on_text.as_ref().clone().unchecked_into(), on_error.as_ref().clone().unchecked_into());
    let on_response: Closure<dyn FnMut(JsValue)> =
        Closure::wrap(Box::new(move |response: JsValue| {
            let response: FetchResponse = response.unchecked_into();
            status.set(response.status());
            response.text().unchecked_ref::<Thenable>().then_with(&text_fn, &error_fn);
        }));

    let controller = AbortController::new();
    let init = Object::new();
    let set = |key: &str, value: &JsValue| {
        let _ = Reflect::set(&init, &key.into(), value);
    };
    set("method", &outgoing.method.into());
    let headers = Object::new();
    for (name, value) in [
        ("Authorization", outgoing.token),
        ("stream-auth-type", "jwt"),
        ("X-Stream-Client", outgoing.user_agent),
        ("Content-Type", "application/json"),
    ] {
        let _ = Reflect::set(&headers, &name.into(), &value.into());
    }
    set("headers", &headers);
    if let Some(body) = outgoing.body {
        set("body", &body.into());
    }
    set("signal", &controller.signal());
    let timeout = Timeout::new(outgoing.timeout_ms, Box::new(move || controller.abort()));
    global_fetch(outgoing.url, &init)
        .unchecked_ref::<Thenable>()
        .then_with(on_response.as_ref().unchecked_ref(), on_error.as_ref().unchecked_ref());
    Exchange {
        _on_response: on_response,
        _on_text: on_text,
        _on_error: on_error,
        _timeout: timeout,
    }
}

/// Appends `key=value` to a URL's query, form-encoded.
pub fn push_param(url: &mut String, key: &str, value: &str) {
    url.push(if url.contains('?') { '&' } else { '?' });
    url.push_str(key);
    url.push('=');
    url.push_str(&String::from(js_sys::encode_uri_component(value)));
}
