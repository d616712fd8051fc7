//! Uploads (PROTOCOL.md §22.6): `channel.sendImage` / `sendFile` send a `FormData` (part `file`, and `user` as JSON
//! when given) through the one REST path, without a timeout as the official client's; `deleteImage` / `deleteFile`
//! are table rows.

use alloc::string::String;

use js_sys::{Promise, JSON};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{Blob, FormData};

use super::api::{send, Request, Route, Scope, CLIENT};
use super::inbox::Port;

/// `channel.deleteImage(url)`.
pub static DELETE_IMAGE: Route =
    Route { method: "DELETE", scope: Scope::Channel, path: "/image?url=$0", ..CLIENT };
/// `channel.deleteFile(url)`.
pub static DELETE_FILE: Route = Route { path: "/file?url=$0", ..DELETE_IMAGE };

/// Uploads `file` (a `File` or `Blob`; named `name` when given) to the channel's `path` (`/image` or `/file`),
/// with `user` when given. Resolves with `{file, thumb_url?}`; rejects with the server's error (413, code 22, over
/// the size limit) or the browser's (not a `Blob`).
pub fn upload(
    port: &Port,
    key: u32,
    path: &'static str,
    file: &JsValue,
    name: &JsValue,
    user: &JsValue,
) -> Promise {
    let form = match form(file, name, user) {
        Ok(form) => form,
        Err(error) => return Promise::reject(&error),
    };
    send(
        port,
        Request { scope: Scope::Channel, key, ..Request::new("POST", path.into(), form.into()) },
    )
}

/// The multipart body the official client's `addFileToFormData` builds.
fn form(file: &JsValue, name: &JsValue, user: &JsValue) -> Result<FormData, JsValue> {
    let form = FormData::new()?;
    let blob = file.unchecked_ref::<Blob>();
    match name.as_string().filter(|name| !name.is_empty()) {
        Some(name) => form.append_with_blob_and_filename("file", blob, &name)?,
        None => form.append_with_blob("file", blob)?,
    }
    if !user.is_null_or_undefined() {
        form.append_with_str("user", &String::from(JSON::stringify(user)?))?;
    }
    Ok(form)
}
