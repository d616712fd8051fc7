//! REST handlers for what users do in a channel: messages, typing and reads (PROTOCOL.md §5–§6), and the helpers
//! every handler shares (answers, the blocking pool, membership checks, fan-out). Thin: parse, check, call the
//! store on the blocking pool, fan out through the hub, answer. Channel queries are in `query_routes.rs`, users
//! in `user_routes.rs` and `user_query.rs`, one message by id in `message_routes.rs`.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::user::validate_user_id;
use stream_chat_protocol::ErrorCode;

use crate::channels::{self, MAX_MEMBERS};
use crate::error::AppError;
use crate::hub::{Delivery, Privacy};
use crate::moderation::blocked_by;
use crate::permissions::{own_capabilities, Standing};
use crate::rest::{json_body, Caller};
use crate::store::{ChannelRecord, MemberRecord};
use crate::users::{privacy_enabled, StoredUser};
use crate::{clock, AppState};

/// A handler's answer.
pub(crate) type Answer = Result<Json<Value>, AppError>;

/// A typed answer body with the protocol's `duration` field, serialized without a `Value` tree in between.
#[derive(Debug, serde::Serialize)]
pub struct Timed<T> {
    #[serde(flatten)]
    body: T,
    duration: String,
}

/// What handlers with a typed body answer.
pub type TimedAnswer<T> = Result<Json<Timed<T>>, AppError>;

/// The protocol's `duration` of a request that started at `started`.
fn duration(started: Instant) -> String {
    format!("{:.2}ms", started.elapsed().as_secs_f64() * 1000.0)
}

/// Adds the protocol's `duration` field to a typed answer.
pub(crate) fn timed<T>(body: T, started: Instant) -> TimedAnswer<T> {
    Ok(Json(Timed { body, duration: duration(started) }))
}

/// Adds the protocol's `duration` field to an answer.
pub(crate) fn answer(mut body: Value, started: Instant) -> Answer {
    body["duration"] = duration(started).into();
    Ok(Json(body))
}

/// Member ids from `data.members`: strings or `{user_id}` objects, at most [`MAX_MEMBERS`], each a valid user id.
pub fn member_ids(data: &Map<String, Value>) -> Result<Vec<String>, AppError> {
    let Some(members) = data.get("members") else { return Ok(Vec::new()) };
    let members =
        members.as_array().ok_or_else(|| AppError::input("data.members must be an array"))?;
    if members.len() > MAX_MEMBERS {
        return Err(AppError::input(format!(
            "a channel is created with at most {MAX_MEMBERS} members"
        )));
    }
    user_ids(members)
}

/// User ids from a list of ids or `{user_id}` objects, each valid (code 4 otherwise).
pub fn user_ids(members: &[Value]) -> Result<Vec<String>, AppError> {
    members
        .iter()
        .map(|member| {
            let id = member
                .as_str()
                .or_else(|| member.get("user_id").and_then(Value::as_str))
                .ok_or_else(|| AppError::input("each member must be a user id"))?;
            validate_user_id(id).map_err(|error| AppError::input(error.message()))?;
            Ok(id.to_owned())
        })
        .collect()
}

/// Fans out an event the server makes (no sender privacy applies) to the channel's watchers.
pub(crate) fn publish_channel_event(state: &AppState, cid: &str, event: Map<String, Value>) {
    publish(
        state,
        Delivery { cid, event, sender: None, personal: HashMap::new(), skip_users: &[] },
    );
}

/// Queues `frame` for every connection of `user_id`, on every node.
pub(crate) fn send_to_user(state: &AppState, user_id: &str, frame: crate::hub::Frame) {
    let note =
        || crate::cluster::Note::User { user_id: user_id.to_owned(), frame: frame.to_string() };
    crate::cluster::tell(state, note);
    state.hub.send_to_user(user_id, frame);
}

/// Unsubscribes every connection of `user_id` from `cid`, on every node (a removed member stops hearing it).
pub(crate) fn unwatch_user(state: &AppState, cid: &str, user_id: &str) {
    let note =
        || crate::cluster::Note::Unwatch { cid: cid.to_owned(), user_id: user_id.to_owned() };
    crate::cluster::tell(state, note);
    state.hub.unwatch_user(cid, user_id);
}

/// Runs store work on the blocking pool.
pub(crate) async fn blocking<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&AppState) -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || work(&state)).await.map_err(AppError::internal)?
}

/// A store failure as an internal error.
pub(crate) fn db<T>(result: Result<T, crate::store::StoreError>) -> Result<T, AppError> {
    result.map_err(AppError::internal)
}

/// The channel, which `user` may use: it exists, and `user` is a member unless the type is public.
pub(crate) fn usable_channel(
    state: &AppState,
    kind: &str,
    id: &str,
    user: &str,
) -> Result<ChannelRecord, AppError> {
    channels::validate_type(kind)?;
    channels::validate_id(id)?;
    let cid = channels::cid(kind, id);
    let (channel, member) = db(state.store.channel_for(&cid, user))?.ok_or_else(|| {
        AppError::new(ErrorCode::DoesNotExist, format!("channel \"{cid}\" does not exist"))
    })?;
    member_or_public(&channel, user, member)?;
    Ok(channel)
}

/// The standing of `user` in `channel` whose members are `members`; a server token stands as a moderator.
pub(crate) fn standing(
    state: &AppState,
    channel: &ChannelRecord,
    members: &[MemberRecord],
    user: &str,
    server: bool,
) -> Result<Standing, AppError> {
    if server {
        return Ok(Standing::server());
    }
    let role = match members.iter().find(|member| member.user.id == user) {
        Some(member) => member.user.role.clone(),
        None if crate::users::is_anonymous(user) => "anonymous".to_owned(),
        None => db(state.store.user(user))?.map(|user| user.role).unwrap_or_default(),
    };
    Ok(Standing::of(channel, members, user, &role))
}

/// The standing of user `user` in `channel`, its members looked up.
pub(crate) fn user_standing(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
) -> Result<Standing, AppError> {
    let members = db(state.store.members(&channel.cid))?;
    standing(state, channel, &members, user, false)
}

/// Whether `caller` may act everywhere: a server token, or a user with role `admin`.
pub(crate) fn is_admin(state: &AppState, caller: &Caller) -> Result<bool, AppError> {
    if caller.server {
        return Ok(true);
    }
    let role = db(state.store.user(caller.writer()?))?.map(|user| user.role);
    Ok(role.as_deref() == Some("admin"))
}

/// The channel as `user` sees it: with their own capabilities and whether they hid it.
pub(crate) fn channel_for_viewer(
    state: &AppState,
    channel: &ChannelRecord,
    members: &[MemberRecord],
    user: &str,
    server: bool,
) -> Result<Value, AppError> {
    let standing = standing(state, channel, members, user, server)?;
    let hidden = members.iter().any(|member| member.user.id == user && member.hidden);
    let capabilities = own_capabilities(channel, standing);
    Ok(channels::channel_view(channel, &capabilities, hidden))
}

/// `user` may use `channel`: it is public, or they are a member (looked up only for members-only channels).
pub(crate) fn check_member(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
) -> Result<(), AppError> {
    let member =
        channels::is_public(&channel.kind) || db(state.store.is_member(&channel.cid, user))?;
    member_or_public(channel, user, member)
}

/// The one access rule for a channel's messages and events: members, or anyone on a public type; code 17 else.
fn member_or_public(channel: &ChannelRecord, user: &str, member: bool) -> Result<(), AppError> {
    if member || channels::is_public(&channel.kind) {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::NotAllowed,
            format!("user \"{user}\" is not a member of channel \"{}\"", channel.cid),
        ))
    }
}

/// A user's privacy settings as the hub applies them.
pub(crate) fn privacy_of(state: &AppState, user: &str) -> Result<(StoredUser, Privacy), AppError> {
    if crate::users::is_anonymous(user) {
        let mut anonymous = crate::users::anonymous_user(&clock::timestamp());
        anonymous.id = user.into();
        return Ok((anonymous, Privacy { typing_indicators: false, read_receipts: false }));
    }
    let stored = db(state.store.user(user))?.ok_or_else(|| {
        AppError::new(ErrorCode::DoesNotExist, format!("user \"{user}\" does not exist"))
    })?;
    let privacy = Privacy {
        typing_indicators: privacy_enabled(&stored.fields, "typing_indicators"),
        read_receipts: privacy_enabled(&stored.fields, "read_receipts"),
    };
    Ok((stored, privacy))
}

/// Fans out an event of `user` as their privacy settings allow, to nobody in `blockers` (who blocked them); returns
/// the `{event}` answer.
pub(crate) fn publish_user_event(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
    privacy: Privacy,
    event: Map<String, Value>,
    blockers: &[String],
) -> Result<Value, AppError> {
    let answer = json!({ "event": Value::Object(event.clone()) });
    let sender = Some((user, privacy));
    let delivery = Delivery {
        cid: &channel.cid,
        event,
        sender,
        personal: HashMap::new(),
        skip_users: blockers,
    };
    publish(state, delivery);
    Ok(answer)
}

/// Publishes and counts.
pub(crate) fn publish(state: &AppState, delivery: Delivery<'_>) {
    let started = Instant::now();
    crate::cluster::tell(state, || crate::cluster::channel_note(&delivery));
    let delivered = state.hub.publish(delivery);
    state.metrics.events_fanned_out.inc_by(delivered as u64);
    state.metrics.fanout_seconds.observe(started.elapsed().as_secs_f64());
}

/// `markRead({thread_id})`: the thread read up to its latest reply, the channel's read state left alone;
/// `message.read` with `thread_id` and `thread` to watchers as the user's read receipts allow.
fn mark_thread_read(
    state: &AppState,
    channel: &ChannelRecord,
    (user, privacy): (&StoredUser, Privacy),
    thread_id: &str,
) -> Result<Value, AppError> {
    let parent = db(state.store.message(thread_id))?
        .filter(|parent| parent.cid == channel.cid)
        .ok_or_else(|| AppError::input(format!("thread \"{thread_id}\" is not in this channel")))?;
    let read = db(state.store.mark_thread_read(&parent.id, &user.id, &clock::timestamp()))?;
    let mut event = channels::event("message.read", channel, &read.last_read);
    event.insert("user".into(), channels::user_view(user));
    event.insert("last_read_message_id".into(), read.last_read_message_id.into());
    event.insert("thread_id".into(), parent.id.clone().into());
    let thread = json!({ "parent_message_id": parent.id, "channel_cid": channel.cid, "reply_count": parent.reply_count });
    event.insert("thread".into(), thread);
    let blockers = blocked_by(state, &user.id)?;
    publish_user_event(state, channel, &user.id, privacy, event, &blockers)
}

/// Tells a channel's watchers that `user_id` stopped watching it (also used when a connection closes).
pub fn watching_stopped(state: &AppState, cid: &str, user_id: &str) {
    state.metrics.active_channels.set(state.hub.active_channels() as i64);
    let watcher_count = state.cluster.watcher_count(&state.hub, cid);
    if watcher_count >= state.settings.limits.watching_events_up_to {
        return;
    }
    let Some((kind, id)) = cid.split_once(':') else { return };
    let mut event = Map::new();
    event.insert("type".into(), "user.watching.stop".into());
    event.insert("cid".into(), cid.into());
    event.insert("channel_id".into(), id.into());
    event.insert("channel_type".into(), kind.into());
    event.insert("created_at".into(), clock::timestamp().into());
    event.insert("user".into(), json!({"id": user_id}));
    event.insert("watcher_count".into(), watcher_count.into());
    publish_channel_event(state, cid, event);
}

/// The body of `POST …/read`.
#[derive(Debug, Default, Deserialize)]
struct ReadBody {
    /// Read up to this message; the latest when absent.
    message_id: Option<String>,
    /// Read this thread (its parent's id) instead of the channel.
    thread_id: Option<String>,
}

/// `POST /channels/{type}/{id}/read`: resets the caller's unread count and fans out `message.read`, to the caller
/// alone when its read receipts are off.
pub async fn mark_read(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let body: ReadBody = json_body(body)?;
    let user = caller.writer()?.to_owned();
    let response = blocking(&state, move |state| {
        let channel = usable_channel(state, &kind, &id, &user)?;
        if let Some(message_id) = &body.message_id {
            if !db(state.store.has_message(&channel.cid, message_id))? {
                return Err(AppError::input(format!(
                    "message \"{message_id}\" does not exist in channel \"{}\"",
                    channel.cid
                )));
            }
        }
        let (stored, privacy) = privacy_of(state, &user)?;
        if let Some(thread_id) = &body.thread_id {
            return mark_thread_read(state, &channel, (&stored, privacy), thread_id);
        }
        let read = db(state.store.mark_read(
            &channel.cid,
            &user,
            body.message_id.as_deref(),
            &clock::timestamp(),
            privacy.read_receipts,
        ))?;
        let mut event = channels::event("message.read", &channel, &read.last_read);
        event.insert("user".into(), channels::user_view(&read.user));
        event.insert("last_read_message_id".into(), read.last_read_message_id.clone().into());
        let blockers = blocked_by(state, &user)?;
        publish_user_event(state, &channel, &user, privacy, event, &blockers)
    })
    .await?;
    answer(response, started)
}
