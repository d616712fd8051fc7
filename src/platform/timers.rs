//! The session's timers as gloo timeouts that send [`Input::Timer`] to the loop when they fire. Re-arming
//! replaces (and so cancels) the running one; dropping [`Timers`] cancels them all.

use gloo_timers::callback::Timeout;

use super::Signal;
use super::Sink;
use crate::client::session::ALL_TIMERS;
use crate::client::{Input, Timer};

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
            *slot = Some(Timeout::new(ms, move || sink.send(Signal::Input(Input::Timer(timer)))));
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
