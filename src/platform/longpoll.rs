//! The long-poll transport (PROTOCOL.md §4.2) as the session sees any connection: opened with a URL, its first
//! "frame" is the connect answer's event, every polled event is a frame, and a failed poll is a close. Polls go
//! one after another with `fetch`; closing sends `close=true` and stops. Each request is an
//! [`http::fetch_exchange`] future; its answer reaches the loop tagged, so answers to a closed transport are ignored.

use alloc::string::String;

use wasm_bindgen::JsValue;

use super::http::{self, push_param, Answer, Outgoing};
use super::values::{get, list, object, text};
use super::Signal;
use super::Sink;
use crate::client::Input;

/// How long a poll may take: the server answers within about 20 s.
const POLL_TIMEOUT_MS: u32 = 30_000;
/// How long the connect request may take.
const CONNECT_TIMEOUT_MS: u32 = 8_000;
/// How long the closing request may take.
const CLOSE_TIMEOUT_MS: u32 = 2_000;

/// What the transport needs to keep polling.
#[derive(Debug)]
pub struct LongPoll {
    /// The session's number for this connection.
    socket: u32,
    /// The REST base URL.
    base_url: String,
    /// The app's API key.
    api_key: String,
    /// The user, for the `user_id` parameter.
    user_id: String,
    /// The token for the `Authorization` header.
    token: String,
    /// Sent as `X-Stream-Client`.
    user_agent: String,
    /// The server's id for this connection, once connected.
    connection_id: Option<String>,
    /// The tag of the request in flight.
    in_flight: Option<u32>,
    /// Numbers this transport's requests, so each answer is matched to its own request.
    sequence: u32,
}

/// Where and as whom a long-poll connection goes.
#[derive(Debug)]
pub struct Target<'a> {
    /// The REST base URL.
    pub base_url: &'a str,
    /// The app's API key.
    pub api_key: &'a str,
    /// The user id.
    pub user_id: &'a str,
    /// The token.
    pub token: &'a str,
    /// Sent as `X-Stream-Client`.
    pub user_agent: &'a str,
}

impl LongPoll {
    /// Connects with the session's `url` (`/longpoll?json=…`).
    pub fn open(url: &str, socket: u32, target: &Target<'_>, sink: &impl Sink) -> LongPoll {
        let mut transport = LongPoll {
            socket,
            base_url: target.base_url.into(),
            api_key: target.api_key.into(),
            user_id: target.user_id.into(),
            token: target.token.into(),
            user_agent: target.user_agent.into(),
            connection_id: None,
            in_flight: None,
            sequence: 0,
        };
        transport.request(url, CONNECT_TIMEOUT_MS, sink);
        transport
    }

    fn request(&mut self, url: &str, timeout_ms: u32, sink: &impl Sink) {
        // Unique per request across transports: the transport's number in the high half, a sequence in the low.
        self.sequence = self.sequence.wrapping_add(1);
        let tag = (self.socket << 16) | (self.sequence & 0xffff);
        let outgoing = Outgoing {
            method: "GET",
            url: url.into(),
            token: self.token.clone(),
            body: None,
            user_agent: self.user_agent.clone(),
            timeout_ms,
        };
        let sink = sink.clone();
        super::tasks::spawn(async move {
            let answer = http::fetch_exchange(outgoing).await;
            sink.send(Signal::Polled { tag, answer });
        });
        self.in_flight = Some(tag);
    }

    fn url(&self, close: bool) -> String {
        let mut url = self.base_url.clone() + "/longpoll";
        push_param(&mut url, "api_key", &self.api_key);
        push_param(&mut url, "user_id", &self.user_id);
        push_param(&mut url, "connection_id", self.connection_id.as_deref().unwrap_or(""));
        if close {
            push_param(&mut url, "close", "true");
        }
        url
    }

    /// Turns an answer into session signals, in order, and polls again while connected.
    pub fn answered(&mut self, answer: Answer, sink: &impl Sink) {
        self.in_flight = None;
        let socket = self.socket;
        let (status, body) = answer.unwrap_or((0, JsValue::UNDEFINED));
        let body = &body;
        let ok = (200..300).contains(&status);
        if self.connection_id.is_none() {
            // The connect answer: its event is the connection's first frame; a refusal is an error frame.
            let event = get(body, "event");
            if ok && event.is_object() {
                self.connection_id = text(&event, "connection_id");
                sink.send(Signal::Frame { socket, raw: event });
            } else if get(body, "code").as_f64().is_some() {
                sink.send(Signal::Frame { socket, raw: object(&[("error", body.clone())]) });
                return;
            } else {
                return sink.send(Signal::Input(Input::SocketClosed { socket, code: 1006 }));
            }
        } else if ok {
            for event in list(body, "events").iter() {
                sink.send(Signal::Frame { socket, raw: event });
            }
            sink.send(Signal::Input(Input::Heartbeat { socket }));
        } else {
            // Expired (code 46), dropped, or the network failed: a lost connection, which the session retries.
            return sink.send(Signal::Input(Input::SocketClosed { socket, code: 1006 }));
        }
        let url = self.url(false);
        self.request(&url, POLL_TIMEOUT_MS, sink);
    }

    /// Stops polling and tells the server (which also ends the poll it holds). Answers still on their way
    /// arrive with tags no transport owns and are ignored.
    pub fn close(mut self, sink: &impl Sink) {
        if self.connection_id.is_some() {
            let url = self.url(true);
            self.request(&url, CLOSE_TIMEOUT_MS, sink);
        }
    }

    /// Uses `token` for the next requests (the session refreshed it).
    pub fn use_token(&mut self, token: String) {
        self.token = token;
    }

    /// Whether the answer tagged `tag` is to this transport's request in flight.
    pub fn owns(&self, tag: u32) -> bool {
        self.in_flight == Some(tag)
    }
}
