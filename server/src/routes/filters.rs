//! The conditions of channel filters (PROTOCOL.md §6), shared by `queryChannels`, search's channel filter and
//! member queries: a value or `$eq` / `$in` list (bounded), the channel fields a filter may name (`cid`,
//! `members`, `type`, `hidden`, `name`), and `name`'s `$autocomplete`. Anything else is code 4.

use serde_json::{Map, Value};

use crate::error::AppError;
use crate::store::{ChannelFilter, NameMatch};

/// `"x"` or `{"$in": ["x", …]}` (or `{"$eq": "x"}`) as a list of at most `max` values.
pub fn condition(value: &Value, max: usize) -> Result<Vec<String>, AppError> {
    if let Some(Value::Array(values)) = value.get("$in") {
        if values.len() > max {
            return Err(AppError::input(format!("a filter list may hold at most {max} values")));
        }
    }
    let strings = |values: &[Value]| {
        values.iter().map(|v| v.as_str().map(Into::into)).collect::<Option<Vec<_>>>()
    };
    let list = match value {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Object(operator) => match (operator.get("$in"), operator.get("$eq")) {
            (Some(Value::Array(values)), _) => strings(values),
            (_, Some(Value::String(one))) => Some(vec![one.clone()]),
            _ => None,
        },
        _ => None,
    };
    list.ok_or_else(|| AppError::input(format!("unsupported filter condition {value}")))
}

/// Adds the `filter_conditions` of a channel query to `filter`: `cid`, `members`, `type`, `hidden`, `name`; any
/// other field is code 4. Lists hold at most `max` values.
pub fn channel_conditions(
    filter: &mut ChannelFilter,
    conditions: &Map<String, Value>,
    max: usize,
) -> Result<(), AppError> {
    for (key, value) in conditions {
        match key.as_str() {
            "cid" => filter.cids = Some(condition(value, max)?),
            "members" => filter.members = Some(condition(value, max)?),
            "type" => filter.kinds = Some(condition(value, max)?),
            "hidden" => {
                filter.hidden =
                    Some(value.as_bool().ok_or_else(|| {
                        AppError::input("the hidden filter must be true or false")
                    })?)
            }
            "name" => filter.name = Some(name_match(value, max)?),
            other => return Err(AppError::input(format!("unsupported filter field \"{other}\""))),
        }
    }
    Ok(())
}

/// A condition on a channel's `name`: a string or `$eq` / `$in`, or `$autocomplete` (a word starting with it).
pub fn name_match(value: &Value, max: usize) -> Result<NameMatch, AppError> {
    match value.get("$autocomplete") {
        Some(Value::String(prefix)) if prefix.chars().count() <= 100 => {
            Ok(NameMatch::WordPrefix(prefix.clone()))
        }
        Some(_) => Err(AppError::input("$autocomplete takes a string of at most 100 characters")),
        None => condition(value, max).map(NameMatch::OneOf),
    }
}
