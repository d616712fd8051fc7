//! Reference Stream Chat server: the protocol of the official `stream-chat` client over WebSocket, with users in
//! SQLite and Prometheus metrics. `main.rs` parses flags and calls [`run`]; tests call [`run`] on port 0.
//!
//! # Layout
//! Imports go one way: [`routes`] and [`transport`] use [`events`], [`cluster`], [`domain`] and [`store`];
//! [`events`] uses [`cluster`] and [`domain`]; [`domain`] uses [`store`]; nothing imports [`routes`].
//! - [`routes`]: the REST handlers, one file per concern, and what they share ([`routes::rest`]: the
//!   authenticated caller and bodies; `routes/mod.rs`: answers, bounded admission of store work, access checks).
//! - [`transport`]: [`transport::connect`] (`GET /connect`, the WebSocket, and the handshake both transports
//!   share), [`transport::longpoll`] (`GET /longpoll`), [`transport::listener`] (the accept loop: header timeout,
//!   connection cap, error bodies for malformed HTTP).
//! - [`events`]: what reaches connections: [`events::hub`] (open connections, watchers, fan-out with privacy
//!   filtering), [`events::outbox`] (each connection's bounded queue), [`events::presence`], and the publishing
//!   helpers every handler uses (on this node and through the cluster).
//! - [`cluster`]: several nodes as one server over a bus (in-process, or [`cluster::nats`]), routed by interest
//!   ([`cluster::interest`]); [`crate::hub::live`]: who is connected and watching on the other nodes, by deltas.
//! - [`domain`]: the chat's rules and wire shapes: channels, messages, users, permissions, moderation, pins,
//!   quotes, uploads, and the views written straight from the records.
//! - [`store`]: the [`store::Store`] trait and its SQLite and PostgreSQL implementations.
//! - [`auth`]: API key and HS256 JWT verification, dev tokens in dev mode.
//! - [`metrics`]: the Prometheus registry behind `GET /metrics`.
//! - [`limits`]: every size, rate and time bound, and the per-user rate limiter.
//! - [`error`]: [`error::AppError`], answered as the protocol's error body.
//! - [`clock`]: timestamps in the protocol's format.

/// Threads for blocking calls: the SQLite store's (PostgreSQL's calls hold none). SQLite takes one write at a time,
/// so more threads only wait on its lock (a connect burst used to start ~150 of them, each with its own stack and
/// allocator cache).
pub const BLOCKING_THREADS: usize = 8;

/// Which of `parts` a key such as a cid falls in: the hub's channel shards and the PostgreSQL store's write lanes
/// spread channels with it. The same within one process (not across nodes or versions).
pub fn part_of(key: &str, parts: usize) -> usize {
    use std::hash::{BuildHasher, BuildHasherDefault};
    let hash =
        BuildHasherDefault::<std::collections::hash_map::DefaultHasher>::default().hash_one(key);
    usize::try_from(hash % parts.max(1) as u64).unwrap_or(0)
}

pub mod auth;
pub mod clock;
pub mod cluster;
pub mod domain;
pub mod error;
pub mod events;
pub mod health;
pub mod hub;
pub mod limits;
pub mod metrics;
pub mod routes;
pub mod store;
pub mod transport;

use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::{header, Request};
use axum::response::IntoResponse;
use axum::routing::{delete, get, post};
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowHeaders, Any, CorsLayer};
use tower_http::services::ServeDir;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::auth::Auth;
use crate::error::AppError;
use crate::hub::Hub;
use crate::limits::{Limits, RateLimiter};
use crate::metrics::Metrics;
use crate::store::Store;

/// How the server runs; built from flags by `main.rs`, or directly by tests.
#[derive(Debug, Clone)]
pub struct Settings {
    /// API key, secret and dev mode.
    pub auth: Auth,
    /// A connection with no inbound frame for this long is dropped (the protocol's 35 s).
    pub idle_timeout: Duration,
    /// The demo page, served at `/` when set.
    pub www_dir: Option<PathBuf>,
    /// The wasm-pack output, served at `/pkg/` when set.
    pub pkg_dir: Option<PathBuf>,
    /// How long a long-poll request waits for events before answering none (the protocol's about 20 s).
    pub longpoll_hold: Duration,
    /// A long-poll connection not polled for this long is dropped (60 s).
    pub longpoll_expiry: Duration,
    /// Sizes, rates and timeouts.
    pub limits: Limits,
    /// Guest users (`POST /guest`) and anonymous connections are allowed (off unless switched on; on in dev mode).
    pub guests: bool,
    /// This node's id in a cluster, then the prefix of its connection ids (a load balancer routes by it). Unset:
    /// plain UUID connection ids, and a random id on the bus.
    pub node_id: Option<String>,
    /// The NATS server URL of the cluster bus; a single node (in-process bus) when unset.
    pub bus: Option<String>,
    /// The server's public origin (`https://chat.example.com`), the start of uploaded files' URLs; unset: `http://`
    /// and the upload request's `Host`.
    pub public_url: Option<String>,
}

/// The start of the NATS subjects cluster notes travel on (`<it>.live`, `<it>.c.<cid>`, `<it>.u.<user id>`).
pub const CLUSTER_SUBJECT: &str = "stream-chat.cluster";

/// Guest users the server creates at once before [`GUESTS_PER_SECOND`] applies.
pub const GUEST_BURST: u32 = 100;
/// Guest users the server creates per second, after the burst (each is a stored user).
pub const GUESTS_PER_SECOND: u32 = 10;

/// State shared by every handler; cloning is cheap.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] shares.
pub struct Shared {
    /// Run settings.
    pub settings: Settings,
    /// Credentials checks.
    pub auth: Auth,
    /// Persistence.
    pub store: Arc<dyn Store>,
    /// Open connections.
    pub hub: Hub,
    /// Open long-poll connections.
    pub longpolls: transport::longpoll::LongPolls,
    /// Who follows whose presence.
    pub presence: events::presence::Presence,
    /// The other nodes, if any, and the bus to them.
    pub cluster: cluster::Cluster,
    /// Counters and gauges.
    pub metrics: Metrics,
    /// Messages per user ([`Limits::message_burst`], [`Limits::messages_per_second`]).
    pub message_rate: RateLimiter,
    /// Slow mode: who sent to which channel when.
    pub cooldowns: limits::Cooldowns,
    /// Guest users created, server-wide: [`GUEST_BURST`] at once, then [`GUESTS_PER_SECOND`].
    pub guest_rate: RateLimiter,
    /// Uploads per user ([`Limits::upload_burst`], then one per second).
    pub upload_rate: RateLimiter,
    /// Uploads being read and files being served ([`Limits::uploads_at_once`] each holds its bytes).
    pub transfers: tokio::sync::Semaphore,
    /// Store work running or waiting ([`Limits::store_queue`]).
    pub admission: Arc<tokio::sync::Semaphore>,
    /// The store's health and figures, from a thread of their own.
    pub health: health::Health,
    /// Turns `true` when the server shuts down; connection tasks close their sockets on it.
    pub shutdown: watch::Receiver<bool>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl AppState {
    /// State over `store`; `shutdown` turning `true` ends every connection.
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        cluster: cluster::Cluster,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        AppState(Arc::new(Shared {
            cluster,
            auth: settings.auth.clone(),
            health: health::Health::start(store.clone()),
            admission: Arc::new(tokio::sync::Semaphore::new(settings.limits.store_queue.max(1))),
            store,
            hub: Hub::new(settings.limits.outbox_bytes),
            longpolls: transport::longpoll::LongPolls::default(),
            presence: events::presence::Presence::default(),
            metrics: Metrics::new(),
            guest_rate: RateLimiter::new(GUEST_BURST, GUESTS_PER_SECOND),
            upload_rate: RateLimiter::new(settings.limits.upload_burst, 1),
            transfers: tokio::sync::Semaphore::new(settings.limits.uploads_at_once.max(1)),
            cooldowns: limits::Cooldowns::default(),
            message_rate: RateLimiter::new(
                settings.limits.message_burst,
                settings.limits.messages_per_second,
            ),
            shutdown,
            settings,
        }))
    }
}

/// The HTTP surface: protocol routes, metrics, the demo page and package, CORS for browsers on other origins.
pub fn app(state: AppState) -> Router {
    // REST requests run to their end in tasks of their own, whether or not their client waits for the answer.
    let rest = Router::new()
        .route("/channels", post(routes::query::query_channels))
        .route("/channels/{kind}/query", post(routes::query::query_channel_by_members))
        .route("/channels/read", post(routes::unread::mark_all_read))
        .route(
            "/channels/{kind}/{id}",
            post(routes::channel::update_channel)
                .patch(routes::channel::update_channel_partial)
                .delete(routes::channel::delete_channel),
        )
        .route("/channels/{kind}/{id}/hide", post(routes::hide::hide_channel))
        .route("/channels/{kind}/{id}/show", post(routes::hide::show_channel))
        .route("/channels/{kind}/{id}/truncate", post(routes::channel::truncate_channel))
        .route("/channels/{kind}/{id}/unread", post(routes::unread::mark_unread))
        .route("/unread", get(routes::unread::unread_counts))
        .route("/channels/{kind}/{id}/query", post(routes::query::query_channel))
        .route("/channels/{kind}/{id}/stop-watching", post(routes::query::stop_watching))
        .route("/channels/{kind}/{id}/message", post(routes::send::send_message))
        .route("/channels/{kind}/{id}/event", post(routes::send::send_event))
        .route("/channels/{kind}/{id}/read", post(routes::reads::mark_read))
        .route(
            "/messages/{id}",
            get(routes::message::get_message)
                .post(routes::message::update_message)
                .put(routes::message::partial_update_message)
                .delete(routes::message::delete_message),
        )
        .route("/messages/{id}/replies", get(routes::message::get_replies))
        .route(
            "/messages/{id}/reactions",
            get(routes::lookup::get_reactions).post(routes::lookup::query_reactions),
        )
        .route("/channels/{kind}/{id}/messages", get(routes::lookup::messages_by_id))
        .route("/channels/{kind}/{id}/pinned_messages", get(routes::lookup::pinned_messages))
        .route("/messages/{id}/reaction", post(routes::message::send_reaction))
        .route("/messages/{id}/reaction/{kind}", delete(routes::message::delete_reaction))
        .route("/moderation/mute", post(routes::moderation::mute_user))
        .route("/moderation/unmute", post(routes::moderation::unmute_user))
        .route("/moderation/mute/channel", post(routes::moderation::mute_channel))
        .route("/moderation/unmute/channel", post(routes::moderation::unmute_channel))
        .route("/moderation/flag", post(routes::moderation::flag))
        .route("/moderation/flags/message", get(routes::moderation::message_flags))
        .route("/moderation/ban", post(routes::ban::ban).delete(routes::ban::unban))
        .route(
            "/users/block",
            get(routes::moderation::blocked_users).post(routes::moderation::block_user),
        )
        .route("/users/unblock", post(routes::moderation::unblock_user))
        .route(
            "/channels/{kind}/{id}/image",
            post(routes::upload::upload_image)
                .delete(routes::upload::delete_image)
                .layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/channels/{kind}/{id}/file",
            post(routes::upload::upload_file)
                .delete(routes::upload::delete_file)
                .layer(DefaultBodyLimit::disable()),
        )
        .route("/uploads/{file}/{name}", get(routes::upload::serve))
        .route("/members", get(routes::member::query_members))
        .route("/search", get(routes::search::search))
        .route("/threads", post(routes::thread::query_threads))
        .route("/threads/{id}", get(routes::thread::get_thread))
        .route("/app", get(routes::user::app_settings))
        .route("/hi", get(routes::user::hi))
        .route("/guest", post(routes::user::create_guest))
        .route(
            "/users",
            get(routes::user_query::query_users)
                .post(routes::user::upsert_users)
                .patch(routes::user::partial_update_users),
        )
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), routes::run_to_end))
        .layer(DefaultBodyLimit::max(routes::rest::MAX_BODY_BYTES));
    let mut router = Router::new()
        .route("/connect", get(transport::connect::websocket))
        .route("/longpoll", get(transport::longpoll::longpoll))
        .route("/metrics", get(metrics_text))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .merge(rest);
    if let Some(pkg) = &state.settings.pkg_dir {
        router = router.nest_service("/pkg", ServeDir::new(pkg));
    }
    if let Some(www) = &state.settings.www_dir {
        router = router.fallback_service(ServeDir::new(www));
    }
    // The router's own 404 and 405 are bare; `error::protocol_bodies` gives them the protocol's body.
    router
        .layer(RequestBodyTimeoutLayer::new(state.settings.limits.body_timeout))
        .layer(CatchPanicLayer::custom(error::panicked))
        .layer(axum::middleware::from_fn(error::protocol_bodies))
        // One span per request, logged at the end with status and latency. Only the method and the path: query
        // strings carry tokens and user objects (`/connect`, `/longpoll`), which never reach the logs.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<_>| {
                    tracing::info_span!(
                        "request",
                        method = %request.method(),
                        path = %request.uri().path(),
                    )
                })
                .on_response(DefaultOnResponse::new().level(Level::INFO)),
        )
        // `Authorization` is never covered by a `*` allow-list, so preflights get their requested headers back.
        .layer(
            CorsLayer::new()
                .allow_origin(Any)
                .allow_methods(Any)
                .allow_headers(AllowHeaders::mirror_request()),
        )
        .with_state(state)
}

async fn metrics_text(State(state): State<AppState>) -> Result<impl IntoResponse, AppError> {
    state.metrics.monthly_active_users.set(state.health.active_users().await);
    let waiting = state.settings.limits.store_queue.max(1) - state.admission.available_permits();
    state.metrics.store_queue.set(waiting as i64);
    // The hub counts these itself (under locks it holds anyway); the counters catch up on each scrape.
    let catch_up = |counter: &prometheus::IntCounter, total: u64| {
        counter.inc_by(total.saturating_sub(counter.get()));
    };
    catch_up(&state.metrics.stale_events, state.hub.stale_events());
    catch_up(&state.metrics.slow_consumers, state.hub.slow_consumers_dropped());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], state.metrics.render()))
}

/// `GET /healthz`: the process serves requests.
async fn healthz() -> impl IntoResponse {
    axum::Json(serde_json::json!({"status": "ok"}))
}

/// `GET /readyz`: 200 while the store answers (within [`health::PING_WAIT`], asked on a thread of its own), the bus
/// is connected and the server is not shutting down; else 503 with what is not ready (a load balancer stops
/// sending new clients here).
async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let store_ready = state.health.store_ready().await;
    let bus_ready = state.cluster.bus_connected();
    let stopping = *state.shutdown.borrow();
    let ready = store_ready && bus_ready && !stopping;
    let status = if ready {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    let body = serde_json::json!({
        "ready": ready, "store": store_ready, "bus": bus_ready, "stopping": stopping,
        "node": state.cluster.node_id(),
    });
    (status, axum::Json(body))
}

/// Serves on `listener` until `shutdown` completes, then closes every connection (WebSockets with 1001, so
/// clients reconnect) and returns.
pub async fn run(
    listener: TcpListener,
    settings: Settings,
    store: Arc<dyn Store>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (stop, stopping) = watch::channel(false);
    let node_id = settings.node_id.clone().unwrap_or_else(cluster::random_node_id);
    let (bus, parts): (Box<dyn cluster::Bus>, _) = match &settings.bus {
        Some(url) => {
            let connected = cluster::nats::connect(url, CLUSTER_SUBJECT.into()).await;
            let (bus, parts) = connected.map_err(std::io::Error::other)?;
            (Box::new(bus), Some(parts))
        }
        None => (Box::new(cluster::LocalBus), None),
    };
    let state = AppState::new(settings, store, cluster::Cluster::new(node_id, bus), stopping);
    let mut stopped = state.shutdown.clone();
    let bus_task = parts.map(|parts| tokio::spawn(cluster::nats::serve(state.clone(), parts)));
    if state.cluster.is_shared() {
        tokio::spawn(events::presence::announce_departures(state.clone()));
    }
    tokio::spawn(transport::longpoll::reap(state.clone()));
    tokio::spawn(write_activity(state.clone()));
    tokio::spawn(async move {
        shutdown.await;
        let _ = stop.send(true);
    });
    let limits = state.settings.limits.clone();
    let store = state.store.clone();
    transport::listener::serve(listener, app(state), &limits, async move {
        let _ = stopped.wait_for(|stopping| *stopping).await;
    })
    .await?;
    // What connects noted since the last batch is written before the process ends.
    flush_activity(store).await;
    if let Some(task) = bus_task {
        let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
    }
    Ok(())
}

/// How often the activity of connects that changed nothing else (`last_active`, MAU) is written.
const ACTIVITY_BATCH: std::time::Duration = std::time::Duration::from_secs(1);

/// Writes noted activity every [`ACTIVITY_BATCH`] until the server stops.
async fn write_activity(state: AppState) {
    let mut stopping = state.shutdown.clone();
    let mut ticks = tokio::time::interval(ACTIVITY_BATCH);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = crate::stopping(&mut stopping) => return,
        }
        flush_activity(state.store.clone()).await;
    }
}

/// Writes the store's noted activity; a failure is logged, at shutdown too.
async fn flush_activity(store: Arc<dyn Store>) {
    if let Err(error) = store.flush_activity().await {
        tracing::warn!(%error, "writing user activity failed");
    }
}

/// Resolves when the server starts shutting down.
pub async fn stopping(shutdown: &mut tokio::sync::watch::Receiver<bool>) {
    // An error means the sender is gone, which also means the server is stopping.
    let _ = shutdown.wait_for(|stopping| *stopping).await;
}
