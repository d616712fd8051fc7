//! What a client may put in a message it sends (README "Limits" and "What a client may set"): the text, its own id,
//! attachments and custom fields, within a size bound; every field the server owns is dropped, so nobody can
//! forge another user's quoted text, a deletion or a pin.

use serde_json::{Map, Value};

use crate::domain::channels::MAX_MESSAGE_CHARS;
use crate::error::AppError;
use crate::limits::json_len;
use stream_chat_protocol::ErrorCode;

/// The longest client-chosen message id, in bytes.
pub const MAX_MESSAGE_ID_BYTES: usize = 255;

/// Fields of `MessageResponse` only the server sets; a client's values for them are dropped.
pub const SERVER_OWNED: &[&str] = &[
    "user",
    "user_id",
    "cid",
    "type",
    "html",
    "created_at",
    "updated_at",
    "deleted_at",
    "message_text_updated_at",
    "quoted_message",
    "pinned_by",
    "pinned_at",
    "pin_expires",
    "pinned",
    "latest_reactions",
    "own_reactions",
    "reaction_counts",
    "reaction_scores",
    "reaction_groups",
    "reply_count",
    "deleted_reply_count",
    "thread_participants",
    "mentioned_users",
    "i18n",
    "channel",
    "member",
    "shadowed",
    "status",
    "command",
    "args",
    "before_message_send_failed",
    "moderation",
    "moderation_details",
];

/// A message as a client may send it, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageInput {
    /// The client's id for it, or a new uuid.
    pub id: String,
    /// The text (may be empty).
    pub text: String,
    /// Attachments and custom fields, server-owned ones removed.
    pub extra: Map<String, Value>,
}

/// Checks `message` as sent in `POST …/message`: `text` a string of at most [`MAX_MESSAGE_CHARS`] characters,
/// `id` a non-empty string of at most [`MAX_MESSAGE_ID_BYTES`] without control characters, `attachments` an
/// array, and the whole message at most `max_bytes` of JSON. Server-owned fields are dropped.
pub fn message_input(
    mut message: Map<String, Value>,
    max_bytes: usize,
) -> Result<MessageInput, AppError> {
    let size = json_len(&message);
    if size > max_bytes {
        return Err(AppError::input(format!(
            "the message is {size} bytes of JSON; at most {max_bytes} bytes are allowed, custom fields included"
        )));
    }
    let text = match message.remove("text") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text,
        Some(_) => return Err(AppError::input("message.text must be a string")),
    };
    if text.chars().count() > MAX_MESSAGE_CHARS {
        return Err(AppError::input(format!(
            "message text is longer than {MAX_MESSAGE_CHARS} characters"
        )));
    }
    let id = match message.remove("id") {
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(id))
            if !id.is_empty()
                && id.len() <= MAX_MESSAGE_ID_BYTES
                && !id.chars().any(char::is_control) =>
        {
            id
        }
        Some(_) => {
            return Err(AppError::input(format!(
                "message.id must be a non-empty string of at most {MAX_MESSAGE_ID_BYTES} bytes"
            )))
        }
    };
    if message.get("attachments").is_some_and(|attachments| !attachments.is_array()) {
        return Err(AppError::input("message.attachments must be an array"));
    }
    // `silent: true` (a message that counts as unread for nobody); `false` is the default, not stored.
    match message.remove("silent") {
        None | Some(Value::Null) | Some(Value::Bool(false)) => {}
        Some(Value::Bool(true)) => {
            message.insert("silent".into(), Value::Bool(true));
        }
        Some(_) => return Err(AppError::input("message.silent must be a boolean")),
    }
    for owned in SERVER_OWNED {
        message.remove(*owned);
    }
    Ok(MessageInput { id, text, extra: message })
}

/// The error for message `id` not being there (code 16).
pub fn missing(id: &str) -> AppError {
    AppError::new(ErrorCode::DoesNotExist, format!("message \"{id}\" does not exist"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn server_owned_fields_are_dropped_and_custom_ones_kept() {
        let input = message_input(
            map(json!({"id": "m1", "text": "hi", "color": "red", "attachments": [],
                "quoted_message": {"text": "forged"}, "deleted_at": "2020", "pinned_by": {"id": "x"},
                "user": {"id": "mallory"}, "type": "system"})),
            32 * 1024,
        )
        .unwrap();
        assert_eq!((input.id.as_str(), input.text.as_str()), ("m1", "hi"));
        assert_eq!(Value::Object(input.extra), json!({"color": "red", "attachments": []}));
    }

    #[test]
    fn sizes_and_types_are_bounded() {
        let code = |message: Value| message_input(map(message), 1000).unwrap_err().code.code();
        assert_eq!(code(json!({"text": "x", "blob": "y".repeat(2000)})), 4);
        assert_eq!(code(json!({"text": 5})), 4);
        assert_eq!(code(json!({"id": ""})), 4);
        assert_eq!(code(json!({"id": "a\u{0}b"})), 4);
        assert_eq!(code(json!({"attachments": "no"})), 4);
        assert_eq!(code(json!({"silent": "yes"})), 4);
        let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(
            message_input(map(json!({ "text": long })), usize::MAX).unwrap_err().code.code(),
            4
        );
        assert!(message_input(Map::new(), 1000).unwrap().id.len() == 36);
        let silent =
            |value: Value| message_input(map(json!({ "silent": value })), 1000).unwrap().extra;
        assert_eq!(Value::Object(silent(json!(true))), json!({"silent": true}));
        assert_eq!(Value::Object(silent(json!(false))), json!({}));
    }
}
