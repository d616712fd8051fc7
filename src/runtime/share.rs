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
//! - Asking for the lock takes a round trip to the browser. A tab that finds no other tab leading (a mark the
//!   leader keeps in `localStorage`) opens its WebSocket at once and asks for the lock once the socket is open
//!   (asked during the handshake, the lock delayed the opening); should another tab lead after all, the session
//!   reconnects through the leader.
//! - When the leader tab closes, the browser releases the lock; the next tab in the lock's queue leads: it tells
//!   the others the connection is down and opens a new one, and every tab recovers as after a reconnect.
//! - A page being frozen (the `freeze` event) gives up the lock and its connection (a leader tells the others it
//!   is down) and asks again when it resumes, so a frozen tab never holds the connection others depend on.
//!
//! The sans-I/O session does not know: a relay is a socket to it.

use wasm_bindgen::JsValue;

use super::client::{Client, Connection};
use super::share_link::{copy_open, Next, Relay, Role, FRAME, HEARTBEAT, HELLO, OPENED, SEND};
use crate::client::{Effect, Input, Transport};
use crate::platform::Signal;

impl Client {
    /// Routes an `OpenSocket` when sharing: held until the role is known, or opened as a relay; returns whether
    /// it was (otherwise it opens for real, and a leader notes the connection's number).
    pub fn open_shared(&self, effect: &Effect) -> bool {
        let Effect::OpenSocket { socket, transport, .. } = *effect else { return false };
        let mut state = self.state_mut();
        let Some(share) = state.share.as_mut() else { return false };
        match share.role {
            Role::Undecided => {
                share.waiting = copy_open(effect);
                // A new attempt: the session is done with any socket opened early before it.
                share.early = None;
                // No tab led a moment ago: open now, and ask for the lock once open (`share_frame`); should
                // another tab lead after all, the session reconnects through it.
                if transport == Transport::WebSocket && share.alone() {
                    share.early = Some((socket, JsValue::UNDEFINED));
                    return false;
                }
                share.join();
            }
            Role::Leader => {
                share.leading = Some((socket, JsValue::UNDEFINED));
                return false;
            }
            Role::Follower => {
                share.post(HELLO, &JsValue::UNDEFINED);
                if let Some(open) = copy_open(effect) {
                    state.socket = Some(Connection::Relay(Relay { socket, open, opened: false }));
                }
            }
        }
        true
    }

    /// A frame from connection `socket` (`refusal`: an error frame): a leader keeps its connection's first (the
    /// `health.check` with `me` and `connection_id`) for hellos, and once another tab follows it posts its frames,
    /// the first as the connection opening; it keeps its probe's first.
    pub fn share_frame(&self, socket: u32, raw: &JsValue, refusal: bool) {
        let mut state = self.state_mut();
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
                // A tab that says hello later is answered with the kept first frame (`share_link.rs`).
                let opened = first(ok);
                if share.followed {
                    share.post(if opened { OPENED } else { FRAME }, raw);
                }
                return;
            }
        }
        if let Some((number, ok)) = share.probe.as_mut().or(share.early.as_mut()) {
            // A tab alone asks for the lock once its socket opened early is open (`share_link.rs`).
            if *number == socket && first(ok) && share.role == Role::Undecided {
                share.join_soon();
            }
        }
    }

    /// An input from the browser: a leader tells the other tabs when its connection closes or proves alive.
    pub fn share_input(&self, input: &Input) {
        let mut state = self.state_mut();
        let Some(share) = state.share.as_mut() else { return };
        match *input {
            Input::SocketClosed { socket, .. } if share.is_leading(socket) => share.down(),
            // The socket opened early closed before the role was known: nothing is left to open.
            Input::SocketClosed { socket, .. } if share.is_early(socket) => {
                share.early = None;
                share.waiting = None;
            }
            Input::Heartbeat { socket } if share.is_leading(socket) && share.followed => {
                share.post(HEARTBEAT, &JsValue::UNDEFINED)
            }
            _ => {}
        }
    }

    /// The leader closes its connection: the others hear it is down.
    pub fn share_closed(&self) {
        if let Some(share) = self.state_mut().share.as_mut() {
            if share.leading.is_some() {
                share.down();
            }
        }
    }

    /// The leader's probe replaces its long-poll: a new connection for the others too.
    pub fn share_promoted(&self) {
        if let Some(share) = self.state_mut().share.as_mut() {
            if let Some((socket, ok)) = share.probe.take() {
                share.down();
                share.post(OPENED, &ok);
                share.leading = Some((socket, ok));
            }
        }
    }

    /// The leader opens a WebSocket probe; returns whether a follower should skip it (its connection is the
    /// leader's).
    pub fn share_probe(&self, socket: u32) -> bool {
        let mut state = self.state_mut();
        let Some(share) = state.share.as_mut() else { return false };
        if share.role == Role::Leader {
            share.probe = Some((socket, JsValue::UNDEFINED));
        }
        share.follows()
    }

    /// Handles a delivery from the share (the kinds are in `share_link.rs`).
    pub fn shared(&self, kind: u8, value: JsValue) {
        let next = {
            let mut guard = self.state_mut();
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
                self.state_mut().socket = None;
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
    pub fn relay_send(&self, text: &str) {
        if let Some(share) = &self.state_ref().share {
            share.post(SEND, &text.into());
        }
    }
}
