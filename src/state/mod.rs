//! What apps read and the session loop updates in place: each channel's JS-visible state (`channel.state`,
//! `channel.data`, kept messages with `Date`s, reads, watchers, typing) behind a [`channels::Slot`], how channel
//! events change it, the own user's mutes, and the events kept so that a query's answer never moves a channel
//! backwards. Below the runtime; knows nothing of connections or calls.

pub mod channel_events;
pub mod channels;
pub mod kept_js;
pub mod kept_messages;
pub mod mutes;
pub mod own_user;
pub mod replay;
pub mod state_methods;
