//! Wall-clock readings in the shapes the protocol and the store use.

use time::macros::format_description;
use time::OffsetDateTime;

/// Now as RFC 3339 UTC with milliseconds, fixed width (`2026-11-28T00:03:48.123Z`).
pub fn timestamp() -> String {
    format(OffsetDateTime::now_utc())
}

/// A moment as RFC 3339 UTC with milliseconds.
pub fn format(moment: OffsetDateTime) -> String {
    let layout =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z");
    moment.to_offset(time::UtcOffset::UTC).format(&layout).unwrap_or_default()
}

/// The current calendar month, `YYYY-MM` (UTC): the unit of monthly active users.
pub fn month() -> String {
    let now = OffsetDateTime::now_utc();
    format!("{:04}-{:02}", now.year(), u8::from(now.month()))
}

/// Seconds since the Unix epoch, for JWT `exp`/`nbf`/`iat`.
pub fn unix_seconds() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}
