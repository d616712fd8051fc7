//! Every `#[wasm_bindgen]` item: the `StreamChat` class, argument conversions, JS errors and the TypeScript
//! declarations. Methods convert their arguments, check what can be checked without the network, and hand over
//! to the browser runtime; nothing here decides connection policy.

use alloc::borrow::ToOwned;
use alloc::rc::Rc;
use alloc::string::String;

use js_sys::{Function, Object, Promise, Reflect, JSON};
use stream_chat_protocol::token::dev_token;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use crate::browser::client::{Client, Done, RestConfig};
use crate::client::session::{ws_base_url, ConnectRequest};
use crate::client::user::{check_token, check_user};
use crate::client::{ChatError, SessionConfig};

/// The hosted service's REST base URL, the default `baseURL`.
const DEFAULT_BASE_URL: &str = "https://chat.stream-io-api.com";
/// The default REST timeout, in milliseconds.
const DEFAULT_TIMEOUT_MS: u32 = 3_000;
/// How long `connectUser` keeps trying to open the first connection (the official client's 15 s).
const CONNECT_TIMEOUT_MS: u32 = 15_000;
/// With `enableWSFallback`: how long a WebSocket may go without its first frame before the SDK falls back to
/// long-poll (the official client waits 6 s).
const WS_FALLBACK_TIMEOUT_MS: u32 = 2_000;
/// With `enableWSFallback`: the first interval between WebSocket probes while on long-poll.
const PROBE_INTERVAL_MS: u32 = 5_000;
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
  /** Fall back to long-polling when a WebSocket cannot be established (network failure, not a refusal). */
  enableWSFallback?: boolean;
  /** With `enableWSFallback`: ms a WebSocket may go without its first frame before falling back. Default 2000. */
  wsFallbackTimeout?: number;
  /** With `enableWSFallback`: ms before the first WebSocket probe while on long-poll; doubles to 60 s. Default 5000. */
  wsProbeInterval?: number;
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
  /** On `transport.changed`: the transport now in use. */
  mode?: 'websocket' | 'longpoll';
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

/** Custom channel data for `client.channel(type, id, data)`; `members` on creation. */
export interface ChannelData {
  name?: string;
  image?: string;
  members?: string[];
  [custom: string]: unknown;
}

/** A message as the server returns it. */
export interface MessageResponse {
  id: string;
  text: string;
  type: string;
  cid: string;
  user: UserObject;
  created_at: string;
  updated_at: string;
  attachments: unknown[];
  [field: string]: unknown;
}

/** What `sendMessage` takes; `id` is generated when absent. */
export interface MessageInput {
  text?: string;
  id?: string;
  attachments?: unknown[];
  [custom: string]: unknown;
}

/** One member's read state. */
export interface ReadState {
  user: UserObject;
  last_read: string;
  last_read_message_id: string | null;
  unread_messages: number;
}

/** `channel.state`: a fresh snapshot on every read. */
export interface ChannelState {
  messages: MessageResponse[];
  read: Record<string, ReadState>;
  typing: Record<string, Event>;
  watchers: Record<string, { id: string }>;
  watcher_count: number;
  unreadCount: number;
}

/** The server's answer to a channel query. */
export interface ChannelResponse {
  channel: {
    id: string;
    cid: string;
    type: string;
    config: { typing_events: boolean; read_events: boolean; [setting: string]: unknown };
    own_capabilities: string[];
    [field: string]: unknown;
  };
  members: { user_id: string; user: UserObject; [field: string]: unknown }[];
  messages: MessageResponse[];
  read: ReadState[];
  watcher_count: number;
  watchers: { id: string }[];
  duration: string;
}

export interface ChannelQueryOptions {
  messages?: { limit?: number; id_lt?: string };
  watch?: boolean;
  state?: boolean;
  [option: string]: unknown;
}

type Condition = string | { $in: string[] } | { $eq: string };
export interface ChannelFilters {
  cid?: Condition;
  members?: Condition;
  type?: Condition;
}
export type ChannelSort = Record<string, 1 | -1> | Record<string, 1 | -1>[];
export interface ChannelOptions {
  limit?: number;
  offset?: number;
  watch?: boolean;
  message_limit?: number;
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
        let ws_base_url = ws_base_url(&base_url);
        let config = SessionConfig {
            start_with_longpoll: false,
            ws_base_url,
            api_key: key.clone(),
            user_agent: USER_AGENT.into(),
            connect_timeout_ms: CONNECT_TIMEOUT_MS,
            base_url: base_url.clone(),
            fallback: enable_ws_fallback,
            ws_fallback_timeout_ms: number_option(&options, "wsFallbackTimeout")
                .map_or(WS_FALLBACK_TIMEOUT_MS, |ms| ms as u32),
            probe_interval_ms: number_option(&options, "wsProbeInterval")
                .map_or(PROBE_INTERVAL_MS, |ms| ms as u32),
        };
        StreamChat {
            client: Client::new(
                config,
                RestConfig {
                    base_url: base_url.clone(),
                    api_key: key.clone(),
                    timeout_ms: timeout,
                },
                logger,
            ),
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
        subscribe(&self.client, None, kind, handler)
    }

    /// Removes a handler added with `on` for the same type (or for every event).
    pub fn off(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: Option<JsValue>,
    ) -> Result<(), JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        self.client.remove_handler(None, kind.as_deref(), &handler);
        Ok(())
    }

    /// The channel object for `type` and `id` (the same object for the same cid), or for a channel known by its
    /// members: `channel(type, {members})`. Nothing is sent until `watch()` or `query()`.
    #[wasm_bindgen(unchecked_return_type = "Channel")]
    pub fn channel(
        &self,
        #[wasm_bindgen(js_name = channelType)] channel_type: String,
        #[wasm_bindgen(js_name = channelIdOrData, unchecked_optional_param_type = "string | ChannelData")]
        id_or_data: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelData")] data: Option<JsValue>,
    ) -> JsValue {
        let id_or_data = id_or_data.unwrap_or_default();
        let (id, data) = match id_or_data.as_string() {
            Some(id) => (Some(id), data.unwrap_or_default()),
            None => (None, id_or_data),
        };
        let client = self.client.clone();
        self.client.channel(channel_type, id, data, |key| channel_object(client, key))
    }

    /// Channels matching `filter` (`cid`, `members`, `type` with `$in`), sorted (`{last_message_at: -1}`), with
    /// their state; watched unless `options.watch` is false. Waits for the connection.
    #[wasm_bindgen(js_name = queryChannels, unchecked_return_type = "Promise<Channel[]>")]
    pub fn query_channels(
        &self,
        #[wasm_bindgen(unchecked_param_type = "ChannelFilters")] filter: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelSort")] sort: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelOptions")] options: Option<JsValue>,
    ) -> Promise {
        self.client.query_channels(&filter, &sort.unwrap_or_default(), &options.unwrap_or_default())
    }

    /// The connected user: the object given to `connectUser`, then the server's `me`.
    #[wasm_bindgen(getter, unchecked_return_type = "OwnUserResponse | UserObject | undefined")]
    pub fn user(&self) -> JsValue {
        self.client.state.borrow().user.clone()
    }

    /// The connected user's id.
    #[wasm_bindgen(getter = userID, unchecked_return_type = "string | undefined")]
    pub fn user_id(&self) -> JsValue {
        optional(self.client.state.borrow().connect.as_ref().map(|call| call.user_id.as_str()))
    }

    /// The server's id for the open connection.
    #[wasm_bindgen(getter = connectionId, unchecked_return_type = "string | undefined")]
    pub fn connection_id(&self) -> JsValue {
        optional(self.client.state.borrow().session.connection_id())
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
        {
            // Decided per connect, for the WebSocket URL in use now (it can be reassigned after construction).
            let mut state = self.client.state.borrow_mut();
            let url = state.session.config().ws_base_url.clone();
            let remembered =
                self.enable_ws_fallback && crate::browser::client::websocket_failed_recently(&url);
            state.session.set_start_with_longpoll(remembered);
        }
        let request = ConnectRequest { user_id, user_json, token };
        Ok(self.client.start_connect(user, request))
    }
}

/// A chat channel, from `client.channel(…)`. Same API as the official client's `Channel`.
#[wasm_bindgen]
#[derive(Debug)]
pub struct Channel {
    /// The client it belongs to.
    client: Rc<Client>,
    /// Its slot in the client's channel registry.
    key: u32,
}

/// A new JS `Channel` object for slot `key`.
pub(crate) fn channel_object(client: Rc<Client>, key: u32) -> JsValue {
    Channel { client, key }.into()
}

#[wasm_bindgen]
impl Channel {
    /// Creates the channel if needed, returns its state and subscribes to its events. Waits for the connection.
    #[wasm_bindgen(unchecked_return_type = "Promise<ChannelResponse>")]
    pub fn watch(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelQueryOptions")] options: Option<
            JsValue,
        >,
    ) -> Promise {
        self.client.query(self.key, &options.unwrap_or_default(), true)
    }

    /// Creates the channel if needed and returns its state, without watching unless `options.watch`.
    #[wasm_bindgen(unchecked_return_type = "Promise<ChannelResponse>")]
    pub fn query(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelQueryOptions")] options: Option<
            JsValue,
        >,
    ) -> Promise {
        let options = options.unwrap_or_default();
        let watch = crate::browser::channels::get(&options, "watch").is_truthy();
        self.client.query(self.key, &options, watch)
    }

    /// Stops watching: no more events from this channel.
    #[wasm_bindgen(js_name = stopWatching)]
    pub fn stop_watching(&self) -> Promise {
        self.client.channel_call(
            self.key,
            "stop-watching",
            &Object::new(),
            true,
            Done::StopWatching { key: self.key },
        )
    }

    /// Sends a message. It gets a client-generated id unless it has one, so a retry never duplicates it.
    #[wasm_bindgen(js_name = sendMessage, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn send_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageInput")] message: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: Option<
            JsValue,
        >,
    ) -> Promise {
        let message =
            Object::assign(&Object::new(), &message.dyn_into::<Object>().unwrap_or_default());
        if Reflect::get(&message, &"id".into()).map_or(true, |id| id.is_undefined() || id.is_null())
        {
            let _ = Reflect::set(&message, &"id".into(), &crate::browser::client::uuid().into());
        }
        let body = Object::assign(
            &Object::new(),
            &options.unwrap_or_default().dyn_into::<Object>().unwrap_or_default(),
        );
        let _ = Reflect::set(&body, &"message".into(), &message);
        self.client.channel_call(self.key, "message", &body, false, Done::Plain)
    }

    /// Sends an event (`typing.start` / `typing.stop`).
    #[wasm_bindgen(js_name = sendEvent)]
    pub fn send_event(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ type: string; parent_id?: string }")]
        event: JsValue,
    ) -> Promise {
        let body = Object::new();
        let _ = Reflect::set(&body, &"event".into(), &event);
        self.client.channel_call(self.key, "event", &body, true, Done::Plain)
    }

    /// Call on every keystroke: sends `typing.start` at most every 2 s; `typing.stop` follows about a second after
    /// the last keystroke. Sends nothing when the user's typing indicators are off.
    pub fn keystroke(&self) -> Promise {
        self.client.keystroke(self.key)
    }

    /// Sends `typing.stop` now, if the user was typing.
    #[wasm_bindgen(js_name = stopTyping)]
    pub fn stop_typing(&self) -> Promise {
        self.client.stop_typing(self.key)
    }

    /// Marks the channel read. With read receipts off the server keeps it to the user's own state.
    #[wasm_bindgen(js_name = markRead)]
    pub fn mark_read(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "{ message_id?: string }")] data: Option<
            JsValue,
        >,
    ) -> Promise {
        self.client.mark_read(self.key, &data.unwrap_or_default())
    }

    /// `on(type, handler)` or `on(handler)` for this channel's events; returns the unsubscribe function.
    #[wasm_bindgen(unchecked_return_type = "Unsubscribe")]
    pub fn on(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: Option<JsValue>,
    ) -> Result<JsValue, JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        subscribe(&self.client, Some(self.key), kind, handler)
    }

    /// Removes a handler added with `on`.
    pub fn off(
        &self,
        #[wasm_bindgen(js_name = eventOrHandler, unchecked_param_type = "string | EventHandler")]
        event_or_handler: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "EventHandler")] handler: Option<JsValue>,
    ) -> Result<(), JsValue> {
        let (kind, handler) = listener_args(event_or_handler, handler)?;
        self.client.remove_handler(Some(self.key), kind.as_deref(), &handler);
        Ok(())
    }

    /// The channel's state now: messages (ordered, one per id), read (by user id), typing (by user id), watchers,
    /// watcher_count and unreadCount. A fresh object on every read.
    #[wasm_bindgen(getter, unchecked_return_type = "ChannelState")]
    pub fn state(&self) -> JsValue {
        self.client.channel_state(self.key)
    }

    /// Unread messages for the own user.
    #[wasm_bindgen(js_name = countUnread)]
    pub fn count_unread(&self) -> u32 {
        let state = self.client.channel_state(self.key);
        crate::browser::channels::number(&state, "unreadCount").unwrap_or(0)
    }

    /// `type:id`, once the id is known.
    #[wasm_bindgen(getter, unchecked_return_type = "string | undefined")]
    pub fn cid(&self) -> JsValue {
        optional(
            self.client.state.borrow_mut().slot(self.key).and_then(|slot| slot.cid()).as_deref(),
        )
    }

    /// The channel id, once known.
    #[wasm_bindgen(getter, unchecked_return_type = "string | undefined")]
    pub fn id(&self) -> JsValue {
        optional(self.client.state.borrow_mut().slot(self.key).and_then(|slot| slot.id.as_deref()))
    }

    /// The channel type.
    #[wasm_bindgen(getter, js_name = type, unchecked_return_type = "string")]
    pub fn kind(&self) -> JsValue {
        optional(self.client.state.borrow_mut().slot(self.key).map(|slot| slot.kind.as_str()))
    }

    /// Whether `watch()` or `query()` succeeded.
    #[wasm_bindgen(getter)]
    pub fn initialized(&self) -> bool {
        self.client.state.borrow_mut().slot(self.key).is_some_and(|slot| slot.initialized)
    }

    /// The server's channel object: custom data, `config`, `own_capabilities`.
    #[wasm_bindgen(getter)]
    pub fn data(&self) -> JsValue {
        self.client
            .state
            .borrow_mut()
            .slot(self.key)
            .map_or(JsValue::UNDEFINED, |slot| slot.channel.clone())
    }
}

/// Registers a handler on the client (`channel` `None`) or a channel; returns a function that removes it and
/// also has an `unsubscribe` method, as the official client's return value does.
fn subscribe(
    client: &Rc<Client>,
    channel: Option<u32>,
    kind: Option<String>,
    handler: Function,
) -> Result<JsValue, JsValue> {
    let id = client.add_listener(channel, kind, handler);
    let client = Rc::downgrade(client);
    let unsubscribe = Closure::<dyn FnMut()>::new(move || {
        if let Some(client) = client.upgrade() {
            client.remove_listener(channel, id);
        }
    })
    .into_js_value();
    Reflect::set(&unsubscribe, &"unsubscribe".into(), &unsubscribe)?;
    Ok(unsubscribe)
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
    Some(crate::browser::channels::get(object, key))
        .filter(|value| !value.is_undefined() && !value.is_null())
}

/// A string, or `undefined`.
fn optional(value: Option<&str>) -> JsValue {
    value.map_or(JsValue::UNDEFINED, JsValue::from)
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
