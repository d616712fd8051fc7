//! The chat's rules and wire shapes, apart from how requests arrive and events leave: channel types, ids and
//! shapes, what a message may hold, the user object, permissions, moderation rules, pins, quotes, uploads, and the
//! views written straight from the store's records.

pub mod channels;
pub mod messages;
pub mod moderation;
pub mod permissions;
pub mod pins;
pub mod quotes;
pub mod uploads;
pub mod users;
pub mod views;
