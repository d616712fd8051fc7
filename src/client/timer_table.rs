//! The session's deadlines in one table, as quinn-proto's `TimerTable`: a deadline per [`Timer`], and the time the
//! one browser timeout is armed for. Plain data with the time passed in: `platform/timers.rs` reads the page's
//! monotonic clock and owns the timeout. Moving a deadline later than the armed time (the connection check every
//! frame pushes back, the ping) or stopping a timer arms nothing.

use super::session::{Timer, ALL_TIMERS};

/// The deadlines (ms), and when the timeout fires.
#[derive(Debug, Clone, PartialEq)]
pub struct TimerTable {
    /// When each timer is due (infinite when it is not running), at `timer as usize`.
    due: [f64; ALL_TIMERS.len()],
    /// When the armed timeout fires, if one is armed.
    armed_at: Option<f64>,
}

impl Default for TimerTable {
    fn default() -> TimerTable {
        TimerTable { due: [f64::INFINITY; ALL_TIMERS.len()], armed_at: None }
    }
}

impl TimerTable {
    /// `timer` is due at `at`, replacing its deadline if it was running.
    pub fn set(&mut self, timer: Timer, at: f64) {
        self.put(timer as usize, at);
    }

    /// `timer` stops; returns whether none is left running (then the timeout is no longer needed).
    pub fn stop(&mut self, timer: Timer) -> bool {
        self.put(timer as usize, f64::INFINITY);
        let idle = self.due.iter().all(|at| at.is_infinite());
        if idle {
            self.armed_at = None;
        }
        idle
    }

    /// The earliest timer due at `now` (up to `tolerance_ms` early), taken off; `None` when none is.
    pub fn take_due(&mut self, now: f64, tolerance_ms: f64) -> Option<Timer> {
        let (first, at) = self.earliest();
        if at > now + tolerance_ms {
            return None;
        }
        self.put(first, f64::INFINITY);
        ALL_TIMERS.get(first).copied()
    }

    /// When the timeout must be armed for at `now`, if it must: for the earliest deadline, unless one is armed for
    /// it (or earlier) and yet to fire. A timeout whose time has passed has fired, or is about to; either way its
    /// firing finds what is due then. The answer is taken as armed.
    pub fn to_arm(&mut self, now: f64) -> Option<f64> {
        let (_, at) = self.earliest();
        let serves = self.armed_at.is_some_and(|armed_at| armed_at <= at && armed_at > now);
        if !at.is_finite() || serves {
            return None;
        }
        self.armed_at = Some(at);
        Some(at)
    }

    fn put(&mut self, slot: usize, at: f64) {
        if let Some(due) = self.due.get_mut(slot) {
            *due = at;
        }
    }

    /// The slot of the earliest deadline and that deadline (infinite when no timer is running).
    fn earliest(&self) -> (usize, f64) {
        let mut first = (0, f64::INFINITY);
        for (slot, at) in self.due.iter().enumerate() {
            if *at < first.1 {
                first = (slot, *at);
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_later_deadline_arms_nothing_and_an_earlier_one_arms_again() {
        let mut table = TimerTable::default();
        table.set(Timer::ConnectTimeout, 15_000.0);
        assert_eq!(table.to_arm(0.0), Some(15_000.0));
        table.set(Timer::ConnectionCheck, 35_000.0);
        assert_eq!(table.to_arm(1.0), None, "the armed timeout comes first");
        table.set(Timer::ConnectionCheck, 36_000.0);
        assert_eq!(table.to_arm(2.0), None, "a deadline pushed back arms nothing");
        table.set(Timer::Retry, 10.0);
        assert_eq!(table.to_arm(3.0), Some(10.0));
    }

    #[test]
    fn due_timers_come_out_earliest_first_each_once_and_only_when_due() {
        let mut table = TimerTable::default();
        table.set(Timer::Ping, 300.0);
        table.set(Timer::Retry, 100.0);
        table.set(Timer::OfflineNotice, 200.0);
        assert_eq!(table.take_due(50.0, 1.0), None);
        assert_eq!(table.take_due(99.5, 1.0), Some(Timer::Retry), "within the tolerance");
        assert_eq!(table.take_due(250.0, 1.0), Some(Timer::OfflineNotice));
        assert_eq!(table.take_due(250.0, 1.0), None, "the ping is not due yet");
        assert_eq!(table.take_due(300.0, 1.0), Some(Timer::Ping));
        assert_eq!(table.take_due(1e9, 1.0), None, "each came out once");
    }

    #[test]
    fn a_timer_started_after_the_armed_time_passed_arms_again() {
        // The offline notice fires at 5 s, and nothing is left; coming online 2 s later starts a retry, which must
        // arm a timeout of its own (the one armed for 5 s has fired).
        let mut table = TimerTable::default();
        table.set(Timer::OfflineNotice, 5_000.0);
        assert_eq!(table.to_arm(0.0), Some(5_000.0));
        assert_eq!(table.take_due(5_001.0, 1.0), Some(Timer::OfflineNotice));
        assert_eq!(table.to_arm(5_001.0), None, "nothing left to arm for");
        table.set(Timer::Retry, 7_010.0);
        assert_eq!(table.to_arm(7_000.0), Some(7_010.0));
    }

    #[test]
    fn stopping_the_last_timer_leaves_nothing_armed() {
        let mut table = TimerTable::default();
        table.set(Timer::Ping, 100.0);
        table.set(Timer::ConnectionCheck, 200.0);
        assert_eq!(table.to_arm(0.0), Some(100.0));
        assert!(!table.stop(Timer::Ping), "the connection check still runs");
        assert!(table.stop(Timer::ConnectionCheck));
        table.set(Timer::Ping, 150.0);
        assert_eq!(
            table.to_arm(10.0),
            Some(150.0),
            "the cancelled timeout does not count as armed"
        );
    }

    #[test]
    fn every_timer_is_at_its_own_number_in_all_timers() {
        for (slot, timer) in ALL_TIMERS.iter().enumerate() {
            assert_eq!(*timer as usize, slot, "{timer:?}");
        }
    }
}
