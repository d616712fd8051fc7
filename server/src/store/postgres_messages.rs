//! Messages, replies and reactions in PostgreSQL.
//!
//! **Order across nodes**: a new message locks its channel's row first, so messages of one channel are stored
//! one after another whichever node takes them; its `seq` (one database sequence) gives the order and its
//! `created_at` is the node's clock but never earlier than the channel's previous message, so a node whose clock
//! lags cannot put a message before one already sent. New messages are written together (`postgres_writes`).

use serde_json::{Map, Value};
use tokio_postgres::types::ToSql;

use super::postgres::PostgresStore;
use super::postgres_prepared::Prepared;
use super::postgres_rows::{
    all, attach_reactions, message_from, message_in, reaction_from, Params, Postgres,
    MESSAGE_COLUMNS, THREAD_ONLY,
};
use super::sql::{self, USER_COLUMNS};
use super::{
    AddedMessage, MessageAnchor, MessageRecord, MessageSearch, Messages, NewMessage, NewReaction,
    ReactionRecord, StoreError,
};

/// A client's time in the stored shape (fixed-width RFC 3339 UTC with milliseconds), so that times compare as
/// text; `None` when it is not a time (then nothing matches, as in SQLite).
fn stored_time(at: &str) -> Option<String> {
    let parsed =
        time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).ok()?;
    Some(crate::clock::format(parsed))
}

/// A page size for SQL.
fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

#[async_trait::async_trait]
impl Messages for PostgresStore {
    async fn replies(
        &self,
        parent_id: &str,
        limit: usize,
        id_lt: Option<&str>,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let sql = sql::replies::<Postgres>();
        let client = self.client().await?;
        let rows = client.query_prepared(&sql, &[&parent_id, &id_lt, &sql_limit(limit)]).await?;
        let mut replies = all(rows, message_from)?;
        replies.reverse();
        attach_reactions(&client, &mut replies).await?;
        Ok(replies)
    }

    async fn pinned_messages(
        &self,
        cid: &str,
        now: &str,
        limit: usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let sql = sql::pinned_messages::<Postgres>();
        let client = self.client().await?;
        let rows = client.query_prepared(&sql, &[&cid, &now, &sql_limit(limit)]).await?;
        let mut pinned = all(rows, message_from)?;
        attach_reactions(&client, &mut pinned).await?;
        Ok(pinned)
    }

    async fn send_reaction(
        &self,
        reaction: NewReaction,
        now: &str,
    ) -> Result<(ReactionRecord, bool), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let (message, user, kind) = (&reaction.message_id, &reaction.user_id, &reaction.kind);
        let replaced = if reaction.unique {
            tx.execute_prepared(sql::DELETE_USER_REACTIONS, &[message, user]).await?
        } else {
            tx.execute_prepared(sql::DELETE_REACTION, &[message, user, kind]).await?
        } > 0;
        tx.execute_prepared(
            sql::INSERT_REACTION,
            &[message, user, kind, &reaction.score, &Value::Object(reaction.extra.clone()), &now],
        )
        .await?;
        let stored = reaction_from(
            &tx.query_one_prepared(sql::SELECT_REACTION, &[message, user, kind]).await?,
        )?;
        tx.commit().await?;
        Ok((stored, replaced))
    }

    async fn delete_reaction(
        &self,
        message_id: &str,
        user_id: &str,
        kind: &str,
    ) -> Result<Option<ReactionRecord>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let found =
            tx.query_opt_prepared(sql::SELECT_REACTION, &[&message_id, &user_id, &kind]).await?;
        let found = found.map(|row| reaction_from(&row)).transpose()?;
        tx.execute_prepared(sql::DELETE_REACTION, &[&message_id, &user_id, &kind]).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn update_message(
        &self,
        id: &str,
        text: &str,
        extra: Map<String, Value>,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute_prepared(sql::UPDATE_MESSAGE, &[&id, &text, &Value::Object(extra), &now])
            .await?;
        let stored = message_in(&tx, id).await?;
        tx.commit().await?;
        Ok(stored)
    }

    async fn delete_message(
        &self,
        id: &str,
        hard: bool,
        now: &str,
    ) -> Result<Option<MessageRecord>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let Some(mut stored) = message_in(&tx, id).await? else { return Ok(None) };
        if hard {
            tx.execute_prepared(sql::DELETE_MESSAGE, &[&id]).await?;
            stored.deleted_at = Some(now.into());
        } else {
            tx.execute_prepared(sql::SOFT_DELETE_MESSAGE, &[&id, &now]).await?;
            stored = message_in(&tx, id).await?.unwrap_or(stored);
        }
        tx.commit().await?;
        Ok(Some(stored))
    }

    async fn messages(
        &self,
        cid: &str,
        limit: usize,
        anchor: &MessageAnchor,
        budget: &mut usize,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        if *budget == 0 {
            return Ok(Vec::new());
        }
        let anchor = super::query_sql::anchor_sql(anchor);
        let (op, newest_first) = (anchor.op, anchor.newest_first);
        let value = match (anchor.value, anchor.by_seq) {
            (Some(at), false) => match stored_time(at) {
                Some(at) => Some(at),
                None => return Ok(Vec::new()),
            },
            (value, _) => value.map(str::to_owned),
        };
        let condition = match (&value, anchor.by_seq) {
            (None, _) => "TRUE".to_owned(),
            (Some(_), true) => format!("g.seq {op} (SELECT seq FROM messages WHERE id = $3)"),
            (Some(_), false) => format!("g.created_at {op} $3"),
        };
        let order = if newest_first { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {MESSAGE_COLUMNS}, {USER_COLUMNS},
                octet_length(g.text) + octet_length(g.extra::text) + octet_length(u.fields::text)
             FROM messages g JOIN users u ON u.id = g.user_id
             WHERE g.cid = $1 AND ({condition}) AND NOT ({THREAD_ONLY})
             ORDER BY g.seq {order} LIMIT $2"
        );
        let limit = sql_limit(limit);
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&cid, &limit];
        if let Some(value) = &value {
            params.push(value);
        }
        let client = self.client().await?;
        // In page order, stopping before the byte budget is spent: memory stays bounded whatever the rows hold.
        let mut messages = Vec::new();
        for row in client.query_prepared(&sql, &params).await? {
            let size = usize::try_from(row.try_get::<_, i32>(16)?).unwrap_or(usize::MAX);
            if size > *budget && !messages.is_empty() {
                break;
            }
            *budget = budget.saturating_sub(size);
            messages.push(message_from(&row)?);
        }
        if newest_first {
            messages.reverse();
        }
        attach_reactions(&client, &mut messages).await?;
        Ok(messages)
    }

    async fn has_message(&self, cid: &str, id: &str) -> Result<bool, StoreError> {
        let client = self.client().await?;
        let sql = sql::MESSAGE_IN_CHANNEL;
        Ok(client.query_opt_prepared(sql, &[&cid, &id]).await?.is_some())
    }

    async fn search_messages(
        &self,
        search: &MessageSearch,
        caller: &str,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let mut params = Params::default();
        let columns = format!("{MESSAGE_COLUMNS}, {USER_COLUMNS}");
        let sql = super::query_sql::message_search_select(&columns, search, caller, &mut params);
        let client = self.client().await?;
        // Built per query (filters, field names, page in the text): run unprepared, not cached ([`Prepared`]).
        let mut found = all(client.query(&sql, &params.refs()).await?, message_from)?;
        attach_reactions(&client, &mut found).await?;
        Ok(found)
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        async { super::postgres_rows::message_in(&self.client().await?, id).await }.await
    }

    async fn add_message(
        &self,
        message: NewMessage,
        now: &str,
    ) -> Result<AddedMessage, StoreError> {
        self.writes.add(message, now).await
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
}
