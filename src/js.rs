//! Every `#[wasm_bindgen]` item: the `StreamChat` class, argument conversions, JS errors and the TypeScript
//! declarations. Methods convert their arguments, check what can be checked without the network, and hand over
//! to the browser runtime; nothing here decides connection policy.

use alloc::borrow::ToOwned;
use alloc::rc::Rc;
use alloc::string::String;

use js_sys::{Function, Promise, Reflect, JSON};
use stream_chat_protocol::token::dev_token;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::client::Client;
use crate::client::session::{ws_base_url, ConnectRequest};
use crate::client::user::{check_token, check_user};
use crate::client::{ChatError, SessionConfig};

/// The hosted service's REST base URL, the default `baseURL`.
const DEFAULT_BASE_URL: &str = "https://chat.stream-io-api.com";
/// The default REST timeout, in milliseconds.
const DEFAULT_TIMEOUT_MS: u32 = 3_000;
/// How long `connectUser` keeps trying to open the first connection (the official client's 15 s).
const CONNECT_TIMEOUT_MS: u32 = 15_000;
/// Sent as `X-Stream-Client`.
const USER_AGENT: &str = concat!("stream-chat-wasm-v", env!("CARGO_PKG_VERSION"), "-browser");

#[wasm_bindgen(typescript_custom_section)]
const TYPES: &'static str = r#"
/** Options of `new StreamChat(apiKey, options)`. */
export interface StreamChatOptions {
  /** REST base URL; the WebSocket URL is derived from it. Default `https://chat.stream-io-api.com`. */
  baseURL?: string;
  /** REST request timeout in milliseconds. Default 3000. */
  timeout?: number;
  /** Fall back to long-polling when a WebSocket cannot be established. */
  enableWSFallback?: boolean;
  /** Receives the SDK's log lines. */
  logger?: Logger;
}

export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, extra?: Record<string, unknown>) => void;

/** Per-user privacy switches, enforced by the server. */
export interface PrivacySettings {
  typing_indicators?: { enabled: boolean };
  read_receipts?: { enabled: boolean };
  delivery_receipts?: { enabled: boolean };
}

/** The user object given to `connectUser`: `id` (a-z, 0-9, @ _ -), known fields and custom ones, under 5 KB. */
export interface UserObject {
  id: string;
  name?: string;
  image?: string;
  language?: string;
  invisible?: boolean;
  privacy_settings?: PrivacySettings;
  [custom: string]: unknown;
}

/** The own user as the server stores it (`me`). */
export interface OwnUserResponse extends UserObject {
  role: string;
  created_at: string;
  updated_at: string;
  last_active?: string;
  online: boolean;
  banned: boolean;
  privacy_settings: PrivacySettings;
  devices: unknown[];
  mutes: unknown[];
  channel_mutes: unknown[];
  unread_count: number;
  total_unread_count: number;
  unread_channels: number;
}

/** A token, or an async function returning one (called at connect and when the token expires). */
export type TokenOrProvider = string | (() => Promise<string>);

/** An event from the server, or one the SDK emits (`connection.changed`, `connection.recovered`). */
export interface Event {
  type: string;
  cid?: string;
  connection_id?: string;
  created_at?: string;
  me?: OwnUserResponse;
  /** On `connection.changed`: whether the connection is healthy now. */
  online?: boolean;
  received_at?: Date;
  [field: string]: unknown;
}

/** What `connectUser` resolves to: the server's first `health.check`. */
export interface ConnectionOpen extends Event {
  type: 'health.check';
  connection_id: string;
  cid: '*';
  created_at: string;
  me: OwnUserResponse;
}

export type EventHandler = (event: Event) => void;

/** Returned by `on`: call it, or its `unsubscribe` method, to remove the handler. */
export interface Unsubscribe {
  (): void;
  unsubscribe(): void;
}

/** Errors the SDK rejects with. `code` and `StatusCode` follow the protocol where it has a code. */
export interface StreamChatError extends Error {
  code?: number;
  StatusCode?: number;
  isWSFailure?: boolean;
}
"#;

/// The global registry key under which `getInstance` keeps its instance, so every call returns the same JS
/// object (a `no_std` crate has no `thread_local!`, and JS owns the object anyway).
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
        secret_or_options: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "StreamChatOptions")] options: Option<
            JsValue,
        >,
    ) -> StreamChat {
        let (secret_or_options, options) =
            (secret_or_options.unwrap_or_default(), options.unwrap_or_default());
        let options = if options.is_object() {
            options
        } else if secret_or_options.is_object() {
            secret_or_options
        } else {
            JsValue::UNDEFINED
        };
        let base_url = string_option(&options, "baseURL")
            .map(|url| url.trim_end_matches('/').to_owned())
            .unwrap_or_else(|| DEFAULT_BASE_URL.into());
        let timeout = number_option(&options, "timeout").map_or(DEFAULT_TIMEOUT_MS, |t| t as u32);
        let enable_ws_fallback =
            get(&options, "enableWSFallback").is_some_and(|value| value.is_truthy());
        let logger = get(&options, "logger").and_then(|value| value.dyn_into::<Function>().ok());
        let config = SessionConfig {
            ws_base_url: ws_base_url(&base_url),
            api_key: key.clone(),
            user_agent: USER_AGENT.into(),
            connect_timeout_ms: CONNECT_TIMEOUT_MS,
        };
        StreamChat {
            client: Client::new(config, logger),
            key,
            base_url,
            timeout,
            enable_ws_fallback,
        }
    }

    /// The process-wide instance: built by the first call, returned (the same object) by every later one, whose
    /// arguments are ignored.
    #[wasm_bindgen(js_name = getInstance, unchecked_return_type = "StreamChat")]
    pub fn get_instance(
        key: String,
        #[wasm_bindgen(js_name = secretOrOptions, unchecked_optional_param_type = "StreamChatOptions | string")]
        secret_or_options: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "StreamChatOptions")] options: Option<
            JsValue,
        >,
    ) -> JsValue {
        let key_symbol: JsValue = js_sys::Symbol::for_(INSTANCE_KEY).into();
        let global = js_sys::global();
        if let Ok(instance) = Reflect::get(&global, &key_symbol) {
            if !instance.is_undefined() {
                return instance;
            }
        }
        let instance: JsValue = StreamChat::new(key, secret_or_options, options).into();
        let _ = Reflect::set(&global, &key_symbol, &instance);
        instance
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
        match self.begin_connect(user, token_or_provider) {
            Ok(promise) => promise,
            Err(error) => Promise::reject(&to_js_error(&error)),
        }
    }

    /// Closes the connection (code 1000) and forgets the user. A pending `connectUser` rejects.
    #[wasm_bindgen(js_name = disconnectUser, unchecked_return_type = "Promise<void>")]
    pub fn disconnect_user(&self) -> Promise {
        self.client.disconnect();
        Promise::resolve(&JsValue::UNDEFINED)
    }

    /// The dev token for `userId`, accepted only by servers with auth checks disabled (dev mode).
    #[wasm_bindgen(js_name = devToken)]
    pub fn dev_token(&self, #[wasm_bindgen(js_name = userId)] user_id: String) -> String {
        dev_token(&user_id)
    }

    /// `on(type, handler)` or `on(handler)` for every event (`'all'` works too). Returns a function that removes
    /// the handler; it also has an `unsubscribe` method, as the official client's return value does.
    #[wasm_bindgen(unchecked_return_type = "Unsubscribe")]
    pub fn on(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        let id = self.client.add_listener(kind, handler);
        let client = Rc::downgrade(&self.client);
        let unsubscribe = Closure::<dyn FnMut()>::new(move || {
            if let Some(client) = client.upgrade() {
                client.remove_listener(id);
            }
        })
        .into_js_value();
        Reflect::set(&unsubscribe, &"unsubscribe".into(), &unsubscribe)?;
        Ok(unsubscribe)
    }

    /// Removes a handler added with `on` for the same type (or for every event).
    pub fn off(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: Option<JsValue>,
    ) -> Result<(), JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        self.client.remove_handler(kind.as_deref(), &handler);
        Ok(())
    }

    /// The connected user: the object given to `connectUser`, then the server's `me`.
    #[wasm_bindgen(getter, unchecked_return_type = "OwnUserResponse | UserObject | undefined")]
    pub fn user(&self) -> JsValue {
        self.client.state.borrow().user.clone()
    }

    /// The connected user's id.
    #[wasm_bindgen(getter = userID)]
    pub fn user_id(&self) -> Option<String> {
        self.client.state.borrow().connect.as_ref().map(|call| call.user_id.clone())
    }

    /// The server's id for the open connection.
    #[wasm_bindgen(getter = connectionId)]
    pub fn connection_id(&self) -> Option<String> {
        self.client.state.borrow().session.connection_id().map(Into::into)
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
        self.client.state.borrow().session.config().ws_base_url.clone()
    }

    /// Sets the WebSocket base URL used from the next connection attempt on.
    #[wasm_bindgen(setter = wsBaseURL)]
    pub fn set_ws_base_url(&self, url: String) {
        self.client.state.borrow_mut().session.set_ws_base_url(url);
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

impl StreamChat {
    fn begin_connect(
        &self,
        user: JsValue,
        token_or_provider: JsValue,
    ) -> Result<Promise, ChatError> {
        let user_id = get(&user, "id").and_then(|id| id.as_string());
        if let (Some(call), Some(id)) = (&self.client.state.borrow().connect, &user_id) {
            if call.user_id == *id {
                return Ok(call.promise.clone());
            }
            return Err(ChatError::AlreadyConnected { current: call.user_id.clone() });
        }
        let user_json: String = if user.is_object() {
            JSON::stringify(&user).ok().and_then(|json| json.as_string()).unwrap_or_default()
        } else {
            String::new()
        };
        check_user(user_id.as_deref(), user_json.len())?;
        let user_id = user_id.unwrap_or_default();
        let (token, provider) = if let Some(token) = token_or_provider.as_string() {
            check_token(&token, &user_id)?;
            (Some(token), None)
        } else if let Some(provider) = token_or_provider.dyn_ref::<Function>() {
            (None, Some(provider.clone()))
        } else {
            return Err(ChatError::MissingToken);
        };
        {
            let mut state = self.client.state.borrow_mut();
            state.session.use_token_provider(provider.is_some());
            state.token_provider = provider;
        }
        let request = ConnectRequest { user_id, user_json, token };
        Ok(self.client.start_connect(user, request))
    }
}

/// `(type, handler)` or `(handler)` → the type (`None` for every event) and the handler.
fn listener_args(
    first: JsValue,
    second: Option<JsValue>,
) -> Result<(Option<String>, Function), JsValue> {
    let (kind, handler) = match first.as_string() {
        Some(kind) => (Some(kind).filter(|kind| kind != "all"), second.unwrap_or_default()),
        None => (None, first),
    };
    let handler = handler
        .dyn_into::<Function>()
        .map_err(|_| js_sys::TypeError::new("handler must be a function"))?;
    Ok((kind, handler))
}

fn get(object: &JsValue, key: &str) -> Option<JsValue> {
    if !object.is_object() {
        return None;
    }
    Reflect::get(object, &key.into()).ok().filter(|value| !value.is_undefined() && !value.is_null())
}

fn string_option(object: &JsValue, key: &str) -> Option<String> {
    get(object, key).and_then(|value| value.as_string())
}

fn number_option(object: &JsValue, key: &str) -> Option<f64> {
    get(object, key).and_then(|value| value.as_f64()).filter(|n| n.is_finite() && *n >= 0.0)
}

/// The JS `Error` for a [`ChatError`]: its message, `code` and `StatusCode` where the protocol has them, and
/// `isWSFailure`.
pub(crate) fn to_js_error(error: &ChatError) -> JsValue {
    let js_error = js_sys::Error::new(&error.message());
    if let Some(code) = error.code() {
        let _ = Reflect::set(&js_error, &"code".into(), &code.into());
    }
    if let Some(status) = error.status_code() {
        let _ = Reflect::set(&js_error, &"StatusCode".into(), &status.into());
    }
    let _ = Reflect::set(&js_error, &"isWSFailure".into(), &error.is_ws_failure().into());
    js_error.into()
}
