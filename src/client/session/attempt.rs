//! A connection attempt from start to end, the part of [`Session`] that follows one socket: `connect` starts it
//! (asking for a token first when there is none), the token's answer, the first frame (`connection.ok` opens, an
//! error frame refuses), other frames while open, and the socket's close (lost, refused or closed for good).

use alloc::vec::Vec;

use stream_chat_protocol::event::{
    CLOSE_NORMAL, CONNECTION_CHECK_TIMEOUT_MS, HEALTH_CHECK, PING_INTERVAL_MS,
};
use stream_chat_protocol::ErrorBody;

use super::super::user::check_token;
use super::{
    ChatError, ConnectRequest, Effect, Entropy, Frame, LocalEvent, Session, State, Timer,
    Transport, User,
};

impl Session {
    pub(super) fn connect(
        &mut self,
        request: ConnectRequest,
        fx: &mut Vec<Effect>,
        entropy: &mut dyn Entropy,
    ) {
        // From nothing, or after a close (`closeConnection()`, or the server's): `openConnection()` starts over.
        if !matches!(self.state, State::Idle | State::Closed) {
            return;
        }
        self.user = Some(User {
            client_id: request.user_id.clone() + "--" + &entropy.uuid(),
            id: request.user_id,
            json: request.user_json,
            token: request.token,
        });
        self.state = State::Connecting;
        self.failures = 0;
        self.refreshed = false;
        self.ws_worked = false;
        self.probe_failures = 0;
        self.transport = if self.config.fallback && self.config.start_with_longpoll {
            Transport::LongPoll
        } else {
            Transport::WebSocket
        };
        fx.push(Effect::StartTimer(Timer::ConnectTimeout, self.config.connect_timeout_ms));
        self.attempt(fx, entropy);
    }

    /// Starts a connection attempt: asks for a token first when there is none.
    pub(super) fn attempt(&mut self, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
        let Some(user) = &self.user else { return };
        if user.token.is_none() {
            return self.request_token(fx);
        }
        let transport = self.transport;
        let url = self.url_for(user, &entropy.uuid(), transport);
        let token = user.token.clone().unwrap_or_default();
        self.socket = self.next_socket();
        self.socket_open = true;
        fx.push(Effect::OpenSocket { socket: self.socket, url, transport, token });
        // A socket that never answers counts as failed after the connection check.
        fx.push(Effect::StartTimer(Timer::ConnectionCheck, CONNECTION_CHECK_TIMEOUT_MS));
        if self.may_fall_back() {
            fx.push(Effect::StartTimer(Timer::FirstFrame, self.config.ws_fallback_timeout_ms));
        }
    }

    pub(super) fn token_loaded(
        &mut self,
        result: Result<String, String>,
        fx: &mut Vec<Effect>,
        entropy: &mut dyn Entropy,
    ) {
        match (result, &self.state) {
            (Ok(token), State::Connecting | State::Reconnecting) => {
                let Some(user) = &mut self.user else { return };
                if let Err(error) = check_token(&token, &user.id, self.read_claims) {
                    return self.fail(error, fx);
                }
                // A connection attempt waits for this token only when the user has none (a refusal with code 40
                // cleared it); a refresh for REST calls that lands while reconnecting just updates it.
                let attempt_waits = user.token.is_none();
                user.token = Some(token);
                // Calls parked for the refresh wait for the connection like any other call now.
                for request in self.requests.take_parked() {
                    self.requests.enqueue(request, self.config.connect_timeout_ms, fx);
                }
                if attempt_waits {
                    self.attempt(fx, entropy);
                }
            }
            (Err(reason), State::Connecting) => self.fail(ChatError::TokenProvider(reason), fx),
            (Err(reason), State::Reconnecting) => {
                self.requests.fail_parked(&ChatError::TokenProvider(reason), fx);
                if self.user.as_ref().is_some_and(|user| user.token.is_none()) {
                    self.retry_later(fx, entropy);
                }
            }
            // A refresh for REST calls that got code 40: retry them once with the new token.
            (Ok(token), State::Open { .. } | State::Closed) => {
                if let Some(user) = &mut self.user {
                    user.token = Some(token.clone());
                }
                fx.push(Effect::UseToken(token));
                for request in self.requests.take_parked() {
                    self.fetch(request, fx);
                }
            }
            (Err(reason), State::Open { .. } | State::Closed) => {
                self.requests.fail_parked(&ChatError::TokenProvider(reason), fx);
            }
            _ => {}
        }
    }

    pub(super) fn on_frame(&mut self, frame: Frame, fx: &mut Vec<Effect>) {
        let is_health_check = frame.kind.as_deref() == Some(HEALTH_CHECK);
        match self.state {
            State::Connecting | State::Reconnecting => {
                if let Some(error) = frame.error {
                    return self.refused(error, fx);
                }
                let recovering = self.state == State::Reconnecting;
                self.state = State::Open { connection_id: frame.connection_id.unwrap_or_default() };
                self.failures = 0;
                self.refreshed = false;
                if self.transport == Transport::WebSocket {
                    self.ws_worked = true;
                } else if self.config.fallback {
                    self.schedule_probe(fx);
                }
                fx.extend([
                    Effect::StopTimer(Timer::FirstFrame),
                    Effect::StartTimer(Timer::ConnectionCheck, CONNECTION_CHECK_TIMEOUT_MS),
                    Effect::StopTimer(Timer::ConnectTimeout),
                    Effect::StopTimer(Timer::Retry),
                    Effect::StopTimer(Timer::OfflineNotice),
                    Effect::Emit(LocalEvent::ConnectionChanged { online: true }),
                    Effect::Dispatch,
                ]);
                if is_health_check {
                    fx.push(Effect::StartTimer(Timer::Ping, PING_INTERVAL_MS));
                }
                fx.push(if recovering { Effect::Recover } else { Effect::Settle(Ok(())) });
                // Calls that waited for the connection go out now, in order.
                for request in self.requests.take_queued(fx) {
                    self.fetch(request, fx);
                }
            }
            State::Open { .. } => {
                fx.push(Effect::StartTimer(Timer::ConnectionCheck, CONNECTION_CHECK_TIMEOUT_MS));
                fx.push(Effect::Dispatch);
                if is_health_check {
                    fx.push(Effect::StartTimer(Timer::Ping, PING_INTERVAL_MS));
                }
            }
            State::Idle | State::Closed => {}
        }
    }

    /// The server refused a connection attempt with `error`.
    pub(super) fn refused(&mut self, error: ErrorBody, fx: &mut Vec<Effect>) {
        self.close_socket(CLOSE_NORMAL, "refused by the server", fx);
        if error.code == stream_chat_protocol::ErrorCode::TokenExpired.code()
            && self.has_token_provider
            && !self.refreshed
        {
            self.refreshed = true;
            if let Some(user) = &mut self.user {
                user.token = None;
            }
            self.token_request = (self.token_request.0.wrapping_add(1), true);
            fx.push(Effect::LoadToken { request: self.token_request.0 });
            return;
        }
        match self.state {
            State::Connecting => self.fail(ChatError::Server(error), fx),
            _ => self.close_for_good(fx),
        }
    }

    /// The server ended the connection for good: no reconnect, and calls waiting for it are rejected.
    pub(super) fn close_for_good(&mut self, fx: &mut Vec<Effect>) {
        self.state = State::Closed;
        self.stop_timers(fx);
        fx.push(Effect::Emit(LocalEvent::ConnectionChanged { online: false }));
        self.requests.fail_all(&ChatError::NotConnected, fx);
    }

    pub(super) fn on_closed(&mut self, code: u16, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
        match self.state {
            // The protocol's "closed for good": no reconnect.
            State::Open { .. } if code == CLOSE_NORMAL => self.close_for_good(fx),
            State::Open { .. } => self.lose(fx, entropy),
            State::Connecting | State::Reconnecting if self.may_fall_back() => {
                self.fall_back(fx, entropy)
            }
            State::Connecting | State::Reconnecting => {
                self.failures = self.failures.saturating_add(1);
                self.retry_later(fx, entropy);
            }
            State::Idle | State::Closed => {}
        }
    }
}
