//! REST handlers for one message by id, as the official client calls them: `GET /messages/{id}`
//! (`getMessage`), `POST /messages/{id}` (`updateMessage`: the whole message), `PUT /messages/{id}`
//! (`partialUpdateMessage`: `set` / `unset`) and `DELETE /messages/{id}` (`deleteMessage`: soft, or `hard=true`
//! with a server token). Only the author or a server token may change a message; anyone who may read the channel
//! may get it. Changes reach the channel's watchers as `message.updated` / `message.deleted`.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, Query, State};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::ErrorCode;

use crate::channels;
use crate::error::AppError;
use crate::messages::message_input;
use crate::rest::{json_body, Caller};
use crate::routes::{answer, blocking, check_member, db, publish_channel_event, Answer};
use crate::store::MessageRecord;
use crate::{clock, AppState};

/// The stored message `id`, which `caller` may read (its channel is public or the caller a member).
fn readable(state: &AppState, caller: &Caller, id: &str) -> Result<MessageRecord, AppError> {
    let message = db(state.store.message(id))?.ok_or_else(|| {
        AppError::new(ErrorCode::DoesNotExist, format!("message \"{id}\" does not exist"))
    })?;
    if !caller.server {
        let channel = db(state.store.channel(&message.cid))?.ok_or_else(|| {
            AppError::new(ErrorCode::DoesNotExist, "the message's channel does not exist")
        })?;
        check_member(state, &channel, caller.user()?)?;
    }
    Ok(message)
}

/// The stored message `id`, which `caller` may change: its author, or a server token.
fn changeable(state: &AppState, caller: &Caller, id: &str) -> Result<MessageRecord, AppError> {
    caller.refuse_anonymous()?;
    let message = readable(state, caller, id)?;
    if !caller.server && caller.user()? != message.user.id {
        return Err(AppError::new(ErrorCode::NotAllowed, "only its author can change a message"));
    }
    Ok(message)
}

/// Tells the message's channel `kind` (`message.updated` / `message.deleted`) and answers `{message}`.
fn announce(
    state: &AppState,
    kind: &str,
    message: &MessageRecord,
    extra: Map<String, Value>,
) -> Result<Value, AppError> {
    let view = channels::message_view(message);
    if let Some(channel) = db(state.store.channel(&message.cid))? {
        let now = clock::timestamp();
        let mut event = channels::event(kind, &channel, &now);
        event.insert("message".into(), view.clone());
        event.insert("user".into(), channels::user_view(&message.user));
        event.extend(extra);
        publish_channel_event(state, &channel.cid, event);
    }
    Ok(json!({ "message": view }))
}

/// `GET /messages/{id}`.
pub async fn get_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Answer {
    let started = Instant::now();
    let response = blocking(&state, move |state| {
        let message = readable(state, &caller, &id)?;
        Ok(json!({ "message": channels::message_view(&message) }))
    })
    .await?;
    answer(response, started)
}

/// The body of `POST /messages/{id}`.
#[derive(Debug, Deserialize)]
struct UpdateBody {
    /// The whole message: text, attachments and custom fields.
    message: Map<String, Value>,
}

/// `POST /messages/{id}`: the message's text and fields replaced (the same rules as sending one).
pub async fn update_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let body: UpdateBody = json_body(body)?;
    let mut message = body.message;
    if message.get("id").and_then(Value::as_str).is_some_and(|inner| inner != id) {
        return Err(AppError::input("message.id must be the id in the path"));
    }
    message.insert("id".into(), id.clone().into());
    let input = message_input(message, state.settings.limits.message_bytes)?;
    let response = blocking(&state, move |state| {
        changeable(state, &caller, &id)?;
        let updated =
            db(state.store.update_message(&id, &input.text, input.extra, &clock::timestamp()))?
                .filter(|message| message.deleted_at.is_none())
                .ok_or_else(|| AppError::input("a deleted message cannot be edited"))?;
        announce(state, "message.updated", &updated, Map::new())
    })
    .await?;
    answer(response, started)
}

/// The body of `PUT /messages/{id}`.
#[derive(Debug, Deserialize)]
struct PartialBody {
    /// Fields to set.
    #[serde(default)]
    set: Map<String, Value>,
    /// Fields to remove.
    #[serde(default)]
    unset: Vec<String>,
}

/// `PUT /messages/{id}`: `set` fields (`text` included) and `unset` ones; the result checked as a sent message.
pub async fn partial_update_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let body: PartialBody = json_body(body)?;
    if body.set.contains_key("id") || body.unset.iter().any(|key| key == "id") {
        return Err(AppError::input("a message's id cannot be changed"));
    }
    let max_bytes = state.settings.limits.message_bytes;
    let response = blocking(&state, move |state| {
        let current = changeable(state, &caller, &id)?;
        let mut message = current.extra.clone();
        message.insert("text".into(), current.text.clone().into());
        message.extend(body.set);
        for key in &body.unset {
            message.remove(key);
        }
        message.insert("id".into(), id.clone().into());
        let input = message_input(message, max_bytes)?;
        let updated =
            db(state.store.update_message(&id, &input.text, input.extra, &clock::timestamp()))?
                .filter(|message| message.deleted_at.is_none())
                .ok_or_else(|| AppError::input("a deleted message cannot be edited"))?;
        announce(state, "message.updated", &updated, Map::new())
    })
    .await?;
    answer(response, started)
}

/// The query of `DELETE /messages/{id}`.
#[derive(Debug, Default, Deserialize)]
struct DeleteParams {
    /// Remove it for good (server tokens only).
    #[serde(default)]
    hard: bool,
}

/// `DELETE /messages/{id}`: soft (kept as `type: "deleted"`), or `hard=true` with a server token.
pub async fn delete_message(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Answer {
    let started = Instant::now();
    let Query(params) =
        Query::<DeleteParams>::try_from_uri(&uri).unwrap_or(Query(DeleteParams::default()));
    if params.hard && !caller.server {
        return Err(AppError::new(
            ErrorCode::NotAllowed,
            "only a server token can hard-delete a message",
        ));
    }
    let response = blocking(&state, move |state| {
        changeable(state, &caller, &id)?;
        let deleted = db(state.store.delete_message(&id, params.hard, &clock::timestamp()))?
            .ok_or_else(|| {
                AppError::new(ErrorCode::DoesNotExist, format!("message \"{id}\" does not exist"))
            })?;
        let mut extra = Map::new();
        extra.insert("hard_delete".into(), params.hard.into());
        announce(state, "message.deleted", &deleted, extra)
    })
    .await?;
    answer(response, started)
}

/// The query of `GET /messages/{id}/replies`.
#[derive(Debug, Default, Deserialize)]
struct RepliesParams {
    /// How many, newest first (default 25, at most 300).
    limit: Option<usize>,
    /// Only replies older than this one.
    id_lt: Option<String>,
}

/// Replies per page by default, and at most.
const DEFAULT_REPLIES: usize = 25;
/// The largest page of replies.
const MAX_REPLIES: usize = 300;

/// `GET /messages/{id}/replies` (`getReplies`): a page of the thread, oldest first.
pub async fn get_replies(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: axum::http::Uri,
) -> Answer {
    let started = Instant::now();
    let Query(params) = Query::<RepliesParams>::try_from_uri(&uri)
        .map_err(|error| AppError::input(format!("bad query string: {error}")))?;
    let limit = params.limit.unwrap_or(DEFAULT_REPLIES);
    if limit == 0 || limit > MAX_REPLIES {
        return Err(AppError::input(format!("limit is 1 to {MAX_REPLIES}")));
    }
    let response = blocking(&state, move |state| {
        readable(state, &caller, &id)?;
        let replies = db(state.store.replies(&id, limit, params.id_lt.as_deref()))?;
        let messages: Vec<Value> = replies.iter().map(channels::message_view).collect();
        Ok(json!({ "messages": messages }))
    })
    .await?;
    answer(response, started)
}
