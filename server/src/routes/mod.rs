//! The REST handlers, one file per concern, and what every handler shares: answers (with the protocol's
//! `duration`), bounded admission of store work, and access checks (usable channels, membership, standing,
//! privacy). Thin: parse, check, await the store, fan out through [`crate::events`], answer.

pub mod ban;
pub mod channel;
pub mod filters;
pub mod hide;
pub mod lookup;
pub mod member;
pub mod message;
pub mod moderation;
pub mod query;
pub mod reads;
pub mod rest;
pub mod search;
pub mod send;
pub mod thread;
pub mod unread;
pub mod upload;
pub mod user;
pub mod user_query;

use std::time::Instant;

use axum::Json;
use serde_json::{Map, Value};
use stream_chat_protocol::user::validate_user_id;
use stream_chat_protocol::ErrorCode;

use crate::domain::channels::{self, MAX_MEMBERS};
use crate::domain::permissions::{own_capabilities, Standing};
use crate::domain::users::{privacy_enabled, StoredUser};
use crate::error::AppError;
use crate::hub::Privacy;
use crate::routes::rest::Caller;
use crate::store::{ChannelRecord, MemberRecord};
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

/// Runs a REST request in a task of its own, so that it runs to its end even when its client goes away: hyper drops
/// a request's future when its connection closes, and a send dropped between storing its message and fanning it out
/// left the message stored and never announced (the client's retry, under the same id, finds it stored and
/// announces nothing). Counted in `chat_requests_abandoned_total`; a panic goes on to the panic layer.
pub async fn run_to_end(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    /// Counts the request as abandoned if dropped before the answer.
    struct Waiting(Option<prometheus::IntCounter>);
    impl Drop for Waiting {
        fn drop(&mut self) {
            if let Some(abandoned) = self.0.take() {
                abandoned.inc();
            }
        }
    }
    let mut waiting = Waiting(Some(state.metrics.requests_abandoned.clone()));
    let finished = tokio::spawn(next.run(request)).await;
    waiting.0 = None;
    match finished {
        Ok(response) => response,
        Err(error) if error.is_panic() => std::panic::resume_unwind(error.into_panic()),
        // Cancelled: the runtime is shutting down (`protocol_bodies` gives it the protocol's body).
        Err(_) => {
            use axum::response::IntoResponse;
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "the server is shutting down")
                .into_response()
        }
    }
}

/// Runs a request's store work, if fewer than [`crate::limits::Limits::store_queue`] requests' work runs or waits
/// at once (else 429, code 9: the client retries).
pub(crate) async fn admitted<T>(
    state: &AppState,
    work: impl std::future::Future<Output = Result<T, AppError>>,
) -> Result<T, AppError> {
    let _admitted = state.admission.clone().try_acquire_owned().map_err(|_| {
        let most = state.settings.limits.store_queue;
        AppError::new(
            ErrorCode::RateLimit,
            format!(
                "the server is busy: at most {most} store requests wait at once; retry shortly"
            ),
        )
    })?;
    work.await
}

pub(crate) use crate::error::db;

/// The channel, which `user` may use: it exists, and `user` is a member unless the type is public.
pub(crate) async fn usable_channel(
    state: &AppState,
    kind: &str,
    id: &str,
    user: &str,
) -> Result<ChannelRecord, AppError> {
    let cid = channels::checked_cid(kind, id)?;
    let found = db(state.store.channel_for(&cid, user).await)?;
    let (channel, member) = found.ok_or_else(|| channels::missing(&cid))?;
    member_or_public(&channel, user, member)?;
    Ok(channel)
}

/// What a send of `user` to channel `kind:id` needs, read together ([`crate::store::Store::send_context`]): the
/// channel, checked as [`usable_channel`] does, and the moderation that applies to the sender, not yet judged (a
/// frozen channel or slow mode refuse before a ban does).
pub(crate) async fn channel_to_send(
    state: &AppState,
    kind: &str,
    id: &str,
    user: &str,
) -> Result<(ChannelRecord, Vec<crate::store::Relation>), AppError> {
    let cid = channels::checked_cid(kind, id)?;
    let read = db(state.store.send_context(&cid, user, &clock::timestamp()).await)?;
    let (channel, member, relations) = read.ok_or_else(|| channels::missing(&cid))?;
    member_or_public(&channel, user, member)?;
    Ok((channel, relations))
}

/// The standing of `user` in `channel` whose members are `members`; a server token stands as a moderator.
pub(crate) async fn standing(
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
        None if crate::domain::users::is_anonymous(user) => "anonymous".to_owned(),
        None => db(state.store.user(user).await)?.map(|user| user.role).unwrap_or_default(),
    };
    Ok(Standing::of(channel, members, user, &role))
}

/// The standing of user `user` in `channel`, its members looked up.
pub(crate) async fn user_standing(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
) -> Result<Standing, AppError> {
    let members = db(state.store.members(&channel.cid).await)?;
    standing(state, channel, &members, user, false).await
}

/// Whether `caller` may act everywhere: a server token, or a user with role `admin`.
pub(crate) async fn is_admin(state: &AppState, caller: &Caller) -> Result<bool, AppError> {
    if caller.server {
        return Ok(true);
    }
    let role = db(state.store.user(caller.writer()?).await)?.map(|user| user.role);
    Ok(role.as_deref() == Some("admin"))
}

/// The channel as `user` sees it: with their own capabilities and whether they hid it.
pub(crate) async fn channel_for_viewer(
    state: &AppState,
    channel: &ChannelRecord,
    members: &[MemberRecord],
    user: &str,
    server: bool,
) -> Result<Value, AppError> {
    let standing = standing(state, channel, members, user, server).await?;
    let hidden = members.iter().any(|member| member.user.id == user && member.hidden);
    let capabilities = own_capabilities(channel, standing);
    Ok(channels::channel_view(channel, &capabilities, hidden))
}

/// `user` may use `channel`: it is public, or they are a member (looked up only for members-only channels).
pub(crate) async fn check_member(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
) -> Result<(), AppError> {
    let member =
        channels::is_public(&channel.kind) || db(state.store.is_member(&channel.cid, user).await)?;
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
pub(crate) async fn privacy_of(
    state: &AppState,
    user: &str,
) -> Result<(StoredUser, Privacy), AppError> {
    if crate::domain::users::is_anonymous(user) {
        let mut anonymous = crate::domain::users::anonymous_user(&clock::timestamp());
        anonymous.id = user.into();
        return Ok((anonymous, Privacy { typing_indicators: false, read_receipts: false }));
    }
    let stored = db(state.store.user(user).await)?.ok_or_else(|| {
        AppError::new(ErrorCode::DoesNotExist, format!("user \"{user}\" does not exist"))
    })?;
    let privacy = Privacy {
        typing_indicators: privacy_enabled(&stored.fields, "typing_indicators"),
        read_receipts: privacy_enabled(&stored.fields, "read_receipts"),
    };
    Ok((stored, privacy))
}
