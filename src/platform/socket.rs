//! A browser WebSocket whose events are forwarded into the inbox, tagged with the socket's number. Dropping a
//! [`Socket`] detaches its handlers and closes it if still open, so no callback outlives it.

use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::Signal;
use super::Sink;
use crate::client::Input;

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// `JSON.parse` on a JS string as it is (js-sys's takes a Rust `&str`, which would copy it into Rust first).
    #[wasm_bindgen(catch, js_namespace = JSON, js_name = parse)]
    fn parse_json(text: &JsValue) -> Result<JsValue, JsValue>;
}

/// An open (or opening) WebSocket and the handlers that forward its events.
#[derive(Debug)]
pub struct Socket {
    /// The browser socket.
    ws: WebSocket,
    /// Forwards text frames; owned here so it lives as long as the socket.
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    /// Forwards the close (browsers report failures as a close too).
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Socket {
    /// Opens a socket to `url`; its events reach `sink` as socket number `number`.
    pub fn open(url: &str, number: u32, sink: &impl Sink) -> Result<Socket, JsValue> {
        let ws = WebSocket::new(url)?;
        let messages = sink.clone();
        let on_message = Closure::new(move |event: MessageEvent| {
            // Binary frames are not part of the protocol and are ignored (PROTOCOL.md §3.2); so is text that is
            // not JSON. The text is parsed where it is, in JS, without a copy into Rust.
            let data = event.data();
            if data.is_string() {
                if let Ok(raw) = parse_json(&data) {
                    messages.send(Signal::Frame { socket: number, raw });
                }
            }
        });
        let closes = sink.clone();
        let on_close = Closure::new(move |event: CloseEvent| {
            closes.send(Signal::Input(Input::SocketClosed { socket: number, code: event.code() }));
        });
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket { ws, _on_message: on_message, _on_close: on_close })
    }

    /// Sends a text frame; a socket that is not open drops it (its close event is on the way).
    pub fn send(&self, text: &str) {
        if self.ws.ready_state() == WebSocket::OPEN {
            let _ = self.ws.send_with_str(text);
        }
    }

    /// Closes with `code` and `reason`, then forgets the socket; `on_closed` is called when the close completes.
    pub fn close(self, code: u16, reason: &str, on_closed: Option<&js_sys::Function>) {
        let _ = self.ws.close_with_code_and_reason(code, reason);
        let ws = self.ws.clone();
        drop(self);
        if let Some(on_closed) = on_closed {
            ws.set_onclose(Some(on_closed));
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
        if matches!(self.ws.ready_state(), WebSocket::CONNECTING | WebSocket::OPEN) {
            let _ = self.ws.close();
        }
    }
}
