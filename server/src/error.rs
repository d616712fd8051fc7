//! The server's one error type: a protocol [`ErrorCode`] plus a message, answered as the protocol's JSON error body
//! over REST and as the error frame over WebSocket. Internal causes are logged, never sent.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use stream_chat_protocol::{ErrorBody, ErrorCode};

/// A failure to report to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppError {
    /// The protocol code; also decides the HTTP status.
    pub code: ErrorCode,
    /// What the client is told.
    pub message: String,
}

impl AppError {
    /// An error with `code` and a message for the client.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        AppError { code, message: message.into() }
    }

    /// Bad input (code 4).
    pub fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::Input, message)
    }

    /// An internal failure: the cause is logged here and the client gets a generic message.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(ErrorCode::InternalSystem, "internal server error")
    }

    /// The protocol's error body for this error.
    pub fn body(&self) -> ErrorBody {
        ErrorBody::new(self.code, self.message.clone())
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "code {}: {}", self.code.code(), self.message)
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, Json(self.body())).into_response()
    }
}
