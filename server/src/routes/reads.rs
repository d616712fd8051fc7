//! `POST /channels/{type}/{id}/read` (PROTOCOL.md §6): a channel or a thread read up to a message, and
//! `message.read` to the watchers as the reader's read receipts allow.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::domain::channels;
use crate::domain::moderation::blocked_by;
use crate::domain::users::StoredUser;
use crate::error::AppError;
use crate::events::publish_user_event;
use crate::hub::Privacy;
use crate::routes::rest::{json_body, Caller};
use crate::routes::{admitted, answer, db, privacy_of, usable_channel, Answer};
use crate::store::ChannelRecord;
use crate::{clock, AppState};

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
    let response = admitted(&state, async {
        let state = &state;
        let channel = usable_channel(state, &kind, &id, &user).await?;
        if let Some(message_id) = &body.message_id {
            if !db(state.store.has_message(&channel.cid, message_id).await)? {
                return Err(AppError::input(format!(
                    "message \"{message_id}\" does not exist in channel \"{}\"",
                    channel.cid
                )));
            }
        }
        let (stored, privacy) = privacy_of(state, &user).await?;
        if let Some(thread_id) = &body.thread_id {
            return mark_thread_read(state, &channel, (&stored, privacy), thread_id).await;
        }
        let read = db(state
            .store
            .mark_read(
                &channel.cid,
                &user,
                body.message_id.as_deref(),
                &clock::timestamp(),
                privacy.read_receipts,
            )
            .await)?;
        let mut event = channels::event("message.read", &channel, &read.last_read);
        event.insert("user".into(), channels::user_view(&read.user));
        event.insert("last_read_message_id".into(), read.last_read_message_id.clone().into());
        let blockers = blocked_by(state, &user).await?;
        publish_user_event(state, &channel, &user, privacy, event, &blockers)
    })
    .await?;
    answer(response, started)
}
/// `markRead({thread_id})`: the thread read up to its latest reply, the channel's read state left alone;
/// `message.read` with `thread_id` and `thread` to watchers as the user's read receipts allow.
async fn mark_thread_read(
    state: &AppState,
    channel: &ChannelRecord,
    (user, privacy): (&StoredUser, Privacy),
    thread_id: &str,
) -> Result<Value, AppError> {
    let parent = db(state.store.message(thread_id).await)?
        .filter(|parent| parent.cid == channel.cid)
        .ok_or_else(|| AppError::input(format!("thread \"{thread_id}\" is not in this channel")))?;
    let read = db(state.store.mark_thread_read(&parent.id, &user.id, &clock::timestamp()).await)?;
    let mut event = channels::event("message.read", channel, &read.last_read);
    event.insert("user".into(), channels::user_view(user));
    event.insert("last_read_message_id".into(), read.last_read_message_id.into());
    event.insert("thread_id".into(), parent.id.clone().into());
    let thread = json!({ "parent_message_id": parent.id, "channel_cid": channel.cid, "reply_count": parent.reply_count });
    event.insert("thread".into(), thread);
    let blockers = blocked_by(state, &user.id).await?;
    publish_user_event(state, channel, &user.id, privacy, event, &blockers)
}
