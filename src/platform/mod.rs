//! The browser's parts as the session loop uses them, knowing nothing of the client: thin wrappers over web-sys
//! (the WebSocket, the long-poll transport, `fetch` / XHR with a deadline, gloo timers, page events, storage) and
//! the small helpers for JS values, the shapes of the app's objects, and the official client's JS errors.
//! Browser callbacks only send a [`Signal`] into a [`Sink`], which the runtime points at its loop.

pub mod entropy;
pub mod errors;
pub mod fatal;
pub mod frames;
pub mod http;
pub mod listeners;
pub mod longpoll;
pub mod page;
pub mod shapes;
pub mod socket;
pub mod storage;
pub mod tasks;
pub mod timers;
pub mod values;

use crate::client::Input;

/// Where browser callbacks send their signals: the session loop, held weakly (the runtime's `Port`). Each
/// callback owns a clone.
pub trait Sink: Clone + 'static {
    /// Hands `signal` to the loop, if it is still there.
    fn send(&self, signal: Signal);
}

/// What a browser callback forwards to the session loop.
#[derive(Debug)]
pub enum Signal {
    /// An input for the session as it is.
    Input(Input),
    /// A frame (parsed once, in JS) from connection number `socket`: a WebSocket text frame or a long-polled
    /// event.
    Frame {
        /// The connection it came from.
        socket: u32,
        /// The parsed frame; listeners get this very object.
        raw: wasm_bindgen::JsValue,
    },
    /// REST call `request` was answered, or failed without an answer.
    Response {
        /// The call.
        request: u32,
        /// Status and parsed body, or why there was no answer.
        answer: http::Answer,
    },
    /// A delivery from the tabs sharing a connection (`runtime/share.rs`): a kind and its value.
    Share {
        /// What it is.
        kind: u8,
        /// The frame or text it carries, if any.
        value: wasm_bindgen::JsValue,
    },
    /// Time to expire remote typing and stop the own typing that went quiet.
    Clean,
    /// The session's timers' timeout fired (`timers.rs`): some may be due.
    TimersDue,
    /// A long-poll request was answered, or failed without an answer.
    Polled {
        /// The request's tag (see `longpoll.rs`).
        tag: u32,
        /// Status and parsed body, or why there was no answer.
        answer: http::Answer,
    },
}
