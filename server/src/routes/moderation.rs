//! Moderation (PROTOCOL.md §22.4): user mutes (`/moderation/mute`, `unmute`, with a timeout in minutes), channel
//! mutes (`/moderation/mute/channel`, expiration in milliseconds), blocks (`/users/block`, `unblock`, the list),
//! flags (`/moderation/flag`, listed for moderators by `GET /moderation/flags/message`) and bans
//! (in `ban.rs`). Each is a [`Relation`] row; mutes and channel mutes are told to the user's own connections
//! with the whole list (`notification.mutes_updated`, `notification.channel_mutes_updated`) and are in `me`.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::user::validate_user_id;
use stream_chat_protocol::ErrorCode;

use crate::domain::channels;
use crate::domain::moderation::{channel_mute_view, mute_view, own_moderation};
use crate::domain::moderation::{expiry_in, minutes, MAX_TARGETS, MAX_TIMEOUT_MINUTES};
use crate::error::AppError;
use crate::events::send_to_user;
use crate::routes::rest::{json_body, Caller};
use crate::routes::{admitted, answer, db, is_admin, Answer};
use crate::store::Relation;
use crate::{clock, AppState};

/// `field` (one id) or `{field}s` (a list) of `body`: at least one, at most [`MAX_TARGETS`], each a string.
fn targets(body: &Map<String, Value>, field: &str) -> Result<Vec<String>, AppError> {
    let mut list = Vec::new();
    if let Some(one) = body.get(field).filter(|value| !value.is_null()) {
        list.push(one.clone());
    }
    if let Some(many) = body.get(&format!("{field}s")).filter(|value| !value.is_null()) {
        let many =
            many.as_array().ok_or_else(|| AppError::input(format!("{field}s must be a list")))?;
        list.extend(many.iter().cloned());
    }
    if list.is_empty() || list.len() > MAX_TARGETS {
        return Err(AppError::input(format!("send {field} or 1 to {MAX_TARGETS} {field}s")));
    }
    list.iter()
        .map(|value| {
            value
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| AppError::input(format!("{field} must be a string")))
        })
        .collect()
}

/// Tells `user_id`'s own connections their mutes (`kind` `mute`) or channel mutes as they now are.
async fn tell_mutes(state: &AppState, user_id: &str, kind: &str) -> Result<Value, AppError> {
    let own = own_moderation(state, user_id).await?;
    let (event_type, field) = match kind {
        "mute" => ("notification.mutes_updated", "mutes"),
        _ => ("notification.channel_mutes_updated", "channel_mutes"),
    };
    let me = json!({ "id": user_id, field: own.get(field).cloned().unwrap_or_default() });
    let event = json!({
        "type": event_type,
        "created_at": clock::timestamp(),
        "me": me,
    });
    send_to_user(state, user_id, event.to_string().into());
    Ok(me)
}

/// `POST /moderation/mute` (`client.muteUser(id, null, {timeout})`): the caller mutes users, for `timeout` minutes
/// or until unmuted. Their messages no longer count as unread for the caller.
pub async fn mute_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    mute(state, caller, body, "mute", true).await
}

/// `POST /moderation/unmute`.
pub async fn unmute_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    mute(state, caller, body, "mute", false).await
}

/// `POST /moderation/mute/channel` (`channel.mute({expiration})`, milliseconds): the channel's messages no longer
/// count as unread for the caller.
pub async fn mute_channel(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    mute(state, caller, body, "channel_mute", true).await
}

/// `POST /moderation/unmute/channel`.
pub async fn unmute_channel(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    mute(state, caller, body, "channel_mute", false).await
}

async fn mute(
    state: AppState,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
    kind: &'static str,
    on: bool,
) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let body: Map<String, Value> = json_body(body)?;
    let channel = kind == "channel_mute";
    let targets = targets(&body, if channel { "channel_cid" } else { "target_id" })?;
    let expires = if channel {
        // Milliseconds, rounded up to whole minutes.
        let ms = body.get("expiration").filter(|value| !value.is_null());
        let ms = ms.map(|ms| {
            ms.as_u64().ok_or_else(|| AppError::input("expiration must be milliseconds"))
        });
        ms.transpose()?.map(|ms| ms.div_ceil(60_000).clamp(1, MAX_TIMEOUT_MINUTES))
    } else {
        minutes(body.get("timeout"), "timeout")?
    };
    for target in &targets {
        if channel {
            let (kind, id) = target.split_once(':').unwrap_or(("", ""));
            channels::validate_type(kind)?;
            channels::validate_id(id)?;
        } else {
            validate_user_id(target).map_err(|error| AppError::input(error.message()))?;
            if *target == user {
                return Err(AppError::input("a user cannot mute themselves"));
            }
        }
    }
    let response = admitted(&state, async {
        let state = &state;
        let now = clock::timestamp();
        let mut made = Vec::new();
        for target in targets {
            if on {
                if channel {
                    let found = db(state.store.channel(&target).await)?
                        .ok_or_else(|| channels::missing(&target))?;
                    crate::routes::check_member(state, &found, &user).await?;
                }
                let relation = Relation {
                    kind: kind.into(),
                    user_id: user.clone(),
                    target,
                    data: Map::new(),
                    created_at: now.clone(),
                    expires: expires.map(expiry_in),
                };
                db(state.store.put_relation(&relation).await)?;
                made.push(if channel {
                    channel_mute_view(&relation)
                } else {
                    mute_view(&relation)
                });
            } else {
                db(state.store.delete_relation(kind, &user, &target).await)?;
            }
        }
        let me = tell_mutes(state, &user, kind).await?;
        let mut answer = json!({ "own_user": me });
        let one = if channel { "channel_mute" } else { "mute" };
        match made.len() {
            0 => {}
            1 => answer[one] = made.remove(0),
            _ => answer[format!("{one}s")] = made.into(),
        }
        Ok(answer)
    })
    .await?;
    answer(response, started)
}

/// The body of the block calls.
#[derive(Debug, Deserialize)]
struct BlockBody {
    /// Whom.
    blocked_user_id: String,
}

/// `POST /users/block` (`client.blockUser(id)`): the blocked user's messages and events no longer reach the caller.
pub async fn block_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let BlockBody { blocked_user_id } = json_body(body)?;
    validate_user_id(&blocked_user_id).map_err(|error| AppError::input(error.message()))?;
    if blocked_user_id == user {
        return Err(AppError::input("a user cannot block themselves"));
    }
    let response = admitted(&state, async {
        let state = &state;
        let relation = Relation {
            kind: "block".into(),
            user_id: user.clone(),
            target: blocked_user_id.clone(),
            data: Map::new(),
            created_at: clock::timestamp(),
            expires: None,
        };
        db(state.store.put_relation(&relation).await)?;
        Ok(json!({
            "blocked_by_user_id": user,
            "blocked_user_id": blocked_user_id,
            "created_at": relation.created_at,
        }))
    })
    .await?;
    answer(response, started)
}

/// `POST /users/unblock`.
pub async fn unblock_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let BlockBody { blocked_user_id } = json_body(body)?;
    admitted(&state, async {
        let state = &state;
        db(state.store.delete_relation("block", &user, &blocked_user_id).await)
    })
    .await?;
    answer(json!({}), started)
}

/// `GET /users/block` (`client.getBlockedUsers()`): the caller's blocks.
pub async fn blocked_users(State(state): State<AppState>, caller: Caller) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let response = admitted(&state, async {
        let state = &state;
        let blocks =
            db(state.store.relations("block", Some(&user), None, &clock::timestamp()).await)?;
        let mut list = Vec::new();
        for block in blocks {
            let blocked = db(state.store.user(&block.target).await)?
                .map_or_else(|| json!({"id": block.target}), |found| channels::user_view(&found));
            list.push(json!({
                "user_id": block.user_id,
                "blocked_user_id": block.target,
                "blocked_user": blocked,
                "created_at": block.created_at,
            }));
        }
        Ok(json!({ "blocks": list }))
    })
    .await?;
    answer(response, started)
}

/// `POST /moderation/flag` (`flagMessage(id, {reason})` / `flagUser(id, {reason})`): kept for moderators.
pub async fn flag(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let body: Map<String, Value> = json_body(body)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_owned);
    let target = match (text("target_message_id"), text("target_user_id")) {
        (Some(message), None) => format!("message:{message}"),
        (None, Some(user)) => format!("user:{user}"),
        _ => return Err(AppError::input("send target_message_id or target_user_id")),
    };
    let reason = body.get("reason").cloned().unwrap_or(Value::Null);
    if reason.as_str().is_some_and(|reason| reason.len() > 1_000)
        || !(reason.is_null() || reason.is_string())
    {
        return Err(AppError::input("reason must be a string of at most 1000 bytes"));
    }
    let response = admitted(&state, async {
        let state = &state;
        if let Some(id) = target.strip_prefix("message:") {
            let message = db(state.store.message(id).await)?
                .ok_or_else(|| crate::domain::messages::missing(id))?;
            let channel = db(state.store.channel(&message.cid).await)?.ok_or_else(|| {
                AppError::new(ErrorCode::DoesNotExist, "the message's channel is gone")
            })?;
            crate::routes::check_member(state, &channel, &user).await?;
        }
        let mut data = Map::new();
        data.insert("reason".into(), reason);
        let relation = Relation {
            kind: "flag".into(),
            user_id: user.clone(),
            target,
            data,
            created_at: clock::timestamp(),
            expires: None,
        };
        db(state.store.put_relation(&relation).await)?;
        Ok(json!({ "flag": flag_view(&relation) }))
    })
    .await?;
    answer(response, started)
}

/// A flag as the official client's `FlagResponse`.
fn flag_view(relation: &Relation) -> Value {
    let (kind, id) = relation.target.split_once(':').unwrap_or(("", ""));
    let mut view = json!({
        "created_by_automod": false,
        "user": {"id": relation.user_id},
        "reason": relation.data.get("reason").cloned().unwrap_or(Value::Null),
        "created_at": relation.created_at,
        "updated_at": relation.created_at,
    });
    view[format!("target_{kind}_id")] = id.into();
    view
}

/// `GET /moderation/flags/message` (`queryMessageFlags`): every message flag, for server tokens and admins.
pub async fn message_flags(State(state): State<AppState>, caller: Caller) -> Answer {
    let started = Instant::now();
    let response = admitted(&state, async {
        let state = &state;
        if !is_admin(state, &caller).await? {
            return Err(AppError::new(ErrorCode::NotAllowed, "only moderators read flags"));
        }
        let flags = db(state.store.relations("flag", None, None, &clock::timestamp()).await)?;
        let flags: Vec<Value> = flags
            .iter()
            .filter(|flag| flag.target.starts_with("message:"))
            .map(flag_view)
            .collect();
        Ok(json!({ "flags": flags }))
    })
    .await?;
    answer(response, started)
}
