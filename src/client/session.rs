//! The connection state machine, sans I/O: [`Session::handle`] takes one [`Input`] (a frame, a close, a timer, a
//! command) and returns the [`Effect`]s the browser layer must carry out (open a socket, arm a timer, settle the
//! `connectUser` promise, emit an event). It never touches the network or the clock, so tests drive it directly.
//!
//! ```text
//! Idle ──connect──▶ Connecting ──first frame──▶ Open ──socket lost──▶ Reconnecting ──first frame──▶ Open
//!   ▲                  │ error frame / timeout      │ close 1000            │ error frame
//!   └──────────────────┘                            ▼                       ▼
//!   ◀──────────────────────── disconnect ───────── Closed ◀────────────────┘
//! ```

use alloc::string::String;
use alloc::vec::Vec;

use stream_chat_protocol::event::{
    health_check_ping, CLOSE_NORMAL, CONNECTION_CHECK_TIMEOUT_MS, HEALTH_CHECK, PING_INTERVAL_MS,
};
use stream_chat_protocol::token::push_json_string;
use stream_chat_protocol::ErrorBody;

use super::backoff::retry_interval;
use super::error::ChatError;
use super::id::hex_digit;
use super::user::{check_token, ClaimsParser};

/// How long after losing a connection `connection.changed {online: false}` is emitted, if still lost.
pub const OFFLINE_NOTICE_MS: u32 = 5_000;
/// The close code the SDK uses for a socket it gives up on because it went silent.
pub const CLOSE_STALE: u16 = 4_000;
/// The interval of the retry that a browser `online` event triggers.
const ONLINE_RETRY_MS: u32 = 10;

/// What the session needs to know about the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionConfig {
    /// `ws://…` or `wss://…`, without a trailing slash.
    pub ws_base_url: String,
    /// The app's API key.
    pub api_key: String,
    /// Sent as `X-Stream-Client`.
    pub user_agent: String,
    /// How long `connectUser` keeps trying to establish the first connection.
    pub connect_timeout_ms: u32,
    /// The REST base URL (`http(s)://…`), for the long-poll transport.
    pub base_url: String,
    /// `enableWSFallback`: switch to long-polling when a WebSocket cannot be established.
    pub fallback: bool,
    /// With fallback on: how long a WebSocket attempt may go without its first frame before falling back.
    pub ws_fallback_timeout_ms: u32,
    /// With fallback on: start on long-poll (WebSockets failed here recently), and probe in the background.
    pub start_with_longpoll: bool,
    /// With fallback on: the first interval between WebSocket probes while on long-poll; doubles up to 60 s.
    pub probe_interval_ms: u32,
}

/// How a connection reaches the server. The session decides; the rest of the SDK never looks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `GET /connect` upgraded to a WebSocket.
    WebSocket,
    /// `GET /longpoll` requests.
    LongPoll,
}

/// The longest wait between WebSocket probes, in milliseconds.
const MAX_PROBE_INTERVAL_MS: u32 = 60_000;
/// How long a probe may go without its first frame.
const PROBE_TIMEOUT_MS: u32 = 5_000;

/// The WebSocket base URL for a REST base URL, as the official client derives it: the first `http` becomes `ws`
/// (so `https` becomes `wss`), and Stream's local test port `:3030` becomes `:8800`.
pub fn ws_base_url(base_url: &str) -> String {
    let url = replace_first(base_url, "http", "ws");
    replace_first(&url, ":3030", ":8800")
}

/// `text` with the first `from` replaced by `to`: `replacen(.., 1)` without the string searcher's bytes.
fn replace_first(text: &str, from: &str, to: &str) -> String {
    let at = text.as_bytes().windows(from.len()).position(|window| window == from.as_bytes());
    match at.and_then(|at| Some((text.get(..at)?, text.get(at + from.len()..)?))) {
        Some((before, after)) => String::from(before) + to + after,
        None => text.into(),
    }
}

/// Where the connection stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum State {
    /// No user: before `connectUser`, after `disconnectUser`, or after `connectUser` failed.
    Idle,
    /// `connectUser`'s first connection is being established; its promise is pending.
    Connecting,
    /// Healthy: the server confirmed the connection.
    Open {
        /// The server's id for this connection; REST calls carry it.
        connection_id: String,
    },
    /// The connection was lost after being open; retrying with backoff until it is back.
    Reconnecting,
    /// The server ended the connection for good (close 1000, or a refusal on reconnect); stays until
    /// `disconnectUser`.
    Closed,
}

/// The timers the session arms. Arming one that is running restarts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Timer {
    /// Gives up on `connectUser`'s first connection.
    ConnectTimeout,
    /// Starts the next connection attempt.
    Retry,
    /// Sends the next health-check ping.
    Ping,
    /// Declares the socket dead when no frame arrived for 35 s.
    ConnectionCheck,
    /// Emits `connection.changed {online: false}` if the connection is still lost.
    OfflineNotice,
    /// Falls back to long-poll when a WebSocket attempt has no first frame in time.
    FirstFrame,
    /// Starts the next WebSocket probe while on long-poll.
    Probe,
    /// Gives up on a WebSocket probe with no first frame.
    ProbeTimeout,
    /// Rejects REST calls that have waited too long for the connection.
    QueuedCalls,
}

/// Every timer, in the order of their slots in the browser layer.
pub const ALL_TIMERS: [Timer; 9] = [
    Timer::ConnectTimeout,
    Timer::Retry,
    Timer::Ping,
    Timer::ConnectionCheck,
    Timer::OfflineNotice,
    Timer::FirstFrame,
    Timer::Probe,
    Timer::ProbeTimeout,
    Timer::QueuedCalls,
];

/// What the session reads from a server frame. The browser layer keeps the whole frame for listeners.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame {
    /// The event type, e.g. `health.check`.
    pub kind: Option<String>,
    /// Set on `health.check`: the connection's id.
    pub connection_id: Option<String>,
    /// Set when the server refuses the connection.
    pub error: Option<ErrorBody>,
}

/// A `connectUser` call that passed validation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectRequest {
    /// The user's id.
    pub user_id: String,
    /// The user object's JSON text, sent as `user_details`.
    pub user_json: String,
    /// A static token, or `None` when a token provider gives it.
    pub token: Option<String>,
}

/// Something that happened, fed to [`Session::handle`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    /// `connectUser` with a valid user and token (or provider).
    Connect(ConnectRequest),
    /// The token provider answered the [`Effect::LoadToken`] with the same `request`.
    TokenLoaded {
        /// Which request this answers.
        request: u32,
        /// The token, or why the provider failed.
        result: Result<String, String>,
    },
    /// A text frame arrived on socket number `socket`.
    Frame {
        /// The socket it came from.
        socket: u32,
        /// What the session needs of it.
        frame: Frame,
    },
    /// Socket number `socket` closed (browsers report errors as a close too).
    SocketClosed {
        /// The socket.
        socket: u32,
        /// The close code; 1006 when the network dropped it.
        code: u16,
    },
    /// A timer armed by [`Effect::StartTimer`] fired.
    Timer(Timer),
    /// The browser went back online.
    Online,
    /// The browser went offline: stop trying until it is back.
    Offline,
    /// The long-poll transport of socket `socket` answered a poll (with or without events): it is alive.
    Heartbeat {
        /// The transport.
        socket: u32,
    },
    /// `disconnectUser()`. The browser layer rejects a pending `connectUser` itself, at once.
    Disconnect,
    /// A REST call wants to go out; it waits for the connection when there is none yet.
    Submit {
        /// The browser layer's number for the call.
        request: u32,
    },
    /// A REST call was answered; `expired` when the answer was error code 40 (token expired).
    Answered {
        /// The call.
        request: u32,
        /// The token had expired.
        expired: bool,
    },
    /// The channels were re-queried after a reconnect.
    Recovered,
}

/// Events the SDK emits itself, not from the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalEvent {
    /// `connection.changed`: the connection became healthy, or has been lost for a while.
    ConnectionChanged {
        /// Whether it is healthy now.
        online: bool,
    },
    /// `connection.recovered`: a reconnect succeeded.
    ConnectionRecovered,
    /// `transport.changed`: the connection moved to another transport.
    TransportChanged {
        /// The transport now in use.
        transport: Transport,
    },
}

/// What the browser layer must do, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Call the token provider; answer with [`Input::TokenLoaded`] carrying `request`.
    LoadToken {
        /// Echoed back so late answers to an old request are ignored.
        request: u32,
    },
    /// Open a connection to `url` with `transport`; its events carry `socket`. Any previous one has been closed.
    OpenSocket {
        /// The number identifying this connection's events.
        socket: u32,
        /// The full `/connect?…` or `/longpoll?…` URL.
        url: String,
        /// WebSocket or long-poll.
        transport: Transport,
        /// The token, for the long-poll requests' `Authorization` header.
        token: String,
    },
    /// Open a WebSocket probe to `url` beside the long-poll connection; its events carry `socket`.
    OpenProbe {
        /// The probe's number.
        socket: u32,
        /// The `/connect?…` URL.
        url: String,
    },
    /// Close the probe and forget it.
    CloseProbe,
    /// The probe becomes the connection (the old one has been closed).
    PromoteProbe,
    /// Remember for this origin that WebSockets fail (`true`), or forget it (`false`).
    RememberWebSocketFailure(bool),
    /// Close the current socket and forget it: its later events are stale.
    CloseSocket {
        /// The close code.
        code: u16,
        /// The close reason.
        reason: &'static str,
    },
    /// Send a text frame on the current socket.
    Send(String),
    /// Arm (or re-arm) a timer.
    StartTimer(Timer, u32),
    /// Disarm a timer.
    StopTimer(Timer),
    /// Hand the frame being handled to the app's listeners.
    Dispatch,
    /// Emit a local event to the app's listeners.
    Emit(LocalEvent),
    /// Settle the pending `connectUser` promise: resolve it with the frame being handled, or reject it.
    Settle(Result<(), ChatError>),
    /// Send REST call `request` now, with this connection id and token.
    Fetch {
        /// The call.
        request: u32,
        /// The connection it belongs to.
        connection_id: Option<String>,
        /// The token for the `Authorization` header.
        token: String,
    },
    /// Settle REST call `request` with the answer it got.
    Finish {
        /// The call.
        request: u32,
    },
    /// Reject REST call `request`.
    Fail {
        /// The call.
        request: u32,
        /// Why.
        error: ChatError,
    },
    /// A reconnect succeeded: re-query the active channels, then report [`Input::Recovered`].
    Recover,
    /// The token was refreshed while connected: requests the transport makes from now on (long-poll) carry it.
    UseToken(String),
}

/// Randomness the session needs; the browser layer backs it with `crypto`, tests with fixed values.
pub trait Entropy {
    /// Uniform in `[0, 1)`.
    fn random(&mut self) -> f64;
    /// A fresh RFC 4122 v4 uuid.
    fn uuid(&mut self) -> String;
}

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
    /// REST calls waiting for the connection, in submission order, with the queue generation they joined in.
    queued: Vec<(u32, u32)>,
    /// Bumped each time [`Timer::QueuedCalls`] fires; calls from an older generation have waited a full period.
    queue_generation: u32,
    /// REST calls waiting for a refreshed token.
    parked: Vec<u32>,
    /// REST calls already retried once after a refresh.
    retried: Vec<u32>,
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
    /// Reads token payloads (to check a provider's tokens belong to the user).
    parse_claims: ClaimsParser,
}

impl Session {
    /// An idle session; `parse_claims` reads token payloads.
    pub fn new(config: SessionConfig, parse_claims: ClaimsParser) -> Self {
        Session {
            parse_claims,
            state: State::Idle,
            user: None,
            has_token_provider: false,
            socket: 0,
            socket_open: false,
            failures: 0,
            token_request: (0, false),
            refreshed: false,
            queued: Vec::new(),
            queue_generation: 0,
            parked: Vec::new(),
            retried: Vec::new(),
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
                if self.state == State::Reconnecting && !self.socket_open && !self.token_request.1 {
                    fx.push(Effect::StartTimer(Timer::Retry, ONLINE_RETRY_MS));
                }
            }
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
            Input::Submit { request } => match self.state {
                State::Open { .. } => self.fetch(request, &mut fx),
                State::Connecting | State::Reconnecting => self.enqueue(request, &mut fx),
                State::Idle | State::Closed => {
                    fx.push(Effect::Fail { request, error: ChatError::NotConnected })
                }
            },
            Input::Answered { request, expired } => {
                if expired && self.has_token_provider && !self.retried.contains(&request) {
                    self.retried.push(request);
                    self.parked.push(request);
                    self.request_token(&mut fx);
                } else {
                    self.retried.retain(|r| *r != request);
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

    /// `Fetch` for `request` with the current connection and token.
    fn fetch(&self, request: u32, fx: &mut Vec<Effect>) {
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
        for request in
            self.queued.drain(..).map(|(request, _)| request).chain(self.parked.drain(..))
        {
            fx.push(Effect::Fail { request, error: error.clone() });
        }
        self.retried.clear();
    }

    /// Marks that the next `connect` gets its token from a provider.
    pub fn use_token_provider(&mut self, has_provider: bool) {
        self.has_token_provider = has_provider;
    }

    fn is_current(&self, socket: u32) -> bool {
        socket == self.socket && self.socket_open
    }

    fn connect(
        &mut self,
        request: ConnectRequest,
        fx: &mut Vec<Effect>,
        entropy: &mut dyn Entropy,
    ) {
        if self.state != State::Idle {
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
    fn attempt(&mut self, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
        let Some(user) = &self.user else { return };
        if user.token.is_none() {
            return self.request_token(fx);
        }
        let transport = self.transport;
        let url = self.connect_url(user, &entropy.uuid(), transport);
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

    fn token_loaded(
        &mut self,
        result: Result<String, String>,
        fx: &mut Vec<Effect>,
        entropy: &mut dyn Entropy,
    ) {
        match (result, &self.state) {
            (Ok(token), State::Connecting | State::Reconnecting) => {
                let Some(user) = &mut self.user else { return };
                if let Err(error) = check_token(&token, &user.id, self.parse_claims) {
                    return self.fail(error, fx);
                }
                // A connection attempt waits for this token only when the user has none (a refusal with code 40
                // cleared it); a refresh for REST calls that lands while reconnecting just updates it.
                let attempt_waits = user.token.is_none();
                user.token = Some(token);
                // Calls parked for the refresh wait for the connection like any other call now.
                for request in core::mem::take(&mut self.parked) {
                    self.enqueue(request, fx);
                }
                if attempt_waits {
                    self.attempt(fx, entropy);
                }
            }
            (Err(reason), State::Connecting) => self.fail(ChatError::TokenProvider(reason), fx),
            (Err(reason), State::Reconnecting) => {
                for request in self.parked.drain(..) {
                    fx.push(Effect::Fail {
                        request,
                        error: ChatError::TokenProvider(reason.clone()),
                    });
                }
                if self.user.as_ref().is_some_and(|user| user.token.is_none()) {
                    self.retry_later(fx, entropy);
                }
            }
            // A refresh for REST calls that got code 40: retry them once with the new token.
            (Ok(token), State::Open { .. }) => {
                if let Some(user) = &mut self.user {
                    user.token = Some(token.clone());
                }
                fx.push(Effect::UseToken(token));
                for request in core::mem::take(&mut self.parked) {
                    self.fetch(request, fx);
                }
            }
            (Err(reason), State::Open { .. }) => {
                for request in self.parked.drain(..) {
                    fx.push(Effect::Fail {
                        request,
                        error: ChatError::TokenProvider(reason.clone()),
                    });
                }
            }
            _ => {}
        }
    }

    fn on_frame(&mut self, frame: Frame, fx: &mut Vec<Effect>) {
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
                if !self.queued.is_empty() {
                    fx.push(Effect::StopTimer(Timer::QueuedCalls));
                }
                for (request, _) in core::mem::take(&mut self.queued) {
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
    fn refused(&mut self, error: ErrorBody, fx: &mut Vec<Effect>) {
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
    fn close_for_good(&mut self, fx: &mut Vec<Effect>) {
        self.state = State::Closed;
        self.stop_timers(fx);
        fx.push(Effect::Emit(LocalEvent::ConnectionChanged { online: false }));
        for request in
            self.queued.drain(..).map(|(request, _)| request).chain(self.parked.drain(..))
        {
            fx.push(Effect::Fail { request, error: ChatError::NotConnected });
        }
    }

    /// Queues `request` until the connection is up; the first one arms the queue deadline.
    fn enqueue(&mut self, request: u32, fx: &mut Vec<Effect>) {
        if self.queued.is_empty() {
            fx.push(Effect::StartTimer(Timer::QueuedCalls, self.config.connect_timeout_ms));
        }
        self.queued.push((request, self.queue_generation));
    }

    fn on_closed(&mut self, code: u16, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
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

    /// Whether a failed WebSocket attempt now means "WebSockets are blocked": fallback on, on a WebSocket, and no
    /// WebSocket has worked in this session (after one did, failures are transient).
    fn may_fall_back(&self) -> bool {
        self.config.fallback && self.transport == Transport::WebSocket && !self.ws_worked
    }

    /// Switches to long-poll at once, remembers that WebSockets failed here, and tries again.
    fn fall_back(&mut self, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
        self.close_socket(CLOSE_NORMAL, "falling back to long-poll", fx);
        self.transport = Transport::LongPoll;
        fx.extend([
            Effect::StopTimer(Timer::FirstFrame),
            Effect::Emit(LocalEvent::TransportChanged { transport: Transport::LongPoll }),
            Effect::RememberWebSocketFailure(true),
        ]);
        self.attempt(fx, entropy);
    }

    fn next_socket(&mut self) -> u32 {
        self.next_socket = self.next_socket.wrapping_add(1);
        self.next_socket
    }

    /// Arms the next probe, backing off after failures.
    fn schedule_probe(&self, fx: &mut Vec<Effect>) {
        let interval =
            self.config.probe_interval_ms.saturating_mul(1 << self.probe_failures.min(16));
        fx.push(Effect::StartTimer(Timer::Probe, interval.min(MAX_PROBE_INTERVAL_MS)));
    }

    fn close_probe(&mut self, fx: &mut Vec<Effect>) {
        if self.probe.take().is_some() {
            fx.extend([Effect::CloseProbe, Effect::StopTimer(Timer::ProbeTimeout)]);
        }
    }

    fn probe_failed(&mut self, fx: &mut Vec<Effect>) {
        self.close_probe(fx);
        self.probe_failures = self.probe_failures.saturating_add(1);
        if matches!(self.state, State::Open { .. }) && self.transport == Transport::LongPoll {
            self.schedule_probe(fx);
        }
    }

    /// The probe's first frame: a healthy WebSocket replaces the long-poll connection; channels are re-queried
    /// on it before `connection.recovered`.
    fn on_probe_frame(&mut self, socket: u32, frame: Frame, fx: &mut Vec<Effect>) {
        if frame.error.is_some()
            || frame.connection_id.is_none()
            || !matches!(self.state, State::Open { .. })
        {
            return self.probe_failed(fx);
        }
        self.close_socket(CLOSE_NORMAL, "switching to WebSocket", fx);
        self.probe = None;
        self.socket = socket;
        self.socket_open = true;
        self.transport = Transport::WebSocket;
        self.ws_worked = true;
        self.probe_failures = 0;
        self.state = State::Open { connection_id: frame.connection_id.unwrap_or_default() };
        fx.extend([
            Effect::StopTimer(Timer::ProbeTimeout),
            Effect::PromoteProbe,
            Effect::RememberWebSocketFailure(false),
            Effect::Emit(LocalEvent::TransportChanged { transport: Transport::WebSocket }),
            Effect::StartTimer(Timer::ConnectionCheck, CONNECTION_CHECK_TIMEOUT_MS),
            Effect::StartTimer(Timer::Ping, PING_INTERVAL_MS),
            Effect::Dispatch,
            Effect::Recover,
        ]);
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
                    let url = self.connect_url(user, &entropy.uuid(), Transport::WebSocket);
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
                // Calls from before the previous firing have waited at least a full period: reject them.
                let generation = self.queue_generation;
                let after_ms = self.config.connect_timeout_ms;
                self.queued.retain(|&(request, joined)| {
                    let keep = joined == generation;
                    if !keep {
                        fx.push(Effect::Fail {
                            request,
                            error: ChatError::NotConnectedInTime { after_ms },
                        });
                    }
                    keep
                });
                self.queue_generation = generation.wrapping_add(1);
                if !self.queued.is_empty() {
                    fx.push(Effect::StartTimer(Timer::QueuedCalls, after_ms));
                }
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

    fn close_socket(&mut self, code: u16, reason: &'static str, fx: &mut Vec<Effect>) {
        if self.socket_open {
            self.socket_open = false;
            fx.push(Effect::CloseSocket { code, reason });
        }
    }

    fn stop_timers(&self, fx: &mut Vec<Effect>) {
        fx.extend(ALL_TIMERS.iter().map(|timer| Effect::StopTimer(*timer)));
    }

    fn connect_url(&self, user: &User, request_id: &str, transport: Transport) -> String {
        let mut json = String::from("{\"user_id\":");
        push_json_string(&mut json, &user.id);
        json.push_str(",\"user_details\":");
        json.push_str(&user.json);
        // A browser WebSocket cannot carry headers, so its token goes in the URL; long-poll requests carry it in
        // the `Authorization` header only, as the official client does (URLs end up in logs).
        let token = match transport {
            Transport::WebSocket => {
                json.push_str(",\"client_request_id\":");
                push_json_string(&mut json, request_id);
                Some(user.token.as_deref().unwrap_or(""))
            }
            Transport::LongPoll => None,
        };
        json.push('}');
        let mut url = match transport {
            Transport::WebSocket => self.config.ws_base_url.clone() + "/connect?",
            Transport::LongPoll => self.config.base_url.clone() + "/longpoll?",
        };
        let params = [
            ("json", Some(json.as_str())),
            ("api_key", Some(self.config.api_key.as_str())),
            ("authorization", token),
            ("stream-auth-type", Some("jwt")),
            ("X-Stream-Client", Some(self.config.user_agent.as_str())),
        ];
        for (index, (key, value)) in params.iter().enumerate() {
            let Some(value) = value else { continue };
            if index > 0 {
                url.push('&');
            }
            url.push_str(key);
            url.push('=');
            push_form_encoded(&mut url, value);
        }
        url
    }
}

/// Appends `value` form-urlencoded, as `URLSearchParams` does: space as `+`, unreserved bytes as they are.
fn push_form_encoded(out: &mut String, value: &str) {
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(byte as char)
            }
            b' ' => out.push('+'),
            _ => {
                out.push('%');
                out.push(hex_digit(byte >> 4).to_ascii_uppercase());
                out.push(hex_digit(byte).to_ascii_uppercase());
            }
        }
    }
}

#[cfg(test)]
mod tests;
