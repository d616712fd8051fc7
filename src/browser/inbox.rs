//! The session loop's queue: callbacks push [`Signal`]s, the loop awaits them one at a time, in order. A
//! single-threaded unbounded channel in a few lines, so the SDK needs no channel crate.

use alloc::collections::VecDeque;
use alloc::rc::Rc;
use core::cell::RefCell;
use core::future::Future;
use core::pin::Pin;
use core::task::{Context, Poll, Waker};

use super::Signal;

/// A cloneable handle to the queue; every clone pushes into the same loop.
#[derive(Clone, Debug, Default)]
pub struct Inbox(Rc<RefCell<Queue>>);

/// The queue behind an [`Inbox`].
#[derive(Debug, Default)]
struct Queue {
    /// Signals not yet taken by the loop.
    signals: VecDeque<Signal>,
    /// The loop's waker while it waits on an empty queue.
    waker: Option<Waker>,
    /// Set when the client is dropped: the loop ends once the queue is empty.
    closed: bool,
}

impl Inbox {
    /// Queues a signal and wakes the loop. Signals pushed after [`Inbox::close`] are dropped.
    pub fn push(&self, signal: Signal) {
        let mut queue = self.0.borrow_mut();
        if queue.closed {
            return;
        }
        queue.signals.push_back(signal);
        if let Some(waker) = queue.waker.take() {
            waker.wake();
        }
    }

    /// Ends the loop after the signals already queued.
    pub fn close(&self) {
        let mut queue = self.0.borrow_mut();
        queue.closed = true;
        if let Some(waker) = queue.waker.take() {
            waker.wake();
        }
    }

    /// The next signal, or `None` once closed and drained.
    pub fn next(&self) -> impl Future<Output = Option<Signal>> + '_ {
        Next(self)
    }
}

/// The future behind [`Inbox::next`].
struct Next<'a>(&'a Inbox);

impl Future for Next<'_> {
    type Output = Option<Signal>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Signal>> {
        let mut queue = self.0 .0.borrow_mut();
        if let Some(signal) = queue.signals.pop_front() {
            Poll::Ready(Some(signal))
        } else if queue.closed {
            Poll::Ready(None)
        } else {
            queue.waker = Some(cx.waker().clone());
            Poll::Pending
        }
    }
}
