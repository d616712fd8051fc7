//! The session loop's queue. A signal sent while the loop is idle
//! is handled at once, in the sending callback; one sent while the loop is busy (an app handler calling back into
//! the client) waits its turn. Either way signals are handled one at a time, in order, with no executor.
//! A loop that trapped stays marked busy, but after a trap the client handles nothing any more (`platform/fatal.rs`).

use alloc::collections::VecDeque;
use core::cell::{Cell, RefCell};

use crate::platform::Signal;

/// Signals waiting for the loop.
#[derive(Debug, Default)]
pub struct Inbox {
    /// Not yet handled, oldest first.
    signals: RefCell<VecDeque<Signal>>,
    /// Set while the loop runs, so a signal sent from inside it is queued instead of handled re-entrantly.
    draining: Cell<bool>,
}

/// Proof that the caller runs the loop; marks it idle again when dropped.
#[derive(Debug)]
pub struct Running<'a>(&'a Inbox);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.draining.set(false);
    }
}

impl Inbox {
    /// Queues `signal`; returns the right to run the loop when it was idle.
    pub fn push(&self, signal: Signal) -> Option<Running<'_>> {
        self.signals.borrow_mut().push_back(signal);
        if self.draining.replace(true) {
            return None;
        }
        Some(Running(self))
    }

    /// The next signal.
    pub fn pop(&self) -> Option<Signal> {
        self.signals.borrow_mut().pop_front()
    }
}
