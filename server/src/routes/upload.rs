//! Uploads (PROTOCOL.md §22.6): `POST /channels/{type}/{id}/image|file` (multipart, part `file`) stores the file
//! beside the messages and answers `{file: url}`; `DELETE …?url=` removes it; `GET /uploads/{id}/{name}` serves it
//! to anyone holding the unguessable URL (an `<img src>` sends no token), inert: `nosniff`, `sandbox`, and a
//! download for everything that is not an image `/image` accepted.
//!
//! Bounds (README "Limits"): the file's size (413 past it, after reading on to the end of the request so the
//! browser sees the answer rather than a reset), uploads at once, per user per second, and the time one upload may
//! take. Only members with `upload-file` upload; only the uploader or a moderator deletes.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use stream_chat_protocol::ErrorCode;

use crate::domain::channels;
use crate::domain::permissions::require;
use crate::domain::uploads::{declared_type, file_id, safe_name, sniff_image};
use crate::error::AppError;
use crate::limits::rate_limited;
use crate::routes::rest::{query_params, Caller};
use crate::routes::{admitted, answer, db, user_standing, Answer};
use crate::store::FileRecord;
use crate::{clock, AppState};

/// The most bytes read of a part other than `file` (the official client's `user`).
const MAX_OTHER_PART: usize = 64 * 1024;

/// `POST /channels/{type}/{id}/image` (`sendImage`): an image of an accepted type, shown inline.
pub async fn upload_image(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    upload(state, caller, path, headers, multipart, true).await
}

/// `POST /channels/{type}/{id}/file` (`sendFile`): any file, served as a download.
pub async fn upload_file(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    headers: HeaderMap,
    multipart: Multipart,
) -> Response {
    upload(state, caller, path, headers, multipart, false).await
}

/// A file as it arrived.
struct Received {
    name: String,
    declared: Option<String>,
    bytes: Vec<u8>,
}

async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    multipart: Multipart,
    image: bool,
) -> Response {
    let started = Instant::now();
    let outcome = store_upload(&state, caller, (kind, id), &headers, multipart, image).await;
    let label = match &outcome {
        Ok(_) => "stored",
        Err(error) if error.code == ErrorCode::PayloadTooBig => "too_big",
        Err(_) => "refused",
    };
    state.metrics.uploads.with_label_values(&[label]).inc();
    match outcome {
        Ok(url) => answer(json!({ "file": url }), started).into_response(),
        // The request's body may not have been read to its end: the connection cannot carry another request.
        Err(error) => {
            let mut response = error.into_response();
            response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
            response
        }
    }
}

async fn store_upload(
    state: &AppState,
    caller: Caller,
    (kind, id): (String, String),
    headers: &HeaderMap,
    multipart: Multipart,
    image: bool,
) -> Result<String, AppError> {
    let user = caller.writer()?.to_owned();
    if !state.upload_rate.allow(&user, Instant::now()) {
        return Err(rate_limited("uploads per user"));
    }
    let cid = {
        let user = user.clone();
        admitted(state, async {
            let channel = load_channel(state, &kind, &id).await?;
            if !caller.server {
                require(&channel, user_standing(state, &channel, &user).await?, "upload-file")?;
            }
            Ok(channel.cid)
        })
        .await?
    };
    let _permit = state.transfers.try_acquire().map_err(|_| {
        AppError::new(ErrorCode::RateLimit, "too many uploads in progress, try again shortly")
    })?;
    let limits = &state.settings.limits;
    let received =
        tokio::time::timeout(limits.upload_timeout, read_file(multipart, limits.upload_bytes))
            .await
            .map_err(|_| AppError::new(ErrorCode::RequestTimeout, "the upload took too long"))??;
    let mime_type = if image {
        sniff_image(&received.bytes)
            .ok_or_else(|| {
                AppError::input("this is not an image of an accepted type (png, jpeg, gif, webp, bmp, avif, heic)")
            })?
            .to_owned()
    } else {
        declared_type(received.declared.as_deref())
    };
    let file = FileRecord {
        id: uuid::Uuid::new_v4().simple().to_string(),
        cid,
        user_id: user,
        kind: if image { "image" } else { "file" }.into(),
        name: safe_name(&received.name),
        mime_type,
        size: received.bytes.len() as u64,
        created_at: clock::timestamp(),
    };
    let url = format!("{}/uploads/{}/{}", public_origin(state, headers), file.id, file.name);
    let bytes = received.bytes;
    let size = file.size;
    admitted(state, async { db(state.store.put_file(&file, &bytes).await) }).await?;
    state.metrics.upload_bytes.inc_by(size);
    Ok(url)
}

/// The channel `kind:id`, which must exist.
async fn load_channel(
    state: &AppState,
    kind: &str,
    id: &str,
) -> Result<crate::store::ChannelRecord, AppError> {
    let cid = channels::checked_cid(kind, id)?;
    db(state.store.channel(&cid).await)?.ok_or_else(|| channels::missing(&cid))
}

/// Reads the multipart body: the one `file` part up to `limit` bytes, other parts up to [`MAX_OTHER_PART`] and
/// ignored. Past the limit it reads on and discards (up to as much again) so the answer reaches the browser.
async fn read_file(mut multipart: Multipart, limit: usize) -> Result<Received, AppError> {
    let malformed = |error: axum::extract::multipart::MultipartError| {
        AppError::input(format!("malformed multipart body: {}", error.body_text()))
    };
    let mut received: Option<Received> = None;
    let mut too_big = false;
    let mut discarded = 0usize;
    while let Some(mut field) = multipart.next_field().await.map_err(malformed)? {
        let is_file = field.name() == Some("file");
        if is_file && received.is_some() {
            return Err(AppError::input("only one part named \"file\" per upload"));
        }
        let name = field.file_name().unwrap_or("file").to_owned();
        let declared = field.content_type().map(str::to_owned);
        let bound = if is_file { limit } else { MAX_OTHER_PART };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(malformed)? {
            if too_big || bytes.len() + chunk.len() > bound {
                too_big = true;
                bytes = Vec::new();
                discarded += chunk.len();
                if discarded > limit {
                    break;
                }
                continue;
            }
            bytes.extend_from_slice(&chunk);
        }
        if discarded > limit {
            break;
        }
        if is_file && !too_big {
            received = Some(Received { name, declared, bytes });
        }
    }
    if too_big {
        return Err(AppError::new(
            ErrorCode::PayloadTooBig,
            format!("the file is larger than the upload limit of {limit} bytes"),
        ));
    }
    received.ok_or_else(|| AppError::input("the upload has no part named \"file\""))
}

/// Where uploaded files are served from: the configured public origin, else `http://` and the request's `Host`.
fn public_origin(state: &AppState, headers: &HeaderMap) -> String {
    if let Some(origin) = &state.settings.public_url {
        return origin.trim_end_matches('/').to_owned();
    }
    let host = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
        .filter(|host| host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b)))
        .unwrap_or("localhost");
    format!("http://{host}")
}

/// The query of `DELETE …/image|file`.
#[derive(Debug, Deserialize)]
struct DeleteParams {
    /// The file's URL as the upload answered it.
    url: String,
}

/// `DELETE /channels/{type}/{id}/image?url=` (`deleteImage`).
pub async fn delete_image(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    uri: axum::http::Uri,
) -> Answer {
    delete(state, caller, path, uri).await
}

/// `DELETE /channels/{type}/{id}/file?url=` (`deleteFile`).
pub async fn delete_file(
    state: State<AppState>,
    caller: Caller,
    path: Path<(String, String)>,
    uri: axum::http::Uri,
) -> Answer {
    delete(state, caller, path, uri).await
}

/// Removes the file at `url` of this channel: its uploader or a moderator may (code 17 for others); an unknown or
/// another channel's file is code 16.
async fn delete(
    State(state): State<AppState>,
    caller: Caller,
    Path((kind, id)): Path<(String, String)>,
    uri: axum::http::Uri,
) -> Answer {
    let started = Instant::now();
    let DeleteParams { url } = query_params(&uri)?;
    let user = caller.writer()?.to_owned();
    admitted(&state, async {
        let state = &state;
        let channel = load_channel(state, &kind, &id).await?;
        let missing = || AppError::new(ErrorCode::DoesNotExist, "no such file in this channel");
        let file_id = file_id(&url).ok_or_else(missing)?;
        let (file, _) = db(state.store.file(file_id, false).await)?.ok_or_else(missing)?;
        if file.cid != channel.cid {
            return Err(missing());
        }
        let moderator = caller.server || user_standing(state, &channel, &user).await?.moderator;
        if file.user_id != user && !moderator {
            return Err(AppError::new(ErrorCode::NotAllowed, "only its uploader deletes a file"));
        }
        db(state.store.delete_files(&channel.cid, &[file.id]).await)?;
        Ok(())
    })
    .await?;
    answer(json!({}), started)
}

/// `GET /uploads/{id}/{name}`: the file, to anyone with its URL, inert in a browser.
pub async fn serve(
    State(state): State<AppState>,
    Path((file, _name)): Path<(String, String)>,
) -> Result<Response, AppError> {
    let missing = || AppError::new(ErrorCode::DoesNotExist, "no such file");
    let id = file_id(&format!("/uploads/{file}/")).ok_or_else(missing)?.to_owned();
    let _permit = state.transfers.acquire().await.map_err(AppError::internal)?;
    let (file, bytes) = admitted(&state, async { db(state.store.file(&id, true).await) })
        .await?
        .ok_or_else(missing)?;
    let disposition = if file.kind == "image" {
        format!("inline; filename=\"{}\"", file.name)
    } else {
        format!("attachment; filename=\"{}\"", file.name)
    };
    let header = |value: &str| {
        HeaderValue::from_str(value)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
    };
    let mut response = Response::new(Body::from(bytes));
    *response.status_mut() = StatusCode::OK;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, header(&file.mime_type));
    headers.insert(header::CONTENT_DISPOSITION, header(&disposition));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("sandbox"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=3600"));
    headers.insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    Ok(response)
}
