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

use crate::domain::channels;
use crate::domain::messages::message_input;
use crate::domain::pins;
use crate::error::AppError;
use crate::events::publish_versioned_event;
use crate::routes::rest::{json_body, Caller};
use crate::routes::send::parent_changed;
use crate::routes::{admitted, answer, check_member, db, user_standing, Answer};
use crate::store::{ChannelRecord, MessageRecord};
use crate::{clock, AppState};

/// The stored message `id`, which `caller` may read (its channel is public or the caller a member).
pub(crate) async fn readable(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<MessageRecord, AppError> {
    readable_in(state, caller, id).await.map(|(message, _)| message)
}

/// [`readable`], with the message's channel as read for the check (`None` for a server token, which reads any).
async fn readable_in(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<(MessageRecord, Option<ChannelRecord>), AppError> {
    let message =
        db(state.store.message(id).await)?.ok_or_else(|| crate::domain::messages::missing(id))?;
    if caller.server {
        return Ok((message, None));
    }
    let channel = db(state.store.channel(&message.cid).await)?.ok_or_else(|| {
        AppError::new(ErrorCode::DoesNotExist, "the message's channel does not exist")
    })?;
    check_member(state, &channel, caller.user()?).await?;
    Ok((message, Some(channel)))
}

/// The stored message `id`, which `caller` may change: its author, a server token, or a user with `capability`
/// (`update-any-message` / `delete-any-message`: moderators) in its channel.
async fn changeable(
    state: &AppState,
    caller: &Caller,
    id: &str,
    capability: &str,
) -> Result<MessageRecord, AppError> {
    caller.refuse_anonymous()?;
    let (message, channel) = readable_in(state, caller, id).await?;
    let Some(channel) = channel else { return Ok(message) };
    let user = caller.user()?;
    if user == message.user.id {
        return Ok(message);
    }
    let standing = user_standing(state, &channel, user).await?;
    if !crate::domain::permissions::own_capabilities(&channel, standing).contains(&capability) {
        return Err(AppError::new(
            ErrorCode::NotAllowed,
            "only its author or a moderator can change a message",
        ));
    }
    Ok(message)
}

/// The stored message `id`, which `caller` may pin or unpin: a server token, or a user with `pin-message` in its
/// channel.
async fn pinnable(state: &AppState, caller: &Caller, id: &str) -> Result<MessageRecord, AppError> {
    caller.refuse_anonymous()?;
    let (message, channel) = readable_in(state, caller, id).await?;
    let Some(channel) = channel else { return Ok(message) };
    let standing = user_standing(state, &channel, caller.user()?).await?;
    crate::domain::permissions::require(&channel, standing, "pin-message")?;
    Ok(message)
}

/// Tells the message's channel `kind` (`message.updated` / `message.deleted`) and answers `{message}`.
async fn announce(
    state: &AppState,
    kind: &str,
    message: &MessageRecord,
    extra: Map<String, Value>,
) -> Result<Value, AppError> {
    crate::domain::quotes::refresh(state, message).await?;
    announce_as(state, kind, message, &message.user, extra).await
}

/// [`announce`] for an event `user` caused (a reaction's author rather than the message's).
async fn announce_as(
    state: &AppState,
    kind: &str,
    message: &MessageRecord,
    user: &crate::domain::users::StoredUser,
    extra: Map<String, Value>,
) -> Result<Value, AppError> {
    let view = channels::message_view(message);
    if let Some(channel) = db(state.store.channel(&message.cid).await)? {
        let now = clock::timestamp();
        let mut event = channels::event(kind, &channel, &now);
        event.insert("message".into(), view.clone());
        event.insert("user".into(), channels::user_view(user));
        event.extend(extra);
        publish_versioned_event(state, &channel.cid, event, message.version);
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
    let response = admitted(&state, async {
        let state = &state;
        let message = readable(state, &caller, &id).await?;
        let viewer = caller.user_id.as_deref().unwrap_or_default();
        Ok(json!({ "message": channels::message_view_for(&message, viewer) }))
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
    let response = admitted(&state, async {
        let state = &state;
        let current = changeable(state, &caller, &id, "update-any-message").await?;
        let mut extra = input.extra;
        pins::apply(&mut extra, &current.extra, None, "", "");
        crate::domain::quotes::attach(state, &current.cid, &id, &mut extra).await?;
        let updated =
            db(state.store.update_message(&id, &input.text, extra, &clock::timestamp()).await)?
                .filter(|message| message.deleted_at.is_none())
                .ok_or_else(|| AppError::input("a deleted message cannot be edited"))?;
        announce(state, "message.updated", &updated, Map::new()).await
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
    let PartialBody { mut set, unset } = body;
    let pin = pins::take_change(&mut set, &unset)?;
    let only_pin =
        set.is_empty() && unset.iter().all(|key| pins::PIN_FIELDS.contains(&key.as_str()));
    let response = admitted(&state, async {
        let state = &state;
        let current = match (&pin, only_pin) {
            // Pinning alone is for anyone with `pin-message` in the channel, not only the author.
            (Some(_), true) => pinnable(state, &caller, &id).await?,
            (Some(_), false) => {
                pinnable(state, &caller, &id).await?;
                changeable(state, &caller, &id, "update-any-message").await?
            }
            (None, _) => changeable(state, &caller, &id, "update-any-message").await?,
        };
        let mut message = current.extra.clone();
        message.insert("text".into(), current.text.clone().into());
        message.extend(set);
        for key in &unset {
            message.remove(key);
        }
        message.insert("id".into(), id.clone().into());
        let input = message_input(message, max_bytes)?;
        let mut extra = input.extra;
        let (user, now) = (caller.user_id.clone().unwrap_or_default(), clock::timestamp());
        pins::apply(&mut extra, &current.extra, pin.as_ref(), &user, &now);
        let updated = db(state.store.update_message(&id, &input.text, extra, &now).await)?
            .filter(|message| message.deleted_at.is_none())
            .ok_or_else(|| AppError::input("a deleted message cannot be edited"))?;
        announce(state, "message.updated", &updated, Map::new()).await
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
    let response = admitted(&state, async {
        let state = &state;
        changeable(state, &caller, &id, "delete-any-message").await?;
        let deleted = db(state.store.delete_message(&id, params.hard, &clock::timestamp()).await)?
            .ok_or_else(|| crate::domain::messages::missing(&id))?;
        let mut extra = Map::new();
        extra.insert("hard_delete".into(), params.hard.into());
        let answer = announce(state, "message.deleted", &deleted, extra).await?;
        delete_uploads(state, &deleted).await?;
        // A reply gone for good no longer counts in its parent's `reply_count`: say so.
        let parent_id = deleted.extra.get("parent_id").and_then(Value::as_str);
        if let (true, Some(parent_id)) = (params.hard, parent_id) {
            if let Some(channel) = db(state.store.channel(&deleted.cid).await)? {
                parent_changed(state, &channel, parent_id, &deleted.user).await?;
            }
        }
        Ok(answer)
    })
    .await?;
    answer(response, started)
}

/// Removes the files the deleted message's sender uploaded and its attachments link (others' files stay).
async fn delete_uploads(state: &AppState, deleted: &MessageRecord) -> Result<(), AppError> {
    let mut own = Vec::new();
    for id in crate::domain::uploads::attachment_file_ids(&deleted.extra) {
        let file = db(state.store.file(&id, false).await)?;
        if file.is_some_and(|(file, _)| file.user_id == deleted.user.id) {
            own.push(id);
        }
    }
    if !own.is_empty() {
        db(state.store.delete_files(&deleted.cid, &own).await)?;
    }
    Ok(())
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
    let params: RepliesParams = crate::routes::rest::query_params(&uri)?;
    let limit = params.limit.unwrap_or(DEFAULT_REPLIES);
    if limit == 0 || limit > MAX_REPLIES {
        return Err(AppError::input(format!("limit is 1 to {MAX_REPLIES}")));
    }
    let response = admitted(&state, async {
        let state = &state;
        readable(state, &caller, &id).await?;
        let replies = db(state.store.replies(&id, limit, params.id_lt.as_deref()).await)?;
        let viewer = caller.user_id.as_deref().unwrap_or_default();
        let messages: Vec<Value> =
            replies.iter().map(|m| channels::message_view_for(m, viewer)).collect();
        Ok(json!({ "messages": messages }))
    })
    .await?;
    answer(response, started)
}

/// The body of `POST /messages/{id}/reaction`.
#[derive(Debug, Deserialize)]
struct ReactionBody {
    /// `{type, score?, …custom}`.
    reaction: Map<String, Value>,
    /// Replace the user's other reactions to the message.
    #[serde(default)]
    enforce_unique: bool,
}

/// The longest reaction type, in bytes.
const MAX_REACTION_TYPE: usize = 64;
/// The most JSON a reaction's custom fields may hold, in bytes.
const MAX_REACTION_BYTES: usize = 1_024;

/// `POST /messages/{id}/reaction` (`sendReaction`): the caller's reaction (one per type, or one in all with
/// `enforce_unique`); watchers get `reaction.new` (or `reaction.updated` when it replaced one).
pub async fn send_reaction(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let ReactionBody { mut reaction, enforce_unique } = json_body(body)?;
    let kind = match reaction.remove("type") {
        Some(Value::String(kind)) if !kind.is_empty() && kind.len() <= MAX_REACTION_TYPE => kind,
        _ => {
            return Err(AppError::input(format!(
                "reaction.type must be a string of 1 to {MAX_REACTION_TYPE} bytes"
            )))
        }
    };
    let score = match reaction.remove("score") {
        None | Some(Value::Null) => 1,
        Some(score) => {
            score.as_i64().filter(|score| (1..=1_000).contains(score)).ok_or_else(|| {
                AppError::input("reaction.score must be a whole number from 1 to 1000")
            })?
        }
    };
    for owned in ["user", "user_id", "message_id", "created_at", "updated_at"] {
        reaction.remove(owned);
    }
    if crate::limits::json_len(&reaction) > MAX_REACTION_BYTES {
        return Err(AppError::input(format!(
            "a reaction's custom fields are at most {MAX_REACTION_BYTES} bytes"
        )));
    }
    let response = admitted(&state, async {
        let state = &state;
        let message = readable(state, &caller, &id).await?;
        if let Some(channel) = db(state.store.channel(&message.cid).await)? {
            check_member(state, &channel, &user).await?;
            crate::domain::moderation::check_ban(state, &user, &channel.cid).await?;
            if crate::domain::permissions::is_frozen(&channel) && !caller.server {
                return Err(AppError::new(ErrorCode::NotAllowed, "the channel is frozen"));
            }
        }
        let new = crate::store::NewReaction {
            message_id: id.clone(),
            user_id: user.clone(),
            kind,
            score,
            extra: reaction,
            unique: enforce_unique,
        };
        let (stored, replaced) = db(state.store.send_reaction(new, &clock::timestamp()).await)?;
        let message = db(state.store.message(&id).await)?.unwrap_or(message);
        let mut extra = Map::new();
        extra.insert("reaction".into(), channels::reaction_view(&stored));
        let kind = if replaced { "reaction.updated" } else { "reaction.new" };
        let mut answer = announce_as(state, kind, &message, &stored.user, extra).await?;
        answer["reaction"] = channels::reaction_view(&stored);
        Ok(answer)
    })
    .await?;
    answer(response, started)
}

/// `DELETE /messages/{id}/reaction/{type}` (`deleteReaction`): the caller's reaction of that type; watchers get
/// `reaction.deleted`.
pub async fn delete_reaction(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, kind)): Path<(String, String)>,
) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let response = admitted(&state, async {
        let state = &state;
        readable(state, &caller, &id).await?;
        let removed =
            db(state.store.delete_reaction(&id, &user, &kind).await)?.ok_or_else(|| {
                AppError::new(ErrorCode::DoesNotExist, format!("no \"{kind}\" reaction of yours"))
            })?;
        let message = db(state.store.message(&id).await)?
            .ok_or_else(|| crate::domain::messages::missing(&id))?;
        let mut extra = Map::new();
        extra.insert("reaction".into(), channels::reaction_view(&removed));
        let mut answer =
            announce_as(state, "reaction.deleted", &message, &removed.user, extra).await?;
        answer["reaction"] = channels::reaction_view(&removed);
        Ok(answer)
    })
    .await?;
    answer(response, started)
}
