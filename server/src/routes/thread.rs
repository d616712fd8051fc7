//! Threads (the official client's `queryThreads`, `getThread`, `Thread.markAsRead`): `POST /threads` lists the
//! threads the caller takes part in, latest reply first; `GET /threads/{id}` answers one; each as `ThreadResponse`
//! (parent, latest replies, participants, the thread's read states with unread replies per user). `markRead` with
//! `thread_id` reads a thread without reading its channel, and tells watchers with `message.read` carrying
//! `thread` (the official channel handler skips it, the `Thread` applies it). With `watch` the caller's connection
//! watches the threads' channels, as a channel query would.
//!
//! Bounds: [`MAX_THREADS`] threads, [`MAX_REPLIES`] replies and [`MAX_PARTICIPANTS`] participants per thread in an
//! answer; offsets as channel queries.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::Uri;
use serde::Deserialize;
use serde_json::{json, Value};
use stream_chat_protocol::ErrorCode;

use crate::domain::channels;
use crate::error::AppError;
use crate::routes::message::readable;
use crate::routes::query::watch;
use crate::routes::rest::{cursor_offset, json_body, page_answer, payload, query_params, Caller};
use crate::routes::{admitted, answer, channel_for_viewer, db, privacy_of, Answer};
use crate::store::MessageRecord;
use crate::AppState;

/// Threads in one answer, at most.
pub const MAX_THREADS: usize = 25;
/// Latest replies per thread, at most.
pub const MAX_REPLIES: usize = 25;
/// Participants per thread, at most.
pub const MAX_PARTICIPANTS: usize = 100;

/// What `POST /threads` and `GET /threads/{id}` take (the official client's defaults: 10 threads, 10
/// participants, 3 replies, watching).
#[derive(Debug, Deserialize)]
struct ThreadOptions {
    limit: Option<usize>,
    reply_limit: Option<usize>,
    participant_limit: Option<usize>,
    #[serde(default)]
    watch: bool,
    /// The cursor of the next page, from a previous answer.
    next: Option<String>,
}

impl ThreadOptions {
    /// `(replies, participants)` per thread, bounded.
    fn per_thread(&self) -> Result<(usize, usize), AppError> {
        let replies = self.reply_limit.unwrap_or(3);
        let participants = self.participant_limit.unwrap_or(10);
        if replies > MAX_REPLIES || participants > MAX_PARTICIPANTS {
            return Err(AppError::input(format!(
                "reply_limit may be at most {MAX_REPLIES} and participant_limit {MAX_PARTICIPANTS}"
            )));
        }
        Ok((replies, participants))
    }
}

/// `POST /threads` (`queryThreads`): `{threads, next?}`.
pub async fn query_threads(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let options: ThreadOptions = json_body(body)?;
    let limit = options.limit.unwrap_or(10);
    if limit == 0 || limit > MAX_THREADS {
        return Err(AppError::input(format!("limit must be 1 to {MAX_THREADS}")));
    }
    let offset = cursor_offset(options.next.as_deref(), state.settings.limits.max_offset)?;
    let per_thread = options.per_thread()?;
    let user = caller.user()?.to_owned();
    let connection = caller.watching_connection(&state, options.watch)?;
    let response = admitted(&state, async {
        let state = &state;
        let mut ids = db(state.store.threads_of(&user, limit + 1, offset).await)?;
        let more = ids.len() > limit;
        ids.truncate(limit);
        let mut threads = Vec::with_capacity(ids.len());
        for id in &ids {
            let Some(parent) = db(state.store.message(id).await)? else { continue };
            threads
                .push(thread_view(state, &parent, &user, per_thread, connection.as_deref()).await?);
        }
        Ok(page_answer("threads", threads, more.then_some(offset + limit)))
    })
    .await?;
    answer(response, started)
}

/// `GET /threads/{id}` (`getThread`): `{thread}`; code 16 when the message has no replies.
pub async fn get_thread(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer {
    let started = Instant::now();
    // As the official client sends them (in `payload`), or as plain parameters.
    let plain: ThreadOptions = query_params(&uri)?;
    let options = payload(&uri, "valid thread options")?.unwrap_or(plain);
    let per_thread = options.per_thread()?;
    let user = caller.user()?.to_owned();
    let connection = caller.watching_connection(&state, options.watch)?;
    let response = admitted(&state, async {
        let state = &state;
        let parent = readable(state, &caller, &id).await?;
        if parent.reply_count == 0 {
            return Err(AppError::new(ErrorCode::DoesNotExist, format!("message \"{id}\" has no thread")));
        }
        Ok(json!({ "thread": thread_view(state, &parent, &user, per_thread, connection.as_deref()).await? }))
    })
    .await?;
    answer(response, started)
}

/// Thread `parent` as `ThreadResponse`, as `user` sees it; its channel watched by `connection` when given.
async fn thread_view(
    state: &AppState,
    parent: &MessageRecord,
    user: &str,
    (reply_limit, participant_limit): (usize, usize),
    connection: Option<&str>,
) -> Result<Value, AppError> {
    let channel = db(state.store.channel(&parent.cid).await)?
        .ok_or_else(|| AppError::new(ErrorCode::DoesNotExist, "the thread's channel is gone"))?;
    if let Some(connection) = connection {
        watch(state, &channel, connection, &privacy_of(state, user).await?.0).await;
    }
    let members = db(state.store.members(&channel.cid).await)?;
    let channel_view = channel_for_viewer(state, &channel, &members, user, false).await?;
    let replies = db(state.store.replies(&parent.id, reply_limit, None).await)?;
    let latest_replies: Vec<Value> =
        replies.iter().map(|reply| channels::message_view_for(reply, user)).collect();
    let mut read = Vec::new();
    let mut own_read = false;
    for entry in db(state.store.thread_reads(&parent.id).await)? {
        let unread = db(state
            .store
            .thread_unread(&parent.id, &entry.user_id, Some(&entry.last_read))
            .await)?;
        let user_view = match db(state.store.user(&entry.user_id).await)? {
            Some(stored) => channels::user_view(&stored),
            None => json!({ "id": entry.user_id }),
        };
        own_read |= entry.user_id == user;
        read.push(json!({
            "user": user_view,
            "last_read": entry.last_read,
            "last_read_message_id": entry.last_read_message_id,
            "unread_messages": unread,
        }));
    }
    if !own_read {
        // Never read: every reply of others is unread, counted from the thread's start.
        let unread = db(state.store.thread_unread(&parent.id, user, None).await)?;
        read.push(json!({ "user": { "id": user }, "last_read": parent.created_at, "unread_messages": unread }));
    }
    let participants: Vec<Value> = parent
        .thread_participants
        .iter()
        .take(participant_limit)
        .map(|id| json!({ "user_id": id, "user": { "id": id }, "channel_cid": parent.cid }))
        .collect();
    let last_reply_at = replies.last().map(|reply| reply.created_at.clone());
    Ok(json!({
        "parent_message_id": parent.id,
        "parent_message": channels::message_view_for(parent, user),
        "channel_cid": parent.cid,
        "channel": channel_view,
        "created_at": parent.created_at,
        "created_by_user_id": parent.user.id,
        "created_by": channels::user_view(&parent.user),
        "updated_at": last_reply_at.clone().unwrap_or_else(|| parent.created_at.clone()),
        "last_message_at": last_reply_at,
        "reply_count": parent.reply_count,
        "participant_count": parent.thread_participants.len(),
        "active_participant_count": parent.thread_participants.len(),
        "thread_participants": participants,
        "latest_replies": latest_replies,
        "read": read,
        "title": parent.text,
        "deleted_at": parent.deleted_at,
    }))
}
