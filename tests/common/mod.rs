//! Helpers the browser tests share: the server under test, plain-object building and reading, promises, and the
//! server's metrics.

#![allow(dead_code)]

use js_sys::{Array, Function, Object, Promise, Reflect};
use stream_chat_wasm::StreamChat;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// The server `scripts/test.sh` started, read at compile time.
pub const SERVER: &str = match option_env!("CHAT_SERVER_URL") {
    Some(url) => url,
    None => "http://127.0.0.1:8080",
};

/// A plain object from pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object = Object::new();
    for (key, value) in pairs {
        Reflect::set(&object, &(*key).into(), value).unwrap();
    }
    object.into()
}

/// `value.a.b.c` for the path `"a.b.c"`; `undefined` past a missing step.
pub fn get(value: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(value.clone(), |value, key| {
        if value.is_object() || value.is_function() {
            Reflect::get(&value, &key.into()).unwrap()
        } else {
            JsValue::UNDEFINED
        }
    })
}

/// A client for the server under test.
pub fn client() -> StreamChat {
    StreamChat::new("demo-key".into(), object(&[("baseURL", SERVER.into())]), JsValue::UNDEFINED)
        .unwrap()
}

/// Awaits a promise given as any JS value.
pub async fn settle(promise: impl Into<JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(promise.into().unchecked_into::<Promise>()).await
}

/// A metric series' value from the server's `/metrics`.
pub async fn metric(series: &str) -> f64 {
    let window = web_sys::window().unwrap();
    let response: web_sys::Response =
        JsFuture::from(window.fetch_with_str(&format!("{SERVER}/metrics")))
            .await
            .unwrap()
            .unchecked_into();
    let text = JsFuture::from(response.text().unwrap()).await.unwrap().as_string().unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
        .unwrap_or_else(|| panic!("no {series} in /metrics"))
}

/// Calls `target[method](...args)`.
pub fn call(target: &JsValue, method: &str, args: &[JsValue]) -> JsValue {
    let function: Function = get(target, method).unchecked_into();
    function.apply(target, &args.iter().collect::<Array>()).unwrap()
}

/// A unique suffix so tests never share users or channels.
pub fn unique() -> String {
    let n = (js_sys::Math::random() * 1e9) as u64;
    format!("{n}")
}

pub async fn connected(id: &str, extra: &[(&str, JsValue)]) -> StreamChat {
    let client = client();
    let mut pairs = vec![("id", JsValue::from(id))];
    pairs.extend_from_slice(extra);
    settle(client.connect_user(object(&pairs), client.dev_token(id.into()))).await.unwrap();
    client
}

pub fn channel(client: &StreamChat, id: &str, members: &[&str]) -> JsValue {
    let members: Array = members.iter().map(|m| JsValue::from(*m)).collect();
    client.channel("messaging".into(), Some(id.into()), object(&[("members", members.into())]))
}

/// Resolves with the next `kind` event on `target` (a client or a channel) that `accept` takes.
pub fn next_event(
    target: &JsValue,
    kind: &str,
    accept: impl Fn(&JsValue) -> bool + 'static,
) -> JsFuture {
    let target = target.clone();
    let kind = kind.to_owned();
    let mut accept = Some(accept);
    JsFuture::from(Promise::new(&mut |resolve, reject| {
        let accept = accept.take().unwrap();
        let done = std::rc::Rc::new(std::cell::Cell::new(false));
        let timeout_done = done.clone();
        let timeout = Closure::once_into_js(move || {
            if !timeout_done.get() {
                let _ = reject.call1(&JsValue::NULL, &"no event in time".into());
            }
        });
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(timeout.unchecked_ref(), 10_000)
            .unwrap();
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            if !done.get() && accept(&event) {
                done.set(true);
                let _ = resolve.call1(&JsValue::NULL, &event);
            }
        });
        call(&target, "on", &[kind.clone().into(), handler.into_js_value()]);
    }))
}

pub fn from(user: &'static str) -> impl Fn(&JsValue) -> bool {
    move |event| get(event, "user.id").as_string().as_deref() == Some(user)
}

/// Resolves with the client's next `kind` event that `accept` takes.
pub fn client_event(
    client: &StreamChat,
    kind: &str,
    accept: impl Fn(&JsValue) -> bool + 'static,
) -> JsFuture {
    let mut accept = Some(accept);
    JsFuture::from(Promise::new(&mut |resolve, _| {
        let Some(accept) = accept.take() else { return };
        let handler = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            if accept(&event) {
                let _ = resolve.call1(&JsValue::NULL, &event);
            }
        });
        client.on(kind.into(), handler.into_js_value()).unwrap();
    }))
}
