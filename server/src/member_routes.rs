//! Membership changes of `POST /channels/{type}/{id}` (`add_members` / `remove_members`, as the official client's
//! `addMembers` and `removeMembers` send them; the rest of that call is in `channel_routes.rs`): members (or a
//! server token) change a channel's members; watchers get `member.added` / `member.removed`. A channel keeps at
//! most [`MAX_MEMBERS`] members.

use serde_json::Value;
use stream_chat_protocol::ErrorCode;

use crate::channels::{self, MAX_MEMBERS};
use crate::error::AppError;
use crate::rest::Caller;
use crate::routes::{check_member, db, publish_channel_event, user_ids};
use crate::store::{ChannelRecord, MemberRecord};
use crate::{clock, AppState};

/// User ids from a list, at most [`MAX_MEMBERS`] of them.
fn ids(list: &[Value]) -> Result<Vec<String>, AppError> {
    if list.len() > MAX_MEMBERS {
        return Err(AppError::input(format!("at most {MAX_MEMBERS} members per call")));
    }
    user_ids(list)
}

/// Tells the channel's watchers about each member who joined or left.
pub(crate) fn announce(
    state: &AppState,
    channel: &ChannelRecord,
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

/// Adds `add` and removes `remove` as `caller` asks, in the channel `channel` whose members are `members`: members
/// (or a server token) change members, anyone may join a public channel alone; watchers get `member.added` /
/// `member.removed`, removed members of a members-only channel stop hearing it.
pub(crate) fn change_members(
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
            check_member(state, channel, user)?;
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
    let (added, removed) = db(state.store.change_members(cid, &add, &remove, &clock::timestamp()))?;
    announce(state, channel, "member.added", &added);
    announce(state, channel, "member.removed", &removed);
    if !channels::is_public(&channel.kind) {
        for member in &removed {
            crate::routes::unwatch_user(state, cid, &member.user.id);
        }
    }
    Ok(())
}
