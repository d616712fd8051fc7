//! `stream-chat-server`: reads flags and environment, opens the store, binds, and runs until Ctrl-C or SIGTERM.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use stream_chat_server::auth::Auth;
use stream_chat_server::limits::Limits;
use stream_chat_server::store::SqliteStore;
use stream_chat_server::{run, Settings};

/// API key used in dev mode when none is given.
const DEV_API_KEY: &str = "demo-key";
/// Secret used in dev mode when none is given; dev mode is for a developer's machine only.
const DEV_SECRET: &str = "dev-secret-not-for-production";

/// Reference Stream Chat server.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Flags {
    /// Dev mode: accept dev tokens (signature `devtoken`) and default the key and secret.
    #[arg(long)]
    dev: bool,
    /// The app's API key (required without --dev).
    #[arg(long, env = "STREAM_API_KEY")]
    api_key: Option<String>,
    /// The app's HS256 secret (required without --dev).
    #[arg(long, env = "STREAM_API_SECRET", hide_env_values = true)]
    api_secret: Option<String>,
    /// SQLite database file; a new file in the temp folder when unset.
    #[arg(long, env = "STREAM_DB")]
    db: Option<PathBuf>,
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
    /// Largest message in bytes of JSON, custom fields included [default: 32768].
    #[arg(long)]
    max_message_bytes: Option<usize>,
    /// Most bytes of messages in one response [default: 2097152].
    #[arg(long)]
    max_response_bytes: Option<usize>,
    /// Messages a user may send at once [default: 60].
    #[arg(long)]
    message_burst: Option<u32>,
    /// Messages per second a user may send after the burst [default: 10].
    #[arg(long)]
    messages_per_second: Option<u32>,
    /// Open connections per user [default: 20].
    #[arg(long)]
    connections_per_user: Option<usize>,
    /// Open sockets in all [default: 15000].
    #[arg(long)]
    max_connections: Option<usize>,
    /// Bytes of events queued for one connection before it is dropped [default: 1048576].
    #[arg(long)]
    outbox_bytes: Option<usize>,
    /// Seconds a client may take to send request headers [default: 10].
    #[arg(long)]
    header_timeout: Option<u64>,
    /// Seconds one WebSocket write may wait on a client that does not read [default: 10].
    #[arg(long)]
    write_timeout: Option<u64>,
}

impl Flags {
    /// The limits, defaults overridden by the flags given.
    fn limits(&self) -> Limits {
        let mut limits = Limits::default();
        let seconds = Duration::from_secs;
        if let Some(value) = self.max_message_bytes {
            limits.message_bytes = value;
        }
        if let Some(value) = self.max_response_bytes {
            limits.response_bytes = value;
        }
        if let Some(value) = self.message_burst {
            limits.message_burst = value;
        }
        if let Some(value) = self.messages_per_second {
            limits.messages_per_second = value;
        }
        if let Some(value) = self.connections_per_user {
            limits.connections_per_user = value;
        }
        if let Some(value) = self.max_connections {
            limits.max_connections = value;
        }
        if let Some(value) = self.outbox_bytes {
            limits.outbox_bytes = value;
        }
        if let Some(value) = self.header_timeout {
            limits.header_timeout = seconds(value);
        }
        if let Some(value) = self.write_timeout {
            limits.write_timeout = seconds(value);
        }
        limits
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
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
        std::env::temp_dir().join(format!("stream-chat-{}.db", std::process::id()))
    });
    let store = SqliteStore::open(&db).map_err(|e| format!("cannot open {}: {e}", db.display()))?;
    let addr: SocketAddr = format!("{}:{}", flags.host, flags.port).parse()?;
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tracing::info!(db = %db.display(), dev = flags.dev, "store opened");
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
    };
    run(listener, settings, Arc::new(store), stop_signal()).await?;
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
