//! The options of `new StreamChat(apiKey, options)`: the defaults the SDK starts from and the reading of the app's
//! options object (a known option of the wrong type throws a `TypeError` naming it; unknown ones are ignored, as
//! by the official client).

use alloc::string::String;

use js_sys::Function;
use wasm_bindgen::{JsCast, JsValue};

use crate::platform::shapes::{shape, ClientOptionsShape};

/// The hosted service's REST base URL, the default `baseURL`.
pub(super) const DEFAULT_BASE_URL: &str = "https://chat.stream-io-api.com";
/// The default REST timeout, in milliseconds.
pub(super) const DEFAULT_TIMEOUT_MS: u32 = 3_000;
/// How long `connectUser` keeps trying to open the first connection (the official client's 15 s).
pub(super) const CONNECT_TIMEOUT_MS: u32 = 15_000;
/// With `enableWSFallback`: how long a WebSocket may go without its first frame before the SDK falls back to
/// long-poll (the official client waits 6 s).
pub(super) const WS_FALLBACK_TIMEOUT_MS: u32 = 2_000;
/// With `enableWSFallback`: the first interval between WebSocket probes while on long-poll.
pub(super) const PROBE_INTERVAL_MS: u32 = 5_000;
/// How long `disconnectUser()` waits for the server to confirm the close, by default (the official client's).
pub(super) const DISCONNECT_TIMEOUT_MS: u32 = 1_000;
/// Sent as `X-Stream-Client`.
pub(super) const USER_AGENT: &str =
    concat!("stream-chat-wasm-v", env!("CARGO_PKG_VERSION"), "-browser");

/// The options of `new StreamChat(apiKey, options)` the SDK reads; others are ignored, as by the official client.
#[derive(Debug, Default)]
pub(super) struct Options {
    /// REST base URL.
    pub(super) base_url: Option<String>,
    /// REST timeout in milliseconds.
    pub(super) timeout: Option<f64>,
    /// Whether the long-poll fallback may be used.
    pub(super) enable_ws_fallback: Option<bool>,
    /// How long a WebSocket may go without its first frame before falling back.
    pub(super) ws_fallback_timeout: Option<f64>,
    /// The first interval between WebSocket probes while on long-poll.
    pub(super) ws_probe_interval: Option<f64>,
    /// Re-query the watched channels after a reconnect (default true).
    pub(super) recover_state_on_reconnect: Option<bool>,
    /// Keep the user when `connectUser` fails, for `openConnection()`.
    pub(super) persist_user_on_connection_failure: Option<bool>,
    /// Send `GET /hi` when connecting, to open the HTTP connection early.
    pub(super) warm_up: Option<bool>,
    /// Share one connection between the tabs of a user (default true).
    pub(super) share_connection: Option<bool>,
    /// Keep `queryChannels` answers in IndexedDB (default true).
    pub(super) local_cache: Option<bool>,
    /// `(level, message, extra)`.
    pub(super) logger: Option<Function>,
}

/// Reads the app's options object (absent: the defaults). A known option of the wrong type throws a `TypeError`
/// naming it, as the typed reading before did; `null` or `undefined` count as absent.
pub(super) fn read_options(value: &JsValue) -> Result<Options, JsValue> {
    let Some(given) = shape::<ClientOptionsShape>(value) else { return Ok(Options::default()) };
    fn field<T>(
        value: JsValue,
        name: &'static str,
        read: impl FnOnce(&JsValue) -> Option<T>,
    ) -> Result<Option<T>, JsValue> {
        if value.is_null_or_undefined() {
            return Ok(None);
        }
        read(&value).map(Some).ok_or_else(|| {
            js_sys::TypeError::new(&(String::from("invalid StreamChat options: ") + name)).into()
        })
    }
    let number = |value: &JsValue| value.as_f64();
    let flag = |value: &JsValue| value.as_bool();
    Ok(Options {
        base_url: field(given.base_url(), "baseURL", JsValue::as_string)?,
        timeout: field(given.timeout(), "timeout", number)?,
        enable_ws_fallback: field(given.enable_ws_fallback(), "enableWSFallback", flag)?,
        ws_fallback_timeout: field(given.ws_fallback_timeout(), "wsFallbackTimeout", number)?,
        ws_probe_interval: field(given.ws_probe_interval(), "wsProbeInterval", number)?,
        recover_state_on_reconnect: field(
            given.recover_state_on_reconnect(),
            "recoverStateOnReconnect",
            flag,
        )?,
        persist_user_on_connection_failure: field(
            given.persist_user_on_connection_failure(),
            "persistUserOnConnectionFailure",
            flag,
        )?,
        warm_up: field(given.warm_up(), "warmUp", flag)?,
        share_connection: field(given.share_connection(), "shareConnection", flag)?,
        local_cache: field(given.local_cache(), "localCache", flag)?,
        // Anything but a function is ignored, as the official client ignores it.
        logger: given.logger().dyn_into::<Function>().ok(),
    })
}

/// Milliseconds from a JS number: negative and non-finite values count as 0, huge ones saturate.
pub(super) fn millis(ms: f64) -> u32 {
    if ms.is_finite() && ms > 0.0 {
        ms.min(f64::from(u32::MAX)) as u32
    } else {
        0
    }
}
