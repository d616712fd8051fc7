//! The API as the official client names it, over the runtime's one request path: plain REST methods as rows of a
//! table ([`routes`]), and the methods that decide more before their call (ids, throttles, validation, defaults):
//! channel queries and sends, message edits, users, lookups, search and uploads.

pub mod channel_ops;
pub mod lookups;
pub mod messages;
pub mod routes;
pub mod search;
pub mod uploads;
pub mod users;
