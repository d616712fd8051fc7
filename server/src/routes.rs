//! REST handlers for channels, messages, typing and reads (PROTOCOL.md §5–§6); users are in `user_routes.rs`. Thin: parse, check, call
//! the store on the blocking pool, fan out through the hub, answer.

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

use crate::channels::{self, DEFAULT_MESSAGES, DISTINCT_PREFIX, MAX_MEMBERS, MAX_MESSAGES};
use crate::error::AppError;
use crate::hub::{Delivery, Privacy};
use crate::limits::{json_len, rate_limited};
use crate::messages::message_input;
use crate::rest::{json_body, Caller};
use crate::store::{ChannelFilter, ChannelRecord, MessageAnchor, NewChannel, NewMessage};
use crate::users::{privacy_enabled, StoredUser};
use crate::{clock, AppState};

/// A handler's answer.
pub(crate) type Answer = Result<Json<Value>, AppError>;

/// Adds the protocol's `duration` field to an answer.
pub(crate) fn answer(mut body: Value, started: Instant) -> Answer {
    body["duration"] = format!("{:.2}ms", started.elapsed().as_secs_f64() * 1000.0).into();
    Ok(Json(body))
}

/// `messages` options of a channel query.
#[derive(Debug, Default, Deserialize)]
struct MessagePage {
    /// How many.
    limit: Option<usize>,
    /// Older than this message.
    id_lt: Option<String>,
    /// Up to and including this message.
    id_lte: Option<String>,
    /// Newer than this message.
    id_gt: Option<String>,
    /// From this message on.
    id_gte: Option<String>,
    /// Created before this time.
    created_at_before: Option<String>,
    /// Created at or before this time.
    created_at_before_or_equal: Option<String>,
    /// Created after this time.
    created_at_after: Option<String>,
    /// Created at or after this time.
    created_at_after_or_equal: Option<String>,
}

impl MessagePage {
    /// Where the page starts; more than one anchor is code 4.
    fn anchor(&self) -> Result<MessageAnchor, AppError> {
        let id = |id: &Option<String>, before: bool, inclusive: bool| {
            id.clone().map(|id| {
                if before {
                    MessageAnchor::BeforeId { id, inclusive }
                } else {
                    MessageAnchor::AfterId { id, inclusive }
                }
            })
        };
        let time = |at: &Option<String>, before: bool, inclusive: bool| {
            at.clone().map(|at| {
                if before {
                    MessageAnchor::BeforeTime { at, inclusive }
                } else {
                    MessageAnchor::AfterTime { at, inclusive }
                }
            })
        };
        let given: Vec<MessageAnchor> = [
            id(&self.id_lt, true, false),
            id(&self.id_lte, true, true),
            id(&self.id_gt, false, false),
            id(&self.id_gte, false, true),
            time(&self.created_at_before, true, false),
            time(&self.created_at_before_or_equal, true, true),
            time(&self.created_at_after, false, false),
            time(&self.created_at_after_or_equal, false, true),
        ]
        .into_iter()
        .flatten()
        .collect();
        match given.as_slice() {
            [] => Ok(MessageAnchor::Latest),
            [one] => Ok(one.clone()),
            _ => Err(AppError::input(
                "messages takes one of id_lt, id_lte, id_gt, id_gte, created_at_*",
            )),
        }
    }
}

/// `members` / `watchers` paging of a channel query.
#[derive(Debug, Default, Deserialize)]
struct ListPage {
    /// How many (at most [`MAX_LIST_PAGE`]).
    limit: Option<usize>,
    /// From which.
    offset: Option<usize>,
}

/// The most members or watchers one channel query lists.
const MAX_LIST_PAGE: usize = 300;

impl ListPage {
    /// The page of `items`; a limit past [`MAX_LIST_PAGE`] or an offset past 10,000 is code 4.
    fn of<'a, T>(&self, items: &'a [T]) -> Result<&'a [T], AppError> {
        let limit = self.limit.unwrap_or(MAX_LIST_PAGE);
        let offset = self.offset.unwrap_or(0);
        if limit > MAX_LIST_PAGE || offset > 10_000 {
            return Err(AppError::input(format!(
                "members and watchers pages hold at most {MAX_LIST_PAGE}"
            )));
        }
        let start = offset.min(items.len());
        let end = start.saturating_add(limit).min(items.len());
        Ok(items.get(start..end).unwrap_or_default())
    }
}

/// The body of a channel query.
#[derive(Debug, Default, Deserialize)]
struct QueryBody {
    /// Custom data, including `members` on creation.
    #[serde(default)]
    data: Map<String, Value>,
    /// Subscribe the caller's connection.
    #[serde(default)]
    watch: bool,
    /// With `watch`: also follow the members' presence (`user.presence.changed`).
    #[serde(default)]
    presence: bool,
    /// Message paging.
    #[serde(default)]
    messages: MessagePage,
    /// Member paging.
    #[serde(default)]
    members: ListPage,
    /// Watcher paging.
    #[serde(default)]
    watchers: ListPage,
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
        Delivery { cid, event, sender: None, personal: HashMap::new(), skip_user: None },
    );
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
    let channel = db(state.store.channel(&cid))?.ok_or_else(|| {
        AppError::new(ErrorCode::DoesNotExist, format!("channel \"{cid}\" does not exist"))
    })?;
    check_member(state, &channel, user)?;
    Ok(channel)
}

pub(crate) fn check_member(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
) -> Result<(), AppError> {
    if channels::is_public(&channel.kind)
        || db(state.store.members(&channel.cid))?.iter().any(|m| m.user.id == user)
    {
        Ok(())
    } else {
        Err(AppError::new(
            ErrorCode::NotAllowed,
            format!("user \"{user}\" is not a member of channel \"{}\"", channel.cid),
        ))
    }
}

/// A user's privacy settings as the hub applies them.
fn privacy_of(state: &AppState, user: &str) -> Result<(StoredUser, Privacy), AppError> {
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
) -> Value {
    let answer = json!({ "event": Value::Object(event.clone()) });
    let sender = Some((user, privacy));
    publish(
        state,
        Delivery { cid: &channel.cid, event, sender, personal: HashMap::new(), skip_user: None },
    );
    answer
}

/// Publishes and counts.
pub(crate) fn publish(state: &AppState, delivery: Delivery<'_>) {
    let started = Instant::now();
    let delivered = state.hub.publish(delivery);
    state.metrics.events_fanned_out.inc_by(delivered as u64);
    state.metrics.fanout_seconds.observe(started.elapsed().as_secs_f64());
}

/// `connection_id` follows the presence of the channel's members.
fn follow_members(
    state: &AppState,
    channel: &ChannelRecord,
    connection_id: &str,
) -> Result<(), AppError> {
    let members = db(state.store.members(&channel.cid))?;
    state.presence.follow(connection_id, members.iter().map(|member| member.user.id.as_str()));
    Ok(())
}

/// Subscribes `connection_id` to the channel and tells the watchers, unless the user is invisible.
fn watch(state: &AppState, channel: &ChannelRecord, connection_id: &str, user: &StoredUser) {
    if state.hub.watch(&channel.cid, connection_id) {
        state.metrics.active_channels.set(state.hub.active_channels() as i64);
        if state.hub.is_invisible(connection_id) {
            return;
        }
        let mut event = channels::event("user.watching.start", channel, &clock::timestamp());
        event.insert("user".into(), channels::user_view(user));
        event.insert("watcher_count".into(), state.hub.watcher_users(&channel.cid).len().into());
        publish(
            state,
            Delivery {
                cid: &channel.cid,
                event,
                sender: None,
                personal: HashMap::new(),
                skip_user: None,
            },
        );
    }
}

/// Tells a channel's watchers that `user_id` stopped watching it (also used when a connection closes).
pub fn watching_stopped(state: &AppState, cid: &str, user_id: &str) {
    state.metrics.active_channels.set(state.hub.active_channels() as i64);
    let Some((kind, id)) = cid.split_once(':') else { return };
    let mut event = Map::new();
    event.insert("type".into(), "user.watching.stop".into());
    event.insert("cid".into(), cid.into());
    event.insert("channel_id".into(), id.into());
    event.insert("channel_type".into(), kind.into());
    event.insert("created_at".into(), clock::timestamp().into());
    event.insert("user".into(), json!({"id": user_id}));
    event.insert("watcher_count".into(), state.hub.watcher_users(cid).len().into());
    publish(
        state,
        Delivery { cid, event, sender: None, personal: HashMap::new(), skip_user: None },
    );
}

/// A channel's full state as `viewer` may see it, with at most about `budget` bytes of messages (the store
/// deducts what they took).
fn channel_state(
    state: &AppState,
    channel: &ChannelRecord,
    viewer: &str,
    page: &MessagePage,
    lists: (&ListPage, &ListPage),
    budget: &mut usize,
) -> Result<Value, AppError> {
    let limit = page.limit.unwrap_or(DEFAULT_MESSAGES).min(MAX_MESSAGES);
    let all_members = db(state.store.members(&channel.cid))?;
    let members = lists.0.of(&all_members)?;
    let messages = db(state.store.messages(&channel.cid, limit, &page.anchor()?, budget))?;
    let reads = db(state.store.reads(&channel.cid))?;
    let all_watchers = state.hub.watcher_users(&channel.cid);
    let watchers = lists.1.of(&all_watchers)?;
    let membership = all_members.iter().find(|m| m.user.id == viewer).map(channels::member_view);
    Ok(json!({
        "channel": channels::channel_view(channel),
        "members": members
            .iter()
            .map(|member| {
                // Members show whether they are online now (never an invisible one).
                let mut view = channels::member_view(member);
                view["user"] = Value::Object(member.user.public_view(state.hub.is_connected(&member.user.id)));
                view
            })
            .collect::<Vec<_>>(),
        "messages": messages.iter().map(|m| channels::message_view_for(m, viewer)).collect::<Vec<_>>(),
        "pinned_messages": [],
        "read": channels::visible_reads(&reads, viewer),
        "watcher_count": all_watchers.len(),
        "watchers": watchers.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(),
        "membership": membership,
    }))
}

/// `POST /channels/{type}/{id}/query`: get or create, return state, optionally watch.
pub async fn query_channel(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    query(state, caller, kind, Some(id), body).await
}

/// `POST /channels/{type}/query`: the same for a channel named by its members.
pub async fn query_channel_by_members(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    query(state, caller, kind, None, body).await
}

async fn query(
    state: AppState,
    caller: Caller,
    kind: String,
    id: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    let body: QueryBody = json_body(body)?;
    let user = caller.user()?.to_owned();
    channels::validate_type(&kind)?;
    if caller.anonymous && (!channels::is_public(&kind) || id.is_none()) {
        return Err(AppError::new(
            ErrorCode::NotAllowed,
            "anonymous users may only read existing channels of public types",
        ));
    }
    let data_bytes = json_len(&body.data);
    let max_data = state.settings.limits.channel_data_bytes;
    if data_bytes > max_data {
        return Err(AppError::input(format!(
            "channel data is {data_bytes} bytes; at most {max_data} bytes are allowed"
        )));
    }
    let mut members = member_ids(&body.data)?;
    let explicit = id.is_some();
    let id = match id {
        Some(id) => id,
        None if members.is_empty() => {
            return Err(AppError::input("a channel without an id needs data.members"))
        }
        None if !caller.server && !members.contains(&user) => {
            return Err(AppError::new(
                ErrorCode::NotAllowed,
                "a channel named by its members must include the user creating it",
            ))
        }
        None => channels::distinct_id(&members),
    };
    channels::validate_id(&id)?;
    if members.is_empty() {
        members.push(user.clone());
    }
    let connection = if body.watch { Some(caller.own_connection(&state)?) } else { None };
    let budget = state.settings.limits.response_bytes;
    let anonymous = caller.anonymous;
    let response = blocking(&state, move |state| {
        let cid = channels::cid(&kind, &id);
        if anonymous && db(state.store.channel(&cid))?.is_none() {
            return Err(AppError::new(ErrorCode::DoesNotExist, format!("channel \"{cid}\" does not exist")));
        }
        if explicit && id.starts_with(DISTINCT_PREFIX) && db(state.store.channel(&cid))?.is_none() {
            return Err(AppError::input(format!(
                "channel ids starting with {DISTINCT_PREFIX} are reserved for channels named by their \
                 members: create it without an id, with data.members"
            )));
        }
        let new = NewChannel { cid, kind, id, data: body.data, members, created_by: user.clone() };
        let (channel, created) = db(state.store.get_or_create_channel(new, &clock::timestamp()))?;
        if !created {
            check_member(state, &channel, &user)?;
        }
        if let Some(connection_id) = &connection {
            let (stored, _) = privacy_of(state, &user)?;
            watch(state, &channel, connection_id, &stored);
            if body.presence {
                follow_members(state, &channel, connection_id)?;
            }
        }
        channel_state(state, &channel, &user, &body.messages, (&body.members, &body.watchers), &mut { budget })
    })
    .await?;
    answer(response, started)
}

/// The body of `POST /channels`.
#[derive(Debug, Deserialize)]
pub struct QueryChannelsBody {
    /// `cid`, `members`, `type` conditions.
    #[serde(default)]
    filter_conditions: Map<String, Value>,
    /// `[{field, direction}]`; only `last_message_at` is honoured.
    #[serde(default)]
    sort: Vec<Value>,
    /// Subscribe the caller's connection to every channel returned.
    #[serde(default)]
    watch: bool,
    /// With `watch`: also follow the members' presence (`user.presence.changed`).
    #[serde(default)]
    presence: bool,
    /// Page size (default 10, at most 30).
    limit: Option<usize>,
    /// Page start.
    #[serde(default)]
    offset: usize,
    /// Messages per channel.
    message_limit: Option<usize>,
}

/// `"x"` or `{"$in": ["x", …]}` (or `{"$eq": "x"}`) as a list of at most `max` values.
pub fn condition(value: &Value, max: usize) -> Result<Vec<String>, AppError> {
    if let Some(Value::Array(values)) = value.get("$in") {
        if values.len() > max {
            return Err(AppError::input(format!("a filter list may hold at most {max} values")));
        }
    }
    let strings = |values: &[Value]| {
        values.iter().map(|v| v.as_str().map(Into::into)).collect::<Option<Vec<_>>>()
    };
    let list = match value {
        Value::String(one) => Some(vec![one.clone()]),
        Value::Object(operator) => match (operator.get("$in"), operator.get("$eq")) {
            (Some(Value::Array(values)), _) => strings(values),
            (_, Some(Value::String(one))) => Some(vec![one.clone()]),
            _ => None,
        },
        _ => None,
    };
    list.ok_or_else(|| AppError::input(format!("unsupported filter condition {value}")))
}

/// `POST /channels`: the caller's channels matching a filter, with state; the official client calls it on
/// every reconnect.
pub async fn query_channels(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let started = Instant::now();
    state.metrics.query_channels.inc();
    let body: QueryChannelsBody = json_body(body)?;
    let user = caller.user()?.to_owned();
    let filter = channel_filter(&body, &state.settings.limits)?;
    let connection = if body.watch { caller.own_connection(&state).ok() } else { None };
    let page = MessagePage { limit: body.message_limit, ..MessagePage::default() };
    let mut budget = state.settings.limits.response_bytes;
    let response = blocking(&state, move |state| {
        let found = db(state.store.query_channels(&filter, &user))?;
        let stored = match connection {
            Some(_) => Some(privacy_of(state, &user)?.0),
            None => None,
        };
        let mut list = Vec::with_capacity(found.len());
        for channel in &found {
            if let (Some(connection_id), Some(stored)) = (&connection, &stored) {
                watch(state, channel, connection_id, stored);
                if body.presence {
                    follow_members(state, channel, connection_id)?;
                }
            }
            let lists = (&ListPage::default(), &ListPage::default());
            list.push(channel_state(state, channel, &user, &page, lists, &mut budget)?);
        }
        Ok(json!({ "channels": list }))
    })
    .await?;
    answer(response, started)
}

/// The store filter of a `POST /channels` body: `cid`, `members` and `type` conditions, sort by
/// `last_message_at`, bounded `limit` (30), `offset` and list lengths.
pub fn channel_filter(
    body: &QueryChannelsBody,
    limits: &crate::limits::Limits,
) -> Result<ChannelFilter, AppError> {
    if body.offset > limits.max_offset {
        return Err(AppError::input(format!("offset may be at most {}", limits.max_offset)));
    }
    let mut filter = ChannelFilter {
        public_kinds: channels::PUBLIC_TYPES.iter().map(|kind| kind.to_string()).collect(),
        newest_first: true,
        limit: body.limit.unwrap_or(10).min(30),
        offset: body.offset,
        ..ChannelFilter::default()
    };
    let max = limits.filter_values;
    for (key, value) in &body.filter_conditions {
        match key.as_str() {
            "cid" => filter.cids = Some(condition(value, max)?),
            "members" => filter.members = Some(condition(value, max)?),
            "type" => filter.kinds = Some(condition(value, max)?),
            other => return Err(AppError::input(format!("unsupported filter field \"{other}\""))),
        }
    }
    for sort in &body.sort {
        let field = sort.get("field").and_then(Value::as_str);
        let direction = sort.get("direction").and_then(Value::as_i64);
        if !matches!(direction, None | Some(1) | Some(-1)) {
            return Err(AppError::input("sort direction must be 1 or -1"));
        }
        match field {
            Some("last_message_at") => filter.newest_first = direction != Some(1),
            Some(_) => {}
            None => return Err(AppError::input("each sort needs a field")),
        }
    }
    Ok(filter)
}

/// `POST /channels/{type}/{id}/stop-watching`.
pub async fn stop_watching(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    caller: Caller,
) -> Answer {
    let started = Instant::now();
    let user = caller.user()?.to_owned();
    channels::validate_type(&kind)?;
    channels::validate_id(&id)?;
    let connection_id = caller.own_connection(&state)?;
    let cid = channels::cid(&kind, &id);
    let invisible = state.hub.is_invisible(&connection_id);
    if state.hub.unwatch(&cid, &connection_id) && !invisible {
        watching_stopped(&state, &cid, &user);
    }
    answer(json!({}), started)
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
        let (message, inserted) = db(state.store.add_message(new, &clock::timestamp()))?;
        if message.cid != channel.cid || message.user.id != user {
            return Err(AppError::input(format!("message id \"{}\" is already used", message.id)));
        }
        let view = channels::message_view(&message);
        if inserted {
            state.metrics.messages_sent.inc();
            let mut event = channels::event("message.new", &channel, &message.created_at);
            event.insert("message".into(), view.clone());
            event.insert("user".into(), channels::user_view(&message.user));
            event
                .insert("watcher_count".into(), state.hub.watcher_users(&channel.cid).len().into());
            let mut personal = HashMap::new();
            for read in db(state.store.reads(&channel.cid))? {
                let (total, channels_unread) = db(state.store.unread_totals(&read.user.id))?;
                let fields = json!({
                    "unread_count": read.unread_messages,
                    "total_unread_count": total,
                    "unread_channels": channels_unread,
                });
                personal
                    .insert(read.user.id.clone(), fields.as_object().cloned().unwrap_or_default());
            }
            let privacy = Privacy { typing_indicators: true, read_receipts: true };
            publish(
                state,
                Delivery {
                    cid: &channel.cid,
                    event,
                    sender: Some((&user, privacy)),
                    personal,
                    skip_user: None,
                },
            );
        }
        Ok(json!({ "message": view }))
    })
    .await?;
    answer(response, started)
}

/// The body of `POST …/event`.
#[derive(Debug, Deserialize)]
struct EventBody {
    /// `{type, parent_id?}`.
    event: Map<String, Value>,
}

/// `POST /channels/{type}/{id}/event`: `typing.start` / `typing.stop`, fanned out as the sender's privacy
/// settings allow.
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
    if !matches!(event_type.as_str(), "typing.start" | "typing.stop") {
        return Err(AppError::input(format!(
            "event type \"{event_type}\" is not supported: send typing.start or typing.stop"
        )));
    }
    state.metrics.events_received.with_label_values(&[&event_type]).inc();
    let parent_id = sent.get("parent_id").and_then(Value::as_str).map(str::to_owned);
    let response = blocking(&state, move |state| {
        let channel = usable_channel(state, &kind, &id, &user)?;
        let (stored, privacy) = privacy_of(state, &user)?;
        let mut event = channels::event(&event_type, &channel, &clock::timestamp());
        event.insert("user".into(), channels::user_view(&stored));
        if let Some(parent_id) = parent_id {
            event.insert("parent_id".into(), parent_id.into());
        }
        Ok(publish_user_event(state, &channel, &user, privacy, event))
    })
    .await?;
    answer(response, started)
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
        Ok(publish_user_event(state, &channel, &user, privacy, event))
    })
    .await?;
    answer(response, started)
}
