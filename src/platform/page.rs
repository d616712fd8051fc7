//! The page events the session listens to: `online` / `offline` on the window, and the page coming back after
//! being hidden, frozen or asleep (`visibilitychange` to visible, `pageshow`), when throttled timers may have let
//! a dead connection go unnoticed; and the page being frozen and resumed (`freeze`, `resume`), for the shared
//! connection (`runtime/share.rs`). The JS helper attaches the six listeners once per page and calls every
//! client's `deliver` from them; each call forwards one [`Signal`] to its loop; dropping [`PageEvents`] takes the
//! client's out.

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

use super::Signal;
use super::Sink;
use crate::client::Input;

/// The page is being frozen: a [`Signal::Share`] kind, after the shared connection's own (`runtime/share.rs`).
pub const FROZEN: u8 = 8;
/// The page runs again after a freeze.
pub const RESUMED: u8 = 9;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// Has the page's listeners (in a window, attached at the first call; a worker has none of these events) call
    /// `deliver` with their event's number: 0 `online`, 1 `offline`, 2 `pageshow`, 3 `visibilitychange` to
    /// visible, 4 `freeze`, 5 `resume`. Returns the function that stops it.
    #[wasm_bindgen(js_name = watchPage)]
    fn watch_page(deliver: &Closure<dyn FnMut(u8)>) -> Function;
}

/// One client's share of the page listeners.
#[derive(Debug)]
pub struct PageEvents {
    /// Forwards the events to the loop; lives as long as the client listens.
    _deliver: Closure<dyn FnMut(u8)>,
    /// Stops the listeners calling `deliver`.
    detach: Function,
}

impl PageEvents {
    /// Starts listening.
    pub fn attach(sink: &impl Sink) -> PageEvents {
        let sink = sink.clone();
        let deliver = Closure::new(move |event: u8| {
            sink.send(match event {
                0 => Signal::Input(Input::Online),
                1 => Signal::Input(Input::Offline),
                2 | 3 => Signal::Input(Input::Resumed),
                4 => share_signal(FROZEN),
                _ => share_signal(RESUMED),
            })
        });
        let detach = watch_page(&deliver);
        PageEvents { _deliver: deliver, detach }
    }
}

/// A page event for the shared connection (`runtime/share.rs`).
fn share_signal(kind: u8) -> Signal {
    Signal::Share { kind, value: JsValue::UNDEFINED }
}

impl Drop for PageEvents {
    fn drop(&mut self) {
        let _ = self.detach.call0(&JsValue::NULL);
    }
}
