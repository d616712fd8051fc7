//! The own user's mutes as the official client keeps them: `client.mutedUsers` and `client.mutedChannels`, taken
//! whole from `me` on connect and from `notification.mutes_updated` / `notification.channel_mutes_updated` (no mute
//! call changes them), and the two questions apps ask of them.

use js_sys::{Array, Date};
use wasm_bindgen::JsValue;

use super::values::{array, date, get, object, text, time};

/// Whether `mutes` (`client.mutedUsers`) has one of the user `target_id` (expired or not, as the official client).
pub fn user_muted(mutes: &JsValue, target_id: &str) -> bool {
    array(mutes.clone())
        .iter()
        .any(|mute| text(&get(&mute, "target"), "id").as_deref() == Some(target_id))
}

/// `channel.muteStatus()`: `{muted, createdAt, expiresAt}` from the first of `mutes` (`client.mutedChannels`) for
/// the channel `cid`; a mute past its `expires` is not muted.
pub fn channel_mute_status(mutes: &JsValue, cid: &str) -> JsValue {
    let found: Option<JsValue> = array(mutes.clone())
        .iter()
        .find(|mute| text(&get(mute, "channel"), "cid").as_deref() == Some(cid));
    let Some(mute) = found else {
        return object(&[
            ("muted", false.into()),
            ("createdAt", JsValue::NULL),
            ("expiresAt", JsValue::NULL),
        ]);
    };
    let expires = time(&mute, "expires");
    let created = time(&mute, "created_at").unwrap_or_else(Date::now);
    object(&[
        ("muted", expires.is_none_or(|expires| expires > Date::now()).into()),
        ("createdAt", date(created)),
        ("expiresAt", expires.map_or(JsValue::NULL, date)),
    ])
}

/// Whether a `message.new` `frame` in `cid` comes from a user, or is in a channel, that `mutes` (`mutedUsers`,
/// `mutedChannels`) hold: such a message is unread for nobody (the official client's `_countMessageAsUnread`).
pub fn muted_message(mutes: &(JsValue, JsValue), frame: &JsValue, cid: &str) -> bool {
    let sender = text(&get(&get(frame, "message"), "user"), "id").unwrap_or_default();
    (array(mutes.0.clone()).length() > 0 && user_muted(&mutes.0, &sender))
        || (array(mutes.1.clone()).length() > 0
            && get(&channel_mute_status(&mutes.1, cid), "muted").is_truthy())
}

/// `value` if it is a list, else an empty one (what the getters answer before any `me`).
pub fn listed(value: &JsValue) -> JsValue {
    if Array::is_array(value) {
        value.clone()
    } else {
        Array::new().into()
    }
}
