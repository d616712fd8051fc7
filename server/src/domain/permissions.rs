//! Who may do what in a channel (PROTOCOL.md §22.1): the channel type's `config` (what this server supports, the
//! same for every type) and a user's `own_capabilities`, derived from their standing (role and membership) and the
//! channel's state (frozen). Handlers check a capability with [`require`]; the UI kits read the same list to show
//! or hide their controls, so what is listed is what is allowed.

use serde::Serialize;
use stream_chat_protocol::ErrorCode;

use crate::error::AppError;
use crate::store::{ChannelRecord, MemberRecord};

/// A channel type's config as the official client reads it: every flag true is a feature this server has.
#[derive(Debug, Serialize)]
pub struct TypeConfig {
    name: &'static str,
    typing_events: bool,
    read_events: bool,
    connect_events: bool,
    delivery_events: bool,
    custom_events: bool,
    reactions: bool,
    replies: bool,
    quotes: bool,
    mutes: bool,
    search: bool,
    uploads: bool,
    url_enrichment: bool,
    polls: bool,
    push_notifications: bool,
    max_message_length: usize,
    automod: &'static str,
    commands: [(); 0],
}

/// Channel types this server knows. All have typing and read events.
pub const TYPES: &[&str] = &["messaging", "team", "livestream", "commerce", "gaming"];
/// Types anyone may read and write in; the others are for their members.
pub const PUBLIC_TYPES: &[&str] = &["livestream", "gaming"];
/// The longest message text accepted, in characters.
pub const MAX_MESSAGE_CHARS: usize = 5_000;

/// Whether anyone may use channels of this type.
pub fn is_public(kind: &str) -> bool {
    PUBLIC_TYPES.contains(&kind)
}

/// The config of channel type `kind`.
pub fn config(kind: &str) -> TypeConfig {
    let name = TYPES.iter().copied().find(|known| *known == kind).unwrap_or("messaging");
    TypeConfig {
        name,
        typing_events: true,
        read_events: true,
        connect_events: true,
        delivery_events: false,
        custom_events: true,
        reactions: true,
        replies: true,
        quotes: true,
        mutes: true,
        search: true,
        uploads: true,
        url_enrichment: false,
        polls: false,
        push_notifications: false,
        max_message_length: MAX_MESSAGE_CHARS,
        automod: "disabled",
        commands: [],
    }
}

/// A user's standing in one channel.
#[derive(Debug, Clone, Copy, Default)]
pub struct Standing {
    /// A member of the channel.
    pub member: bool,
    /// May moderate it: a server token, an `admin`, the channel's creator or a `channel_moderator`.
    pub moderator: bool,
    /// An anonymous reader: sees, writes nothing.
    pub anonymous: bool,
}

impl Standing {
    /// The standing of user `user_id` (global `role`) given the channel and its members.
    pub fn of(
        channel: &ChannelRecord,
        members: &[MemberRecord],
        user_id: &str,
        role: &str,
    ) -> Standing {
        let member = members.iter().find(|member| member.user.id == user_id);
        Standing {
            member: member.is_some(),
            moderator: role == "admin"
                || channel.created_by == user_id
                || member.is_some_and(|member| member.channel_role == "channel_moderator"),
            anonymous: role == "anonymous",
        }
    }

    /// A server token's standing: everything.
    pub fn server() -> Standing {
        Standing { member: true, moderator: true, anonymous: false }
    }
}

/// What anyone who may read and write the channel may do.
const WRITER: &[&str] = &[
    "connect-events",
    "read-events",
    "typing-events",
    "send-typing-events",
    "send-message",
    "send-reply",
    "send-reaction",
    "quote-message",
    "pin-message",
    "send-links",
    "update-own-message",
    "delete-own-message",
    "flag-message",
    "mute-channel",
    "send-custom-events",
    "upload-file",
    "search-messages",
];
/// What members may do besides.
const MEMBER: &[&str] = &["leave-channel", "update-channel-members", "update-channel"];
/// What moderators may do besides.
const MODERATOR: &[&str] = &[
    "update-channel",
    "update-channel-members",
    "update-any-message",
    "delete-any-message",
    "delete-channel",
    "truncate-channel",
    "ban-channel-members",
    "freeze-channel",
    "set-channel-cooldown",
    "skip-slow-mode",
];
/// What a frozen channel allows nobody.
const FROZEN_OFF: &[&str] = &[
    "send-message",
    "send-reply",
    "send-reaction",
    "quote-message",
    "pin-message",
    "send-custom-events",
    "typing-events",
    "send-typing-events",
    "upload-file",
];

/// Whether the channel is frozen (`frozen: true` in its data).
pub fn is_frozen(channel: &ChannelRecord) -> bool {
    channel.data.get("frozen").and_then(serde_json::Value::as_bool) == Some(true)
}

/// The capabilities a user of `standing` has in `channel`, in a stable order without repeats.
pub fn own_capabilities(channel: &ChannelRecord, standing: Standing) -> Vec<&'static str> {
    let mut capabilities = vec!["read-channel"];
    if standing.anonymous {
        return capabilities;
    }
    let writes = standing.member || is_public(&channel.kind);
    let frozen = is_frozen(channel);
    let mut add = |names: &[&'static str]| {
        for name in names {
            let off = frozen && FROZEN_OFF.contains(name);
            if !off && !capabilities.contains(name) {
                capabilities.push(name);
            }
        }
    };
    if writes {
        add(WRITER);
    }
    if standing.member {
        add(MEMBER);
    } else if is_public(&channel.kind) {
        add(&["join-channel"]);
    }
    if standing.moderator {
        add(MODERATOR);
    }
    capabilities
}

/// Refuses (code 17) a user of `standing` who lacks `capability` in `channel`.
pub fn require(
    channel: &ChannelRecord,
    standing: Standing,
    capability: &str,
) -> Result<(), AppError> {
    if own_capabilities(channel, standing).contains(&capability) {
        return Ok(());
    }
    let why = if is_frozen(channel) && FROZEN_OFF.contains(&capability) {
        format!("channel \"{}\" is frozen", channel.cid)
    } else {
        format!("this user lacks the capability \"{capability}\" in channel \"{}\"", channel.cid)
    };
    Err(AppError::new(ErrorCode::NotAllowed, why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn channel(kind: &str, frozen: bool) -> ChannelRecord {
        ChannelRecord {
            cid: format!("{kind}:c"),
            kind: kind.into(),
            id: "c".into(),
            data: json!({"frozen": frozen}).as_object().cloned().unwrap_or_default(),
            created_by: "owner".into(),
            created_at: "t".into(),
            updated_at: "t".into(),
            last_message_at: None,
            member_count: 1,
            any_hidden: false,
            version: 0,
        }
    }

    #[test]
    fn members_write_moderators_moderate_frozen_channels_take_no_messages() {
        let member = Standing { member: true, ..Standing::default() };
        let caps = own_capabilities(&channel("messaging", false), member);
        for name in ["send-message", "send-reaction", "update-own-message", "leave-channel"] {
            assert!(caps.contains(&name), "{name}");
        }
        assert!(!caps.contains(&"delete-any-message") && !caps.contains(&"freeze-channel"));
        let outsider = own_capabilities(&channel("messaging", false), Standing::default());
        assert_eq!(outsider, vec!["read-channel"]);
        let public = own_capabilities(&channel("livestream", false), Standing::default());
        assert!(public.contains(&"send-message") && public.contains(&"join-channel"));
        let moderator = own_capabilities(&channel("messaging", false), Standing::server());
        assert!(moderator.contains(&"delete-any-message") && moderator.contains(&"freeze-channel"));
        let frozen = channel("messaging", true);
        assert!(!own_capabilities(&frozen, member).contains(&"send-message"));
        assert_eq!(require(&frozen, member, "send-message").unwrap_err().code.code(), 17);
        assert!(require(&frozen, member, "update-own-message").is_ok());
        let anonymous = Standing { anonymous: true, ..Standing::default() };
        assert_eq!(
            own_capabilities(&channel("livestream", false), anonymous),
            vec!["read-channel"]
        );
    }
}
