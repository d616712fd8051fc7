//! Persistence behind a narrow trait, so the handlers never see SQL. [`SqliteStore`] is the embedded default (one
//! process per file); [`PostgresStore`] serves several nodes sharing one database. [`open`] picks one from `--db`.

mod parts;
mod postgres;
mod postgres_channels;
mod postgres_manage;
mod postgres_messages;
mod postgres_prepared;
mod postgres_rows;
mod postgres_users;
mod postgres_writes;
mod query_sql;
mod records;
mod rows;
mod sql;
mod sqlite;
mod sqlite_manage;
mod sqlite_messages;
mod sqlite_reads;
mod sqlite_rows;
mod sqlite_schema;
mod sqlite_store;
mod sqlite_store_messages;
mod sqlite_writes;
mod threads;
mod uploads;

pub use parts::*;
pub use postgres::PostgresStore;
pub use records::*;
pub use sqlite_store::SqliteStore;

/// `db` as it may be logged: a URL's password left out.
pub fn without_password(db: &str) -> String {
    match (db.find("://"), db.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => format!("{}://…{}", &db[..scheme], &db[at..]),
        _ => db.to_owned(),
    }
}

/// Opens the store `--db` names: a `postgres://` (or `postgresql://`) URL, or else a SQLite file path.
pub fn open(db: &str) -> Result<Arc<dyn Store>, StoreError> {
    if db.starts_with("postgres://") || db.starts_with("postgresql://") {
        Ok(Arc::new(PostgresStore::open(db)?))
    } else {
        Ok(Arc::new(SqliteStore::open(std::path::Path::new(db))?))
    }
}

use std::path::PathBuf;
use std::sync::Arc;

/// A store failure; handlers turn it into an internal error (the cause is logged, never sent).
#[derive(Debug, Clone)]
pub enum StoreError {
    /// SQLite refused or failed a statement.
    Sqlite(Arc<rusqlite::Error>),
    /// PostgreSQL refused or failed a statement, or the connection to it broke.
    Postgres(Arc<tokio_postgres::Error>),
    /// No pooled PostgreSQL connection could be had in time (the database is down or every connection is busy).
    Pool(Arc<deadpool_postgres::PoolError>),
    /// The PostgreSQL pool could not be set up.
    PoolSetup(Arc<deadpool_postgres::BuildError>),
    /// The PostgreSQL driver's runtime could not be started.
    Runtime(Arc<std::io::Error>),
    /// The store is closing.
    Closed,
    /// The store's own work panicked (a bug; never expected).
    Panicked,
    /// Another server process holds the SQLite database (one process per file).
    Locked(PathBuf),
    /// The lock file next to the SQLite database could not be opened or locked.
    LockFile(PathBuf, Arc<std::io::Error>),
    /// A stored JSON value could not be read back.
    Corrupt(Arc<serde_json::Error>),
    /// A message just written, alone or in a group commit, came back with no result (a bug; never expected).
    LostWrite,
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Sqlite(error) => write!(f, "sqlite: {error}"),
            StoreError::Postgres(error) => write!(f, "postgres: {error}"),
            StoreError::Pool(error) => write!(f, "no database connection: {error}"),
            StoreError::PoolSetup(error) => write!(f, "database pool: {error}"),
            StoreError::Runtime(error) => write!(f, "database runtime: {error}"),
            StoreError::Closed => write!(f, "store closed"),
            StoreError::Panicked => write!(f, "store work panicked"),
            StoreError::Locked(path) => write!(
                f,
                "another server process is using {}: one process per database \
                 (run several nodes on PostgreSQL instead)",
                path.display()
            ),
            StoreError::LockFile(path, error) => {
                write!(f, "cannot lock {}: {error}", path.display())
            }
            StoreError::Corrupt(error) => write!(f, "stored JSON unreadable: {error}"),
            StoreError::LostWrite => write!(f, "a message just written is not there"),
        }
    }
}

impl std::error::Error for StoreError {}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Sqlite(Arc::new(error))
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(error: tokio_postgres::Error) -> Self {
        StoreError::Postgres(Arc::new(error))
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(error: serde_json::Error) -> Self {
        StoreError::Corrupt(Arc::new(error))
    }
}

/// How [`Users::update_users`] changes each user (`None`: not stored yet); `Err` refuses the whole update.
pub type UserChange = Box<dyn FnMut(Option<StoredUser>) -> Result<StoredUser, String> + Send>;

/// What the server keeps: every part of [`parts`], and the upkeep below. Every method is async: the PostgreSQL store awaits its pooled connections and the SQLite
/// store runs its blocking calls on the blocking pool (`sqlite_store.rs`), so no request holds a thread while it
/// waits for the database.
#[async_trait::async_trait]
pub trait Store:
    Users
    + Messages
    + Channels
    + ChannelManagement
    + Reads
    + Moderation
    + Threads
    + Files
    + Send
    + Sync
    + 'static
{
    /// Does the writes a store defers, about once a second: activity kept in memory (connects that changed
    /// nothing else) and, in SQLite, the search index of the messages sent since. Stores that write at once have
    /// nothing to do.
    async fn flush_activity(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether the database answers (`/readyz`). Embedded stores always do.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
