//! Protocol error codes (PROTOCOL.md §5.2) and the `{"code","message","StatusCode","duration","more_info"}` body that
//! REST answers and the WebSocket error frame carry.

use alloc::string::String;

use serde::{Deserialize, Serialize};

/// Where the official client and Stream's docs point users for the meaning of a code.
pub const MORE_INFO_URL: &str = "https://getstream.io/chat/docs/api_errors_response";

/// The error codes this project produces. The numbers are the protocol's; never renumber.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// Something failed inside the server; retryable.
    InternalSystem,
    /// The `api_key` is unknown.
    AccessKey,
    /// Bad input: malformed JSON, invalid ids, oversized objects.
    Input,
    /// The request could not be authenticated (missing token, token for another user).
    Authentication,
    /// The named resource does not exist.
    DoesNotExist,
    /// The user went over a rate limit (messages per second, connections per user).
    RateLimit,
    /// The user may not do this.
    NotAllowed,
    /// The request body is too large.
    PayloadTooBig,
    /// The request took too long to arrive.
    RequestTimeout,
    /// The request line or headers are too large.
    MaxHeaderSizeExceeded,
    /// The JWT has expired; token providers refresh on this code.
    TokenExpired,
    /// The JWT's `nbf` lies in the future.
    TokenNotValidYet,
    /// The JWT's `iat` lies in the future.
    TokenUsedBeforeIssuedAt,
    /// The JWT's signature or algorithm is wrong, or it is a dev token outside dev mode.
    TokenSignatureInvalid,
    /// A long-poll `connection_id` is unknown or expired.
    ConnectionIdNotFound,
    /// The channel type does not allow custom events.
    CustomEventsDisabled,
    /// The channel type has the feature switched off (reactions, replies, quotes, mutes, …).
    FeatureDisabled,
    /// Slow mode: the user sent a message less than the channel's `cooldown` seconds ago.
    Cooldown,
}

impl ErrorCode {
    /// The protocol's numeric code.
    pub const fn code(self) -> i32 {
        match self {
            ErrorCode::InternalSystem => -1,
            ErrorCode::AccessKey => 2,
            ErrorCode::Input => 4,
            ErrorCode::Authentication => 5,
            ErrorCode::RateLimit => 9,
            ErrorCode::DoesNotExist => 16,
            ErrorCode::NotAllowed => 17,
            ErrorCode::PayloadTooBig => 22,
            ErrorCode::RequestTimeout => 23,
            ErrorCode::MaxHeaderSizeExceeded => 24,
            ErrorCode::TokenExpired => 40,
            ErrorCode::TokenNotValidYet => 41,
            ErrorCode::TokenUsedBeforeIssuedAt => 42,
            ErrorCode::TokenSignatureInvalid => 43,
            ErrorCode::ConnectionIdNotFound => 46,
            ErrorCode::CustomEventsDisabled => 18,
            ErrorCode::FeatureDisabled => 19,
            ErrorCode::Cooldown => 60,
        }
    }

    /// The HTTP status that goes with the code, in REST answers and in the body's `StatusCode`.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorCode::InternalSystem => 500,
            ErrorCode::AccessKey
            | ErrorCode::Authentication
            | ErrorCode::TokenExpired
            | ErrorCode::TokenNotValidYet
            | ErrorCode::TokenUsedBeforeIssuedAt
            | ErrorCode::TokenSignatureInvalid => 401,
            ErrorCode::Input
            | ErrorCode::ConnectionIdNotFound
            | ErrorCode::CustomEventsDisabled
            | ErrorCode::FeatureDisabled => 400,
            ErrorCode::DoesNotExist => 404,
            ErrorCode::NotAllowed => 403,
            ErrorCode::PayloadTooBig => 413,
            ErrorCode::RateLimit | ErrorCode::Cooldown => 429,
            ErrorCode::RequestTimeout => 408,
            ErrorCode::MaxHeaderSizeExceeded => 431,
        }
    }

    /// Whether the official client retries a request that failed with this code (PROTOCOL.md §4.3).
    pub const fn is_retryable(code: i32) -> bool {
        matches!(code, -1 | 3 | 9 | 23 | 45 | 60 | 71)
    }
}

/// The JSON error body (PROTOCOL.md §5.2), also the inside of the WebSocket error frame (§3.3).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The protocol code, see [`ErrorCode`].
    pub code: i32,
    /// Human-readable reason.
    pub message: String,
    /// The HTTP status, spelled as the protocol spells it.
    #[serde(rename = "StatusCode")]
    pub status_code: u16,
    /// How long the server took, e.g. `"0.42ms"`; empty when unknown.
    #[serde(default)]
    pub duration: String,
    /// A link explaining the codes.
    #[serde(default)]
    pub more_info: String,
}

impl ErrorBody {
    /// A body for `code` with the given message.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code: code.code(),
            message: message.into(),
            status_code: code.http_status(),
            duration: String::new(),
            more_info: MORE_INFO_URL.into(),
        }
    }
}

/// The frame a WebSocket server sends instead of the connection's first `health.check` when it refuses it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorFrame {
    /// What went wrong.
    pub error: ErrorBody,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_has_the_wire_shape() {
        let body = ErrorBody::new(ErrorCode::TokenExpired, "JWTAuth error: token has expired");
        let json = serde_json::to_value(ErrorFrame { error: body }).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"error": {"code": 40, "message": "JWTAuth error: token has expired",
                "StatusCode": 401, "duration": "", "more_info": MORE_INFO_URL}})
        );
    }

    #[test]
    fn codes_and_statuses_follow_the_protocol() {
        assert_eq!((ErrorCode::Input.code(), ErrorCode::Input.http_status()), (4, 400));
        assert_eq!(ErrorCode::AccessKey.code(), 2);
        assert_eq!(ErrorCode::TokenSignatureInvalid.code(), 43);
        assert_eq!(ErrorCode::ConnectionIdNotFound.code(), 46);
        assert!(ErrorCode::is_retryable(9) && !ErrorCode::is_retryable(4));
    }
}
