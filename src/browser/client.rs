//! One client's browser runtime: the state behind a JS `StreamChat` object and the session loop that owns the
//! order of everything. JS methods and browser callbacks send signals; [`Client::receive`] handles them one at a
//! time, in order, feeding the sans-I/O [`Session`] and carrying out the effects it returns.
//!
//! The other concerns of the client live beside this file, each as its own `impl Client` block: `connect.rs`
//! (`connectUser`, token provider, `disconnectUser`), `rest.rs` (REST calls and their answers), `channel_ops.rs`
//! (what `Channel` methods do), `events.rs` (listeners and dispatch), `storage.rs` (what survives the page),
//! `replay.rs` (events applied again on top of a query's answer).
//!
//! Ownership: the JS `StreamChat` object holds the only strong `Rc<Client>`; channels, callbacks and futures hold
//! a [`Port`] (a `Weak`). Dropping the JS object drops the client, which closes its socket, cancels its timers
//! and detaches its `online` listener.

use alloc::rc::Rc;
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::{Function, JSON};
use stream_chat_protocol::event::{CONNECTION_CHANGED, CONNECTION_RECOVERED, TRANSPORT_CHANGED};
use stream_chat_protocol::{ErrorBody, ErrorCode};
use wasm_bindgen::{JsCast, JsValue};

use super::channels::Slot;
use super::connect::ConnectCall;
use super::errors::error_body;
use super::inbox::{Inbox, Port};
use super::listeners::Listeners;
use super::longpoll::{LongPoll, Target};
use super::rest::{Call, RestConfig};
use super::shapes::{shape, ClaimsShape, FrameShape};
use super::socket::Socket;
use super::timers::Timers;
use super::values::object;
use super::Signal;
use crate::client::id::uuid_v4;
use crate::client::session::Frame;
use crate::client::{Effect, Entropy, Input, LocalEvent, Session, SessionConfig, Transport};

/// Everything the loop and the JS methods share, behind the one `RefCell`.
#[derive(Debug)]
pub struct State {
    /// The sans-I/O connection state machine.
    pub session: Session,
    /// The current `connectUser` call.
    pub connect: Option<ConnectCall>,
    /// `client.user`: the object given to `connectUser`, replaced by the server's `me`.
    pub user: JsValue,
    /// `client.mutedUsers` and `client.mutedChannels`, from `me` and the mute notifications.
    pub mutes: (JsValue, JsValue),
    /// `client.state`: `{users}`, the users this client has seen, by id (as the official client keeps it).
    pub client_state: JsValue,
    /// The app's token provider, when it gave one.
    pub token_provider: Option<Function>,
    /// `(level, message, extra)`, from the `logger` option.
    pub logger: Option<Function>,
    /// Where REST calls go.
    pub rest: RestConfig,
    /// The channels `client.channel()` handed out.
    pub channels: Vec<Slot>,
    /// The key the next channel slot gets.
    pub next_key: u32,
    /// REST calls not settled yet.
    pub calls: Vec<Call>,
    /// The number the next REST call gets.
    pub next_call: u32,
    /// The connection, whatever its transport.
    pub(super) socket: Option<Connection>,
    /// This tab's part in the connection the browser's tabs share (`share.rs`), from `connectUser` on.
    pub share: Option<super::share::Share>,
    /// From the start (and after `disconnectUser`) until the connection first opens or a channel list comes from
    /// the server: the only time the local cache is asked (`cache.rs`).
    pub fresh: bool,
    /// Messages sent while the connection was away, waiting for it (`outbox.rs`).
    pub outbox: super::outbox::Outbox,
    /// A WebSocket probe while on long-poll.
    probe: Option<Socket>,
    /// Running session timers.
    timers: Timers,
    /// The typing cleaner, while some channel has typing to expire or stop.
    pub cleaner: Option<gloo_timers::callback::Timeout>,
    /// The last `connectUser` request, for `openConnection()`.
    pub last_request: Option<crate::client::session::ConnectRequest>,
    /// Behaviour switches from the constructor's options.
    pub options: ClientOptions,
    /// Resolves `disconnectUser()`'s promise once the WebSocket it closes is closed.
    pub close_waiter: Option<Function>,
    /// Channel events kept while channel queries are in flight, applied again on top of their answers.
    pub replay: super::replay::Replay,
    /// Forward the page's `online`, `offline`, `visibilitychange` and `pageshow` events; detached on drop.
    _page_events: super::page::PageEvents,
}

impl State {
    /// The slot with `key`.
    pub fn slot(&mut self, key: u32) -> Option<&mut Slot> {
        self.channels.iter_mut().find(|slot| slot.key == key)
    }

    /// A changed user (`user.updated`, `user.presence.changed`): `client.user` when it is the own user,
    /// `client.state.users`, and the user objects of members and watchers in every channel's state.
    pub fn apply_user(&mut self, user: &JsValue) {
        let Some(id) = super::values::text(user, "id") else { return };
        if id == self.own_id() {
            self.user = super::users::merge_own_user(&self.user, user);
        }
        super::values::set_at(&super::values::get(&self.client_state, "users"), &id, user);
        for slot in &mut self.channels {
            slot.user_changed(&id, user);
        }
    }

    /// The own user's id while connected (or connecting).
    pub fn own_id(&self) -> String {
        self.session.user_id().unwrap_or_default().into()
    }
}

/// Behaviour switches, as the official client's options name them.
#[derive(Debug, Clone, Copy)]
pub struct ClientOptions {
    /// `recoverStateOnReconnect` (default on): re-query the watched channels after a reconnect.
    pub recover_on_reconnect: bool,
    /// `persistUserOnConnectionFailure`: a failed `connectUser` keeps the user for `openConnection()`.
    pub persist_user: bool,
    /// `warmUp`: send `GET /hi` when connecting, to open the HTTP connection early.
    pub warm_up: bool,
    /// `shareConnection` (default on where the browser can): the tabs of one user share one connection.
    pub share_connection: bool,
    /// `localCache` (default on where the browser has IndexedDB): `queryChannels` answers kept for the next page.
    pub local_cache: bool,
}

/// A client: its state and the inbox its loop reads.
#[derive(Debug)]
pub struct Client {
    /// Signals waiting for the loop.
    inbox: Inbox,
    /// A weak handle to this client, cloned into every callback.
    pub port: Port,
    /// The shared state; borrowed only for short, non-reentrant sections (never while calling into JS).
    pub state: RefCell<State>,
    /// Handlers registered with `client.on`: apart from the state, so they can still be told of a trap that
    /// left the state borrowed (`fatal.rs`).
    pub listeners: RefCell<Listeners>,
}

/// Randomness from the browser's `crypto.getRandomValues`.
pub struct BrowserEntropy;

impl BrowserEntropy {
    /// 16 random bytes from `crypto.getRandomValues` (in a window or a worker).
    fn bytes() -> [u8; 16] {
        let mut bytes = [0u8; 16];
        let crypto = match web_sys::window() {
            Some(window) => window.crypto(),
            None => js_sys::global().unchecked_into::<web_sys::WorkerGlobalScope>().crypto(),
        };
        if let Ok(crypto) = crypto {
            let _ = crypto.get_random_values_with_u8_array(&mut bytes);
        }
        bytes
    }
}

impl Entropy for BrowserEntropy {
    fn random(&mut self) -> f64 {
        let [a, b, c, d, ..] = Self::bytes();
        f64::from(u32::from_le_bytes([a, b, c, d])) / 4_294_967_296.0
    }

    fn uuid(&mut self) -> String {
        uuid_v4(Self::bytes())
    }
}

/// A fresh v4 uuid from the browser's randomness (client-side message ids).
pub fn uuid() -> String {
    BrowserEntropy.uuid()
}

/// Reads a token payload with `JSON.parse`; `None` when it is not a JSON object or its `user_id` is not a string.
pub fn parse_claims(payload: &str) -> Option<crate::client::user::Claims> {
    let parsed = JSON::parse(payload).ok()?;
    let user_id = shape::<ClaimsShape>(&parsed)?.user_id();
    if user_id.is_null_or_undefined() {
        return Some(crate::client::user::Claims { user_id: None });
    }
    Some(crate::client::user::Claims { user_id: Some(user_id.as_string()?) })
}

impl Client {
    /// A client with `config`, listening to the page's events (see `page.rs`).
    pub fn new(
        config: SessionConfig,
        rest: RestConfig,
        logger: Option<Function>,
        options: ClientOptions,
    ) -> Rc<Client> {
        let client = Rc::new_cyclic(|weak| {
            let port = Port(weak.clone());
            let page_events = super::page::PageEvents::attach(&port);
            Client {
                inbox: Inbox::default(),
                port,
                state: RefCell::new(State {
                    session: Session::new(config, parse_claims),
                    connect: None,
                    user: JsValue::UNDEFINED,
                    mutes: (JsValue::UNDEFINED, JsValue::UNDEFINED),
                    client_state: super::values::object(&[("users", js_sys::Object::new().into())]),
                    token_provider: None,
                    logger,
                    rest,
                    channels: Vec::new(),
                    next_key: 0,
                    calls: Vec::new(),
                    next_call: 0,
                    socket: None,
                    share: None,
                    outbox: super::outbox::Outbox::default(),
                    fresh: true,
                    probe: None,
                    timers: Timers::default(),
                    cleaner: None,
                    close_waiter: None,
                    replay: super::replay::Replay::default(),
                    last_request: None,
                    options,
                    _page_events: page_events,
                }),
                listeners: RefCell::default(),
            }
        });
        super::fatal::watch(&client);
        client
    }

    /// The session loop: queues `signal` and, unless the loop is already running further up the stack, handles
    /// every queued signal in order. After a trap nothing is handled any more (`fatal.rs`).
    pub fn receive(&self, signal: Signal) {
        if super::fatal::poisoned() {
            return;
        }
        if let Some(running) = self.inbox.push(signal) {
            self.drain(running);
        }
    }

    fn drain(&self, _running: super::inbox::Running<'_>) {
        while let Some(signal) = self.inbox.pop() {
            self.handle(signal);
        }
    }

    fn handle(&self, signal: Signal) {
        let (input, frame) = match signal {
            Signal::Input(input) => {
                self.share_input(&input);
                (input, JsValue::UNDEFINED)
            }
            Signal::Frame { socket, raw } => {
                let frame = read_frame(&raw);
                self.share_frame(socket, &raw, frame.error.is_some());
                (Input::Frame { socket, frame }, raw)
            }
            Signal::Share { kind, value } => return self.shared(kind, value),
            Signal::Response { request, answer } => {
                (self.answered(request, answer), JsValue::UNDEFINED)
            }
            Signal::Clean => return self.clean(),
            Signal::Polled { tag, answer } => {
                let port = self.port.clone();
                let mut state = self.state.borrow_mut();
                if let Some(Connection::LongPoll(transport)) = &mut state.socket {
                    if transport.owns(tag) {
                        transport.answered(answer, &port);
                    }
                }
                return;
            }
        };
        let effects = self.state.borrow_mut().session.handle(input, &mut BrowserEntropy);
        for effect in effects {
            self.apply(effect, &frame);
        }
    }

    /// Carries out an effect outside a frame's handling.
    pub(super) fn apply_effect(&self, effect: Effect) {
        self.apply(effect, &JsValue::UNDEFINED);
    }

    /// Sends a text frame on the WebSocket, if that is the connection (a relay hands it to the leader).
    pub(super) fn send_frame(&self, text: &str) {
        match &self.state.borrow().socket {
            Some(Connection::WebSocket(socket)) => socket.send(text),
            Some(Connection::Relay(relay)) if relay.opened => self.relay_send(text),
            _ => {}
        }
    }

    fn apply(&self, effect: Effect, frame: &JsValue) {
        if self.open_shared(&effect) {
            return;
        }
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
                let user_id = state.own_id();
                let target = Target {
                    base_url: &state.rest.base_url,
                    api_key: &state.rest.api_key,
                    user_id: &user_id,
                    token: &token,
                    user_agent: &state.session.config().user_agent,
                };
                let transport = LongPoll::open(&url, socket, &target, &self.port);
                state.socket = Some(Connection::LongPoll(transport));
            }
            Effect::CloseSocket { code, reason } => {
                let (socket, waiter) = {
                    let mut state = self.state.borrow_mut();
                    let socket = state.socket.take();
                    let waiter = match socket {
                        Some(Connection::WebSocket(_)) => state.close_waiter.take(),
                        _ => None,
                    };
                    (socket, waiter)
                };
                match socket {
                    Some(Connection::WebSocket(socket)) => {
                        socket.close(code, reason, waiter.as_ref())
                    }
                    Some(Connection::LongPoll(transport)) => transport.close(&self.port),
                    Some(Connection::Relay(_)) | None => {}
                }
                self.share_closed();
            }
            Effect::Send(text) => self.send_frame(&text),
            // A follower's connection is the leader's: it never probes for one of its own.
            Effect::OpenProbe { socket, .. } if self.share_probe(socket) => {}
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
                    probe.close(1000, "probe ended", None);
                }
            }
            Effect::PromoteProbe => {
                {
                    let mut state = self.state.borrow_mut();
                    state.socket = state.probe.take().map(Connection::WebSocket);
                }
                self.share_promoted();
            }
            // What a follower's relay did says nothing about WebSockets.
            Effect::RememberWebSocketFailure(_) if self.follows() => {}
            Effect::RememberWebSocketFailure(failed) => {
                let url = self.state.borrow().session.config().ws_base_url.clone();
                super::storage::remember_websocket_failure(&url, failed);
            }
            Effect::StartTimer(timer, ms) => {
                self.state.borrow_mut().timers.start(timer, ms, &self.port)
            }
            Effect::StopTimer(timer) => self.state.borrow_mut().timers.stop(timer),
            Effect::Dispatch => self.dispatch_frame(frame),
            Effect::Emit(event) => self.emit(event),
            Effect::Settle(result) => {
                let opened = result.is_ok();
                self.state.borrow_mut().fresh &= !opened;
                self.settle(result, frame);
                if opened {
                    self.flush_outbox();
                }
            }
            Effect::Fetch { request, connection_id, token } => {
                self.fetch(request, connection_id, token)
            }
            Effect::Finish { request } => self.finish(request),
            Effect::Fail { request, error } => self.fail(request, &error),
            Effect::Recover => {
                self.flush_outbox();
                if self.state.borrow().options.recover_on_reconnect {
                    self.recover();
                } else {
                    self.receive(Signal::Input(Input::Recovered));
                }
            }
            Effect::UseToken(token) => {
                if let Some(Connection::LongPoll(transport)) = &mut self.state.borrow_mut().socket {
                    transport.use_token(token);
                }
            }
        }
    }

    /// Emits an event the SDK makes itself.
    fn emit(&self, event: LocalEvent) {
        let (kind, key, value) = match event {
            LocalEvent::ConnectionChanged { online } => {
                (CONNECTION_CHANGED, "online", online.into())
            }
            LocalEvent::ConnectionRecovered => (CONNECTION_RECOVERED, "online", true.into()),
            LocalEvent::TransportChanged { transport } => {
                let mode = match transport {
                    Transport::WebSocket => "websocket",
                    Transport::LongPoll => "longpoll",
                };
                (TRANSPORT_CHANGED, "mode", mode.into())
            }
        };
        let event = object(&[("type", kind.into()), (key, value)]);
        self.log("info", &(String::from("connection: ") + kind));
        self.dispatch(None, kind, &event);
    }

    /// Whether this tab follows another's connection.
    fn follows(&self) -> bool {
        self.state.borrow().share.as_ref().is_some_and(super::share::Share::follows)
    }

    /// Sends `(level, message)` to the app's logger, if it gave one.
    pub fn log(&self, level: &str, message: &str) {
        let logger = self.state.borrow().logger.clone();
        if let Some(logger) = logger {
            let _ = logger.call2(&JsValue::NULL, &level.into(), &message.into());
        }
    }
}

/// The connection, over either transport, or another tab's, relayed.
#[derive(Debug)]
pub(super) enum Connection {
    /// A WebSocket.
    WebSocket(Socket),
    /// Long-poll requests.
    LongPoll(LongPoll),
    /// The leader tab's connection (`share.rs`).
    Relay(super::share::Relay),
}

impl State {
    /// Closes the connection and the probe and cancels every timer (after a trap: `fatal.rs`).
    pub(super) fn stop_io(&mut self) {
        self.socket = None;
        self.share = None;
        self.probe = None;
        self.timers = Timers::default();
        self.cleaner = None;
    }
}

impl Drop for Client {
    /// The app dropped the client (JS `free()`, or the garbage collector): calls still pending reject; dropping
    /// the state then closes the socket, stops the timers and detaches the page listeners.
    fn drop(&mut self) {
        // After a trap the state may be borrowed for good (its calls were rejected by `fatal.rs` already).
        let Ok(mut state) = self.state.try_borrow_mut() else { return };
        let calls = core::mem::take(&mut state.calls);
        drop(state);
        for call in calls {
            call.reject(&crate::client::ChatError::Disconnected);
        }
        // Dropping the state detaches the page listeners, closes the socket and cancels the timers.
    }
}

/// What the session needs of a parsed frame. A field of the wrong type counts as absent.
fn read_frame(raw: &JsValue) -> Frame {
    let Some(head) = shape::<FrameShape>(raw) else { return Frame::default() };
    // An error frame without a code still refuses: code -1, as the protocol's internal error.
    let error = head.error();
    let error = (!error.is_null_or_undefined()).then(|| {
        error_body(&error, 0).unwrap_or_else(|| ErrorBody::new(ErrorCode::InternalSystem, ""))
    });
    Frame { kind: head.kind().as_string(), connection_id: head.connection_id().as_string(), error }
}
