//! The only code that touches web-sys. Browser callbacks (socket frames, timers, the `online` event, token
//! provider answers) only send a [`Signal`] through an [`inbox::Port`]; one session loop ([`client::Client`])
//! takes them in order, feeds them to the sans-I/O [`crate::client::Session`] and carries out its effects.

pub mod api;
mod cache;
mod channel_events;
pub mod channel_ops;
pub mod channels;
pub mod client;
mod connect;
pub mod errors;
mod events;
pub mod fatal;
mod http;
pub mod inbox;
mod kept_messages;
mod listeners;
mod longpoll;
pub mod lookups;
pub mod messages;
pub mod mutes;
mod outbox;
mod page;
pub mod replay;
pub mod rest;
pub mod search;
pub mod shapes;
mod share;
mod socket;
mod state_methods;
pub mod storage;
mod timers;
pub mod uploads;
pub mod users;
pub mod values;

pub use state_methods::attach_state_methods;

use crate::client::Input;

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
    /// A delivery from the tabs sharing a connection (`share.rs`): a kind and its value.
    Share {
        /// What it is.
        kind: u8,
        /// The frame or text it carries, if any.
        value: wasm_bindgen::JsValue,
    },
    /// Time to expire remote typing and stop the own typing that went quiet.
    Clean,
    /// A long-poll request was answered, or failed without an answer.
    Polled {
        /// The request's tag (see `longpoll.rs`).
        tag: u32,
        /// Status and parsed body, or why there was no answer.
        answer: http::Answer,
    },
}
