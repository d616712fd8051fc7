//! Channel management in PostgreSQL, for [`PostgresStore`]'s `Store` methods: a member's role and hidden flag, the
//! channel's custom data, truncation and deletion.

use serde_json::{Map, Value};

use super::postgres::PostgresStore;
use super::postgres_channels::member_from;
use super::postgres_prepared::Prepared;
use super::postgres_rows::Postgres;
use super::postgres_rows::{channel_from, CHANNEL_COLUMNS_UNCOUNTED};
use super::sql::{self, MEMBER_COLUMNS};
use super::{
    ChannelManagement, ChannelRecord, MemberChange, MemberRecord, Moderation, Relation, StoreError,
};

/// A [`Relation`] from a JSON array of a `moderation` row's columns; `None` if it is not one.
fn relation_from_json(row: Value) -> Option<Relation> {
    let Value::Array(columns) = row else { return None };
    let [kind, user_id, target, data, created_at, expires] =
        <[Value; 6]>::try_from(columns).ok()?;
    let text = |value: Value| match value {
        Value::String(text) => Some(text),
        _ => None,
    };
    Some(Relation {
        kind: text(kind)?,
        user_id: text(user_id)?,
        target: text(target)?,
        data: match data {
            Value::Object(data) => data,
            _ => Map::new(),
        },
        created_at: text(created_at)?,
        expires: text(expires),
    })
}

/// [`Relation`]s from `moderation` rows in column order.
fn relations_from(rows: &[tokio_postgres::Row]) -> Result<Vec<Relation>, StoreError> {
    Ok(rows.iter().map(super::rows::relation_from).collect::<Result<_, _>>()?)
}

#[async_trait::async_trait]
impl ChannelManagement for PostgresStore {
    async fn change_member(
        &self,
        cid: &str,
        user_id: &str,
        change: &MemberChange,
    ) -> Result<Option<(MemberRecord, u64)>, StoreError> {
        let sql = format!(
            "WITH changed AS (
                UPDATE members SET channel_role = COALESCE($3, channel_role), hidden = COALESCE($4, hidden)
                WHERE cid = $1 AND user_id = $2 RETURNING *)
             SELECT {MEMBER_COLUMNS}
             FROM changed m JOIN users u ON u.id = m.user_id"
        );
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let params = [&cid as _, &user_id as _, &change.channel_role as _, &change.hidden as _];
        let Some(row) = tx.query_opt_prepared(&sql, &params).await? else { return Ok(None) };
        let member = member_from(&row)?;
        let version: i64 =
            tx.query_one_prepared(sql::NEXT_CHANNEL_VERSION, &[&cid]).await?.try_get(0)?;
        tx.commit().await?;
        Ok(Some((member, u64::try_from(version).unwrap_or(0))))
    }

    async fn unhide_channel(&self, cid: &str) -> Result<Vec<String>, StoreError> {
        let sql = sql::SHOW_CHANNEL;
        let rows = self.client().await?.query_prepared(sql, &[&cid]).await?;
        Ok(rows.iter().map(|row| row.try_get(0)).collect::<Result<_, _>>()?)
    }

    async fn update_channel(
        &self,
        cid: &str,
        data: Map<String, Value>,
        now: &str,
    ) -> Result<Option<ChannelRecord>, StoreError> {
        let client = self.client().await?;
        let data = Value::Object(data);
        client.execute_prepared(sql::UPDATE_CHANNEL_DATA, &[&cid, &data, &now]).await?;
        let sql = sql::select_channel::<Postgres>();
        let row = client.query_opt_prepared(&sql, &[&cid]).await?;
        Ok(row.as_ref().map(channel_from).transpose()?)
    }

    async fn truncate_channel(&self, cid: &str, now: &str) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute_prepared(sql::DELETE_CHANNEL_MESSAGES, &[&cid]).await?;
        tx.execute_prepared(sql::CLEAR_CHANNEL_UNREAD, &[&cid]).await?;
        tx.execute_prepared(&sql::truncate_channel::<Postgres>(), &[&cid, &now]).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn delete_channel(&self, cid: &str) -> Result<Option<u64>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // Their reactions go with them (`ON DELETE CASCADE`).
        tx.execute_prepared(sql::DELETE_CHANNEL_MESSAGES, &[&cid]).await?;
        for rows in sql::DELETE_CHANNEL_ROWS {
            tx.execute_prepared(rows, &[&cid]).await?;
        }
        let deleted = tx.query_opt_prepared(sql::DELETE_CHANNEL, &[&cid]).await?;
        let version = deleted.map(|row| row.try_get::<_, i64>(0)).transpose()?;
        tx.commit().await?;
        Ok(version.map(|version| u64::try_from(version).unwrap_or(0)))
    }
}

#[async_trait::async_trait]
impl Moderation for PostgresStore {
    async fn put_relation(&self, relation: &Relation) -> Result<(), StoreError> {
        let data = Value::Object(relation.data.clone());
        self.client()
            .await?
            .execute_prepared(
                sql::UPSERT_RELATION,
                &[
                    &relation.kind,
                    &relation.user_id,
                    &relation.target,
                    &data,
                    &relation.created_at,
                    &relation.expires,
                ],
            )
            .await?;
        Ok(())
    }

    async fn delete_relation(
        &self,
        kind: &str,
        user_id: &str,
        target: &str,
    ) -> Result<bool, StoreError> {
        let sql = sql::DELETE_RELATION;
        Ok(self.client().await?.execute_prepared(sql, &[&kind, &user_id, &target]).await? > 0)
    }

    async fn relations(
        &self,
        kind: &str,
        user_id: Option<&str>,
        target: Option<&str>,
        now: &str,
    ) -> Result<Vec<Relation>, StoreError> {
        let sql = "SELECT kind, user_id, target, data, created_at, expires FROM moderation
             WHERE kind = $1 AND ($2::text IS NULL OR user_id = $2) AND ($3::text IS NULL OR target = $3)
             AND (expires IS NULL OR expires > $4) ORDER BY created_at, user_id, target";
        let rows =
            self.client().await?.query_prepared(sql, &[&kind, &user_id, &target, &now]).await?;
        relations_from(&rows)
    }

    async fn sender_moderation(
        &self,
        user_id: &str,
        cid: &str,
        now: &str,
    ) -> Result<Vec<Relation>, StoreError> {
        let sql = sql::SENDER_MODERATION;
        let client = self.client().await?;
        let rows = client.query_prepared(sql, &[&user_id, &cid, &now]).await?;
        relations_from(&rows)
    }

    /// [`super::Store::send_context`] in one statement: the channel's columns, membership, and the moderation
    /// rows of [`PostgresStore::sender_moderation_async`] as a JSON array of arrays in `moderation`'s column order.
    async fn send_context(
        &self,
        cid: &str,
        user_id: &str,
        now: &str,
    ) -> Result<Option<(ChannelRecord, bool, Vec<Relation>)>, StoreError> {
        let sql = format!(
            "SELECT {CHANNEL_COLUMNS_UNCOUNTED}, EXISTS (SELECT 1 FROM members WHERE cid = c.cid AND user_id = $2),
                 (SELECT COALESCE(json_agg(json_build_array(kind, user_id, target, data, created_at, expires)),
                      '[]') FROM moderation
                  WHERE ((kind = 'ban' AND user_id = $2 AND target IN ('*', $1)) OR (kind = 'block' AND target = $2))
                    AND (expires IS NULL OR expires > $3))
             FROM channels c WHERE c.cid = $1"
        );
        let client = self.client().await?;
        let Some(row) = client.query_opt_prepared(&sql, &[&cid, &user_id, &now]).await? else {
            return Ok(None);
        };
        let relations = match row.try_get::<_, Value>(12)? {
            Value::Array(rows) => rows.into_iter().filter_map(relation_from_json).collect(),
            _ => Vec::new(),
        };
        Ok(Some((channel_from(&row)?, row.try_get(11)?, relations)))
    }
}
