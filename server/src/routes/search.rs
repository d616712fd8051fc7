//! `GET /search?payload=` (PROTOCOL.md §22.8, `client.search` / `channel.search`): messages found by their words
//! (SQLite FTS5, PostgreSQL `tsvector`) and by `message_filter_conditions`, in the channels of `filter_conditions`
//! the caller may read. Each result carries its channel (`{id, type, cid, …}`), which the UI kits open.
//!
//! Bounds: a query of at most [`MAX_QUERY_CHARS`] characters and [`MAX_WORDS`] words, pages of at most
//! [`MAX_LIMIT`], offsets up to the server's `max_offset`; anything else in a filter is code 4.

use std::time::Instant;

use axum::extract::State;
use axum::http::Uri;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::domain::channels;
use crate::error::AppError;
use crate::routes::filters::{channel_conditions, condition};
use crate::routes::rest::{cursor_offset, page_answer, payload, Caller};
use crate::routes::{admitted, answer, db, Answer};
use crate::store::{ChannelFilter, MessageSearch};
use crate::AppState;

/// The longest query text, in characters.
pub const MAX_QUERY_CHARS: usize = 1_000;
/// The most words of a query that are matched.
pub const MAX_WORDS: usize = 16;
/// The default page.
const DEFAULT_LIMIT: usize = 20;
/// The largest page.
pub const MAX_LIMIT: usize = 100;

/// The JSON payload, as the official client's `search` sends it.
#[derive(Debug, Default, Deserialize)]
struct Payload {
    /// Which channels (the `queryChannels` filter).
    #[serde(default)]
    filter_conditions: Map<String, Value>,
    /// Words to find (a string query).
    query: Option<String>,
    /// Conditions on the messages (an object query).
    message_filter_conditions: Option<Map<String, Value>>,
    /// `[{field: "created_at", direction}]`.
    #[serde(default)]
    sort: Vec<Value>,
    /// Page size.
    limit: Option<usize>,
    /// Page start.
    offset: Option<usize>,
    /// The cursor of the next page, from a previous answer.
    next: Option<String>,
}

/// `GET /search`: `{results: [{message}], next?}`, newest first unless sorted otherwise.
pub async fn search(State(state): State<AppState>, caller: Caller, uri: Uri) -> Answer {
    let started = Instant::now();
    let user = caller.user()?.to_owned();
    let payload: Payload = payload(&uri, "a valid search")?.unwrap_or_default();
    let search = message_search(&payload, &state.settings.limits)?;
    let response = admitted(&state, async {
        let state = &state;
        let Some(search) = search else { return Ok(json!({ "results": [] })) };
        let mut one_more = search.clone();
        one_more.limit += 1;
        let mut found = db(state.store.search_messages(&one_more, &user).await)?;
        let more = found.len() > search.limit;
        found.truncate(search.limit);
        let mut channels: Vec<(String, Value)> = Vec::new();
        let mut results = Vec::with_capacity(found.len());
        for message in &found {
            if !channels.iter().any(|(cid, _)| *cid == message.cid) {
                let view = db(state.store.channel(&message.cid).await)?
                    .map(|channel| channels::channel_event_view(&channel))
                    .unwrap_or(Value::Null);
                channels.push((message.cid.clone(), view));
            }
            let mut view = channels::message_view_for(message, &user);
            if let Some((_, channel)) = channels.iter().find(|(cid, _)| *cid == message.cid) {
                view["channel"] = channel.clone();
            }
            results.push(json!({ "message": view }));
        }
        Ok(page_answer("results", results, more.then_some(search.offset + search.limit)))
    })
    .await?;
    answer(response, started)
}

/// The store's search for `payload`; `None` when it can find nothing (a query without a word).
fn message_search(
    payload: &Payload,
    limits: &crate::limits::Limits,
) -> Result<Option<MessageSearch>, AppError> {
    let mut channels = ChannelFilter {
        public_kinds: channels::PUBLIC_TYPES.iter().map(|kind| kind.to_string()).collect(),
        ..ChannelFilter::default()
    };
    channel_conditions(&mut channels, &payload.filter_conditions, limits.filter_values)?;
    let offset = match (&payload.next, payload.offset) {
        (Some(_), Some(offset)) if offset > 0 => {
            return Err(AppError::input("offset and next cannot be used together"))
        }
        (Some(next), _) => cursor_offset(Some(next), usize::MAX)?,
        (None, offset) => offset.unwrap_or(0),
    };
    if offset > limits.max_offset {
        return Err(AppError::input(format!("offset may be at most {}", limits.max_offset)));
    }
    let limit = payload.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AppError::input(format!("limit must be 1 to {MAX_LIMIT}")));
    }
    let mut search =
        MessageSearch { channels, newest_first: true, limit, offset, ..MessageSearch::default() };
    let mut searched = false;
    if let Some(query) = &payload.query {
        searched = true;
        if !add_words(&mut search, query, false)? {
            return Ok(None);
        }
    }
    if let Some(conditions) = &payload.message_filter_conditions {
        searched = true;
        if !message_conditions(&mut search, conditions, limits.filter_values, 0)? {
            return Ok(None);
        }
    }
    if !searched {
        return Err(AppError::input("search needs a query or message_filter_conditions"));
    }
    for sort in &payload.sort {
        let direction = sort.get("direction").and_then(Value::as_i64);
        match (sort.get("field").and_then(Value::as_str), direction) {
            (Some("created_at"), Some(1)) => search.newest_first = false,
            (Some("created_at" | "relevance"), None | Some(-1)) => search.newest_first = true,
            _ => return Err(AppError::input("search sorts by created_at, direction 1 or -1")),
        }
    }
    Ok(Some(search))
}

/// Adds the words of `text` to the search (`prefix`: the last one may be the start of a word); `false` when it
/// has none, so nothing can match.
fn add_words(search: &mut MessageSearch, text: &str, prefix: bool) -> Result<bool, AppError> {
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(AppError::input(format!(
            "a search query may hold {MAX_QUERY_CHARS} characters"
        )));
    }
    let words: Vec<String> = text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
        .take(MAX_WORDS)
        .collect();
    if words.is_empty() {
        return Ok(false);
    }
    search.words.extend(words);
    search.prefix = prefix;
    Ok(true)
}

/// Adds `message_filter_conditions` (`text` as words, `$q`, `$autocomplete`; `type: "regular"`; `pinned`;
/// `attachments.type`; `user.id` / `user_id`; `$and`) to the search; `false` when nothing can match.
fn message_conditions(
    search: &mut MessageSearch,
    conditions: &Map<String, Value>,
    max: usize,
    depth: usize,
) -> Result<bool, AppError> {
    for (key, value) in conditions {
        let matches = match key.as_str() {
            "text" => {
                let (text, prefix) = match value {
                    Value::String(text) => (text.as_str(), false),
                    Value::Object(op) => {
                        match (op.get("$q"), op.get("$autocomplete"), op.get("$eq")) {
                            (Some(Value::String(text)), None, None)
                            | (None, None, Some(Value::String(text))) => (text.as_str(), false),
                            (None, Some(Value::String(text)), None) => (text.as_str(), true),
                            _ => {
                                return Err(AppError::input(
                                    "text takes a string, $q, $autocomplete or $eq",
                                ))
                            }
                        }
                    }
                    _ => return Err(AppError::input("text takes a string")),
                };
                add_words(search, text, prefix)?
            }
            "type" => {
                if condition(value, max)? != ["regular"] {
                    return Err(AppError::input("messages are searched by type \"regular\" only"));
                }
                true
            }
            "pinned" => {
                let pinned = value
                    .as_bool()
                    .or_else(|| value.get("$eq").and_then(Value::as_bool))
                    .ok_or_else(|| AppError::input("pinned takes true or false"))?;
                search.pinned = Some(pinned);
                true
            }
            "attachments.type" => {
                search.attachment_types = Some(condition(value, max)?);
                true
            }
            "user.id" | "user_id" => {
                search.user_ids = Some(condition(value, max)?);
                true
            }
            "$and" if depth == 0 => {
                let parts = value
                    .as_array()
                    .filter(|parts| parts.len() <= 10)
                    .ok_or_else(|| AppError::input("$and takes a list of at most 10 filters"))?;
                let mut all = true;
                for part in parts {
                    let part =
                        part.as_object().ok_or_else(|| AppError::input("$and takes filters"))?;
                    all &= message_conditions(search, part, max, depth + 1)?;
                }
                all
            }
            other => {
                return Err(AppError::input(format!("messages cannot be searched by \"{other}\"")))
            }
        };
        if !matches {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(payload: Value) -> Result<Option<MessageSearch>, AppError> {
        let payload: Payload = serde_json::from_value(payload).unwrap();
        message_search(&payload, &crate::limits::Limits::default())
    }

    #[test]
    fn queries_become_words_and_conditions() {
        let search = parse(json!({"filter_conditions": {"members": {"$in": ["me"]}},
            "message_filter_conditions": {"type": "regular", "text": "Hello, WORLD!"}, "limit": 10}))
        .unwrap()
        .unwrap();
        assert_eq!(
            (search.words.clone(), search.prefix),
            (vec!["hello".into(), "world".into()], false)
        );
        assert_eq!(search.channels.members, Some(vec!["me".into()]));
        assert_eq!(search.channels.hidden, None, "hidden channels are searched too");
        let search = parse(json!({"filter_conditions": {"cid": "messaging:a"},
            "message_filter_conditions": {"pinned": true, "text": {"$autocomplete": "wor"}}}))
        .unwrap()
        .unwrap();
        assert_eq!(
            (search.words, search.prefix, search.pinned),
            (vec!["wor".into()], true, Some(true))
        );
        let files = parse(json!({"filter_conditions": {}, "message_filter_conditions":
            {"attachments.type": {"$in": ["file", "audio"]}}, "sort": [{"field": "created_at", "direction": 1}]}))
        .unwrap()
        .unwrap();
        assert_eq!(files.attachment_types, Some(vec!["file".into(), "audio".into()]));
        assert!(!files.newest_first);
        assert!(parse(json!({"query": "!!! ..."})).unwrap().is_none(), "no word finds nothing");
        let paged = parse(json!({"query": "x", "next": "o40", "limit": 20})).unwrap().unwrap();
        assert_eq!(paged.offset, 40);
    }

    #[test]
    fn bad_searches_are_code_4() {
        for bad in [
            json!({}),
            json!({"query": "x".repeat(MAX_QUERY_CHARS + 1)}),
            json!({"query": "x", "limit": 0}),
            json!({"query": "x", "limit": MAX_LIMIT + 1}),
            json!({"query": "x", "offset": 1_000_000}),
            json!({"query": "x", "next": "o1", "offset": 5}),
            json!({"query": "x", "next": "elsewhere"}),
            json!({"query": "x", "filter_conditions": {"secret": true}}),
            json!({"message_filter_conditions": {"html": "x"}}),
            json!({"message_filter_conditions": {"type": "system"}}),
            json!({"message_filter_conditions": {"text": {"$regex": ".*"}}}),
            json!({"query": "x", "sort": [{"field": "text"}]}),
        ] {
            let error = parse(bad.clone()).expect_err(&bad.to_string());
            assert_eq!(error.code, stream_chat_protocol::ErrorCode::Input, "{bad}");
        }
    }
}
