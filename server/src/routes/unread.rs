//! Unread counts beyond `markRead`: `POST /channels/{type}/{id}/unread` (`markUnread`: from a message on),
//! `POST /channels/read` (`markAllRead`) and `GET /unread` (`getUnreadCount`). These change and show only the
//! caller's own state: the `notification.mark_unread` / `notification.mark_read` events go to the caller's own
//! connections, and a user with read receipts off shares nothing with others here either.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Value};
use stream_chat_protocol::ErrorCode;

use crate::domain::users::privacy_enabled;
use crate::error::AppError;
use crate::routes::rest::{json_body, Caller};
use crate::routes::{admitted, answer, db, usable_channel, Answer};
use crate::{clock, domain::channels, AppState};

/// The body of `POST /channels/{type}/{id}/unread`.
#[derive(Debug, Deserialize)]
struct UnreadBody {
    /// The first message to count as unread.
    message_id: String,
}

/// The caller's totals as notification fields: `total_unread_count`, `unread_channels`.
async fn totals(state: &AppState, user: &str) -> Result<(u64, u64), AppError> {
    db(state.store.unread_totals(user).await)
}

/// `POST /channels/{type}/{id}/unread`: unread from `message_id` on, for the caller only.
pub async fn mark_unread(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let body: UnreadBody = json_body(body)?;
    let response = admitted(&state, async {
        let state = &state;
        let channel = usable_channel(state, &kind, &id, &user).await?;
        let read = db(state.store.mark_unread(&channel.cid, &user, &body.message_id).await)?
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::DoesNotExist,
                    format!("message \"{}\" is not in this channel", body.message_id),
                )
            })?;
        let (total, unread_channels) = totals(state, &user).await?;
        let mut event = channels::event("notification.mark_unread", &channel, &clock::timestamp());
        event.insert("user".into(), json!({ "id": user }));
        event.insert("unread_messages".into(), read.unread_messages.into());
        event.insert("unread_count".into(), read.unread_messages.into());
        event.insert("last_read".into(), read.last_read.clone().into());
        event.insert("last_read_message_id".into(), read.last_read_message_id.clone().into());
        event.insert("first_unread_message_id".into(), body.message_id.clone().into());
        event.insert("total_unread_count".into(), total.into());
        event.insert("unread_channels".into(), unread_channels.into());
        crate::events::send_to_user(state, &user, Value::Object(event).to_string().into());
        Ok(json!({}))
    })
    .await?;
    answer(response, started)
}

/// `POST /channels/read`: every channel of the caller read now.
pub async fn mark_all_read(State(state): State<AppState>, caller: Caller) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let response = admitted(&state, async {
        let state = &state;
        let shared = match db(state.store.user(&user).await)? {
            Some(stored) => privacy_enabled(&stored.fields, "read_receipts"),
            None => false,
        };
        db(state.store.mark_all_read(&user, &clock::timestamp(), shared).await)?;
        let event = json!({
            "type": "notification.mark_read",
            "user": { "id": user },
            "total_unread_count": 0,
            "unread_channels": 0,
            "created_at": clock::timestamp(),
        });
        crate::events::send_to_user(state, &user, event.to_string().into());
        Ok(json!({}))
    })
    .await?;
    answer(response, started)
}

/// `GET /unread`: the caller's unread messages, in all and per channel.
pub async fn unread_counts(State(state): State<AppState>, caller: Caller) -> Answer {
    let started = Instant::now();
    let user = caller.user()?.to_owned();
    let response = admitted(&state, async {
        let state = &state;
        let per_channel = db(state.store.unread_channels(&user).await)?;
        let total: u64 = per_channel.iter().map(|(_, unread, _)| unread).sum();
        let channels: Vec<Value> = per_channel
            .iter()
            .map(|(cid, unread, last_read)| json!({"channel_id": cid, "unread_count": unread, "last_read": last_read}))
            .collect();
        Ok(json!({
            "total_unread_count": total,
            "unread_channels": channels.len(),
            "channels": channels,
            "threads": [],
            "total_unread_threads_count": 0,
        }))
    })
    .await?;
    answer(response, started)
}
