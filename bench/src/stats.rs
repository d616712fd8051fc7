//! What the generator measures with: latency percentiles, and a process's resident memory read from `/proc`.

use std::time::Duration;

/// Latency samples in microseconds.
#[derive(Debug, Default)]
pub struct Samples(pub Vec<u64>);

impl Samples {
    /// Adds one sample.
    pub fn push(&mut self, latency: Duration) {
        self.0.push(latency.as_micros() as u64);
    }

    /// The `p`-th percentile (0–100) in milliseconds, nearest rank; 0 when empty.
    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        if self.0.is_empty() {
            return 0.0;
        }
        self.0.sort_unstable();
        let rank = ((p / 100.0) * self.0.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.0.len()) - 1;
        self.0.get(index).copied().unwrap_or(0) as f64 / 1000.0
    }
}

/// Resident memory of process `pid` in KiB (`VmRSS`), if it can be read.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resident memory gained per item, in KiB, from a baseline and a loaded reading (`None` if either is missing).
pub fn kib_each(baseline: Option<u64>, loaded: Option<u64>, items: usize) -> Option<f64> {
    Some(loaded?.saturating_sub(baseline?) as f64 / items.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let mut samples = Samples((1..=100).map(|ms| ms * 1000).collect());
        assert_eq!(samples.percentile_ms(50.0), 50.0);
        assert_eq!(samples.percentile_ms(99.0), 99.0);
        assert_eq!(samples.percentile_ms(100.0), 100.0);
        assert_eq!(Samples::default().percentile_ms(50.0), 0.0);
    }

    #[test]
    fn reads_its_own_resident_memory() {
        assert!(rss_kib(std::process::id()).is_some_and(|kib| kib > 0));
    }
}
