//! Channel queries (PROTOCOL.md §5–§6): `POST /channels/{type}/{id}/query` and `…/{type}/query` (get or create,
//! state, watch), `POST /channels` (`queryChannels`) and `stop-watching`; the channel state a query answers with
//! (message, member and watcher pages) and what watching does (announcements, presence). A filter's conditions are
//! read by `filters.rs`.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use stream_chat_protocol::ErrorCode;

use crate::domain::channels::{self, DEFAULT_MESSAGES, DISTINCT_PREFIX, MAX_MESSAGES};
use crate::domain::users::StoredUser;
use crate::domain::views::MessagesView;
use crate::error::AppError;
use crate::events::{publish_channel_event, watching_stopped};
use crate::hub::live::Topic;
use crate::limits::json_len;
use crate::routes::filters::channel_conditions;
use crate::routes::rest::{json_body, Caller};
use crate::routes::{
    admitted, answer, channel_for_viewer, check_member, db, member_ids, privacy_of, timed, Answer,
    TimedAnswer,
};
use crate::store::{ChannelFilter, ChannelRecord, MessageAnchor, NewChannel};
use crate::{clock, AppState};

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

/// `connection_id` follows the presence of the channel's members.
async fn follow_members(
    state: &AppState,
    channel: &ChannelRecord,
    connection_id: &str,
) -> Result<(), AppError> {
    let members = db(state.store.members(&channel.cid).await)?;
    crate::events::presence::follow(
        state,
        connection_id,
        members.iter().map(|member| member.user.id.as_str()),
    )
    .await;
    Ok(())
}

/// Subscribes `connection_id` to the channel and tells the watchers, unless the user is invisible.
pub(crate) async fn watch(
    state: &AppState,
    channel: &ChannelRecord,
    connection_id: &str,
    user: &StoredUser,
) {
    let new = state.hub.watch(&channel.cid, connection_id);
    state.cluster.listen(Topic::Channel(channel.cid.clone())).await;
    if new {
        state.metrics.active_channels.set(state.hub.active_channels() as i64);
        let watcher_count = state.cluster.watcher_count(&state.hub, &channel.cid);
        if state.hub.is_invisible(connection_id)
            || watcher_count > state.settings.limits.watching_events_up_to
        {
            return;
        }
        let mut event = channels::event("user.watching.start", channel, &clock::timestamp());
        event.insert("user".into(), channels::user_view(user));
        event.insert("watcher_count".into(), watcher_count.into());
        publish_channel_event(state, &channel.cid, event);
    }
}

/// Pinned messages a channel answer carries, the latest pinned first.
const PINNED_MESSAGES: usize = 10;

/// A channel's state as a query answers it, written straight from the records (`views`).
#[derive(Debug, Serialize)]
pub struct ChannelState {
    channel: Value,
    members: Vec<Value>,
    messages: MessagesView,
    pinned_messages: MessagesView,
    read: Vec<Value>,
    watcher_count: usize,
    watchers: Vec<Value>,
    membership: Option<Value>,
}

/// `POST /channels` answers with a list of channel states.
#[derive(Debug, Serialize)]
pub struct ChannelList {
    channels: Vec<ChannelState>,
}

/// A channel's full state as `viewer` may see it, with at most about `budget` bytes of messages (the store
/// deducts what they took).
async fn channel_state(
    state: &AppState,
    channel: &ChannelRecord,
    (viewer, server): (&str, bool),
    page: &MessagePage,
    lists: (&ListPage, &ListPage),
    budget: &mut usize,
) -> Result<ChannelState, AppError> {
    let limit = page.limit.unwrap_or(DEFAULT_MESSAGES).min(MAX_MESSAGES);
    let all_members = db(state.store.members(&channel.cid).await)?;
    let members = lists.0.of(&all_members)?;
    let messages = db(state.store.messages(&channel.cid, limit, &page.anchor()?, budget).await)?;
    let reads = db(state.store.reads(&channel.cid).await)?;
    let pinned =
        db(state.store.pinned_messages(&channel.cid, &clock::timestamp(), PINNED_MESSAGES).await)?;
    let all_watchers = state.cluster.watcher_users(&state.hub, &channel.cid);
    let watchers = lists.1.of(&all_watchers)?;
    let membership = all_members.iter().find(|m| m.user.id == viewer).map(channels::member_view);
    Ok(ChannelState {
        channel: channel_for_viewer(state, channel, &all_members, viewer, server).await?,
        members: members
            .iter()
            .map(|member| {
                // Members show whether they are online now.
                let online = state.cluster.is_connected(&state.hub, &member.user.id);
                channels::member_view_online(member, online)
            })
            .collect(),
        messages: MessagesView { messages, viewer: viewer.to_owned() },
        pinned_messages: MessagesView { messages: pinned, viewer: viewer.to_owned() },
        read: channels::visible_reads(&reads, viewer),
        watcher_count: all_watchers.len(),
        watchers: watchers.iter().map(|id| json!({"id": id})).collect(),
        membership,
    })
}

/// `POST /channels/{type}/{id}/query`: get or create, return state, optionally watch.
pub async fn query_channel(
    State(state): State<AppState>,
    Path((kind, id)): Path<(String, String)>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> TimedAnswer<ChannelState> {
    query(state, caller, kind, Some(id), body).await
}

/// `POST /channels/{type}/query`: the same for a channel named by its members.
pub async fn query_channel_by_members(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> TimedAnswer<ChannelState> {
    query(state, caller, kind, None, body).await
}

async fn query(
    state: AppState,
    caller: Caller,
    kind: String,
    id: Option<String>,
    body: Result<Bytes, BytesRejection>,
) -> TimedAnswer<ChannelState> {
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
    let (anonymous, server) = (caller.anonymous, caller.server);
    let response = admitted(&state, async {
        let state = &state;
        let cid = channels::cid(&kind, &id);
        if anonymous && db(state.store.channel(&cid).await)?.is_none() {
            return Err(channels::missing(&cid));
        }
        if explicit && id.starts_with(DISTINCT_PREFIX) && db(state.store.channel(&cid).await)?.is_none() {
            return Err(AppError::input(format!(
                "channel ids starting with {DISTINCT_PREFIX} are reserved for channels named by their \
                 members: create it without an id, with data.members"
            )));
        }
        let new = NewChannel { cid, kind, id, data: body.data, members, created_by: user.clone() };
        let (channel, created) = db(state.store.get_or_create_channel(new, &clock::timestamp()).await)?;
        if !created {
            check_member(state, &channel, &user).await?;
        }
        if !server {
            crate::domain::moderation::check_ban(state, &user, &channel.cid).await?;
        }
        if let Some(connection_id) = &connection {
            let (stored, _) = privacy_of(state, &user).await?;
            watch(state, &channel, connection_id, &stored).await;
            if body.presence {
                follow_members(state, &channel, connection_id).await?;
            }
        }
        channel_state(state, &channel, (&user, server), &body.messages, (&body.members, &body.watchers), &mut { budget }).await
    })
    .await?;
    timed(response, started)
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

/// `POST /channels`: the caller's channels matching a filter, with state; the official client calls it on
/// every reconnect.
pub async fn query_channels(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> TimedAnswer<ChannelList> {
    let started = Instant::now();
    state.metrics.query_channels.inc();
    let body: QueryChannelsBody = json_body(body)?;
    let user = caller.user()?.to_owned();
    let filter = channel_filter(&body, &state.settings.limits)?;
    let connection = caller.watching_connection(&state, body.watch)?;
    let server = caller.server;
    let page = MessagePage { limit: body.message_limit, ..MessagePage::default() };
    let mut budget = state.settings.limits.response_bytes;
    let response = admitted(&state, async {
        let state = &state;
        let found = db(state.store.query_channels(&filter, &user).await)?;
        let stored = match connection {
            Some(_) => Some(privacy_of(state, &user).await?.0),
            None => None,
        };
        if connection.is_some() {
            state
                .cluster
                .listen_all(found.iter().map(|channel| Topic::Channel(channel.cid.clone())))
                .await;
        }
        let mut list = Vec::with_capacity(found.len());
        for channel in &found {
            if let (Some(connection_id), Some(stored)) = (&connection, &stored) {
                watch(state, channel, connection_id, stored).await;
                if body.presence {
                    follow_members(state, channel, connection_id).await?;
                }
            }
            let lists = (&ListPage::default(), &ListPage::default());
            list.push(
                channel_state(state, channel, (&user, server), &page, lists, &mut budget).await?,
            );
        }
        Ok(ChannelList { channels: list })
    })
    .await?;
    timed(response, started)
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
        hidden: Some(false),
        limit: body.limit.unwrap_or(10).min(30),
        offset: body.offset,
        ..ChannelFilter::default()
    };
    channel_conditions(&mut filter, &body.filter_conditions, limits.filter_values)?;
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
    let cid = channels::checked_cid(&kind, &id)?;
    let connection_id = caller.own_connection(&state)?;
    let invisible = state.hub.is_invisible(&connection_id);
    if state.hub.unwatch(&cid, &connection_id) && !invisible {
        watching_stopped(&state, &cid, &user);
    }
    answer(json!({}), started)
}
