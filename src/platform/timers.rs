//! The session's timers: the core's [`TimerTable`] of deadlines on the page's monotonic clock, and one gloo
//! timeout armed for the earliest, which sends [`Signal::TimersDue`] to the loop; the loop takes the due timers
//! one at a time ([`Timers::take_due`]), then arms the timeout for the next ([`Timers::rearm`]). A deadline moved
//! later than the armed time (the connection check each frame pushes back, the ping) or a timer stopped costs no
//! browser call, where a timeout was made and cleared for each. Every timeout of the SDK is made by [`after`].

use alloc::boxed::Box;

use gloo_timers::callback::Timeout;

use super::Signal;
use super::Sink;
use crate::client::timer_table::TimerTable;
use crate::client::Timer;

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

#[wasm_bindgen::prelude::wasm_bindgen]
extern "C" {
    /// The page's monotonic clock (`performance.now()`), which wall-clock changes do not move.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn monotonic_ms() -> f64;
}

/// How early (ms) a deadline still counts as due: the clock the page reads is coarsened, the timeout's is not.
const DUE_TOLERANCE_MS: f64 = 1.0;

/// The session's deadlines, and the one timeout armed for the earliest.
#[derive(Debug, Default)]
pub struct Timers {
    /// The deadlines.
    table: TimerTable,
    /// The timeout; dropping it cancels it.
    armed: Option<Timeout>,
}

impl Timers {
    /// Arms `timer` to fire in `ms` milliseconds, replacing its deadline if it was running.
    pub fn start(&mut self, timer: Timer, ms: u32, sink: &impl Sink) {
        // One read of the clock: every frame starts the connection check again.
        let now = monotonic_ms();
        self.table.set(timer, now + f64::from(ms));
        self.arm_at(now, sink);
    }

    /// Disarms `timer` if it is running; with none left, the timeout is cancelled.
    pub fn stop(&mut self, timer: Timer) {
        if self.table.stop(timer) {
            self.armed = None;
        }
    }

    /// The earliest timer that is due now, taken off; `None` when none is.
    pub fn take_due(&mut self) -> Option<Timer> {
        self.table.take_due(monotonic_ms(), DUE_TOLERANCE_MS)
    }

    /// Arms the timeout for the earliest deadline, unless the one armed serves.
    pub fn rearm(&mut self, sink: &impl Sink) {
        self.arm_at(monotonic_ms(), sink);
    }

    /// [`Timers::rearm`] with the clock read at `now`.
    fn arm_at(&mut self, now: f64, sink: &impl Sink) {
        if let Some(at) = self.table.to_arm(now) {
            let sink = sink.clone();
            let ms = (at - now).max(0.0) as u32 + 1;
            self.armed = Some(after(ms, move || sink.send(Signal::TimersDue)));
        }
    }
}
