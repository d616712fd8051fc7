//! Who may connect: the API key, and HS256 JWTs verified with the app secret (algorithm pinned, user id matched,
//! `exp`/`nbf`/`iat` checked). Dev tokens (signature `devtoken`) pass only when the server runs in dev mode.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use stream_chat_protocol::token::{self, Claims, Header, DEV_TOKEN_SIGNATURE};
use stream_chat_protocol::ErrorCode;

use crate::error::AppError;

/// Seconds of clock skew tolerated on `nbf` and `iat`.
const CLOCK_SKEW_SECS: i64 = 5;

/// The app's credentials and whether dev tokens are accepted.
#[derive(Clone)]
pub struct Auth {
    /// The one API key this server serves.
    api_key: String,
    /// The HS256 secret.
    secret: Vec<u8>,
    /// Dev mode: `devtoken` signatures are accepted (Stream's `disable_auth_checks`).
    dev: bool,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("api_key", &self.api_key).field("dev", &self.dev).finish()
    }
}

impl Auth {
    /// Credentials for an app; `dev` allows dev tokens.
    pub fn new(api_key: impl Into<String>, secret: impl Into<Vec<u8>>, dev: bool) -> Self {
        Auth { api_key: api_key.into(), secret: secret.into(), dev }
    }

    /// Refuses any key but the app's (code 2).
    pub fn check_api_key(&self, api_key: Option<&str>) -> Result<(), AppError> {
        match api_key {
            Some(key) if key == self.api_key => Ok(()),
            Some(key) => {
                Err(AppError::new(ErrorCode::AccessKey, format!("api_key not found: {key:?}")))
            }
            None => Err(AppError::new(ErrorCode::AccessKey, "api_key is missing")),
        }
    }

    /// Verifies `token` and returns its claims. `now` is seconds since the epoch.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, AppError> {
        let invalid = |why: &str| {
            AppError::new(ErrorCode::TokenSignatureInvalid, format!("JWTAuth error: {why}"))
        };
        let segments = token::split(token).ok_or_else(|| invalid("token is not a valid JWT"))?;
        let header: Header = decode_json(segments.header).ok_or_else(|| invalid("bad header"))?;
        if header.alg != "HS256" {
            return Err(invalid("signing method must be HS256"));
        }
        if segments.signature == DEV_TOKEN_SIGNATURE {
            if !self.dev {
                return Err(invalid("dev tokens are not allowed: the server is not in dev mode"));
            }
        } else {
            let signature = token::decode_base64(segments.signature)
                .ok_or_else(|| invalid("signature is not base64"))?;
            let mut mac =
                Hmac::<Sha256>::new_from_slice(&self.secret).map_err(AppError::internal)?;
            mac.update(segments.signed.as_bytes());
            mac.verify_slice(&signature).map_err(|_| invalid("signature is invalid"))?;
        }
        let claims: Claims = decode_json(segments.payload).ok_or_else(|| invalid("bad payload"))?;
        if claims.exp.is_some_and(|exp| exp <= now) {
            return Err(AppError::new(ErrorCode::TokenExpired, "JWTAuth error: token has expired"));
        }
        if claims.nbf.is_some_and(|nbf| nbf > now + CLOCK_SKEW_SECS) {
            return Err(AppError::new(
                ErrorCode::TokenNotValidYet,
                "JWTAuth error: token is not valid yet",
            ));
        }
        if claims.iat.is_some_and(|iat| iat > now + CLOCK_SKEW_SECS) {
            return Err(AppError::new(
                ErrorCode::TokenUsedBeforeIssuedAt,
                "JWTAuth error: token used before issued at (iat)",
            ));
        }
        Ok(claims)
    }

    /// Verifies a user token: valid, and issued for `user_id`.
    pub fn verify_user(&self, token: &str, user_id: &str, now: i64) -> Result<Claims, AppError> {
        let claims = self.verify(token, now)?;
        if claims.user_id.as_deref() != Some(user_id) {
            return Err(AppError::new(
                ErrorCode::Authentication,
                format!("JWTAuth error: token user_id does not match user {user_id:?}"),
            ));
        }
        Ok(claims)
    }

    /// Signs an HS256 token with the app secret (used by tests and tooling).
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let header =
            token::encode_base64(br#"{"alg":"HS256","typ":"JWT"}"#, token::Alphabet::UrlSafe);
        let payload = token::encode_base64(claims.to_string().as_bytes(), token::Alphabet::UrlSafe);
        let signed = format!("{header}.{payload}");
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.secret).expect("hmac takes any key length");
        mac.update(signed.as_bytes());
        let signature = mac.finalize().into_bytes();
        format!("{signed}.{}", token::encode_base64(&signature, token::Alphabet::UrlSafe))
    }
}

fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Option<T> {
    serde_json::from_slice(&token::decode_base64(segment)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: i64 = 1_700_000_000;

    fn auth(dev: bool) -> Auth {
        Auth::new("key", "secret", dev)
    }

    #[test]
    fn signed_token_for_the_user_passes() {
        let token = auth(false).sign(&json!({"user_id": "alice"}));
        assert_eq!(
            auth(false).verify_user(&token, "alice", NOW).unwrap().user_id.unwrap(),
            "alice"
        );
    }

    #[test]
    fn each_failure_has_its_code() {
        let a = auth(false);
        let code = |r: Result<Claims, AppError>| r.unwrap_err().code.code();
        let other_secret = Auth::new("key", "other", false).sign(&json!({"user_id": "alice"}));
        assert_eq!(code(a.verify_user(&other_secret, "alice", NOW)), 43);
        assert_eq!(code(a.verify_user(&a.sign(&json!({"user_id": "bob"})), "alice", NOW)), 5);
        assert_eq!(code(a.verify(&a.sign(&json!({"user_id": "a", "exp": NOW - 1})), NOW)), 40);
        assert_eq!(code(a.verify(&a.sign(&json!({"user_id": "a", "nbf": NOW + 60})), NOW)), 41);
        assert_eq!(code(a.verify(&a.sign(&json!({"user_id": "a", "iat": NOW + 60})), NOW)), 42);
        assert_eq!(code(a.verify("not-a-jwt", NOW)), 43);
        assert_eq!(code(a.verify(&token::dev_token("alice"), NOW)), 43);
    }

    #[test]
    fn algorithm_is_pinned_to_hs256() {
        let a = auth(true);
        let header =
            token::encode_base64(br#"{"alg":"none","typ":"JWT"}"#, token::Alphabet::UrlSafe);
        let payload = token::encode_base64(br#"{"user_id":"alice"}"#, token::Alphabet::UrlSafe);
        assert_eq!(a.verify(&format!("{header}.{payload}."), NOW).unwrap_err().code.code(), 43);
        assert_eq!(
            a.verify(&format!("{header}.{payload}.devtoken"), NOW).unwrap_err().code.code(),
            43
        );
    }

    #[test]
    fn dev_tokens_only_in_dev_mode() {
        assert!(auth(true).verify_user(&token::dev_token("alice"), "alice", NOW).is_ok());
        assert!(auth(false).verify_user(&token::dev_token("alice"), "alice", NOW).is_err());
    }

    #[test]
    fn api_key_must_match() {
        assert!(auth(false).check_api_key(Some("key")).is_ok());
        assert_eq!(auth(false).check_api_key(Some("nope")).unwrap_err().code.code(), 2);
        assert_eq!(auth(false).check_api_key(None).unwrap_err().code.code(), 2);
    }
}
