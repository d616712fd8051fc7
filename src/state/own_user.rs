//! `client.user`: the object given to `connectUser`, then the server's `me`, kept through `user.updated` for the
//! own user.

use js_sys::Reflect;
use wasm_bindgen::JsValue;

use crate::platform::values::{copy, get, set};

/// Fields of the own user the server sends only to them; kept when a `user.updated` leaves them out (the official
/// client's `isOwnUserBaseProperty`).
const OWN_USER_BASE: &[&str] = &[
    "channel_mutes",
    "devices",
    "mutes",
    "total_unread_count",
    "unread_channels",
    "unread_count",
    "unread_threads",
    "invisible",
    "privacy_settings",
    "roles",
    "push_preferences",
    "total_unread_count_by_team",
];

/// `client.user` after a `user.updated` for the own user: the event's user, plus the own-user fields it left out
/// (a field it dropped that others also see was removed).
pub fn merge_own_user(current: &JsValue, updated: &JsValue) -> JsValue {
    let merged = copy(updated);
    for key in OWN_USER_BASE {
        let kept = get(current, key);
        if !kept.is_undefined() && !Reflect::has(&merged, &(*key).into()).unwrap_or(false) {
            set(&merged, key, &kept);
        }
    }
    merged
}
