//! Test harness: a real server on a loopback port with a real store, a WebSocket client, and a tiny HTTP client
//! for `/metrics`. The store is a SQLite file, or, when `STREAM_TEST_POSTGRES` names a PostgreSQL server
//! (`postgres://user@host:port`, as `scripts/postgres.sh start` prints), a database of its own there: `npm test`
//! runs every server test both ways.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use stream_chat_server::auth::Auth;
use stream_chat_server::limits::Limits;
use stream_chat_server::store::{PostgresStore, SqliteStore, Store};
use stream_chat_server::{run, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const API_KEY: &str = "test-key";
pub const SECRET: &str = "test-secret";

/// How long any single wait in a test may take before the test fails.
pub const DEADLINE: Duration = Duration::from_secs(10);

/// A running server; dropping it does not stop it, call [`TestServer::stop`].
pub struct TestServer {
    pub addr: SocketAddr,
    pub db: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

pub struct Options {
    pub dev: bool,
    pub idle_timeout: Duration,
    pub longpoll_hold: Duration,
    pub longpoll_expiry: Duration,
    pub limits: Limits,
    pub pkg_dir: Option<PathBuf>,
    pub guests: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            dev: false,
            idle_timeout: Duration::from_secs(35),
            longpoll_hold: Duration::from_secs(20),
            longpoll_expiry: Duration::from_secs(60),
            limits: Limits::default(),
            pkg_dir: None,
            guests: false,
        }
    }
}

/// The store a test server at `db` uses: SQLite at `db`, or a PostgreSQL database named after `db` (so a server
/// restarted on the same path finds the same data) when `STREAM_TEST_POSTGRES` is set.
pub async fn open_store(db: &Path) -> Arc<dyn Store> {
    let Ok(base) = std::env::var("STREAM_TEST_POSTGRES") else {
        // Opening waits for a stopped server's lock on the file, whose last tasks (an offline announcement) need
        // this runtime's thread meanwhile: wait off it.
        let db = db.to_owned();
        let opened = tokio::task::spawn_blocking(move || SqliteStore::open(&db)).await.unwrap();
        return Arc::new(opened.unwrap());
    };
    let name = postgres_name(db);
    let (client, connection) =
        tokio_postgres::connect(&format!("{base}/postgres"), tokio_postgres::NoTls).await.unwrap();
    let connection = tokio::spawn(connection);
    let exists = "SELECT 1 FROM pg_database WHERE datname = $1";
    if client.query_opt(exists, &[&name]).await.unwrap().is_none() {
        client.batch_execute(&format!("CREATE DATABASE {name}")).await.unwrap();
    }
    drop(client);
    let _ = connection.await;
    Arc::new(PostgresStore::open(&format!("{base}/{name}")).unwrap())
}

/// The PostgreSQL database a test server at `db` uses.
fn postgres_name(db: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    db.hash(&mut hasher);
    format!("t{:016x}", hasher.finish())
}

/// Another client holding the store's message writes (reads go on): an exclusive transaction on the SQLite file,
/// or an `EXCLUSIVE` lock on `messages` in PostgreSQL. Writes wait until [`WriteHold::release`].
pub enum WriteHold {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client, JoinHandle<()>),
}

impl WriteHold {
    pub async fn take(db: &Path) -> WriteHold {
        let Ok(base) = std::env::var("STREAM_TEST_POSTGRES") else {
            let connection = rusqlite::Connection::open(db).unwrap();
            connection.execute_batch("BEGIN EXCLUSIVE").unwrap();
            return WriteHold::Sqlite(connection);
        };
        let url = format!("{base}/{}", postgres_name(db));
        let (client, connection) =
            tokio_postgres::connect(&url, tokio_postgres::NoTls).await.unwrap();
        let driver = tokio::spawn(async move {
            let _ = connection.await;
        });
        client.batch_execute("BEGIN; LOCK TABLE messages IN EXCLUSIVE MODE").await.unwrap();
        WriteHold::Postgres(client, driver)
    }

    pub async fn release(self) {
        match self {
            WriteHold::Sqlite(connection) => connection.execute_batch("COMMIT").unwrap(),
            WriteHold::Postgres(client, driver) => {
                client.batch_execute("COMMIT").await.unwrap();
                drop(client);
                let _ = driver.await;
            }
        }
    }
}

impl TestServer {
    pub async fn start(db: &Path, options: Options) -> TestServer {
        Self::start_on("127.0.0.1:0".parse().unwrap(), db, options).await
    }

    pub async fn start_on(addr: SocketAddr, db: &Path, options: Options) -> TestServer {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let store = open_store(db).await;
        let settings = Settings {
            auth: Auth::new(API_KEY, SECRET, options.dev),
            idle_timeout: options.idle_timeout,
            www_dir: None,
            pkg_dir: options.pkg_dir,
            longpoll_hold: options.longpoll_hold,
            longpoll_expiry: options.longpoll_expiry,
            limits: options.limits,
            guests: options.guests,
            node_id: None,
            bus: None,
            public_url: None,
        };
        let (stop, stopped) = oneshot::channel();
        let task = tokio::spawn(run(listener, settings, store, async move {
            let _ = stopped.await;
        }));
        TestServer { addr, db: db.to_owned(), stop: Some(stop), task }
    }

    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(DEADLINE, self.task).await.unwrap().unwrap().unwrap();
    }

    pub fn token(&self, user_id: &str) -> String {
        Auth::new(API_KEY, SECRET, false).sign(&serde_json::json!({ "user_id": user_id }))
    }

    pub fn connect_url(&self, api_key: &str, json: &str, token: &str) -> String {
        let query = [
            ("json", json),
            ("api_key", api_key),
            ("authorization", token),
            ("stream-auth-type", "jwt"),
        ]
        .iter()
        .map(|(k, v)| format!("{k}={}", encode(v)))
        .collect::<Vec<_>>()
        .join("&");
        format!("ws://{}/connect?{query}", self.addr)
    }

    /// Opens a WebSocket for `user` (a JSON object with `id`) with `token`.
    pub async fn open(&self, user: &Value, token: &str) -> Client {
        let json = serde_json::json!({
            "user_id": user["id"], "user_details": user, "client_request_id": "req-1"
        });
        self.open_raw(API_KEY, &json.to_string(), token).await
    }

    pub async fn open_raw(&self, api_key: &str, json: &str, token: &str) -> Client {
        let url = self.connect_url(api_key, json, token);
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Client { socket }
    }

    /// The value of one metric series from `/metrics`, e.g. `chat_connections{transport="websocket"}`.
    pub async fn metric(&self, series: &str) -> f64 {
        let body = http_get(self.addr, "/metrics").await.1;
        body.lines()
            .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
            .unwrap_or_else(|| panic!("no series {series} in:\n{body}"))
    }

    /// Waits until `series` equals `value`.
    pub async fn wait_metric(&self, series: &str, value: f64) {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let now = self.metric(series).await;
            if now == value {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{series} stayed {now}, wanted {value}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub struct Client {
    pub socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

/// What the server did next on a socket.
#[derive(Debug)]
pub enum Next {
    Frame(Value),
    Closed(Option<u16>),
}

impl Client {
    pub async fn next(&mut self) -> Next {
        loop {
            let message =
                tokio::time::timeout(DEADLINE, self.socket.next()).await.expect("no frame in time");
            match message {
                Some(Ok(Message::Text(text))) => {
                    return Next::Frame(serde_json::from_str(&text).unwrap())
                }
                Some(Ok(Message::Close(frame))) => {
                    return Next::Closed(frame.map(|f: CloseFrame| f.code.into()))
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Next::Closed(None),
            }
        }
    }

    pub async fn frame(&mut self) -> Value {
        match self.next().await {
            Next::Frame(frame) => frame,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    pub async fn send(&mut self, text: &str) {
        self.socket.send(Message::Text(text.into())).await.unwrap();
    }

    pub async fn close(mut self) {
        let _ = self.socket.close(None).await;
        // Drain until the server acknowledges.
        while let Ok(Some(Ok(_))) = tokio::time::timeout(DEADLINE, self.socket.next()).await {}
    }
}

pub fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A minimal HTTP/1.1 GET: status and body.
pub async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = String::new();
    tokio::time::timeout(DEADLINE, stream.read_to_string(&mut response)).await.unwrap().unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

/// A minimal HTTP/1.1 request with a JSON body: status and parsed JSON answer.
pub async fn http_json(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    token: Option<&str>,
    body: &str,
) -> (u16, Value) {
    let mut stream = send_json(addr, method, path_and_query, token, body).await;
    let mut response = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut response)).await.unwrap().unwrap();
    let response = String::from_utf8_lossy(&response).into_owned();
    let status = response[9..12].parse().unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    let body = if head.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        dechunk(body)
    } else {
        body.into()
    };
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

/// Sends an HTTP/1.1 request with a JSON body (and `Connection: close`) without reading the answer; returns the
/// connection, for the caller to read or to drop unread (a client going away).
pub async fn send_json(
    addr: SocketAddr,
    method: &str,
    path_and_query: &str,
    token: Option<&str>,
    body: &str,
) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let auth = token
        .map(|t| format!("Authorization: {t}\r\nstream-auth-type: jwt\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {path_and_query} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    stream
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// A connected user: its WebSocket, connection id and token.
pub struct User {
    pub id: String,
    pub token: String,
    pub connection_id: String,
    pub socket: Client,
}

impl TestServer {
    /// Connects `user` (a JSON object with `id`) and reads the first health check.
    pub async fn user(&self, user: Value) -> User {
        let id = user["id"].as_str().unwrap().to_owned();
        let token = self.token(&id);
        let mut socket = self.open(&user, &token).await;
        let connection_id = socket.frame().await["connection_id"].as_str().unwrap().to_owned();
        User { id, token, connection_id, socket }
    }

    /// A REST call as `user`, with its connection id.
    pub async fn call(&self, user: &User, path: &str, body: Value) -> (u16, Value) {
        self.call_as(user, "POST", path, body).await
    }

    /// [`TestServer::call`] with another HTTP method; `path` may carry its own query (`?a=b`).
    pub async fn call_as(
        &self,
        user: &User,
        method: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let join = if path.contains('?') { '&' } else { '?' };
        let query = format!(
            "{path}{join}api_key={API_KEY}&user_id={}&connection_id={}",
            user.id, user.connection_id
        );
        http_json(self.addr, method, &query, Some(&user.token), &body.to_string()).await
    }
}

impl User {
    /// The next frame that is not a health check.
    pub async fn event(&mut self) -> Value {
        loop {
            let frame = self.socket.frame().await;
            if frame["type"] != "health.check" {
                return frame;
            }
        }
    }

    /// Asserts no event arrives: sends a ping and expects its health check to come first (frames are ordered).
    pub async fn assert_no_event(&mut self) {
        self.socket.send(r#"[{"type":"health.check","client_id":"x"}]"#).await;
        let frame = self.socket.frame().await;
        assert_eq!(frame["type"], "health.check", "unexpected event: {frame}");
    }
}

/// Asserts the connection is refused with `code`/`status`: an error frame, then close 1000.
pub async fn assert_refused(mut client: Client, code: i64, status: i64) {
    let frame = client.frame().await;
    let error = &frame["error"];
    assert_eq!(
        (error["code"].as_i64(), error["StatusCode"].as_i64()),
        (Some(code), Some(status)),
        "{frame}"
    );
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(error["more_info"].is_string() && error["duration"].is_string());
    assert!(matches!(client.next().await, Next::Closed(Some(1000))));
}

impl TestServer {
    /// alice and bob (named Alice and Bob) connected and watching `messaging:general`, both members; the
    /// watching events drained.
    pub async fn watching_pair(&self) -> (User, User) {
        let mut alice = self.user(serde_json::json!({"id": "alice", "name": "Alice"})).await;
        let mut bob = self.user(serde_json::json!({"id": "bob", "name": "Bob"})).await;
        let body = serde_json::json!({"data": {"members": ["alice", "bob"]}, "state": true, "watch": true});
        let path = "/channels/messaging/general/query";
        assert_eq!(self.call(&alice, path, body.clone()).await.0, 200);
        assert_eq!(alice.event().await["type"], "user.watching.start");
        assert_eq!(self.call(&bob, path, body).await.0, 200);
        assert_eq!(alice.event().await["type"], "user.watching.start");
        assert_eq!(bob.event().await["type"], "user.watching.start");
        (alice, bob)
    }
}
