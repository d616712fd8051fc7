//! Drives the session through connect, refusal, loss and recovery, timeouts and token refresh, with fixed
//! randomness and no clock.

use stream_chat_protocol::ErrorBody;

use super::*;

mod requests;

pub(super) struct Fixed;

impl Entropy for Fixed {
    fn random(&mut self) -> f64 {
        0.0
    }
    fn uuid(&mut self) -> String {
        "00000000-0000-4000-8000-000000000000".into()
    }
}

pub(super) fn session() -> Session {
    Session::new(
        SessionConfig {
            ws_base_url: "ws://127.0.0.1:8080".into(),
            api_key: "demo-key".into(),
            user_agent: "stream-chat-wasm-v0.1.0-browser".into(),
            connect_timeout_ms: 15_000,
            base_url: "http://127.0.0.1:8080".into(),
            fallback: false,
            ws_fallback_timeout_ms: 2_000,
            start_with_longpoll: false,
            probe_interval_ms: 5_000,
        },
        crate::client::user::read_claims_json,
    )
}

pub(super) fn fallback_session(start_with_longpoll: bool) -> Session {
    let mut config = session().config().clone();
    config.fallback = true;
    config.start_with_longpoll = start_with_longpoll;
    Session::new(config, crate::client::user::read_claims_json)
}

pub(super) fn transport_of(effects: &[Effect]) -> Option<Transport> {
    effects.iter().find_map(|effect| match effect {
        Effect::OpenSocket { transport, .. } => Some(*transport),
        _ => None,
    })
}

pub(super) fn connect(session: &mut Session, token: Option<&str>) -> Vec<Effect> {
    session.handle(
        Input::Connect(ConnectRequest {
            user_id: "alice".into(),
            user_json: r#"{"id":"alice","name":"Alice"}"#.into(),
            token: token.map(Into::into),
        }),
        &mut Fixed,
    )
}

pub(super) fn health_check(connection_id: &str) -> Frame {
    Frame {
        kind: Some("health.check".into()),
        connection_id: Some(connection_id.into()),
        error: None,
    }
}

pub(super) fn frame(session: &mut Session, socket: u32, frame: Frame) -> Vec<Effect> {
    session.handle(Input::Frame { socket, frame }, &mut Fixed)
}

pub(super) fn closed(session: &mut Session, socket: u32, code: u16) -> Vec<Effect> {
    session.handle(Input::SocketClosed { socket, code }, &mut Fixed)
}

pub(super) fn timer(session: &mut Session, timer: Timer) -> Vec<Effect> {
    session.handle(Input::Timer(timer), &mut Fixed)
}

pub(super) fn opened_socket(effects: &[Effect]) -> Option<(u32, String)> {
    effects.iter().find_map(|effect| match effect {
        Effect::OpenSocket { socket, url, .. } => Some((*socket, url.clone())),
        _ => None,
    })
}

pub(super) fn retry_after(effects: &[Effect]) -> Option<u32> {
    effects.iter().find_map(|effect| match effect {
        Effect::StartTimer(Timer::Retry, ms) => Some(*ms),
        _ => None,
    })
}

pub(super) fn open_session() -> Session {
    let mut s = session();
    connect(&mut s, Some("token"));
    frame(&mut s, 1, health_check("c1"));
    s
}

#[test]
fn connect_opens_a_socket_with_the_protocols_url() {
    let mut s = session();
    let fx = connect(&mut s, Some("a.b.c"));
    assert_eq!(fx[0], Effect::StartTimer(Timer::ConnectTimeout, 15_000));
    let (socket, url) = opened_socket(&fx).unwrap();
    assert_eq!(socket, 1);
    assert_eq!(
        url,
        "ws://127.0.0.1:8080/connect?json=%7B%22user_id%22%3A%22alice%22%2C%22user_details%22%3A%7B%22id%22%3A\
         %22alice%22%2C%22name%22%3A%22Alice%22%7D%2C%22client_request_id%22%3A%2200000000-0000-4000-8000-\
         000000000000%22%7D&api_key=demo-key&authorization=a.b.c&stream-auth-type=jwt\
         &X-Stream-Client=stream-chat-wasm-v0.1.0-browser"
    );
    assert_eq!(s.state(), &State::Connecting);
    assert_eq!(s.user_id(), Some("alice"));
}

#[test]
fn first_health_check_opens_and_settles() {
    let mut s = session();
    connect(&mut s, Some("token"));
    let fx = frame(&mut s, 1, health_check("c1"));
    assert_eq!(s.state(), &State::Open { connection_id: "c1".into() });
    assert_eq!(s.connection_id(), Some("c1"));
    let emit_online =
        fx.iter().position(|e| *e == Effect::Emit(LocalEvent::ConnectionChanged { online: true }));
    let dispatch = fx.iter().position(|e| *e == Effect::Dispatch);
    let settle = fx.iter().position(|e| *e == Effect::Settle(Ok(())));
    assert!(emit_online < dispatch && dispatch < settle, "{fx:?}");
    assert!(fx.contains(&Effect::StartTimer(Timer::Ping, 25_000)));
    assert!(fx.contains(&Effect::StopTimer(Timer::ConnectTimeout)));
}

#[test]
fn ping_timer_sends_the_health_check_ping() {
    let mut s = open_session();
    let fx = timer(&mut s, Timer::Ping);
    assert_eq!(
        fx,
        vec![Effect::Send(
            r#"[{"type":"health.check","client_id":"alice--00000000-0000-4000-8000-000000000000"}]"#.into()
        )]
    );
}

#[test]
fn error_frame_rejects_and_forgets_the_user() {
    let mut s = session();
    connect(&mut s, Some("token"));
    let body =
        ErrorBody::new(stream_chat_protocol::ErrorCode::TokenSignatureInvalid, "bad signature");
    let fx = frame(&mut s, 1, Frame { error: Some(body.clone()), ..Frame::default() });
    assert!(fx.contains(&Effect::CloseSocket { code: 1000, reason: "refused by the server" }));
    assert_eq!(fx.last(), Some(&Effect::Settle(Err(ChatError::Server(body)))));
    assert!(!fx.contains(&Effect::Dispatch));
    assert_eq!(s.state(), &State::Idle);
    assert_eq!(s.user_id(), None);
    // The server's close of that socket is stale now.
    assert!(closed(&mut s, 1, 1000).is_empty());
}

#[test]
fn lost_connection_reconnects_with_backoff_and_recovers() {
    let mut s = open_session();
    let fx = closed(&mut s, 1, 1006);
    assert_eq!(s.state(), &State::Reconnecting);
    assert!(fx.contains(&Effect::StartTimer(Timer::OfflineNotice, 5_000)));
    assert_eq!(retry_after(&fx), Some(250));

    let fx = timer(&mut s, Timer::Retry);
    let (socket, _) = opened_socket(&fx).unwrap();
    assert_eq!(socket, 2);
    // That attempt fails too: the next wait grows.
    assert_eq!(retry_after(&closed(&mut s, 2, 1006)), Some(250));
    timer(&mut s, Timer::Retry);
    assert_eq!(retry_after(&closed(&mut s, 3, 1006)), Some(2000));
    let fx = timer(&mut s, Timer::OfflineNotice);
    assert_eq!(fx, vec![Effect::Emit(LocalEvent::ConnectionChanged { online: false })]);

    timer(&mut s, Timer::Retry);
    let fx = frame(&mut s, 4, health_check("c2"));
    assert_eq!(s.connection_id(), Some("c2"));
    assert!(fx.contains(&Effect::Emit(LocalEvent::ConnectionChanged { online: true })));
    assert_eq!(fx.last(), Some(&Effect::Recover), "the browser layer re-queries channels first");
    assert!(!fx.iter().any(|e| matches!(e, Effect::Settle(_))));
    assert_eq!(
        s.handle(Input::Recovered, &mut Fixed),
        vec![Effect::Emit(LocalEvent::ConnectionRecovered)]
    );
    // Backoff starts over after a success.
    assert_eq!(retry_after(&closed(&mut s, 4, 1006)), Some(250));
}

#[test]
fn events_from_old_sockets_are_ignored() {
    let mut s = open_session();
    closed(&mut s, 1, 1006);
    timer(&mut s, Timer::Retry);
    assert!(frame(&mut s, 1, health_check("old")).is_empty());
    assert!(closed(&mut s, 1, 1006).is_empty());
    assert_eq!(s.state(), &State::Reconnecting);
}

#[test]
fn close_1000_while_open_is_final() {
    let mut s = open_session();
    let fx = closed(&mut s, 1, 1000);
    assert_eq!(s.state(), &State::Closed);
    assert!(fx.contains(&Effect::Emit(LocalEvent::ConnectionChanged { online: false })));
    assert_eq!(retry_after(&fx), None);
}

#[test]
fn silent_socket_is_replaced() {
    let mut s = open_session();
    let fx = timer(&mut s, Timer::ConnectionCheck);
    assert_eq!(
        fx[0],
        Effect::CloseSocket { code: CLOSE_STALE, reason: "no frame received for 35 s" }
    );
    assert_eq!(s.state(), &State::Reconnecting);
    assert!(retry_after(&fx).is_some());
}

#[test]
fn network_failures_retry_until_the_connect_timeout() {
    let mut s = session();
    connect(&mut s, Some("token"));
    assert_eq!(retry_after(&closed(&mut s, 1, 1006)), Some(250));
    timer(&mut s, Timer::Retry);
    assert_eq!(retry_after(&closed(&mut s, 2, 1006)), Some(2000));
    let fx = timer(&mut s, Timer::ConnectTimeout);
    let error = ChatError::ConnectTimeout { after_ms: 15_000 };
    assert!(error.is_ws_failure());
    assert_eq!(fx.last(), Some(&Effect::Settle(Err(error))));
    assert_eq!(s.state(), &State::Idle);
    // A retry timer that fires late does nothing.
    assert!(timer(&mut s, Timer::Retry).is_empty());
}

#[test]
fn token_provider_is_asked_first_and_again_on_code_40() {
    let mut s = session();
    s.use_token_provider(true);
    let fx = connect(&mut s, None);
    assert_eq!(fx.last(), Some(&Effect::LoadToken { request: 1 }));
    // A late answer to another request is ignored.
    let stale = Input::TokenLoaded { request: 7, result: Ok("x".into()) };
    assert!(s.handle(stale, &mut Fixed).is_empty());
    let t1 = stream_chat_protocol::token::dev_token("alice");
    let fx = s.handle(Input::TokenLoaded { request: 1, result: Ok(t1.clone()) }, &mut Fixed);
    assert!(opened_socket(&fx)
        .unwrap()
        .1
        .contains(&format!("authorization={}", t1.replace('=', "%3D"))));

    let expired = ErrorBody::new(stream_chat_protocol::ErrorCode::TokenExpired, "expired");
    let fx = frame(&mut s, 1, Frame { error: Some(expired.clone()), ..Frame::default() });
    assert_eq!(fx.last(), Some(&Effect::LoadToken { request: 2 }));
    let t2 = stream_chat_protocol::token::dev_token("alice").replace("==", "");
    let fx = s.handle(Input::TokenLoaded { request: 2, result: Ok(t2.clone()) }, &mut Fixed);
    assert!(opened_socket(&fx).unwrap().1.contains(&format!("authorization={t2}")));
    // A second code 40 in a row is final.
    let fx = frame(&mut s, 2, Frame { error: Some(expired.clone()), ..Frame::default() });
    assert_eq!(fx.last(), Some(&Effect::Settle(Err(ChatError::Server(expired)))));
}

#[test]
fn provider_failure_rejects_connect() {
    let mut s = session();
    s.use_token_provider(true);
    connect(&mut s, None);
    let fx = s.handle(Input::TokenLoaded { request: 1, result: Err("nope".into()) }, &mut Fixed);
    assert_eq!(fx.last(), Some(&Effect::Settle(Err(ChatError::TokenProvider("nope".into())))));
}

#[test]
fn disconnect_closes_with_1000_and_forgets_the_user() {
    let mut s = session();
    connect(&mut s, Some("token"));
    let fx = s.handle(Input::Disconnect, &mut Fixed);
    assert_eq!(
        fx[0],
        Effect::CloseSocket {
            code: 1000,
            reason: "Manually closed connection by calling client.disconnect()"
        }
    );
    assert!(fx.contains(&Effect::StopTimer(Timer::ConnectTimeout)));
    assert_eq!(s.state(), &State::Idle);

    let mut s = open_session();
    let fx = s.handle(Input::Disconnect, &mut Fixed);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Settle(_))));
    assert_eq!((s.state(), s.user_id()), (&State::Idle, None));
}

#[test]
fn provider_token_for_another_user_rejects_connect() {
    let mut s = session();
    s.use_token_provider(true);
    connect(&mut s, None);
    let bob = stream_chat_protocol::token::dev_token("bob");
    let fx = s.handle(Input::TokenLoaded { request: 1, result: Ok(bob) }, &mut Fixed);
    let error = ChatError::TokenUserMismatch { expected: "alice".into() };
    assert_eq!(fx.last(), Some(&Effect::Settle(Err(error))));
    assert_eq!(s.state(), &State::Idle);
}

#[test]
fn online_event_retries_at_once() {
    let mut s = open_session();
    closed(&mut s, 1, 1006);
    assert_eq!(s.handle(Input::Online, &mut Fixed), vec![Effect::StartTimer(Timer::Retry, 10)]);
}

#[test]
fn ws_base_url_follows_the_official_derivation() {
    assert_eq!(ws_base_url("https://chat.stream-io-api.com"), "wss://chat.stream-io-api.com");
    assert_eq!(ws_base_url("http://127.0.0.1:8080"), "ws://127.0.0.1:8080");
    assert_eq!(ws_base_url("http://localhost:3030"), "ws://localhost:8800");
}

#[test]
fn a_websocket_that_fails_before_its_first_frame_falls_back_to_long_poll() {
    let mut s = fallback_session(false);
    let fx = connect(&mut s, Some("token"));
    assert_eq!(transport_of(&fx), Some(Transport::WebSocket));
    assert!(fx.contains(&Effect::StartTimer(Timer::FirstFrame, 2_000)));
    let fx = closed(&mut s, 1, 1006);
    assert!(
        fx.contains(&Effect::Emit(LocalEvent::TransportChanged { transport: Transport::LongPoll }))
    );
    assert!(fx.contains(&Effect::RememberWebSocketFailure(true)));
    let (socket, url) = opened_socket(&fx).unwrap();
    assert!(url.starts_with("http://127.0.0.1:8080/longpoll?json="), "{url}");
    assert!(
        !url.contains("authorization=") && !url.contains("token"),
        "token only in the header: {url}"
    );
    assert!(fx.iter().any(|e| matches!(e, Effect::OpenSocket { transport: Transport::LongPoll, token, .. } if token == "token")));
    assert_eq!(retry_after(&fx), None, "at once, no backoff");
    let fx = frame(&mut s, socket, health_check("lp-1"));
    assert_eq!(s.connection_id(), Some("lp-1"));
    assert!(fx.contains(&Effect::Settle(Ok(()))));
    assert!(
        fx.contains(&Effect::StartTimer(Timer::Probe, 5_000)),
        "probes the WebSocket in the background"
    );
    assert_eq!(s.transport(), Transport::LongPoll);
}

#[test]
fn a_websocket_without_a_first_frame_in_time_falls_back() {
    let mut s = fallback_session(false);
    connect(&mut s, Some("token"));
    let fx = timer(&mut s, Timer::FirstFrame);
    assert_eq!(fx[0], Effect::CloseSocket { code: 1000, reason: "falling back to long-poll" });
    assert_eq!(transport_of(&fx), Some(Transport::LongPoll));
}

#[test]
fn a_refusal_never_falls_back() {
    let mut s = fallback_session(false);
    connect(&mut s, Some("token"));
    let body = ErrorBody::new(stream_chat_protocol::ErrorCode::TokenSignatureInvalid, "bad");
    let fx = frame(&mut s, 1, Frame { error: Some(body.clone()), ..Frame::default() });
    assert_eq!(fx.last(), Some(&Effect::Settle(Err(ChatError::Server(body)))));
    assert_eq!(transport_of(&fx), None);
}

#[test]
fn without_fallback_or_after_a_websocket_worked_failures_only_retry() {
    let mut s = session();
    connect(&mut s, Some("token"));
    assert_eq!(transport_of(&closed(&mut s, 1, 1006)), None);
    let mut s = fallback_session(false);
    connect(&mut s, Some("token"));
    frame(&mut s, 1, health_check("c1"));
    closed(&mut s, 1, 1006);
    let fx = timer(&mut s, Timer::Retry);
    assert_eq!(transport_of(&fx), Some(Transport::WebSocket));
    assert!(!fx.contains(&Effect::StartTimer(Timer::FirstFrame, 2_000)));
    assert_eq!(
        retry_after(&closed(&mut s, 2, 1006)),
        Some(250),
        "a transient failure, not a blocked network"
    );
}

#[test]
fn a_successful_probe_moves_back_to_websocket_and_recovers() {
    let mut s = fallback_session(true);
    let fx = connect(&mut s, Some("token"));
    assert_eq!(transport_of(&fx), Some(Transport::LongPoll), "remembered: starts on long-poll");
    frame(&mut s, 1, health_check("lp-1"));
    let fx = timer(&mut s, Timer::Probe);
    let probe = fx
        .iter()
        .find_map(|e| match e {
            Effect::OpenProbe { socket, url } => Some((*socket, url.clone())),
            _ => None,
        })
        .unwrap();
    assert!(probe.1.starts_with("ws://127.0.0.1:8080/connect?"));
    // Long-poll events keep flowing while the probe opens.
    assert!(frame(&mut s, 1, Frame { kind: Some("message.new".into()), ..Frame::default() })
        .contains(&Effect::Dispatch));
    let fx = frame(&mut s, probe.0, health_check("ws-1"));
    assert_eq!(
        &fx[..5],
        &[
            Effect::CloseSocket { code: 1000, reason: "switching to WebSocket" },
            Effect::StopTimer(Timer::ProbeTimeout),
            Effect::PromoteProbe,
            Effect::RememberWebSocketFailure(false),
            Effect::Emit(LocalEvent::TransportChanged { transport: Transport::WebSocket }),
        ]
    );
    assert_eq!(fx.last(), Some(&Effect::Recover), "channels are re-queried on the new connection");
    assert_eq!((s.connection_id(), s.transport()), (Some("ws-1"), Transport::WebSocket));
    // The old long-poll's late events are ignored.
    assert!(frame(&mut s, 1, health_check("lp-1")).is_empty());
}

#[test]
fn failed_probes_back_off() {
    let mut s = fallback_session(true);
    connect(&mut s, Some("token"));
    frame(&mut s, 1, health_check("lp-1"));
    for expected in [10_000, 20_000, 40_000, 60_000, 60_000] {
        timer(&mut s, Timer::Probe);
        let fx = timer(&mut s, Timer::ProbeTimeout);
        assert!(fx.contains(&Effect::CloseProbe));
        assert!(fx.contains(&Effect::StartTimer(Timer::Probe, expected)), "{fx:?}");
    }
}

#[test]
fn offline_pauses_and_online_resumes() {
    let mut s = open_session();
    let fx = s.handle(Input::Offline, &mut Fixed);
    assert!(fx.contains(&Effect::CloseSocket { code: 1000, reason: "the browser is offline" }));
    assert_eq!(s.state(), &State::Reconnecting);
    assert_eq!(retry_after(&fx), None, "no attempts while offline");
    assert!(timer(&mut s, Timer::Retry).is_empty());
    assert_eq!(s.handle(Input::Online, &mut Fixed), vec![Effect::StartTimer(Timer::Retry, 10)]);
    assert!(opened_socket(&timer(&mut s, Timer::Retry)).is_some());
}

#[test]
fn long_poll_heartbeats_keep_the_connection_check_armed() {
    let mut s = fallback_session(true);
    connect(&mut s, Some("token"));
    frame(&mut s, 1, health_check("lp-1"));
    let fx = s.handle(Input::Heartbeat { socket: 1 }, &mut Fixed);
    assert_eq!(fx, vec![Effect::StartTimer(Timer::ConnectionCheck, 35_000)]);
    assert!(s.handle(Input::Heartbeat { socket: 9 }, &mut Fixed).is_empty());
}

#[test]
fn a_provider_answer_to_an_older_request_is_ignored() {
    // The provider's first promise is still pending when the app disconnects and connects again: the second
    // request's answer is the one used, and the first one's late answer changes nothing.
    let mut s = session();
    s.use_token_provider(true);
    assert!(connect(&mut s, None).contains(&Effect::LoadToken { request: 1 }));
    s.handle(Input::Disconnect, &mut Fixed);
    assert!(connect(&mut s, None).contains(&Effect::LoadToken { request: 2 }));
    let token = stream_chat_protocol::token::dev_token("alice");
    let late = s.handle(Input::TokenLoaded { request: 1, result: Ok(token.clone()) }, &mut Fixed);
    assert!(late.is_empty(), "the stale answer opens nothing");
    let fx = s.handle(Input::TokenLoaded { request: 2, result: Ok(token) }, &mut Fixed);
    assert_eq!(transport_of(&fx), Some(Transport::WebSocket));
}

#[test]
fn waking_up_checks_the_connection_within_seconds() {
    let mut s = open_session();
    let fx = s.handle(Input::Resumed, &mut Fixed);
    assert!(fx.iter().any(|e| matches!(e, Effect::Send(ping) if ping.contains("health.check"))));
    assert!(fx.contains(&Effect::StartTimer(Timer::ConnectionCheck, WAKE_CHECK_MS)));
    // No answer in time: the socket is given up and a reconnect scheduled, not 35 s later.
    let fx = timer(&mut s, Timer::ConnectionCheck);
    assert!(fx.iter().any(|e| matches!(e, Effect::CloseSocket { code: CLOSE_STALE, .. })));
    assert!(fx.iter().any(|e| matches!(e, Effect::StartTimer(Timer::Retry, _))));
    // While reconnecting, waking up retries at once.
    let fx = s.handle(Input::Resumed, &mut Fixed);
    assert!(fx.contains(&Effect::StartTimer(Timer::Retry, 10)));
}

#[test]
fn an_anonymous_user_connects_without_a_token() {
    let mut s = session();
    let fx = s.handle(
        Input::Connect(ConnectRequest {
            user_id: "random-1".into(),
            user_json: r#"{"id":"random-1","anon":true}"#.into(),
            token: Some(String::new()),
        }),
        &mut Fixed,
    );
    let url = fx
        .iter()
        .find_map(|effect| match effect {
            Effect::OpenSocket { url, .. } => Some(url.clone()),
            _ => None,
        })
        .unwrap();
    assert!(url.contains("stream-auth-type=anonymous"), "{url}");
    assert!(!url.contains("authorization="), "{url}");
}
