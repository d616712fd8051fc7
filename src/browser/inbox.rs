//! The session loop's queue and the [`Port`] browser callbacks send through. A signal sent while the loop is idle
//! is handled at once, in the sending callback; one sent while the loop is busy (an app handler calling back into
//! the client) waits its turn. Either way signals are handled one at a time, in order, with no executor.
//!
//! A wasm trap does not unwind, so a loop that trapped would stay marked busy forever and every later signal
//! would wait. A signal that finds the loop busy therefore also queues a microtask: loops run synchronously, so
//! if the loop is still marked busy when that microtask runs, it died, and the microtask takes over.

use alloc::collections::VecDeque;
use alloc::rc::{Rc, Weak};
use core::cell::{Cell, RefCell};

use wasm_bindgen::JsValue;

use super::client::Client;
use super::errors::to_js_error;
use super::Signal;
use crate::client::ChatError;

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

    /// Takes over a loop that is still marked busy although none runs (it trapped): for the microtask that
    /// [`Port::send`] queues.
    pub fn take_over(&self) -> Option<Running<'_>> {
        let stuck = self.draining.get() && !self.signals.borrow().is_empty();
        stuck.then_some(Running(self))
    }

    /// The next signal.
    pub fn pop(&self) -> Option<Signal> {
        self.signals.borrow_mut().pop_front()
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

    /// The client, or the error a channel (or a call) of a gone client rejects with.
    pub fn client(&self) -> Result<Rc<Client>, JsValue> {
        self.0.upgrade().ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))
    }
}
