//! A connection's outbox: the bounded queue of serialized events between the hub, which fans out, and the task
//! that writes them to the connection's transport. Bounded by frames ([`OUTBOX_CAPACITY`]) and by bytes (the
//! caller's bound); past either the hub drops the connection rather than hold memory for a client that does not
//! read, and what was still queued is discarded.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;

/// A serialized event: its JSON text, shared by every connection it goes to (cloning counts a reference) and
/// written to a WebSocket as it is.
pub type Frame = axum::extract::ws::Utf8Bytes;

/// Frames waiting for a slow connection before it is dropped (bytes are bounded too, see [`crate::hub::Hub::new`]).
pub const OUTBOX_CAPACITY: usize = 1024;

/// What both ends share.
#[derive(Debug, Default)]
struct Shared {
    /// Bytes queued and not yet taken by the connection's task.
    bytes: AtomicUsize,
    /// Frames queued and not yet taken. Counted here, with an unbounded channel under it: a bounded tokio channel
    /// takes a mutex for every frame received (to give its permit back), on every delivery of a fan-out.
    frames: AtomicUsize,
    /// Set when the hub dropped the connection; what is still queued is discarded. The hub also lets go of the
    /// sending half then, which wakes a task waiting on an empty queue.
    dropped: AtomicBool,
}

/// A new outbox: the hub's sending half and the connection task's receiving half.
pub(crate) fn outbox() -> (OutboxSender, Outbox) {
    let (sender, receiver) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::default());
    (OutboxSender { sender, shared: shared.clone() }, Outbox { receiver, shared })
}

/// The hub's end.
#[derive(Debug)]
pub(crate) struct OutboxSender {
    /// Frames in order.
    sender: mpsc::UnboundedSender<Frame>,
    /// Byte count and the dropped flag.
    shared: Arc<Shared>,
}

impl OutboxSender {
    /// Queues a frame unless more than `max_bytes` (or [`OUTBOX_CAPACITY`] frames) are waiting or the connection
    /// is gone; `false` means the caller drops the connection.
    pub(crate) fn offer(&self, frame: Frame, max_bytes: usize) -> bool {
        let len = frame.len();
        // Counted before the frame is queued: the connection's task may take it (and subtract) at once, on
        // another thread, and the count must never dip below zero and wrap (which would drop a healthy
        // connection as a slow consumer).
        let queued = self.shared.bytes.fetch_add(len, Ordering::AcqRel);
        let frames = self.shared.frames.fetch_add(1, Ordering::AcqRel);
        if queued.saturating_add(len) <= max_bytes
            && frames < OUTBOX_CAPACITY
            && self.sender.send(frame).is_ok()
        {
            return true;
        }
        self.shared.bytes.fetch_sub(len, Ordering::AcqRel);
        self.shared.frames.fetch_sub(1, Ordering::AcqRel);
        false
    }

    /// Marks the connection dropped: its task gets no more frames, not even those already queued.
    pub(crate) fn drop_connection(&self) {
        self.shared.dropped.store(true, Ordering::Release);
    }
}

/// The receiving end of a connection's queue of serialized events.
#[derive(Debug)]
pub struct Outbox {
    /// Frames in order.
    receiver: mpsc::UnboundedReceiver<Frame>,
    /// Byte count and the dropped flag.
    shared: Arc<Shared>,
}

impl Outbox {
    /// The next frame; `None` once the hub dropped the connection (slow consumer, unregistered, shutdown), at
    /// once, without delivering what was still queued.
    pub async fn recv(&mut self) -> Option<Frame> {
        let frame = self.receiver.recv().await?;
        if self.shared.dropped.load(Ordering::Acquire) {
            return None;
        }
        Some(self.taken(frame))
    }

    /// A frame already queued, if any.
    pub fn try_recv(&mut self) -> Option<Frame> {
        if self.shared.dropped.load(Ordering::Acquire) {
            return None;
        }
        self.receiver.try_recv().ok().map(|frame| self.taken(frame))
    }

    fn taken(&self, frame: Frame) -> Frame {
        self.shared.bytes.fetch_sub(frame.len(), Ordering::AcqRel);
        self.shared.frames.fetch_sub(1, Ordering::AcqRel);
        frame
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_frames_and_by_bytes_and_freed_by_taking() {
        let (sender, mut outbox) = outbox();
        let frame = Frame::from("{}");
        for _ in 0..OUTBOX_CAPACITY {
            assert!(sender.offer(frame.clone(), usize::MAX));
        }
        assert!(!sender.offer(frame.clone(), usize::MAX), "past the frame bound");
        assert_eq!(outbox.try_recv().as_deref(), Some("{}"));
        assert!(sender.offer(frame.clone(), usize::MAX), "room again once one is taken");
        while outbox.try_recv().is_some() {}

        assert!(sender.offer(Frame::from("12345"), 8));
        assert!(!sender.offer(Frame::from("1234"), 8), "past the byte bound");
        assert!(sender.offer(Frame::from("123"), 8), "what fits still goes");
        sender.drop_connection();
        assert_eq!(outbox.try_recv(), None, "nothing is delivered once dropped");
    }
}
