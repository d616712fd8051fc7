//! Channel events that arrive while a channel query is in flight, kept so that the query's answer never moves a
//! channel's state backwards. The answer is a snapshot the server took at some point while the query was out; an
//! event that arrived meanwhile may be newer than it (an edit, a hard delete, a read, a watcher), and applying the
//! snapshot after it would undo it. So the answer is applied, then every event for that channel that arrived since
//! the query was sent is applied again on top (each is idempotent: a message is kept once per id, a newer version
//! replaces an older one, a read or watcher is set, not counted).
//!
//! Bounded: at most [`MAX_KEPT_EVENTS`] events are kept while queries are in flight; past that the oldest go and
//! are counted in [`Replay::dropped`] (their effect may be undone by that answer until the next query).

use alloc::string::String;
use alloc::vec::Vec;

use wasm_bindgen::JsValue;

/// The most channel events kept while queries are in flight.
pub const MAX_KEPT_EVENTS: usize = 1_000;

/// The events kept for queries in flight.
#[derive(Debug, Default)]
pub struct Replay {
    /// Channel queries in flight.
    open: u32,
    /// The number of the last channel event seen.
    seen: u64,
    /// Events since the oldest query in flight began: their number, cid and frame.
    kept: Vec<(u64, String, JsValue)>,
    /// Events that did not fit.
    pub dropped: u32,
}

impl Replay {
    /// A query begins; returns its mark: the events after it are the ones its answer must not undo.
    pub fn begin(&mut self) -> u64 {
        self.open = self.open.saturating_add(1);
        self.seen
    }

    /// A query ended (answered and applied, or failed); with none left, nothing needs keeping.
    pub fn end(&mut self) {
        self.open = self.open.saturating_sub(1);
        if self.open == 0 {
            self.kept.clear();
        }
    }

    /// A channel event arrived (and was applied).
    pub fn record(&mut self, cid: &str, frame: &JsValue) {
        self.seen += 1;
        if self.open == 0 {
            return;
        }
        if self.kept.len() == MAX_KEPT_EVENTS {
            // Bounded and rare: a shift of at most a thousand handles.
            self.kept.remove(0);
            self.dropped = self.dropped.saturating_add(1);
        }
        self.kept.push((self.seen, cid.into(), frame.clone()));
    }

    /// The frames of the events for `cid` that arrived after `mark`, oldest first.
    pub fn since(&self, mark: u64, cid: &str) -> Vec<JsValue> {
        self.kept
            .iter()
            .filter(|(number, event_cid, _)| *number > mark && event_cid == cid)
            .map(|(_, _, frame)| frame.clone())
            .collect()
    }
}
