//! The long-poll fallback, as part of the [`Session`]: when a WebSocket cannot be established and fallback is on,
//! switch to long-poll at once; while on long-poll, probe the WebSocket with backoff and move back to it when a
//! probe gets its first frame (then re-query the channels, as after any reconnect).

use alloc::vec::Vec;

use stream_chat_protocol::event::{CLOSE_NORMAL, CONNECTION_CHECK_TIMEOUT_MS, PING_INTERVAL_MS};

use super::{Effect, Entropy, Frame, LocalEvent, Session, State, Timer, Transport};

/// The longest wait between WebSocket probes, in milliseconds.
const MAX_PROBE_INTERVAL_MS: u32 = 60_000;

impl Session {
    /// Whether a failed WebSocket attempt now means "WebSockets are blocked": fallback on, on a WebSocket, and no
    /// WebSocket has worked in this session (after one did, failures are transient).
    pub(super) fn may_fall_back(&self) -> bool {
        self.config.fallback && self.transport == Transport::WebSocket && !self.ws_worked
    }

    /// Switches to long-poll at once, remembers that WebSockets failed here, and tries again.
    pub(super) fn fall_back(&mut self, fx: &mut Vec<Effect>, entropy: &mut dyn Entropy) {
        self.close_socket(CLOSE_NORMAL, "falling back to long-poll", fx);
        self.transport = Transport::LongPoll;
        fx.extend([
            Effect::StopTimer(Timer::FirstFrame),
            Effect::Emit(LocalEvent::TransportChanged { transport: Transport::LongPoll }),
            Effect::RememberWebSocketFailure(true),
        ]);
        self.attempt(fx, entropy);
    }

    /// Arms the next probe, backing off after failures.
    pub(super) fn schedule_probe(&self, fx: &mut Vec<Effect>) {
        let interval =
            self.config.probe_interval_ms.saturating_mul(1 << self.probe_failures.min(16));
        fx.push(Effect::StartTimer(Timer::Probe, interval.min(MAX_PROBE_INTERVAL_MS)));
    }

    pub(super) fn close_probe(&mut self, fx: &mut Vec<Effect>) {
        if self.probe.take().is_some() {
            fx.extend([Effect::CloseProbe, Effect::StopTimer(Timer::ProbeTimeout)]);
        }
    }

    pub(super) fn probe_failed(&mut self, fx: &mut Vec<Effect>) {
        self.close_probe(fx);
        self.probe_failures = self.probe_failures.saturating_add(1);
        if matches!(self.state, State::Open { .. }) && self.transport == Transport::LongPoll {
            self.schedule_probe(fx);
        }
    }

    /// The probe's first frame: a healthy WebSocket replaces the long-poll connection; channels are re-queried
    /// on it before `connection.recovered`.
    pub(super) fn on_probe_frame(&mut self, socket: u32, frame: Frame, fx: &mut Vec<Effect>) {
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
}
