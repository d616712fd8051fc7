//! The only code that touches web-sys. Browser callbacks (socket frames, timers, the `online` event, token
//! provider answers) only send a [`Signal`] through an [`inbox::Port`]; one session loop ([`client::Client`])
//! takes them in order, feeds them to the sans-I/O [`crate::client::Session`] and carries out its effects.

pub mod client;
mod inbox;
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
}
