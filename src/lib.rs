//! stream-chat-wasm: a Stream Chat client for browsers, written in Rust and compiled to WebAssembly, with the same
//! API as the official `stream-chat` JavaScript client.
//!
//! # Layout
//! - [`client`]: the sans-I/O core (connection state machine, backoff, validation), tested natively.
//! - `browser` (wasm only): the only code that touches web-sys: WebSocket, timers, the session loop.
//! - `js` (wasm only): every `#[wasm_bindgen]` item: the `StreamChat` class, conversions, JS errors, TS types.
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
mod browser;
#[cfg(target_arch = "wasm32")]
pub mod js;

#[cfg(target_arch = "wasm32")]
pub use js::StreamChat;

/// Talc instead of the dlmalloc std would bring: a fraction of the bytes, and faster on wasm.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
