//! The session's timers as gloo timeouts that send [`Input::Timer`] to the loop when they fire. Re-arming
//! replaces (and so cancels) the running one; dropping [`Timers`] cancels them all. Every timeout of the SDK is
//! made by [`after`].

use alloc::boxed::Box;

use gloo_timers::callback::Timeout;

use super::Signal;
use super::Sink;
use crate::client::session::ALL_TIMERS;
use crate::client::{Input, Timer};

/// A gloo timeout that runs `then` in `ms` milliseconds unless dropped first. The one place the SDK makes a
/// `Timeout`: each `Timeout::new` with a closure type of its own instantiates gloo's and wasm-bindgen's closure
/// machinery again (~270 B of wasm each), so `then` is boxed first and [`boxed_after`] is the only instance.
pub fn after(ms: u32, then: impl FnOnce() + 'static) -> Timeout {
    boxed_after(ms, Box::new(then))
}

#[inline(never)]
fn boxed_after(ms: u32, then: Box<dyn FnOnce()>) -> Timeout {
    Timeout::new(ms, then)
}

/// One slot per [`Timer`].
#[derive(Debug, Default)]
pub struct Timers {
    /// Running timeouts, in the order of [`ALL_TIMERS`].
    slots: [Option<Timeout>; ALL_TIMERS.len()],
}

impl Timers {
    /// Arms `timer` to fire in `ms` milliseconds, replacing a running one.
    pub fn start(&mut self, timer: Timer, ms: u32, sink: &impl Sink) {
        let sink = sink.clone();
        if let Some(slot) = self.slot(timer) {
            *slot = Some(after(ms, move || sink.send(Signal::Input(Input::Timer(timer)))));
        }
    }

    /// Disarms `timer` if it is running.
    pub fn stop(&mut self, timer: Timer) {
        if let Some(slot) = self.slot(timer) {
            *slot = None;
        }
    }

    fn slot(&mut self, timer: Timer) -> Option<&mut Option<Timeout>> {
        let at = ALL_TIMERS.iter().position(|t| *t == timer)?;
        self.slots.get_mut(at)
    }
}
