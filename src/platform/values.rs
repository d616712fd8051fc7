//! Small readers and builders for the JS objects the SDK passes through whole (messages, users, events): read one
//! field, build a small plain object, turn a timestamp into a `Date`. Fixed shapes are read through the typed imports of `shapes.rs`.

use alloc::string::String;

use js_sys::{Array, Date, Object, Reflect};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

std::thread_local! {
    /// Property names already made into JS strings, by the address and length of their Rust literal.
    static KEYS: core::cell::RefCell<alloc::vec::Vec<(usize, usize, JsValue)>> =
        const { core::cell::RefCell::new(alloc::vec::Vec::new()) };
}

/// Runs `use_key` with `name` as a JS string, made once per literal: decoding a string out of wasm memory is a
/// `TextDecoder` call, which a CPU profile of a 10,000-event burst showed as the SDK's largest single cost when
/// every field read made its name anew.
fn with_key<T>(name: &'static str, use_key: impl FnOnce(&JsValue) -> T) -> T {
    let id = (name.as_ptr() as usize, name.len());
    KEYS.with(|keys| {
        // Held while `use_key` runs: a getter of the app's that calls back into the SDK gets a fresh string.
        let Ok(mut keys) = keys.try_borrow_mut() else { return use_key(&JsValue::from_str(name)) };
        if let Some((_, _, value)) = keys.iter().find(|(address, len, _)| (*address, *len) == id) {
            return use_key(value);
        }
        let value = JsValue::from_str(name);
        let result = use_key(&value);
        keys.push((id.0, id.1, value));
        result
    })
}

/// `object[key]`, `undefined` when absent or when `object` is not an object.
pub fn get(object: &JsValue, key: &'static str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    with_key(key, |key| Reflect::get(object, key)).unwrap_or(JsValue::UNDEFINED)
}

/// `object[key]` for a key made at run time (a user id), `undefined` when absent or when `object` is not one.
pub fn get_at(object: &JsValue, key: &str) -> JsValue {
    if !object.is_object() {
        return JsValue::UNDEFINED;
    }
    Reflect::get(object, &key.into()).unwrap_or(JsValue::UNDEFINED)
}

/// Sets `object[key] = value` for a key made at run time (a user id).
pub fn set_at(object: &JsValue, key: &str, value: &JsValue) {
    let _ = Reflect::set(object, &key.into(), value);
}

/// `object[key]` as a string.
pub fn text(object: &JsValue, key: &'static str) -> Option<String> {
    get(object, key).as_string()
}

/// `object[key]` as a non-negative integer.
pub fn number(object: &JsValue, key: &'static str) -> Option<u32> {
    get(object, key).as_f64().filter(|n| *n >= 0.0).map(|n| n as u32)
}

/// `object[key]` if it is an array, else a new empty one (`Array.from` would throw on `undefined`, and a JS
/// exception thrown through Rust frames skips their cleanup).
pub fn list(object: &JsValue, key: &'static str) -> Array {
    array(get(object, key))
}

/// `value` if it is an array, else a new empty one.
pub fn array(value: JsValue) -> Array {
    if Array::is_array(&value) {
        value.unchecked_into()
    } else {
        Array::new()
    }
}

/// Sets `object[key] = value` (objects the SDK made itself, so it cannot fail).
pub fn set(object: &JsValue, key: &'static str, value: &JsValue) {
    let _ = with_key(key, |key| Reflect::set(object, key, value));
}

/// Sets `object[key] = value` unless `object` has the key (an app's option over the SDK's default).
pub fn set_default(object: &JsValue, key: &'static str, value: &JsValue) {
    if get(object, key).is_undefined() {
        set(object, key, value);
    }
}

/// `value` as a JS value, by serde-wasm-bindgen's serializer with maps as plain objects. The SDK's types
/// serialize as maps, not structs: serde-wasm-bindgen caches a struct's field names in a `HashMap`, which alone
/// brought hashbrown's ~2 KB into the wasm.
pub fn to_js<T: serde::Serialize>(value: &T) -> JsValue {
    let serializer = serde_wasm_bindgen::Serializer::new().serialize_maps_as_objects(true);
    value.serialize(&serializer).unwrap_or_default()
}

/// A plain object from pairs.
pub fn object(pairs: &[(&'static str, JsValue)]) -> JsValue {
    let object: JsValue = Object::new().into();
    for (key, value) in pairs {
        set(&object, key, value);
    }
    object
}

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// A shallow copy of `value` (a new empty object when it is not one), the one the JS helpers make too.
    /// `{ ...value }`: V8 gives a spread copy the source's fast layout, while `Object.assign` onto a new object
    /// leaves a 24-field message in dictionary mode (about 800 bytes more per message, measured by
    /// `npm run bench`).
    #[wasm_bindgen(js_name = shallowCopy)]
    pub fn copy(value: &JsValue) -> JsValue;
}

/// Milliseconds since the epoch of the timestamp `object[key]` (a string or a `Date`); `None` when absent or
/// unparsable.
pub fn time(object: &JsValue, key: &'static str) -> Option<f64> {
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
