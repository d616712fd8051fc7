//! `POST /channels/{type}/{id}/message` and what sending a message sets off (PROTOCOL.md §6.2, §22): the checks
//! (frozen channel, slow mode, bans; shadow-banned messages marked `shadowed`), storing it, and the fan-out:
//! `message.new` with each member's unread counts (not to users who blocked the sender), the thread parent's new
//! `reply_count` as `message.updated`, and `channel.visible` to members who had hidden the channel.

use std::collections::HashMap;
use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::ErrorCode;

use crate::domain::channels;
use crate::domain::messages::message_input;
use crate::domain::moderation::rules_of;
use crate::domain::users::StoredUser;
use crate::error::AppError;
use crate::events::{publish, publish_user_event, publish_versioned_event, send_to_user};
use crate::hub::{Delivery, Privacy};
use crate::limits::rate_limited;
use crate::routes::rest::{json_body, Caller};
use crate::routes::{admitted, answer, channel_to_send, db, privacy_of, user_standing, Answer};
use crate::store::{ChannelRecord, MessageRecord, NewMessage};
use crate::{clock, AppState};

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
    let response = admitted(&state, async {
        let state = &state;
        let (channel, relations) = channel_to_send(state, &kind, &id, &user).await?;
        if !caller.server {
            may_send(state, &channel, &user).await?;
        }
        let mut fields = fields;
        let rules = rules_of(&user, &channel.cid, relations)?;
        if rules.shadow {
            // Shadow-banned: stored and answered as usual, shown to others as `shadowed` (their clients drop it).
            fields.insert("shadowed".into(), true.into());
        }
        if let Some(parent) = fields.get("parent_id") {
            let parent =
                parent.as_str().ok_or_else(|| AppError::input("parent_id must be a message id"))?;
            match db(state.store.message(parent).await)? {
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
        crate::domain::quotes::attach(state, &channel.cid, &message_id, &mut fields).await?;
        let new = NewMessage {
            id: message_id,
            cid: channel.cid.clone(),
            user_id: user.clone(),
            text,
            extra: fields,
        };
        let message = post_message(state, &channel, new, &rules.blockers).await?;
        let view = channels::message_view(&message);
        Ok(json!({ "message": view }))
    })
    .await?;
    answer(response, started)
}

/// Refuses a message to a frozen channel (code 17), and one sent within the channel's slow-mode `cooldown` of the
/// user's previous one (code 60) unless they may skip it.
async fn may_send(state: &AppState, channel: &ChannelRecord, user: &str) -> Result<(), AppError> {
    if crate::domain::permissions::is_frozen(channel) {
        return Err(AppError::new(
            ErrorCode::NotAllowed,
            format!("channel \"{}\" is frozen", channel.cid),
        ));
    }
    let cooldown = channel.data.get("cooldown").and_then(Value::as_u64).unwrap_or(0);
    if cooldown == 0 {
        return Ok(());
    }
    if user_standing(state, channel, user).await?.moderator {
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
/// UI kits show as "N replies"), and `channel.visible` to members who had hidden the channel. `blockers` (who
/// blocked the sender) get none of it.
pub(crate) async fn post_message(
    state: &AppState,
    channel: &ChannelRecord,
    new: NewMessage,
    blockers: &[String],
) -> Result<MessageRecord, AppError> {
    let user = new.user_id.clone();
    let parent_id = new.extra.get("parent_id").and_then(Value::as_str).map(str::to_owned);
    let added = db(state.store.add_message(new, &clock::timestamp()).await)?;
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
    publish(
        state,
        Delivery {
            cid: &channel.cid,
            event,
            sender: Some((&user, privacy)),
            personal,
            skip_users: blockers,
            version: Some(message.version),
        },
    );
    if let Some(parent_id) = parent_id {
        parent_changed(state, channel, &parent_id, &message.user).await?;
    }
    if channel.any_hidden {
        for member in db(state.store.unhide_channel(&channel.cid).await)? {
            let event = channels::event("channel.visible", channel, &clock::timestamp());
            send_to_user(state, &member, Value::Object(event).to_string().into());
        }
    }
    Ok(message)
}

/// Tells the channel's watchers the thread parent `parent_id` as it now is (`message.updated`: reply count and
/// participants), after `user` replied or a reply went away.
pub(crate) async fn parent_changed(
    state: &AppState,
    channel: &ChannelRecord,
    parent_id: &str,
    user: &StoredUser,
) -> Result<(), AppError> {
    if let Some(parent) = db(state.store.message(parent_id).await)? {
        let mut event = channels::event("message.updated", channel, &clock::timestamp());
        event.insert("message".into(), channels::message_view(&parent));
        event.insert("user".into(), channels::user_view(user));
        publish_versioned_event(state, &channel.cid, event, parent.version);
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
    let response = admitted(&state, async {
        let state = &state;
        let (channel, relations) = channel_to_send(state, &kind, &id, &user).await?;
        let rules = rules_of(&user, &channel.cid, relations)?;
        if rules.shadow {
            // A shadow-banned user's events go nowhere; they are not to notice.
            return Ok(json!({ "event": Value::Object(sent) }));
        }
        let (stored, privacy) = privacy_of(state, &user).await?;
        let now = clock::timestamp();
        let mut event = channels::event(&event_type, &channel, &now);
        if typing {
            if let Some(parent_id) = sent.get("parent_id").and_then(Value::as_str) {
                event.insert("parent_id".into(), parent_id.into());
            }
        } else {
            if crate::domain::permissions::is_frozen(&channel) && !caller.server {
                return Err(AppError::new(ErrorCode::NotAllowed, "the channel is frozen"));
            }
            let mut custom = sent;
            custom.extend(event);
            event = custom;
        }
        event.insert("user".into(), channels::user_view(&stored));
        if !typing {
            let answer = json!({ "event": Value::Object(event.clone()) });
            let personal = HashMap::new();
            let delivery = Delivery {
                cid: &channel.cid,
                event,
                sender: None,
                personal,
                skip_users: &rules.blockers,
                version: None,
            };
            publish(state, delivery);
            return Ok(answer);
        }
        publish_user_event(state, &channel, &user, privacy, event, &rules.blockers)
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
