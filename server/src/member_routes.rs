//! `POST /channels/{type}/{id}` with `add_members` / `remove_members`, as the official client's `addMembers` and
//! `removeMembers` send it: members (or a server token) change a channel's members; watchers get `member.added` /
//! `member.removed`. A channel keeps at most [`MAX_MEMBERS`] members.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde::Deserialize;
use serde_json::{json, Value};
use stream_chat_protocol::ErrorCode;

use crate::channels::{self, MAX_MEMBERS};
use crate::error::AppError;
use crate::rest::{json_body, Caller};
use crate::routes::{answer, blocking, check_member, db, publish_channel_event, user_ids, Answer};
use crate::store::MemberRecord;
use crate::{clock, AppState};

/// The body of `POST /channels/{type}/{id}`.
#[derive(Debug, Default, Deserialize)]
struct UpdateBody {
    /// Users to add: ids or `{user_id}` objects.
    #[serde(default)]
    add_members: Vec<Value>,
    /// Users to remove: ids.
    #[serde(default)]
    remove_members: Vec<Value>,
}

/// User ids from a list, at most [`MAX_MEMBERS`] of them.
fn ids(list: &[Value]) -> Result<Vec<String>, AppError> {
    if list.len() > MAX_MEMBERS {
        return Err(AppError::input(format!("at most {MAX_MEMBERS} members per call")));
    }
    user_ids(list)
}

/// Tells the channel's watchers about each member who joined or left.
fn announce(
    state: &AppState,
    channel: &crate::store::ChannelRecord,
    kind: &str,
    members: &[MemberRecord],
) {
    for member in members {
        let mut event = channels::event(kind, channel, &clock::timestamp());
        event.insert("member".into(), channels::member_view(member));
        event.insert("user".into(), channels::user_view(&member.user));
        publish_channel_event(state, &channel.cid, event);
    }
}

/// `POST /channels/{type}/{id}`: `add_members`, `remove_members`.
pub async fn update_channel(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    caller.refuse_anonymous()?;
    let body: UpdateBody = json_body(body)?;
    let (add, remove) = (ids(&body.add_members)?, ids(&body.remove_members)?);
    if add.is_empty() && remove.is_empty() {
        return Err(AppError::input("nothing to change: send add_members or remove_members"));
    }
    channels::validate_type(&kind)?;
    channels::validate_id(&id)?;
    let response = blocking(&state, move |state| {
        let cid = channels::cid(&kind, &id);
        let channel = db(state.store.channel(&cid))?.ok_or_else(|| {
            AppError::new(ErrorCode::DoesNotExist, format!("channel \"{cid}\" does not exist"))
        })?;
        if !caller.server {
            let user = caller.user()?;
            let members = db(state.store.members(&cid))?;
            // Anyone may join a public channel themselves; otherwise only members change members.
            let joining_alone =
                channels::is_public(&kind) && remove.is_empty() && add == [user.to_owned()];
            if !joining_alone {
                check_member(state, &channel, user)?;
                if !members.iter().any(|m| m.user.id == user) {
                    return Err(AppError::new(
                        ErrorCode::NotAllowed,
                        "only members change a channel's members",
                    ));
                }
            }
            let after = members.len()
                + add.iter().filter(|a| !members.iter().any(|m| &m.user.id == *a)).count();
            if after > MAX_MEMBERS {
                return Err(AppError::input(format!(
                    "a channel has at most {MAX_MEMBERS} members"
                )));
            }
        }
        let (added, removed) =
            db(state.store.change_members(&cid, &add, &remove, &clock::timestamp()))?;
        announce(state, &channel, "member.added", &added);
        announce(state, &channel, "member.removed", &removed);
        if !channels::is_public(&kind) {
            for member in &removed {
                crate::routes::unwatch_user(state, &cid, &member.user.id);
            }
        }
        let channel = db(state.store.channel(&cid))?.unwrap_or(channel);
        let members: Vec<Value> =
            db(state.store.members(&cid))?.iter().map(channels::member_view).collect();
        Ok(json!({ "channel": channels::channel_view(&channel), "members": members }))
    })
    .await?;
    answer(response, started)
}
