//! One client's browser runtime: the state behind a JS `StreamChat` object and the session loop that owns the
//! order of everything. JS methods and browser callbacks send signals; [`Client::receive`] handles them one at a
//! time, in order.
//!
//! Ownership: the JS object holds the only strong `Rc<Client>`; callbacks hold a [`Port`] (a `Weak`). Dropping the
//! JS object drops the client, which closes its socket, cancels its timers and detaches its `online` listener.

use alloc::boxed::Box;
use alloc::rc::Rc;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::cell::RefCell;

use js_sys::{Date, Function, Object, Promise, Reflect, JSON};
use stream_chat_protocol::event::{CONNECTION_CHANGED, CONNECTION_RECOVERED, HEALTH_CHECK};
use stream_chat_protocol::ErrorBody;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

use super::inbox::{Inbox, Port};
use super::socket::Socket;
use super::timers::Timers;
use super::Signal;
use crate::client::id::uuid_v4;
use crate::client::session::Frame;
use crate::client::{ChatError, Effect, Entropy, Input, LocalEvent, Session, SessionConfig};

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

/// A listener registered with `on`.
#[derive(Debug)]
struct Listener {
    /// Returned to `on`'s caller inside the unsubscribe function.
    id: u32,
    /// The event type, or `None` for every event.
    kind: Option<String>,
    /// The app's handler.
    handler: Function,
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
    /// The open socket, if any.
    socket: Option<Socket>,
    /// Running timers.
    timers: Timers,
    /// Registered listeners, in registration order.
    listeners: Vec<Listener>,
    /// The id the next listener gets.
    next_listener: u32,
    /// Forwards the window's `online` event; detached on drop.
    on_online: Option<Closure<dyn FnMut()>>,
    /// The token provider's answer callbacks (fulfilled, rejected), kept alive until the next request.
    token_callbacks: Option<(JsCallback, JsCallback)>,
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

impl Client {
    /// A client with `config`, listening for the browser's `online` event.
    pub fn new(config: SessionConfig, logger: Option<Function>) -> Rc<Client> {
        Rc::new_cyclic(|weak| {
            let port = Port(weak.clone());
            let online = port.clone();
            let on_online: Closure<dyn FnMut()> =
                Closure::new(move || online.send(Signal::Input(Input::Online)));
            if let Some(window) = web_sys::window() {
                let _ = window
                    .add_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
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
                    socket: None,
                    timers: Timers::default(),
                    listeners: Vec::new(),
                    next_listener: 1,
                    on_online: Some(on_online),
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
    pub fn start_connect(
        &self,
        user: JsValue,
        request: crate::client::session::ConnectRequest,
    ) -> Promise {
        let mut settle = None;
        let promise = Promise::new(&mut |resolve, reject| settle = Some((resolve, reject)));
        let mut state = self.state.borrow_mut();
        state.user = user;
        state.connect = Some(ConnectCall {
            user_id: request.user_id.clone(),
            promise: promise.clone(),
            settle,
        });
        drop(state);
        self.receive(Signal::Input(Input::Connect(request)));
        promise
    }

    /// `disconnectUser`: rejects a pending `connectUser`, then closes the connection (after whatever the loop is
    /// handling, if called from an event handler).
    pub fn disconnect(&self) {
        let pending = {
            let mut state = self.state.borrow_mut();
            state.user = JsValue::UNDEFINED;
            state.token_provider = None;
            state.connect.take().and_then(|call| call.settle)
        };
        if let Some((_, reject)) = pending {
            let _ = reject.call1(&JsValue::NULL, &crate::js::to_js_error(&ChatError::Disconnected));
        }
        self.receive(Signal::Input(Input::Disconnect));
    }

    /// Registers `handler` for `kind` (`None`: every event); returns its id.
    pub fn add_listener(&self, kind: Option<String>, handler: Function) -> u32 {
        let mut state = self.state.borrow_mut();
        let id = state.next_listener;
        state.next_listener += 1;
        state.listeners.push(Listener { id, kind, handler });
        id
    }

    /// Removes the listener with `id`.
    pub fn remove_listener(&self, id: u32) {
        self.state.borrow_mut().listeners.retain(|listener| listener.id != id);
    }

    /// Removes listeners of `kind` (`None`: registered for every event) whose handler is `handler`.
    pub fn remove_handler(&self, kind: Option<&str>, handler: &JsValue) {
        self.state
            .borrow_mut()
            .listeners
            .retain(|l| !(l.kind.as_deref() == kind && JsValue::from(&l.handler) == *handler));
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
        };
        let effects = self.state.borrow_mut().session.handle(input, &mut BrowserEntropy);
        for effect in effects {
            self.apply(effect, &frame);
        }
    }

    fn apply(&self, effect: Effect, frame: &JsValue) {
        match effect {
            Effect::LoadToken { request } => self.load_token(request),
            Effect::OpenSocket { socket, url } => {
                self.log("info", "connection: opening WebSocket");
                match Socket::open(&url, socket, &self.port) {
                    Ok(opened) => self.state.borrow_mut().socket = Some(opened),
                    // An unusable URL fails like a refused connection.
                    Err(_) => {
                        self.receive(Signal::Input(Input::SocketClosed { socket, code: 1006 }))
                    }
                }
            }
            Effect::CloseSocket { code, reason } => {
                if let Some(socket) = self.state.borrow_mut().socket.take() {
                    socket.close(code, reason);
                }
            }
            Effect::Send(text) => {
                if let Some(socket) = &self.state.borrow().socket {
                    socket.send(&text);
                }
            }
            Effect::StartTimer(timer, ms) => {
                self.state.borrow_mut().timers.start(timer, ms, &self.port)
            }
            Effect::StopTimer(timer) => self.state.borrow_mut().timers.stop(timer),
            Effect::Dispatch => {
                let _ = Reflect::set(frame, &"received_at".into(), &Date::new_0());
                if let Some(kind) =
                    Reflect::get(frame, &"type".into()).ok().and_then(|t| t.as_string())
                {
                    if kind == HEALTH_CHECK {
                        self.adopt_me(frame);
                    }
                    self.dispatch(&kind, frame);
                }
            }
            Effect::Emit(event) => {
                let object = Object::new();
                let kind = match event {
                    LocalEvent::ConnectionChanged { online } => {
                        let _ = Reflect::set(&object, &"online".into(), &online.into());
                        CONNECTION_CHANGED
                    }
                    LocalEvent::ConnectionRecovered => CONNECTION_RECOVERED,
                };
                let _ = Reflect::set(&object, &"type".into(), &kind.into());
                self.log("info", &("connection: ".to_string() + kind));
                self.dispatch(kind, &object);
            }
            Effect::Settle(result) => self.settle(result, frame),
        }
    }

    /// A `health.check` with `me` makes `me` the authoritative own user, privacy settings included.
    fn adopt_me(&self, frame: &JsValue) {
        if let Ok(me) = Reflect::get(frame, &"me".into()) {
            if me.is_object() {
                self.state.borrow_mut().user = me;
            }
        }
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
        let on_token: Closure<dyn FnMut(JsValue)> =
            Closure::wrap(Box::new(move |token: JsValue| {
                let token = token
                    .as_string()
                    .ok_or_else(|| "the token provider must return a string".into());
                answer(&fulfilled, token);
            }));
        let on_error: JsCallback =
            Closure::wrap(Box::new(move |error: JsValue| answer(&rejected, Err(describe(&error)))));
        let _ = Promise::resolve(&returned).then2(&on_token, &on_error);
        // Replacing the previous pair drops callbacks whose promise has settled already.
        self.state.borrow_mut().token_callbacks = Some((on_token, on_error));
    }

    /// Calls the listeners for `kind` and for every event, with `event`. Handlers run with no borrow held, so
    /// they may call back into the client; one that throws is logged and does not stop the others.
    fn dispatch(&self, kind: &str, event: &JsValue) {
        let handlers: Vec<Function> = self
            .state
            .borrow()
            .listeners
            .iter()
            .filter(|l| l.kind.as_deref().is_none_or(|k| k == kind))
            .map(|l| l.handler.clone())
            .collect();
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

impl Drop for Client {
    fn drop(&mut self) {
        let state = self.state.get_mut();
        if let (Some(window), Some(on_online)) = (web_sys::window(), state.on_online.take()) {
            let _ = window
                .remove_event_listener_with_callback("online", on_online.as_ref().unchecked_ref());
        }
    }
}

/// What the session needs of a parsed frame, read field by field (no serde: its error paths alone would cost
/// more than this whole module).
fn read_frame(raw: &JsValue) -> Frame {
    let field = |object: &JsValue, key: &str| Reflect::get(object, &key.into()).ok();
    let text = |object: &JsValue, key: &str| field(object, key).and_then(|value| value.as_string());
    let error = field(raw, "error").filter(JsValue::is_object).map(|error| ErrorBody {
        code: field(&error, "code").and_then(|code| code.as_f64()).map_or(-1, |code| code as i32),
        message: text(&error, "message").unwrap_or_default(),
        status_code: field(&error, "StatusCode").and_then(|s| s.as_f64()).map_or(0, |s| s as u16),
        duration: text(&error, "duration").unwrap_or_default(),
        more_info: text(&error, "more_info").unwrap_or_default(),
    });
    Frame { kind: text(raw, "type"), connection_id: text(raw, "connection_id"), error }
}

/// A readable description of a thrown JS value.
fn describe(error: &JsValue) -> String {
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|message| message.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "unknown error".into())
}
