//! Channel management (PROTOCOL.md §22.3): `POST /channels/{type}/{id}` (`update`: data, slow mode, moderators,
//! members), `PATCH` (`updatePartial`: `set` / `unset`, freezing), `truncate` and `DELETE` (`hide` / `show` are in
//! `hide.rs`). Each
//! checks the caller's capability (code 17 otherwise), writes through the store, tells the watchers
//! (`channel.updated`, `member.updated`, `channel.truncated`, `channel.deleted`; `channel.hidden` / `visible`
//! to the user alone) and answers with the channel as the caller sees it.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::ErrorCode;

use crate::domain::channels;
use crate::domain::messages::message_input;
use crate::domain::permissions::{require, Standing};
use crate::error::AppError;
use crate::events::{publish_versioned_event, send_to_user};
use crate::limits::{json_len, MAX_COOLDOWN_SECONDS};
use crate::routes::member::change_members;
use crate::routes::rest::{json_body, query_params, Caller};
use crate::routes::send::post_message;
use crate::routes::{admitted, answer, channel_for_viewer, db, standing, user_ids, Answer};
use crate::store::{ChannelRecord, MemberChange, MemberRecord, NewMessage};
use crate::{clock, AppState};

/// Fields of `channel` a client's `data` never sets: the server's own, dropped as the official client drops them.
const SERVER_FIELDS: &[&str] = &[
    "config",
    "cid",
    "created_by",
    "id",
    "member_count",
    "type",
    "created_at",
    "updated_at",
    "last_message_at",
    "own_capabilities",
    "members",
    "hidden",
    "disabled",
    "truncated_at",
    "deleted_at",
];

/// The body of `POST /channels/{type}/{id}`; each part is optional, and a body without `data` leaves the custom
/// data alone.
#[derive(Debug, Default, Deserialize)]
struct UpdateBody {
    /// The channel's new custom data (a full overwrite).
    data: Option<Map<String, Value>>,
    /// A message posted with the change.
    message: Option<Map<String, Value>>,
    /// Slow mode in seconds (0: off).
    cooldown: Option<Value>,
    /// Users to add: ids or `{user_id}` objects.
    #[serde(default)]
    add_members: Vec<Value>,
    /// Users to remove.
    #[serde(default)]
    remove_members: Vec<Value>,
    /// Members to make moderators.
    #[serde(default)]
    add_moderators: Vec<Value>,
    /// Moderators to make plain members.
    #[serde(default)]
    demote_moderators: Vec<Value>,
    /// Invitations (not supported: refused).
    invites: Option<Value>,
    /// Answering an invitation (not supported: refused).
    accept_invite: Option<Value>,
    /// Answering an invitation (not supported: refused).
    reject_invite: Option<Value>,
}

/// The channel `type:id`, which must exist, its members, and the caller's standing in it.
pub(super) async fn load(
    state: &AppState,
    caller: &Caller,
    kind: &str,
    id: &str,
) -> Result<(ChannelRecord, Vec<MemberRecord>, Standing), AppError> {
    let cid = channels::checked_cid(kind, id)?;
    let channel = db(state.store.channel(&cid).await)?.ok_or_else(|| channels::missing(&cid))?;
    let members = db(state.store.members(&cid).await)?;
    let user = caller.user_id.as_deref().unwrap_or_default();
    let standing = standing(state, &channel, &members, user, caller.server).await?;
    Ok((channel, members, standing))
}

/// `{channel, members}` as the caller sees them after a change.
async fn channel_answer(state: &AppState, caller: &Caller, cid: &str) -> Result<Value, AppError> {
    let channel = db(state.store.channel(cid).await)?
        .ok_or_else(|| AppError::new(ErrorCode::DoesNotExist, "the channel is gone"))?;
    let members = db(state.store.members(cid).await)?;
    let user = caller.user_id.as_deref().unwrap_or_default();
    let view = channel_for_viewer(state, &channel, &members, user, caller.server).await?;
    let members: Vec<Value> = members.iter().map(channels::member_view).collect();
    Ok(json!({ "channel": view, "members": members }))
}

/// `kind` (`channel.updated`, `channel.truncated`) to the watchers, with the channel as everyone sees it (no one's
/// own capabilities) at its version.
fn announce_change(state: &AppState, kind: &str, channel: &ChannelRecord, user: Option<&str>) {
    let mut event = channels::event(kind, channel, &clock::timestamp());
    event.insert("channel".into(), channels::channel_event_view(channel));
    if let Some(user) = user {
        event.insert("user".into(), json!({ "id": user }));
    }
    publish_versioned_event(state, &channel.cid, event, channel.version);
}

/// A slow-mode value: whole seconds from 0 to [`MAX_COOLDOWN_SECONDS`].
fn cooldown(value: &Value) -> Result<u64, AppError> {
    value.as_u64().filter(|seconds| *seconds <= MAX_COOLDOWN_SECONDS).ok_or_else(|| {
        AppError::input(format!("cooldown must be whole seconds from 0 to {MAX_COOLDOWN_SECONDS}"))
    })
}

/// Checks a change of the keys of `change` to `data`: the capability each needs, the size bound.
async fn check_data_change(
    state: &AppState,
    channel: &ChannelRecord,
    standing: Standing,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
) -> Result<(), AppError> {
    let changed = |key: &str| old.get(key) != new.get(key);
    if changed("frozen") {
        if new.get("frozen").is_some_and(|frozen| !frozen.is_boolean()) {
            return Err(AppError::input("frozen must be true or false"));
        }
        require(channel, standing, "freeze-channel")?;
    }
    if changed("cooldown") {
        new.get("cooldown").map(cooldown).transpose()?;
        require(channel, standing, "set-channel-cooldown")?;
    }
    let custom = |map: &Map<String, Value>| -> Map<String, Value> {
        map.iter()
            .filter(|(key, _)| !matches!(key.as_str(), "frozen" | "cooldown"))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect()
    };
    if custom(old) != custom(new) {
        require(channel, standing, "update-channel")?;
    }
    let max = state.settings.limits.channel_data_bytes;
    let size = json_len(new);
    if size > max {
        return Err(AppError::input(format!(
            "channel data is {size} bytes; at most {max} bytes are allowed"
        )));
    }
    Ok(())
}

/// Stores `data` as the channel's custom data when it differs, and tells the watchers.
async fn write_data(
    state: &AppState,
    channel: &ChannelRecord,
    data: Map<String, Value>,
    user: Option<&str>,
) -> Result<(), AppError> {
    if data == channel.data {
        return Ok(());
    }
    if let Some(updated) =
        db(state.store.update_channel(&channel.cid, data, &clock::timestamp()).await)?
    {
        announce_change(state, "channel.updated", &updated, user);
    }
    Ok(())
}

/// Posts the `message` sent with a change, as the caller's (a system message when it says so).
async fn post_with_change(
    state: &AppState,
    channel: &ChannelRecord,
    user: Option<&str>,
    message: Option<Map<String, Value>>,
) -> Result<Option<Value>, AppError> {
    let (Some(mut message), Some(user)) = (message, user) else { return Ok(None) };
    let system = message.get("type").and_then(Value::as_str) == Some("system");
    message.remove("user_id");
    message.remove("user");
    let input = message_input(message, state.settings.limits.message_bytes)?;
    let mut extra = input.extra;
    if system {
        extra.insert("type".into(), "system".into());
    }
    let new = NewMessage {
        id: input.id,
        cid: channel.cid.clone(),
        user_id: user.to_owned(),
        text: input.text,
        extra,
    };
    let rules = crate::domain::moderation::sender_rules(state, user, &channel.cid).await?;
    let posted = post_message(state, channel, new, &rules.blockers).await?;
    Ok(Some(channels::message_view(&posted)))
}

/// `POST /channels/{type}/{id}`: `data` (update-channel; `frozen` needs freeze-channel), `cooldown`
/// (set-channel-cooldown), `add_moderators` / `demote_moderators` (moderators), `add_members` /
/// `remove_members`, and a `message` posted with the change.
pub async fn update_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let body: UpdateBody = json_body(body)?;
    if body.invites.is_some() || body.accept_invite.is_some() || body.reject_invite.is_some() {
        return Err(AppError::input("invitations are not supported: add members instead"));
    }
    let nothing = body.data.is_none()
        && body.cooldown.is_none()
        && body.message.is_none()
        && [&body.add_members, &body.remove_members, &body.add_moderators, &body.demote_moderators]
            .iter()
            .all(|list| list.is_empty());
    if nothing {
        return Err(AppError::input(
            "nothing to change: send data, cooldown, add_members, remove_members, add_moderators \
             or demote_moderators",
        ));
    }
    let response = admitted(&state, async {
        let state = &state;
        let (channel, members, standing) = load(state, &caller, &kind, &id).await?;
        let user = caller.user_id.as_deref();
        if !standing.member && !caller.server {
            // Only joining a public channel alone is open to non-members (checked with the members).
            let more = body.data.is_some()
                || body.cooldown.is_some()
                || body.message.is_some()
                || !body.remove_members.is_empty();
            if more {
                require(&channel, standing, "update-channel")?;
            }
            change_members(state, &caller, &channel, &members, (&body.add_members, &[])).await?;
            return channel_answer(state, &caller, &channel.cid).await;
        }
        let mut data = channel.data.clone();
        if let Some(new) = body.data {
            let kept = ["frozen", "cooldown", "truncated_at"];
            data.retain(|key, _| kept.contains(&key.as_str()));
            data.extend(new.into_iter().filter(|(key, _)| !SERVER_FIELDS.contains(&key.as_str())));
        }
        if let Some(seconds) = &body.cooldown {
            match cooldown(seconds)? {
                0 => data.remove("cooldown"),
                seconds => data.insert("cooldown".into(), seconds.into()),
            };
        }
        check_data_change(state, &channel, standing, &channel.data, &data).await?;
        for (list, role) in [
            (&body.add_moderators, "channel_moderator"),
            (&body.demote_moderators, "channel_member"),
        ] {
            if list.is_empty() {
                continue;
            }
            if !standing.moderator {
                return Err(AppError::new(
                    ErrorCode::NotAllowed,
                    "only moderators add or demote moderators",
                ));
            }
            set_roles(state, &channel, &members, &user_ids(list)?, role).await?;
        }
        change_members(
            state,
            &caller,
            &channel,
            &members,
            (&body.add_members, &body.remove_members),
        )
        .await?;
        write_data(state, &channel, data, user).await?;
        let posted = post_with_change(state, &channel, user, body.message).await?;
        let mut answer = channel_answer(state, &caller, &channel.cid).await?;
        if let Some(message) = posted {
            answer["message"] = message;
        }
        Ok(answer)
    })
    .await?;
    answer(response, started)
}

/// Gives each of `ids` (members of `channel`) the channel role `role`, telling the watchers (`member.updated`).
async fn set_roles(
    state: &AppState,
    channel: &ChannelRecord,
    members: &[MemberRecord],
    ids: &[String],
    role: &str,
) -> Result<(), AppError> {
    if let Some(outsider) = ids.iter().find(|id| !members.iter().any(|m| &m.user.id == *id)) {
        return Err(AppError::input(format!("\"{outsider}\" is not a member of the channel")));
    }
    let change = MemberChange { channel_role: Some(role.to_owned()), hidden: None };
    for id in ids {
        if let Some((member, version)) =
            db(state.store.change_member(&channel.cid, id, &change).await)?
        {
            crate::routes::member::announce(state, channel, "member.updated", &[member], version);
        }
    }
    Ok(())
}

/// The body of `PATCH /channels/{type}/{id}`.
#[derive(Debug, Default, Deserialize)]
struct PartialBody {
    /// Fields to set.
    #[serde(default)]
    set: Map<String, Value>,
    /// Fields to remove.
    #[serde(default)]
    unset: Vec<String>,
}

/// `PATCH /channels/{type}/{id}` (`updatePartial`, and freezing with `set: {frozen}`): answers `{channel, members}`.
pub async fn update_channel_partial(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let PartialBody { set, unset } = json_body(body)?;
    if set.contains_key("config_overrides") {
        return Err(AppError::input("config_overrides is not supported"));
    }
    if let Some(field) =
        set.keys().chain(unset.iter()).find(|key| SERVER_FIELDS.contains(&key.as_str()))
    {
        return Err(AppError::input(format!("\"{field}\" is the server's: it cannot be changed")));
    }
    let response = admitted(&state, async {
        let state = &state;
        let (channel, _, standing) = load(state, &caller, &kind, &id).await?;
        let mut data = channel.data.clone();
        for field in &unset {
            data.remove(field);
        }
        data.extend(set);
        if data.get("cooldown").is_some_and(|seconds| seconds.as_u64() == Some(0)) {
            data.remove("cooldown");
        }
        check_data_change(state, &channel, standing, &channel.data, &data).await?;
        write_data(state, &channel, data, caller.user_id.as_deref()).await?;
        channel_answer(state, &caller, &channel.cid).await
    })
    .await?;
    answer(response, started)
}

/// The body of `POST …/truncate`.
#[derive(Debug, Default, Deserialize)]
struct TruncateBody {
    /// A message posted after the truncation.
    message: Option<Map<String, Value>>,
}

/// `POST /channels/{type}/{id}/truncate` (truncate-channel): every message goes (with its reactions), unread
/// counts drop to zero, `channel.truncated` tells the watchers; the optional `message` is posted after.
pub async fn truncate_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let TruncateBody { message } = json_body(body)?;
    let response = admitted(&state, async {
        let state = &state;
        let (channel, _, standing) = load(state, &caller, &kind, &id).await?;
        require(&channel, standing, "truncate-channel")?;
        db(state.store.truncate_channel(&channel.cid, &clock::timestamp()).await)?;
        let truncated = db(state.store.channel(&channel.cid).await)?.unwrap_or(channel);
        let user = caller.user_id.as_deref();
        announce_change(state, "channel.truncated", &truncated, user);
        let posted = post_with_change(state, &truncated, user, message).await?;
        let mut answer = channel_answer(state, &caller, &truncated.cid).await?;
        if let Some(message) = posted {
            answer["message"] = message;
        }
        Ok(answer)
    })
    .await?;
    answer(response, started)
}

/// The query of `DELETE /channels/{type}/{id}`.
#[derive(Debug, Default, Deserialize)]
struct DeleteParams {
    /// Said in the events; this server always removes the channel's messages with it.
    #[serde(default)]
    hard_delete: bool,
}

/// `DELETE /channels/{type}/{id}` (delete-channel): the channel goes with its members, messages and reads;
/// watchers get `channel.deleted`, members `notification.channel_deleted`, and nobody watches it any more.
pub async fn delete_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let DeleteParams { hard_delete } = query_params(&uri)?;
    let response = admitted(&state, async {
        let state = &state;
        let (channel, members, standing) = load(state, &caller, &kind, &id).await?;
        require(&channel, standing, "delete-channel")?;
        let Some(version) = db(state.store.delete_channel(&channel.cid).await)? else {
            return Err(channels::missing(&channel.cid));
        };
        let now = clock::timestamp();
        let mut view = channels::channel_event_view(&channel);
        view["deleted_at"] = now.clone().into();
        let mut event = channels::event("channel.deleted", &channel, &now);
        event.insert("channel".into(), view.clone());
        event.insert("hard_delete".into(), hard_delete.into());
        publish_versioned_event(state, &channel.cid, event.clone(), version);
        event.insert("type".into(), "notification.channel_deleted".into());
        for member in &members {
            send_to_user(state, &member.user.id, Value::Object(event.clone()).to_string().into());
        }
        for watcher in state.hub.watcher_users(&channel.cid) {
            crate::events::unwatch_user(state, &channel.cid, &watcher);
        }
        Ok(json!({ "channel": view }))
    })
    .await?;
    answer(response, started)
}
