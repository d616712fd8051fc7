//! Wire types and rules of the Stream Chat protocol (`shared/PROTOCOL.md`), shared by the wasm SDK and the
//! reference server so that both sides agree by construction.
//!
//! # Layout
//! - [`error`]: the numeric error codes and the JSON error body every failure carries.
//! - [`user`]: which user ids and user objects are acceptable.
//! - [`token`]: JWT segments, the dev token, and the base64 flavours the official client produces.
//! - [`event`]: event names, the health-check ping, and the connect payload.
//!
//! It depends on `serde` alone and is `no_std` (with `alloc`), so the wasm SDK pays in bytes only for what it
//! uses and never links the formatting machinery unless it formats.

#![cfg_attr(not(test), no_std)]

extern crate alloc;

pub mod error;
pub mod event;
pub mod token;
pub mod user;

pub use error::{ErrorBody, ErrorCode, ErrorFrame};
