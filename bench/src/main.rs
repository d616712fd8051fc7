//! `loadgen`: drives a running reference server the way many real clients would and prints one JSON line of
//! figures per run. `scripts/bench.sh` (`npm run bench`) starts a release server and runs every scenario;
//! `npm test` runs a small smoke load so the generator cannot rot. Scenarios: `idle` (memory per socket, sockets
//! counted out, memory given back), `connect-rate`, `fanout`, `ingest`, `longpoll`, `spread` (a cluster's bus).

mod client;
mod scenarios;
mod spread;
mod stats;

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Load generator for the reference server.
#[derive(Debug, Parser)]
struct Flags {
    /// The server's address, `host:port`.
    #[arg(long)]
    addr: SocketAddr,
    /// The app's API key.
    #[arg(long, default_value = "bench-key")]
    api_key: String,
    /// The app's HS256 secret (tokens are signed with it).
    #[arg(long, default_value = "bench-secret")]
    secret: String,
    /// The server's process id, for its resident memory.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Nodes of a cluster, where `fanout`'s watchers and `spread`'s connections connect (repeat the flag); `--addr`
    /// when absent. The channel is created and the messages are sent on `--addr`.
    #[arg(long = "watchers-addr")]
    watchers_addr: Vec<SocketAddr>,
    #[command(subcommand)]
    scenario: Scenario,
}

/// What to run.
#[derive(Debug, Subcommand)]
enum Scenario {
    /// Idle WebSockets: memory per connection, counted out after close, memory given back.
    Idle {
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// Seconds to wait for memory to return within 20 % of its baseline after all closed.
        #[arg(long, default_value_t = 60)]
        settle: u64,
    },
    /// Handshakes per second of users that connected before.
    ConnectRate {
        #[arg(long, default_value_t = 5000)]
        connects: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
        #[arg(long, default_value_t = 500)]
        users: usize,
    },
    /// One sender, many watchers of one livestream channel: delivery latency.
    Fanout {
        #[arg(long, default_value_t = 1000)]
        watchers: usize,
        #[arg(long, default_value_t = 100)]
        messages: usize,
        #[arg(long, default_value_t = 20.0)]
        per_second: f64,
    },
    /// Concurrent senders posting as fast as acknowledged.
    Ingest {
        #[arg(long, default_value_t = 10)]
        senders: usize,
        #[arg(long, default_value_t = 5)]
        seconds: u64,
    },
    /// A cluster's bus as it grows: connections over every node (`--watchers-addr`), one channel watched on
    /// every node and `channels` each watched on one node; bus notes per message per node, latency.
    Spread {
        #[arg(long, default_value_t = 15000)]
        connections: usize,
        #[arg(long, default_value_t = 1000)]
        channels: usize,
        #[arg(long, default_value_t = 1000)]
        shared_per_node: usize,
        #[arg(long, default_value_t = 100)]
        messages: usize,
        #[arg(long, default_value_t = 20.0)]
        per_second: f64,
    },
    /// Long-poll clients: memory per connection and delivery latency.
    Longpoll {
        #[arg(long, default_value_t = 1000)]
        clients: usize,
        #[arg(long, default_value_t = 20)]
        messages: usize,
        #[arg(long, default_value_t = 10.0)]
        per_second: f64,
    },
}

fn main() -> std::process::ExitCode {
    let flags = Flags::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("loadgen: cannot start the runtime: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let target = client::Target::new(flags.addr, &flags.api_key, &flags.secret);
    let pid = flags.server_pid;
    let watcher_nodes: Vec<client::Target> =
        flags.watchers_addr.iter().map(|addr| target.at(*addr)).collect();
    let result = runtime.block_on(async move {
        match flags.scenario {
            Scenario::Idle { connections, settle } => {
                scenarios::idle(&target, connections, pid, Duration::from_secs(settle)).await
            }
            Scenario::ConnectRate { connects, concurrency, users } => {
                scenarios::connect_rate(&target, connects, concurrency, users).await
            }
            Scenario::Fanout { watchers, messages, per_second } => {
                scenarios::fanout(&target, &watcher_nodes, watchers, messages, per_second).await
            }
            Scenario::Ingest { senders, seconds } => {
                scenarios::ingest(&target, senders, Duration::from_secs(seconds)).await
            }
            Scenario::Spread { connections, channels, shared_per_node, messages, per_second } => {
                let (shared, sent) = (shared_per_node, messages);
                spread::spread(
                    &target,
                    &watcher_nodes,
                    connections,
                    channels,
                    shared,
                    sent,
                    per_second,
                )
                .await
            }
            Scenario::Longpoll { clients, messages, per_second } => {
                scenarios::longpoll(&target, clients, messages, per_second, pid).await
            }
        }
    });
    match result {
        Ok(figures) => {
            println!("{figures}");
            std::process::ExitCode::SUCCESS
        }
        Err(failure) => {
            eprintln!("loadgen: {failure}");
            std::process::ExitCode::FAILURE
        }
    }
}
