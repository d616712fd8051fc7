//! `GET /longpoll`: the long-poll transport (PROTOCOL.md §4.2) for clients whose WebSocket cannot get through.
//! Connect (`json` payload, same handshake as `/connect`) answers `{event}`; a poll (`connection_id`) holds until
//! events arrive or about 20 s pass and answers `{events}`; `close=true` ends the connection. Between polls the
//! connection's events wait in its bounded hub outbox; a connection not polled for 60 s is dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use stream_chat_protocol::ErrorCode;
use tokio::time::Instant;

use crate::error::AppError;
use crate::hub::{Frame, Outbox, Transport, OUTBOX_CAPACITY};
use crate::transport::connect::{self, health_check, ConnectGuard, ConnectParams, Opened};
use crate::{clock, AppState};

/// An open long-poll connection.
#[derive(Debug)]
struct Poller {
    /// Whose connection it is.
    user_id: String,
    /// Its hub outbox; locked by the poll in progress.
    outbox: tokio::sync::Mutex<Outbox>,
    /// When it was last polled (start or end of a poll).
    last_poll: Mutex<Instant>,
    /// Unregisters and counts the connection closed when the poller is dropped.
    _guard: ConnectGuard,
}

impl Poller {
    fn touch(&self) {
        *self.last_poll.lock().unwrap_or_else(|p| p.into_inner()) = Instant::now();
    }

    fn idle_for(&self) -> Duration {
        self.last_poll.lock().unwrap_or_else(|p| p.into_inner()).elapsed()
    }
}

/// Open long-poll connections by id.
#[derive(Debug, Default)]
pub struct LongPolls {
    /// Connection id → poller. Locked only for map operations.
    pollers: Mutex<HashMap<String, Arc<Poller>>>,
}

impl LongPolls {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Poller>>> {
        self.pollers.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn get(&self, connection_id: &str) -> Option<Arc<Poller>> {
        self.lock().get(connection_id).cloned()
    }

    fn remove(&self, connection_id: &str) -> Option<Arc<Poller>> {
        self.lock().remove(connection_id)
    }

    /// Drops connections not polled for `expiry`; returns how many.
    pub fn expire(&self, expiry: Duration) -> usize {
        let mut pollers = self.lock();
        let before = pollers.len();
        pollers.retain(|_, poller| poller.idle_for() < expiry);
        before - pollers.len()
    }

    /// Drops every connection (shutdown).
    pub fn clear(&self) {
        self.lock().clear();
    }
}

/// Runs until shutdown: drops long-poll connections nobody polls any more.
pub async fn reap(state: AppState) {
    let expiry = state.settings.longpoll_expiry;
    let every = (expiry / 4).min(Duration::from_secs(5));
    let mut stopping = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {
                let dropped = state.longpolls.expire(expiry);
                if dropped > 0 {
                    tracing::info!(dropped, "long-poll connections expired");
                }
            }
            _ = crate::stopping(&mut stopping) => break,
        }
    }
    state.longpolls.clear();
}

/// `GET /longpoll`: connect, poll or close, by its parameters.
pub async fn longpoll(
    State(state): State<AppState>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    let mut params = ConnectParams::from_uri(&uri)?;
    let header_token = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .map(|token| token.strip_prefix("Bearer ").unwrap_or(token).to_owned());
    if params.authorization.is_none() {
        params.authorization = header_token;
    }
    match params.connection_id.clone() {
        None => open(&state, &params).await,
        Some(connection_id) => {
            let poller = known(&state, &params, &connection_id)?;
            if params.close.as_deref() == Some("true") {
                state.longpolls.remove(&connection_id);
                // Also ends a poll still held for this connection, so it goes at once, not after the hold.
                drop(poller);
                connect::disconnect(&state, &connection_id);
                tracing::info!(%connection_id, "long-poll connection closed by the client");
                return Ok(Json(json!({})).into_response());
            }
            poll(&state, &connection_id, poller).await
        }
    }
}

/// The poller for `connection_id`, for its own user only; code 46 when unknown or expired.
fn known(
    state: &AppState,
    params: &ConnectParams,
    connection_id: &str,
) -> Result<Arc<Poller>, AppError> {
    state.auth.check_api_key(params.api_key.as_deref())?;
    let poller = state.longpolls.get(connection_id).ok_or_else(|| {
        AppError::new(
            ErrorCode::ConnectionIdNotFound,
            format!("long-poll connection \"{connection_id}\" does not exist or has expired"),
        )
    })?;
    let token = params.authorization.as_deref().unwrap_or("");
    state.auth.verify_user(token, &poller.user_id, clock::unix_seconds())?;
    Ok(poller)
}

async fn open(state: &AppState, params: &ConnectParams) -> Result<Response, AppError> {
    let Opened { connection_id, user, outbox } = connect::open(state, params).await?;
    let guard = ConnectGuard::new(state, &connection_id, Transport::LongPoll);
    let poller = Poller {
        user_id: user.id.clone(),
        outbox: tokio::sync::Mutex::new(outbox),
        last_poll: Mutex::new(Instant::now()),
        _guard: guard,
    };
    state.longpolls.lock().insert(connection_id.clone(), Arc::new(poller));
    tracing::info!(%connection_id, user_id = %user.id, "long-poll connected");
    let me = crate::transport::connect::me(state, &user).await;
    Ok(Json(json!({ "event": health_check(&connection_id, Some(me)) })).into_response())
}

/// Holds until the connection has events (answering all that are queued, in order) or the hold time passes
/// (answering none).
async fn poll(
    state: &AppState,
    connection_id: &str,
    poller: Arc<Poller>,
) -> Result<Response, AppError> {
    poller.touch();
    let mut outbox = poller.outbox.lock().await;
    let mut events: Vec<Frame> = Vec::new();
    let mut stopping = state.shutdown.clone();
    tokio::select! {
        first = outbox.recv() => match first {
            Some(frame) => events.push(frame),
            None => {
                // The hub dropped the connection (its buffer overflowed): the client must connect again.
                drop(outbox);
                state.longpolls.remove(connection_id);
                return Err(AppError::new(
                    ErrorCode::ConnectionIdNotFound,
                    "the long-poll connection was dropped: too many events waited; connect again",
                ));
            }
        },
        _ = tokio::time::sleep(state.settings.longpoll_hold) => {}
        _ = crate::stopping(&mut stopping) => {}
    }
    while events.len() < OUTBOX_CAPACITY {
        match outbox.try_recv() {
            Some(frame) => events.push(frame),
            None => break,
        }
    }
    drop(outbox);
    poller.touch();
    let mut body = String::from("{\"events\":[");
    for (index, frame) in events.iter().enumerate() {
        if index > 0 {
            body.push(',');
        }
        body.push_str(frame);
    }
    body.push_str("]}");
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}
