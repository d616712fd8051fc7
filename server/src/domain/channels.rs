//! Channel rules and wire shapes (PROTOCOL.md §6): which types and ids exist, who may read a channel, the
//! channel/message/member/read objects as the official client reads them, and the read-state projection that
//! hides users with read receipts off from everyone but themselves.

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::domain::permissions;
pub use crate::domain::permissions::{is_public, MAX_MESSAGE_CHARS, PUBLIC_TYPES, TYPES};
use crate::domain::users::{privacy_enabled, StoredUser};
use crate::domain::views::{self, MessageView, ReactionView, UserView};
use crate::error::AppError;
use crate::store::{ChannelRecord, MemberRecord, MessageRecord, ReactionRecord, ReadRecord};
use stream_chat_protocol::ErrorCode;

/// The longest channel id accepted.
const MAX_ID_CHARS: usize = 64;
/// The most members a channel is created with.
pub const MAX_MEMBERS: usize = 100;
/// The id prefix of channels named by their members ([`distinct_id`]): reserved, no client may create such an id
/// explicitly, so nobody can take a pair's DM before they open it.
pub const DISTINCT_PREFIX: &str = "!members-";
/// Messages returned by a channel query when the client names no limit, and at most.
pub const DEFAULT_MESSAGES: usize = 25;
/// The most messages one query returns.
pub const MAX_MESSAGES: usize = 300;
/// Checks a channel type: known, and `[\w-]+` like the official client checks it.
pub fn validate_type(kind: &str) -> Result<(), AppError> {
    if TYPES.contains(&kind) {
        Ok(())
    } else {
        Err(AppError::input(format!("channel type \"{kind}\" does not exist")))
    }
}

/// Checks a channel id: `[\w!-]+`, at most 64 characters; `:` is never allowed.
pub fn validate_id(id: &str) -> Result<(), AppError> {
    let valid = !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '!'));
    if valid {
        Ok(())
    } else {
        Err(AppError::input(format!(
            "channel id \"{id}\" is invalid: use a-z, A-Z, 0-9, _ - ! and at most {MAX_ID_CHARS} characters"
        )))
    }
}

/// `type:id`.
pub fn cid(kind: &str, id: &str) -> String {
    format!("{kind}:{id}")
}

/// `type:id` once both are checked ([`validate_type`], [`validate_id`]).
pub fn checked_cid(kind: &str, id: &str) -> Result<String, AppError> {
    validate_type(kind)?;
    validate_id(id)?;
    Ok(cid(kind, id))
}

/// The error for channel `cid` not being there (code 16).
pub fn missing(cid: &str) -> AppError {
    AppError::new(ErrorCode::DoesNotExist, format!("channel \"{cid}\" does not exist"))
}

/// The id of a channel created without one, from its members: the same members always give the same channel.
pub fn distinct_id(members: &[String]) -> String {
    let mut sorted = members.to_vec();
    sorted.sort();
    sorted.dedup();
    let digest = Sha256::digest(sorted.join(",").as_bytes());
    let hex: String = digest.iter().take(16).map(|byte| format!("{byte:02x}")).collect();
    format!("!members-{hex}")
}

/// The envelope every channel event carries.
pub fn event(kind: &str, channel: &ChannelRecord, created_at: &str) -> Map<String, Value> {
    let event = json!({
        "type": kind,
        "cid": channel.cid,
        "channel_id": channel.id,
        "channel_type": channel.kind,
        "created_at": created_at,
    });
    event.as_object().cloned().unwrap_or_default()
}

/// A user as it appears inside channels and events.
pub fn user_view(user: &StoredUser) -> Value {
    views::to_value(UserView { user, online: false })
}

/// The `channel` object of a channel response, with the viewer's `own_capabilities` and, for a member, whether
/// they hid it.
pub fn channel_view(channel: &ChannelRecord, capabilities: &[&str], hidden: bool) -> Value {
    let mut view = channel.data.clone();
    view.remove("members");
    let fixed = json!({
        "id": channel.id,
        "cid": channel.cid,
        "type": channel.kind,
        "created_by": {"id": channel.created_by},
        "created_at": channel.created_at,
        "updated_at": channel.updated_at,
        "last_message_at": channel.last_message_at,
        "member_count": channel.member_count,
        "frozen": permissions::is_frozen(channel),
        "disabled": false,
        "hidden": hidden,
        "config": permissions::config(&channel.kind),
        "own_capabilities": capabilities,
    });
    if let Value::Object(fixed) = fixed {
        view.extend(fixed);
    }
    Value::Object(view)
}

/// The `channel` of a channel event, as every watcher may see it: no one's own capabilities or hidden flag (the
/// official client keeps its own when an event has none).
pub fn channel_event_view(channel: &ChannelRecord) -> Value {
    let mut view = channel_view(channel, &[], false);
    if let Value::Object(fields) = &mut view {
        fields.remove("own_capabilities");
        fields.remove("hidden");
    }
    view
}

/// A reaction as `ReactionResponse`.
pub fn reaction_view(reaction: &ReactionRecord) -> Value {
    views::to_value(ReactionView(reaction))
}

/// A message as `viewer` sees it: with its own reactions.
pub fn message_view_for(message: &MessageRecord, viewer: &str) -> Value {
    views::to_value(MessageView { message, viewer: Some(viewer) })
}

/// A message as `MessageResponse`, as everyone sees it (no `own_reactions`).
pub fn message_view(message: &MessageRecord) -> Value {
    views::to_value(MessageView { message, viewer: None })
}

/// A member as `ChannelMemberResponse`.
pub fn member_view(member: &MemberRecord) -> Value {
    member_view_online(member, false)
}

/// A member as `ChannelMemberResponse`, its user shown online when `online` (never an invisible one).
pub fn member_view_online(member: &MemberRecord, online: bool) -> Value {
    json!({
        "user_id": member.user.id,
        "user": UserView { user: &member.user, online },
        "channel_role": member.channel_role,
        "role": if member.channel_role == "channel_moderator" { "moderator" } else { "member" },
        "is_moderator": member.channel_role == "channel_moderator",
        "created_at": member.created_at,
        "updated_at": member.created_at,
        "banned": false,
        "shadow_banned": false,
    })
}

/// The read states `viewer` may see: its own always, as it is; others' only when their read receipts are on, and
/// then only as they stood at their last read with receipts on.
pub fn visible_reads(reads: &[ReadRecord], viewer: &str) -> Vec<Value> {
    reads
        .iter()
        .filter(|read| {
            read.user.id == viewer || privacy_enabled(&read.user.fields, "read_receipts")
        })
        .map(|read| {
            let (last_read, message_id, unread) = if read.user.id == viewer {
                (&read.last_read, &read.last_read_message_id, read.unread_messages)
            } else {
                let shared = &read.shared;
                (&shared.last_read, &shared.last_read_message_id, shared.unread_messages)
            };
            json!({
                "user": user_view(&read.user),
                "last_read": last_read,
                "last_read_message_id": message_id,
                "unread_messages": unread,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_types_follow_the_client_rules() {
        assert!(validate_id("general").is_ok());
        assert!(validate_id("!members-abc_1").is_ok());
        for bad in ["", "a:b", "a b", "é", &"x".repeat(65)] {
            assert_eq!(validate_id(bad).unwrap_err().code.code(), 4, "{bad}");
        }
        assert!(validate_type("messaging").is_ok());
        assert_eq!(validate_type("nope").unwrap_err().code.code(), 4);
    }

    #[test]
    fn distinct_ids_ignore_member_order() {
        let a = distinct_id(&["bob".into(), "alice".into()]);
        assert_eq!(a, distinct_id(&["alice".into(), "bob".into(), "bob".into()]));
        assert!(a.starts_with("!members-") && validate_id(&a).is_ok());
    }

    #[test]
    fn reads_of_private_users_are_visible_only_to_themselves() {
        let user = |id: &str, receipts: bool| StoredUser {
            id: id.into(),
            role: "user".into(),
            fields: json!({"privacy_settings": {"read_receipts": {"enabled": receipts}}})
                .as_object()
                .unwrap()
                .clone(),
            created_at: "t".into(),
            updated_at: "t".into(),
            last_active: None,
        };
        let read = |user| ReadRecord {
            user,
            last_read: "t".into(),
            last_read_message_id: None,
            unread_messages: 0,
            shared: crate::store::SharedRead {
                last_read: "t".into(),
                last_read_message_id: None,
                unread_messages: 0,
            },
        };
        let reads = [read(user("alice", false)), read(user("bob", true))];
        let ids = |viewer| -> Vec<String> {
            visible_reads(&reads, viewer)
                .iter()
                .map(|r| r["user"]["id"].as_str().unwrap().to_owned())
                .collect()
        };
        assert_eq!(ids("bob"), vec!["bob"]);
        assert_eq!(ids("alice"), vec!["alice", "bob"]);
    }
}
