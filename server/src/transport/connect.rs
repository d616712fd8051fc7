//! `GET /connect`: the WebSocket transport (PROTOCOL.md §3). The connect handshake (API key, `json` payload, JWT,
//! user upsert) is transport-neutral and lives in [`open`], so the long-poll transport can share it.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use stream_chat_protocol::event::{
    ClientFrame, ConnectPayload, CLOSE_GOING_AWAY, CLOSE_NORMAL, GLOBAL_CID, HEALTH_CHECK,
};
use stream_chat_protocol::user::validate_user;
use stream_chat_protocol::{ErrorCode, ErrorFrame};
use tokio::time::Instant;

use crate::domain::users::{validate_fields, writable_fields, StoredUser};
use crate::error::AppError;
use crate::hub::{Outbox, Transport};
use crate::limits::{json_len, rate_limited};
use crate::transport::listener::ConnectionSlot;
use crate::{clock, AppState};

/// The query parameters of a connect request. Unknown ones (`X-Stream-Client`, old clients' fields) are ignored.
#[derive(Debug, Default, Deserialize)]
pub struct ConnectParams {
    /// Long-poll only: the connection to poll or close.
    pub connection_id: Option<String>,
    /// Long-poll only: `true` closes the connection.
    #[serde(default)]
    pub close: Option<String>,
    /// The JSON connect payload: `{user_id, user_details, client_request_id}`.
    pub json: Option<String>,
    /// The app's API key.
    pub api_key: Option<String>,
    /// The raw JWT, no `Bearer` prefix.
    pub authorization: Option<String>,
    /// `jwt` or `anonymous`.
    #[serde(rename = "stream-auth-type")]
    pub auth_type: Option<String>,
}

/// The largest frame a client may send (clients send only pings).
const MAX_INBOUND_FRAME: usize = 64 * 1024;
/// The socket's read buffer; small, since inbound frames are pings.
const READ_BUFFER: usize = 1024;

impl ConnectParams {
    /// The parameters of a connect URI; a malformed or duplicated parameter is code 4.
    pub fn from_uri(uri: &Uri) -> Result<Self, AppError> {
        Query::<ConnectParams>::try_from_uri(uri)
            .map(|Query(params)| params)
            .map_err(|error| AppError::input(format!("bad query string: {}", error.body_text())))
    }
}

/// An accepted connection, registered in the hub and counted.
#[derive(Debug)]
pub struct Opened {
    /// The id REST calls name the connection by.
    pub connection_id: String,
    /// The stored, merged user.
    pub user: StoredUser,
    /// Where the hub queues the connection's events.
    pub outbox: Outbox,
}

/// The handshake both transports share: checks the request, upserts the user and registers the connection in
/// the hub (code 9 past [`crate::limits::Limits::connections_per_user`]). Counts the attempt, and the refusal if
/// there is one.
pub async fn open(state: &AppState, params: &ConnectParams) -> Result<Opened, AppError> {
    state.metrics.connect_attempts.inc();
    let result = authenticate(state, params).await.and_then(|(connection_id, user)| {
        // Anonymous users are never listed among watchers nor announced.
        let invisible = user.is_invisible() || crate::domain::users::is_anonymous(&user.id);
        let max = state.settings.limits.connections_per_user;
        let (outbox, first) = state
            .hub
            .register_first(&connection_id, &user.id, invisible, max)
            .map_err(|_| rate_limited(&format!("at most {max} open connections per user")))?;
        if first && !state.cluster.online_elsewhere(&user.id) {
            crate::events::presence::announce(state, &user, true);
        }
        Ok(Opened { connection_id, user, outbox })
    });
    if let Ok(opened) = &result {
        // The user's own events from other nodes reach this one before the connection hears anything.
        let topic = crate::hub::live::Topic::User(opened.user.id.clone());
        state.cluster.listen(topic).await;
    }
    if let Err(error) = &result {
        state.metrics.connect_errors.with_label_values(&[&error.code.code().to_string()]).inc();
        // The code only: messages can name what the client sent.
        tracing::info!(code = error.code.code(), "connect refused");
    }
    result
}

/// A new connection id: a random UUID, after this node's id and `-` when `--node-id` names the node (a load
/// balancer routes a connection's requests by the prefix).
fn new_connection_id(state: &AppState) -> String {
    match &state.settings.node_id {
        Some(node) => format!("{node}-{}", uuid::Uuid::new_v4()),
        None => uuid::Uuid::new_v4().to_string(),
    }
}

async fn authenticate(
    state: &AppState,
    params: &ConnectParams,
) -> Result<(String, StoredUser), AppError> {
    state.auth.check_api_key(params.api_key.as_deref())?;
    let json =
        params.json.as_deref().ok_or_else(|| AppError::input("the json parameter is missing"))?;
    let (user_id, details) = connect_payload(json)?;
    if params.auth_type.as_deref() == Some("anonymous") {
        // No token: the connection gets a user of its own, whatever id the client made up.
        if !state.settings.guests {
            return Err(AppError::new(
                ErrorCode::Authentication,
                "anonymous users are not enabled on this server",
            ));
        }
        let user = crate::domain::users::anonymous_user(&clock::timestamp());
        return Ok((new_connection_id(state), user));
    }
    if params.auth_type.as_deref().is_some_and(|kind| kind != "jwt") {
        return Err(AppError::new(
            ErrorCode::Authentication,
            "only stream-auth-type jwt is supported",
        ));
    }
    let token =
        params.authorization.as_deref().filter(|token| !token.is_empty()).ok_or_else(|| {
            AppError::new(ErrorCode::Authentication, "the authorization token is missing")
        })?;
    state.auth.verify_user(token, &user_id, clock::unix_seconds())?;
    // Independent reads and writes, awaited together (a banned user's details are stored all the same).
    let (user, allowed) = tokio::join!(
        upsert(state, user_id.clone(), writable_fields(&details)),
        refuse_banned(state, &user_id)
    );
    let user = user?;
    allowed?;
    Ok((new_connection_id(state), user))
}

/// Refuses a user banned everywhere (code 17); a shadow ban lets them connect.
async fn refuse_banned(state: &AppState, user_id: &str) -> Result<(), AppError> {
    let ban = crate::domain::moderation::ban_of(state, user_id, None).await?;
    match ban {
        Some(ban) if ban.data.get("shadow").and_then(Value::as_bool) != Some(true) => {
            Err(AppError::new(ErrorCode::NotAllowed, format!("user \"{user_id}\" is banned")))
        }
        _ => Ok(()),
    }
}

/// The own user for a connection's first `health.check`: its own view with its unread totals across channels.
pub async fn me(state: &AppState, user: &StoredUser) -> Value {
    let mut me = user.own_view();
    let (totals, own) = tokio::join!(
        state.store.unread_totals(&user.id),
        crate::domain::moderation::own_moderation(state, &user.id)
    );
    if let Ok((total, channels)) = totals {
        me["total_unread_count"] = total.into();
        me["unread_count"] = total.into();
        me["unread_channels"] = channels.into();
    }
    if let (Ok(own), Value::Object(me)) = (own, &mut me) {
        me.extend(own);
    }
    me
}

/// Reads the `json` connect payload: the user id (valid, equal to `user_details.id`) and the user object (valid
/// typed fields, at most [`stream_chat_protocol::user::MAX_USER_BYTES`]). Anything else is code 4.
pub fn connect_payload(json: &str) -> Result<(String, Map<String, Value>), AppError> {
    crate::domain::refuse_nul(json.as_bytes())?;
    let payload: ConnectPayload<Value> = serde_json::from_str(json).map_err(|error| {
        // serde's message can quote the input; only its position is reported.
        AppError::input(format!(
            "the json parameter is not a connect payload (line {}, column {})",
            error.line(),
            error.column()
        ))
    })?;
    let Value::Object(details) = payload.user_details else {
        return Err(AppError::input("user_details must be an object"));
    };
    let user_id = payload.user_id;
    validate_user(Some(&user_id), json_len(&details))
        .map_err(|error| AppError::input(error.message()))?;
    if details.get("id").and_then(Value::as_str) != Some(user_id.as_str()) {
        return Err(AppError::input("user_details.id must equal user_id"));
    }
    validate_fields(&details)?;
    Ok((user_id, details))
}

async fn upsert(
    state: &AppState,
    user_id: String,
    fields: Map<String, Value>,
) -> Result<StoredUser, AppError> {
    let (now, month) = (clock::timestamp(), clock::month());
    let stored = state.store.connect_user(&user_id, fields, &now, &month).await;
    stored.map_err(AppError::internal)
}

/// The `health.check` event; `me` only on the first one of a connection.
pub fn health_check(connection_id: &str, me: Option<Value>) -> Value {
    let mut event = json!({
        "type": HEALTH_CHECK,
        "connection_id": connection_id,
        "cid": GLOBAL_CID,
        "created_at": clock::timestamp(),
    });
    if let Some(me) = me {
        event["me"] = me;
    }
    event
}

/// `GET /connect`: upgrades, then runs the handshake and the connection on the socket. Refusals, bad parameters
/// included, are the protocol's error frame followed by close code 1000. The socket keeps its place under the
/// server's connection cap (`slot`) until it closes.
pub async fn websocket(
    State(state): State<AppState>,
    uri: Uri,
    slot: Option<Extension<ConnectionSlot>>,
    upgrade: WebSocketUpgrade,
) -> Response {
    upgrade
        .read_buffer_size(READ_BUFFER)
        .write_buffer_size(0)
        .max_message_size(MAX_INBOUND_FRAME)
        .max_frame_size(MAX_INBOUND_FRAME)
        .on_upgrade(move |socket| async move {
            serve(socket, state, ConnectParams::from_uri(&uri)).await;
            drop(slot);
        })
        .into_response()
}

/// Sends one frame, giving up after the write timeout (a client that does not read).
async fn send(socket: &mut WebSocket, message: Message, timeout: Duration) -> Result<(), ()> {
    match tokio::time::timeout(timeout, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(_)) => Err(()),
        Err(_) => {
            tracing::info!("websocket write timed out: closing a client that does not read");
            Err(())
        }
    }
}

async fn serve(mut socket: WebSocket, state: AppState, params: Result<ConnectParams, AppError>) {
    let write_timeout = state.settings.limits.write_timeout;
    let opened = match params {
        Ok(params) => open(&state, &params).await,
        Err(error) => Err(error),
    };
    let opened = match opened {
        Ok(opened) => opened,
        Err(error) => {
            let frame =
                serde_json::to_string(&ErrorFrame { error: error.body() }).unwrap_or_default();
            if send(&mut socket, Message::Text(frame.into()), write_timeout).await.is_ok() {
                close(&mut socket, CLOSE_NORMAL, "connection refused", write_timeout).await;
            }
            return;
        }
    };
    let Opened { connection_id, user, mut outbox } = opened;
    let _guard = ConnectGuard::new(&state, &connection_id, Transport::WebSocket);
    tracing::info!(%connection_id, user_id = %user.id, "websocket connected");

    let first = health_check(&connection_id, Some(me(&state, &user).await));
    if send(&mut socket, Message::Text(first.to_string().into()), write_timeout).await.is_err() {
        return;
    }
    let idle_timeout = state.settings.idle_timeout;
    let mut shutdown = state.shutdown.clone();
    // Made once and reset by inbound frames only: an outgoing frame costs no timer and no new futures but its
    // own write.
    let idle = tokio::time::sleep(idle_timeout);
    let stop = crate::stopping(&mut shutdown);
    tokio::pin!(idle, stop);
    loop {
        tokio::select! {
            // Queued events go out before the next inbound frame is handled, so an answer to a ping is never
            // sent ahead of events queued before the ping arrived.
            biased;
            outbound = outbox.recv() => match outbound {
                Some(frame) => {
                    let message = Message::Text(frame);
                    if send(&mut socket, message, write_timeout).await.is_err() {
                        break;
                    }
                }
                None => {
                    let reason = "connection dropped by the server";
                    close(&mut socket, CLOSE_GOING_AWAY, reason, write_timeout).await;
                    break;
                }
            },
            inbound = socket.recv() => match inbound {
                Some(Ok(message)) => {
                    idle.as_mut().reset(Instant::now() + idle_timeout);
                    match message {
                        Message::Text(text) if is_ping(&text) => {
                            let pong = health_check(&connection_id, None).to_string();
                            if send(&mut socket, Message::Text(pong.into()), write_timeout)
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                        Message::Close(_) => break,
                        _ => {}
                    }
                }
                Some(Err(_)) | None => break,
            },
            _ = &mut idle => {
                tracing::info!(%connection_id, "no frame for {idle_timeout:?}: dropping connection");
                close(&mut socket, CLOSE_GOING_AWAY, "no health check received", write_timeout).await;
                break;
            }
            _ = &mut stop => {
                close(&mut socket, CLOSE_GOING_AWAY, "server shutting down", write_timeout).await;
                break;
            }
        }
    }
    tracing::info!(%connection_id, "websocket closed");
}

fn is_ping(text: &str) -> bool {
    serde_json::from_str::<Vec<ClientFrame>>(text)
        .is_ok_and(|frames| frames.iter().any(|frame| frame.kind == HEALTH_CHECK))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str, timeout: Duration) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = send(socket, Message::Close(Some(frame)), timeout).await;
}

/// Keeps the hub and the metrics true for one open connection: counted on creation, removed and counted closed
/// on drop, however the connection's task ends.
#[derive(Debug)]
pub struct ConnectGuard {
    /// Shared state whose hub and metrics this guard maintains.
    state: AppState,
    /// The connection it stands for.
    connection_id: String,
    /// Its metric label.
    transport: Transport,
}

impl ConnectGuard {
    /// Counts a newly opened connection.
    pub fn new(state: &AppState, connection_id: &str, transport: Transport) -> Self {
        let label = [transport.label()];
        state.metrics.connections_opened.with_label_values(&label).inc();
        state.metrics.connections.with_label_values(&label).inc();
        ConnectGuard { state: state.clone(), connection_id: connection_id.into(), transport }
    }
}

/// Removes a connection from the hub and tells the channels it watched. Its outbox closes, which ends whatever
/// task serves it. Safe to call twice.
pub fn disconnect(state: &AppState, connection_id: &str) {
    state.presence.forget(connection_id);
    if let Some(crate::hub::Unregistered { user_id, watched, invisible }) =
        state.hub.unregister(connection_id)
    {
        if !invisible && !state.cluster.is_connected(&state.hub, &user_id) {
            // The last connection closed: the user went offline (announced by a task of its own, as it reads
            // the store).
            let announcer = state.clone();
            let user = user_id.clone();
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move {
                    if let Ok(Some(stored)) = announcer.store.user(&user).await {
                        if !announcer.cluster.is_connected(&announcer.hub, &user) {
                            crate::events::presence::announce(&announcer, &stored, false);
                        }
                    }
                });
            }
        }
        if invisible {
            state.metrics.active_channels.set(state.hub.active_channels() as i64);
            return;
        }
        for cid in watched {
            crate::events::watching_stopped(state, &cid, &user_id);
        }
    }
}

impl Drop for ConnectGuard {
    fn drop(&mut self) {
        disconnect(&self.state, &self.connection_id);
        let label = [self.transport.label()];
        self.state.metrics.connections.with_label_values(&label).dec();
        self.state.metrics.connections_closed.with_label_values(&label).inc();
    }
}
