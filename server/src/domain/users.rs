//! The rules of the user object (PROTOCOL.md §8): which fields a client may write on connect, how a connect merges
//! into the stored user, and what the own user (`me`) looks like on the wire.

use serde_json::{json, Map, Value};

use crate::error::AppError;
pub use crate::store::{merge_fields, StoredUser};

/// Fields only the server sets; whatever a client sends for them on connect is ignored.
const SERVER_OWNED: &[&str] = &[
    "id",
    "role",
    "created_at",
    "updated_at",
    "last_active",
    "online",
    "banned",
    "shadow_banned",
    "deactivated_at",
    "deleted_at",
    "revoke_tokens_issued_before",
    "teams",
    "teams_role",
    "anon",
    "devices",
    "mutes",
    "channel_mutes",
    "blocked_user_ids",
    "unread_count",
    "total_unread_count",
    "unread_channels",
    "unread_threads",
    "roles",
    "push_preferences",
    "total_unread_count_by_team",
];

/// The id prefix of anonymous users. `!` is outside the user id alphabet, so no token, connect or guest can ever
/// name such a user: each anonymous connection is its own, unstored user.
pub const ANONYMOUS_PREFIX: &str = "!anon-";

/// Whether `id` is an anonymous connection's user.
pub fn is_anonymous(id: &str) -> bool {
    id.starts_with(ANONYMOUS_PREFIX)
}

/// A fresh anonymous user (`connectAnonymousUser`): never stored, so never counted as a monthly active user.
pub fn anonymous_user(now: &str) -> StoredUser {
    StoredUser {
        id: format!("{ANONYMOUS_PREFIX}{}", uuid::Uuid::new_v4()),
        role: "anonymous".into(),
        fields: Map::new(),
        created_at: now.into(),
        updated_at: now.into(),
        last_active: None,
    }
}

/// The privacy features a user can switch off, each `{"enabled": bool}` under `privacy_settings`.
const PRIVACY_FEATURES: &[&str] = &["typing_indicators", "read_receipts", "delivery_receipts"];

/// Fields only the user themselves sees: others never learn them (README "Privacy").
pub const OWN_ONLY: &[&str] = &["privacy_settings", "invisible"];

/// Checks the typed fields a user object may carry: `privacy_settings` is an object of
/// `{"enabled": bool}` objects, `invisible` a bool. Anything else is code 4, never silently read as "on".
pub fn validate_fields(fields: &Map<String, Value>) -> Result<(), AppError> {
    if let Some(invisible) = fields.get("invisible") {
        if !invisible.is_boolean() && !invisible.is_null() {
            return Err(AppError::input("invisible must be true or false"));
        }
    }
    let Some(settings) = fields.get("privacy_settings") else { return Ok(()) };
    if settings.is_null() {
        return Ok(());
    }
    let settings = settings
        .as_object()
        .ok_or_else(|| AppError::input("privacy_settings must be an object"))?;
    for (feature, setting) in settings {
        let enabled = setting.as_object().and_then(|setting| setting.get("enabled"));
        match enabled {
            Some(Value::Bool(_)) | None if setting.is_object() => {}
            _ => {
                return Err(AppError::input(format!(
                    "privacy_settings.{feature} must be {{\"enabled\": true|false}}"
                )))
            }
        }
    }
    Ok(())
}

/// The fields of `details` a client may write on connect.
pub fn writable_fields(details: &Map<String, Value>) -> Map<String, Value> {
    details
        .iter()
        .filter(|(key, _)| !SERVER_OWNED.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect()
}

/// A partial update (`PATCH /users`): fields to set (`privacy_settings` merged one level deeper, so switching one
/// feature keeps the others) and field names to remove.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct UserPatch {
    /// Whose.
    pub id: String,
    /// Fields to set.
    #[serde(default)]
    pub set: Map<String, Value>,
    /// Fields to remove.
    #[serde(default)]
    pub unset: Vec<String>,
}

/// Checks what a patch may touch: nobody sets or removes `id` or another server-owned field; `role` only a server
/// token sets (code 17 for a user token). The values themselves are checked on the merged result.
pub fn check_patch(patch: &UserPatch, by_server: bool) -> Result<(), AppError> {
    for key in patch.set.keys().chain(patch.unset.iter()) {
        let removing = !patch.set.contains_key(key);
        match key.as_str() {
            "role" if !by_server => {
                return Err(AppError::new(
                    stream_chat_protocol::ErrorCode::NotAllowed,
                    "a user token cannot change role",
                ))
            }
            "role" if !removing => {}
            key if SERVER_OWNED.contains(&key) => {
                let verb = if removing { "removed" } else { "set" };
                return Err(AppError::input(format!("{key} is the server's and cannot be {verb}")));
            }
            _ => {}
        }
    }
    if let Some(Value::String(role)) = patch.set.get("role") {
        if role.is_empty() || role.len() > 64 {
            return Err(AppError::input("role must be a non-empty string of at most 64 bytes"));
        }
    } else if patch.set.contains_key("role") {
        return Err(AppError::input("role must be a string"));
    }
    Ok(())
}

/// Applies a checked patch to `user`: the result's fields are validated and its JSON must stay within the user
/// size limit; otherwise the reason, and nothing changes.
pub fn apply_patch(mut user: StoredUser, patch: &UserPatch) -> Result<StoredUser, String> {
    let mut set = patch.set.clone();
    if let Some(Value::String(role)) = set.remove("role") {
        user.role = role;
    }
    merge_fields(&mut user.fields, set);
    for key in &patch.unset {
        user.fields.remove(key);
    }
    validate_fields(&user.fields).map_err(|error| error.message)?;
    let mut whole = user.fields.clone();
    whole.insert("id".into(), user.id.clone().into());
    stream_chat_protocol::user::validate_user(Some(&user.id), crate::limits::json_len(&whole))
        .map_err(|error| error.message())?;
    Ok(user)
}

/// Whether the user's `feature` (`"typing_indicators"`, `"read_receipts"`) is on; on unless switched off.
pub fn privacy_enabled(fields: &Map<String, Value>, feature: &str) -> bool {
    fields
        .get("privacy_settings")
        .and_then(|settings| settings.get(feature))
        .and_then(|setting| setting.get("enabled"))
        .and_then(Value::as_bool)
        .unwrap_or(true)
}

impl StoredUser {
    /// Whether the user chose to be invisible: shown offline and left out of watchers to everyone else.
    pub fn is_invisible(&self) -> bool {
        self.fields.get("invisible").and_then(Value::as_bool).unwrap_or(false)
    }

    /// The user as they see themselves (`OwnUserResponse`, the `me` of `health.check`), always with the effective
    /// `privacy_settings` so clients can apply them.
    pub fn own_view(&self) -> Value {
        let mut me = self.public_view(true);
        me.insert("online".into(), true.into());
        me.insert("invisible".into(), self.is_invisible().into());
        let settings: Map<String, Value> = PRIVACY_FEATURES
            .iter()
            .map(|feature| {
                (feature.to_string(), json!({"enabled": privacy_enabled(&self.fields, feature)}))
            })
            .collect();
        me.insert("privacy_settings".into(), Value::Object(settings));
        for key in ["devices", "mutes", "channel_mutes", "blocked_user_ids"] {
            me.insert(key.into(), json!([]));
        }
        for key in ["unread_count", "total_unread_count", "unread_channels", "unread_threads"] {
            me.insert(key.into(), json!(0));
        }
        me.entry("language").or_insert("".into());
        Value::Object(me)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn server_owned_fields_are_not_writable() {
        let fields =
            writable_fields(&map(json!({"id": "a", "role": "admin", "name": "A", "x": 1})));
        assert_eq!(Value::Object(fields), json!({"name": "A", "x": 1}));
    }

    #[test]
    fn others_never_see_privacy_settings_or_invisibility() {
        let user = StoredUser {
            id: "a".into(),
            role: "user".into(),
            fields: map(json!({"name": "A", "invisible": true,
                "privacy_settings": {"read_receipts": {"enabled": false}}})),
            created_at: "t".into(),
            updated_at: "t".into(),
            last_active: None,
        };
        let public = user.public_view(true);
        assert!(!public.contains_key("privacy_settings") && !public.contains_key("invisible"));
        assert_eq!(public["online"], false);
        let me = user.own_view();
        assert_eq!(me["privacy_settings"]["read_receipts"]["enabled"], false);
        assert_eq!(me["invisible"], true);
    }

    #[test]
    fn privacy_settings_must_be_booleans() {
        let ok = map(json!({"privacy_settings": {"typing_indicators": {"enabled": false}}}));
        assert!(validate_fields(&ok).is_ok());
        for bad in [
            json!({"privacy_settings": {"read_receipts": {"enabled": "false"}}}),
            json!({"privacy_settings": {"read_receipts": false}}),
            json!({"privacy_settings": "off"}),
            json!({"invisible": "yes"}),
        ] {
            assert_eq!(validate_fields(&map(bad.clone())).unwrap_err().code.code(), 4, "{bad}");
        }
    }

    #[test]
    fn merge_keeps_fields_not_named_and_deep_merges_privacy() {
        let mut stored = map(json!({"name": "A", "color": "red",
            "privacy_settings": {"typing_indicators": {"enabled": false}}}));
        merge_fields(
            &mut stored,
            map(json!({"name": "B",
            "privacy_settings": {"read_receipts": {"enabled": false}}})),
        );
        assert_eq!(
            Value::Object(stored.clone()),
            json!({"name": "B", "color": "red", "privacy_settings": {
                "typing_indicators": {"enabled": false}, "read_receipts": {"enabled": false}}})
        );
        assert!(!privacy_enabled(&stored, "typing_indicators"));
        assert!(privacy_enabled(&stored, "delivery_receipts"));
    }
}
