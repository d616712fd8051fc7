//! Helpers the browser tests share: the server under test, plain-object building and reading, promises, and the
//! server's metrics.

#![allow(dead_code)]

use js_sys::{Object, Promise, Reflect};
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
    StreamChat::new("demo-key".into(), Some(object(&[("baseURL", SERVER.into())])), None).unwrap()
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
