//! The SDK's JS API, every `#[wasm_bindgen]` item: the `StreamChat` class here, `Channel` in `channel.rs`, the
//! TypeScript declarations in `types.rs` and `channel_types.rs`. Methods convert their arguments (read through the
//! typed imports of `platform/shapes.rs`; the client's options in `options.rs`, `connectUser`'s checks in
//! `connect.rs`, event handlers in `listeners.rs`), check what can be checked without the network, and hand over to
//! the browser runtime; nothing here decides connection policy.

mod attachments;
mod channel;
mod channel_manage;
mod channel_types;
mod chat;
mod connect;
mod listeners;
mod lookups;
#[cfg(feature = "method-probe")]
mod method_probe;
mod moderation;
mod options;
mod search;
mod types;

use alloc::borrow::ToOwned;
use alloc::rc::Rc;
use alloc::string::String;

use js_sys::{Promise, Reflect, JSON};
use wasm_bindgen::prelude::*;

pub use channel::{channel_object, Channel};

use connect::begin_connect;
use listeners::{listener_args, optional, subscribe};
use options::{millis, read_options, DEFAULT_BASE_URL, DEFAULT_TIMEOUT_MS, USER_AGENT};
use options::{
    CONNECT_TIMEOUT_MS, DISCONNECT_TIMEOUT_MS, PROBE_INTERVAL_MS, WS_FALLBACK_TIMEOUT_MS,
};

use crate::client::session::{ws_base_url, ConnectRequest};
use crate::client::{ChatError, SessionConfig};
use crate::platform::errors::connect_error;
use crate::platform::tasks::promise_of;
use crate::runtime::calls::RestConfig;
use crate::runtime::client::{Client, ClientOptions};

/// The global registry key under which `getInstance` keeps its instance, so every call returns the same JS
/// object (JS owns the object, so the registry is JS's too).
const INSTANCE_KEY: &str = "stream-chat-wasm.instance";

/// A chat client: one user's connection to the service. Same API as the official `StreamChat`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct StreamChat {
    /// The runtime; dropping this (JS `free()` or garbage collection) ends the session.
    client: Rc<Client>,
    /// The app's API key.
    key: String,
    /// REST base URL.
    base_url: String,
    /// REST timeout in milliseconds.
    timeout: u32,
    /// Whether the long-poll fallback may be used.
    enable_ws_fallback: bool,
}

#[wasm_bindgen]
impl StreamChat {
    /// `new StreamChat(apiKey, options)`; like the official client, a string second argument is a secret and
    /// the options come third.
    #[wasm_bindgen(constructor)]
    pub fn new(
        key: String,
        #[wasm_bindgen(js_name = secretOrOptions, unchecked_optional_param_type = "StreamChatOptions | string")]
        secret_or_options: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "StreamChatOptions")] options: JsValue,
    ) -> Result<StreamChat, JsValue> {
        let (secret_or_options, options) =
            (secret_or_options.or_undefined(), options.or_undefined());
        let options = if options.is_object() {
            options
        } else if secret_or_options.is_object() {
            secret_or_options
        } else {
            JsValue::UNDEFINED
        };
        let options = read_options(&options)?;
        let base_url = options
            .base_url
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| DEFAULT_BASE_URL.into());
        let timeout = options.timeout.map_or(DEFAULT_TIMEOUT_MS, millis);
        let enable_ws_fallback = options.enable_ws_fallback.unwrap_or(false);
        let logger = options.logger;
        let config = SessionConfig {
            start_with_longpoll: false,
            ws_base_url: ws_base_url(&base_url),
            api_key: key.clone(),
            user_agent: USER_AGENT.into(),
            connect_timeout_ms: CONNECT_TIMEOUT_MS,
            base_url: base_url.clone(),
            fallback: enable_ws_fallback,
            ws_fallback_timeout_ms: options
                .ws_fallback_timeout
                .map_or(WS_FALLBACK_TIMEOUT_MS, millis),
            probe_interval_ms: options.ws_probe_interval.map_or(PROBE_INTERVAL_MS, millis),
        };
        Ok(StreamChat {
            client: Client::new(
                config,
                RestConfig {
                    base_url: base_url.clone(),
                    api_key: key.clone(),
                    timeout_ms: timeout,
                },
                logger,
                ClientOptions {
                    recover_on_reconnect: options.recover_state_on_reconnect.unwrap_or(true),
                    persist_user: options.persist_user_on_connection_failure.unwrap_or(false),
                    warm_up: options.warm_up.unwrap_or(false),
                    share_connection: options.share_connection.unwrap_or(true),
                    local_cache: options.local_cache.unwrap_or(true),
                },
                channel_object,
            ),
            key,
            base_url,
            timeout,
            enable_ws_fallback,
        })
    }

    /// Test support, in debug builds only: traps while the client's state is borrowed, as a bug in the SDK
    /// would (`platform/fatal.rs`; `tests/fatal.rs`).
    #[cfg(debug_assertions)]
    #[allow(clippy::panic)]
    #[wasm_bindgen(js_name = trapForTests, skip_typescript)]
    pub fn trap_for_tests(&self) {
        let _held = self.client.state_mut();
        panic!("a trap for tests");
    }

    /// The process-wide instance: built by the first call, returned (the same object) by every later one, whose
    /// arguments are ignored.
    #[wasm_bindgen(js_name = getInstance, unchecked_return_type = "StreamChat")]
    pub fn get_instance(
        key: String,
        #[wasm_bindgen(js_name = secretOrOptions, unchecked_optional_param_type = "StreamChatOptions | string")]
        secret_or_options: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "StreamChatOptions")] options: JsValue,
    ) -> Result<JsValue, JsValue> {
        let key_symbol: JsValue = js_sys::Symbol::for_(INSTANCE_KEY).into();
        let global = js_sys::global();
        if let Ok(instance) = Reflect::get(&global, &key_symbol) {
            if !instance.is_undefined() {
                return Ok(instance);
            }
        }
        let instance: JsValue = StreamChat::new(key, secret_or_options, options)?.into();
        let _ = Reflect::set(&global, &key_symbol, &instance);
        Ok(instance)
    }

    /// Connects `user` with a token or a token provider. Resolves with the server's first `health.check` once the
    /// connection is confirmed. Invalid users and tokens reject before any network call. Calling it again for
    /// the same user returns the same promise; for another user it rejects until `disconnectUser()`.
    #[wasm_bindgen(js_name = connectUser, unchecked_return_type = "Promise<ConnectionOpen>")]
    pub fn connect_user(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserObject")] user: JsValue,
        #[wasm_bindgen(js_name = tokenOrProvider, unchecked_param_type = "TokenOrProvider")]
        token_or_provider: JsValue,
    ) -> Promise {
        match begin_connect(&self.client, self.enable_ws_fallback, user, token_or_provider) {
            Ok(promise) => promise,
            Err(error) => Promise::reject(&connect_error(&error)),
        }
    }

    /// Connects as an anonymous user, as the official client's `connectAnonymousUser`: no token; the server gives
    /// the connection a user of its own that may read public channel types and write nothing, and does not count
    /// it as an active user. Needs a server that allows it (`--guests`, or `--dev`).
    #[wasm_bindgen(js_name = connectAnonymousUser, unchecked_return_type = "Promise<ConnectionOpen>")]
    pub fn connect_anonymous_user(&self) -> Promise {
        let user_id = crate::platform::entropy::uuid();
        let user = crate::platform::values::object(&[
            ("id", user_id.as_str().into()),
            ("anon", true.into()),
        ]);
        let user_json =
            JSON::stringify(&user).ok().and_then(|json| json.as_string()).unwrap_or_default();
        if let Some(call) = &self.client.state_ref().connect {
            return Promise::reject(&connect_error(&ChatError::AlreadyConnected {
                current: call.user_id.clone(),
            }));
        }
        self.client.state_mut().session.use_token_provider(false);
        let request = ConnectRequest { user_id, user_json, token: Some(String::new()) };
        self.client.start_connect(user, request)
    }

    /// Becomes a guest user (`POST /guest`, when the server allows guests) and connects as it, as the official
    /// client's `setGuestUser`; the `id` asked for is used only if no user has it.
    #[wasm_bindgen(js_name = setGuestUser, unchecked_return_type = "Promise<ConnectionOpen>")]
    pub fn set_guest_user(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserObject")] user: JsValue,
    ) -> Promise {
        let client = self.client.clone();
        let fallback = self.enable_ws_fallback;
        promise_of(async move {
            let (user, token) = crate::api::users::create_guest(&client, &user).await?;
            let connected = begin_connect(&client, fallback, user, token.into())
                .map_err(|error| connect_error(&error))?;
            wasm_bindgen_futures::JsFuture::from(connected).await
        })
    }

    /// Closes the connection (code 1000) and forgets the user and its channels. A pending `connectUser`
    /// rejects. Resolves once the server confirmed the close, or after `timeout` ms (default 1000), as the
    /// official client does.
    /// Takes the timeout in ms, or `{timeout, clearCache}`: `clearCache: true` also forgets the user's cached
    /// channel lists.
    #[wasm_bindgen(js_name = disconnectUser, unchecked_return_type = "Promise<void>")]
    pub fn disconnect_user(
        &self,
        #[wasm_bindgen(
            unchecked_optional_param_type = "number | { timeout?: number; clearCache?: boolean }"
        )]
        options: Option<JsValue>,
    ) -> Promise {
        let options = options.unwrap_or_default();
        let timeout =
            options.as_f64().or_else(|| crate::platform::values::get(&options, "timeout").as_f64());
        if crate::platform::values::get(&options, "clearCache").is_truthy() {
            self.client.clear_cache();
        }
        self.client.disconnect(timeout.map_or(DISCONNECT_TIMEOUT_MS, millis), true)
    }

    /// Closes the connection but keeps the user and the channels, for [`openConnection`](Self::open_connection).
    /// Resolves as `disconnectUser` does.
    #[wasm_bindgen(js_name = closeConnection, unchecked_return_type = "Promise<void>")]
    pub fn close_connection(&self, timeout: Option<f64>) -> Promise {
        self.client.disconnect(timeout.map_or(DISCONNECT_TIMEOUT_MS, millis), false)
    }

    /// Opens the connection of the current user again (after `closeConnection()`, or a failed `connectUser` with
    /// `persistUserOnConnectionFailure`) and watches its channels again; resolves with the first `health.check`.
    #[wasm_bindgen(js_name = openConnection, unchecked_return_type = "Promise<ConnectionOpen>")]
    pub fn open_connection(&self) -> Promise {
        self.client.open_connection()
    }

    /// Re-queries the watched channels (their state rebuilt) and then emits `connection.recovered`; the SDK does
    /// this itself after every reconnect unless `recoverStateOnReconnect` is false.
    #[wasm_bindgen(js_name = recoverState, unchecked_return_type = "Promise<void>")]
    pub fn recover_state(&self) -> Promise {
        self.client.recover_state()
    }

    /// The connection as the official client's `wsConnection` shows it: `isHealthy`, `connectionID`,
    /// `isConnecting`, `isDisconnected` (a fresh read-only snapshot), or `undefined` before `connectUser`.
    #[wasm_bindgen(getter = wsConnection, unchecked_return_type = "WSConnection | undefined")]
    pub fn ws_connection(&self) -> JsValue {
        use crate::client::State as Session;
        let state = self.client.state_ref();
        let (healthy, connecting) = match state.session.state() {
            Session::Open { .. } => (true, false),
            Session::Connecting | Session::Reconnecting => (false, true),
            Session::Idle if state.last_request.is_none() => return JsValue::UNDEFINED,
            Session::Idle | Session::Closed => (false, false),
        };
        let connection_id = optional(state.session.connection_id());
        crate::platform::values::object(&[
            ("isHealthy", healthy.into()),
            ("isConnecting", connecting.into()),
            ("isDisconnected", (!healthy && !connecting).into()),
            ("connectionID", connection_id),
        ])
    }

    /// The app's settings (`GET /app`): its name and channel type configs.
    #[wasm_bindgen(js_name = getAppSettings, unchecked_return_type = "Promise<{ app: Record<string, unknown> }>")]
    pub fn get_app_settings(&self) -> Promise {
        crate::api::routes::request(
            &self.client.port,
            0,
            &crate::api::routes::GET_APP_SETTINGS,
            &[],
        )
    }

    /// The `X-Stream-Client` value sent with every request and connection.
    #[wasm_bindgen(js_name = getUserAgent)]
    pub fn get_user_agent(&self) -> String {
        self.client.state_ref().session.config().user_agent.clone()
    }

    /// Replaces the `X-Stream-Client` value, from the next request and connection on.
    #[wasm_bindgen(js_name = setUserAgent)]
    pub fn set_user_agent(&self, #[wasm_bindgen(js_name = userAgent)] user_agent: String) {
        self.client.state_mut().session.set_user_agent(user_agent);
    }

    /// The dev token for `userId`, accepted only by servers with auth checks disabled (dev mode).
    #[wasm_bindgen(js_name = devToken, unchecked_return_type = "string")]
    pub fn dev_token(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_param_type = "string")] user_id: JsValue,
    ) -> JsValue {
        crate::platform::shapes::dev_token(&user_id)
    }

    /// `on(type, handler)` or `on(handler)` for every event (`'all'` works too). Returns a function that removes
    /// the handler; it also has an `unsubscribe` method, as the official client's return value does.
    #[wasm_bindgen(unchecked_return_type = "Unsubscribe")]
    pub fn on(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: JsValue,
    ) -> Result<JsValue, JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        subscribe(&self.client, None, kind, handler)
    }

    /// Removes a handler added with `on` for the same type (or for every event).
    pub fn off(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: JsValue,
    ) -> Result<(), JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        self.client.remove_handler(None, kind.as_deref(), &handler);
        Ok(())
    }

    /// The channel object for `type` and `id` (the same object for the same cid), or for a channel known by its
    /// members: `channel(type, {members})` or `channel(type, null, {members})`. Nothing is sent until `watch()`
    /// or `query()`.
    #[wasm_bindgen(unchecked_return_type = "Channel")]
    pub fn channel(
        &self,
        #[wasm_bindgen(js_name = channelType)] channel_type: String,
        #[wasm_bindgen(
            js_name = channelIdOrData,
            unchecked_optional_param_type = "string | ChannelData | null"
        )]
        id_or_data: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelData")] data: JsValue,
    ) -> JsValue {
        // `(type, id, data)`, `(type, data)`, or `(type, null | undefined, data)` for a channel by its members.
        let id_or_data = id_or_data.unwrap_or_default();
        let (id, data) = match id_or_data.as_string() {
            Some(id) => (Some(id), data.or_undefined()),
            None if id_or_data.is_object() => (None, id_or_data),
            None => (None, data.or_undefined()),
        };
        self.client.channel(channel_type, id, data)
    }

    /// Channels matching `filter` (`cid`, `members`, `type` with `$in`), sorted (`{last_message_at: -1}`), with
    /// their state; watched unless `options.watch` is false. Waits for the connection.
    #[wasm_bindgen(js_name = queryChannels, unchecked_return_type = "Promise<Channel[]>")]
    pub fn query_channels(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChannelFilters")] filter: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelSort")] sort: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelOptions")] options: JsValue,
    ) -> Promise {
        crate::runtime::channels::query_channels(
            self.client.port.clone(),
            &filter,
            &sort.or_undefined(),
            &options.or_undefined(),
            true,
        )
    }

    /// The connected user: the object given to `connectUser`, then the server's `me`.
    #[wasm_bindgen(getter, unchecked_return_type = "OwnUserResponse | UserObject | undefined")]
    pub fn user(&self) -> JsValue {
        self.client.state_ref().user.clone()
    }

    /// The user's id, from `connectUser` until `disconnectUser` (also while the connection is closed with
    /// `closeConnection`).
    #[wasm_bindgen(getter = userID, unchecked_return_type = "string | undefined")]
    pub fn user_id(&self) -> JsValue {
        let state = self.client.state_ref();
        let from_call = state.connect.as_ref().map(|call| call.user_id.as_str());
        optional(from_call.or(state.last_request.as_ref().map(|request| request.user_id.as_str())))
    }

    /// The server's id for the open connection.
    #[wasm_bindgen(getter = connectionId, unchecked_return_type = "string | undefined")]
    pub fn connection_id(&self) -> JsValue {
        optional(self.client.state_ref().session.connection_id())
    }

    /// The app's API key.
    #[wasm_bindgen(getter)]
    pub fn key(&self) -> String {
        self.key.clone()
    }

    /// The REST base URL.
    #[wasm_bindgen(getter = baseURL)]
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    /// The WebSocket base URL, derived from `baseURL`; assignable.
    #[wasm_bindgen(getter = wsBaseURL)]
    pub fn ws_base_url(&self) -> String {
        self.client.state_ref().session.config().ws_base_url.clone()
    }

    /// Sets the WebSocket base URL used from the next connection attempt on.
    #[wasm_bindgen(setter = wsBaseURL)]
    pub fn set_ws_base_url(&self, url: String) {
        self.client.state_mut().session.set_ws_base_url(url);
    }

    /// The REST timeout in milliseconds.
    #[wasm_bindgen(getter)]
    pub fn timeout(&self) -> u32 {
        self.timeout
    }

    /// Whether the long-poll fallback is enabled.
    #[wasm_bindgen(getter = enableWSFallback)]
    pub fn enable_ws_fallback(&self) -> bool {
        self.enable_ws_fallback
    }
}

/// An optional argument as wasm-bindgen's `Option<JsValue>` read it, `null` as absent, without that conversion's
/// code in every method (a `JsValue` parameter typed optional in TypeScript crosses as it is).
pub(crate) trait OptionalArgument {
    /// `self`, or `undefined` when it is `null`.
    fn or_undefined(self) -> JsValue;
}

impl OptionalArgument for JsValue {
    fn or_undefined(self) -> JsValue {
        if self.is_null() {
            JsValue::UNDEFINED
        } else {
            self
        }
    }
}
