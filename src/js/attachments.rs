//! The `Channel` methods of attachments (PROTOCOL.md §22.6): `sendImage`, `sendFile`, `deleteImage`, `deleteFile`.
//! A third `#[wasm_bindgen] impl` block of the same JS class; uploads share one body (`api::uploads`), deletes
//! are table rows.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::OptionalArgument;

use super::channel::Channel;
use crate::api::routes::request;
use crate::api::uploads::{self, upload};

#[wasm_bindgen]
impl Channel {
    /// Uploads an image (`File` or `Blob`) to the channel; resolves with `{file}`, its URL for an attachment's
    /// `image_url`. The server accepts png, jpeg, gif, webp, bmp, avif and heic, told from the bytes.
    #[wasm_bindgen(js_name = sendImage, unchecked_return_type = "Promise<SendFileAPIResponse>")]
    pub fn send_image(
        &self,
        #[wasm_bindgen(unchecked_param_type = "File | Blob")] uri: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] name: JsValue,
        #[wasm_bindgen(js_name = contentType, unchecked_optional_param_type = "string")]
        _content_type: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "UserResponse")] user: JsValue,
    ) -> Promise {
        let (name, user) = (name.or_undefined(), user.or_undefined());
        upload(&self.port, self.key, "/image", &uri, &name, &user)
    }

    /// Uploads any file (`File` or `Blob`) to the channel; resolves with `{file}`, its URL for an attachment's
    /// `asset_url`. Others get it as a download.
    #[wasm_bindgen(js_name = sendFile, unchecked_return_type = "Promise<SendFileAPIResponse>")]
    pub fn send_file(
        &self,
        #[wasm_bindgen(unchecked_param_type = "File | Blob")] uri: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "string")] name: JsValue,
        #[wasm_bindgen(js_name = contentType, unchecked_optional_param_type = "string")]
        _content_type: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "UserResponse")] user: JsValue,
    ) -> Promise {
        let (name, user) = (name.or_undefined(), user.or_undefined());
        upload(&self.port, self.key, "/file", &uri, &name, &user)
    }

    /// Deletes an image this user uploaded to the channel (moderators: anyone's), by its URL.
    #[wasm_bindgen(js_name = deleteImage, unchecked_return_type = "Promise<APIResponse>")]
    pub fn delete_image(&self, url: String) -> Promise {
        request(&self.port, self.key, &uploads::DELETE_IMAGE, &[url.into()])
    }

    /// Deletes a file this user uploaded to the channel (moderators: anyone's), by its URL.
    #[wasm_bindgen(js_name = deleteFile, unchecked_return_type = "Promise<APIResponse>")]
    pub fn delete_file(&self, url: String) -> Promise {
        request(&self.port, self.key, &uploads::DELETE_FILE, &[url.into()])
    }
}
