//! Persistence behind a narrow trait, so the handlers never see SQL and another store (PostgreSQL) can be added
//! without touching them. [`SqliteStore`] is the embedded default.

mod sqlite;

pub use sqlite::SqliteStore;

use serde_json::{Map, Value};

use crate::users::StoredUser;

/// A store failure; handlers turn it into an internal error.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "store: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// What the server keeps. Methods block; async callers run them on the blocking pool.
pub trait Store: Send + Sync + 'static {
    /// Creates the user or merges `fields` into it (see [`crate::users::merge_fields`]), marks it active at `now`
    /// in `month` (`"YYYY-MM"`), and returns the stored result.
    fn connect_user(
        &self,
        id: &str,
        fields: Map<String, Value>,
        now: &str,
        month: &str,
    ) -> Result<StoredUser, StoreError>;

    /// How many distinct users connected in `month` (`"YYYY-MM"`).
    fn monthly_active_users(&self, month: &str) -> Result<u64, StoreError>;
}
