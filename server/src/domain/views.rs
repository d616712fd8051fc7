//! Wire views serialized straight from the stored records: a user (`UserResponse`), a reaction
//! (`ReactionResponse`) and a message (`MessageResponse`). A channel page of 300 messages is written from its
//! records without building a `serde_json::Value` tree per message first, which cost most of a channel query's
//! time. Custom fields come first, then the server's own fields; a custom field named like a server field is left
//! out, so the server's always wins.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

use crate::domain::users::{StoredUser, OWN_ONLY};
use crate::store::{MessageRecord, ReactionRecord};

/// How many of a message's newest reactions its `latest_reactions` lists.
pub const LATEST_REACTIONS: usize = 10;

/// The fields [`UserView`] writes itself.
const USER_FIELDS: &[&str] =
    &["id", "role", "created_at", "updated_at", "last_active", "banned", "online"];

/// The fields [`ReactionView`] writes itself.
const REACTION_FIELDS: &[&str] =
    &["type", "score", "message_id", "user_id", "user", "created_at", "updated_at"];

/// The fields [`MessageView`] writes itself.
const MESSAGE_FIELDS: &[&str] = &[
    "id",
    "cid",
    "text",
    "html",
    "type",
    "user",
    "created_at",
    "updated_at",
    "deleted_at",
    "attachments",
    "mentioned_users",
    "latest_reactions",
    "own_reactions",
    "reaction_counts",
    "reaction_scores",
    "reaction_groups",
    "reply_count",
    "thread_participants",
    "silent",
    "pinned",
];

/// Writes the custom fields of `fields` that are not in `fixed` (nor in `hidden`).
fn custom_fields<M: SerializeMap>(
    map: &mut M,
    fields: &Map<String, Value>,
    fixed: &[&str],
    hidden: &[&str],
) -> Result<(), M::Error> {
    for (key, value) in fields {
        if !fixed.contains(&key.as_str()) && !hidden.contains(&key.as_str()) {
            map.serialize_entry(key, value)?;
        }
    }
    Ok(())
}

/// A user as others see it: never their privacy settings or invisibility, and offline while invisible.
#[derive(Debug, Clone, Copy)]
pub struct UserView<'a> {
    /// The user.
    pub user: &'a StoredUser,
    /// Whether they are connected now (shown only when they are not invisible).
    pub online: bool,
}

impl Serialize for UserView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let user = self.user;
        let mut map = serializer.serialize_map(None)?;
        custom_fields(&mut map, &user.fields, USER_FIELDS, OWN_ONLY)?;
        map.serialize_entry("id", &user.id)?;
        map.serialize_entry("role", &user.role)?;
        map.serialize_entry("created_at", &user.created_at)?;
        map.serialize_entry("updated_at", &user.updated_at)?;
        if let Some(last_active) = &user.last_active {
            map.serialize_entry("last_active", last_active)?;
        }
        map.serialize_entry("banned", &false)?;
        map.serialize_entry("online", &(self.online && !user.is_invisible()))?;
        map.end()
    }
}

/// A reaction as `ReactionResponse`.
#[derive(Debug, Clone, Copy)]
pub struct ReactionView<'a>(pub &'a ReactionRecord);

impl Serialize for ReactionView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let reaction = self.0;
        let mut map = serializer.serialize_map(None)?;
        custom_fields(&mut map, &reaction.extra, REACTION_FIELDS, &[])?;
        map.serialize_entry("type", &reaction.kind)?;
        map.serialize_entry("score", &reaction.score)?;
        map.serialize_entry("message_id", &reaction.message_id)?;
        map.serialize_entry("user_id", &reaction.user.id)?;
        map.serialize_entry("user", &UserView { user: &reaction.user, online: false })?;
        map.serialize_entry("created_at", &reaction.created_at)?;
        map.serialize_entry("updated_at", &reaction.updated_at)?;
        map.end()
    }
}

/// A message as `MessageResponse`; with a `viewer`, `own_reactions` lists that user's reactions.
#[derive(Debug, Clone, Copy)]
pub struct MessageView<'a> {
    /// The message.
    pub message: &'a MessageRecord,
    /// Whose `own_reactions` to list; none for a view shared by everyone (events).
    pub viewer: Option<&'a str>,
}

/// A sequence serialized item by item, without collecting.
struct Each<I>(I);

impl<I: Iterator + Clone> Serialize for Each<I>
where
    I::Item: Serialize,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.clone())
    }
}

/// `{"id": id}`, as `thread_participants` lists users.
#[derive(serde::Serialize)]
struct IdOnly<'a> {
    id: &'a str,
}

/// Per reaction type, the sum of `value` over the message's reactions.
fn reaction_totals(
    message: &MessageRecord,
    value: impl Fn(&ReactionRecord) -> i64,
) -> Map<String, Value> {
    let mut totals = Map::new();
    for reaction in &message.reactions {
        let total =
            totals.get(&reaction.kind).and_then(Value::as_i64).unwrap_or(0) + value(reaction);
        totals.insert(reaction.kind.clone(), total.into());
    }
    totals
}

/// Per reaction type: count, summed scores, first and last reaction times (`reaction_groups`).
fn reaction_groups(message: &MessageRecord) -> Map<String, Value> {
    let mut groups = Map::new();
    for reaction in &message.reactions {
        let group = groups.entry(reaction.kind.clone()).or_insert_with(|| {
            serde_json::json!({"count": 0, "sum_scores": 0, "first_reaction_at": reaction.created_at, "last_reaction_at": reaction.created_at})
        });
        group["count"] = (group["count"].as_i64().unwrap_or(0) + 1).into();
        group["sum_scores"] = (group["sum_scores"].as_i64().unwrap_or(0) + reaction.score).into();
        group["last_reaction_at"] = reaction.created_at.clone().into();
    }
    groups
}

impl Serialize for MessageView<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let message = self.message;
        let reactions = &message.reactions;
        let empty = Value::Array(Vec::new());
        let mut map = serializer.serialize_map(None)?;
        custom_fields(&mut map, &message.extra, MESSAGE_FIELDS, &[])?;
        map.serialize_entry("id", &message.id)?;
        map.serialize_entry("cid", &message.cid)?;
        map.serialize_entry("text", &message.text)?;
        map.serialize_entry("html", "")?;
        // `type: "system"` in `extra` is set by the server only (clients' `type` is dropped on input).
        let system = message.extra.get("type").and_then(Value::as_str) == Some("system");
        let kind = match (message.deleted_at.is_some(), system) {
            (true, _) => "deleted",
            (false, true) => "system",
            (false, false) => "regular",
        };
        map.serialize_entry("type", kind)?;
        map.serialize_entry("user", &UserView { user: &message.user, online: false })?;
        map.serialize_entry("created_at", &message.created_at)?;
        let updated_at = message.updated_at.as_deref().unwrap_or(&message.created_at);
        map.serialize_entry("updated_at", updated_at)?;
        if let Some(deleted_at) = &message.deleted_at {
            map.serialize_entry("deleted_at", deleted_at)?;
        }
        map.serialize_entry("attachments", message.extra.get("attachments").unwrap_or(&empty))?;
        map.serialize_entry("mentioned_users", &empty)?;
        let latest = reactions.iter().rev().take(LATEST_REACTIONS).map(ReactionView);
        map.serialize_entry("latest_reactions", &Each(latest))?;
        let viewer = self.viewer;
        let own = reactions.iter().filter(move |r| Some(r.user.id.as_str()) == viewer);
        map.serialize_entry("own_reactions", &Each(own.map(ReactionView)))?;
        map.serialize_entry("reaction_counts", &reaction_totals(message, |_| 1))?;
        map.serialize_entry("reaction_scores", &reaction_totals(message, |r| r.score))?;
        map.serialize_entry("reaction_groups", &reaction_groups(message))?;
        map.serialize_entry("reply_count", &message.reply_count)?;
        let participants = message.thread_participants.iter().map(|id| IdOnly { id });
        map.serialize_entry("thread_participants", &Each(participants))?;
        let silent = message.extra.get("silent").and_then(Value::as_bool).unwrap_or(false);
        map.serialize_entry("silent", &silent)?;
        map.serialize_entry("pinned", &crate::domain::pins::is_pinned(&message.extra))?;
        map.end()
    }
}

/// A page of messages as `viewer` sees them, serialized from the records.
#[derive(Debug, Default)]
pub struct MessagesView {
    /// The messages, oldest first.
    pub messages: Vec<MessageRecord>,
    /// Whose `own_reactions` to list.
    pub viewer: String,
}

impl Serialize for MessagesView {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let viewer = Some(self.viewer.as_str());
        serializer.collect_seq(self.messages.iter().map(|message| MessageView { message, viewer }))
    }
}

/// `view` as a JSON value, for the places that add fields to it; our views never fail to serialize.
pub fn to_value(view: impl Serialize) -> Value {
    serde_json::to_value(view).unwrap_or(Value::Null)
}

impl StoredUser {
    /// The user as others see it (`UserResponse`): never their privacy settings or invisibility, and offline
    /// while invisible ([`UserView`]).
    pub fn public_view(&self, online: bool) -> Map<String, Value> {
        match to_value(UserView { user: self, online }) {
            Value::Object(user) => user,
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn user(id: &str, fields: Value) -> StoredUser {
        StoredUser {
            id: id.into(),
            role: "user".into(),
            fields: fields.as_object().cloned().unwrap_or_default(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            last_active: None,
        }
    }

    fn reaction(by: &str, kind: &str) -> ReactionRecord {
        ReactionRecord {
            message_id: "m1".into(),
            user: user(by, json!({})),
            kind: kind.into(),
            score: 2,
            extra: Map::new(),
            created_at: "2026-01-01T00:00:01Z".into(),
            updated_at: "2026-01-01T00:00:01Z".into(),
        }
    }

    #[test]
    fn server_fields_win_and_private_fields_stay_home() {
        let private = json!({"name": "Ann", "id": "mallory", "invisible": true,
            "privacy_settings": {"read_receipts": {"enabled": false}}});
        let message = MessageRecord {
            version: 0,
            id: "m1".into(),
            cid: "messaging:general".into(),
            text: "hello".into(),
            extra: json!({"color": "red", "text": "spoof", "type": "system", "attachments": [1]})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: None,
            deleted_at: Some("2026-01-01T00:00:02Z".into()),
            reply_count: 1,
            thread_participants: vec!["bob".into()],
            reactions: vec![reaction("bob", "like"), reaction("ann", "like")],
            user: user("ann", private),
        };
        let text = serde_json::to_string(&MessageView { message: &message, viewer: Some("ann") })
            .unwrap_or_default();
        let view: Value = serde_json::from_str(&text).unwrap_or_default();
        // Each key once: the text has as many `"key":` as the parsed object has keys.
        assert_eq!(text.matches("\"text\":").count(), 1);
        assert_eq!(view["text"], "hello");
        assert_eq!(view["type"], "deleted");
        assert_eq!(view["color"], "red");
        assert_eq!(view["attachments"], json!([1]));
        assert_eq!(view["updated_at"], "2026-01-01T00:00:00Z");
        assert_eq!(view["deleted_at"], "2026-01-01T00:00:02Z");
        assert_eq!(view["user"]["id"], "ann");
        assert_eq!(view["user"]["name"], "Ann");
        assert!(view["user"].get("privacy_settings").is_none());
        assert!(view["user"].get("invisible").is_none());
        assert_eq!(view["reaction_counts"], json!({"like": 2}));
        assert_eq!(view["reaction_scores"], json!({"like": 4}));
        assert_eq!(view["latest_reactions"][0]["user_id"], "ann");
        assert_eq!(view["own_reactions"].as_array().map(Vec::len), Some(1));
        assert_eq!(view["own_reactions"][0]["user"]["id"], "ann");
        assert_eq!(view["thread_participants"], json!([{"id": "bob"}]));
        let shared = to_value(MessageView { message: &message, viewer: None });
        assert_eq!(shared["own_reactions"], json!([]));
    }

    #[test]
    fn an_invisible_user_is_shown_offline() {
        let ann = user("ann", json!({"invisible": true}));
        assert_eq!(to_value(UserView { user: &ann, online: true })["online"], false);
        let bob = user("bob", json!({}));
        assert_eq!(to_value(UserView { user: &bob, online: true })["online"], true);
    }
}
