//! One client's browser runtime: the state behind a JS `StreamChat` object and the session loop that owns the
//! order of everything. JS methods and browser callbacks send signals; [`Client::receive`] handles them one at a
//! time, in order, feeding the sans-I/O [`Session`] and carrying out the effects it returns.
//!
//! The other concerns of the client live beside this file, each as its own `impl Client` block: `effects.rs` (what
//! each of the session's effects does), `connect.rs`
//! (`connectUser`, token provider, `disconnectUser`), `rest.rs` (REST calls and their answers), `request.rs` (the
//! one request path, and a query's answer under the events that came meanwhile), `channels.rs` (channel objects,
//! lists, recovery, typing expiry), `events.rs` (listeners and dispatch), `share.rs`, `outbox.rs`, `cache.rs`.
//! This file imports none of them: what the state holds of them is in `calls.rs`, `share_link.rs` and
//! `outbox_queue.rs`.
//!
//! Ownership: the JS `StreamChat` object holds the only strong `Rc<Client>`; channels, futures and browser
//! callbacks hold a [`Port`] (a `Weak`; to the platform it is a [`Sink`]). Dropping the JS object drops the client,
//! which closes its socket, cancels its timers and detaches its `online` listener.

use alloc::rc::{Rc, Weak};
use alloc::string::String;
use alloc::vec::Vec;
use core::cell::{Ref, RefCell, RefMut};

use js_sys::Function;
use wasm_bindgen::JsValue;

use super::calls::{Call, ConnectCall, RestConfig};
use super::inbox::{Inbox, Running};
use super::outbox_queue::Outbox;
use super::share_link::{Relay, Share};
use crate::client::{ChatError, Effect, Input, Session, SessionConfig};
use crate::platform::entropy::BrowserEntropy;
use crate::platform::errors::to_js_error;
use crate::platform::fatal;
use crate::platform::frames::read_frame;
use crate::platform::listeners::Listeners;
use crate::platform::longpoll::LongPoll;
use crate::platform::page::PageEvents;
use crate::platform::shapes::read_claims;
use crate::platform::socket::Socket;
use crate::platform::timers::Timers;
use crate::platform::values::{get, object, set_at, text};
use crate::platform::{Signal, Sink};
use crate::state::channels::Slot;
use crate::state::own_user::merge_own_user;
use crate::state::replay::Replay;

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
    pub socket: Option<Connection>,
    /// This tab's part in the connection the browser's tabs share (`share.rs`), from `connectUser` on.
    pub share: Option<Share>,
    /// From the start (and after `disconnectUser`) until the connection first opens or a channel list comes from
    /// the server: the only time the local cache is asked (`cache.rs`).
    pub fresh: bool,
    /// Messages sent while the connection was away, waiting for it (`outbox.rs`).
    pub outbox: Outbox,
    /// A WebSocket probe while on long-poll.
    pub(super) probe: Option<Socket>,
    /// Running session timers.
    pub(super) timers: Timers,
    /// The typing cleaner, while some channel has typing to expire or stop.
    pub cleaner: Option<gloo_timers::callback::Timeout>,
    /// The last `connectUser` request, for `openConnection()`.
    pub last_request: Option<crate::client::session::ConnectRequest>,
    /// Behaviour switches from the constructor's options.
    pub options: ClientOptions,
    /// Resolves `disconnectUser()`'s promise once the WebSocket it closes is closed.
    pub close_waiter: Option<Function>,
    /// Channel events kept while channel queries are in flight, applied again on top of their answers.
    pub replay: Replay,
    /// Forward the page's `online`, `offline`, `visibilitychange` and `pageshow` events; detached on drop.
    _page_events: PageEvents,
}

impl State {
    /// The slot with `key`.
    pub fn slot(&mut self, key: u32) -> Option<&mut Slot> {
        self.channels.iter_mut().find(|slot| slot.key == key)
    }

    /// A changed user (`user.updated`, `user.presence.changed`): `client.user` when it is the own user,
    /// `client.state.users`, and the user objects of members and watchers in every channel's state.
    pub fn apply_user(&mut self, user: &JsValue) {
        let Some(id) = text(user, "id") else { return };
        if id == self.own_id() {
            self.user = merge_own_user(&self.user, user);
        }
        set_at(&get(&self.client_state, "users"), &id, user);
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
pub struct Client {
    /// Signals waiting for the loop.
    inbox: Inbox,
    /// A weak handle to this client, cloned into every callback, future and JS object that calls it.
    pub port: Port,
    /// Makes the JS `Channel` object of a new channel slot (the JS layer's; the runtime knows no JS classes).
    pub make_channel: MakeChannel,
    /// The shared state; borrowed only for short, non-reentrant sections (never while calling into JS).
    pub state: RefCell<State>,
    /// Handlers registered with `client.on`: apart from the state, so they can still be told of a trap that
    /// left the state borrowed (`platform/fatal.rs`).
    pub listeners: RefCell<Listeners>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client").field("state", &self.state).finish_non_exhaustive()
    }
}

/// Makes the JS object of a channel: gets a handle to its client and the channel's slot.
pub type MakeChannel = fn(Port, &Slot) -> JsValue;

impl Client {
    /// The state, borrowed mutably. One borrow check for every caller: inlined, each call site carried its own
    /// check and its own panic location.
    #[inline(never)]
    pub fn state_mut(&self) -> RefMut<'_, State> {
        self.state.borrow_mut()
    }

    /// The state, borrowed to read (see [`Client::state_mut`]).
    #[inline(never)]
    pub fn state_ref(&self) -> Ref<'_, State> {
        self.state.borrow()
    }

    /// A client with `config`, listening to the page's events (see `platform/page.rs`).
    pub fn new(
        config: SessionConfig,
        rest: RestConfig,
        logger: Option<Function>,
        options: ClientOptions,
        make_channel: MakeChannel,
    ) -> Rc<Client> {
        let client = Rc::new_cyclic(|weak| {
            let port = Port(weak.clone());
            let page_events = PageEvents::attach(&port);
            Client {
                inbox: Inbox::default(),
                port,
                make_channel,
                state: RefCell::new(State {
                    session: Session::new(config, read_claims),
                    connect: None,
                    user: JsValue::UNDEFINED,
                    mutes: (JsValue::UNDEFINED, JsValue::UNDEFINED),
                    client_state: object(&[("users", js_sys::Object::new().into())]),
                    token_provider: None,
                    logger,
                    rest,
                    channels: Vec::new(),
                    next_key: 0,
                    calls: Vec::new(),
                    next_call: 0,
                    socket: None,
                    share: None,
                    outbox: Outbox::default(),
                    fresh: true,
                    probe: None,
                    timers: Timers::default(),
                    cleaner: None,
                    close_waiter: None,
                    replay: Replay::default(),
                    last_request: None,
                    options,
                    _page_events: page_events,
                }),
                listeners: RefCell::default(),
            }
        });
        CLIENTS.with(|clients| {
            if let Ok(mut clients) = clients.try_borrow_mut() {
                clients.retain(|client| client.strong_count() > 0);
                clients.push(Rc::downgrade(&client));
            }
        });
        fatal::watch(tell_trapped);
        client
    }

    /// The session loop: queues `signal` and, unless the loop is already running further up the stack, handles
    /// every queued signal in order. After a trap nothing is handled any more (`platform/fatal.rs`).
    pub fn receive(&self, signal: Signal) {
        if fatal::poisoned() {
            return;
        }
        if let Some(running) = self.inbox.push(signal) {
            self.drain(running);
        }
    }

    fn drain(&self, _running: Running<'_>) {
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
            // The timers' timeout fired: the earliest due timer goes to the session, and the loop looks again
            // after it (handling one may stop or move another); with none due, the timeout is armed for the next.
            Signal::TimersDue => {
                let due = self.state_mut().timers.take_due();
                let Some(timer) = due else { return self.state_mut().timers.rearm(&self.port) };
                self.inbox.push(Signal::TimersDue);
                (Input::Timer(timer), JsValue::UNDEFINED)
            }
            Signal::Polled { tag, answer } => {
                let port = self.port.clone();
                let mut state = self.state_mut();
                if let Some(Connection::LongPoll(transport)) = &mut state.socket {
                    if transport.owns(tag) {
                        transport.answered(answer, &port);
                    }
                }
                return;
            }
        };
        let effects = self.state_mut().session.handle(input, &mut BrowserEntropy);
        for effect in effects {
            self.apply(effect, &frame);
        }
    }

    /// Carries out an effect outside a frame's handling.
    pub fn apply_effect(&self, effect: Effect) {
        self.apply(effect, &JsValue::UNDEFINED);
    }

    /// Sends a text frame on the WebSocket, if that is the connection (a relay hands it to the leader).
    pub fn send_frame(&self, text: &str) {
        match &self.state_ref().socket {
            Some(Connection::WebSocket(socket)) => socket.send(text),
            Some(Connection::Relay(relay)) if relay.opened => self.relay_send(text),
            _ => {}
        }
    }

    /// Sends `(level, message)` to the app's logger, if it gave one.
    pub fn log(&self, level: &str, message: &str) {
        let logger = self.state_ref().logger.clone();
        if let Some(logger) = logger {
            let _ = logger.call2(&JsValue::NULL, &level.into(), &message.into());
        }
    }
}

/// The connection, over either transport, or another tab's, relayed.
#[derive(Debug)]
pub enum Connection {
    /// A WebSocket.
    WebSocket(Socket),
    /// Long-poll requests.
    LongPoll(LongPoll),
    /// The leader tab's connection (`share.rs`).
    Relay(Relay),
}

impl State {
    /// Closes the connection and the probe and cancels every timer (after a trap: `platform/fatal.rs`).
    pub fn stop_io(&mut self) {
        self.socket = None;
        self.share = None;
        self.probe = None;
        self.timers = Timers::default();
        self.cleaner = None;
    }
}

/// What callbacks hold: a weak handle, so a callback that outlives its client does nothing.
#[derive(Clone, Debug)]
pub struct Port(pub Weak<Client>);

impl Port {
    /// The client, unless it is gone or the SDK stopped after a trap (then its state is not to be touched).
    pub fn live(&self) -> Option<Rc<Client>> {
        self.0.upgrade().filter(|_| !fatal::poisoned())
    }

    /// The client, or the error a channel (or a call) of a gone client rejects with; after a trap, the error
    /// that says so.
    pub fn client(&self) -> Result<Rc<Client>, JsValue> {
        if fatal::poisoned() {
            return Err(to_js_error(&ChatError::Fatal));
        }
        self.0.upgrade().ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))
    }
}

impl Sink for Port {
    /// Delivers `signal` to the client's loop.
    fn send(&self, signal: Signal) {
        if let Some(client) = self.live() {
            client.receive(signal);
        }
    }
}

thread_local! {
    /// Every client made, weakly, to be told of a trap.
    static CLIENTS: RefCell<Vec<Weak<Client>>> = const { RefCell::new(Vec::new()) };
}

/// After a trap (`platform/fatal.rs`), with the error every call now rejects with: tells every client.
fn tell_trapped(error: &JsValue) {
    let clients: Vec<Rc<Client>> = CLIENTS.with(|clients| {
        clients
            .try_borrow()
            .map(|c| c.iter().filter_map(Weak::upgrade).collect())
            .unwrap_or_default()
    });
    for client in clients {
        client.trapped(error);
    }
}

impl Client {
    /// After a trap: closes the connection and timers where the state can still be reached, and tells the
    /// `client.fatal` handlers.
    fn trapped(&self, error: &JsValue) {
        if let Ok(mut state) = self.state.try_borrow_mut() {
            state.stop_io();
        }
        let handlers =
            self.listeners.try_borrow().map(|l| l.matching("client.fatal")).unwrap_or_default();
        let event = object(&[("type", "client.fatal".into()), ("error", error.clone())]);
        for handler in handlers {
            let _ = handler.call1(&JsValue::NULL, &event);
        }
    }
}

impl Drop for Client {
    /// The app dropped the client (JS `free()`, or the garbage collector): calls still pending reject; dropping
    /// the state then closes the socket, stops the timers and detaches the page listeners.
    fn drop(&mut self) {
        // After a trap the state may be borrowed for good (its calls were rejected by `platform/fatal.rs` already).
        let Ok(mut state) = self.state.try_borrow_mut() else { return };
        let calls = core::mem::take(&mut state.calls);
        drop(state);
        for call in calls {
            call.reject(&ChatError::Disconnected);
        }
        // Dropping the state detaches the page listeners, closes the socket and cancels the timers.
    }
}
