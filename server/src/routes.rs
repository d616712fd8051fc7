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
use crate::limits::rate_limited;
use crate::messages::message_input;
use crate::moderation_routes::{ban_of, blocked_by};
use crate::permissions::{own_capabilities, Standing};
use crate::rest::{json_body, Caller};
use crate::store::{ChannelRecord, MemberRecord, NewMessage};
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

/// Fans out an event of `user` as their privacy settings allow; returns the `{event}` answer.
fn publish_user_event(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
    privacy: Privacy,
    event: Map<String, Value>,
) -> Result<Value, AppError> {
    let answer = json!({ "event": Value::Object(event.clone()) });
    let sender = Some((user, privacy));
    let blockers = blocked_by(state, user)?;
    let delivery = Delivery {
        cid: &channel.cid,
        event,
        sender,
        personal: HashMap::new(),
        skip_users: &blockers,
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

/// The body of `POST …/message`.
#[derive(Debug, Deserialize)]
struct MessageBody {
    /// The message; `id` may be chosen by the client.
    message: Map<String, Value>,
}

/// `POST /channels/{type}/{id}/message`: stores and fans out `message.new`; a retry with the same id returns
/// the stored message and fans out nothing.
pub async fn send_message(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let MessageBody { message } = json_body(body)?;
    let user = caller.writer()?.to_owned();
    let input = message_input(message, state.settings.limits.message_bytes)?;
    if !caller.server && !state.message_rate.allow(&user, Instant::now()) {
        let limits = &state.settings.limits;
        return Err(rate_limited(&format!(
            "at most {} messages at once and {} per second per user",
            limits.message_burst, limits.messages_per_second
        )));
    }
    let (message_id, text, fields) = (input.id, input.text, input.extra);
    let response = blocking(&state, move |state| {
        let channel = usable_channel(state, &kind, &id, &user)?;
        if !caller.server {
            may_send(state, &channel, &user)?;
        }
        let mut fields = fields;
        if check_ban(state, &user, &channel.cid)? {
            // Shadow-banned: stored and answered as usual, shown to others as `shadowed` (their clients drop it).
            fields.insert("shadowed".into(), true.into());
        }
        if let Some(parent) = fields.get("parent_id") {
            let parent =
                parent.as_str().ok_or_else(|| AppError::input("parent_id must be a message id"))?;
            match db(state.store.message(parent))? {
                Some(found)
                    if found.cid == channel.cid && found.extra.get("parent_id").is_none() => {}
                Some(found) if found.cid == channel.cid => {
                    return Err(AppError::input(
                        "a reply cannot have replies: reply to the thread's parent",
                    ))
                }
                _ => {
                    return Err(AppError::input(format!(
                        "parent message \"{parent}\" is not in this channel"
                    )))
                }
            }
        }
        let new = NewMessage {
            id: message_id,
            cid: channel.cid.clone(),
            user_id: user.clone(),
            text,
            extra: fields,
        };
        let message = post_message(state, &channel, new)?;
        let view = channels::message_view(&message);
        Ok(json!({ "message": view }))
    })
    .await?;
    answer(response, started)
}

/// Refuses a user banned in `cid` or everywhere (code 17); `true` for a shadow ban, which lets them go on.
pub(crate) fn check_ban(state: &AppState, user: &str, cid: &str) -> Result<bool, AppError> {
    match ban_of(state, user, Some(cid))? {
        None => Ok(false),
        Some(ban) if ban.data.get("shadow").and_then(Value::as_bool) == Some(true) => Ok(true),
        Some(_) => Err(AppError::new(
            ErrorCode::NotAllowed,
            format!("user \"{user}\" is banned from channel \"{cid}\""),
        )),
    }
}

/// Refuses a message to a frozen channel (code 17), and one sent within the channel's slow-mode `cooldown` of the
/// user's previous one (code 60) unless they may skip it.
fn may_send(state: &AppState, channel: &ChannelRecord, user: &str) -> Result<(), AppError> {
    if crate::permissions::is_frozen(channel) {
        return Err(AppError::new(
            ErrorCode::NotAllowed,
            format!("channel \"{}\" is frozen", channel.cid),
        ));
    }
    let cooldown = channel.data.get("cooldown").and_then(Value::as_u64).unwrap_or(0);
    if cooldown == 0 {
        return Ok(());
    }
    let members = db(state.store.members(&channel.cid))?;
    if standing(state, channel, &members, user, false)?.moderator {
        return Ok(());
    }
    let cooldown = std::time::Duration::from_secs(cooldown);
    state.cooldowns.try_send(&channel.cid, user, cooldown, Instant::now()).map_err(|left| {
        AppError::new(
            ErrorCode::Cooldown,
            format!("slow mode: wait {left} more seconds before sending to this channel"),
        )
    })
}

/// Stores a message in `channel` and, when it is new (not a retry), tells everyone: `message.new` with each
/// member's unread counts, the thread's parent as `message.updated` (its `reply_count` and participants, which the
/// UI kits show as "N replies"), and `channel.visible` to members who had hidden the channel.
pub(crate) fn post_message(
    state: &AppState,
    channel: &ChannelRecord,
    new: NewMessage,
) -> Result<crate::store::MessageRecord, AppError> {
    let user = new.user_id.clone();
    let parent_id = new.extra.get("parent_id").and_then(Value::as_str).map(str::to_owned);
    let added = db(state.store.add_message(new, &clock::timestamp()))?;
    let (message, inserted) = (added.message, added.inserted);
    if message.cid != channel.cid || message.user.id != user {
        return Err(AppError::input(format!("message id \"{}\" is already used", message.id)));
    }
    if !inserted {
        return Ok(message);
    }
    state.metrics.messages_sent.inc();
    let mut event = channels::event("message.new", channel, &message.created_at);
    event.insert("message".into(), channels::message_view(&message));
    event.insert("user".into(), channels::user_view(&message.user));
    event.insert(
        "watcher_count".into(),
        state.cluster.watcher_count(&state.hub, &channel.cid).into(),
    );
    let mut personal = HashMap::new();
    for member in added.unread {
        let fields = json!({
            "unread_count": member.unread_messages,
            "total_unread_count": member.total_unread,
            "unread_channels": member.unread_channels,
        });
        personal.insert(member.user_id, fields.as_object().cloned().unwrap_or_default());
    }
    let privacy = Privacy { typing_indicators: true, read_receipts: true };
    // Users who blocked the sender do not hear from them.
    let blockers = blocked_by(state, &user)?;
    publish(
        state,
        Delivery {
            cid: &channel.cid,
            event,
            sender: Some((&user, privacy)),
            personal,
            skip_users: &blockers,
        },
    );
    if let Some(parent_id) = parent_id {
        parent_changed(state, channel, &parent_id, &message.user)?;
    }
    if channel.any_hidden {
        for member in db(state.store.unhide_channel(&channel.cid))? {
            let event = channels::event("channel.visible", channel, &clock::timestamp());
            send_to_user(state, &member, Value::Object(event).to_string().into());
        }
    }
    Ok(message)
}

/// Tells the channel's watchers the thread parent `parent_id` as it now is (`message.updated`: reply count and
/// participants), after `user` replied or a reply went away.
pub(crate) fn parent_changed(
    state: &AppState,
    channel: &ChannelRecord,
    parent_id: &str,
    user: &StoredUser,
) -> Result<(), AppError> {
    if let Some(parent) = db(state.store.message(parent_id))? {
        let mut event = channels::event("message.updated", channel, &clock::timestamp());
        event.insert("message".into(), channels::message_view(&parent));
        event.insert("user".into(), channels::user_view(user));
        publish_channel_event(state, &channel.cid, event);
    }
    Ok(())
}

/// The body of `POST …/event`.
#[derive(Debug, Deserialize)]
struct EventBody {
    /// `{type, parent_id?}`.
    event: Map<String, Value>,
}

/// Event types clients may not send (the server's own), by prefix; `typing.start` / `typing.stop` are allowed.
const RESERVED_EVENT_PREFIXES: &[&str] = &[
    "message.",
    "reaction.",
    "member.",
    "channel.",
    "user.",
    "notification.",
    "health.",
    "connection.",
    "capabilities.",
    "thread.",
    "poll.",
    "typing.",
    "channels.",
    "transport.",
];
/// The largest custom event accepted, in bytes of JSON.
pub const MAX_CUSTOM_EVENT_BYTES: usize = 5 * 1024;

/// `POST /channels/{type}/{id}/event`: `typing.start` / `typing.stop`, fanned out as the sender's privacy
/// settings allow, or a custom event (any type not the server's, at most [`MAX_CUSTOM_EVENT_BYTES`], counted
/// against the sender's message rate) delivered to every watcher, sender included.
pub async fn send_event(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let EventBody { event: sent } = json_body(body)?;
    let user = caller.writer()?.to_owned();
    let event_type = sent.get("type").and_then(Value::as_str).unwrap_or("").to_owned();
    let typing = matches!(event_type.as_str(), "typing.start" | "typing.stop");
    if !typing {
        check_custom_event(&state, &caller, &user, &event_type, &sent)?;
    }
    let label = if typing { event_type.as_str() } else { "custom" };
    state.metrics.events_received.with_label_values(&[label]).inc();
    let response = blocking(&state, move |state| {
        let channel = usable_channel(state, &kind, &id, &user)?;
        if check_ban(state, &user, &channel.cid)? {
            // A shadow-banned user's events go nowhere; they are not to notice.
            return Ok(json!({ "event": Value::Object(sent) }));
        }
        let (stored, privacy) = privacy_of(state, &user)?;
        let now = clock::timestamp();
        let mut event = channels::event(&event_type, &channel, &now);
        if typing {
            if let Some(parent_id) = sent.get("parent_id").and_then(Value::as_str) {
                event.insert("parent_id".into(), parent_id.into());
            }
        } else {
            if crate::permissions::is_frozen(&channel) && !caller.server {
                return Err(AppError::new(ErrorCode::NotAllowed, "the channel is frozen"));
            }
            let mut custom = sent;
            custom.extend(event);
            event = custom;
        }
        event.insert("user".into(), channels::user_view(&stored));
        if !typing {
            let answer = json!({ "event": Value::Object(event.clone()) });
            let blockers = blocked_by(state, &user)?;
            let personal = HashMap::new();
            let delivery = Delivery {
                cid: &channel.cid,
                event,
                sender: None,
                personal,
                skip_users: &blockers,
            };
            publish(state, delivery);
            return Ok(answer);
        }
        publish_user_event(state, &channel, &user, privacy, event)
    })
    .await?;
    answer(response, started)
}

/// Checks a custom event: a type of 1 to 64 bytes that is not the server's, a bounded size, the sender's rate.
fn check_custom_event(
    state: &AppState,
    caller: &Caller,
    user: &str,
    event_type: &str,
    sent: &Map<String, Value>,
) -> Result<(), AppError> {
    if event_type.is_empty() || event_type.len() > 64 {
        return Err(AppError::input("event.type must be a string of 1 to 64 bytes"));
    }
    if RESERVED_EVENT_PREFIXES.iter().any(|prefix| event_type.starts_with(prefix)) {
        return Err(AppError::input(format!(
            "event type \"{event_type}\" is the server's: send typing.start, typing.stop or a custom type"
        )));
    }
    let size = crate::limits::json_len(sent);
    if size > MAX_CUSTOM_EVENT_BYTES {
        return Err(AppError::input(format!(
            "the event is {size} bytes of JSON; at most {MAX_CUSTOM_EVENT_BYTES} bytes are allowed"
        )));
    }
    if !caller.server && !state.message_rate.allow(user, Instant::now()) {
        return Err(rate_limited("custom events count as messages against the sender's rate"));
    }
    Ok(())
}

/// The body of `POST …/read`.
#[derive(Debug, Default, Deserialize)]
struct ReadBody {
    /// Read up to this message; the latest when absent.
    message_id: Option<String>,
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
        let (_, privacy) = privacy_of(state, &user)?;
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
        publish_user_event(state, &channel, &user, privacy, event)
    })
    .await?;
    answer(response, started)
}
