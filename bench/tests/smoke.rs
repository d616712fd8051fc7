//! The load generator against a real server process, small enough for `npm test`: it must keep working (the
//! figures themselves belong to `npm run bench`, never to a timed test). Also the server's promise that a burst
//! of connections leaves nothing behind: the open-connection count goes back to zero and resident memory back
//! to within 20 % of its baseline once they close.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

/// The server binary cargo built beside the generator (`cargo test --workspace` builds both).
fn server_binary() -> PathBuf {
    let loadgen = PathBuf::from(env!("CARGO_BIN_EXE_loadgen"));
    let server = loadgen.with_file_name("stream-chat-server");
    assert!(server.exists(), "{} is missing: run `cargo test --workspace`", server.display());
    server
}

/// A server process on a free port with a fresh database; killed on drop.
struct Server {
    child: Child,
    addr: String,
    _dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(server_binary())
            .args(["--api-key", "bench-key", "--api-secret", "bench-secret", "--port", "0"])
            .args(["--message-burst", "100000", "--messages-per-second", "100000"])
            .arg("--db")
            .arg(dir.path().join("chat.db"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.split("http://").nth(1).and_then(|rest| rest.split_whitespace().next());
        let addr = addr.unwrap_or_else(|| panic!("no address in {line:?}")).to_owned();
        Server { child, addr, _dir: dir }
    }

    /// Runs one scenario; returns its figures.
    fn load(&self, scenario: &[&str]) -> Value {
        let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args(["--addr", &self.addr, "--server-pid", &self.child.id().to_string()])
            .args(scenario)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "loadgen {scenario:?} failed: {stderr}");
        serde_json::from_slice(&output.stdout).unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_burst_of_connections_leaves_nothing_behind() {
    let server = Server::start();
    // `idle` waits (up to 60 s each) for the count to reach zero and for memory to come back.
    let figures = server.load(&["idle", "--connections", "1000", "--settle", "60"]);
    assert_eq!(figures["connections"], 1000, "{figures}");
    assert!(figures["counted_out_ms"].is_u64(), "{figures}");
    assert!(figures["kib_per_connection"].as_f64().is_some_and(|kib| kib > 0.0), "{figures}");
    assert!(
        figures["rss_recovered_ms"].is_u64(),
        "resident memory did not return within 20 % of its baseline in 60 s: {figures}"
    );
}

#[test]
fn every_scenario_runs_at_a_small_scale() {
    let server = Server::start();
    let fanout =
        server.load(&["fanout", "--watchers", "200", "--messages", "3", "--per-second", "50"]);
    assert_eq!(fanout["delivered"], fanout["expected"], "{fanout}");
    assert_eq!(fanout["expected"], 600, "{fanout}");
    let connects = server.load(&["connect-rate", "--connects", "200", "--users", "20"]);
    assert!(connects["connects_per_second"].as_f64().is_some_and(|rate| rate > 0.0), "{connects}");
    let ingest = server.load(&["ingest", "--senders", "5", "--seconds", "1"]);
    assert!(ingest["acknowledged"].as_u64().is_some_and(|sent| sent > 0), "{ingest}");
    let polls =
        server.load(&["longpoll", "--clients", "20", "--messages", "3", "--per-second", "20"]);
    assert_eq!(polls["delivered"], polls["expected"], "{polls}");
    // `spread` on one node: no bus, so nothing received; every watcher still gets its messages.
    let spread = server.load(&[
        "spread",
        "--connections",
        "60",
        "--channels",
        "10",
        "--shared-per-node",
        "10",
        "--messages",
        "3",
        "--per-second",
        "50",
    ]);
    for phase in ["shared", "local"] {
        assert_eq!(spread[phase]["delivered"], spread[phase]["expected"], "{spread}");
    }
    assert_eq!(spread["shared"]["expected"], 30, "{spread}");
    assert_eq!(spread["local"]["expected"], 50, "{spread}");
    assert_eq!(spread["local_received_per_message"][0]["notes"], 0.0, "{spread}");
}
