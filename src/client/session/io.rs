//! What goes into and comes out of the [`Session`](super::Session): its configuration, the [`Input`]s it takes,
//! the [`Effect`]s it returns, the timers it arms and the randomness it needs.

use alloc::string::String;

use stream_chat_protocol::ErrorBody;

use super::super::error::ChatError;

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

/// Every timer, in the order they are declared: `timer as usize` is its slot in the [`TimerTable`].
///
/// [`TimerTable`]: crate::client::timer_table::TimerTable
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
    /// A static token, `None` when a token provider gives it, or empty for an anonymous user
    /// (`connectAnonymousUser`: no token, `stream-auth-type: anonymous`).
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
    /// The page came back after being hidden, frozen or asleep (`visibilitychange` to visible, `pageshow`): its
    /// timers were throttled or stopped, so the connection may have died unnoticed. Check it now.
    Resumed,
    /// The browser went offline: stop trying until it is back.
    Offline,
    /// The long-poll transport of socket `socket` answered a poll (with or without events): it is alive.
    Heartbeat {
        /// The transport.
        socket: u32,
    },
    /// `disconnectUser()`. The browser layer rejects a pending `connectUser` itself, at once.
    Disconnect,
    /// `closeConnection()`: the connection closes but the user and its token stay, so REST calls go on without a
    /// connection (as the official client's do) until `openConnection()` or `disconnectUser()`.
    Close,
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
    /// A REST call was refused because the connection it named is gone (code 46): it was sent just before the
    /// connection was replaced.
    ConnectionGone {
        /// The call.
        request: u32,
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
