//! `POST /channels/{type}/{id}/hide` and `…/show` (PROTOCOL.md §22.3): a member takes the channel out of their own
//! channel queries (until a new message arrives or they show it again), optionally clearing its history for
//! themselves; `channel.hidden` / `channel.visible` go to their own connections alone.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::ErrorCode;

use crate::domain::channels;
use crate::error::AppError;
use crate::events::send_to_user;
use crate::routes::channel::load;
use crate::routes::rest::{json_body, Caller};
use crate::routes::{admitted, answer, db, Answer};
use crate::store::MemberChange;
use crate::{clock, AppState};

/// The body of `POST …/hide`.
#[derive(Debug, Default, Deserialize)]
struct HideBody {
    /// Also clear the history (the clients drop their messages).
    #[serde(default)]
    clear_history: bool,
}

/// `POST /channels/{type}/{id}/hide`: the channel leaves the caller's channel queries until a new message arrives
/// or they show it; `channel.hidden` to their own connections.
pub async fn hide_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let HideBody { clear_history } = json_body(body)?;
    set_hidden(state, caller, (kind, id), true, clear_history).await
}

/// `POST /channels/{type}/{id}/show`: undoes `hide`; `channel.visible` to the caller's own connections.
pub async fn show_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let _: Map<String, Value> = json_body(body)?;
    set_hidden(state, caller, (kind, id), false, false).await
}

async fn set_hidden(
    state: AppState,
    caller: Caller,
    (kind, id): (String, String),
    hidden: bool,
    clear_history: bool,
) -> Answer {
    let started = Instant::now();
    let user = caller.writer()?.to_owned();
    let response = admitted(&state, async {
        let state = &state;
        let (channel, _, standing) = load(state, &caller, &kind, &id).await?;
        if !standing.member || caller.user_id.is_none() {
            return Err(AppError::new(ErrorCode::NotAllowed, "only members hide a channel"));
        }
        let change = MemberChange { channel_role: None, hidden: Some(hidden) };
        db(state.store.change_member(&channel.cid, &user, &change).await)?;
        let kind = if hidden { "channel.hidden" } else { "channel.visible" };
        let mut event = channels::event(kind, &channel, &clock::timestamp());
        if hidden {
            event.insert("clear_history".into(), clear_history.into());
            event.insert("channel".into(), channels::channel_event_view(&channel));
        }
        event.insert("user".into(), json!({ "id": user }));
        send_to_user(state, &user, Value::Object(event).to_string().into());
        Ok(json!({}))
    })
    .await?;
    answer(response, started)
}
