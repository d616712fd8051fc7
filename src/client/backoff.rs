//! Retry intervals between reconnect attempts: the official client's formula (PROTOCOL.md §3.6), with the random
//! source passed in so tests can pin it.

/// The longest wait between attempts, in milliseconds.
pub const MAX_INTERVAL_MS: u32 = 25_000;

/// How long to wait before the next attempt after `failures` consecutive failures; `random` is uniform in
/// `[0, 1)`. `n = 0` gives 250–500 ms, `n = 1` 250–2500 ms, `n = 2` 2000–4500 ms, growing by 2 s per failure up to a
/// flat 25 s from `n = 14`.
pub fn retry_interval(failures: u32, random: f64) -> u32 {
    let n = failures.min(1_000) as i64;
    let max = (500 + 2000 * n).min(MAX_INTERVAL_MS as i64);
    let min = (2000 * (n - 1)).max(250).min(MAX_INTERVAL_MS as i64);
    (random.clamp(0.0, 1.0) * (max - min) as f64 + min as f64) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_follow_the_protocol() {
        let bounds = |n| (retry_interval(n, 0.0), retry_interval(n, 0.999_999));
        assert_eq!(bounds(0), (250, 499));
        assert_eq!(bounds(1), (250, 2499));
        assert_eq!(bounds(2), (2000, 4499));
        assert_eq!(bounds(3), (4000, 6499));
        assert_eq!(bounds(14), (25_000, 25_000));
        assert_eq!(bounds(u32::MAX), (25_000, 25_000));
    }

    #[test]
    fn never_exceeds_the_maximum_or_goes_below_250() {
        for n in 0..40 {
            for step in 0..=10 {
                let ms = retry_interval(n, step as f64 / 10.0);
                assert!((250..=MAX_INTERVAL_MS).contains(&ms), "n={n} ms={ms}");
            }
        }
    }
}
