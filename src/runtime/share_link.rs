//! This tab's link to the others sharing one connection (`share.rs` drives it): the Web Lock and
//! `BroadcastChannel` on the JS side (`helpers.js`), the role this tab has, a follower's relay, and what each
//! delivery from the other tabs leads to.

use alloc::string::String;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use crate::client::{Effect, Input};
use crate::platform::page::{FROZEN, RESUMED};
use crate::platform::{Signal, Sink};

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// Joins the tabs sharing `name`: delivers the other tabs' posts as `deliver(kind, value)` and, where another
    /// tab leads, requests the lock `name` (`deliver(LEAD)` once held; `deliver(FOLLOW)` first when another tab
    /// holds it), both from a microtask; a tab alone requests it through [`share_join`]. `null` where the browser
    /// has no Web Locks or `BroadcastChannel`.
    #[wasm_bindgen(js_name = shareStart)]
    pub fn share_start(name: &str, deliver: &Closure<dyn FnMut(u8, JsValue)>) -> JsValue;

    /// Whether no tab led when this one last asked for the lock (as far as `localStorage` tells): its socket may
    /// open before the lock's answer.
    #[wasm_bindgen(js_name = shareAlone)]
    pub fn share_alone(share: &JsValue) -> bool;

    /// Posts `[kind, value]` to the other tabs.
    #[wasm_bindgen(js_name = sharePost)]
    pub fn share_post(share: &JsValue, kind: u8, value: &JsValue);

    /// Releases the lock (or stops waiting for it), keeping the channel: the page is being frozen.
    #[wasm_bindgen(js_name = shareLeave)]
    pub fn share_leave(share: &JsValue);

    /// Asks for the lock, if not asked already: a tab alone once its socket is open (or to open a connection that
    /// is not its own socket), any tab again after [`share_leave`] (`deliver(LEAD)` or `deliver(FOLLOW)` follows).
    /// `soon`: in a task of its own (so that it does not delay what the socket's first frame settles), and not
    /// if the page left meanwhile.
    #[wasm_bindgen(js_name = shareJoin)]
    pub fn share_join(share: &JsValue, soon: bool);

    /// Leaves: releases the lock (or stops waiting for it) and closes the channel; nothing is delivered after.
    #[wasm_bindgen(js_name = shareEnd)]
    pub fn share_end(share: &JsValue);
}

/// This tab holds the lock.
pub const LEAD: u8 = 0;
/// Another tab holds the lock; this one waits for it.
pub const FOLLOW: u8 = 1;
/// A follower asks for the leader's `connection.ok`.
pub const HELLO: u8 = 2;
/// The leader's connection is open: its `connection.ok`.
pub const OPENED: u8 = 3;
/// A frame of the leader's connection.
pub const FRAME: u8 = 4;
/// The leader's connection is down (closed, lost, or its tab gave up the lead).
pub const DOWN: u8 = 5;
/// A follower's frame for the leader to send (a ping).
pub const SEND: u8 = 6;
/// The leader's long-poll was answered: its connection is alive.
pub const HEARTBEAT: u8 = 7;
// 8 and 9 are `page::FROZEN` (this page is being frozen, never posted: it gives up the lock and its connection, so
// that another tab leads while it cannot run) and `page::RESUMED` (it asks for the lock again and reconnects).

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
    pub open: Effect,
    /// Whether the leader's `connection.ok` came.
    pub opened: bool,
}

/// This tab's part in sharing one connection.
#[derive(Debug)]
pub struct Share {
    /// The JS side (see `helpers.js`).
    pub handle: JsValue,
    /// Forwards deliveries to the loop; lives as long as the share.
    pub _deliver: Closure<dyn FnMut(u8, JsValue)>,
    /// Where this tab stands.
    pub role: Role,
    /// An `OpenSocket` that came before the role was known.
    pub waiting: Option<Effect>,
    /// That WebSocket's number, and its `connection.ok` once open: it becomes the leader's connection, or is
    /// dropped for a relay if another tab leads after all.
    pub early: Option<(u32, JsValue)>,
    /// The leader's connection number, and its `connection.ok` once open (for hellos).
    pub leading: Option<(u32, JsValue)>,
    /// The leader's WebSocket probe (while on long-poll), and its `connection.ok`.
    pub probe: Option<(u32, JsValue)>,
    /// The page is frozen: it has left the lock's queue.
    pub frozen: bool,
    /// Whether another tab has followed this one (said hello): until then a leader posts no frames, so a page
    /// alone pays nothing per event for sharing.
    pub followed: bool,
}

impl Share {
    /// Joins the tabs of `user_id` at `base_url` with `api_key`; `None` where the browser cannot share.
    pub fn start(api_key: &str, base_url: &str, user_id: &str, sink: &impl Sink) -> Option<Share> {
        let name = String::from("stream-chat-wasm:") + api_key + "@" + base_url + "#" + user_id;
        let sink = sink.clone();
        let deliver = Closure::new(move |kind, value| sink.send(Signal::Share { kind, value }));
        let handle = share_start(&name, &deliver);
        (!handle.is_null()).then_some(Share {
            handle,
            _deliver: deliver,
            role: Role::Undecided,
            waiting: None,
            early: None,
            leading: None,
            probe: None,
            frozen: false,
            followed: false,
        })
    }

    pub fn post(&self, kind: u8, value: &JsValue) {
        share_post(&self.handle, kind, value);
    }

    /// Whether no tab led when this one last asked for the lock.
    pub fn alone(&self) -> bool {
        share_alone(&self.handle)
    }

    /// Asks for the lock (see [`share_join`]).
    pub fn join(&self) {
        share_join(&self.handle, false);
    }

    /// Asks for the lock once what is being handled is done (see [`share_join`]).
    pub fn join_soon(&self) {
        share_join(&self.handle, true);
    }

    /// Whether this tab follows another.
    pub fn follows(&self) -> bool {
        self.role == Role::Follower
    }
}

/// A copy of `effect` when it is an `OpenSocket`, the one effect the share keeps (`None` for any other): copied
/// field by field, as a derived clone of any effect would carry every kind's (and their errors') copying code.
pub fn copy_open(effect: &Effect) -> Option<Effect> {
    let Effect::OpenSocket { socket, url, transport, token } = effect else { return None };
    Some(Effect::OpenSocket {
        socket: *socket,
        url: url.clone(),
        transport: *transport,
        token: token.clone(),
    })
}

impl Drop for Share {
    fn drop(&mut self) {
        share_end(&self.handle);
    }
}

/// What a delivery leads to, once the state is no longer borrowed.
#[derive(Debug)]
pub enum Next {
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
    pub fn delivered(&mut self, kind: u8, value: JsValue, relay: Option<&mut Relay>) -> Next {
        match kind {
            LEAD | FOLLOW => {
                let waiting = self.waiting.take();
                let early = self.early.take();
                if kind == FOLLOW {
                    self.role = Role::Follower;
                    return match early {
                        // Another tab led after all and this one's socket already opened: drop it, the session
                        // reconnects through the leader.
                        Some((socket, ok)) if ok.is_object() => {
                            Next::Dropped { socket: Some(socket), at_once: true }
                        }
                        // Not open yet (or none): the same attempt as a relay, which replaces the socket.
                        _ => waiting.map_or(Next::Nothing, Next::Open),
                    };
                }
                self.role = Role::Leader;
                // Whoever follows the tab that led before hears that its connection is gone.
                self.post(DOWN, &JsValue::UNDEFINED);
                if let Some((socket, ok)) = early {
                    // The socket opened early is the leader's connection.
                    if self.followed && ok.is_object() {
                        self.post(OPENED, &ok);
                    }
                    self.leading = Some((socket, ok));
                    return Next::Nothing;
                }
                match relay {
                    // Not open yet: the same attempt, for real.
                    Some(relay) if !relay.opened => {
                        copy_open(&relay.open).map_or(Next::Nothing, Next::Open)
                    }
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
                let early = self.early.take().map(|(socket, _)| socket);
                if early.is_some() {
                    self.waiting = None;
                }
                let socket =
                    self.leading.as_ref().map(|(socket, _)| *socket).or(relay.map(|r| r.socket));
                let socket = socket.or(early);
                if self.leading.is_some() {
                    self.down();
                }
                self.role = Role::Undecided;
                Next::Dropped { socket, at_once: false }
            }
            RESUMED if self.frozen => {
                self.frozen = false;
                self.join();
                Next::Resumed
            }
            _ => Next::Nothing,
        }
    }

    /// Whether `socket` is this tab's connection as the leader.
    pub fn is_leading(&self, socket: u32) -> bool {
        is_numbered(&self.leading, socket)
    }

    /// Whether `socket` is the one opened before the role was known.
    pub fn is_early(&self, socket: u32) -> bool {
        is_numbered(&self.early, socket)
    }

    /// The leader's connection is down: the others drop their relays and ask again.
    pub fn down(&mut self) {
        self.leading = None;
        self.post(DOWN, &JsValue::UNDEFINED);
    }
}

/// Whether `held` (a connection's number and its `connection.ok`) is connection `socket`.
fn is_numbered(held: &Option<(u32, JsValue)>, socket: u32) -> bool {
    held.as_ref().is_some_and(|(number, _)| *number == socket)
}
