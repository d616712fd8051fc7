//! Uploads against a real listener and store (SQLite, or PostgreSQL with `STREAM_TEST_POSTGRES`): images and files
//! stored and served back byte for byte under absolute, unguessable URLs, inert (`nosniff`, `sandbox`, downloads for
//! non-images), and the attack cases: oversize (413 with the protocol's body, the request read to its end), types
//! that lie, path tricks in names, non-members, deleting another user's file, a slow upload, a burst of uploads.
//! Deleting a message or the file removes the bytes.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Options, TestServer, User, API_KEY, DEADLINE};
use serde_json::{json, Value};
use stream_chat_server::limits::Limits;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const GENERAL: &str = "/channels/messaging/general";
const PNG: &[u8] =
    b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";

/// An HTTP answer read to its end: status, lower-cased headers, body.
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// Sends `head` then `body` in pieces of `piece` bytes, then reads the whole answer (a reset fails the test).
async fn exchange(addr: SocketAddr, head: String, body: &[u8]) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(head.as_bytes()).await.unwrap();
    for piece in body.chunks(64 * 1024) {
        stream.write_all(piece).await.expect("the server reset the upload");
    }
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut raw)).await.unwrap().unwrap();
    parse(&raw)
}

fn parse(raw: &[u8]) -> Reply {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP answer");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status = head[9..12].parse().unwrap();
    let headers: Vec<(String, String)> = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    if headers.iter().any(|(k, v)| k == "transfer-encoding" && v == "chunked") {
        let mut out = Vec::new();
        let mut rest = &body[..];
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n").unwrap();
            let size =
                usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16)
                    .unwrap();
            if size == 0 {
                break;
            }
            out.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
            rest = &rest[line_end + 2 + size + 2..];
        }
        body = out;
    }
    Reply { status, headers, body }
}

/// The multipart body of an upload: a `file` part (name, type, bytes) and, as the official client may, `user`.
fn multipart(name: &str, kind: &str, bytes: &[u8]) -> (String, Vec<u8>) {
    let boundary = "----streamchatwasmboundary";
    let mut body = Vec::new();
    body.extend_from_slice(
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\n{{\"id\":\"x\"}}\r\n").as_bytes(),
    );
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {kind}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn head(
    server: &TestServer,
    user: &User,
    method: &str,
    path: &str,
    kind: &str,
    length: usize,
) -> String {
    let join = if path.contains('?') { '&' } else { '?' };
    format!(
        "{method} {path}{join}api_key={API_KEY}&user_id={} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\
         Authorization: {}\r\nstream-auth-type: jwt\r\nContent-Type: {kind}\r\nContent-Length: {length}\r\n\r\n",
        user.id, server.addr, user.token
    )
}

/// Uploads `bytes` as `name` of type `kind` to `/image` or `/file` of `messaging:general`.
async fn upload(
    server: &TestServer,
    user: &User,
    route: &str,
    name: &str,
    kind: &str,
    bytes: &[u8],
) -> Reply {
    let (content_type, body) = multipart(name, kind, bytes);
    let head = head(server, user, "POST", &format!("{GENERAL}/{route}"), &content_type, body.len());
    exchange(server.addr, head, &body).await
}

/// `GET` of an upload URL, without any credentials (as an `<img src>`).
async fn fetch(server: &TestServer, url: &str) -> Reply {
    let path = &url[url.find("/uploads/").unwrap()..];
    let head = format!("GET {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.addr);
    exchange(server.addr, head, &[]).await
}

fn code(reply: &Reply) -> (u16, Option<i64>) {
    (reply.status, reply.json()["code"].as_i64())
}

#[tokio::test]
async fn images_and_files_come_back_as_sent_and_inert() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, _bob) = server.watching_pair().await;

    let image = upload(&server, &alice, "image", "cat.png", "image/png", PNG).await;
    assert_eq!(image.status, 200, "{}", image.json());
    let url = image.json()["file"].as_str().unwrap().to_owned();
    assert!(url.starts_with(&format!("http://{}/uploads/", server.addr)), "{url}");
    assert!(url.ends_with("/cat.png"), "{url}");
    let served = fetch(&server, &url).await;
    assert_eq!((served.status, served.body.as_slice()), (200, PNG));
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(served.header("content-security-policy"), Some("sandbox"));
    assert!(served.header("content-disposition").unwrap().starts_with("inline"));

    // Any type through /file, served as a download: an HTML page never renders from our origin.
    let page = b"<html><script>parent.stolen = document.cookie</script></html>";
    let file = upload(&server, &alice, "file", "page.html", "text/html", page).await;
    assert_eq!(file.status, 200);
    let served = fetch(&server, file.json()["file"].as_str().unwrap()).await;
    assert_eq!(served.body, page);
    assert!(served.header("content-disposition").unwrap().starts_with("attachment"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(served.header("content-security-policy"), Some("sandbox"));

    // Two uploads of the same bytes get two different unguessable URLs.
    let again = upload(&server, &alice, "image", "cat.png", "image/png", PNG).await;
    assert_ne!(again.json()["file"], image.json()["file"]);

    // The app settings say what is accepted; the channel says uploads are on and members may.
    let (_, app) = server.call_as(&alice, "GET", "/app", json!({})).await;
    assert_eq!(app["app"]["image_upload_config"]["size_limit"], Limits::default().upload_bytes);
    let (_, channel) = server.call(&alice, &format!("{GENERAL}/query"), json!({})).await;
    assert_eq!(channel["channel"]["config"]["uploads"], true);
    assert!(channel["channel"]["own_capabilities"]
        .as_array()
        .unwrap()
        .contains(&json!("upload-file")));
    server.stop().await;
}

#[tokio::test]
async fn lies_tricks_and_strangers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;

    // An SVG (script) or HTML named and declared as a PNG is not an image.
    let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
    let lie = upload(&server, &alice, "image", "cat.png", "image/png", svg).await;
    assert_eq!(code(&lie), (400, Some(4)), "{}", lie.json());

    // Path tricks stay in the name, which cannot leave its folder.
    let tricky = upload(&server, &alice, "image", "../../etc/passwd", "image/png", PNG).await;
    let url = tricky.json()["file"].as_str().unwrap().to_owned();
    assert!(url.ends_with("/_.._etc_passwd"), "{url}");
    assert_eq!(fetch(&server, &url).await.body, PNG);
    assert_eq!(
        fetch(&server, &url.replace("/_.._etc_passwd", "/%2e%2e%2fchat.db")).await.body,
        PNG
    );

    // Made-up and malformed ids are not found, with the protocol's body.
    let made_up = fetch(&server, "http://x/uploads/0123456789abcdef0123456789abcdef/x").await;
    assert_eq!(code(&made_up), (404, Some(16)));
    assert_eq!(
        code(&fetch(&server, "http://x/uploads/..%2f..%2fchat.db/x").await),
        (404, Some(16))
    );

    // A stranger to a members-only channel may not upload to it.
    let mut carol = server.user(json!({"id": "carol"})).await;
    let stranger = upload(&server, &carol, "image", "x.png", "image/png", PNG).await;
    assert_eq!(code(&stranger), (403, Some(17)));

    // Not a multipart body, or one without a file: code 4.
    let path = format!("{GENERAL}/image");
    let (status, body) = server.call(&alice, &path, json!({"file": "x"})).await;
    assert_eq!((status, body["code"].as_i64()), (400, Some(4)), "{body}");
    let (kind, empty) = (
        "multipart/form-data; boundary=b".to_owned(),
        b"--b\r\nContent-Disposition: form-data; name=\"user\"\r\n\r\n{}\r\n--b--\r\n".to_vec(),
    );
    let none =
        exchange(server.addr, head(&server, &alice, "POST", &path, &kind, empty.len()), &empty)
            .await;
    assert_eq!(code(&none), (400, Some(4)));

    // bob may not delete alice's file; alice may, after which it is gone.
    let url = tricky.json()["file"].as_str().unwrap().to_owned();
    let delete = format!("{GENERAL}/image?url={}", common::encode(&url));
    let (status, body) = server.call_as(&bob, "DELETE", &delete, json!({})).await;
    assert_eq!((status, body["code"].as_i64()), (403, Some(17)), "{body}");
    assert_eq!(fetch(&server, &url).await.status, 200);
    assert_eq!(server.call_as(&alice, "DELETE", &delete, json!({})).await.0, 200);
    assert_eq!(code(&fetch(&server, &url).await), (404, Some(16)));
    carol.socket.send(r#"[{"type":"health.check","client_id":"x"}]"#).await;
    server.stop().await;
}

#[tokio::test]
async fn oversize_slow_and_bursts_get_clear_answers() {
    let dir = tempfile::tempdir().unwrap();
    let limits = Limits {
        upload_bytes: 64 * 1024,
        upload_timeout: Duration::from_millis(500),
        upload_burst: 4,
        ..Limits::default()
    };
    let server =
        TestServer::start(&dir.path().join("chat.db"), Options { limits, ..Options::default() })
            .await;
    let (alice, bob) = server.watching_pair().await;

    // Over the limit: 413 with the protocol's body, after the whole request was taken (no reset).
    let mut big = PNG.to_vec();
    big.resize(200 * 1024, 7);
    let over = upload(&server, &alice, "image", "big.png", "image/png", &big).await;
    assert_eq!(code(&over), (413, Some(22)), "{}", over.json());
    assert!(over.json()["message"].as_str().unwrap().contains("upload limit"));
    assert_eq!(server.metric("chat_uploads_total{outcome=\"too_big\"}").await, 1.0);

    // A slow upload is cut at the upload timeout with a clear answer.
    let (kind, body) = multipart("slow.png", "image/png", PNG);
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let path = format!("{GENERAL}/image");
    stream
        .write_all(head(&server, &alice, "POST", &path, &kind, body.len()).as_bytes())
        .await
        .unwrap();
    stream.write_all(&body[..body.len() / 2]).await.unwrap();
    let mut raw = Vec::new();
    tokio::time::timeout(DEADLINE, stream.read_to_end(&mut raw)).await.unwrap().unwrap();
    assert_eq!(code(&parse(&raw)), (408, Some(23)));

    // A burst past the per-user rate: 429, while another user still uploads.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(upload(&server, &alice, "image", "x.png", "image/png", PNG).await.status);
    }
    assert_eq!(
        code(&upload(&server, &alice, "image", "x.png", "image/png", PNG).await),
        (429, Some(9))
    );
    assert!(statuses.contains(&200), "{statuses:?}");
    assert_eq!(upload(&server, &bob, "image", "x.png", "image/png", PNG).await.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn deleting_a_message_deletes_its_sender_s_uploads() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(&dir.path().join("chat.db"), Options::default()).await;
    let (alice, bob) = server.watching_pair().await;
    let own =
        upload(&server, &alice, "image", "a.png", "image/png", PNG).await.json()["file"].clone();
    let bobs =
        upload(&server, &bob, "image", "b.png", "image/png", PNG).await.json()["file"].clone();
    let message = json!({"message": {"id": "with-files", "text": "look", "attachments": [
        {"type": "image", "image_url": own, "mime_type": "image/png"},
        {"type": "image", "image_url": bobs, "mime_type": "image/png"}
    ]}});
    let (status, sent) = server.call(&alice, &format!("{GENERAL}/message"), message).await;
    assert_eq!(status, 200, "{sent}");
    assert_eq!(sent["message"]["attachments"][0]["image_url"], own);
    assert_eq!(server.call_as(&alice, "DELETE", "/messages/with-files", json!({})).await.0, 200);
    assert_eq!(fetch(&server, own.as_str().unwrap()).await.status, 404);
    // bob's file, linked by alice's message, stays: a message deletes only its sender's uploads.
    assert_eq!(fetch(&server, bobs.as_str().unwrap()).await.status, 200);
    server.stop().await;
}
