//! Bans (PROTOCOL.md §22.4): `POST /moderation/ban` (`banUser`, `shadowBan`, and the channel's) and
//! `DELETE /moderation/ban` (`unbanUser`, `removeShadowBan`), global (server tokens and admins) or in one channel
//! (who has `ban-channel-members` there), with a timeout in minutes. Channel bans are told to the channel's
//! watchers (`user.banned` / `user.unbanned`; a shadow ban is not); [`crate::domain::moderation::check_ban`] enforces them.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::user::validate_user_id;
use stream_chat_protocol::ErrorCode;

use crate::domain::channels;
use crate::domain::moderation::{expiry_in, minutes};
use crate::domain::permissions::require;
use crate::error::AppError;
use crate::events::publish_channel_event;
use crate::routes::rest::{json_body, query_params, Caller};
use crate::routes::{admitted, answer, db, is_admin, user_standing, Answer};
use crate::store::Relation;
use crate::{clock, AppState};

/// A ban's scope: everywhere (`*`), or the channel `type:id`.
fn ban_scope(kind: Option<&str>, id: Option<&str>) -> Result<String, AppError> {
    match (kind, id) {
        (None, None) => Ok("*".into()),
        (Some(kind), Some(id)) => channels::checked_cid(kind, id),
        _ => Err(AppError::input("a channel ban needs both type and id")),
    }
}

/// Checks that `caller` may ban in `scope`: a server token or an admin anywhere; in a channel, who has
/// `ban-channel-members` there. Returns the channel, for a channel ban.
async fn may_ban(
    state: &AppState,
    caller: &Caller,
    scope: &str,
) -> Result<Option<crate::store::ChannelRecord>, AppError> {
    let channel = if scope == "*" {
        None
    } else {
        Some(db(state.store.channel(scope).await)?.ok_or_else(|| channels::missing(scope))?)
    };
    if is_admin(state, caller).await? {
        return Ok(channel);
    }
    let Some(found) = &channel else {
        return Err(AppError::new(
            ErrorCode::NotAllowed,
            "only admins and server tokens ban everywhere",
        ));
    };
    require(found, user_standing(state, found, caller.writer()?).await?, "ban-channel-members")?;
    Ok(channel)
}

/// `POST /moderation/ban` (`banUser`, `shadowBan`, and the channel's): `target_user_id`, `timeout` (minutes),
/// `reason`, `shadow`, and `type` + `id` for a channel ban.
pub async fn ban(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let body: Map<String, Value> = json_body(body)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let target =
        text("target_user_id").ok_or_else(|| AppError::input("target_user_id is missing"))?;
    validate_user_id(target).map_err(|error| AppError::input(error.message()))?;
    let scope = ban_scope(text("type"), text("id"))?;
    let timeout = minutes(body.get("timeout"), "timeout")?;
    let shadow = body.get("shadow").and_then(Value::as_bool).unwrap_or(false);
    let reason = text("reason").map(|reason| reason.chars().take(1_000).collect::<String>());
    let target = target.to_owned();
    if caller.user_id.as_deref() == Some(target.as_str()) {
        return Err(AppError::input("a user cannot ban themselves"));
    }
    let response = admitted(&state, async {
        let state = &state;
        let channel = may_ban(state, &caller, &scope).await?;
        let mut data = Map::new();
        data.insert("shadow".into(), shadow.into());
        data.insert("reason".into(), reason.clone().into());
        data.insert("created_by".into(), caller.user_id.clone().into());
        let relation = Relation {
            kind: "ban".into(),
            user_id: target.clone(),
            target: scope,
            data,
            created_at: clock::timestamp(),
            expires: timeout.map(expiry_in),
        };
        db(state.store.put_relation(&relation).await)?;
        if let Some(channel) = channel {
            let mut event = channels::event("user.banned", &channel, &relation.created_at);
            event.insert("user".into(), json!({ "id": target }));
            event.insert("shadow".into(), shadow.into());
            event.insert("reason".into(), reason.into());
            event.insert("expiration".into(), relation.expires.clone().into());
            if !shadow {
                // Shadow bans stay between moderators and the server: the banned user is not to notice.
                publish_channel_event(state, &channel.cid, event);
            }
        }
        Ok(json!({}))
    })
    .await?;
    answer(response, started)
}

/// The query of `DELETE /moderation/ban`.
#[derive(Debug, Deserialize)]
struct UnbanParams {
    /// Whom.
    target_user_id: String,
    /// The channel type, for a channel ban.
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The channel id, for a channel ban.
    id: Option<String>,
}

/// `DELETE /moderation/ban?target_user_id=…[&type=&id=]` (`unbanUser`, `removeShadowBan`).
pub async fn unban(State(state): State<AppState>, caller: Caller, uri: axum::http::Uri) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let params: UnbanParams = query_params(&uri)?;
    let scope = ban_scope(params.kind.as_deref(), params.id.as_deref())?;
    let response = admitted(&state, async {
        let state = &state;
        let channel = may_ban(state, &caller, &scope).await?;
        let removed = db(state.store.delete_relation("ban", &params.target_user_id, &scope).await)?;
        if let (true, Some(channel)) = (removed, channel) {
            let mut event = channels::event("user.unbanned", &channel, &clock::timestamp());
            event.insert("user".into(), json!({ "id": params.target_user_id }));
            event.insert("shadow".into(), false.into());
            publish_channel_event(state, &channel.cid, event);
        }
        Ok(json!({}))
    })
    .await?;
    answer(response, started)
}
