//! `GET /users?payload={filter_conditions, sort, limit, offset, presence}`, as the official client's
//! `queryUsers(filter, sort, options)` sends it: the payload parsed into a checked [`UserQuery`] (unknown fields and
//! operators, unsortable fields and out-of-range pages are code 4), run by the store, answered with each user's
//! public view and whether it is online (invisible users never are). `presence: true` subscribes the caller's
//! connection to those users' presence changes.

use std::time::Instant;

use axum::extract::State;
use axum::http::Uri;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::AppError;
use crate::routes::rest::{payload, Caller};
use crate::routes::{admitted, answer, db, Answer};
use crate::store::{UserField, UserFilter, UserQuery, UserSort};
use crate::AppState;

/// Users per page by default, and at most.
const DEFAULT_LIMIT: usize = 30;
/// The largest page.
const MAX_LIMIT: usize = 100;
/// The furthest page start.
const MAX_OFFSET: usize = 1_000;
/// The most values in one `$in`, and conditions in one `$and` / `$or`.
const MAX_VALUES: usize = 1_000;
/// How deep `$and` / `$or` may nest.
const MAX_DEPTH: usize = 4;

/// The JSON payload.
#[derive(Debug, Default, Deserialize)]
struct Payload {
    /// The filter.
    #[serde(default)]
    filter_conditions: Map<String, Value>,
    /// `[{field, direction}]`.
    #[serde(default)]
    sort: Vec<SortParam>,
    /// Page size.
    limit: Option<usize>,
    /// Page start.
    offset: Option<usize>,
    /// Subscribe to the users' presence changes.
    #[serde(default)]
    presence: bool,
}

/// One sort key.
#[derive(Debug, Deserialize)]
struct SortParam {
    /// The field.
    field: String,
    /// 1 or -1.
    #[serde(default = "ascending")]
    direction: i64,
}

fn ascending() -> i64 {
    1
}

/// Parses `filter_conditions`; `connected` answers `online` conditions.
fn filter(
    conditions: &Map<String, Value>,
    connected: &[String],
    depth: usize,
) -> Result<UserFilter, AppError> {
    if depth > MAX_DEPTH {
        return Err(AppError::input(format!("filters nest at most {MAX_DEPTH} levels deep")));
    }
    let mut all = Vec::with_capacity(conditions.len());
    for (key, value) in conditions {
        all.push(match key.as_str() {
            "$and" | "$or" => {
                let parts = value.as_array().filter(|parts| parts.len() <= MAX_VALUES).ok_or_else(
                    || {
                        AppError::input(format!(
                            "{key} takes a list of at most {MAX_VALUES} filters"
                        ))
                    },
                )?;
                let parts = parts
                    .iter()
                    .map(|part| {
                        let part = part
                            .as_object()
                            .ok_or_else(|| AppError::input(format!("{key} takes filters")))?;
                        filter(part, connected, depth + 1)
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if key == "$and" {
                    UserFilter::All(parts)
                } else {
                    UserFilter::Any(parts)
                }
            }
            "online" => {
                let online = match value {
                    Value::Bool(online) => *online,
                    Value::Object(op)
                        if op.len() == 1 && op.get("$eq").is_some_and(Value::is_boolean) =>
                    {
                        op["$eq"].as_bool().unwrap_or(false)
                    }
                    _ => return Err(AppError::input("online takes true or false")),
                };
                UserFilter::Online { online, connected: connected.to_vec() }
            }
            "id" => field(UserField::Id, key, value, true)?,
            "role" => field(UserField::Role, key, value, false)?,
            "name" => field(UserField::Name, key, value, true)?,
            other => {
                return Err(AppError::input(format!("users cannot be filtered by \"{other}\"")))
            }
        });
    }
    Ok(if all.len() == 1 { all.remove(0) } else { UserFilter::All(all) })
}

/// A condition on one field: a string (`$eq`), or `{$eq}`, `{$in}`, `{$autocomplete}` (ids and names: some word
/// starts with it, ignoring case).
fn field(
    field: UserField,
    key: &str,
    value: &Value,
    autocomplete: bool,
) -> Result<UserFilter, AppError> {
    let text = |value: &Value| {
        value
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| AppError::input(format!("{key} takes strings")))
    };
    let Value::Object(op) = value else { return Ok(UserFilter::OneOf(field, vec![text(value)?])) };
    let mut ops = op.iter();
    let (Some((name, operand)), None) = (ops.next(), ops.next()) else {
        return Err(AppError::input(format!("{key} takes one operator")));
    };
    match name.as_str() {
        "$eq" => Ok(UserFilter::OneOf(field, vec![text(operand)?])),
        "$in" => {
            let values =
                operand.as_array().filter(|values| values.len() <= MAX_VALUES).ok_or_else(
                    || AppError::input(format!("$in takes a list of at most {MAX_VALUES} values")),
                )?;
            Ok(UserFilter::OneOf(field, values.iter().map(text).collect::<Result<_, _>>()?))
        }
        "$autocomplete" if autocomplete => Ok(UserFilter::StartsWith(field, text(operand)?)),
        other => Err(AppError::input(format!("operator \"{other}\" is not supported on {key}"))),
    }
}

/// Parses the whole payload.
fn user_query(payload: &Payload, connected: &[String]) -> Result<UserQuery, AppError> {
    let sort = payload
        .sort
        .iter()
        .map(|key| {
            let field = match key.field.as_str() {
                "id" => UserSort::Id,
                "name" => UserSort::Name,
                "created_at" => UserSort::CreatedAt,
                "last_active" => UserSort::LastActive,
                other => {
                    return Err(AppError::input(format!("users cannot be sorted by \"{other}\"")))
                }
            };
            Ok((field, key.direction >= 0))
        })
        .collect::<Result<_, _>>()?;
    let limit = payload.limit.unwrap_or(DEFAULT_LIMIT);
    let offset = payload.offset.unwrap_or(0);
    if limit == 0 || limit > MAX_LIMIT || offset > MAX_OFFSET {
        return Err(AppError::input(format!(
            "limit is 1 to {MAX_LIMIT} and offset at most {MAX_OFFSET}"
        )));
    }
    Ok(UserQuery { filter: filter(&payload.filter_conditions, connected, 0)?, sort, limit, offset })
}

/// `GET /users`.
pub async fn query_users(State(state): State<AppState>, caller: Caller, uri: Uri) -> Answer {
    let started = Instant::now();
    let payload: Payload = payload(&uri, "a valid query")?.unwrap_or_default();
    let subscribe = if payload.presence { Some(caller.own_connection(&state)?) } else { None };
    let connected = state.cluster.connected_users(&state.hub);
    let query = user_query(&payload, &connected)?;
    let response = admitted(&state, async {
        let state = &state;
        let users = db(state.store.query_users(&query).await)?;
        if let Some(connection_id) = &subscribe {
            let ids: Vec<&str> = users.iter().map(|user| user.id.as_str()).collect();
            crate::events::presence::follow(state, connection_id, ids).await;
        }
        let users: Vec<Value> = users
            .iter()
            .map(|user| {
                Value::Object(user.public_view(state.cluster.is_connected(&state.hub, &user.id)))
            })
            .collect();
        Ok(json!({ "users": users }))
    })
    .await?;
    answer(response, started)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(payload: Value) -> Result<UserQuery, AppError> {
        user_query(&serde_json::from_value(payload).unwrap(), &["bob".to_owned()])
    }

    #[test]
    fn filters_sorts_and_pages_parse() {
        let query = parse(json!({"filter_conditions": {"$or": [{"id": {"$in": ["a", "b"]}},
            {"name": {"$autocomplete": "Al"}}], "online": true},
            "sort": [{"field": "last_active", "direction": -1}], "limit": 10}))
        .unwrap();
        assert_eq!(query.sort, [(UserSort::LastActive, false)]);
        assert_eq!((query.limit, query.offset), (10, 0));
        let UserFilter::All(parts) = query.filter else { panic!("{:?}", query.filter) };
        assert!(parts.contains(&UserFilter::Online { online: true, connected: vec!["bob".into()] }));
    }

    #[test]
    fn unknown_fields_operators_and_pages_are_code_4() {
        for bad in [
            json!({"filter_conditions": {"email": "x"}}),
            json!({"filter_conditions": {"id": {"$regex": "x"}}}),
            json!({"filter_conditions": {"name": {"$eq": 5}}}),
            json!({"filter_conditions": {"online": "yes"}}),
            json!({"sort": [{"field": "privacy_settings"}]}),
            json!({"limit": 1000}),
            json!({"offset": 100000}),
            json!({"filter_conditions": {"$and": [{"$and": [{"$and": [{"$and": [{"$and": [{"id": "a"}]}]}]}]}]}}),
        ] {
            assert_eq!(parse(bad.clone()).unwrap_err().code.code(), 4, "{bad}");
        }
    }
}
