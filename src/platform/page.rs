//! The page events the session listens to: `online` / `offline` on the window, and the page coming back after
//! being hidden, frozen or asleep (`visibilitychange` to visible, `pageshow`), when throttled timers may have let
//! a dead connection go unnoticed; and the page being frozen and resumed (`freeze`, `resume`), for the shared
//! connection (`runtime/share.rs`). Each forwards one [`Signal`] to the loop; dropping [`PageEvents`] detaches them.

use alloc::vec::Vec;

use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::EventTarget;

use super::Signal;
use super::Sink;
use crate::client::Input;

/// The page is being frozen: a [`Signal::Share`] kind, after the shared connection's own (`runtime/share.rs`).
pub const FROZEN: u8 = 8;
/// The page runs again after a freeze.
pub const RESUMED: u8 = 9;

/// A listener and where it is attached.
type Attached = (EventTarget, &'static str, Closure<dyn FnMut()>);

/// Where to listen, for what, the signal to send, and whether only while the page is visible.
type Wiring = (EventTarget, &'static str, fn() -> Signal, bool);

/// The page listeners of one client.
#[derive(Debug, Default)]
pub struct PageEvents {
    /// Attached listeners, detached on drop.
    attached: Vec<Attached>,
}

impl PageEvents {
    /// Attaches the listeners (in a window; a worker has none of these events).
    pub fn attach(sink: &impl Sink) -> PageEvents {
        let mut events = PageEvents::default();
        let Some(window) = web_sys::window() else { return events };
        let document = window.document();
        let visible = move || document.as_ref().is_none_or(|document| !document.hidden());
        let document_target: EventTarget =
            window.document().map_or_else(|| window.clone().into(), Into::into);
        let targets: [Wiring; 6] = [
            (window.clone().into(), "online", || Signal::Input(Input::Online), false),
            (window.clone().into(), "offline", || Signal::Input(Input::Offline), false),
            (window.clone().into(), "pageshow", || Signal::Input(Input::Resumed), false),
            (document_target.clone(), "visibilitychange", || Signal::Input(Input::Resumed), true),
            (document_target.clone(), "freeze", || share_signal(FROZEN), false),
            (document_target, "resume", || share_signal(RESUMED), false),
        ];
        for (target, name, input, only_when_visible) in targets {
            let sink = sink.clone();
            let visible = visible.clone();
            let listener: Closure<dyn FnMut()> = Closure::new(move || {
                if !only_when_visible || visible() {
                    sink.send(input());
                }
            });
            if target
                .add_event_listener_with_callback(name, listener.as_ref().unchecked_ref())
                .is_ok()
            {
                events.attached.push((target, name, listener));
            }
        }
        events
    }
}

/// A page event for the shared connection (`runtime/share.rs`).
fn share_signal(kind: u8) -> Signal {
    Signal::Share { kind, value: wasm_bindgen::JsValue::UNDEFINED }
}

impl Drop for PageEvents {
    fn drop(&mut self) {
        for (target, name, listener) in &self.attached {
            let _ =
                target.remove_event_listener_with_callback(name, listener.as_ref().unchecked_ref());
        }
    }
}
