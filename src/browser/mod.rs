//! The only code that touches web-sys. Browser callbacks (socket frames, timers, the `online` event, token
//! provider answers) only send a [`Signal`] through an [`inbox::Port`]; one session loop ([`client::Client`])
//! takes them in order, feeds them to the sans-I/O [`crate::client::Session`] and carries out its effects.

pub mod channels;
pub mod client;
mod http;
mod inbox;
mod listeners;
mod longpoll;
mod socket;
mod timers;

use alloc::string::String;

use crate::client::Input;

/// What a browser callback forwards to the session loop.
#[derive(Debug)]
pub enum Signal {
    /// An input for the session as it is.
    Input(Input),
    /// A text frame from socket number `socket`; the loop parses it.
    Message {
        /// The socket it came from.
        socket: u32,
        /// The frame's text.
        text: String,
    },
    /// REST call `request` was answered (`status` 0: the network failed or it timed out, `body` is the error).
    Response {
        /// The call.
        request: u32,
        /// The HTTP status.
        status: u16,
        /// The parsed JSON body.
        body: wasm_bindgen::JsValue,
    },
    /// Time to expire remote typing and stop the own typing that went quiet.
    Clean,
    /// An event the long-poll transport `socket` received (already parsed).
    Event {
        /// The transport.
        socket: u32,
        /// The event.
        raw: wasm_bindgen::JsValue,
    },
    /// A long-poll request was answered.
    Polled {
        /// The request's tag (see `longpoll.rs`).
        tag: u32,
        /// The HTTP status; 0 when the network failed.
        status: u16,
        /// The parsed JSON body.
        body: wasm_bindgen::JsValue,
    },
}
