//! The session's timers as JS `setTimeout`s that send [`Input::Timer`] to the loop when they fire.
//! Re-arming replaces (and so cancels) the running one; dropping [`Timers`] cancels them all.

use alloc::boxed::Box;

use js_sys::Function;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

use super::inbox::Port;
use super::Signal;
use crate::client::session::ALL_TIMERS;
use crate::client::{Input, Timer};

#[wasm_bindgen]
extern "C" {
    /// The global `setTimeout`, present in windows and workers alike.
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(handler: &Function, ms: u32) -> JsValue;
    /// The global `clearTimeout`.
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// A running timeout; cancelled when dropped.
#[derive(Debug)]
pub struct Timeout {
    /// The handle `setTimeout` returned.
    id: JsValue,
    /// The callback; must live until the timeout fires or is cancelled.
    _callback: Closure<dyn FnMut()>,
}

impl Timeout {
    /// Calls `callback` in `ms` milliseconds unless dropped first.
    pub fn new(ms: u32, callback: Box<dyn FnMut()>) -> Timeout {
        let callback = Closure::wrap(callback);
        let id = set_timeout(callback.as_ref().unchecked_ref(), ms);
        Timeout { id, _callback: callback }
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        clear_timeout(&self.id);
    }
}

/// One slot per [`Timer`].
#[derive(Debug, Default)]
pub struct Timers {
    /// Running timeouts, indexed by [`slot`].
    slots: [Option<Timeout>; ALL_TIMERS.len()],
}

fn slot(timer: Timer) -> usize {
    ALL_TIMERS.iter().position(|t| *t == timer).unwrap_or(0)
}

impl Timers {
    /// Arms `timer` to fire in `ms` milliseconds, replacing a running one.
    pub fn start(&mut self, timer: Timer, ms: u32, port: &Port) {
        let port = port.clone();
        let fire = Box::new(move || port.send(Signal::Input(Input::Timer(timer))));
        self.slots[slot(timer)] = Some(Timeout::new(ms, fire));
    }

    /// Disarms `timer` if it is running.
    pub fn stop(&mut self, timer: Timer) {
        self.slots[slot(timer)] = None;
    }
}
