//! The SQLite store's [`Messages`] part: adding, editing and deleting messages, reactions, a channel's pages,
//! pinned messages, replies, quotes, and search; each call runs on the blocking pool as the rest of
//! [`SqliteStore`] does.

use serde_json::{Map, Value};

use super::sqlite_messages;
use super::sqlite_store::SqliteStore;
use super::{
    AddedMessage, MessageAnchor, MessageRecord, MessageSearch, Messages, NewMessage, NewReaction,
    ReactionRecord, StoreError,
};

#[async_trait::async_trait]
impl Messages for SqliteStore {
    async fn replies(
        &self,
        parent_id: &str,
        limit: usize,
        id_lt: Option<&str>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let parent_id = parent_id.to_owned();
        let id_lt = id_lt.map(str::to_owned);
        self.run(move |db| sqlite_messages::replies(db, &parent_id, limit, id_lt.as_deref())).await
    }

    async fn send_reaction(
        &self,
        reaction: NewReaction,
        now: &str,
    ) -> Result<(ReactionRecord, bool), StoreError> {
        let now = now.to_owned();
        self.run(move |db| sqlite_messages::send_reaction(db, reaction, &now)).await
    }

    async fn delete_reaction(
        &self,
        message_id: &str,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<ReactionRecord>, StoreError> {
        let message_id = message_id.to_owned();
        let user_id = user_id.to_owned();
        let kind = kind.to_owned();
        self.run(move |db| sqlite_messages::delete_reaction(db, &message_id, &user_id, &kind)).await
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        let id = id.to_owned();
        self.run(move |db| sqlite_messages::message(db, &id)).await
    }

    async fn update_message(
        &self,
        id: &str,
        text: &str,
        extra: Map<String, Value>,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let id = id.to_owned();
        let text = text.to_owned();
        let now = now.to_owned();
        self.run(move |db| sqlite_messages::update_message(db, &id, &text, extra, &now)).await
    }

    async fn delete_message(
        &self,
        id: &str,
        hard: bool,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let id = id.to_owned();
        let now = now.to_owned();
        self.run(move |db| sqlite_messages::delete_message(db, &id, hard, &now)).await
    }

    async fn add_message(
        &self,
        message: NewMessage,
        now: &str,
    ) -> Result<AddedMessage, StoreError> {
        let now = now.to_owned();
        self.run(move |db| db.add_message(message, &now)).await
    }

    async fn messages(
        &self,
        cid: &str,
        limit: usize,
        anchor: &MessageAnchor,
        budget: &mut usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let cid = cid.to_owned();
        let anchor = anchor.clone();
        let mut left = *budget;
        let (found, left) = self
            .run(move |db| {
                let found = sqlite_messages::messages(db, &cid, limit, &anchor, &mut left);
                Ok((found, left))
            })
            .await?;
        *budget = left;
        found
    }

    async fn pinned_messages(
        &self,
        cid: &str,
        now: &str,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let cid = cid.to_owned();
        let now = now.to_owned();
        self.run(move |db| sqlite_messages::pinned_messages(db, &cid, &now, limit)).await
    }

    async fn has_message(&self, cid: &str, id: &str) -> Result<bool, StoreError> {
        let cid = cid.to_owned();
        let id = id.to_owned();
        self.run(move |db| sqlite_messages::has_message(db, &cid, &id)).await
    }

    async fn search_messages(
        &self,
        search: &MessageSearch,
        caller: &str,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let search = search.clone();
        let caller = caller.to_owned();
        self.run(move |db| sqlite_messages::search_messages(db, &search, &caller)).await
    }

    async fn update_quotes(
        &self,
        cid: &str,
        quoted_id: &str,
        copy: &Value,
    ) -> Result<u64, StoreError> {
        let cid = cid.to_owned();
        let quoted_id = quoted_id.to_owned();
        let copy = copy.clone();
        self.run(move |db| db.update_quotes(&cid, &quoted_id, &copy)).await
    }
}
