//! Membership changes of `POST /channels/{type}/{id}` (`add_members` / `remove_members`, as the official client's
//! `addMembers` and `removeMembers` send them; the rest of that call is in `channel.rs`): members (or a
//! server token) change a channel's members; watchers get `member.added` / `member.removed`. A channel keeps at
//! most [`MAX_MEMBERS`] members.

use serde_json::Value;
use stream_chat_protocol::ErrorCode;

use crate::domain::channels::{self, MAX_MEMBERS};
use crate::error::AppError;
use crate::events::publish_versioned_event;
use crate::routes::rest::Caller;
use crate::routes::{check_member, db, user_ids};
use crate::store::{ChannelRecord, MemberRecord, MembersChanged};
use crate::{clock, AppState};

/// User ids from a list, at most [`MAX_MEMBERS`] of them.
fn ids(list: &[Value]) -> Result<Vec<String>, AppError> {
    if list.len() > MAX_MEMBERS {
        return Err(AppError::input(format!("at most {MAX_MEMBERS} members per call")));
    }
    user_ids(list)
}

/// Tells the channel's watchers about each member who joined, left or changed (`kind`), as of the channel's
/// version `version`, taken with the change.
pub(crate) fn announce(
    state: &AppState,
    channel: &ChannelRecord,
    kind: &str,
    members: &[MemberRecord],
    version: u64,
) {
    for member in members {
        let mut event = channels::event(kind, channel, &clock::timestamp());
        event.insert("member".into(), channels::member_view(member));
        event.insert("user".into(), channels::user_view(&member.user));
        publish_versioned_event(state, &channel.cid, event, version);
    }
}

/// Adds `add` and removes `remove` as `caller` asks, in the channel `channel` whose members are `members`: members
/// (or a server token) change members, anyone may join a public channel alone; watchers get `member.added` /
/// `member.removed`, removed members of a members-only channel stop hearing it.
pub(crate) async fn change_members(
    state: &AppState,
    caller: &Caller,
    channel: &ChannelRecord,
    members: &[MemberRecord],
    (add, remove): (&[Value], &[Value]),
) -> Result<(), AppError> {
    let (add, remove) = (ids(add)?, ids(remove)?);
    if add.is_empty() && remove.is_empty() {
        return Ok(());
    }
    if !caller.server {
        let user = caller.user()?;
        // Anyone may join a public channel themselves; otherwise only members change members.
        let joining_alone =
            channels::is_public(&channel.kind) && remove.is_empty() && add == [user.to_owned()];
        if !joining_alone {
            check_member(state, channel, user).await?;
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
            return Err(AppError::input(format!("a channel has at most {MAX_MEMBERS} members")));
        }
    }
    let cid = &channel.cid;
    let MembersChanged { added, removed, version } =
        db(state.store.change_members(cid, &add, &remove, &clock::timestamp()).await)?;
    announce(state, channel, "member.added", &added, version);
    announce(state, channel, "member.removed", &removed, version);
    if !channels::is_public(&channel.kind) {
        for member in &removed {
            crate::events::unwatch_user(state, cid, &member.user.id);
        }
    }
    Ok(())
}

/// The most members one `queryMembers` page returns, and its default.
const MAX_MEMBER_PAGE: usize = 100;

/// The JSON payload of `GET /members`.
#[derive(Debug, Default, serde::Deserialize)]
struct MembersPayload {
    /// The channel type.
    #[serde(rename = "type")]
    kind: String,
    /// The channel id.
    id: Option<String>,
    /// `id` / `user_id` (`$eq`, `$in`), `name` (`$eq`, `$autocomplete`), `channel_role`, `banned` … conditions.
    #[serde(default)]
    filter_conditions: serde_json::Map<String, Value>,
    /// `[{field, direction}]` (or `{field: direction}`): `created_at`, `user_id`, `name`.
    #[serde(default)]
    sort: Value,
    /// Page size (default and at most 100).
    limit: Option<usize>,
    /// Page start.
    #[serde(default)]
    offset: usize,
}

/// Whether `member` matches the filter `key: value` (code 4 for a field or operator not supported).
fn member_matches(member: &MemberRecord, key: &str, value: &Value) -> Result<bool, AppError> {
    let name = member.user.fields.get("name").and_then(Value::as_str).unwrap_or_default();
    let field = match key {
        "id" | "user_id" => member.user.id.as_str(),
        "name" => name,
        "channel_role" => member.channel_role.as_str(),
        _ => return Err(AppError::input(format!("members cannot be filtered by \"{key}\""))),
    };
    if let Some(prefix) = value.get("$autocomplete").and_then(Value::as_str) {
        let prefix = prefix.to_lowercase();
        return Ok(field.to_lowercase().split_whitespace().any(|word| word.starts_with(&prefix))
            || field.to_lowercase().starts_with(&prefix));
    }
    Ok(crate::routes::filters::condition(value, MAX_MEMBER_PAGE)?.iter().any(|one| one == field))
}

/// `GET /members?payload={type, id, filter_conditions, sort, limit, offset}` (`channel.queryMembers`): one page of a
/// channel's members, for whoever may read it.
pub async fn query_members(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: Caller,
    uri: axum::http::Uri,
) -> crate::routes::Answer {
    let started = std::time::Instant::now();
    let payload: MembersPayload =
        crate::routes::rest::payload(&uri, "a members query: {type, id, filter_conditions}")?
            .ok_or_else(|| AppError::input("the payload parameter is missing"))?;
    let id =
        payload.id.clone().ok_or_else(|| AppError::input("queryMembers needs the channel's id"))?;
    let limit = payload.limit.unwrap_or(MAX_MEMBER_PAGE);
    if limit == 0 || limit > MAX_MEMBER_PAGE {
        return Err(AppError::input(format!("limit is 1 to {MAX_MEMBER_PAGE}")));
    }
    let response = crate::routes::admitted(&state, async {
        let state = &state;
        let user = caller.user()?;
        let channel = crate::routes::usable_channel(state, &payload.kind, &id, user).await?;
        let mut members = Vec::new();
        for member in db(state.store.members(&channel.cid).await)? {
            let mut keep = true;
            for (key, value) in &payload.filter_conditions {
                keep &= member_matches(&member, key, value)?;
            }
            if keep {
                members.push(member);
            }
        }
        let sorts: Vec<(String, i64)> = match &payload.sort {
            Value::Array(list) => list
                .iter()
                .map(|s| {
                    let field = s.get("field").and_then(Value::as_str).unwrap_or_default();
                    (field.to_owned(), s.get("direction").and_then(Value::as_i64).unwrap_or(1))
                })
                .collect(),
            Value::Object(map) => {
                map.iter().map(|(k, v)| (k.clone(), v.as_i64().unwrap_or(1))).collect()
            }
            _ => Vec::new(),
        };
        for (field, direction) in sorts.iter().rev() {
            let descending = *direction == -1;
            let key = |member: &MemberRecord| match Some(field.as_str()) {
                Some("user_id") | Some("id") => member.user.id.clone(),
                Some("name") => member
                    .user
                    .fields
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                _ => member.created_at.clone(),
            };
            members
                .sort_by(|a, b| if descending { key(b).cmp(&key(a)) } else { key(a).cmp(&key(b)) });
        }
        let page: Vec<Value> =
            members.iter().skip(payload.offset).take(limit).map(channels::member_view).collect();
        Ok(serde_json::json!({ "members": page }))
    })
    .await?;
    crate::routes::answer(response, started)
}
