//! Checks `connectUser` makes before any network call: the user (id alphabet, 5 KB) and the token (a JWT whose
//! `user_id` is the user's). The token's claims are read by the caller's [`ClaimsReader`] into the typed
//! [`Claims`] (in the browser one JS helper splits the token, decodes its payload with `atob` and reads it with
//! `JSON.parse`), so the core needs neither a base64 decoder nor a JSON parser of its own.

use alloc::string::String;

use stream_chat_protocol::user::validate_user;

use super::error::ChatError;

/// The token payload claims the SDK reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Claims {
    /// Whose token it is.
    pub user_id: Option<String>,
}

/// Reads a token's claims: `None` unless it is a compact JWT (three segments, the first two not empty) whose
/// payload is base64 or base64url (padded or not) of a UTF-8 JSON object, and whose `user_id` is a string when
/// present.
pub type ClaimsReader = fn(&str) -> Option<Claims>;

/// Checks the user given as its id and its JSON text's length in bytes.
pub fn check_user(id: Option<&str>, json_bytes: usize) -> Result<(), ChatError> {
    validate_user(id, json_bytes).map_err(ChatError::InvalidUser)
}

/// Checks that `token` is a JWT issued for `user_id`, reading its claims with `read`. The signature is the
/// server's business.
pub fn check_token(token: &str, user_id: &str, read: ClaimsReader) -> Result<(), ChatError> {
    if token.is_empty() {
        return Err(ChatError::MissingToken);
    }
    let claims = read(token).ok_or(ChatError::MalformedToken)?;
    if claims.user_id.as_deref() != Some(user_id) {
        return Err(ChatError::TokenUserMismatch { expected: user_id.into() });
    }
    Ok(())
}

/// A [`ClaimsReader`] over the protocol crate's token plumbing and serde_json, for native tests.
#[cfg(test)]
pub fn read_claims_json(token: &str) -> Option<Claims> {
    use stream_chat_protocol::token;
    let payload = token::decode_base64(token::split(token)?.payload)?;
    let value: serde_json::Value = serde_json::from_slice(&payload).ok()?;
    let object = value.as_object()?;
    match object.get("user_id") {
        None | Some(serde_json::Value::Null) => Some(Claims { user_id: None }),
        Some(serde_json::Value::String(id)) => Some(Claims { user_id: Some(id.clone()) }),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stream_chat_protocol::token::dev_token;

    fn check_token(token: &str, user_id: &str) -> Result<(), ChatError> {
        super::check_token(token, user_id, read_claims_json)
    }

    #[test]
    fn dev_token_for_the_user_passes() {
        assert_eq!(check_token(&dev_token("alice"), "alice"), Ok(()));
    }

    #[test]
    fn base64url_payloads_are_read_too() {
        // {"user_id":"zz~~~"} in base64url: the official client's decoder garbles it; ours does not.
        let token = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjoienp-fn4ifQ.sig";
        assert_eq!(check_token(token, "zz~~~"), Ok(()));
    }

    #[test]
    fn wrong_or_broken_tokens_are_refused() {
        assert_eq!(
            check_token(&dev_token("bob"), "alice"),
            Err(ChatError::TokenUserMismatch { expected: "alice".into() })
        );
        assert_eq!(check_token("abc", "alice"), Err(ChatError::MalformedToken));
        assert_eq!(check_token("a.!!!.c", "alice"), Err(ChatError::MalformedToken));
        assert_eq!(check_token("", "alice"), Err(ChatError::MissingToken));
        // A payload that is not a JSON object, or a user_id that is not a string.
        let not_json = "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig";
        assert_eq!(check_token(not_json, "alice"), Err(ChatError::MalformedToken));
        let numeric = "eyJhbGciOiJIUzI1NiJ9.eyJ1c2VyX2lkIjo1fQ.sig";
        assert_eq!(check_token(numeric, "5"), Err(ChatError::MalformedToken));
    }

    #[test]
    fn users_are_checked_before_connecting() {
        assert!(check_user(Some("alice"), 20).is_ok());
        assert_eq!(check_user(Some("Alice"), 20).unwrap_err().code(), Some(4));
        assert_eq!(check_user(Some("alice"), 6000).unwrap_err().code(), Some(4));
    }
}
