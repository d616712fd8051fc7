//! The session loop's queue and the [`Port`] browser callbacks send through. A signal sent while the loop is idle
//! is handled at once, in the sending callback; one sent while the loop is busy (an app handler calling back into
//! the client) waits its turn. Either way signals are handled one at a time, in order, with no executor.
//! A loop that trapped stays marked busy, but after a trap the client handles nothing any more (`fatal.rs`).

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

    /// The next signal.
    pub fn pop(&self) -> Option<Signal> {
        self.signals.borrow_mut().pop_front()
    }
}

/// What callbacks hold: a weak handle, so a callback that outlives its client does nothing.
#[derive(Clone, Debug)]
pub struct Port(pub Weak<Client>);

impl Port {
    /// The client, unless it is gone or the SDK stopped after a trap (then its state is not to be touched).
    pub fn live(&self) -> Option<Rc<Client>> {
        self.0.upgrade().filter(|_| !super::fatal::poisoned())
    }

    /// Delivers `signal` to the client's loop.
    pub fn send(&self, signal: Signal) {
        if let Some(client) = self.live() {
            client.receive(signal);
        }
    }

    /// The client, or the error a channel (or a call) of a gone client rejects with; after a trap, the error
    /// that says so.
    pub fn client(&self) -> Result<Rc<Client>, JsValue> {
        if super::fatal::poisoned() {
            return Err(to_js_error(&ChatError::Fatal));
        }
        self.0.upgrade().ok_or_else(|| to_js_error(&ChatError::ChannelAfterDisconnect))
    }
}
