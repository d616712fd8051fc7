//! What the loop does with each effect the sans-I/O session returns: open and close the WebSocket, the long-poll
//! transport or the fallback's probe, send frames, run timers, dispatch and emit events, settle `connectUser`, make
//! and finish REST calls, recover after a reconnect. A follower of the shared connection skips what only the tab
//! holding it does (`share.rs`).

use wasm_bindgen::JsValue;

use super::client::{Client, Connection};
use super::share_link::Share;
use crate::client::{Effect, Input, Transport};
use crate::platform::longpoll::{LongPoll, Target};
use crate::platform::socket::Socket;
use crate::platform::{storage, Signal};

impl Client {
    /// Carries out one effect of the session (`frame`: the frame being handled, for `Dispatch` and `Settle`).
    pub(super) fn apply(&self, effect: Effect, frame: &JsValue) {
        if self.open_shared(&effect) {
            return;
        }
        match effect {
            Effect::LoadToken { request } => self.load_token(request),
            Effect::OpenSocket { socket, url, transport: Transport::WebSocket, .. } => {
                self.log("info", "connection: opening WebSocket");
                match Socket::open(&url, socket, &self.port) {
                    Ok(opened) => self.state_mut().socket = Some(Connection::WebSocket(opened)),
                    // An unusable URL fails like a refused connection.
                    Err(_) => {
                        self.receive(Signal::Input(Input::SocketClosed { socket, code: 1006 }))
                    }
                }
            }
            Effect::OpenSocket { socket, url, transport: Transport::LongPoll, token } => {
                self.log("info", "connection: opening long-poll");
                let mut state = self.state_mut();
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
                    let mut state = self.state_mut();
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
                self.state_mut().probe = probe;
                if failed {
                    self.receive(Signal::Input(Input::SocketClosed { socket, code: 1006 }));
                }
            }
            Effect::CloseProbe => {
                if let Some(probe) = self.state_mut().probe.take() {
                    probe.close(1000, "probe ended", None);
                }
            }
            Effect::PromoteProbe => {
                {
                    let mut state = self.state_mut();
                    state.socket = state.probe.take().map(Connection::WebSocket);
                }
                self.share_promoted();
            }
            // What a follower's relay did says nothing about WebSockets.
            Effect::RememberWebSocketFailure(_) if self.follows() => {}
            Effect::RememberWebSocketFailure(failed) => {
                let url = self.state_ref().session.config().ws_base_url.clone();
                storage::remember_websocket_failure(&url, failed);
            }
            Effect::StartTimer(timer, ms) => self.state_mut().timers.start(timer, ms, &self.port),
            Effect::StopTimer(timer) => self.state_mut().timers.stop(timer),
            Effect::Dispatch => self.dispatch_frame(frame),
            Effect::Emit(event) => self.emit(event),
            Effect::Settle(result) => {
                let opened = result.is_ok();
                self.state_mut().fresh &= !opened;
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
                if self.state_ref().options.recover_on_reconnect {
                    self.recover();
                } else {
                    self.receive(Signal::Input(Input::Recovered));
                }
            }
            Effect::UseToken(token) => {
                if let Some(Connection::LongPoll(transport)) = &mut self.state_mut().socket {
                    transport.use_token(token);
                }
            }
        }
    }

    /// Whether this tab follows another's connection.
    fn follows(&self) -> bool {
        self.state_ref().share.as_ref().is_some_and(Share::follows)
    }
}
