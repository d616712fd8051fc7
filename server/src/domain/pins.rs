//! Pinned messages (PROTOCOL.md §22.7): a pin is set and lifted through the message's partial update (`pinMessage`
//! sends `set: {pinned, pin_expires}`), kept by the server in the message's fields (`pinned`, `pinned_at`,
//! `pinned_by`, `pin_expires`, which clients cannot write otherwise), kept across edits, and over once
//! `pin_expires` has passed.

use serde_json::{json, Map, Value};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::clock;
use crate::error::AppError;

/// The fields of a pin.
pub const PIN_FIELDS: [&str; 4] = ["pinned", "pinned_at", "pinned_by", "pin_expires"];

/// What a partial update asks of the pin.
#[derive(Debug, Clone, PartialEq)]
pub enum PinChange {
    /// Pin it, until the time given (store format) or for good.
    Pin { expires: Option<String> },
    /// Lift the pin.
    Unpin,
}

/// The pin change in a partial update's `set` / `unset` (taken out of `set`), if any: `pinned` must be a boolean,
/// `pin_expires` null or an RFC 3339 time; `pinned_at` / `pinned_by` are the server's and ignored.
pub fn take_change(
    set: &mut Map<String, Value>,
    unset: &[String],
) -> Result<Option<PinChange>, AppError> {
    let pinned = set.remove("pinned");
    let expires = set.remove("pin_expires");
    set.remove("pinned_at");
    set.remove("pinned_by");
    if unset.iter().any(|key| key == "pinned") {
        return Ok(Some(PinChange::Unpin));
    }
    match pinned {
        None => Ok(None),
        Some(Value::Bool(false)) => Ok(Some(PinChange::Unpin)),
        Some(Value::Bool(true)) => {
            let expires = match expires {
                None | Some(Value::Null) => None,
                Some(Value::String(at)) => Some(
                    OffsetDateTime::parse(&at, &Rfc3339)
                        .map(clock::format)
                        .map_err(|_| AppError::input("pin_expires must be an RFC 3339 time"))?,
                ),
                Some(_) => return Err(AppError::input("pin_expires must be a time or null")),
            };
            Ok(Some(PinChange::Pin { expires }))
        }
        Some(_) => Err(AppError::input("pinned must be true or false")),
    }
}

/// `extra` (a message's checked fields, which hold no pin) with the pin `before` had, changed by `change` made by
/// `user` at `now`.
pub fn apply(
    extra: &mut Map<String, Value>,
    before: &Map<String, Value>,
    change: Option<&PinChange>,
    user: &str,
    now: &str,
) {
    match change {
        None => {
            for field in PIN_FIELDS {
                if let Some(value) = before.get(field) {
                    extra.insert(field.into(), value.clone());
                }
            }
        }
        Some(PinChange::Unpin) => {}
        Some(PinChange::Pin { expires }) => {
            extra.insert("pinned".into(), true.into());
            extra.insert("pinned_at".into(), now.into());
            extra.insert("pinned_by".into(), json!({ "id": user }));
            extra.insert("pin_expires".into(), expires.clone().into());
        }
    }
}

/// Whether a message's fields say it is pinned now (pinned, and not past `pin_expires`).
pub fn is_pinned(extra: &Map<String, Value>) -> bool {
    if extra.get("pinned").and_then(Value::as_bool) != Some(true) {
        return false;
    }
    match extra.get("pin_expires").and_then(Value::as_str) {
        Some(expires) => expires > clock::timestamp().as_str(),
        None => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_are_taken_from_a_partial_update_and_kept_across_edits() {
        let mut set = json!({"pinned": true, "pin_expires": "2030-01-01T00:00:00Z", "text": "x"})
            .as_object()
            .cloned()
            .unwrap();
        let change = take_change(&mut set, &[]).unwrap();
        assert_eq!(
            change,
            Some(PinChange::Pin { expires: Some("2030-01-01T00:00:00.000Z".into()) })
        );
        assert_eq!(set.keys().collect::<Vec<_>>(), ["text"]);
        let mut extra = Map::new();
        apply(&mut extra, &Map::new(), change.as_ref(), "alice", "2026-01-01T00:00:00.000Z");
        assert!(is_pinned(&extra));
        assert_eq!(extra["pinned_by"]["id"], "alice");
        let mut edited = Map::new();
        apply(&mut edited, &extra, None, "bob", "later");
        assert_eq!(edited, extra, "an edit keeps the pin");
        let mut bad = json!({"pinned": "yes"}).as_object().cloned().unwrap();
        assert!(take_change(&mut bad, &[]).is_err());
        let mut expired = extra.clone();
        expired.insert("pin_expires".into(), "2000-01-01T00:00:00.000Z".into());
        assert!(!is_pinned(&expired));
        assert_eq!(
            take_change(&mut Map::new(), &["pinned".into()]).unwrap(),
            Some(PinChange::Unpin)
        );
    }
}
