//! What every REST request shares (PROTOCOL.md §5.1): the authenticated [`Caller`] (API key, JWT in the
//! `Authorization` header, `user_id` and `connection_id` query parameters) and JSON bodies read with the
//! protocol's error answers (code 4 for malformed JSON, 413 for bodies over 1 MB).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use stream_chat_protocol::ErrorCode;

use crate::domain::refuse_nul;
use crate::error::AppError;
use crate::{clock, AppState};

/// The query parameters of `uri` as `T`; a malformed or duplicated parameter is code 4.
pub fn query_params<T: DeserializeOwned>(uri: &axum::http::Uri) -> Result<T, AppError> {
    Query::<T>::try_from_uri(uri)
        .map(|Query(params)| params)
        .map_err(|error| AppError::input(format!("bad query string: {error}")))
}

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// Who is calling, established from the request's credentials.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The acting user: the token's `user_id`, or for a server token the `user_id` parameter if any.
    pub user_id: Option<String>,
    /// Whether the token is a server token (`{"server": true}`), which may act for any user.
    pub server: bool,
    /// The `connection_id` parameter: the caller's WebSocket or long-poll connection.
    pub connection_id: Option<String>,
    /// An anonymous connection's user (`stream-auth-type: anonymous`): it may only read public channels.
    pub anonymous: bool,
}

impl Caller {
    /// Refuses anonymous callers (code 17): they read, and write nothing.
    pub fn refuse_anonymous(&self) -> Result<(), AppError> {
        if self.anonymous {
            return Err(AppError::new(ErrorCode::NotAllowed, "anonymous users cannot write"));
        }
        Ok(())
    }

    /// The acting user, for actions that write: anonymous users may not (code 17).
    pub fn writer(&self) -> Result<&str, AppError> {
        self.refuse_anonymous()?;
        self.user()
    }

    /// The acting user, required for user actions.
    pub fn user(&self) -> Result<&str, AppError> {
        self.user_id.as_deref().ok_or_else(|| {
            AppError::new(ErrorCode::Authentication, "this call needs a user: pass user_id")
        })
    }

    /// The connection a query with `watch` subscribes: none without a `connection_id` (a backend's query), else the
    /// caller's own open connection, refused as [`Caller::own_connection`] refuses it (a stale id is code 46, so
    /// the client reconnects and queries again instead of getting channels it does not hear).
    pub fn watching_connection(
        &self,
        state: &AppState,
        watch: bool,
    ) -> Result<Option<String>, AppError> {
        if !watch || self.connection_id.is_none() {
            return Ok(None);
        }
        self.own_connection(state).map(Some)
    }

    /// The caller's own open connection, required to watch: missing (4), unknown (46) or another user's (17)
    /// connection ids are refused.
    pub fn own_connection(&self, state: &AppState) -> Result<String, AppError> {
        let connection_id = self.connection_id.clone().ok_or_else(|| {
            AppError::input("watching needs the connection_id of an open connection")
        })?;
        match state.hub.user_of(&connection_id) {
            None => Err(AppError::new(
                ErrorCode::ConnectionIdNotFound,
                format!("connection_id \"{connection_id}\" is not an open connection"),
            )),
            Some(owner) if Some(owner.as_str()) != self.user_id.as_deref() => Err(AppError::new(
                ErrorCode::NotAllowed,
                format!("connection_id \"{connection_id}\" belongs to another user"),
            )),
            Some(_) => Ok(connection_id),
        }
    }
}

/// The standard query parameters.
#[derive(Debug, Default, Deserialize)]
struct Params {
    /// The app's API key.
    api_key: Option<String>,
    /// For server tokens: the user to act as.
    user_id: Option<String>,
    /// The caller's connection.
    connection_id: Option<String>,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let params: Params = query_params(&parts.uri)?;
        state.auth.check_api_key(params.api_key.as_deref())?;
        let header = |name: &str| parts.headers.get(name).and_then(|value| value.to_str().ok());
        if header("stream-auth-type") == Some("anonymous") && state.settings.guests {
            // No token: the caller is the anonymous user of the open connection it names.
            let user_id = params.connection_id.as_deref().and_then(|id| state.hub.user_of(id));
            return match user_id {
                Some(user_id) if crate::domain::users::is_anonymous(&user_id) => Ok(Caller {
                    user_id: Some(user_id),
                    server: false,
                    connection_id: params.connection_id,
                    anonymous: true,
                }),
                _ => Err(AppError::new(
                    ErrorCode::Authentication,
                    "an anonymous request needs the connection_id of an anonymous connection",
                )),
            };
        }
        if header("stream-auth-type").is_some_and(|kind| kind != "jwt") {
            return Err(AppError::new(
                ErrorCode::Authentication,
                "only stream-auth-type jwt is supported",
            ));
        }
        let token = header("authorization")
            .map(|value| value.strip_prefix("Bearer ").unwrap_or(value).trim())
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                AppError::new(ErrorCode::Authentication, "the Authorization header is missing")
            })?;
        let claims = state.auth.verify(token, clock::unix_seconds())?;
        let server = claims.server == Some(true);
        let user_id = if server { params.user_id } else { claims.user_id };
        if !server && user_id.is_none() {
            return Err(AppError::new(ErrorCode::Authentication, "the token has no user_id"));
        }
        Ok(Caller { user_id, server, connection_id: params.connection_id, anonymous: false })
    }
}

/// Reads a JSON body: empty means `{}`; malformed JSON is code 4; over [`MAX_BODY_BYTES`] is 413.
pub fn json_body<T: DeserializeOwned>(body: Result<Bytes, BytesRejection>) -> Result<T, AppError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::new(ErrorCode::PayloadTooBig, "request body is larger than 1 MB")
        } else {
            AppError::input(format!("request body could not be read: {rejection}"))
        }
    })?;
    let text: &[u8] = if body.iter().all(u8::is_ascii_whitespace) { b"{}" } else { &body };
    refuse_nul(text)?;
    serde_json::from_slice(text)
        .map_err(|error| AppError::input(format!("request body is not valid JSON: {error}")))
}

/// The `payload` query parameter, where the official client's `GET`s carry their JSON options, as `T`; `None`
/// when absent. A malformed or duplicated parameter, or JSON that is not `what`, is code 4.
pub fn payload<T: DeserializeOwned>(
    uri: &axum::http::Uri,
    what: &str,
) -> Result<Option<T>, AppError> {
    /// The query string's one parameter of interest.
    #[derive(Deserialize)]
    struct Params {
        payload: Option<String>,
    }
    let Params { payload } = query_params(uri)?;
    if let Some(text) = &payload {
        refuse_nul(text.as_bytes())?;
    }
    payload
        .map(|text| serde_json::from_str(&text))
        .transpose()
        .map_err(|error| AppError::input(format!("payload is not {what}: {error}")))
}

/// Whether `sort` (`[{field, direction}]`) asks for `field` ascending (direction 1) rather than descending (-1 or
/// none); the last entry decides, `None` without one. Another field or direction is code 4 (`what` sort by
/// `field`).
pub fn ascending(
    sort: &[serde_json::Value],
    field: &str,
    what: &str,
) -> Result<Option<bool>, AppError> {
    let mut ascending = None;
    for entry in sort {
        let named = entry.get("field").and_then(serde_json::Value::as_str);
        ascending = match (named, entry.get("direction").and_then(serde_json::Value::as_i64)) {
            (Some(named), Some(1)) if named == field => Some(true),
            (Some(named), None | Some(-1)) if named == field => Some(false),
            _ => return Err(AppError::input(format!("{what} sort by {field}, direction 1 or -1"))),
        };
    }
    Ok(ascending)
}

/// `{key: items}`, with the `next` cursor of the page at `next` when there is one.
pub fn page_answer(
    key: &str,
    items: Vec<serde_json::Value>,
    next: Option<usize>,
) -> serde_json::Value {
    let mut answer = serde_json::Map::new();
    answer.insert(key.into(), items.into());
    if let Some(offset) = next {
        answer.insert("next".into(), next_cursor(offset).into());
    }
    answer.into()
}

/// The page start a `next` cursor names (`o<offset>`, as [`next_cursor`] writes it), at most `max`; 0 without
/// one; code 4 for a cursor this server did not give.
pub fn cursor_offset(next: Option<&str>, max: usize) -> Result<usize, AppError> {
    let Some(next) = next else { return Ok(0) };
    next.strip_prefix('o')
        .and_then(|offset| offset.parse::<usize>().ok())
        .filter(|offset| *offset <= max)
        .ok_or_else(|| AppError::input("next is not a cursor this server gave"))
}

/// The `next` cursor of the page starting at `offset`.
pub fn next_cursor(offset: usize) -> String {
    format!("o{offset}")
}
