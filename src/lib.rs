//! stream-chat-wasm: a Stream Chat client for browsers, written in Rust and compiled to WebAssembly, with the same
//! API as the official `stream-chat` JavaScript client.
//!
//! # Layout
//! - [`client`]: the sans-I/O core (connection state machine, backoff, validation), tested natively.
//! - `browser` (wasm only): the only code that touches web-sys: WebSocket, timers, the session loop.
//! - `js` (wasm only): every `#[wasm_bindgen]` item: the `StreamChat` class, conversions, JS errors, TS types.

pub mod client;

#[cfg(target_arch = "wasm32")]
mod browser;
#[cfg(target_arch = "wasm32")]
mod js;
