//! The PostgreSQL store, for several server nodes sharing one database (`--db postgres://…`).
//!
//! The driver is async (`tokio-postgres` + `deadpool-postgres`) and so is [`Store`]: a request awaits its queries
//! and holds no thread meanwhile. The store owns a small runtime of its own that drives the pooled connections'
//! I/O, whichever runtime awaits them. The schema is migrated at open under an advisory lock, so nodes
//! starting together migrate once. The queries live by concern in `postgres_users`, `postgres_messages` and
//! `postgres_channels`, new messages (written together) in `postgres_writes`; rows and schema in `postgres_rows`.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use tokio::runtime::Handle;
use tokio_postgres::NoTls;

use super::postgres_prepared::{take_client, Prepared};
use super::postgres_rows::MIGRATIONS;
use super::postgres_writes::GroupCommit;
use super::{Store, StoreError};

/// Most pooled connections per node.
pub const POOL_SIZE: usize = 16;

/// How long a request waits for a pooled connection (or for a new one to open) before failing as unavailable.
pub const CONNECTION_WAIT: Duration = Duration::from_secs(5);

/// Identifies this schema's migration lock among the database's advisory locks.
const MIGRATION_LOCK: i64 = 0x5354_5245_414d; // "STREAM"

/// A pool of connections to one PostgreSQL database.
pub struct PostgresStore {
    /// Pooled connections; their I/O runs on `runtime`.
    pool: Pool,
    /// New messages, written together (`postgres_writes`).
    pub(super) writes: Arc<GroupCommit>,
    /// Drives the driver's connections; `None` only while dropping.
    runtime: Option<tokio::runtime::Runtime>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").field("pool", &self.pool.status()).finish()
    }
}

impl Drop for PostgresStore {
    fn drop(&mut self) {
        // Dropping a runtime blocks, which is not allowed inside another runtime's task: let it go in the background.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user:password@host:port/database`, or the key=value form) and migrates
    /// the schema. Callable from anywhere, async code included.
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let config: tokio_postgres::Config = url.parse()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("postgres-io")
            .enable_all()
            .build()
            .map_err(|error| StoreError::Runtime(Arc::new(error)))?;
        let manager = Manager::from_connect(
            config,
            ConnectOn(runtime.handle().clone()),
            ManagerConfig { recycling_method: RecyclingMethod::Fast },
        );
        let pool = {
            let _entered = runtime.enter();
            Pool::builder(manager)
                .max_size(POOL_SIZE)
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(CONNECTION_WAIT))
                .create_timeout(Some(CONNECTION_WAIT))
                .recycle_timeout(Some(CONNECTION_WAIT))
                .build()
                .map_err(|error| StoreError::PoolSetup(Arc::new(error)))?
        };
        let writes = GroupCommit::new(pool.clone(), runtime.handle().clone());
        let store = PostgresStore { pool, writes, runtime: Some(runtime) };
        // The caller may be async code: block a thread of our own, never the caller's runtime.
        std::thread::scope(|scope| scope.spawn(|| store.run(store.migrate())).join())
            .map_err(|_| StoreError::Panicked)??;
        Ok(store)
    }

    /// Runs `work` to completion on the store's runtime, blocking the calling (non-async) thread: only at open.
    fn run<T>(&self, work: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        match &self.runtime {
            Some(runtime) => runtime.block_on(work),
            None => Err(StoreError::Closed),
        }
    }

    /// A pooled connection, taken on the store's runtime: a connection opened for it has its I/O driven there,
    /// whichever runtime the caller awaits on (a health check's own, a test's).
    pub(super) async fn client(&self) -> Result<Object, StoreError> {
        if self.runtime.is_none() {
            return Err(StoreError::Closed);
        }
        take_client(&self.pool).await
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute_prepared("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK]).await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
            .await?;
        let done: i64 =
            match tx.query_opt_prepared("SELECT version FROM schema_version", &[]).await? {
                Some(row) => row.try_get(0)?,
                None => {
                    tx.execute_prepared("INSERT INTO schema_version (version) VALUES (0)", &[])
                        .await?;
                    0
                }
            };
        let done = usize::try_from(done).unwrap_or(0);
        for (index, step) in MIGRATIONS.iter().enumerate().skip(done) {
            tx.batch_execute(step).await?;
            let version = i64::try_from(index + 1).unwrap_or(i64::MAX);
            tx.execute_prepared("UPDATE schema_version SET version = $1", &[&version]).await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// Opens the pool's connections on the store's runtime, which then drives their I/O, whichever runtime asked
/// for one (a request's, a health check's own, a test's).
struct ConnectOn(Handle);

impl deadpool_postgres::Connect for ConnectOn {
    fn connect(&self, config: &tokio_postgres::Config) -> Opening<'_> {
        let config = config.clone();
        let io = self.0.clone();
        Box::pin(async move {
            match io.spawn(open(config.clone())).await {
                Ok(opened) => opened,
                // The store's runtime is going away: open it here, for what is still finishing.
                Err(_) => open(config).await,
            }
        })
    }
}

/// A connection being opened, and then the task driving it.
type Opening<'a> = std::pin::Pin<
    Box<
        dyn Future<
                Output = Result<
                    (tokio_postgres::Client, tokio::task::JoinHandle<()>),
                    tokio_postgres::Error,
                >,
            > + Send
            + 'a,
    >,
>;

/// Opens a connection and spawns the task that drives it on the current runtime.
async fn open(
    config: tokio_postgres::Config,
) -> Result<(tokio_postgres::Client, tokio::task::JoinHandle<()>), tokio_postgres::Error> {
    let (client, connection) = config.connect(NoTls).await?;
    let driver = tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::warn!(%error, "PostgreSQL connection ended");
        }
    });
    Ok((client, driver))
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn ping(&self) -> Result<(), StoreError> {
        async { Ok(self.client().await?.simple_query("SELECT 1").await.map(|_| ())?) }.await
    }
}
