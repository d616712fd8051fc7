//! Uploads (PROTOCOL.md §22.6): `channel.sendImage` / `sendFile` send a `FormData` (part `file`, and `user` as JSON
//! when given) through the one REST path, without a timeout as the official client's; `deleteImage` / `deleteFile`
//! are table rows.

use js_sys::Promise;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::routes::{Route, CLIENT};
use crate::runtime::client::Port;
use crate::runtime::request::{send, Request, Scope};

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// The multipart body the official client's `addFileToFormData` builds: `file` (named `name` when given) and
    /// `user` as JSON when given. Throws the browser's `TypeError` when a name is given and `file` is not a `Blob`.
    #[wasm_bindgen(js_name = uploadForm, catch)]
    fn upload_form(file: &JsValue, name: &JsValue, user: &JsValue) -> Result<JsValue, JsValue>;
}

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
    match upload_form(file, name, user) {
        Ok(form) => send(
            port,
            Request { scope: Scope::Channel, key, ..Request::new("POST", path.into(), form) },
        ),
        Err(error) => Promise::reject(&error),
    }
}
