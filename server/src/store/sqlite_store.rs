//! The SQLite store as the server uses it ([`Store`]): the file's blocking calls ([`SqliteDb`], `sqlite.rs`) each
//! run on the blocking pool, with owned copies of their arguments, so async code awaits them without holding a
//! thread. The writer and reader connections stay behind their own locks inside [`SqliteDb`]. Messages (reactions,
//! pages, replies, search) are in `sqlite_store_messages.rs`.

use std::path::Path;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::sqlite::SqliteDb;
use super::{sqlite_manage, sqlite_reads, threads, uploads};
use super::{
    ChannelFilter, ChannelManagement, ChannelRecord, Channels, FileRecord, Files, MemberChange,
    MemberRecord, MembersChanged, Moderation, NewChannel, ReadRecord, Reads, Relation, Store,
    StoreError, ThreadRead, Threads, UserChange, UserQuery, UserReplace, Users,
};
use crate::store::records::StoredUser;

/// A SQLite database file shared by all requests (one server process per file).
#[derive(Debug, Clone)]
pub struct SqliteStore(Arc<SqliteDb>);

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and migrates it. Blocks.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Ok(SqliteStore(Arc::new(SqliteDb::open(path)?)))
    }

    /// Runs `work` on the blocking pool.
    pub(super) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&SqliteDb) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let db = self.0.clone();
        tokio::task::spawn_blocking(move || work(&db)).await.map_err(|_| StoreError::Panicked)?
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn flush_activity(&self) -> Result<(), StoreError> {
        self.run(move |db| db.flush_activity()).await
    }
}

#[async_trait::async_trait]
impl Users for SqliteStore {
    async fn connect_user(
        &self,
        id: &str,
        fields: Map<String, Value>,
        now: &str,
        month: &str,
    ) -> Result<StoredUser, StoreError> {
        let id = id.to_owned();
        let now = now.to_owned();
        let month = month.to_owned();
        self.run(move |db| db.connect_user(&id, fields, &now, &month)).await
    }

    async fn monthly_active_users(&self, month: &str) -> Result<u64, StoreError> {
        let month = month.to_owned();
        self.run(move |db| db.monthly_active_users(&month)).await
    }

    async fn user(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
        let id = id.to_owned();
        self.run(move |db| db.user(&id)).await
    }

    async fn replace_users(
        &self,
        users: Vec<UserReplace>,
        now: &str,
    ) -> Result<Vec<StoredUser>, StoreError> {
        let now = now.to_owned();
        self.run(move |db| db.replace_users(users, &now)).await
    }

    async fn update_users(
        &self,
        ids: &[String],
        now: &str,
        change: UserChange,
    ) -> Result<Result<Vec<StoredUser>, String>, StoreError> {
        let ids = ids.to_vec();
        let now = now.to_owned();
        let mut change = change;
        self.run(move |db| db.update_users(&ids, &now, &mut *change)).await
    }

    async fn create_user(
        &self,
        id: &str,
        role: &str,
        fields: Map<String, Value>,
        now: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        let id = id.to_owned();
        let role = role.to_owned();
        let now = now.to_owned();
        self.run(move |db| db.create_user(&id, &role, fields, &now)).await
    }

    async fn query_users(&self, query: &UserQuery) -> Result<Vec<StoredUser>, StoreError> {
        let query = query.clone();
        self.run(move |db| db.query_users(&query)).await
    }
}

#[async_trait::async_trait]
impl Channels for SqliteStore {
    async fn change_members(
        &self,
        cid: &str,
        add: &[String],
        remove: &[String],
        now: &str,
    ) -> Result<MembersChanged, StoreError> {
        let cid = cid.to_owned();
        let add = add.to_vec();
        let remove = remove.to_vec();
        let now = now.to_owned();
        self.run(move |db| db.change_members(&cid, &add, &remove, &now)).await
    }

    async fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let user_id = user_id.to_owned();
        self.run(move |db| db.member_channels(&user_id)).await
    }

    async fn get_or_create_channel(
        &self,
        new: NewChannel,
        now: &str,
    ) -> Result<(ChannelRecord, bool), StoreError> {
        let now = now.to_owned();
        self.run(move |db| db.get_or_create_channel(new, &now)).await
    }

    async fn channel(&self, cid: &str) -> Result<Option<ChannelRecord>, StoreError> {
        let cid = cid.to_owned();
        self.run(move |db| db.channel(&cid)).await
    }

    async fn is_member(&self, cid: &str, user_id: &str) -> Result<bool, StoreError> {
        let cid = cid.to_owned();
        let user_id = user_id.to_owned();
        self.run(move |db| db.is_member(&cid, &user_id)).await
    }

    async fn members(&self, cid: &str) -> Result<Vec<MemberRecord>, StoreError> {
        let cid = cid.to_owned();
        self.run(move |db| db.members(&cid)).await
    }

    async fn channel_for(
        &self,
        cid: &str,
        user_id: &str,
    ) -> Result<Option<(ChannelRecord, bool)>, StoreError> {
        let cid = cid.to_owned();
        let user_id = user_id.to_owned();
        self.run(move |db| db.channel_for(&cid, &user_id)).await
    }

    async fn query_channels(
        &self,
        filter: &ChannelFilter,
        caller: &str,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        let filter = filter.clone();
        let caller = caller.to_owned();
        self.run(move |db| db.query_channels(&filter, &caller)).await
    }
}

#[async_trait::async_trait]
impl ChannelManagement for SqliteStore {
    async fn change_member(
        &self,
        cid: &str,
        user_id: &str,
        change: &MemberChange,
    ) -> Result<Option<(MemberRecord, u64)>, StoreError> {
        let cid = cid.to_owned();
        let user_id = user_id.to_owned();
        let change = change.clone();
        self.run(move |db| sqlite_manage::change_member(db, &cid, &user_id, &change)).await
    }

    async fn unhide_channel(&self, cid: &str) -> Result<Vec<String>, StoreError> {
        let cid = cid.to_owned();
        self.run(move |db| sqlite_manage::unhide_channel(db, &cid)).await
    }

    async fn update_channel(
        &self,
        cid: &str,
        data: Map<String, Value>,
        now: &str,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        let cid = cid.to_owned();
        let now = now.to_owned();
        self.run(move |db| sqlite_manage::update_channel(db, &cid, data, &now)).await
    }

    async fn truncate_channel(&self, cid: &str, now: &str) -> Result<(), StoreError> {
        let cid = cid.to_owned();
        let now = now.to_owned();
        self.run(move |db| sqlite_manage::truncate_channel(db, &cid, &now)).await
    }

    async fn delete_channel(&self, cid: &str) -> Result<Option<u64>, StoreError> {
        let cid = cid.to_owned();
        self.run(move |db| sqlite_manage::delete_channel(db, &cid)).await
    }
}

#[async_trait::async_trait]
impl Reads for SqliteStore {
    async fn mark_read(
        &self,
        cid: &str,
        user_id: &str,
        message_id: Option<&str>,
        now: &str,
        shared: bool,
    ) -> Result<ReadRecord, StoreError> {
        let cid = cid.to_owned();
        let user_id = user_id.to_owned();
        let message_id = message_id.map(str::to_owned);
        let now = now.to_owned();
        self.run(move |db| {
            sqlite_reads::mark_read(db, &cid, &user_id, message_id.as_deref(), &now, shared)
        })
        .await
    }

    async fn mark_unread(
        &self,
        cid: &str,
        user_id: &str,
        message_id: &str,
    ) -> Result<Option<ReadRecord>, StoreError> {
        let cid = cid.to_owned();
        let user_id = user_id.to_owned();
        let message_id = message_id.to_owned();
        self.run(move |db| sqlite_reads::mark_unread(db, &cid, &user_id, &message_id)).await
    }

    async fn mark_all_read(
        &self,
        user_id: &str,
        now: &str,
        shared: bool,
    ) -> Result<Vec<String>, StoreError> {
        let user_id = user_id.to_owned();
        let now = now.to_owned();
        self.run(move |db| sqlite_reads::mark_all_read(db, &user_id, &now, shared)).await
    }

    async fn unread_channels(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, u64, String)>, StoreError> {
        let user_id = user_id.to_owned();
        self.run(move |db| sqlite_reads::unread_channels(db, &user_id)).await
    }

    async fn reads(&self, cid: &str) -> Result<Vec<ReadRecord>, StoreError> {
        let cid = cid.to_owned();
        self.run(move |db| sqlite_reads::reads(db, &cid)).await
    }

    async fn unread_totals(&self, user_id: &str) -> Result<(u64, u64), StoreError> {
        let user_id = user_id.to_owned();
        self.run(move |db| sqlite_reads::unread_totals(db, &user_id)).await
    }
}

#[async_trait::async_trait]
impl Moderation for SqliteStore {
    async fn put_relation(&self, relation: &Relation) -> Result<(), StoreError> {
        let relation = relation.clone();
        self.run(move |db| sqlite_manage::put_relation(db, &relation)).await
    }

    async fn delete_relation(
        &self,
        kind: &str,
        user_id: &str,
        target: &str,
    ) -> Result<bool, StoreError> {
        let kind = kind.to_owned();
        let user_id = user_id.to_owned();
        let target = target.to_owned();
        self.run(move |db| sqlite_manage::delete_relation(db, &kind, &user_id, &target)).await
    }

    async fn relations(
        &self,
        kind: &str,
        user_id: Option<&str>,
        target: Option<&str>,
        now: &str,
    ) -> Result<Vec<Relation>, StoreError> {
        let kind = kind.to_owned();
        let user_id = user_id.map(str::to_owned);
        let target = target.map(str::to_owned);
        let now = now.to_owned();
        self.run(move |db| {
            sqlite_manage::relations(db, &kind, user_id.as_deref(), target.as_deref(), &now)
        })
        .await
    }

    async fn sender_moderation(
        &self,
        user_id: &str,
        cid: &str,
        now: &str,
    ) -> Result<Vec<Relation>, StoreError> {
        let user_id = user_id.to_owned();
        let cid = cid.to_owned();
        let now = now.to_owned();
        self.run(move |db| sqlite_manage::sender_moderation(db, &user_id, &cid, &now)).await
    }
}

#[async_trait::async_trait]
impl Threads for SqliteStore {
    async fn threads_of(
        &self,
        user_id: &str,
        limit: usize,
        offset: usize,
    ) -> Result<Vec<String>, StoreError> {
        let user_id = user_id.to_owned();
        self.run(move |db| threads::sqlite_threads_of(db, &user_id, limit, offset)).await
    }

    async fn thread_reads(&self, parent_id: &str) -> Result<Vec<ThreadRead>, StoreError> {
        let parent_id = parent_id.to_owned();
        self.run(move |db| threads::sqlite_thread_reads(db, &parent_id)).await
    }

    async fn mark_thread_read(
        &self,
        parent_id: &str,
        user_id: &str,
        now: &str,
    ) -> Result<ThreadRead, StoreError> {
        let parent_id = parent_id.to_owned();
        let user_id = user_id.to_owned();
        let now = now.to_owned();
        self.run(move |db| threads::sqlite_mark_thread_read(db, &parent_id, &user_id, &now)).await
    }

    async fn thread_unread(
        &self,
        parent_id: &str,
        user_id: &str,
        since: Option<&str>,
    ) -> Result<u64, StoreError> {
        let parent_id = parent_id.to_owned();
        let user_id = user_id.to_owned();
        let since = since.map(str::to_owned);
        self.run(move |db| {
            threads::sqlite_thread_unread(db, &parent_id, &user_id, since.as_deref())
        })
        .await
    }
}

#[async_trait::async_trait]
impl Files for SqliteStore {
    async fn put_file(&self, file: &FileRecord, bytes: &[u8]) -> Result<(), StoreError> {
        let file = file.clone();
        let bytes = bytes.to_vec();
        self.run(move |db| uploads::sqlite_put(db, &file, &bytes)).await
    }

    async fn file(
        &self,
        id: &str,
        with_bytes: bool,
    ) -> Result<Option<(FileRecord, Vec<u8>)>, StoreError> {
        let id = id.to_owned();
        self.run(move |db| uploads::sqlite_get(db, &id, with_bytes)).await
    }

    async fn delete_files(&self, cid: &str, ids: &[String]) -> Result<u64, StoreError> {
        let cid = cid.to_owned();
        let ids = ids.to_vec();
        self.run(move |db| uploads::sqlite_delete(db, &cid, &ids)).await
    }
}
