//! Users in PostgreSQL: connects (create or merge, monthly activity), server-side upserts and updates (row locks,
//! so concurrent updates from any node never lose each other's fields), and the user query ([`super::query_sql`]).

use serde_json::{Map, Value};

use super::postgres::PostgresStore;
use super::postgres_prepared::Prepared;
use super::postgres_rows::{all, user_from, Params};
use super::sql::{self, USER_COLUMNS};
use super::{StoreError, UserChange, UserQuery, UserReplace, Users};
use crate::store::records::{merge_fields, StoredUser};

impl PostgresStore {
    pub(super) async fn update_users_async(
        &self,
        ids: &[String],
        now: &str,
        change: &mut (dyn FnMut(Option<StoredUser>) -> Result<StoredUser, String> + Send),
    ) -> Result<Result<Vec<StoredUser>, String>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let select = format!("{} FOR UPDATE", sql::SELECT_USER);
        let mut written = Vec::with_capacity(ids.len());
        for id in ids {
            let stored = tx.query_opt_prepared(&select, &[id]).await?;
            let stored = stored.map(|row| user_from(&row, 0)).transpose()?;
            let user = match change(stored) {
                Ok(user) => user,
                // Dropping the transaction rolls back whatever was written before the refusal.
                Err(reason) => return Ok(Err(reason)),
            };
            let fields = Value::Object(user.fields.clone());
            let row = tx
                .query_one_prepared(sql::UPDATE_USER, &[&user.id, &user.role, &fields, &now])
                .await?;
            written.push(user_from(&row, 0)?);
        }
        tx.commit().await?;
        Ok(Ok(written))
    }
}

#[async_trait::async_trait]
impl Users for PostgresStore {
    async fn connect_user(
        &self,
        id: &str,
        incoming: Map<String, Value>,
        now: &str,
        month: &str,
    ) -> Result<StoredUser, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let sql = format!("{} FOR UPDATE", sql::SELECT_USER);
        let user = match tx.query_opt_prepared(&sql, &[&id]).await? {
            Some(row) => {
                let mut user = user_from(&row, 0)?;
                let before = user.fields.clone();
                merge_fields(&mut user.fields, incoming);
                if user.fields != before {
                    user.updated_at = now.to_owned();
                }
                user.last_active = Some(now.to_owned());
                user
            }
            None => StoredUser {
                id: id.to_owned(),
                role: "user".into(),
                fields: incoming,
                created_at: now.to_owned(),
                updated_at: now.to_owned(),
                last_active: Some(now.to_owned()),
            },
        };
        tx.execute_prepared(
            sql::UPSERT_CONNECTING_USER,
            &[
                &user.id,
                &user.role,
                &Value::Object(user.fields.clone()),
                &user.created_at,
                &user.updated_at,
                &user.last_active,
            ],
        )
        .await?;
        tx.execute_prepared(sql::RECORD_MONTHLY_ACTIVITY, &[&month, &id]).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn monthly_active_users(&self, month: &str) -> Result<u64, StoreError> {
        let row =
            self.client().await?.query_one_prepared(sql::COUNT_MONTHLY_ACTIVE, &[&month]).await?;
        Ok(u64::try_from(row.try_get::<_, i64>(0)?).unwrap_or(0))
    }

    async fn user(&self, id: &str) -> Result<Option<StoredUser>, StoreError> {
        let row = self.client().await?.query_opt_prepared(sql::SELECT_USER, &[&id]).await?;
        Ok(row.map(|row| user_from(&row, 0)).transpose()?)
    }

    async fn replace_users(
        &self,
        users: Vec<UserReplace>,
        now: &str,
    ) -> Result<Vec<StoredUser>, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mut stored = Vec::with_capacity(users.len());
        for user in &users {
            let fields = Value::Object(user.fields.clone());
            let row = tx
                .query_one_prepared(sql::REPLACE_USER, &[&user.id, &user.role, &fields, &now])
                .await?;
            stored.push(user_from(&row, 0)?);
        }
        tx.commit().await?;
        Ok(stored)
    }

    async fn create_user(
        &self,
        id: &str,
        role: &str,
        fields: Map<String, Value>,
        now: &str,
    ) -> Result<Option<StoredUser>, StoreError> {
        let client = self.client().await?;
        let row = client
            .query_opt_prepared(sql::CREATE_USER, &[&id, &role, &Value::Object(fields), &now])
            .await?;
        Ok(row.map(|row| user_from(&row, 0)).transpose()?)
    }

    async fn query_users(&self, user_query: &UserQuery) -> Result<Vec<StoredUser>, StoreError> {
        let mut params = Params::default();
        let sql = super::query_sql::user_select(USER_COLUMNS, user_query, &mut params);
        // Built per query (filters, field names, page in the text): run unprepared, not cached ([`Prepared`]).
        let rows = self.client().await?.query(&sql, &params.refs()).await?;
        all(rows, |row| user_from(row, 0))
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
}
