//! Lookups that change nothing (PROTOCOL.md §22.7, §22.9): `GET {C}/messages?ids=` (`getMessagesById`),
//! `GET /messages/{id}/reactions` (`getReactions`) and its `POST` (`queryReactions`, filtered, sorted, paged with
//! `next`), and `GET {C}/pinned_messages` (`getPinnedMessages`). Each reads only what the caller may read; every
//! list is bounded.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::Uri;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::ErrorCode;

use crate::domain::channels;
use crate::error::AppError;
use crate::routes::message::readable;
use crate::routes::rest::{
    ascending, cursor_offset, json_body, page_answer, payload, query_params, Caller,
};
use crate::routes::{admitted, answer, db, usable_channel, Answer};
use crate::store::ReactionRecord;
use crate::{clock, AppState};

/// Ids in one `getMessagesById`.
pub const MAX_IDS: usize = 100;
/// The largest page of reactions or pinned messages.
pub const MAX_PAGE: usize = 300;
/// Reactions per page by default.
const DEFAULT_REACTIONS: usize = 25;
/// Pinned messages per page by default.
const DEFAULT_PINNED: usize = 25;

/// The query of `GET {C}/messages`.
#[derive(Debug, Deserialize)]
struct IdsParams {
    /// Comma-separated message ids.
    ids: String,
}

/// `GET /channels/{type}/{id}/messages?ids=a,b`: those messages of this channel that exist, in the order asked.
pub async fn messages_by_id(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    uri: Uri,
) -> Answer {
    let started = Instant::now();
    let IdsParams { ids } = query_params(&uri)?;
    let ids: Vec<String> = ids.split(',').filter(|id| !id.is_empty()).map(str::to_owned).collect();
    if ids.len() > MAX_IDS {
        return Err(AppError::input(format!("at most {MAX_IDS} ids at once")));
    }
    let user = caller.user()?.to_owned();
    let response = admitted(&state, async {
        let state = &state;
        let channel = usable_channel(state, &kind, &id, &user).await?;
        let mut messages = Vec::new();
        for id in &ids {
            if let Some(message) = db(state.store.message(id).await)? {
                if message.cid == channel.cid && message.deleted_at.is_none() {
                    messages.push(channels::message_view_for(&message, &user));
                }
            }
        }
        Ok(json!({ "messages": messages }))
    })
    .await?;
    answer(response, started)
}

/// A page: `limit` and `offset`, as query parameters or inside `payload`.
#[derive(Debug, Default, Deserialize)]
struct PageParams {
    limit: Option<usize>,
    offset: Option<usize>,
}

/// `GET /messages/{id}/reactions` (`getReactions`): a page of the message's reactions, newest first.
pub async fn get_reactions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer {
    let started = Instant::now();
    let params: PageParams = query_params(&uri)?;
    let inner: PageParams = payload(&uri, "a valid page")?.unwrap_or_default();
    let limit = page_limit(params.limit.or(inner.limit), DEFAULT_REACTIONS)?;
    let offset = params.offset.or(inner.offset).unwrap_or(0);
    let response = admitted(&state, async {
        let state = &state;
        let message = readable(state, &caller, &id).await?;
        let reactions: Vec<Value> = message
            .reactions
            .iter()
            .rev()
            .skip(offset)
            .take(limit)
            .map(channels::reaction_view)
            .collect();
        Ok(json!({ "reactions": reactions }))
    })
    .await?;
    answer(response, started)
}

/// The body of `POST /messages/{id}/reactions` (`queryReactions`).
#[derive(Debug, Default, Deserialize)]
struct ReactionQuery {
    /// `type` and / or `user_id` (`$eq` or a value).
    #[serde(default)]
    filter: Map<String, Value>,
    /// `[{field: "created_at", direction}]` (newest first by default).
    #[serde(default)]
    sort: Vec<Value>,
    limit: Option<usize>,
    /// The cursor of the next page, from a previous answer.
    next: Option<String>,
}

/// `POST /messages/{id}/reactions` (`queryReactions`): `{reactions, next?}`.
pub async fn query_reactions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let query: ReactionQuery = json_body(body)?;
    let limit = page_limit(query.limit, DEFAULT_REACTIONS)?;
    let offset = cursor_offset(query.next.as_deref(), MAX_PAGE * 10)?;
    let mut wanted: Vec<(&'static str, String)> = Vec::new();
    for (key, value) in &query.filter {
        let field = match key.as_str() {
            "type" => "type",
            "user_id" => "user_id",
            other => {
                return Err(AppError::input(format!("reactions cannot be filtered by \"{other}\"")))
            }
        };
        let value = value.as_str().or_else(|| value.get("$eq").and_then(Value::as_str));
        let value = value.ok_or_else(|| AppError::input(format!("{key} takes a string or $eq")))?;
        wanted.push((field, value.to_owned()));
    }
    let newest_first = ascending(&query.sort, "created_at", "reactions")? != Some(true);
    let response = admitted(&state, async {
        let state = &state;
        let message = readable(state, &caller, &id).await?;
        let matches = |reaction: &&ReactionRecord| {
            wanted.iter().all(|(field, value)| match *field {
                "type" => reaction.kind == *value,
                _ => reaction.user.id == *value,
            })
        };
        let mut found: Vec<&ReactionRecord> = message.reactions.iter().filter(matches).collect();
        if newest_first {
            found.reverse();
        }
        let next = (found.len() > offset + limit).then_some(offset + limit);
        let page: Vec<Value> =
            found.into_iter().skip(offset).take(limit).map(channels::reaction_view).collect();
        Ok(page_answer("reactions", page, next))
    })
    .await?;
    answer(response, started)
}

/// The payload of `GET {C}/pinned_messages`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PinnedQuery {
    limit: Option<usize>,
    #[serde(default)]
    offset: usize,
    /// Only pins of messages this user sent.
    user_id: Option<String>,
    /// The official client's `user` (its id is used).
    user: Option<Map<String, Value>>,
    /// `[{field: "pinned_at", direction}]` (latest pin first by default).
    #[serde(default)]
    sort: Vec<Value>,
}

/// `GET /channels/{type}/{id}/pinned_messages?payload=` (`getPinnedMessages`): `{messages}`, latest pin first.
pub async fn pinned_messages(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    uri: Uri,
) -> Answer {
    let started = Instant::now();
    let query: PinnedQuery = payload(&uri, "a valid pinned-messages query")?.unwrap_or_default();
    let limit = page_limit(query.limit, DEFAULT_PINNED)?;
    if query.offset > MAX_PAGE * 10 {
        return Err(AppError::input(format!("offset may be at most {}", MAX_PAGE * 10)));
    }
    let oldest_first = ascending(&query.sort, "pinned_at", "pinned messages")? == Some(true);
    let sender = query
        .user_id
        .or_else(|| query.user.and_then(|user| user.get("id")?.as_str().map(str::to_owned)));
    let user = caller.user()?.to_owned();
    let response = admitted(&state, async {
        let state = &state;
        let channel = usable_channel(state, &kind, &id, &user).await?;
        let all = db(state
            .store
            .pinned_messages(&channel.cid, &clock::timestamp(), MAX_PAGE * 11)
            .await)?;
        let mut all: Vec<_> = all
            .iter()
            .filter(|m| sender.as_ref().is_none_or(|sender| m.user.id == *sender))
            .collect();
        if oldest_first {
            all.reverse();
        }
        let messages: Vec<Value> = all
            .into_iter()
            .skip(query.offset)
            .take(limit)
            .map(|message| channels::message_view_for(message, &user))
            .collect();
        Ok(json!({ "messages": messages }))
    })
    .await?;
    answer(response, started)
}

/// A page size: `default` when unset, 1 to [`MAX_PAGE`] else (code 4).
fn page_limit(limit: Option<usize>, default: usize) -> Result<usize, AppError> {
    match limit {
        None => Ok(default),
        Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        Some(_) => Err(AppError::new(ErrorCode::Input, format!("limit must be 1 to {MAX_PAGE}"))),
    }
}
