//! What the SDK remembers across page loads, in `localStorage`: that WebSockets failed for a server, so the next
//! page with `enableWSFallback` starts on long-poll at once instead of waiting for a WebSocket to fail again.

use alloc::string::String;

use js_sys::Date;
use web_sys::Storage;

/// How long a WebSocket failure is remembered for an origin: a day.
const WS_FAILURE_MEMORY_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// The localStorage key under which a WebSocket failure for `ws_base_url` is remembered.
fn ws_failure_key(ws_base_url: &str) -> String {
    String::from("stream-chat-wasm:ws-failed:") + ws_base_url
}

/// The page's `localStorage`, where there is one (not in workers, not when storage is blocked).
fn local_storage() -> Option<Storage> {
    web_sys::window()?.local_storage().ok()?
}

/// Whether WebSockets failed for `ws_base_url` within the last day.
pub fn websocket_failed_recently(ws_base_url: &str) -> bool {
    let until =
        local_storage().and_then(|storage| storage.get_item(&ws_failure_key(ws_base_url)).ok()?);
    until.is_some_and(|until| js_sys::Number::parse_float(&until) > Date::now())
}

/// Remembers (for a day) or forgets that WebSockets fail for `ws_base_url`.
pub fn remember_websocket_failure(ws_base_url: &str, failed: bool) {
    let Some(storage) = local_storage() else { return };
    let key = ws_failure_key(ws_base_url);
    let _ = if failed {
        let until = js_sys::Number::from(Date::now() + WS_FAILURE_MEMORY_MS);
        storage.set_item(&key, &String::from(until.to_string_with_radix(10).unwrap_or_default()))
    } else {
        storage.remove_item(&key)
    };
}
