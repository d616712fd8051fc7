//! The REST calls a session holds back, as their own small state machine: calls waiting for the connection
//! (queued, each with a deadline), calls waiting for a refreshed token (parked), and which calls were already
//! retried once after a refresh. The session decides when the connection or a token is there; this decides what
//! happens to the calls then, so no call is ever left without an outcome.
//!
//! ```text
//! submitted ──connection up──▶ Fetch ──answer──▶ Finish
//!     │ not connected             │ code 40 (first time, provider)
//!     ▼                           ▼
//!  queued ──deadline──▶ Fail   parked ──token──▶ Fetch (or queued, while reconnecting)
//!     └──disconnect / closed for good──▶ Fail ◀──provider failed──┘
//! ```
//!
//! A call refused because the connection it named is gone (sent just before a reconnect) is sent once more, on
//! the connection there is now.
//!
//! Every call belongs to the session epoch it was sent in; disconnecting (or a connection gone for good) ends the
//! epoch. An answer that comes for a call of an ended epoch settles that call with its answer, code 40 included:
//! it is never parked for a refresh, so it can neither hang nor be sent again with a later user's token.

use alloc::vec::Vec;

use super::super::error::ChatError;
use super::{Effect, Timer};

/// What becomes of an answered call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answered {
    /// Settle it with its answer.
    Finish,
    /// It got code 40 for the first time: it waits for a refreshed token; ask for one.
    Parked,
}

/// The calls a session holds back.
#[derive(Clone, Debug, Default)]
pub struct Requests {
    /// Waiting for the connection, in submission order, with the generation they joined in.
    queued: Vec<(u32, u32)>,
    /// Bumped each time [`Timer::QueuedCalls`] fires; calls from an older generation have waited a full period.
    generation: u32,
    /// Waiting for a refreshed token.
    parked: Vec<u32>,
    /// Already retried once after a refresh: a second code 40 is final.
    retried: Vec<u32>,
    /// Sent and not answered yet, with the epoch they were sent in.
    in_flight: Vec<(u32, u32)>,
    /// The session epoch: bumped when the connection is gone for good ([`Requests::fail_all`]).
    epoch: u32,
}

impl Requests {
    /// Holds `request` until the connection is up; the first one arms the queue deadline of `deadline_ms`.
    pub fn enqueue(&mut self, request: u32, deadline_ms: u32, fx: &mut Vec<Effect>) {
        if self.queued.is_empty() {
            fx.push(Effect::StartTimer(Timer::QueuedCalls, deadline_ms));
        }
        self.queued.push((request, self.generation));
    }

    /// The connection is up: the queued calls, in order, to send now.
    pub fn take_queued(&mut self, fx: &mut Vec<Effect>) -> Vec<u32> {
        if !self.queued.is_empty() {
            fx.push(Effect::StopTimer(Timer::QueuedCalls));
        }
        self.queued.drain(..).map(|(request, _)| request).collect()
    }

    /// [`Timer::QueuedCalls`] fired: calls queued before its previous firing (so waiting `after_ms` to twice
    /// that) are rejected; the timer is re-armed while calls wait.
    pub fn expire_queued(&mut self, after_ms: u32, fx: &mut Vec<Effect>) {
        let generation = self.generation;
        self.queued.retain(|&(request, joined)| {
            let keep = joined == generation;
            if !keep {
                fx.push(Effect::Fail {
                    request,
                    error: ChatError::NotConnectedInTime { after_ms },
                });
            }
            keep
        });
        self.generation = generation.wrapping_add(1);
        if !self.queued.is_empty() {
            fx.push(Effect::StartTimer(Timer::QueuedCalls, after_ms));
        }
    }

    /// `request` goes out now, in the current epoch.
    pub fn sent(&mut self, request: u32) {
        self.in_flight.push((request, self.epoch));
    }

    /// `request` was answered; `expired` when with code 40, `can_refresh` when a token provider can give a new
    /// token. A call sent in an ended epoch always finishes.
    pub fn answered(&mut self, request: u32, expired: bool, can_refresh: bool) -> Answered {
        let current = self.answered_in_this_epoch(request);
        if self.retry_once(request, current && expired && can_refresh) {
            self.parked.push(request);
            Answered::Parked
        } else {
            Answered::Finish
        }
    }

    /// `request` was refused because the connection it named is gone (code 46): whether to send it again, on the
    /// connection there is now. Once per call, and only in the epoch it was sent in.
    pub fn connection_gone(&mut self, request: u32) -> bool {
        let current = self.answered_in_this_epoch(request);
        self.retry_once(request, current)
    }

    /// `request` is no longer in flight; whether it was sent in this epoch (one not known to be in flight counts
    /// as this epoch's).
    fn answered_in_this_epoch(&mut self, request: u32) -> bool {
        let at = self.in_flight.iter().position(|(r, _)| *r == request);
        let sent_in = at.map(|at| self.in_flight.swap_remove(at).1);
        sent_in.is_none_or(|epoch| epoch == self.epoch)
    }

    /// Whether `request` goes again: when `allowed` and it has not been retried yet. A call that does not go again
    /// is done, and forgotten.
    fn retry_once(&mut self, request: u32, allowed: bool) -> bool {
        if allowed && !self.retried.contains(&request) {
            self.retried.push(request);
            true
        } else {
            self.retried.retain(|r| *r != request);
            false
        }
    }

    /// A fresh token came: the parked calls, to send (or queue) again.
    pub fn take_parked(&mut self) -> Vec<u32> {
        core::mem::take(&mut self.parked)
    }

    /// The refresh failed: the parked calls reject with `error`.
    pub fn fail_parked(&mut self, error: &ChatError, fx: &mut Vec<Effect>) {
        for request in self.parked.drain(..) {
            fx.push(Effect::Fail { request, error: error.clone() });
        }
    }

    /// The connection is gone for good (disconnect, failed connect, closed by the server): every held call
    /// rejects with `error`.
    pub fn fail_all(&mut self, error: &ChatError, fx: &mut Vec<Effect>) {
        if !self.queued.is_empty() {
            fx.push(Effect::StopTimer(Timer::QueuedCalls));
        }
        for request in
            self.queued.drain(..).map(|(request, _)| request).chain(self.parked.drain(..))
        {
            fx.push(Effect::Fail { request, error: error.clone() });
        }
        self.retried.clear();
        self.epoch = self.epoch.wrapping_add(1);
    }
}
