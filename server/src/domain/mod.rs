//! The chat's rules and wire shapes, apart from how requests arrive and events leave: channel types, ids and
//! shapes, what a message may hold, the user object, permissions, moderation rules, pins, quotes, uploads, and the
//! views written straight from the store's records; and one rule for every JSON input ([`refuse_nul`]).

pub mod channels;
pub mod messages;
pub mod moderation;
pub mod permissions;
pub mod pins;
pub mod quotes;
pub mod uploads;
pub mod users;
pub mod views;

use crate::error::AppError;

/// Code 4 for JSON text with a U+0000 in a string (`\u0000`; JSON allows no raw control character): PostgreSQL
/// can store none in text or JSONB, so no store takes one and every store answers alike.
pub fn refuse_nul(json: &[u8]) -> Result<(), AppError> {
    let mut escaped = false;
    for (at, byte) in json.iter().enumerate() {
        if escaped && json[at..].starts_with(b"u0000") {
            return Err(AppError::input("strings may not contain U+0000"));
        }
        escaped = !escaped && *byte == b'\\';
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::refuse_nul;

    #[test]
    fn a_nul_escape_is_refused_and_an_escaped_backslash_before_u0000_is_not() {
        assert!(refuse_nul(br#"{"text": "a\u0000b"}"#).is_err());
        assert!(refuse_nul(br#"{"text": "a\\\u0000"}"#).is_err());
        assert!(refuse_nul(br#"{"text": "a\\u0000"}"#).is_ok(), "a backslash, then the text u0000");
        assert!(refuse_nul(br#"{"text": "a\u0001"}"#).is_ok());
    }
}
