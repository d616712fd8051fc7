//! `stream-chat-server`: reads flags and environment, opens the store, binds, and runs until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use stream_chat_server::auth::Auth;
use stream_chat_server::limits::Limits;
use stream_chat_server::{run, Settings};

/// jemalloc with its background thread gives the memory of closed connections back to the system within seconds;
/// glibc's malloc kept the peak for good (`npm run bench`, scenario idle: 10k sockets closed, 222 MB stayed 222
/// MB with glibc, went back to 21 MB with jemalloc).
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// API key used in dev mode when none is given.
const DEV_API_KEY: &str = "demo-key";
/// Secret used in dev mode when none is given; dev mode is for a developer's machine only.
const DEV_SECRET: &str = "dev-secret-not-for-production";

/// Reference Stream Chat server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Flags {
    /// Dev mode: accept dev tokens (signature `devtoken`) and default the key and secret; guests are on.
    #[arg(long)]
    dev: bool,
    /// Let visitors in as guest users (`POST /guest`, `setGuestUser`) and anonymous users (`connectAnonymousUser`).
    #[arg(long, env = "STREAM_GUESTS")]
    guests: bool,
    /// The app's API key (required without --dev).
    #[arg(long, env = "STREAM_API_KEY")]
    api_key: Option<String>,
    /// The app's HS256 secret (required without --dev).
    #[arg(long, env = "STREAM_API_SECRET", hide_env_values = true)]
    api_secret: Option<String>,
    /// The store: a SQLite database file (a new file in the temp folder when unset), or a PostgreSQL URL
    /// (`postgres://user:password@host:port/database`) for several nodes sharing one database.
    #[arg(long, env = "STREAM_DB", hide_env_values = true)]
    db: Option<String>,
    /// This node's id in a cluster (lowercase letters and digits): its connection ids start with it and `-`, so
    /// a load balancer can send a connection's requests to the node that holds it. Unset: plain UUIDs.
    #[arg(long, env = "STREAM_NODE_ID", value_parser = node_id)]
    node_id: Option<String>,
    /// The cluster bus: a NATS server URL (`nats://127.0.0.1:4222`) shared by every node. A single node when unset.
    #[arg(long, env = "STREAM_BUS")]
    bus: Option<String>,
    /// The server's public origin (`https://chat.example.com`), the start of uploaded files' URLs. Unset:
    /// `http://` and the `Host` the upload came to.
    #[arg(long, env = "STREAM_PUBLIC_URL")]
    public_url: Option<String>,
    /// Largest uploaded file in bytes.
    #[arg(long, default_value_t = DEFAULTS.upload_bytes)]
    max_upload_bytes: usize,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    port: u16,
    /// Folder served at `/` (the demo page).
    #[arg(long)]
    www: Option<PathBuf>,
    /// Folder served at `/pkg/` (the wasm-pack output).
    #[arg(long)]
    pkg: Option<PathBuf>,
    /// Seconds without an inbound frame after which a connection is dropped.
    #[arg(long, default_value_t = 35)]
    idle_timeout: u64,
    /// Largest message in bytes of JSON, custom fields included.
    #[arg(long, default_value_t = DEFAULTS.message_bytes)]
    max_message_bytes: usize,
    /// Most bytes of messages in one response.
    #[arg(long, default_value_t = DEFAULTS.response_bytes)]
    max_response_bytes: usize,
    /// Messages a user may send at once.
    #[arg(long, default_value_t = DEFAULTS.message_burst)]
    message_burst: u32,
    /// Messages per second a user may send after the burst.
    #[arg(long, default_value_t = DEFAULTS.messages_per_second)]
    messages_per_second: u32,
    /// Open connections per user.
    #[arg(long, default_value_t = DEFAULTS.connections_per_user)]
    connections_per_user: usize,
    /// Open sockets in all.
    #[arg(long, default_value_t = DEFAULTS.max_connections)]
    max_connections: usize,
    /// Bytes of events queued for one connection before it is dropped.
    #[arg(long, default_value_t = DEFAULTS.outbox_bytes)]
    outbox_bytes: usize,
    /// Seconds a client may take to send request headers.
    #[arg(long, default_value_t = DEFAULTS.header_timeout.as_secs())]
    header_timeout: u64,
    /// Seconds one WebSocket write may wait on a client that does not read.
    #[arg(long, default_value_t = DEFAULTS.write_timeout.as_secs())]
    write_timeout: u64,
}

/// The limits' defaults, shown by `--help`, live in one place: `Limits::default()`.
static DEFAULTS: std::sync::LazyLock<Limits> = std::sync::LazyLock::new(Limits::default);

impl Flags {
    /// The limits: the defaults with the flags applied.
    fn limits(&self) -> Limits {
        Limits {
            message_bytes: self.max_message_bytes,
            response_bytes: self.max_response_bytes,
            message_burst: self.message_burst,
            messages_per_second: self.messages_per_second,
            connections_per_user: self.connections_per_user,
            max_connections: self.max_connections,
            outbox_bytes: self.outbox_bytes,
            header_timeout: Duration::from_secs(self.header_timeout),
            write_timeout: Duration::from_secs(self.write_timeout),
            upload_bytes: self.max_upload_bytes,
            ..Limits::default()
        }
    }
}

/// Checks `--node-id`.
fn node_id(id: &str) -> Result<String, String> {
    if stream_chat_server::cluster::valid_node_id(id) {
        Ok(id.to_owned())
    } else {
        Err("1 to 32 lowercase letters and digits".into())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(stream_chat_server::BLOCKING_THREADS)
        .build()?
        .block_on(serve())
}

async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "stream_chat_server=info,tower_http=info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let flags = Flags::parse();
    let limits = flags.limits();
    let (api_key, secret) = match (flags.api_key, flags.api_secret, flags.dev) {
        (Some(key), Some(secret), _) => (key, secret),
        (key, secret, true) => {
            (key.unwrap_or_else(|| DEV_API_KEY.into()), secret.unwrap_or_else(|| DEV_SECRET.into()))
        }
        _ => return Err(
            "--api-key and --api-secret (or STREAM_API_KEY and STREAM_API_SECRET) are required \
                         without --dev"
                .into(),
        ),
    };
    let db = flags.db.unwrap_or_else(|| {
        let file = std::env::temp_dir().join(format!("stream-chat-{}.db", std::process::id()));
        file.to_string_lossy().into_owned()
    });
    let shown = stream_chat_server::store::without_password(&db);
    let store =
        stream_chat_server::store::open(&db).map_err(|e| format!("cannot open {shown}: {e}"))?;
    let addr: SocketAddr = format!("{}:{}", flags.host, flags.port).parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(db = %shown, dev = flags.dev, "store opened");
    // The first stdout line is the contract scripts and tests read the address from.
    println!("stream-chat-server listening on http://{local} (api key {api_key})");
    let settings = Settings {
        auth: Auth::new(api_key, secret, flags.dev),
        idle_timeout: Duration::from_secs(flags.idle_timeout),
        www_dir: flags.www,
        pkg_dir: flags.pkg,
        longpoll_hold: Duration::from_secs(20),
        longpoll_expiry: Duration::from_secs(60),
        limits,
        guests: flags.guests || flags.dev,
        node_id: flags.node_id,
        bus: flags.bus,
        public_url: flags.public_url,
    };
    run(listener, settings, store, stop_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn stop_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("signal handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
