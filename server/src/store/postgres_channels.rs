//! Channels, members and read state in PostgreSQL: creation (once, whichever node asks first), membership
//! changes, the channel query, and reads (own and shared, see [`super::SharedRead`]).

use serde_json::Value;

use super::postgres::PostgresStore;
use super::postgres_prepared::Prepared;
use super::postgres_rows::Postgres;
use super::postgres_rows::{
    all, channel_from, ensure_user, read_from, read_of, Params, CHANNEL_COLUMNS,
};
pub(super) use super::rows::member_from;
use super::sql;
use super::{
    ChannelFilter, ChannelRecord, Channels, MemberRecord, MembersChanged, NewChannel, ReadRecord,
    Reads, StoreError,
};

/// Adds `user_id` to `cid` with a read state from `now`; whether it was not a member yet.
async fn add_member(
    tx: &deadpool_postgres::Transaction<'_>,
    cid: &str,
    user_id: &str,
    now: &str,
) -> Result<bool, StoreError> {
    ensure_user(tx, user_id, now).await?;
    let inserted = tx.execute_prepared(sql::ADD_MEMBER, &[&cid, &user_id, &now]).await? == 1;
    if inserted {
        tx.execute_prepared(sql::ADD_READ, &[&cid, &user_id, &now]).await?;
    }
    Ok(inserted)
}

#[async_trait::async_trait]
impl Channels for PostgresStore {
    async fn change_members(
        &self,
        cid: &str,
        add: &[String],
        remove: &[String],
        now: &str,
    ) -> Result<MembersChanged, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut added = Vec::new();
        for user in add {
            if add_member(&tx, cid, user, now).await? {
                let row = tx.query_one_prepared(sql::SELECT_MEMBER, &[&cid, user]).await?;
                added.push(member_from(&row)?);
            }
        }
        let mut removed = Vec::new();
        for user in remove {
            if let Some(row) = tx.query_opt_prepared(sql::SELECT_MEMBER, &[&cid, user]).await? {
                tx.execute_prepared(sql::DELETE_MEMBER, &[&cid, user]).await?;
                tx.execute_prepared(sql::DELETE_READ, &[&cid, user]).await?;
                removed.push(member_from(&row)?);
            }
        }
        let version: i64 =
            tx.query_one_prepared(sql::TOUCH_CHANNEL, &[&cid, &now]).await?.try_get(0)?;
        tx.commit().await?;
        Ok(MembersChanged { added, removed, version: u64::try_from(version).unwrap_or(0) })
    }

    async fn member_channels(&self, user_id: &str) -> Result<Vec<String>, StoreError> {
        let client = self.client().await?;
        let rows = client.query_prepared(sql::MEMBER_CHANNELS, &[&user_id]).await?;
        all(rows, |row| row.try_get(0))
    }

    async fn get_or_create_channel(
        &self,
        new: NewChannel,
        now: &str,
    ) -> Result<(ChannelRecord, bool), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let created = tx
            .execute_prepared(
                sql::INSERT_CHANNEL,
                &[&new.cid, &new.kind, &new.id, &Value::Object(new.data), &new.created_by, &now],
            )
            .await?
            == 1;
        if created {
            for member in &new.members {
                add_member(&tx, &new.cid, member, now).await?;
            }
        }
        let sql = sql::select_channel::<Postgres>();
        let channel = channel_from(&tx.query_one_prepared(&sql, &[&new.cid]).await?)?;
        tx.commit().await?;
        Ok((channel, created))
    }

    async fn channel(&self, cid: &str) -> Result<Option<ChannelRecord>, StoreError> {
        let sql = sql::select_channel::<Postgres>();
        let client = self.client().await?;
        let row = client.query_opt_prepared(&sql, &[&cid]).await?;
        Ok(row.map(|row| channel_from(&row)).transpose()?)
    }

    async fn is_member(&self, cid: &str, user_id: &str) -> Result<bool, StoreError> {
        let sql = sql::IS_MEMBER;
        Ok(self.client().await?.query_opt_prepared(sql, &[&cid, &user_id]).await?.is_some())
    }

    async fn members(&self, cid: &str) -> Result<Vec<MemberRecord>, StoreError> {
        let sql = sql::SELECT_MEMBERS.to_owned();
        all(self.client().await?.query_prepared(&sql, &[&cid]).await?, member_from)
    }

    async fn channel_for(
        &self,
        cid: &str,
        user_id: &str,
    ) -> Result<Option<(ChannelRecord, bool)>, StoreError> {
        let sql = sql::select_channel_for::<Postgres>();
        let client = self.client().await?;
        let row = client.query_opt_prepared(&sql, &[&cid, &user_id]).await?;
        Ok(row
            .map(|row| Ok::<_, tokio_postgres::Error>((channel_from(&row)?, row.try_get(11)?)))
            .transpose()?)
    }

    async fn query_channels(
        &self,
        filter: &ChannelFilter,
        caller: &str,
    ) -> Result<Vec<ChannelRecord>, StoreError> {
        let mut params = Params::default();
        let sql = super::query_sql::channel_select(CHANNEL_COLUMNS, filter, caller, &mut params);
        // Built per query (filters, field names, page in the text): run unprepared, not cached ([`Prepared`]).
        all(self.client().await?.query(&sql, &params.refs()).await?, channel_from)
    }
}

#[async_trait::async_trait]
impl Reads for PostgresStore {
    async fn mark_read(
        &self,
        cid: &str,
        user_id: &str,
        message_id: Option<&str>,
        now: &str,
        shared: bool,
    ) -> Result<ReadRecord, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let last_message: Option<String> = match message_id {
            Some(id) => Some(id.to_owned()),
            None => tx
                .query_opt_prepared(sql::LAST_MESSAGE_ID, &[&cid])
                .await?
                .map(|row| row.try_get(0))
                .transpose()?,
        };
        tx.execute_prepared(sql::MARK_READ, &[&cid, &user_id, &now, &last_message]).await?;
        if shared {
            tx.execute_prepared(sql::MARK_SHARED_READ, &[&cid, &user_id, &now, &last_message])
                .await?;
        }
        let read = read_of(&tx, cid, user_id).await?;
        tx.commit().await?;
        Ok(read)
    }

    async fn mark_unread(
        &self,
        cid: &str,
        user_id: &str,
        message_id: &str,
    ) -> Result<Option<ReadRecord>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let sql = sql::MESSAGE_SEQ;
        let Some(row) = tx.query_opt_prepared(sql, &[&cid, &message_id]).await? else {
            return Ok(None);
        };
        let seq: i64 = row.try_get(0)?;
        // The message just before: the new last read (or the channel's creation when there is none).
        let before = tx.query_opt_prepared(sql::MESSAGE_BEFORE, &[&cid, &seq]).await?;
        let (last_id, last_read): (Option<String>, String) = match before {
            Some(row) => (Some(row.try_get(0)?), row.try_get(1)?),
            None => {
                let sql = sql::CHANNEL_CREATED_AT;
                (None, tx.query_one_prepared(sql, &[&cid]).await?.try_get(0)?)
            }
        };
        let sql = sql::count_unread_from::<Postgres>();
        let unread: i64 = tx.query_one_prepared(&sql, &[&cid, &seq, &user_id]).await?.try_get(0)?;
        tx.execute_prepared(sql::SET_READ, &[&cid, &user_id, &last_read, &last_id, &unread])
            .await?;
        let read = read_of(&tx, cid, user_id).await?;
        tx.commit().await?;
        Ok(Some(read))
    }

    async fn mark_all_read(
        &self,
        user_id: &str,
        now: &str,
        shared: bool,
    ) -> Result<Vec<String>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let rows = tx
            .query_prepared(&format!("{} FOR UPDATE", sql::UNREAD_CHANNEL_IDS), &[&user_id])
            .await?;
        let cids = all(rows, |row| row.try_get(0))?;
        tx.execute_prepared(sql::MARK_ALL_READ, &[&user_id, &now]).await?;
        if shared {
            tx.execute_prepared(sql::MARK_ALL_SHARED_READ, &[&user_id]).await?;
        }
        tx.commit().await?;
        Ok(cids)
    }

    async fn unread_channels(
        &self,
        user_id: &str,
    ) -> Result<Vec<(String, u64, String)>, StoreError> {
        let rows = self.client().await?.query_prepared(sql::UNREAD_CHANNELS, &[&user_id]).await?;
        all(rows, |row| {
            let unread = u64::try_from(row.try_get::<_, i64>(1)?).unwrap_or(0);
            Ok((row.try_get(0)?, unread, row.try_get(2)?))
        })
    }

    async fn reads(&self, cid: &str) -> Result<Vec<ReadRecord>, StoreError> {
        all(self.client().await?.query_prepared(sql::SELECT_READS, &[&cid]).await?, read_from)
    }

    async fn unread_totals(&self, user_id: &str) -> Result<(u64, u64), StoreError> {
        let row = self.client().await?.query_one_prepared(sql::UNREAD_TOTALS, &[&user_id]).await?;
        let number = |at| row.try_get::<_, i64>(at).map(|value| u64::try_from(value).unwrap_or(0));
        Ok((number(0)?, number(1)?))
    }
}
