//! `client.search` / `channel.search` (PROTOCOL.md §22.8): `GET /search` with the official client's payload
//! `{filter_conditions, …options, sort, query | message_filter_conditions}` through the one REST path; the answer
//! `{results: [{message}], next?}` changes no state.

use js_sys::Promise;
use wasm_bindgen::JsValue;

use crate::client::ChatError;
use crate::platform::errors::to_js_error;
use crate::platform::values::{copy, get, set, set_default};
use crate::runtime::channels::sort_value;
use crate::runtime::client::Port;
use crate::runtime::request::{send, Request};

/// Searches messages in the channels of `filter`: `query` is words (a string) or message filter conditions (an
/// object); `options` carry `limit`, `offset` or `next`, `sort`.
pub fn search(port: &Port, filter: &JsValue, query: &JsValue, options: &JsValue) -> Promise {
    let refuse = |why| Promise::reject(&to_js_error(&ChatError::InvalidArgument(why)));
    if get(options, "offset").is_truthy() && get(options, "next").is_truthy() {
        return refuse("Cannot specify offset with next");
    }
    let field = if query.is_string() {
        "query"
    } else if query.is_object() {
        "message_filter_conditions"
    } else {
        return refuse("Invalid type for query parameter");
    };
    let body = copy(options);
    set_default(&body, "filter_conditions", filter);
    let sort = get(options, "sort");
    let sort = if sort.is_truthy() { sort_value(&sort) } else { JsValue::UNDEFINED };
    set(&body, "sort", &sort);
    set(&body, field, query);
    send(port, Request::new("GET", "/search".into(), body))
}
