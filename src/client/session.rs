//! The connection state machine, sans I/O: [`Session::handle`] takes one [`Input`] (a frame, a close, a timer, a
//! command) and returns the [`Effect`]s the browser layer must carry out (open a socket, arm a timer, settle the
//! `connectUser` promise, emit an event). It never touches the network or the clock, so tests drive it directly.
//! One attempt's steps, from `connect` to the socket's close, are in `session/attempt.rs`; the REST calls it holds
//! back in `requests.rs`; the long-poll fallback in `fallback.rs`.
//!
//! ```text
//! Idle ──connect──▶ Connecting ──first frame──▶ Open ──socket lost──▶ Reconnecting ──first frame──▶ Open
//!   ▲                  │ error frame / timeout      │ close 1000            │ error frame
//!   └──────────────────┘                            ▼                       ▼
//!   ◀──────────────────────── disconnect ───────── Closed ◀────────────────┘
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use stream_chat_protocol::event::{health_check_ping, CLOSE_NORMAL, CONNECTION_CHECK_TIMEOUT_MS};

use super::backoff::retry_interval;
use super::error::ChatError;
use super::user::ClaimsReader;

mod attempt;
mod fallback;
mod io;
mod requests;
mod url;

pub use io::*;
use requests::{Answered, Requests};
pub use url::ws_base_url;
use url::{connect_url, Connecting};

/// How long after losing a connection `connection.changed {online: false}` is emitted, if still lost.
pub const OFFLINE_NOTICE_MS: u32 = 5_000;
/// The close code the SDK uses for a socket it gives up on because it went silent.
pub const CLOSE_STALE: u16 = 4_000;
/// How long an open WebSocket has to answer a ping after the page woke up before it counts as dead (a live
/// server answers in milliseconds). Long-poll keeps its own check: a poll is held up to 20 s.
pub const WAKE_CHECK_MS: u32 = 3_000;
/// The interval of the retry that a browser `online` event triggers.
const ONLINE_RETRY_MS: u32 = 10;

/// How long a probe may go without its first frame.
const PROBE_TIMEOUT_MS: u32 = 5_000;

/// The connected user as the session keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct User {
    /// The user id.
    id: String,
    /// `user_details`, as JSON text.
    json: String,
    /// `<id>--<uuid>`, sent in pings.
    client_id: String,
    /// The token in use; `None` while the provider is asked for one.
    token: Option<String>,
}

/// The state machine of one client's connection.
#[derive(Clone, Debug)]
pub struct Session {
    /// App settings.
    config: SessionConfig,
    /// Where the connection stands.
    state: State,
    /// The user between `connectUser` and `disconnectUser`.
    user: Option<User>,
    /// Whether a token provider gives tokens (and so may refresh them on code 40).
    has_token_provider: bool,
    /// The number of the newest socket; events from older ones are ignored.
    socket: u32,
    /// Whether socket number `socket` is open (or opening).
    socket_open: bool,
    /// Consecutive failed attempts; sets the backoff.
    failures: u32,
    /// The number of the newest token request, and whether it is still outstanding.
    token_request: (u32, bool),
    /// Whether a code-40 refresh was already tried for the current attempt.
    refreshed: bool,
    /// REST calls held back: waiting for the connection or for a refreshed token.
    requests: Requests,
    /// The transport the next attempt uses.
    transport: Transport,
    /// Whether a WebSocket has worked in this session; then its failures are transient, not a blocked network.
    ws_worked: bool,
    /// The WebSocket probe in flight, while on long-poll.
    probe: Option<u32>,
    /// Consecutive failed probes; sets the probe backoff.
    probe_failures: u32,
    /// The browser is offline: no attempts until it is back.
    paused: bool,
    /// The number the next socket or probe gets.
    next_socket: u32,
    /// Reads tokens' claims (to check a provider's tokens belong to the user).
    read_claims: ClaimsReader,
}

impl Session {
    /// An idle session; `read_claims` reads tokens' claims.
    pub fn new(config: SessionConfig, read_claims: ClaimsReader) -> Self {
        Session {
            read_claims,
            state: State::Idle,
            user: None,
            has_token_provider: false,
            socket: 0,
            socket_open: false,
            failures: 0,
            token_request: (0, false),
            refreshed: false,
            requests: Requests::default(),
            transport: if config.fallback && config.start_with_longpoll {
                Transport::LongPoll
            } else {
                Transport::WebSocket
            },
            ws_worked: false,
            probe: None,
            probe_failures: 0,
            paused: false,
            next_socket: 0,
            config,
        }
    }

    /// The transport in use (or about to be).
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// Where the connection stands.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The connection id while open.
    pub fn connection_id(&self) -> Option<&str> {
        match &self.state {
            State::Open { connection_id } => Some(connection_id),
            _ => None,
        }
    }

    /// The user between `connectUser` and `disconnectUser`.
    pub fn user_id(&self) -> Option<&str> {
        self.user.as_ref().map(|user| user.id.as_str())
    }

    /// The settings in use.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// Changes the `X-Stream-Client` value; takes effect at the next request and attempt.
    pub fn set_user_agent(&mut self, user_agent: String) {
        self.config.user_agent = user_agent;
    }

    /// Changes the WebSocket base URL; takes effect at the next attempt.
    pub fn set_ws_base_url(&mut self, url: String) {
        self.config.ws_base_url = url;
    }

    /// Whether the next `connectUser` starts on long-poll (WebSockets failed recently for this URL).
    pub fn set_start_with_longpoll(&mut self, start_with_longpoll: bool) {
        self.config.start_with_longpoll = start_with_longpoll;
    }

    /// Handles one input and returns what to do about it.
    pub fn handle(&mut self, input: Input, entropy: &mut dyn Entropy) -> Vec<Effect> {
        let mut fx = Vec::new();
        match input {
            Input::Connect(request) => self.connect(request, &mut fx, entropy),
            Input::TokenLoaded { request, result } => {
                if self.token_request == (request, true) {
                    self.token_request.1 = false;
                    self.token_loaded(result, &mut fx, entropy);
                }
            }
            Input::Frame { socket, frame } if self.is_current(socket) => {
                self.on_frame(frame, &mut fx)
            }
            Input::Frame { socket, frame } if self.probe == Some(socket) => {
                self.on_probe_frame(socket, frame, &mut fx)
            }
            Input::SocketClosed { socket, .. } if self.probe == Some(socket) => {
                self.probe_failed(&mut fx)
            }
            Input::Heartbeat { socket } if self.is_current(socket) => {
                if matches!(self.state, State::Open { .. }) {
                    fx.push(Effect::StartTimer(
                        Timer::ConnectionCheck,
                        CONNECTION_CHECK_TIMEOUT_MS,
                    ));
                }
            }
            Input::Heartbeat { .. } => {}
            Input::SocketClosed { socket, code } if self.is_current(socket) => {
                self.socket_open = false;
                self.on_closed(code, &mut fx, entropy);
            }
            Input::Frame { .. } | Input::SocketClosed { .. } => {}
            Input::Timer(timer) => self.on_timer(timer, &mut fx, entropy),
            Input::Online => {
                self.paused = false;
                self.check_now(&mut fx);
            }
            Input::Resumed => self.check_now(&mut fx),
            Input::Offline => {
                if matches!(self.state, State::Open { .. } | State::Reconnecting) {
                    self.paused = true;
                    self.close_socket(CLOSE_NORMAL, "the browser is offline", &mut fx);
                    self.close_probe(&mut fx);
                    if matches!(self.state, State::Open { .. }) {
                        self.lose(&mut fx, entropy);
                    }
                    fx.push(Effect::StopTimer(Timer::Retry));
                }
            }
            Input::Disconnect => self.fail_requests(ChatError::Disconnected, &mut fx),
            Input::Close => self.close_keeping_user(&mut fx),
            Input::Submit { request } => {
                let not_connected = Effect::Fail { request, error: ChatError::NotConnected };
                self.send_or_queue(request, not_connected, &mut fx);
            }
            Input::Answered { request, expired } => {
                match self.requests.answered(request, expired, self.has_token_provider) {
                    Answered::Parked => self.request_token(&mut fx),
                    Answered::Finish => fx.push(Effect::Finish { request }),
                }
            }
            Input::ConnectionGone { request } => {
                // Sent again on the connection there is now; otherwise settled with the refusal it got.
                if self.requests.connection_gone(request) {
                    self.send_or_queue(request, Effect::Finish { request }, &mut fx);
                } else {
                    fx.push(Effect::Finish { request });
                }
            }
            Input::Recovered => {
                if matches!(self.state, State::Open { .. }) {
                    fx.push(Effect::Emit(LocalEvent::ConnectionRecovered));
                }
            }
        }
        fx
    }

    /// The page woke up or came back online: an open connection must answer a ping within
    /// [`WAKE_CHECK_MS`] or is replaced; a lost one is retried at once.
    fn check_now(&mut self, fx: &mut Vec<Effect>) {
        match &self.state {
            State::Open { .. } if self.socket_open && self.transport == Transport::WebSocket => {
                if let Some(user) = &self.user {
                    fx.push(Effect::Send(health_check_ping(&user.client_id)));
                }
                fx.push(Effect::StartTimer(Timer::ConnectionCheck, WAKE_CHECK_MS));
            }
            State::Reconnecting if !self.socket_open && !self.token_request.1 && !self.paused => {
                fx.push(Effect::StartTimer(Timer::Retry, ONLINE_RETRY_MS));
            }
            _ => {}
        }
    }

    /// `Fetch` for `request` with the current connection and token.
    /// Sends `request` on the open connection, or queues it while one is being established; without one (no user,
    /// or closed for good) `otherwise` is its outcome.
    fn send_or_queue(&mut self, request: u32, otherwise: Effect, fx: &mut Vec<Effect>) {
        match self.state {
            State::Open { .. } => self.fetch(request, fx),
            State::Connecting | State::Reconnecting => {
                self.requests.enqueue(request, self.config.connect_timeout_ms, fx)
            }
            State::Closed if self.user.is_some() => self.fetch(request, fx),
            State::Idle | State::Closed => fx.push(otherwise),
        }
    }

    fn fetch(&mut self, request: u32, fx: &mut Vec<Effect>) {
        self.requests.sent(request);
        let token = self.user.as_ref().and_then(|user| user.token.clone()).unwrap_or_default();
        let connection_id = self.connection_id().map(String::from);
        fx.push(Effect::Fetch { request, connection_id, token });
    }

    /// Asks the provider for a token unless a request is already out (one refresh shared by every caller).
    fn request_token(&mut self, fx: &mut Vec<Effect>) {
        if !self.token_request.1 {
            self.token_request = (self.token_request.0.wrapping_add(1), true);
            fx.push(Effect::LoadToken { request: self.token_request.0 });
        }
    }

    /// Rejects every waiting REST call with `error` and resets the session (disconnect, or a failed connect).
    fn fail_requests(&mut self, error: ChatError, fx: &mut Vec<Effect>) {
        self.reset(fx);
        self.requests.fail_all(&error, fx);
    }

    /// Marks that the next `connect` gets its token from a provider.
    pub fn use_token_provider(&mut self, has_provider: bool) {
        self.has_token_provider = has_provider;
    }

    fn is_current(&self, socket: u32) -> bool {
        socket == self.socket && self.socket_open
    }

    fn next_socket(&mut self) -> u32 {
        self.next_socket = self.next_socket.wrapping_add(1);
        self.next_socket
    }

    fn on_timer(&mut self, timer: Timer, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
        match (timer, &self.state) {
            (Timer::Retry, State::Connecting | State::Reconnecting)
                if !self.socket_open && !self.token_request.1 && !self.paused =>
            {
                self.attempt(fx, entropy);
            }
            (Timer::FirstFrame, State::Connecting | State::Reconnecting)
                if self.socket_open && self.may_fall_back() =>
            {
                self.fall_back(fx, entropy);
            }
            (Timer::Probe, State::Open { .. })
                if self.transport == Transport::LongPoll && self.probe.is_none() =>
            {
                if let Some(user) = &self.user {
                    let url = self.url_for(user, &entropy.uuid(), Transport::WebSocket);
                    let socket = self.next_socket();
                    self.probe = Some(socket);
                    fx.extend([
                        Effect::OpenProbe { socket, url },
                        Effect::StartTimer(Timer::ProbeTimeout, PROBE_TIMEOUT_MS),
                    ]);
                }
            }
            (Timer::ProbeTimeout, _) if self.probe.is_some() => self.probe_failed(fx),
            (Timer::Ping, State::Open { .. }) => {
                if let Some(user) = &self.user {
                    fx.push(Effect::Send(health_check_ping(&user.client_id)));
                }
            }
            (Timer::ConnectionCheck, State::Open { .. }) => {
                self.close_socket(CLOSE_STALE, "no frame received for 35 s", fx);
                self.lose(fx, entropy);
            }
            (Timer::ConnectionCheck, State::Connecting | State::Reconnecting)
                if self.socket_open =>
            {
                self.close_socket(CLOSE_STALE, "no answer from the server", fx);
                self.failures = self.failures.saturating_add(1);
                self.retry_later(fx, entropy);
            }
            (Timer::QueuedCalls, _) => {
                self.requests.expire_queued(self.config.connect_timeout_ms, fx)
            }
            (Timer::OfflineNotice, State::Reconnecting) => {
                fx.push(Effect::Emit(LocalEvent::ConnectionChanged { online: false }));
            }
            (Timer::ConnectTimeout, State::Connecting) => {
                let after_ms = self.config.connect_timeout_ms;
                self.fail(ChatError::ConnectTimeout { after_ms }, fx);
            }
            _ => {}
        }
    }

    /// An open connection was lost: start reconnecting.
    fn lose(&mut self, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
        self.state = State::Reconnecting;
        fx.extend([
            Effect::StopTimer(Timer::Ping),
            Effect::StopTimer(Timer::ConnectionCheck),
            Effect::StartTimer(Timer::OfflineNotice, OFFLINE_NOTICE_MS),
        ]);
        self.retry_later(fx, entropy);
    }

    fn retry_later(&mut self, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
        fx.push(Effect::StopTimer(Timer::ConnectionCheck));
        if self.paused {
            return;
        }
        fx.push(Effect::StartTimer(Timer::Retry, retry_interval(self.failures, entropy.random())));
    }

    /// `connectUser` failed: reject it and every call waiting for it, and forget the user, as `disconnectUser`
    /// would.
    fn fail(&mut self, error: ChatError, fx: &mut Vec<Effect>) {
        self.fail_requests(error.clone(), fx);
        fx.push(Effect::Settle(Err(error)));
    }

    /// `closeConnection()`: closed for good, but the user and its token stay for REST calls; calls that waited for
    /// the connection go out now, without one.
    fn close_keeping_user(&mut self, fx: &mut Vec<Effect>) {
        if self.user.is_none() {
            return;
        }
        self.close_socket(
            CLOSE_NORMAL,
            "Manually closed connection by calling client.closeConnection()",
            fx,
        );
        self.close_probe(fx);
        self.stop_timers(fx);
        self.state = State::Closed;
        self.paused = false;
        self.failures = 0;
        for request in self.requests.take_queued(fx) {
            self.fetch(request, fx);
        }
    }

    fn reset(&mut self, fx: &mut Vec<Effect>) {
        self.close_socket(
            CLOSE_NORMAL,
            "Manually closed connection by calling client.disconnect()",
            fx,
        );
        self.close_probe(fx);
        self.stop_timers(fx);
        self.state = State::Idle;
        self.user = None;
        self.paused = false;
        self.token_request.1 = false;
        self.failures = 0;
    }

    /// The URL a connection attempt for `user` opens.
    fn url_for(&self, user: &User, request_id: &str, transport: Transport) -> String {
        let who = Connecting {
            user_id: &user.id,
            user_json: &user.json,
            token: user.token.as_deref().unwrap_or(""),
            request_id,
        };
        connect_url(&self.config, &who, transport)
    }

    fn close_socket(&mut self, code: u16, reason: &'static str, fx: &mut Vec<Effect>) {
        if self.socket_open {
            self.socket_open = false;
            fx.push(Effect::CloseSocket { code, reason });
        }
    }

    fn stop_timers(&self, fx: &mut Vec<Effect>) {
        fx.extend(ALL_TIMERS.iter().map(|timer| Effect::StopTimer(*timer)));
    }
}

#[cfg(test)]
mod tests;
