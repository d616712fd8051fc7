//! One connection per browser (the `shareConnection` option): the tabs of one origin connected as the same user,
//! with the same API key and base URL, share one connection. A Web Lock named after the four elects the tab that
//! holds it, the leader; the others follow over a `BroadcastChannel` of the same name.
//!
//! - The leader opens the real WebSocket (or long-poll) and, once another tab has said hello, posts every frame
//!   it gets (a tab alone posts nothing per event); it answers a follower's hello with its connection's first
//!   frame, and says when its connection is down.
//! - A follower's connection is a relay. The session opens it as it would open a socket; it opens with the
//!   leader's `connection.ok` (so `connectUser` resolves with the same `me` and `connection_id`), its frames are
//!   the leader's, and what the session sends on it (pings) the leader sends on the real connection. REST calls
//!   go out from each tab, with the shared `connection_id`, so `watch()` in any tab routes that channel's events
//!   to the shared connection and from there to every tab.
//! - When the leader tab closes, the browser releases the lock; the next tab in the lock's queue leads: it tells
//!   the others the connection is down and opens a new one, and every tab recovers as after a reconnect.
//! - A page being frozen (the `freeze` event) gives up the lock and its connection (a leader tells the others it
//!   is down) and asks again when it resumes, so a frozen tab never holds the connection others depend on.
//!
//! The sans-I/O session does not know: a relay is a socket to it.

use alloc::string::String;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::client::{Client, Connection};
use super::inbox::Port;
use super::Signal;
use crate::client::{Effect, Input};

#[wasm_bindgen(module = "/src/browser/helpers.js")]
extern "C" {
    /// Joins the tabs sharing `name`: requests the lock `name` (`deliver(LEAD)` once held; `deliver(FOLLOW)` first
    /// when another tab holds it) and delivers the other tabs' posts as `deliver(kind, value)`. `null` where the
    /// browser has no Web Locks or `BroadcastChannel`.
    #[wasm_bindgen(js_name = shareStart)]
    fn share_start(name: &str, deliver: &Closure<dyn FnMut(u8, JsValue)>) -> JsValue;

    /// Posts `[kind, value]` to the other tabs.
    #[wasm_bindgen(js_name = sharePost)]
    fn share_post(share: &JsValue, kind: u8, value: &JsValue);

    /// Releases the lock (or stops waiting for it), keeping the channel: the page is being frozen.
    #[wasm_bindgen(js_name = shareLeave)]
    fn share_leave(share: &JsValue);

    /// Asks for the lock again after [`share_leave`] (`deliver(LEAD)` or `deliver(FOLLOW)` follows).
    #[wasm_bindgen(js_name = shareJoin)]
    fn share_join(share: &JsValue);

    /// Leaves: releases the lock (or stops waiting for it) and closes the channel; nothing is delivered after.
    #[wasm_bindgen(js_name = shareEnd)]
    fn share_end(share: &JsValue);
}

/// This tab holds the lock.
const LEAD: u8 = 0;
/// Another tab holds the lock; this one waits for it.
const FOLLOW: u8 = 1;
/// A follower asks for the leader's `connection.ok`.
const HELLO: u8 = 2;
/// The leader's connection is open: its `connection.ok`.
const OPENED: u8 = 3;
/// A frame of the leader's connection.
const FRAME: u8 = 4;
/// The leader's connection is down (closed, lost, or its tab gave up the lead).
const DOWN: u8 = 5;
/// A follower's frame for the leader to send (a ping).
const SEND: u8 = 6;
/// The leader's long-poll was answered: its connection is alive.
const HEARTBEAT: u8 = 7;
/// This page is being frozen (`freeze`, from `page.rs`; never posted): it gives up the lock and its connection,
/// so that another tab leads while it cannot run.
pub const FROZEN: u8 = 8;
/// This page runs again (`resume`, from `page.rs`; never posted): it asks for the lock again and reconnects.
pub const RESUMED: u8 = 9;

/// Where this tab stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Asked for the lock; no answer yet.
    Undecided,
    /// Holds the lock and the real connection.
    Leader,
    /// Another tab leads; this one relays.
    Follower,
}

/// A follower's connection: the leader's, relayed.
#[derive(Debug)]
pub struct Relay {
    /// The session's number for it.
    pub socket: u32,
    /// The `OpenSocket` it stands for, opened for real if this tab comes to lead before the relay opens.
    open: Effect,
    /// Whether the leader's `connection.ok` came.
    pub opened: bool,
}

/// This tab's part in sharing one connection.
#[derive(Debug)]
pub struct Share {
    /// The JS side (see `helpers.js`).
    handle: JsValue,
    /// Forwards deliveries to the loop; lives as long as the share.
    _deliver: Closure<dyn FnMut(u8, JsValue)>,
    /// Where this tab stands.
    role: Role,
    /// An `OpenSocket` that came before the role was known.
    waiting: Option<Effect>,
    /// The leader's connection number, and its `connection.ok` once open (for hellos).
    leading: Option<(u32, JsValue)>,
    /// The leader's WebSocket probe (while on long-poll), and its `connection.ok`.
    probe: Option<(u32, JsValue)>,
    /// The page is frozen: it has left the lock's queue.
    frozen: bool,
    /// Whether another tab has followed this one (said hello): until then a leader posts no frames, so a page
    /// alone pays nothing per event for sharing.
    followed: bool,
}

impl Share {
    /// Joins the tabs of `user_id` at `base_url` with `api_key`; `None` where the browser cannot share.
    pub fn start(api_key: &str, base_url: &str, user_id: &str, port: &Port) -> Option<Share> {
        let name = String::from("stream-chat-wasm:") + api_key + "@" + base_url + "#" + user_id;
        let port = port.clone();
        let deliver = Closure::new(move |kind, value| port.send(Signal::Share { kind, value }));
        let handle = share_start(&name, &deliver);
        (!handle.is_null()).then_some(Share {
            handle,
            _deliver: deliver,
            role: Role::Undecided,
            waiting: None,
            leading: None,
            probe: None,
            frozen: false,
            followed: false,
        })
    }

    fn post(&self, kind: u8, value: &JsValue) {
        share_post(&self.handle, kind, value);
    }

    /// Whether this tab follows another.
    pub fn follows(&self) -> bool {
        self.role == Role::Follower
    }
}

impl Drop for Share {
    fn drop(&mut self) {
        share_end(&self.handle);
    }
}

impl Client {
    /// Routes an `OpenSocket` when sharing: held until the role is known, or opened as a relay; returns whether
    /// it was (otherwise it opens for real, and a leader notes the connection's number).
    pub(super) fn open_shared(&self, effect: &Effect) -> bool {
        let Effect::OpenSocket { socket, .. } = *effect else { return false };
        let mut state = self.state.borrow_mut();
        let Some(share) = state.share.as_mut() else { return false };
        match share.role {
            Role::Undecided => share.waiting = Some(effect.clone()),
            Role::Leader => {
                share.leading = Some((socket, JsValue::UNDEFINED));
                return false;
            }
            Role::Follower => {
                share.post(HELLO, &JsValue::UNDEFINED);
                let relay = Relay { socket, open: effect.clone(), opened: false };
                state.socket = Some(Connection::Relay(relay));
            }
        }
        true
    }

    /// A frame from connection `socket` (`refusal`: an error frame): a leader posts its connection's frames,
    /// the first one (the connection's `health.check` with `me` and `connection_id`) as the connection opening,
    /// kept for hellos, and keeps its probe's first.
    pub(super) fn share_frame(&self, socket: u32, raw: &JsValue, refusal: bool) {
        let mut state = self.state.borrow_mut();
        let Some(share) = state.share.as_mut() else { return };
        let first = |ok: &mut JsValue| {
            let first = ok.is_undefined() && !refusal;
            if first {
                *ok = raw.clone();
            }
            first
        };
        if let Some((number, ok)) = &mut share.leading {
            if *number == socket {
                if first(ok) {
                    share.post(OPENED, raw);
                } else if share.followed {
                    share.post(FRAME, raw);
                }
                return;
            }
        }
        if let Some((number, ok)) = &mut share.probe {
            if *number == socket {
                first(ok);
            }
        }
    }

    /// An input from the browser: a leader tells the other tabs when its connection closes or proves alive.
    pub(super) fn share_input(&self, input: &Input) {
        let mut state = self.state.borrow_mut();
        let Some(share) = state.share.as_mut() else { return };
        match *input {
            Input::SocketClosed { socket, .. } if share.is_leading(socket) => share.down(),
            Input::Heartbeat { socket } if share.is_leading(socket) && share.followed => {
                share.post(HEARTBEAT, &JsValue::UNDEFINED)
            }
            _ => {}
        }
    }

    /// The leader closes its connection: the others hear it is down.
    pub(super) fn share_closed(&self) {
        if let Some(share) = self.state.borrow_mut().share.as_mut() {
            if share.leading.is_some() {
                share.down();
            }
        }
    }

    /// The leader's probe replaces its long-poll: a new connection for the others too.
    pub(super) fn share_promoted(&self) {
        if let Some(share) = self.state.borrow_mut().share.as_mut() {
            if let Some((socket, ok)) = share.probe.take() {
                share.down();
                share.post(OPENED, &ok);
                share.leading = Some((socket, ok));
            }
        }
    }

    /// The leader opens a WebSocket probe; returns whether a follower should skip it (its connection is the
    /// leader's).
    pub(super) fn share_probe(&self, socket: u32) -> bool {
        let mut state = self.state.borrow_mut();
        let Some(share) = state.share.as_mut() else { return false };
        if share.role == Role::Leader {
            share.probe = Some((socket, JsValue::UNDEFINED));
        }
        share.follows()
    }

    /// Handles a delivery from the share (see the kinds above).
    pub(super) fn shared(&self, kind: u8, value: JsValue) {
        let next = {
            let mut guard = self.state.borrow_mut();
            let state = &mut *guard;
            let Some(share) = state.share.as_mut() else { return };
            let relay = match &mut state.socket {
                Some(Connection::Relay(relay)) => Some(relay),
                _ => None,
            };
            share.delivered(kind, value, relay)
        };
        match next {
            Next::Nothing => {}
            Next::Open(effect) => self.apply_effect(effect),
            Next::Dropped { socket, at_once } => {
                // Dropping the connection closes it (a relay just stops); the session reconnects, at once or
                // once it can run again.
                self.state.borrow_mut().socket = None;
                if let Some(socket) = socket {
                    self.receive(Signal::Input(Input::SocketClosed { socket, code: 1006 }));
                }
                if at_once {
                    self.receive(Signal::Input(Input::Resumed));
                }
            }
            Next::Relayed(signal) => self.receive(signal),
            Next::Send(text) => self.send_frame(&text),
            Next::Resumed => self.receive(Signal::Input(Input::Resumed)),
        }
    }

    /// A follower's frame for the shared connection.
    pub(super) fn relay_send(&self, text: &str) {
        if let Some(share) = &self.state.borrow().share {
            share.post(SEND, &text.into());
        }
    }
}

/// What a delivery leads to, once the state is no longer borrowed.
enum Next {
    /// Nothing more.
    Nothing,
    /// Open the connection (a waiting attempt, or a relay that never opened, for real as the leader now).
    Open(Effect),
    /// Drop the connection (the one numbered so, if any, is closed for the session): an open relay that was
    /// lost, reconnected `at_once`; or the page is being frozen, reconnected when it resumes.
    Dropped {
        /// The session's number for the connection dropped.
        socket: Option<u32>,
        /// Whether the session reconnects at once.
        at_once: bool,
    },
    /// Hand the leader's frame (or heartbeat) to the session.
    Relayed(Signal),
    /// Send a follower's frame on the real connection.
    Send(String),
    /// The page runs again: reconnect at once.
    Resumed,
}

impl Share {
    /// What a delivery of `kind` with `value` does, given this tab's relay (while it follows).
    fn delivered(&mut self, kind: u8, value: JsValue, relay: Option<&mut Relay>) -> Next {
        match kind {
            LEAD | FOLLOW => {
                let waiting = self.waiting.take();
                if kind == FOLLOW {
                    self.role = Role::Follower;
                    return waiting.map_or(Next::Nothing, Next::Open);
                }
                self.role = Role::Leader;
                // Whoever follows the tab that led before hears that its connection is gone.
                self.post(DOWN, &JsValue::UNDEFINED);
                match relay {
                    // Not open yet: the same attempt, for real.
                    Some(relay) if !relay.opened => Next::Open(relay.open.clone()),
                    Some(relay) => Next::Dropped { socket: Some(relay.socket), at_once: true },
                    None => waiting.map_or(Next::Nothing, Next::Open),
                }
            }
            HELLO => {
                self.followed = true;
                if let Some((_, ok)) = &self.leading {
                    if ok.is_object() {
                        self.post(OPENED, ok);
                    }
                }
                Next::Nothing
            }
            OPENED | FRAME | HEARTBEAT => match relay {
                Some(relay) if kind == OPENED && !relay.opened => {
                    relay.opened = true;
                    Next::Relayed(Signal::Frame { socket: relay.socket, raw: value })
                }
                Some(relay) if kind == FRAME && relay.opened => {
                    Next::Relayed(Signal::Frame { socket: relay.socket, raw: value })
                }
                Some(relay) if kind == HEARTBEAT && relay.opened => {
                    Next::Relayed(Signal::Input(Input::Heartbeat { socket: relay.socket }))
                }
                _ => Next::Nothing,
            },
            DOWN => match relay {
                Some(relay) if relay.opened => {
                    Next::Dropped { socket: Some(relay.socket), at_once: true }
                }
                _ => Next::Nothing,
            },
            SEND if self.leading.is_some() => value.as_string().map_or(Next::Nothing, Next::Send),
            FROZEN if !self.frozen => {
                self.frozen = true;
                share_leave(&self.handle);
                let socket =
                    self.leading.as_ref().map(|(socket, _)| *socket).or(relay.map(|r| r.socket));
                if self.leading.is_some() {
                    self.down();
                }
                self.role = Role::Undecided;
                Next::Dropped { socket, at_once: false }
            }
            RESUMED if self.frozen => {
                self.frozen = false;
                share_join(&self.handle);
                Next::Resumed
            }
            _ => Next::Nothing,
        }
    }

    fn is_leading(&self, socket: u32) -> bool {
        self.leading.as_ref().is_some_and(|(number, _)| *number == socket)
    }

    /// The leader's connection is down: the others drop their relays and ask again.
    fn down(&mut self) {
        self.leading = None;
        self.post(DOWN, &JsValue::UNDEFINED);
    }
}
