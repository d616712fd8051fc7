//! REST calls around the connection: waiting for it, the queue deadline, token refresh on code 40 (also across an
//! outage), and what happens to waiting calls when the connection fails or closes for good.

use super::*;

fn fetches(effects: &[Effect]) -> Vec<u32> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Fetch { request, .. } => Some(*request),
            _ => None,
        })
        .collect()
}

#[test]
fn calls_before_the_connection_wait_and_go_in_order() {
    let mut s = session();
    assert_eq!(
        s.handle(Input::Submit { request: 9 }, &mut Fixed),
        vec![Effect::Fail { request: 9, error: ChatError::NotConnected }],
        "before connectUser there is nothing to wait for"
    );
    connect(&mut s, Some("token"));
    assert_eq!(
        s.handle(Input::Submit { request: 1 }, &mut Fixed),
        vec![Effect::StartTimer(Timer::QueuedCalls, 15_000)],
        "the first waiting call arms the queue deadline"
    );
    for request in [2, 3] {
        assert!(s.handle(Input::Submit { request }, &mut Fixed).is_empty());
    }
    let fx = frame(&mut s, 1, health_check("c1"));
    assert_eq!(fetches(&fx), [1, 2, 3]);
    let settle = fx.iter().position(|e| matches!(e, Effect::Settle(_))).unwrap();
    let first = fx.iter().position(|e| matches!(e, Effect::Fetch { .. })).unwrap();
    assert!(settle < first, "connectUser settles before the queued calls go");
    assert!(fx.contains(&Effect::Fetch {
        request: 1,
        connection_id: Some("c1".into()),
        token: "token".into()
    }));
    // Once open, calls go at once.
    assert_eq!(fetches(&s.handle(Input::Submit { request: 4 }, &mut Fixed)), [4]);
}

#[test]
fn calls_while_reconnecting_wait_for_the_reconnect() {
    let mut s = open_session();
    closed(&mut s, 1, 1006);
    s.handle(Input::Submit { request: 7 }, &mut Fixed);
    timer(&mut s, Timer::Retry);
    assert_eq!(fetches(&frame(&mut s, 2, health_check("c2"))), [7]);
}

/// A session connected with a token provider (its first token answered) on connection `c1`; and that token.
fn open_with_provider() -> (Session, String) {
    let mut s = session();
    s.use_token_provider(true);
    connect(&mut s, None);
    let token = stream_chat_protocol::token::dev_token("alice");
    s.handle(Input::TokenLoaded { request: 1, result: Ok(token.clone()) }, &mut Fixed);
    frame(&mut s, 1, health_check("c1"));
    (s, token)
}

fn failures(effects: &[Effect]) -> Vec<(u32, ChatError)> {
    effects
        .iter()
        .filter_map(|effect| match effect {
            Effect::Fail { request, error } => Some((*request, error.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn calls_waiting_through_an_outage_reject_after_a_bounded_wait() {
    let mut s = open_session();
    closed(&mut s, 1, 1006);
    s.handle(Input::Submit { request: 1 }, &mut Fixed);
    // The first firing only starts the clock for calls queued so far; a call queued just before it has not
    // waited a full period yet.
    let fx = timer(&mut s, Timer::QueuedCalls);
    assert!(failures(&fx).is_empty());
    assert!(fx.contains(&Effect::StartTimer(Timer::QueuedCalls, 15_000)));
    s.handle(Input::Submit { request: 2 }, &mut Fixed);
    // One period later call 1 has waited 15–30 s: rejected with a clear error; call 2 waits on.
    let fx = timer(&mut s, Timer::QueuedCalls);
    assert_eq!(failures(&fx), [(1, ChatError::NotConnectedInTime { after_ms: 15_000 })]);
    let fx = timer(&mut s, Timer::QueuedCalls);
    assert_eq!(failures(&fx), [(2, ChatError::NotConnectedInTime { after_ms: 15_000 })]);
    assert!(
        !fx.iter().any(|e| matches!(e, Effect::StartTimer(Timer::QueuedCalls, _))),
        "queue empty"
    );
}

#[test]
fn calls_parked_for_a_refresh_complete_when_the_socket_drops_meanwhile() {
    let (mut s, token) = open_with_provider();
    // A call gets code 40 and waits for a refresh; then the socket drops before the provider answers.
    assert_eq!(
        s.handle(Input::Answered { request: 5, expired: true }, &mut Fixed),
        [Effect::LoadToken { request: 2 }]
    );
    closed(&mut s, 1, 1006);
    let fresh = token.replace("==", "");
    let fx = s.handle(Input::TokenLoaded { request: 2, result: Ok(fresh.clone()) }, &mut Fixed);
    assert!(
        transport_of(&fx).is_none(),
        "the reconnect has its own schedule; the refresh opens nothing"
    );
    // The reconnect goes out with the fresh token, and the parked call with it once connected.
    let fx = timer(&mut s, Timer::Retry);
    assert!(fx.iter().any(|e| matches!(e, Effect::OpenSocket { token, .. } if *token == fresh)));
    let fx = frame(&mut s, 2, health_check("c2"));
    assert_eq!(fetches(&fx), [5]);
}

#[test]
fn calls_parked_for_a_refresh_reject_when_the_provider_fails_during_an_outage() {
    let (mut s, _) = open_with_provider();
    s.handle(Input::Answered { request: 5, expired: true }, &mut Fixed);
    closed(&mut s, 1, 1006);
    let fx = s.handle(Input::TokenLoaded { request: 2, result: Err("down".into()) }, &mut Fixed);
    assert_eq!(failures(&fx), [(5, ChatError::TokenProvider("down".into()))]);
}

#[test]
fn waiting_calls_reject_when_the_server_closes_for_good() {
    let mut s = open_session();
    closed(&mut s, 1, 1006);
    s.handle(Input::Submit { request: 3 }, &mut Fixed);
    timer(&mut s, Timer::Retry);
    let body = ErrorBody::new(stream_chat_protocol::ErrorCode::TokenSignatureInvalid, "bad");
    let fx = frame(&mut s, 2, Frame { error: Some(body), ..Frame::default() });
    assert_eq!(failures(&fx), [(3, ChatError::NotConnected)]);
    assert_eq!(*s.state(), State::Closed);
}

#[test]
fn a_refresh_while_connected_reaches_the_transport() {
    let (mut s, token) = open_with_provider();
    s.handle(Input::Answered { request: 5, expired: true }, &mut Fixed);
    let fresh = token.replace("==", "");
    let fx = s.handle(Input::TokenLoaded { request: 2, result: Ok(fresh.clone()) }, &mut Fixed);
    assert!(
        fx.contains(&Effect::UseToken(fresh)),
        "long-poll requests carry the new token from now on"
    );
}

#[test]
fn a_failed_connect_rejects_the_waiting_calls_with_its_error() {
    let mut s = session();
    connect(&mut s, Some("token"));
    s.handle(Input::Submit { request: 1 }, &mut Fixed);
    let body = ErrorBody::new(stream_chat_protocol::ErrorCode::TokenSignatureInvalid, "bad");
    let fx = frame(&mut s, 1, Frame { error: Some(body.clone()), ..Frame::default() });
    assert!(fx.contains(&Effect::Fail { request: 1, error: ChatError::Server(body) }));
}

#[test]
fn disconnect_rejects_the_waiting_calls() {
    let mut s = session();
    connect(&mut s, Some("token"));
    s.handle(Input::Submit { request: 1 }, &mut Fixed);
    let fx = s.handle(Input::Disconnect, &mut Fixed);
    assert!(fx.contains(&Effect::Fail { request: 1, error: ChatError::Disconnected }));
}

#[test]
fn expired_token_on_rest_refreshes_once_for_everyone_and_retries_once() {
    let (mut s, token) = open_with_provider();
    // Two calls fail with code 40 at the same time: one refresh.
    let fx = s.handle(Input::Answered { request: 5, expired: true }, &mut Fixed);
    assert_eq!(fx, vec![Effect::LoadToken { request: 2 }]);
    assert!(s.handle(Input::Answered { request: 6, expired: true }, &mut Fixed).is_empty());
    let fresh = token.replace("==", "");
    let fx = s.handle(Input::TokenLoaded { request: 2, result: Ok(fresh.clone()) }, &mut Fixed);
    assert_eq!(fetches(&fx), [5, 6]);
    assert!(fx.contains(&Effect::Fetch {
        request: 5,
        connection_id: Some("c1".into()),
        token: fresh
    }));
    // A second code 40 for the same call is final.
    assert_eq!(
        s.handle(Input::Answered { request: 5, expired: true }, &mut Fixed),
        vec![Effect::Finish { request: 5 }]
    );
    assert_eq!(
        s.handle(Input::Answered { request: 6, expired: false }, &mut Fixed),
        vec![Effect::Finish { request: 6 }]
    );
}

#[test]
fn without_a_provider_code_40_is_final() {
    let mut s = open_session();
    assert_eq!(
        s.handle(Input::Answered { request: 1, expired: true }, &mut Fixed),
        vec![Effect::Finish { request: 1 }]
    );
}

#[test]
fn an_answer_from_an_ended_session_settles_its_call_and_is_never_sent_again() {
    // A call in flight when the user disconnects, answered with code 40 after: it settles with that answer; no token
    // is asked for, and a later user's connection never sends it (with that user's token).
    let (mut s, _) = open_with_provider();
    assert_eq!(fetches(&s.handle(Input::Submit { request: 5 }, &mut Fixed)), [5]);
    s.handle(Input::Disconnect, &mut Fixed);
    let fx = s.handle(Input::Answered { request: 5, expired: true }, &mut Fixed);
    assert_eq!(fx, vec![Effect::Finish { request: 5 }], "the call of the ended session settles");

    // Bob connects with a provider; nothing of alice's is sent on his connection.
    s.use_token_provider(true);
    connect(&mut s, None);
    let token = stream_chat_protocol::token::dev_token("alice");
    let fx = s.handle(Input::TokenLoaded { request: 2, result: Ok(token) }, &mut Fixed);
    assert!(fetches(&fx).is_empty());
    let socket = fx
        .iter()
        .find_map(|e| match e {
            Effect::OpenSocket { socket, .. } => Some(*socket),
            _ => None,
        })
        .expect("the new connection opens");
    let fx = frame(&mut s, socket, health_check("c2"));
    assert!(fx.iter().any(|e| matches!(e, Effect::Settle(_))), "the new connection is open");
    assert!(fetches(&fx).is_empty(), "alice's call was sent again");

    // A call of this session that gets code 40 still waits for a refresh, as before.
    assert_eq!(fetches(&s.handle(Input::Submit { request: 6 }, &mut Fixed)), [6]);
    let fx = s.handle(Input::Answered { request: 6, expired: true }, &mut Fixed);
    assert!(fx.iter().any(|e| matches!(e, Effect::LoadToken { .. })), "{fx:?}");
}

#[test]
fn a_call_refused_for_a_replaced_connection_goes_again_on_the_new_one() {
    // Sent on c1 just before it was replaced by c2: the server refuses it (code 46); it goes once more, on c2.
    let mut s = open_session();
    assert_eq!(fetches(&s.handle(Input::Submit { request: 5 }, &mut Fixed)), [5]);
    closed(&mut s, 1, 1006);
    timer(&mut s, Timer::Retry);
    frame(&mut s, 2, health_check("c2"));
    let fx = s.handle(Input::ConnectionGone { request: 5 }, &mut Fixed);
    assert_eq!(
        fx,
        vec![Effect::Fetch { request: 5, connection_id: Some("c2".into()), token: "token".into() }]
    );
    // Refused again: it settles with that answer.
    let fx = s.handle(Input::ConnectionGone { request: 5 }, &mut Fixed);
    assert_eq!(fx, vec![Effect::Finish { request: 5 }]);

    // One of an ended session settles at once.
    assert_eq!(fetches(&s.handle(Input::Submit { request: 6 }, &mut Fixed)), [6]);
    s.handle(Input::Disconnect, &mut Fixed);
    let fx = s.handle(Input::ConnectionGone { request: 6 }, &mut Fixed);
    assert_eq!(fx, vec![Effect::Finish { request: 6 }]);
}

#[test]
fn after_close_connection_rest_goes_on_with_the_users_token() {
    let (mut s, token) = open_with_provider();
    s.handle(Input::Submit { request: 4 }, &mut Fixed);
    let fx = s.handle(Input::Close, &mut Fixed);
    assert!(fx.iter().any(|e| matches!(e, Effect::CloseSocket { .. })), "{fx:?}");
    assert_eq!(*s.state(), State::Closed);
    // A new call goes at once, without a connection id, with the user's token (the official client's REST works
    // after closeConnection()).
    let fx = s.handle(Input::Submit { request: 5 }, &mut Fixed);
    assert_eq!(fx, vec![Effect::Fetch { request: 5, connection_id: None, token: token.clone() }]);
    // An expired token is refreshed and the call sent once more, as while connected.
    assert_eq!(
        s.handle(Input::Answered { request: 5, expired: true }, &mut Fixed),
        [Effect::LoadToken { request: 2 }]
    );
    let fresh = token.replace("==", "");
    let fx = s.handle(Input::TokenLoaded { request: 2, result: Ok(fresh.clone()) }, &mut Fixed);
    assert!(
        fx.contains(&Effect::Fetch { request: 5, connection_id: None, token: fresh }),
        "{fx:?}"
    );
    // openConnection() connects again.
    let fx = connect(&mut s, Some(&token));
    assert!(transport_of(&fx).is_some(), "{fx:?}");
    frame(&mut s, 2, health_check("c2"));
    // disconnectUser() ends it: the user is gone and calls reject.
    s.handle(Input::Disconnect, &mut Fixed);
    let fx = s.handle(Input::Submit { request: 6 }, &mut Fixed);
    assert_eq!(failures(&fx), [(6, ChatError::NotConnected)]);
}

#[test]
fn calls_waiting_for_the_connection_go_out_when_it_is_closed_instead() {
    let mut s = session();
    connect(&mut s, Some("token"));
    s.handle(Input::Submit { request: 1 }, &mut Fixed);
    let fx = s.handle(Input::Close, &mut Fixed);
    assert_eq!(fetches(&fx), [1]);
}
