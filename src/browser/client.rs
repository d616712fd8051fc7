//! One client's browser runtime: the state behind a JS `StreamChat` object and the session loop that owns the
//! order of everything. JS methods and browser callbacks send signals; [`Client::receive`] handles them one at a
//! time, in order.
//!
//! Ownership: the JS object holds the only strong `Rc<Client>`; callbacks hold a [`Port`] (a `Weak`). Dropping the
//! JS object drops the client, which closes its socket, cancels its timers and detaches its `online` listener.

use alloc::borrow::ToOwned;
use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::{Date, Function, Object, Promise, Reflect, JSON};
use stream_chat_protocol::event::{
    CONNECTION_CHANGED, CONNECTION_RECOVERED, HEALTH_CHECK, TRANSPORT_CHANGED,
};
use stream_chat_protocol::ErrorBody;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::channels::{get, object, text, Slot};
use super::http::{self, push_param, Exchange, Outgoing};
use super::inbox::{Inbox, Port};
use super::listeners::Listeners;
use super::longpoll::{LongPoll, Target};
use super::socket::Socket;
use super::timers::{Timeout, Timers};
use super::Signal;
use crate::client::id::uuid_v4;
use crate::client::session::{ConnectRequest, Frame};
use crate::client::{
    ChatError, Effect, Entropy, Input, LocalEvent, Session, SessionConfig, Transport,
};

/// A Rust callback for a browser event.
type Listener = Closure<dyn FnMut()>;

/// A Rust callback JS calls with one value.
type JsCallback = Closure<dyn FnMut(JsValue)>;

/// The `connectUser` call in progress or settled, until `disconnectUser`.
#[derive(Debug)]
pub struct ConnectCall {
    /// Whose connection it is; a second call for the same user gets the same promise.
    pub user_id: String,
    /// The promise every such call returns.
    pub promise: Promise,
    /// Settles the promise; `None` once settled.
    settle: Option<(Function, Function)>,
}

/// What to do with a REST call's answer besides settling its promise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Nothing.
    Plain,
    /// A channel query: rebuild the channel's state; `watch` marks it watched.
    Query {
        /// The channel's slot.
        key: u32,
        /// Whether the query watched.
        watch: bool,
    },
    /// `stopWatching()`.
    StopWatching {
        /// The channel's slot.
        key: u32,
    },
    /// `queryChannels()`: rebuild each channel's state; resolves with the channel objects.
    QueryChannels {
        /// Whether the query watched.
        watch: bool,
    },
    /// The re-query after a reconnect; reports [`Input::Recovered`] when applied.
    Recovery,
}

/// A REST call from submission to settlement.
#[derive(Debug)]
struct Call {
    /// Its number in the session's eyes.
    id: u32,
    /// Path below the base URL.
    path: String,
    /// JSON body.
    body: String,
    /// Resolve and reject of its promise (`None` for calls nobody awaits, like an automatic typing stop).
    settle: Option<(Function, Function)>,
    /// What the answer updates.
    done: Done,
    /// The answer, once it came: status and parsed body.
    response: Option<(u16, JsValue)>,
    /// The fetch in flight.
    exchange: Option<Exchange>,
}

/// Where REST calls go.
#[derive(Debug, Clone)]
pub struct RestConfig {
    /// The REST base URL, without a trailing slash.
    pub base_url: String,
    /// The app's API key.
    pub api_key: String,
    /// Per-call timeout in milliseconds.
    pub timeout_ms: u32,
}

/// Everything the loop and the JS methods share, behind the one `RefCell`.
#[derive(Debug)]
pub struct State {
    /// The sans-I/O connection state machine.
    pub session: Session,
    /// The current `connectUser` call.
    pub connect: Option<ConnectCall>,
    /// `client.user`: the object given to `connectUser`, replaced by the server's `me`.
    pub user: JsValue,
    /// The app's token provider, when it gave one.
    pub token_provider: Option<Function>,
    /// `(level, message, extra)`, from the `logger` option.
    pub logger: Option<Function>,
    /// Where REST calls go.
    pub rest: RestConfig,
    /// The channels `client.channel()` handed out.
    pub channels: Vec<Slot>,
    /// The key the next channel slot gets.
    next_key: u32,
    /// REST calls not settled yet.
    calls: Vec<Call>,
    /// The number the next REST call gets.
    next_call: u32,
    /// The connection, whatever its transport.
    socket: Option<Connection>,
    /// A WebSocket probe while on long-poll.
    probe: Option<Socket>,
    /// Requests of closed long-poll transports still in flight, by tag: kept until each settles, so no callback
    /// runs after being dropped.
    closing: Vec<(u32, Exchange)>,
    /// Running timers.
    timers: Timers,
    /// The typing cleaner, while some channel has typing to expire or stop.
    cleaner: Option<Timeout>,
    /// Handlers registered with `client.on`.
    listeners: Listeners,
    /// Forward the window's `online` and `offline` events; detached on drop.
    on_network: Option<(Listener, Listener)>,
    /// The token provider's answer callbacks (fulfilled, rejected), kept alive until the next request.
    token_callbacks: Option<(JsCallback, JsCallback)>,
}

impl State {
    /// The slot with `key`.
    pub fn slot(&mut self, key: u32) -> Option<&mut Slot> {
        self.channels.iter_mut().find(|slot| slot.key == key)
    }

    /// Whether the own user lets typing events go out (`privacy_settings.typing_indicators.enabled`, on unless
    /// switched off). `client.user` is the server's `me` once connected, so the server's view wins.
    fn typing_allowed(&self) -> bool {
        let setting =
            get(&get(&get(&self.user, "privacy_settings"), "typing_indicators"), "enabled");
        setting.as_bool() != Some(false)
    }
}

/// A client: its state and the inbox its loop reads.
#[derive(Debug)]
pub struct Client {
    /// Signals waiting for the loop.
    inbox: Inbox,
    /// A weak handle to this client, cloned into every callback.
    port: Port,
    /// The shared state; borrowed only for short, non-reentrant sections (never while calling into JS).
    pub state: RefCell<State>,
}

/// Randomness from the browser.
struct BrowserEntropy;

impl Entropy for BrowserEntropy {
    fn random(&mut self) -> f64 {
        js_sys::Math::random()
    }

    fn uuid(&mut self) -> String {
        let mut bytes = [0u8; 16];
        for byte in &mut bytes {
            *byte = (js_sys::Math::random() * 256.0) as u8;
        }
        uuid_v4(bytes)
    }
}

/// A fresh v4 uuid from the browser's randomness (client-side message ids).
pub fn uuid() -> String {
    BrowserEntropy.uuid()
}

impl Client {
    /// A client with `config`, listening for the browser's `online` event.
    pub fn new(config: SessionConfig, rest: RestConfig, logger: Option<Function>) -> Rc<Client> {
        Rc::new_cyclic(|weak| {
            let port = Port(weak.clone());
            let (online, offline) = (port.clone(), port.clone());
            let on_online: Closure<dyn FnMut()> =
                Closure::new(move || online.send(Signal::Input(Input::Online)));
            let on_offline: Closure<dyn FnMut()> =
                Closure::new(move || offline.send(Signal::Input(Input::Offline)));
            if let Some(window) = web_sys::window() {
                let _ = window
                    .add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
                let _ = window.add_event_listener_with_callback(
                    "offline",
                    on_offline.as_ref().unchecked_ref(),
                );
            }
            Client {
                inbox: Inbox::default(),
                port,
                state: RefCell::new(State {
                    session: Session::new(config),
                    connect: None,
                    user: JsValue::UNDEFINED,
                    token_provider: None,
                    logger,
                    rest,
                    channels: Vec::new(),
                    next_key: 0,
                    calls: Vec::new(),
                    next_call: 0,
                    socket: None,
                    probe: None,
                    closing: Vec::new(),
                    timers: Timers::default(),
                    cleaner: None,
                    listeners: Listeners::default(),
                    on_network: Some((on_online, on_offline)),
                    token_callbacks: None,
                }),
            }
        })
    }

    /// The session loop: queues `signal` and, unless the loop is already running further up the stack, handles
    /// every queued signal in order.
    pub fn receive(&self, signal: Signal) {
        if self.inbox.push(signal) {
            while let Some(signal) = self.inbox.pop() {
                self.handle(signal);
            }
        }
    }

    /// Starts a `connectUser` call that passed validation; returns its promise.
    pub fn start_connect(&self, user: JsValue, request: ConnectRequest) -> Promise {
        let (promise, settle) = promise();
        let mut state = self.state.borrow_mut();
        state.user = user;
        state.connect = Some(ConnectCall {
            user_id: request.user_id.clone(),
            promise: promise.clone(),
            settle: Some(settle),
        });
        drop(state);
        self.receive(Signal::Input(Input::Connect(request)));
        promise
    }

    /// `disconnectUser`: rejects a pending `connectUser`, then closes the connection (after whatever the loop is
    /// handling, if called from an event handler). Channels are forgotten.
    pub fn disconnect(&self) {
        let pending = {
            let mut state = self.state.borrow_mut();
            state.user = JsValue::UNDEFINED;
            state.token_provider = None;
            state.channels.clear();
            state.cleaner = None;
            state.connect.take().and_then(|call| call.settle)
        };
        if let Some((_, reject)) = pending {
            let _ = reject.call1(&JsValue::NULL, &crate::js::to_js_error(&ChatError::Disconnected));
        }
        self.receive(Signal::Input(Input::Disconnect));
    }

    /// Registers `handler` for `kind` (`None`: every event) on the client, or on the channel `key`.
    pub fn add_listener(
        &self,
        channel: Option<u32>,
        kind: Option<String>,
        handler: Function,
    ) -> u32 {
        let mut state = self.state.borrow_mut();
        match channel {
            Some(key) => state.slot(key).map_or(0, |slot| slot.listeners.add(kind, handler)),
            None => state.listeners.add(kind, handler),
        }
    }

    /// Removes the handler with `id` from the client, or from the channel `key`.
    pub fn remove_listener(&self, channel: Option<u32>, id: u32) {
        let mut state = self.state.borrow_mut();
        match channel {
            Some(key) => state.slot(key).into_iter().for_each(|slot| slot.listeners.remove(id)),
            None => state.listeners.remove(id),
        }
    }

    /// Removes handlers of `kind` that are `handler`, from the client or from the channel `key`.
    pub fn remove_handler(&self, channel: Option<u32>, kind: Option<&str>, handler: &JsValue) {
        let mut state = self.state.borrow_mut();
        match channel {
            Some(key) => state
                .slot(key)
                .into_iter()
                .for_each(|slot| slot.listeners.remove_handler(kind, handler)),
            None => state.listeners.remove_handler(kind, handler),
        }
    }

    /// The channel object for `kind`/`id` (one per cid), made by `make(key)` the first time.
    pub fn channel(
        &self,
        kind: String,
        id: Option<String>,
        data: JsValue,
        make: impl FnOnce(u32) -> JsValue,
    ) -> JsValue {
        let mut state = self.state.borrow_mut();
        if let Some(slot) =
            state.channels.iter().find(|slot| id.is_some() && slot.kind == kind && slot.id == id)
        {
            return slot.object.clone();
        }
        state.next_key += 1;
        let key = state.next_key;
        let mut slot = Slot::new(key, kind, id, data);
        slot.object = make(key);
        let object = slot.object.clone();
        state.channels.push(slot);
        object
    }

    /// Submits a REST call: `POST path` with `body`; it waits for the connection if there is none yet.
    pub fn submit(&self, path: String, body: &JsValue, done: Done) -> Promise {
        let (promise, settle) = promise();
        self.submit_with(path, body, done, Some(settle));
        promise
    }

    fn submit_with(
        &self,
        path: String,
        body: &JsValue,
        done: Done,
        settle: Option<(Function, Function)>,
    ) {
        let body =
            JSON::stringify(body).ok().and_then(|b| b.as_string()).unwrap_or_else(|| "{}".into());
        let id = {
            let mut state = self.state.borrow_mut();
            state.next_call += 1;
            let id = state.next_call;
            state.calls.push(Call { id, path, body, settle, done, response: None, exchange: None });
            id
        };
        self.receive(Signal::Input(Input::Submit { request: id }));
    }

    /// A channel call: rejects at once when the channel has no id yet, or (for `initialized`) was never queried.
    pub fn channel_call(
        &self,
        key: u32,
        action: &str,
        body: &JsValue,
        initialized: bool,
        done: Done,
    ) -> Promise {
        let path = {
            let mut state = self.state.borrow_mut();
            let Some(slot) = state.slot(key) else { return Promise::resolve(&JsValue::UNDEFINED) };
            match slot.id.clone() {
                Some(id) if slot.initialized || !initialized => {
                    channel_path(&slot.kind, Some(&id), action)
                }
                _ => {
                    let cid = slot.cid().unwrap_or_else(|| slot.kind.clone());
                    return Promise::reject(&crate::js::to_js_error(&ChatError::NotInitialized {
                        cid,
                    }));
                }
            }
        };
        self.submit(path, body, done)
    }

    /// `watch()` (with `watch`) or `query()`: get or create the channel and rebuild its state.
    pub fn query(&self, key: u32, options: &JsValue, watch: bool) -> Promise {
        let (path, body) = {
            let mut state = self.state.borrow_mut();
            let Some(slot) = state.slot(key) else { return Promise::resolve(&JsValue::UNDEFINED) };
            let base = object(&[
                (
                    "data",
                    if slot.data.is_object() { slot.data.clone() } else { Object::new().into() },
                ),
                ("state", true.into()),
                ("watch", watch.into()),
                ("presence", false.into()),
            ]);
            let body = Object::assign(base.unchecked_ref(), &to_object(options));
            (channel_path(&slot.kind, slot.id.as_deref(), "query"), body)
        };
        self.submit(path, &body, Done::Query { key, watch })
    }

    /// `queryChannels(filter, sort, options)`.
    pub fn query_channels(&self, filter: &JsValue, sort: &JsValue, options: &JsValue) -> Promise {
        let watch = get(options, "watch").as_bool() != Some(false);
        let base = object(&[
            ("filter_conditions", to_object(filter).into()),
            ("sort", sort_list(sort)),
            ("state", true.into()),
            ("watch", watch.into()),
            ("presence", false.into()),
        ]);
        let body = Object::assign(base.unchecked_ref(), &to_object(options));
        self.submit("/channels".into(), &body, Done::QueryChannels { watch })
    }

    /// `keystroke()`: sends `typing.start` at most every 2 s, and only where typing is allowed.
    pub fn keystroke(&self, key: u32) -> Promise {
        let send = {
            let mut state = self.state.borrow_mut();
            let allowed = state.typing_allowed();
            let now = Date::now();
            match state.slot(key) {
                Some(slot) if allowed && slot.initialized && slot.config("typing_events") => {
                    slot.own_typing.keystroke(now)
                }
                _ => return Promise::resolve(&JsValue::UNDEFINED),
            }
        };
        self.schedule_cleaner();
        if !send {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        self.typing_event(key, "typing.start", true)
    }

    /// `stopTyping()`: sends `typing.stop` if the own user was typing, and only where typing is allowed.
    pub fn stop_typing(&self, key: u32) -> Promise {
        let send = {
            let mut state = self.state.borrow_mut();
            let allowed = state.typing_allowed();
            match state.slot(key) {
                Some(slot) => slot.own_typing.stop() && allowed,
                None => false,
            }
        };
        if !send {
            return Promise::resolve(&JsValue::UNDEFINED);
        }
        self.typing_event(key, "typing.stop", true)
    }

    fn typing_event(&self, key: u32, kind: &str, awaited: bool) -> Promise {
        let body = object(&[("event", object(&[("type", kind.into())]))]);
        if awaited {
            return self.channel_call(key, "event", &body, true, Done::Plain);
        }
        let path = self.state.borrow_mut().slot(key).and_then(|slot| {
            slot.id.clone().map(|id| channel_path(&slot.kind, Some(&id), "event"))
        });
        if let Some(path) = path {
            self.submit_with(path, &body, Done::Plain, None);
        }
        Promise::resolve(&JsValue::UNDEFINED)
    }

    /// `markRead()`: only on channels whose config has read events (as the official client).
    pub fn mark_read(&self, key: u32, data: &JsValue) -> Promise {
        let enabled = self
            .state
            .borrow_mut()
            .slot(key)
            .is_none_or(|slot| !slot.initialized || slot.config("read_events"));
        if !enabled {
            return Promise::resolve(&JsValue::NULL);
        }
        self.channel_call(key, "read", &to_object(data).into(), true, Done::Plain)
    }

    /// `channel.state` of the channel `key`.
    pub fn channel_state(&self, key: u32) -> JsValue {
        self.state.borrow_mut().slot(key).map_or(JsValue::UNDEFINED, |slot| slot.state_object())
    }

    /// Arms the typing cleaner unless it runs.
    fn schedule_cleaner(&self) {
        let mut state = self.state.borrow_mut();
        if state.cleaner.is_none() {
            let port = self.port.clone();
            state.cleaner =
                Some(Timeout::new(CLEAN_INTERVAL_MS, Box::new(move || port.send(Signal::Clean))));
        }
    }

    /// Expires remote typing (emitting local `typing.stop` events) and stops the own typing that went quiet.
    fn clean(&self) {
        let now = Date::now();
        let (expired, stops, busy) = {
            let mut state = self.state.borrow_mut();
            state.cleaner = None;
            let mut expired = Vec::new();
            let mut stops = Vec::new();
            let mut busy = false;
            for slot in &mut state.channels {
                let cid = slot.cid().unwrap_or_default();
                expired.extend(
                    slot.expire_typing(now).into_iter().map(|user| (slot.key, cid.clone(), user)),
                );
                if slot.own_typing.tick(now) {
                    stops.push(slot.key);
                }
                busy |= slot.own_typing.is_typing() || !slot.state.typing.is_empty();
            }
            (expired, stops, busy)
        };
        for (key, cid, user) in expired {
            let event = object(&[
                ("type", "typing.stop".into()),
                ("cid", cid.into()),
                ("user", object(&[("id", user.into())])),
            ]);
            self.dispatch(Some(key), "typing.stop", &event);
        }
        let allowed = self.state.borrow().typing_allowed();
        for key in stops.into_iter().filter(|_| allowed) {
            let _ = self.typing_event(key, "typing.stop", false);
        }
        if busy {
            self.schedule_cleaner();
        }
    }

    fn handle(&self, signal: Signal) {
        let (input, frame) = match signal {
            Signal::Input(input) => (input, JsValue::UNDEFINED),
            Signal::Message { socket, text } => {
                let Ok(raw) = JSON::parse(&text) else {
                    self.log("warn", "ignoring a frame that is not JSON");
                    return;
                };
                (Input::Frame { socket, frame: read_frame(&raw) }, raw)
            }
            Signal::Response { request, status, body } => {
                let expired =
                    !(200..300).contains(&status) && get(&body, "code").as_f64() == Some(40.0);
                let mut state = self.state.borrow_mut();
                if let Some(call) = state.calls.iter_mut().find(|call| call.id == request) {
                    call.response = Some((status, body));
                    call.exchange = None;
                }
                (Input::Answered { request, expired }, JsValue::UNDEFINED)
            }
            Signal::Clean => return self.clean(),
            Signal::Event { socket, raw } => {
                (Input::Frame { socket, frame: read_frame(&raw) }, raw)
            }
            Signal::Polled { tag, status, body } => {
                let port = self.port.clone();
                let mut state = self.state.borrow_mut();
                match &mut state.socket {
                    Some(Connection::LongPoll(transport)) if transport.owns(tag) => {
                        transport.answered(status, &body, &port)
                    }
                    // A request of a closed transport settled: now its callbacks may go.
                    _ => state.closing.retain(|(own, _)| *own != tag),
                }
                return;
            }
        };
        let effects = self.state.borrow_mut().session.handle(input, &mut BrowserEntropy);
        for effect in effects {
            self.apply(effect, &frame);
        }
    }

    fn apply(&self, effect: Effect, frame: &JsValue) {
        match effect {
            Effect::LoadToken { request } => self.load_token(request),
            Effect::OpenSocket { socket, url, transport: Transport::WebSocket, .. } => {
                self.log("info", "connection: opening WebSocket");
                match Socket::open(&url, socket, &self.port) {
                    Ok(opened) => {
                        self.state.borrow_mut().socket = Some(Connection::WebSocket(opened))
                    }
                    // An unusable URL fails like a refused connection.
                    Err(_) => {
                        self.receive(Signal::Input(Input::SocketClosed { socket, code: 1006 }))
                    }
                }
            }
            Effect::OpenSocket { socket, url, transport: Transport::LongPoll, token } => {
                self.log("info", "connection: opening long-poll");
                let mut state = self.state.borrow_mut();
                let target = Target {
                    base_url: &state.rest.base_url,
                    api_key: &state.rest.api_key,
                    user_id: state.session.user_id().unwrap_or_default(),
                    token: &token,
                    user_agent: &state.session.config().user_agent,
                };
                let transport = LongPoll::open(&url, socket, &target, &self.port);
                state.socket = Some(Connection::LongPoll(transport));
            }
            Effect::CloseSocket { code, reason } => {
                let socket = self.state.borrow_mut().socket.take();
                match socket {
                    Some(Connection::WebSocket(socket)) => socket.close(code, reason),
                    Some(Connection::LongPoll(transport)) => {
                        let in_flight = transport.close(&self.port);
                        self.state.borrow_mut().closing.extend(in_flight);
                    }
                    None => {}
                }
            }
            Effect::Send(text) => {
                if let Some(Connection::WebSocket(socket)) = &self.state.borrow().socket {
                    socket.send(&text);
                }
            }
            Effect::OpenProbe { socket, url } => {
                self.log("info", "connection: probing the WebSocket");
                let probe = Socket::open(&url, socket, &self.port).ok();
                let failed = probe.is_none();
                self.state.borrow_mut().probe = probe;
                if failed {
                    self.receive(Signal::Input(Input::SocketClosed { socket, code: 1006 }));
                }
            }
            Effect::CloseProbe => {
                if let Some(probe) = self.state.borrow_mut().probe.take() {
                    probe.close(1000, "probe ended");
                }
            }
            Effect::PromoteProbe => {
                let mut state = self.state.borrow_mut();
                state.socket = state.probe.take().map(Connection::WebSocket);
            }
            Effect::RememberWebSocketFailure(failed) => {
                let key = ws_failure_key(&self.state.borrow().session.config().ws_base_url);
                let _ = if failed {
                    let until = Date::now() + WS_FAILURE_MEMORY_MS;
                    local_set(
                        &key,
                        &String::from(
                            js_sys::Number::from(until)
                                .to_string_with_radix(10)
                                .unwrap_or_default(),
                        ),
                    )
                } else {
                    local_remove(&key)
                };
            }
            Effect::StartTimer(timer, ms) => {
                self.state.borrow_mut().timers.start(timer, ms, &self.port)
            }
            Effect::StopTimer(timer) => self.state.borrow_mut().timers.stop(timer),
            Effect::Dispatch => self.dispatch_frame(frame),
            Effect::Emit(event) => {
                let (kind, key, value) = match event {
                    LocalEvent::ConnectionChanged { online } => {
                        (CONNECTION_CHANGED, "online", online.into())
                    }
                    LocalEvent::ConnectionRecovered => {
                        (CONNECTION_RECOVERED, "online", true.into())
                    }
                    LocalEvent::TransportChanged { transport } => {
                        let mode = match transport {
                            Transport::WebSocket => "websocket",
                            Transport::LongPoll => "longpoll",
                        };
                        (TRANSPORT_CHANGED, "mode", mode.into())
                    }
                };
                let event = object(&[("type", kind.into()), (key, value)]);
                self.log("info", &("connection: ".to_string() + kind));
                self.dispatch(None, kind, &event);
            }
            Effect::Settle(result) => self.settle(result, frame),
            Effect::Fetch { request, connection_id, token } => {
                self.fetch(request, connection_id, &token)
            }
            Effect::Finish { request } => self.finish(request),
            Effect::Fail { request, error } => {
                let call = self.take_call(request);
                if let Some((_, reject)) = call.and_then(|call| call.settle) {
                    let _ = reject.call1(&JsValue::NULL, &crate::js::to_js_error(&error));
                }
            }
            Effect::Recover => self.recover(),
        }
    }

    /// Sends REST call `request` with `fetch`.
    fn fetch(&self, request: u32, connection_id: Option<String>, token: &str) {
        let mut state = self.state.borrow_mut();
        let user_id = state.session.user_id().unwrap_or_default().to_owned();
        let rest = state.rest.clone();
        let user_agent = state.session.config().user_agent.clone();
        let Some(call) = state.calls.iter_mut().find(|call| call.id == request) else { return };
        let mut url = rest.base_url + &call.path;
        push_param(&mut url, "api_key", &rest.api_key);
        push_param(&mut url, "user_id", &user_id);
        if let Some(connection_id) = connection_id {
            push_param(&mut url, "connection_id", &connection_id);
        }
        let outgoing = Outgoing {
            method: "POST",
            url: &url,
            token,
            body: Some(&call.body),
            user_agent: &user_agent,
            timeout_ms: rest.timeout_ms,
        };
        let respond: http::Deliver =
            |request, status, body| Signal::Response { request, status, body };
        call.exchange = Some(http::send(&outgoing, request, respond, &self.port));
    }

    fn take_call(&self, request: u32) -> Option<Call> {
        let mut state = self.state.borrow_mut();
        let at = state.calls.iter().position(|call| call.id == request)?;
        Some(state.calls.remove(at))
    }

    /// Settles REST call `request` with its answer, after updating the state the answer carries.
    fn finish(&self, request: u32) {
        let Some(call) = self.take_call(request) else { return };
        let (status, body) = call.response.unwrap_or((0, JsValue::UNDEFINED));
        if !(200..300).contains(&status) {
            if call.done == Done::Recovery {
                self.log("warn", "recovery query failed");
            }
            if let Some((_, reject)) = call.settle {
                let _ = reject.call1(&JsValue::NULL, &api_error(status, &body));
            }
            return;
        }
        let value = self.apply_answer(call.done, &body);
        if let Some((resolve, _)) = call.settle {
            let _ = resolve.call1(&JsValue::NULL, &value);
        }
    }

    /// Updates channel state from a successful answer; returns what the promise resolves with.
    fn apply_answer(&self, done: Done, body: &JsValue) -> JsValue {
        match done {
            Done::Plain => body.clone(),
            Done::Query { key, watch } => {
                let mut state = self.state.borrow_mut();
                let own = state.session.user_id().unwrap_or_default().to_owned();
                if let Some(slot) = state.slot(key) {
                    slot.apply_response(body, &own);
                    slot.watching |= watch;
                }
                body.clone()
            }
            Done::StopWatching { key } => {
                if let Some(slot) = self.state.borrow_mut().slot(key) {
                    slot.watching = false;
                }
                body.clone()
            }
            Done::QueryChannels { watch } => {
                let channels = self.apply_channel_list(body, watch);
                channels.into()
            }
            Done::Recovery => {
                self.apply_channel_list(body, true);
                self.receive(Signal::Input(Input::Recovered));
                body.clone()
            }
        }
    }

    /// Applies each channel of a `POST /channels` answer to its slot (creating slots as needed); returns the
    /// channel objects in answer order.
    fn apply_channel_list(&self, body: &JsValue, watch: bool) -> js_sys::Array {
        let list = js_sys::Array::new();
        for response in js_sys::Array::from(&get(body, "channels")).iter() {
            let channel = get(&response, "channel");
            let (Some(kind), Some(id)) = (text(&channel, "type"), text(&channel, "id")) else {
                continue;
            };
            let port = self.port.clone();
            let object = self.channel(kind.clone(), Some(id.clone()), JsValue::UNDEFINED, |key| {
                port.0
                    .upgrade()
                    .map_or(JsValue::UNDEFINED, |client| crate::js::channel_object(client, key))
            });
            let mut state = self.state.borrow_mut();
            let own = state.session.user_id().unwrap_or_default().to_owned();
            if let Some(slot) =
                state.channels.iter_mut().find(|s| s.kind == kind && s.id.as_deref() == Some(&id))
            {
                slot.apply_response(&response, &own);
                slot.watching |= watch;
            }
            list.push(&object);
        }
        list
    }

    /// After a reconnect: re-query the watched channels in one `POST /channels`, or report recovery at once.
    fn recover(&self) {
        let cids: js_sys::Array = {
            let state = self.state.borrow();
            state
                .channels
                .iter()
                .filter(|slot| slot.watching)
                .filter_map(|slot| slot.cid())
                .map(JsValue::from)
                .collect()
        };
        if cids.length() == 0 {
            return self.receive(Signal::Input(Input::Recovered));
        }
        let filter = object(&[("cid", object(&[("$in", cids.into())]))]);
        let sort = object(&[("field", "last_message_at".into()), ("direction", (-1).into())]);
        let body = object(&[
            ("filter_conditions", filter),
            ("sort", js_sys::Array::of1(&sort).into()),
            ("state", true.into()),
            ("watch", true.into()),
            ("presence", false.into()),
            ("limit", 30.into()),
        ]);
        self.submit_with("/channels".into(), &body, Done::Recovery, None);
    }

    /// A server frame: `me` of a health check becomes `client.user`; a channel event updates that channel; then
    /// the client's handlers and the channel's run.
    fn dispatch_frame(&self, frame: &JsValue) {
        let _ = Reflect::set(frame, &"received_at".into(), &Date::new_0());
        let Some(kind) = text(frame, "type") else { return };
        if kind == HEALTH_CHECK {
            let me = get(frame, "me");
            if me.is_object() {
                self.state.borrow_mut().user = me;
            }
        }
        let key = text(frame, "cid").and_then(|cid| {
            let mut state = self.state.borrow_mut();
            let own = state.session.user_id().unwrap_or_default().to_owned();
            let slot =
                state.channels.iter_mut().find(|slot| slot.cid().as_deref() == Some(&cid))?;
            slot.apply_event(frame, &kind, &own, Date::now());
            Some(slot.key)
        });
        if kind == "typing.start" {
            self.schedule_cleaner();
        }
        self.dispatch(key, &kind, frame);
    }

    fn settle(&self, result: Result<(), ChatError>, frame: &JsValue) {
        let settle = {
            let mut state = self.state.borrow_mut();
            match (&result, state.connect.as_mut()) {
                (_, None) => None,
                (Ok(()), Some(call)) => call.settle.take(),
                // A failed connect forgets the user, as the official client's disconnectUser does.
                (Err(_), Some(_)) => {
                    state.user = JsValue::UNDEFINED;
                    state.token_provider = None;
                    state.connect.take().and_then(|call| call.settle)
                }
            }
        };
        let Some((resolve, reject)) = settle else { return };
        let _ = match result {
            Ok(()) => resolve.call1(&JsValue::NULL, frame),
            Err(error) => {
                self.log("warn", &("connectUser failed: ".to_string() + &error.message()));
                reject.call1(&JsValue::NULL, &crate::js::to_js_error(&error))
            }
        };
    }

    /// Calls the token provider; its answer (a string, or a promise of one) comes back as
    /// [`Input::TokenLoaded`] with `request`.
    fn load_token(&self, request: u32) {
        let answer = move |port: &Port, result| {
            port.send(Signal::Input(Input::TokenLoaded { request, result }))
        };
        let provider = self.state.borrow().token_provider.clone();
        let returned = match provider.map(|provider| provider.call0(&JsValue::NULL)) {
            Some(Ok(value)) => value,
            Some(Err(error)) => return answer(&self.port, Err(describe(&error))),
            None => return answer(&self.port, Err("no token provider".into())),
        };
        let (fulfilled, rejected) = (self.port.clone(), self.port.clone());
        let on_token: JsCallback = Closure::wrap(Box::new(move |token: JsValue| {
            let token =
                token.as_string().ok_or_else(|| "the token provider must return a string".into());
            answer(&fulfilled, token);
        }));
        let on_error: JsCallback =
            Closure::wrap(Box::new(move |error: JsValue| answer(&rejected, Err(describe(&error)))));
        let _ = Promise::resolve(&returned).then2(&on_token, &on_error);
        // Replacing the previous pair drops callbacks whose promise has settled already.
        self.state.borrow_mut().token_callbacks = Some((on_token, on_error));
    }

    /// Calls the client's handlers for `kind`, then the channel `key`'s. Handlers run with no borrow held, so they
    /// may call back into the client; one that throws is logged and does not stop the others.
    fn dispatch(&self, channel: Option<u32>, kind: &str, event: &JsValue) {
        let handlers: Vec<Function> = {
            let mut state = self.state.borrow_mut();
            let mut handlers = state.listeners.matching(kind);
            if let Some(slot) = channel.and_then(|key| state.slot(key)) {
                handlers.extend(slot.listeners.matching(kind));
            }
            handlers
        };
        for handler in handlers {
            if let Err(error) = handler.call1(&JsValue::NULL, event) {
                let message = "a ".to_string() + kind + " handler threw: " + &describe(&error);
                self.log("error", &message);
            }
        }
    }

    fn log(&self, level: &str, message: &str) {
        let logger = self.state.borrow().logger.clone();
        if let Some(logger) = logger {
            let _ = logger.call2(&JsValue::NULL, &level.into(), &message.into());
        }
    }
}

/// The connection, over either transport.
#[derive(Debug)]
enum Connection {
    /// A WebSocket.
    WebSocket(Socket),
    /// Long-poll requests.
    LongPoll(LongPoll),
}

/// How long a WebSocket failure is remembered for an origin: a day.
const WS_FAILURE_MEMORY_MS: f64 = 24.0 * 3600.0 * 1000.0;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = getItem)]
    fn local_get(key: &str) -> Result<Option<String>, JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = setItem)]
    fn local_set(key: &str, value: &str) -> Result<(), JsValue>;
    #[wasm_bindgen(catch, js_namespace = localStorage, js_name = removeItem)]
    fn local_remove(key: &str) -> Result<(), JsValue>;
}

/// The localStorage key under which a WebSocket failure for `ws_base_url` is remembered.
fn ws_failure_key(ws_base_url: &str) -> String {
    "stream-chat-wasm:ws-failed:".to_string() + ws_base_url
}

/// Whether WebSockets failed for `ws_base_url` within the last day (so a new page starts on long-poll).
pub fn websocket_failed_recently(ws_base_url: &str) -> bool {
    let until = local_get(&ws_failure_key(ws_base_url)).ok().flatten();
    // Parsed by JS: Rust's float parser would cost more bytes than this whole feature.
    until.is_some_and(|until| js_sys::Number::parse_float(&until) > Date::now())
}

/// How often the typing cleaner runs while there is typing (the official client's 500 ms).
const CLEAN_INTERVAL_MS: u32 = 500;

/// A promise and its resolve/reject.
fn promise() -> (Promise, (Function, Function)) {
    let mut settle = None;
    let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
    let settle = settle.unwrap_or_else(|| {
        (Function::from(JsValue::UNDEFINED), Function::from(JsValue::UNDEFINED))
    });
    (promise, settle)
}

/// `/channels/{type}/{id}/{action}`, or `/channels/{type}/query` for a channel known by its members.
fn channel_path(kind: &str, id: Option<&str>, action: &str) -> String {
    let mut path =
        "/channels/".to_string() + &String::from(js_sys::encode_uri_component(kind)) + "/";
    if let Some(id) = id {
        path = path + &String::from(js_sys::encode_uri_component(id)) + "/";
    }
    path + action
}

/// `value` if it is an object, else a new empty one.
fn to_object(value: &JsValue) -> Object {
    value.dyn_ref::<Object>().cloned().unwrap_or_default()
}

/// The official client's sort argument (`{field: direction}` or a list of them) as `[{field, direction}]`.
fn sort_list(sort: &JsValue) -> JsValue {
    let list = js_sys::Array::new();
    let entries: js_sys::Array = if js_sys::Array::is_array(sort) {
        js_sys::Array::from(sort)
    } else if sort.is_object() {
        js_sys::Array::of1(sort)
    } else {
        js_sys::Array::new()
    };
    for entry in entries.iter() {
        for pair in Object::entries(&to_object(&entry)).iter() {
            let pair = js_sys::Array::from(&pair);
            list.push(&object(&[("field", pair.get(0)), ("direction", pair.get(1))]));
        }
    }
    list.into()
}

/// The JS error for a failed REST call: the server's `code`, `StatusCode` and `message`, or a network error.
fn api_error(status: u16, body: &JsValue) -> JsValue {
    let code = get(body, "code").as_f64();
    let message = text(body, "message").unwrap_or_else(|| describe(body));
    let error = match code {
        Some(code) => {
            ChatError::Server(ErrorBody { message, ..error_body(body, code as i32, status) })
        }
        None if status == 0 => ChatError::Network(message),
        None => ChatError::Server(ErrorBody {
            code: -1,
            message: {
                let mut text = "HTTP ".to_string();
                stream_chat_protocol::user::push_decimal(&mut text, status.into());
                text
            },
            status_code: status,
            duration: String::new(),
            more_info: String::new(),
        }),
    };
    crate::js::to_js_error(&error)
}

impl Drop for Client {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if let (Some(window), Some((online, offline))) =
            (web_sys::window(), state.on_network.take())
        {
            let _ = window
                .remove_event_listener_with_callback("online", online.as_ref().unchecked_ref());
            let _ = window
                .remove_event_listener_with_callback("offline", offline.as_ref().unchecked_ref());
        }
    }
}

/// What the session needs of a parsed frame, read field by field (no serde: its error paths alone would cost
/// more than this whole module).
fn read_frame(raw: &JsValue) -> Frame {
    let error =
        Some(get(raw, "error")).filter(JsValue::is_object).map(|error| error_body(&error, -1, 0));
    Frame { kind: text(raw, "type"), connection_id: text(raw, "connection_id"), error }
}

/// The protocol's error body (PROTOCOL.md §5.2) read from `object`, for error frames and failed REST calls alike;
/// `code` and `status` stand in for missing fields.
fn error_body(object: &JsValue, code: i32, status: u16) -> ErrorBody {
    ErrorBody {
        code: get(object, "code").as_f64().map_or(code, |code| code as i32),
        message: text(object, "message").unwrap_or_default(),
        status_code: get(object, "StatusCode").as_f64().map_or(status, |s| s as u16),
        duration: text(object, "duration").unwrap_or_default(),
        more_info: text(object, "more_info").unwrap_or_default(),
    }
}

/// A readable description of a thrown JS value.
fn describe(error: &JsValue) -> String {
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|message| message.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
