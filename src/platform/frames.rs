//! What the session needs of a frame, parsed once in JS (a WebSocket text frame or a long-polled event): its type,
//! its connection id and its error, read through the frame's typed shape.

use stream_chat_protocol::{ErrorBody, ErrorCode};
use wasm_bindgen::JsValue;

use super::errors::error_body;
use super::shapes::{shape, FrameShape};
use crate::client::session::Frame;

/// What the session needs of a parsed frame. A field of the wrong type counts as absent.
pub fn read_frame(raw: &JsValue) -> Frame {
    let Some(head) = shape::<FrameShape>(raw) else { return Frame::default() };
    // An error frame without a code still refuses: code -1, as the protocol's internal error.
    let error = head.error();
    let error = (!error.is_null_or_undefined()).then(|| {
        error_body(&error, 0).unwrap_or_else(|| ErrorBody::new(ErrorCode::InternalSystem, ""))
    });
    Frame { kind: head.kind().as_string(), connection_id: head.connection_id().as_string(), error }
}
