//! The SDK's one error type. Every failure a JS caller can see is a [`ChatError`]; `platform/errors.rs` turns it
//! into a JS `Error` with the protocol's `code` and `StatusCode` where the protocol has one.

use alloc::string::{String, ToString};
use core::fmt;

use stream_chat_protocol::user::{push_decimal, UserError};
use stream_chat_protocol::{ErrorBody, ErrorCode};

/// Why a call failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChatError {
    /// The user object is unacceptable (no id, bad id, too large): code 4.
    InvalidUser(UserError),
    /// The token is not a three-segment JWT with a readable payload: code 43.
    MalformedToken,
    /// The token belongs to another user: code 5.
    TokenUserMismatch {
        /// The id given to `connectUser`.
        expected: String,
    },
    /// No token was given: code 5.
    MissingToken,
    /// The token provider rejected or returned something other than a string: code 5.
    TokenProvider(String),
    /// `connectUser` for another user while one is connected: code 4.
    AlreadyConnected {
        /// The user connected now.
        current: String,
    },
    /// The server refused, with its error body.
    Server(ErrorBody),
    /// No connection could be established in time (network failure, not a refusal): code 23.
    ConnectTimeout {
        /// How long the SDK tried, in milliseconds.
        after_ms: u32,
    },
    /// `disconnectUser()` was called while this was pending.
    Disconnected,
    /// A call that needs a connection was made before `connectUser()`.
    NotConnected,
    /// A REST call failed at the network level (no answer).
    Network(String),
    /// A REST call got no answer within the `timeout` option.
    RequestTimeout {
        /// The timeout, in milliseconds.
        after_ms: u32,
    },
    /// A call waited for a connection that did not come back in time.
    NotConnectedInTime {
        /// How long it waited, in milliseconds.
        after_ms: u32,
    },
    /// A `Channel` was used after `disconnectUser()` (or after its client was dropped).
    ChannelAfterDisconnect,
    /// The SDK stopped after an internal error (a WebAssembly trap): nothing it holds can be trusted any more.
    Fatal,
    /// A user update without the user's id: code 4.
    MissingUserId,
    /// A call's argument is unusable (the message names which): code 4.
    InvalidArgument(&'static str),
    /// A channel call was made before `watch()` or `query()`.
    NotInitialized {
        /// The channel.
        cid: String,
    },
}

impl ChatError {
    /// The protocol error code JS callers branch on, if there is one.
    pub fn code(&self) -> Option<i32> {
        Some(match self {
            ChatError::InvalidUser(_)
            | ChatError::AlreadyConnected { .. }
            | ChatError::MissingUserId
            | ChatError::InvalidArgument(_) => ErrorCode::Input.code(),
            ChatError::MalformedToken => ErrorCode::TokenSignatureInvalid.code(),
            ChatError::TokenUserMismatch { .. }
            | ChatError::MissingToken
            | ChatError::TokenProvider(_) => ErrorCode::Authentication.code(),
            ChatError::Server(body) => body.code,
            ChatError::ConnectTimeout { .. } => 23,
            ChatError::Disconnected
            | ChatError::NotConnected
            | ChatError::NotInitialized { .. }
            | ChatError::Network(_)
            | ChatError::RequestTimeout { .. }
            | ChatError::NotConnectedInTime { .. }
            | ChatError::ChannelAfterDisconnect
            | ChatError::Fatal => return None,
        })
    }

    /// The HTTP status that goes with the code, if there is one.
    pub fn status_code(&self) -> Option<u16> {
        Some(match self {
            ChatError::InvalidUser(_)
            | ChatError::AlreadyConnected { .. }
            | ChatError::MissingUserId
            | ChatError::InvalidArgument(_) => 400,
            ChatError::MalformedToken
            | ChatError::TokenUserMismatch { .. }
            | ChatError::MissingToken
            | ChatError::TokenProvider(_) => 401,
            ChatError::Server(body) => body.status_code,
            ChatError::ConnectTimeout { .. } => 408,
            ChatError::Disconnected
            | ChatError::NotConnected
            | ChatError::NotInitialized { .. }
            | ChatError::Network(_)
            | ChatError::RequestTimeout { .. }
            | ChatError::NotConnectedInTime { .. }
            | ChatError::ChannelAfterDisconnect
            | ChatError::Fatal => return None,
        })
    }

    /// Whether this is a network-level failure (as opposed to a refusal); the fallback transport keys on it.
    pub fn is_ws_failure(&self) -> bool {
        matches!(self, ChatError::ConnectTimeout { .. })
    }
}

impl ChatError {
    /// What went wrong, in words; built without `core::fmt` so the shipped wasm does not link it.
    pub fn message(&self) -> String {
        match self {
            ChatError::InvalidUser(error) => error.message(),
            ChatError::MalformedToken => "the token is not a valid JWT".into(),
            ChatError::TokenUserMismatch { expected } => {
                "userToken does not have a user_id or is not matching with user.id \"".to_string()
                    + expected
                    + "\""
            }
            ChatError::MissingToken => "User token can not be empty".into(),
            ChatError::TokenProvider(reason) => {
                "Call to tokenProvider failed with message: ".to_string() + reason
            }
            ChatError::AlreadyConnected { current } => {
                "Use client.disconnect() before trying to connect as a different user. \
                 connectUser was called twice (\""
                    .to_string()
                    + current
                    + "\" is connected)."
            }
            ChatError::Server(body) => {
                let mut text = "StreamChat error code ".to_string();
                if body.code < 0 {
                    text.push('-');
                }
                push_decimal(&mut text, body.code.unsigned_abs() as u64);
                text + ": " + &body.message
            }
            ChatError::ConnectTimeout { after_ms } => {
                let mut text = "initial WS connection could not be established within ".to_string();
                push_decimal(&mut text, *after_ms as u64);
                text + " ms"
            }
            ChatError::Disconnected => {
                "Connection was closed because disconnectUser() was called".into()
            }
            ChatError::NotConnected => "Call connectUser() before this call".into(),
            ChatError::Network(reason) => "Network Error: ".to_string() + reason,
            ChatError::RequestTimeout { after_ms } => {
                let mut text = "timeout of ".to_string();
                push_decimal(&mut text, *after_ms as u64);
                text + "ms exceeded"
            }
            ChatError::NotConnectedInTime { after_ms } => {
                let mut text = "the connection did not come back within ".to_string();
                push_decimal(&mut text, *after_ms as u64);
                text + " ms; the call was not sent"
            }
            ChatError::ChannelAfterDisconnect => {
                "You can't use a channel after client.disconnect() was called".into()
            }
            ChatError::Fatal => {
                "The chat SDK stopped after an internal error (a WebAssembly trap); reload the page"
                    .into()
            }
            ChatError::MissingUserId => "User ID is required when updating a user".into(),
            ChatError::InvalidArgument(what) => (*what).into(),
            ChatError::NotInitialized { cid } => {
                "Channel ".to_string()
                    + cid
                    + " hasn't been initialized yet. Make sure to call .watch() or .query()"
            }
        }
    }
}

impl fmt::Display for ChatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_follow_the_protocol() {
        let invalid = ChatError::InvalidUser(UserError::InvalidId("A".into()));
        assert_eq!((invalid.code(), invalid.status_code()), (Some(4), Some(400)));
        let server = ChatError::Server(ErrorBody::new(ErrorCode::TokenSignatureInvalid, "bad"));
        assert_eq!((server.code(), server.status_code()), (Some(43), Some(401)));
        assert_eq!(server.to_string(), "StreamChat error code 43: bad");
        let internal = ChatError::Server(ErrorBody::new(ErrorCode::InternalSystem, "oops"));
        assert_eq!(internal.message(), "StreamChat error code -1: oops");
        assert_eq!(
            ChatError::ConnectTimeout { after_ms: 6000 }.message(),
            "initial WS connection could not be established within 6000 ms"
        );
        assert!(ChatError::ConnectTimeout { after_ms: 1 }.is_ws_failure());
        assert!(!server.is_ws_failure());
    }
}
