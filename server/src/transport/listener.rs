//! The accept loop: HTTP/1.1 connections served by hyper with the server's bounds. A client has
//! [`Limits::header_timeout`] to send each request's headers (slowloris sockets and idle keep-alives are closed),
//! at most [`Limits::max_connections`] sockets are open at once (a WebSocket keeps its slot until it closes), and
//! the request line and headers are bounded. hyper's own answers to malformed requests (400, 414, 431) are bare;
//! [`ErrorBodies`] rewrites them into the protocol's error body, so no answer of this server is ever bare text.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use stream_chat_protocol::{ErrorBody, ErrorCode};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::limits::Limits;

/// The largest request line plus headers hyper buffers before answering 431.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// How long shutdown waits for plain HTTP requests in flight.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// One accepted socket's place under [`Limits::max_connections`]; the WebSocket handler keeps a clone for as long
/// as the socket lives after its upgrade.
#[derive(Debug, Clone)]
pub struct ConnectionSlot(#[allow(dead_code)] Arc<OwnedSemaphorePermit>);

/// Serves `router` on `listener` until `stop` resolves, then stops accepting and waits (at most
/// [`DRAIN_TIMEOUT`]) for requests in flight.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &Limits,
    stop: impl Future<Output = ()>,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Each connection task holds a clone of `alive`; when all are dropped, `drained` resolves (mini-redis style).
    let (alive, mut drained) = tokio::sync::mpsc::channel::<()>(1);
    let (stopping, _) = tokio::sync::watch::channel(false);
    tokio::pin!(stop);
    loop {
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off briefly instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                max = limits.max_connections,
                "connection limit reached: closing a new socket"
            );
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let slot = ConnectionSlot(Arc::new(permit));
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(slot.clone());
            router.clone().oneshot(request.map(axum::body::Body::new))
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_header_size(MAX_HEAD_BYTES)
            .serve_connection(TokioIo::new(ErrorBodies::new(stream)), service)
            .with_upgrades();
        let alive = alive.clone();
        let mut stopping = stopping.subscribe();
        tokio::spawn(async move {
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = async { let _ = stopping.wait_for(|stopping| *stopping).await; } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(alive);
        });
    }
    drop(listener);
    let _ = stopping.send(true);
    drop(alive);
    if tokio::time::timeout(DRAIN_TIMEOUT, drained.recv()).await.is_err() {
        tracing::warn!("requests still in flight after {DRAIN_TIMEOUT:?}: stopping anyway");
    }
    Ok(())
}

/// A socket whose outgoing bytes pass through unchanged, except hyper's automatic answer to a request it could
/// not parse (a 4xx head with no `content-type`, written just before it closes the connection): that one is
/// replaced by the same status with the protocol's JSON error body.
#[derive(Debug)]
pub struct ErrorBodies<S> {
    /// The socket.
    inner: S,
    /// A replacement answer still to be written, and how much of it is written.
    pending: Option<(Vec<u8>, usize)>,
}

impl<S> ErrorBodies<S> {
    /// Wraps a socket.
    pub fn new(inner: S) -> Self {
        ErrorBodies { inner, pending: None }
    }
}

/// The replacement for an automatic error head, if `buf` is one.
pub fn replacement_for(buf: &[u8]) -> Option<Vec<u8>> {
    // Checked first and cheaply: every WebSocket frame the server writes passes through here.
    if !buf.starts_with(b"HTTP/1.1 4") {
        return None;
    }
    let head_end = buf.windows(4).position(|window| window == b"\r\n\r\n")?;
    let head = std::str::from_utf8(buf.get(..head_end)?).ok()?;
    let status: u16 =
        head.strip_prefix("HTTP/1.1 4")?.get(..2).and_then(|rest| rest.parse().ok())?;
    let status = 400 + status;
    if head.to_ascii_lowercase().contains("content-type:") {
        return None;
    }
    let (code, message) = match status {
        414 => (
            ErrorCode::Input,
            "the request line is too long (at most 64 KB): send long values in the body",
        ),
        431 => {
            (ErrorCode::MaxHeaderSizeExceeded, "the request headers are too large (at most 64 KB)")
        }
        _ => (ErrorCode::Input, "the request is not valid HTTP/1.1"),
    };
    let mut body = ErrorBody::new(code, message);
    body.status_code = status;
    body.duration = "0.00ms".into();
    let json = serde_json::to_string(&body).ok()?;
    let reason = head.split("\r\n").next().unwrap_or("HTTP/1.1 400 Bad Request");
    Some(
        format!(
            "{reason}\r\ncontent-type: application/json\r\naccess-control-allow-origin: *\r\n\
             connection: close\r\ncontent-length: {}\r\n\r\n{json}",
            json.len()
        )
        .into_bytes(),
    )
}

impl<S: AsyncWrite + Unpin> ErrorBodies<S> {
    /// Writes what is left of a replacement; ready when none is left.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some((bytes, written)) = &mut self.pending {
            let Some(rest) = bytes.get(*written..).filter(|rest| !rest.is_empty()) else {
                self.pending = None;
                break;
            };
            match Pin::new(&mut self.inner).poll_write(cx, rest) {
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
                Poll::Ready(Ok(count)) => *written += count,
                Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                Poll::Pending => return Poll::Pending,
            }
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for ErrorBodies<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for ErrorBodies<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        std::task::ready!(self.poll_pending(cx))?;
        if let Some(replacement) = replacement_for(buf) {
            self.pending = Some((replacement, 0));
            // Reported as written in full: the replacement goes out instead, on this call or the next flush.
            let _ = self.poll_pending(cx)?;
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        std::task::ready!(self.poll_pending(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn automatic_error_heads_get_a_protocol_body() {
        let bare = b"HTTP/1.1 414 URI Too Long\r\ncontent-length: 0\r\ndate: x\r\n\r\n";
        let replaced = String::from_utf8(replacement_for(bare).unwrap()).unwrap();
        assert!(replaced.starts_with("HTTP/1.1 414 URI Too Long\r\n"));
        let body: serde_json::Value =
            serde_json::from_str(replaced.split_once("\r\n\r\n").unwrap().1).unwrap();
        assert_eq!((body["code"].as_i64(), body["StatusCode"].as_i64()), (Some(4), Some(414)));
        let ours = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n\r\n{}";
        assert!(replacement_for(ours).is_none());
        assert!(replacement_for(b"HTTP/1.1 200 OK\r\n\r\n").is_none());
        assert!(replacement_for(b"\x81\x05hello").is_none());
    }
}
