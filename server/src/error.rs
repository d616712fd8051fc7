//! The server's one error type: a protocol [`ErrorCode`] plus a message, answered as the protocol's JSON error body
//! over REST and as the error frame over WebSocket. Internal causes are logged, never sent.

use std::time::Instant;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use stream_chat_protocol::{ErrorBody, ErrorCode};

/// The most of an error response's body the middleware reads back.
const MAX_ERROR_BODY: usize = 64 * 1024;

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

/// The protocol code for an HTTP error status that carried no protocol body.
fn code_for_status(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Authentication,
        403 => ErrorCode::NotAllowed,
        404 => ErrorCode::DoesNotExist,
        408 => ErrorCode::RequestTimeout,
        413 => ErrorCode::PayloadTooBig,
        429 => ErrorCode::RateLimit,
        431 => ErrorCode::MaxHeaderSizeExceeded,
        500.. => ErrorCode::InternalSystem,
        _ => ErrorCode::Input,
    }
}

/// `"1.23ms"`, the protocol's `duration`.
pub fn duration_since(started: Instant) -> String {
    format!("{:.2}ms", started.elapsed().as_secs_f64() * 1000.0)
}

/// Middleware: every error answer (status 400 and up) leaves as the protocol's error body with its `duration`,
/// whoever produced it (a handler, an extractor's rejection, the router's 404/405, a caught panic).
pub async fn protocol_bodies(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, MAX_ERROR_BODY).await.unwrap_or_default();
    let mut error = serde_json::from_slice::<ErrorBody>(&bytes).unwrap_or_else(|_| {
        let text = std::str::from_utf8(&bytes).unwrap_or("").trim();
        let message = if text.is_empty() || text.len() > 500 {
            status.canonical_reason().unwrap_or("request failed")
        } else {
            text
        };
        let mut error = ErrorBody::new(code_for_status(status), message);
        error.status_code = status.as_u16();
        error
    });
    error.duration = duration_since(started);
    let json = serde_json::to_vec(&error).unwrap_or_default();
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(json))
}

/// A panic in a handler: logged, answered as an internal error (the process keeps serving).
pub fn panicked(_payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    AppError::internal("a request handler panicked").into_response()
}

/// A store failure (any error the client has no part in) as an internal error.
pub fn db<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<T, AppError> {
    result.map_err(AppError::internal)
}
