//! The session loop and what it carries out. JS methods and browser callbacks send signals; the loop
//! ([`client::Client::receive`]) handles them one at a time, feeding the sans-I/O [`crate::client::Session`] and
//! carrying out its effects with the platform's parts: the connection (WebSocket, long-poll, or another tab's,
//! relayed), `connectUser`, the one request path every REST call takes, event dispatch, the local cache and the
//! offline outbox, and the client's channels.

pub mod cache;
pub mod calls;
pub mod channels;
pub mod client;
pub mod connect;
pub mod effects;
pub mod events;
pub mod inbox;
pub mod outbox;
pub mod outbox_queue;
pub mod request;
pub mod rest;
pub mod share;
pub mod share_link;
