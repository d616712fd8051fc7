//! The sans-I/O client core: plain Rust with no browser types, tested natively with `cargo test`. The browser
//! layer feeds it inputs and carries out the effects it returns.

pub mod backoff;
pub mod channel;
pub mod error;
pub mod id_set;
pub mod session;
pub mod text;
pub mod timer_table;
pub mod user;

pub use error::ChatError;
pub use session::{
    Effect, Entropy, Input, LocalEvent, Session, SessionConfig, State, Timer, Transport,
};
