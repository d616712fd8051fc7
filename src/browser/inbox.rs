//! The session loop's queue and the [`Port`] browser callbacks send through. A signal sent while the loop is idle
//! is handled at once, in the sending callback; one sent while the loop is busy (an app handler calling back into
//! the client) waits its turn. Either way signals are handled one at a time, in order, with no executor.

use alloc::collections::VecDeque;
use alloc::rc::Weak;
use core::cell::{Cell, RefCell};

use super::client::Client;
use super::Signal;

/// Signals waiting for the loop.
#[derive(Debug, Default)]
pub struct Inbox {
    /// Not yet handled, oldest first.
    signals: RefCell<VecDeque<Signal>>,
    /// Set while the loop runs, so a signal sent from inside it is queued instead of handled re-entrantly.
    draining: Cell<bool>,
}

impl Inbox {
    /// Queues `signal`; returns `true` when the caller should run the loop (it was idle).
    pub fn push(&self, signal: Signal) -> bool {
        self.signals.borrow_mut().push_back(signal);
        !self.draining.replace(true)
    }

    /// The next signal; when there is none the loop is marked idle.
    pub fn pop(&self) -> Option<Signal> {
        let next = self.signals.borrow_mut().pop_front();
        if next.is_none() {
            self.draining.set(false);
        }
        next
    }
}

/// What callbacks hold: a weak handle, so a callback that outlives its client does nothing.
#[derive(Clone, Debug)]
pub struct Port(pub Weak<Client>);

impl Port {
    /// Delivers `signal` to the client's loop.
    pub fn send(&self, signal: Signal) {
        if let Some(client) = self.0.upgrade() {
            client.receive(signal);
        }
    }
}
