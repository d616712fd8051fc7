//! Small readers and builders for the JS objects the SDK passes through whole (messages, users, events): read one
//! field, build a small plain object, turn a timestamp into a `Date`. Typed shapes go through serde instead.

use alloc::string::String;

use js_sys::{Array, Date, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

/// `object[key]`, `undefined` when absent or when `object` is not an object.
pub fn get(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `object[key]` as a string.
pub fn text(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).as_string()
}

/// `object[key]` as a non-negative integer.
pub fn number(object: &JsValue, key: &str) -> Option<u32> {
    get(object, key).as_f64().filter(|n| *n >= 0.0).map(|n| n as u32)
}

/// `object[key]` if it is an array, else a new empty one (`Array.from` would throw on `undefined`, and a JS
/// exception thrown through Rust frames skips their cleanup).
pub fn list(object: &JsValue, key: &str) -> Array {
    let value = get(object, key);
    if Array::is_array(&value) {
        value.unchecked_into()
    } else {
        Array::new()
    }
}

/// Sets `object[key] = value` (objects the SDK made itself, so it cannot fail).
pub fn set(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &key.into(), value);
}

/// A plain object from pairs.
pub fn object(pairs: &[(&str, JsValue)]) -> JsValue {
    let object: JsValue = Object::new().into();
    for (key, value) in pairs {
        set(&object, key, value);
    }
    object
}

#[wasm_bindgen(inline_js = "export function shallowCopy(value) { return { ...value }; }")]
extern "C" {
    /// `{ ...value }`: V8 gives a spread copy the source's fast layout, while `Object.assign` onto a new object
    /// leaves a 24-field message in dictionary mode (about 800 bytes more per message, measured by
    /// `npm run bench`).
    #[wasm_bindgen(js_name = shallowCopy)]
    fn shallow_copy(value: &JsValue) -> JsValue;
}

/// A shallow copy of `value` (a new empty object when it is not one).
pub fn copy(value: &JsValue) -> JsValue {
    if value.is_object() {
        shallow_copy(value)
    } else {
        Object::new().into()
    }
}

/// Milliseconds since the epoch of the timestamp `object[key]` (a string or a `Date`); `None` when absent or
/// unparsable.
pub fn time(object: &JsValue, key: &str) -> Option<f64> {
    parsed(&get(object, key)).map(|date| date.get_time())
}

/// `value` as a valid `Date`, if it is a timestamp string or a `Date`. Parsed by `new Date(value)` in JS: the
/// string never crosses into wasm memory and back.
fn parsed(value: &JsValue) -> Option<Date> {
    if !value.is_string() && !value.is_instance_of::<Date>() {
        return None;
    }
    Some(Date::new(value)).filter(|date| date.get_time().is_finite())
}

/// A `Date` for `ms`.
pub fn date(ms: f64) -> JsValue {
    Date::new(&ms.into()).into()
}

/// Replaces the timestamp `object[key]` by a `Date`; when absent, by now (`now_when_absent`) or `null`. Returns
/// the time it set, in milliseconds.
pub fn to_date(object: &JsValue, key: &str, now_when_absent: bool) -> Option<f64> {
    let date = match parsed(&get(object, key)) {
        Some(date) => Some(date),
        None if now_when_absent => Some(Date::new_0()),
        None => None,
    };
    let ms = date.as_ref().map(Date::get_time);
    set(object, key, &date.map_or(JsValue::NULL, Into::into));
    ms
}
