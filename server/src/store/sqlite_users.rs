//! The user query (`GET /users`) in SQLite: a [`UserQuery`] compiled to one parameterised `SELECT`. Names are read
//! from the stored JSON with `json_extract`; invisible users never match `online: true`.

use rusqlite::Connection;

use super::sqlite_rows::{user_from, Query, USER_COLUMNS};
use super::{StoreError, UserField, UserFilter, UserQuery, UserSort};
use crate::users::StoredUser;

/// The SQL expression for a filterable field.
fn column(field: UserField) -> &'static str {
    match field {
        UserField::Id => "u.id",
        UserField::Role => "u.role",
        UserField::Name => "json_extract(u.fields, '$.name')",
    }
}

/// The condition for `filter`, its values added to `query`.
fn condition(filter: &UserFilter, query: &mut Query) -> String {
    let joined = |filters: &[UserFilter], query: &mut Query, op: &str, empty: &str| {
        if filters.is_empty() {
            return empty.to_owned();
        }
        let parts: Vec<String> = filters.iter().map(|f| condition(f, query)).collect();
        format!("({})", parts.join(op))
    };
    match filter {
        UserFilter::All(filters) => joined(filters, query, " AND ", "1"),
        UserFilter::Any(filters) => joined(filters, query, " OR ", "0"),
        UserFilter::OneOf(field, values) => {
            format!("{} IN ({})", column(*field), query.list(values))
        }
        UserFilter::StartsWith(field, prefix) => {
            let escaped = prefix.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
            format!("{} LIKE {} ESCAPE '\\'", column(*field), query.value(&format!("{escaped}%")))
        }
        UserFilter::Online { online, connected } => {
            let visible = "COALESCE(json_extract(u.fields, '$.invisible'), 0) = 0";
            let test = format!("(u.id IN ({}) AND {visible})", query.list(connected));
            if *online {
                test
            } else {
                format!("NOT {test}")
            }
        }
    }
}

/// Runs `user_query`.
pub fn query_users(
    connection: &Connection,
    user_query: &UserQuery,
) -> Result<Vec<StoredUser>, StoreError> {
    let mut query = Query::default();
    let mut sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE {}",
        condition(&user_query.filter, &mut query)
    );
    let mut order: Vec<String> = user_query
        .sort
        .iter()
        .map(|(field, ascending)| {
            let column = match field {
                UserSort::Id => "u.id",
                UserSort::Name => "json_extract(u.fields, '$.name')",
                UserSort::CreatedAt => "u.created_at",
                UserSort::LastActive => "u.last_active",
            };
            format!("{column} {}", if *ascending { "ASC" } else { "DESC" })
        })
        .collect();
    order.push("u.id ASC".into());
    sql += &format!(
        " ORDER BY {} LIMIT {} OFFSET {}",
        order.join(", "),
        user_query.limit,
        user_query.offset
    );
    let mut statement = connection.prepare(&sql)?;
    let rows = statement
        .query_map(rusqlite::params_from_iter(query.values.iter()), |row| user_from(row, 0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}
