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
use serde_json::{Map, Value};
use tokio::runtime::Handle;
use tokio_postgres::NoTls;

use super::postgres_prepared::Prepared;
use super::postgres_rows::MIGRATIONS;
use super::postgres_writes::GroupCommit;
use super::{
    AddedMessage, ChannelFilter, ChannelRecord, FileRecord, MemberChange, MemberRecord,
    MembersChanged, MessageAnchor, MessageRecord, MessageSearch, NewChannel, NewMessage,
    NewReaction, ReactionRecord, ReadRecord, Relation, Store, StoreError, ThreadRead, UserChange,
    UserQuery, UserReplace,
};
use crate::store::records::StoredUser;

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
    writes: Arc<GroupCommit>,
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

/// A connection from `pool`. Taking one is no hop to another runtime (once per query, it was a task spawned there
/// and woken back): a connection opened for it is opened on the store's runtime ([`ConnectOn`]).
pub(super) async fn take_client(pool: &Pool) -> Result<Object, StoreError> {
    pool.get().await.map_err(|error| StoreError::Pool(Arc::new(error)))
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
    async fn connect_user(
        &self,
        id: &str,
        fields: Map<String, Value>,
        now: &str,
        month: &str,
    ) -> Result<StoredUser, StoreError> {
        self.connect_user_async(id, fields, now, month).await
    }

    async fn monthly_active_users(&self, month: &str) -> Result<u64, StoreError> {
        self.monthly_active_users_async(month).await
    }

    async fn user(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
        self.user_async(id).await
    }

    async fn replace_users(
        &self,
        users: Vec<UserReplace>,
        now: &str,
    ) -> Result<Vec<StoredUser>, StoreError> {
        self.replace_users_async(users, now).await
    }

    async fn update_users(
        &self,
        ids: &[String],
        now: &str,
        change: UserChange,
    ) -> Result<Result<Vec<StoredUser>, String>, StoreError> {
        let mut change = change;
        self.update_users_async(ids, now, &mut *change).await
    }

    async fn create_user(
        &self,
        id: &str,
        role: &str,
        fields: Map<String, Value>,
        now: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        self.create_user_async(id, role, fields, now).await
    }

    async fn query_users(&self, query: &UserQuery) -> Result<Vec<StoredUser>, StoreError> {
        self.query_users_async(query).await
    }

    async fn replies(
        &self,
        parent_id: &str,
        limit: usize,
        id_lt: Option<&str>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.replies_async(parent_id, limit, id_lt).await
    }

    async fn send_reaction(
        &self,
        reaction: NewReaction,
        now: &str,
    ) -> Result<(ReactionRecord, bool), StoreError> {
        self.send_reaction_async(reaction, now).await
    }

    async fn delete_reaction(
        &self,
        message_id: &str,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<ReactionRecord>, StoreError> {
        self.delete_reaction_async(message_id, user_id, kind).await
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        async { super::postgres_rows::message_in(&self.client().await?, id).await }.await
    }

    async fn update_message(
        &self,
        id: &str,
        text: &str,
        extra: Map<String, Value>,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.update_message_async(id, text, extra, now).await
    }

    async fn delete_message(
        &self,
        id: &str,
        hard: bool,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        self.delete_message_async(id, hard, now).await
    }

    async fn change_members(
        &self,
        cid: &str,
        add: &[String],
        remove: &[String],
        now: &str,
    ) -> Result<MembersChanged, StoreError> {
        self.change_members_async(cid, add, remove, now).await
    }

    async fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        self.member_channels_async(user_id).await
    }

    async fn get_or_create_channel(
        &self,
        new: NewChannel,
        now: &str,
    ) -> Result<(ChannelRecord, bool), StoreError> {
        self.get_or_create_channel_async(new, now).await
    }

    async fn channel(&self, cid: &str) -> Result<Option<ChannelRecord>, StoreError> {
        self.channel_async(cid).await
    }

    async fn is_member(&self, cid: &str, user_id: &str) -> Result<bool, StoreError> {
        self.is_member_async(cid, user_id).await
    }

    async fn members(&self, cid: &str) -> Result<Vec<MemberRecord>, StoreError> {
        self.members_async(cid).await
    }

    async fn add_message(
        &self,
        message: NewMessage,
        now: &str,
    ) -> Result<AddedMessage, StoreError> {
        self.writes.add(message, now).await
    }

    async fn channel_for(
        &self,
        cid: &str,
        user_id: &str,
    ) -> Result<Option<(ChannelRecord, bool)>, StoreError> {
        self.channel_for_async(cid, user_id).await
    }

    async fn messages(
        &self,
        cid: &str,
        limit: usize,
        anchor: &MessageAnchor,
        budget: &mut usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.messages_async(cid, limit, anchor, budget).await
    }

    async fn has_message(&self, cid: &str, id: &str) -> Result<bool, StoreError> {
        self.has_message_async(cid, id).await
    }

    async fn mark_read(
        &self,
        cid: &str,
        user_id: &str,
        message_id: Option<&str>,
        now: &str,
        shared: bool,
    ) -> Result<ReadRecord, StoreError> {
        self.mark_read_async(cid, user_id, message_id, now, shared).await
    }

    async fn mark_unread(
        &self,
        cid: &str,
        user_id: &str,
        message_id: &str,
    ) -> Result<Option<ReadRecord>, StoreError> {
        self.mark_unread_async(cid, user_id, message_id).await
    }

    async fn mark_all_read(
        &self,
        user_id: &str,
        now: &str,
        shared: bool,
    ) -> Result<Vec<String>, StoreError> {
        self.mark_all_read_async(user_id, now, shared).await
    }

    async fn unread_channels(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, u64, String)>, StoreError> {
        self.unread_channels_async(user_id).await
    }

    async fn reads(&self, cid: &str) -> Result<Vec<ReadRecord>, StoreError> {
        self.reads_async(cid).await
    }

    async fn unread_totals(&self, user_id: &str) -> Result<(u64, u64), StoreError> {
        self.unread_totals_async(user_id).await
    }

    async fn change_member(
        &self,
        cid: &str,
        user_id: &str,
        change: &MemberChange,
    ) -> Result<Option<(MemberRecord, u64)>, StoreError> {
        self.change_member_async(cid, user_id, change).await
    }

    async fn unhide_channel(&self, cid: &str) -> Result<Vec<String>, StoreError> {
        self.unhide_channel_async(cid).await
    }

    async fn update_channel(
        &self,
        cid: &str,
        data: Map<String, Value>,
        now: &str,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        self.update_channel_async(cid, data, now).await
    }

    async fn truncate_channel(&self, cid: &str, now: &str) -> Result<(), StoreError> {
        self.truncate_channel_async(cid, now).await
    }

    async fn delete_channel(&self, cid: &str) -> Result<Option<u64>, StoreError> {
        self.delete_channel_async(cid).await
    }

    async fn pinned_messages(
        &self,
        cid: &str,
        now: &str,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.pinned_messages_async(cid, now, limit).await
    }

    async fn sender_moderation(
        &self,
        user_id: &str,
        cid: &str,
        now: &str,
    ) -> Result<Vec<Relation>, StoreError> {
        self.sender_moderation_async(user_id, cid, now).await
    }

    async fn send_context(
        &self,
        cid: &str,
        user_id: &str,
        now: &str,
    ) -> Result<Option<(ChannelRecord, bool, Vec<Relation>)>, StoreError> {
        self.send_context_async(cid, user_id, now).await
    }

    async fn search_messages(
        &self,
        search: &MessageSearch,
        caller: &str,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        self.search_messages_async(search, caller).await
    }

    async fn update_quotes(
        &self,
        cid: &str,
        quoted_id: &str,
        copy: &Value,
    ) -> Result<u64, StoreError> {
        async {
            let sql = super::sql::update_quotes::<super::postgres_rows::Postgres>();
            Ok(self.client().await?.execute_prepared(&sql, &[&cid, &quoted_id, copy]).await?)
        }
        .await
    }

    async fn threads_of(
        &self,
        user_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.threads_of_async(user_id, limit, offset).await
    }

    async fn thread_reads(&self, parent_id: &str) -> Result<Vec<ThreadRead>, StoreError> {
        self.thread_reads_async(parent_id).await
    }

    async fn mark_thread_read(
        &self,
        parent_id: &str,
        user_id: &str,
        now: &str,
    ) -> Result<ThreadRead, StoreError> {
        self.mark_thread_read_async(parent_id, user_id, now).await
    }

    async fn thread_unread(
        &self,
        parent_id: &str,
        user_id: &str,
        since: Option<&str>,
    ) -> Result<u64, StoreError> {
        self.thread_unread_async(parent_id, user_id, since).await
    }

    async fn put_file(&self, file: &FileRecord, bytes: &[u8]) -> Result<(), StoreError> {
        self.put_file_async(file, bytes).await
    }

    async fn file(
        &self,
        id: &str,
        with_bytes: bool,
    ) -> Result<Option<(FileRecord, Vec<u8>)>, StoreError> {
        self.file_async(id, with_bytes).await
    }

    async fn delete_files(&self, cid: &str, ids: &[String]) -> Result<u64, StoreError> {
        self.delete_files_async(cid, ids).await
    }

    async fn put_relation(&self, relation: &Relation) -> Result<(), StoreError> {
        self.put_relation_async(relation).await
    }

    async fn delete_relation(
        &self,
        kind: &str,
        user_id: &str,
        target: &str,
    ) -> Result<bool, StoreError> {
        self.delete_relation_async(kind, user_id, target).await
    }

    async fn relations(
        &self,
        kind: &str,
        user_id: Option<&str>,
        target: Option<&str>,
        now: &str,
    ) -> Result<Vec<Relation>, StoreError> {
        self.relations_async(kind, user_id, target, now).await
    }

    async fn query_channels(
        &self,
        filter: &ChannelFilter,
        caller: &str,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        self.query_channels_async(filter, caller).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        async { Ok(self.client().await?.simple_query("SELECT 1").await.map(|_| ())?) }.await
    }
}
