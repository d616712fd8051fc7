//! Every bound the server keeps, as configuration with documented defaults (README "Limits"), and the per-user
//! rate limiter that enforces the rate ones. Sizes are bytes of JSON text; times are wall-clock durations.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use stream_chat_protocol::ErrorCode;

use crate::error::AppError;

/// The server's limits. `Limits::default()` is what `main.rs` uses unless flags change it.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest message, as the JSON text of everything the client sent for it (text, attachments, custom
    /// fields).
    pub message_bytes: usize,
    /// The largest channel `data` (name, image, custom fields) on creation.
    pub channel_data_bytes: usize,
    /// The most bytes of messages one response carries; older messages are left out past it (the client pages).
    pub response_bytes: usize,
    /// Messages a user may send in a burst.
    pub message_burst: u32,
    /// Messages a user may send per second once the burst is spent.
    pub messages_per_second: u32,
    /// Open connections (WebSocket and long-poll together) one user may hold.
    pub connections_per_user: usize,
    /// Open TCP connections the server accepts at once; further ones are closed at once.
    pub max_connections: usize,
    /// Bytes of events waiting for one connection before it is dropped as a slow consumer.
    pub outbox_bytes: usize,
    /// How long a client may take to send a request's headers (also how long an idle keep-alive connection
    /// stays open).
    pub header_timeout: Duration,
    /// How long a client may take to send a request body.
    pub body_timeout: Duration,
    /// How long one WebSocket write may wait for a client that does not read before the socket is closed.
    pub write_timeout: Duration,
    /// Entries in one filter list (`$in`) and member list.
    pub filter_values: usize,
    /// The largest `offset` of a channel query.
    pub max_offset: usize,
    /// Watchers of one channel up to which `user.watching.start` / `user.watching.stop` are announced. Past it
    /// the count travels only in `watcher_count` of other events and query answers: announcing every arrival to
    /// every watcher costs the square of the watchers (5,000 joining a livestream would be 12.5 million frames).
    pub watching_events_up_to: usize,
    /// The largest uploaded file (`sendImage` / `sendFile`); a bigger one is answered 413.
    pub upload_bytes: usize,
    /// Uploads the server reads at once (each holds up to `upload_bytes`); more are answered 429.
    pub uploads_at_once: usize,
    /// Store requests running or waiting at once; past it a request is answered 429 with
    /// code 9 (the official client retries it) instead of waiting in an unbounded queue.
    pub store_queue: usize,
    /// How long one upload may take from its first byte to its last.
    pub upload_timeout: Duration,
    /// Uploads a user may make in a burst, then one per second.
    pub upload_burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            message_bytes: 32 * 1024,
            channel_data_bytes: 5 * 1024,
            response_bytes: 2 * 1024 * 1024,
            message_burst: 60,
            messages_per_second: 10,
            connections_per_user: 20,
            max_connections: 15_000,
            outbox_bytes: 1024 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            write_timeout: Duration::from_secs(10),
            filter_values: 1_000,
            max_offset: 10_000,
            watching_events_up_to: 1_000,
            upload_bytes: 20 * 1024 * 1024,
            uploads_at_once: 16,
            store_queue: 1_024,
            upload_timeout: Duration::from_secs(120),
            upload_burst: 20,
        }
    }
}

/// The length of `value`'s JSON text, counted without building it.
pub fn json_len(value: &impl serde::Serialize) -> usize {
    /// A writer that only counts.
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    match serde_json::to_writer(&mut count, value) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// The protocol's answer to a user over a rate limit: code 9, HTTP 429.
pub fn rate_limited(what: &str) -> AppError {
    AppError::new(ErrorCode::RateLimit, format!("rate limit reached: {what}"))
}

/// One token bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Tokens left (fractions accrue between calls).
    tokens: f64,
    /// When `tokens` was last brought up to date.
    at: Instant,
}

/// Per-user token buckets: `burst` at once, then `per_second`. Buckets that have refilled are forgotten, so the
/// map holds only users who sent recently.
#[derive(Debug)]
pub struct RateLimiter {
    /// Bucket size.
    burst: f64,
    /// Refill rate.
    per_second: f64,
    /// User id → bucket; locked for one lookup.
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// A limiter allowing `burst` calls at once and `per_second` after.
    pub fn new(burst: u32, per_second: u32) -> Self {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_second),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `user`; `false` when none is left.
    pub fn allow(&self, user: &str, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > 10_000 {
            let (burst, rate) = (self.burst, self.per_second);
            buckets.retain(|_, bucket| refilled(*bucket, now, burst, rate) < burst);
        }
        let bucket =
            buckets.entry(user.to_owned()).or_insert(Bucket { tokens: self.burst, at: now });
        bucket.tokens = refilled(*bucket, now, self.burst, self.per_second);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The longest slow-mode `cooldown` a channel may set, in seconds.
pub const MAX_COOLDOWN_SECONDS: u64 = 120;

/// Slow mode: when each user last sent to each channel with a cooldown. Kept per node (a user sending through two
/// nodes at once may beat a cooldown once); entries older than [`MAX_COOLDOWN_SECONDS`] are forgotten.
#[derive(Debug, Default)]
pub struct Cooldowns {
    /// `cid` and user id → the last send.
    last_sent: Mutex<HashMap<(String, String), Instant>>,
}

impl Cooldowns {
    /// Records a send of `user` to `cid` at `now` unless their previous one was less than `cooldown` ago; then
    /// the seconds left.
    pub fn try_send(
        &self,
        cid: &str,
        user: &str,
        cooldown: Duration,
        now: Instant,
    ) -> Result<(), u64> {
        let mut last_sent = self.last_sent.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if last_sent.len() > 10_000 {
            let horizon = Duration::from_secs(MAX_COOLDOWN_SECONDS);
            last_sent.retain(|_, at| now.saturating_duration_since(*at) < horizon);
        }
        let key = (cid.to_owned(), user.to_owned());
        if let Some(at) = last_sent.get(&key) {
            let since = now.saturating_duration_since(*at);
            if since < cooldown {
                return Err((cooldown - since).as_secs().max(1));
            }
        }
        last_sent.insert(key, now);
        Ok(())
    }
}

fn refilled(bucket: Bucket, now: Instant, burst: f64, per_second: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
    (bucket.tokens + elapsed * per_second).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_len_is_the_length_of_the_text() {
        let value = serde_json::json!({"a": [1, "é"], "b": null});
        assert_eq!(json_len(&value), value.to_string().len());
    }

    #[test]
    fn burst_then_refill() {
        let limiter = RateLimiter::new(3, 2);
        let start = Instant::now();
        assert!((0..3).all(|_| limiter.allow("alice", start)));
        assert!(!limiter.allow("alice", start));
        assert!(limiter.allow("bob", start), "buckets are per user");
        assert!(limiter.allow("alice", start + Duration::from_millis(500)));
        assert!(!limiter.allow("alice", start + Duration::from_millis(500)));
        let later = start + Duration::from_secs(60);
        assert!((0..3).all(|_| limiter.allow("alice", later)), "refills up to the burst only");
        assert!(!limiter.allow("alice", later));
    }
}
