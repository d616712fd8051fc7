//! stream-chat-wasm: a Stream Chat client for browsers, written in Rust and compiled to WebAssembly, with the same
//! API as the official `stream-chat` JavaScript client.
//!
//! # Layout
//! Imports go one way: `js → api → runtime → state → platform → client` (`scripts/sdk-layers.mjs` checks it in
//! `npm test`, with no import circle among the files of a folder either).
//! - [`client`]: the sans-I/O core (connection state machine, channel state, backoff, validation), tested natively.
//! - `platform` (wasm only): thin wrappers over web-sys (WebSocket, long-poll, HTTP, timers, page events,
//!   storage), helpers for JS values and the official client's JS errors; callbacks only send a signal.
//! - `state` (wasm only): the JS-visible objects apps read (`channel.state`, kept messages, mutes, `client.user`),
//!   updated in place.
//! - `runtime` (wasm only): the session loop, the connection, `connectUser`, the one request path, events, the
//!   cache, the outbox, the shared connection and the client's channels.
//! - `api` (wasm only): the API as data (REST rows) and the methods that decide more before their call.
//! - `js` (wasm only): every `#[wasm_bindgen]` item: the `StreamChat` and `Channel` classes and TS types.
//!   Public so that browser tests drive the same methods JS calls.

// The SDK must not panic: in the shipped build a panic is a wasm trap, which skips every destructor and can leave
// a `RefCell` borrowed for good. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)
)]

extern crate alloc;

pub mod client;

#[cfg(target_arch = "wasm32")]
mod api;
#[cfg(target_arch = "wasm32")]
pub mod js;
#[cfg(target_arch = "wasm32")]
mod platform;
#[cfg(target_arch = "wasm32")]
mod runtime;
#[cfg(target_arch = "wasm32")]
mod state;

#[cfg(target_arch = "wasm32")]
pub use js::StreamChat;

/// Talc instead of the dlmalloc std would bring: a fraction of the bytes, and faster on wasm.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
