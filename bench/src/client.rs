//! The load generator's clients: HS256 tokens signed like an app's backend would, WebSocket connections opened the
//! way the official client opens them (`/connect?json=…`), and a keep-alive HTTP/1.1 client (hyper) for REST.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use stream_chat_server::auth::Auth;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket to the server.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Any failure of the generator, as text for the report.
pub type Failure = String;

/// How much a socket reads at once. tungstenite zero-fills its read buffer up to this size before every read (128
/// KiB by default), which cost the generator a quarter of its CPU in the 5,000-watcher fan-out; events are < 1 KiB.
const READ_BUFFER: usize = 4 * 1024;

/// How long one step (a connect, a request) may take before the run fails.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(60);

/// The server under load and the app credentials.
#[derive(Debug, Clone)]
pub struct Target {
    /// Where it listens.
    pub addr: SocketAddr,
    /// The app's API key.
    pub api_key: String,
    /// Signs user tokens.
    auth: std::sync::Arc<Auth>,
}

impl Target {
    /// A target with the app's key and HS256 secret.
    pub fn new(addr: SocketAddr, api_key: &str, secret: &str) -> Self {
        let auth = std::sync::Arc::new(Auth::new(api_key, secret, false));
        Target { addr, api_key: api_key.into(), auth }
    }

    /// The same app on another node of a cluster.
    pub fn at(&self, addr: SocketAddr) -> Self {
        Target { addr, ..self.clone() }
    }

    /// A user token, as an app's backend would sign it.
    pub fn token(&self, user_id: &str) -> String {
        self.auth.sign(&json!({ "user_id": user_id }))
    }

    /// The query string of a connect (WebSocket or long-poll) for `user_id`.
    pub fn connect_query(&self, user_id: &str) -> String {
        let payload = json!({
            "user_id": user_id, "user_details": {"id": user_id}, "client_request_id": "bench"
        });
        format!(
            "json={}&api_key={}&authorization={}&stream-auth-type=jwt",
            encode(&payload.to_string()),
            encode(&self.api_key),
            self.token(user_id)
        )
    }

    /// Opens a WebSocket for `user_id` and reads its first `health.check`; returns the socket and connection id.
    pub async fn open_socket(&self, user_id: &str) -> Result<(Socket, String), Failure> {
        use futures_util::StreamExt;
        let url = format!("ws://{}/connect?{}", self.addr, self.connect_query(user_id));
        let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER);
        let (mut socket, _) = tokio::time::timeout(
            STEP_TIMEOUT,
            tokio_tungstenite::connect_async_with_config(url, Some(config), false),
        )
        .await
        .map_err(|_| "connect timed out".to_string())?
        .map_err(|error| format!("connect failed: {error}"))?;
        let first = tokio::time::timeout(STEP_TIMEOUT, socket.next())
            .await
            .map_err(|_| "no health.check in time".to_string())?;
        let Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) = first else {
            return Err(format!("expected health.check, got {first:?}"));
        };
        let frame: Value = serde_json::from_str(&text).map_err(|error| error.to_string())?;
        let connection_id = frame["connection_id"]
            .as_str()
            .ok_or_else(|| format!("connect refused: {text}"))?
            .to_owned();
        Ok((socket, connection_id))
    }

    /// A keep-alive HTTP connection to the server.
    pub async fn http(&self) -> Result<Http, Failure> {
        Http::connect(self.addr).await
    }
}

/// One keep-alive HTTP/1.1 connection; requests go one at a time.
#[derive(Debug)]
pub struct Http {
    /// Where requests go.
    addr: SocketAddr,
    /// hyper's request half; its connection runs on its own task.
    sender: SendRequest<Full<Bytes>>,
}

impl Http {
    /// Opens the connection.
    pub async fn connect(addr: SocketAddr) -> Result<Http, Failure> {
        let stream = TcpStream::connect(addr).await.map_err(|error| error.to_string())?;
        let _ = stream.set_nodelay(true);
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| error.to_string())?;
        tokio::spawn(connection);
        Ok(Http { addr, sender })
    }

    /// Sends one request; returns the status and body.
    pub async fn request(
        &mut self,
        method: &str,
        path_and_query: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Result<(u16, Bytes), Failure> {
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path_and_query)
            .header("host", self.addr.to_string());
        if let Some(token) = token {
            request = request.header("authorization", token).header("stream-auth-type", "jwt");
        }
        let body = match body {
            Some(body) => {
                request = request.header("content-type", "application/json");
                Full::new(Bytes::from(body.to_string()))
            }
            None => Full::new(Bytes::new()),
        };
        let request = request.body(body).map_err(|error| error.to_string())?;
        let exchange = async {
            self.sender.ready().await.map_err(|error| error.to_string())?;
            let response =
                self.sender.send_request(request).await.map_err(|error| error.to_string())?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|error| error.to_string())?;
            Ok::<_, Failure>((status, body.to_bytes()))
        };
        tokio::time::timeout(STEP_TIMEOUT, exchange)
            .await
            .map_err(|_| format!("{method} {path_and_query} timed out"))?
    }

    /// A REST call that must answer 200: `POST` with a JSON body as `user_id`.
    pub async fn post_ok(
        &mut self,
        target: &Target,
        user_id: &str,
        path_and_query: &str,
        body: &Value,
    ) -> Result<Bytes, Failure> {
        let token = target.token(user_id);
        let (status, answer) =
            self.request("POST", path_and_query, Some(&token), Some(body)).await?;
        if status != 200 {
            return Err(format!(
                "POST {path_and_query}: {status} {}",
                String::from_utf8_lossy(&answer)
            ));
        }
        Ok(answer)
    }

    /// One series of `/metrics`, e.g. `chat_connections{transport="websocket"}`.
    pub async fn metric(&mut self, series: &str) -> Result<f64, Failure> {
        let (_, body) = self.request("GET", "/metrics", None, None).await?;
        let body = String::from_utf8_lossy(&body);
        body.lines()
            .find_map(|line| line.strip_prefix(series).and_then(|rest| rest.trim().parse().ok()))
            .ok_or_else(|| format!("no series {series} in /metrics"))
    }
}

/// Percent-encodes a query value.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len() * 3);
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
