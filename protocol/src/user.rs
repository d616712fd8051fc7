//! Which users the protocol accepts: the id alphabet and the 5 KB size limit (PROTOCOL.md §8). The SDK checks these
//! before any network call, the server again on every connect.

use alloc::string::{String, ToString};
use core::fmt;

/// The largest serialized user object accepted, in bytes of its JSON text.
pub const MAX_USER_BYTES: usize = 5 * 1024;
/// The longest user id accepted, in bytes (Stream's documented 255).
pub const MAX_USER_ID_BYTES: usize = 255;

/// Why a user object is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserError {
    /// The user has no `id`, or it is empty.
    MissingId,
    /// The id has a character outside `a-z 0-9 @ _ -`.
    InvalidId(String),
    /// The id is longer than [`MAX_USER_ID_BYTES`]; holds its length.
    IdTooLong(usize),
    /// The JSON text of the user is larger than [`MAX_USER_BYTES`].
    TooLarge(usize),
}

impl UserError {
    /// What went wrong, in words. Built without `core::fmt` so the wasm SDK does not link it.
    pub fn message(&self) -> String {
        match self {
            UserError::MissingId => "the \"id\" field on the user is missing".into(),
            UserError::InvalidId(id) => {
                "user id \"".to_string()
                    + id
                    + "\" is invalid: it may only contain a-z, 0-9 and the characters @ _ -"
            }
            UserError::IdTooLong(bytes) => too_large("user id", *bytes, MAX_USER_ID_BYTES),
            UserError::TooLarge(bytes) => too_large("user object", *bytes, MAX_USER_BYTES),
        }
    }
}

/// `"<what> is <bytes> bytes; it must be at most <max> bytes"`, without `core::fmt`.
fn too_large(what: &str, bytes: usize, max: usize) -> String {
    let mut text = what.to_string() + " is ";
    push_decimal(&mut text, bytes as u64);
    text.push_str(" bytes; it must be at most ");
    push_decimal(&mut text, max as u64);
    text + " bytes"
}

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Appends `value` in decimal, without `core::fmt`.
pub fn push_decimal(out: &mut String, value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend(digits[at..].iter().map(|digit| *digit as char));
}

/// Whether `c` may appear in a user id.
pub fn is_user_id_char(c: char) -> bool {
    matches!(c, 'a'..='z' | '0'..='9' | '@' | '_' | '-')
}

/// Checks a user id: present, at most [`MAX_USER_ID_BYTES`], and only `a-z 0-9 @ _ -`.
pub fn validate_user_id(id: &str) -> Result<(), UserError> {
    if id.is_empty() {
        return Err(UserError::MissingId);
    }
    if id.len() > MAX_USER_ID_BYTES {
        return Err(UserError::IdTooLong(id.len()));
    }
    if !id.chars().all(is_user_id_char) {
        return Err(UserError::InvalidId(id.into()));
    }
    Ok(())
}

/// Checks a user given as its id and the length in bytes of its JSON text.
pub fn validate_user(id: Option<&str>, json_bytes: usize) -> Result<(), UserError> {
    validate_user_id(id.unwrap_or(""))?;
    if json_bytes > MAX_USER_BYTES {
        return Err(UserError::TooLarge(json_bytes));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_documented_alphabet() {
        assert_eq!(validate_user_id("alice_bob-42@example"), Ok(()));
    }

    #[test]
    fn refuses_other_characters() {
        for id in ["Alice", "a b", "zz~~~", "a:b", "é", "a.b"] {
            assert_eq!(validate_user_id(id), Err(UserError::InvalidId(id.into())), "{id}");
        }
        assert_eq!(validate_user_id(""), Err(UserError::MissingId));
        assert_eq!(validate_user_id(&"a".repeat(255)), Ok(()));
        assert_eq!(validate_user_id(&"a".repeat(5000)), Err(UserError::IdTooLong(5000)));
    }

    #[test]
    fn messages_name_the_problem() {
        assert_eq!(
            UserError::TooLarge(6000).to_string(),
            "user object is 6000 bytes; it must be at most 5120 bytes"
        );
        assert!(UserError::InvalidId("A b".into())
            .to_string()
            .starts_with("user id \"A b\" is invalid"));
        let mut zero = String::new();
        push_decimal(&mut zero, 0);
        assert_eq!(zero, "0");
    }

    #[test]
    fn size_limit_is_5_kb() {
        assert_eq!(validate_user(Some("a"), MAX_USER_BYTES), Ok(()));
        assert_eq!(validate_user(Some("a"), MAX_USER_BYTES + 1), Err(UserError::TooLarge(5121)));
        assert_eq!(validate_user(None, 10), Err(UserError::MissingId));
    }
}
