//! The own user's mutes as the official client keeps them: `client.mutedUsers` and `client.mutedChannels`, taken
//! whole from `me` on connect and from `notification.mutes_updated` / `notification.channel_mutes_updated` (no mute
//! call changes them), and the two questions apps ask of them.

use js_sys::Date;
use wasm_bindgen::JsValue;

use crate::platform::values::{array, date, get, object, text, time};

/// Whether `mutes` (`client.mutedUsers`) has one of the user `target_id` (expired or not, as the official client).
pub fn user_muted(mutes: &JsValue, target_id: &str) -> bool {
    array(mutes.clone())
        .iter()
        .any(|mute| text(&get(&mute, "target"), "id").as_deref() == Some(target_id))
}

/// The first of `mutes` (`client.mutedChannels`) for the channel `cid`.
fn channel_mute(mutes: &JsValue, cid: &str) -> Option<JsValue> {
    array(mutes.clone())
        .iter()
        .find(|mute| text(&get(mute, "channel"), "cid").as_deref() == Some(cid))
}

/// Whether a channel mute is in force: no `expires`, or one still ahead.
fn in_force(mute: &JsValue) -> bool {
    time(mute, "expires").is_none_or(|expires| expires > Date::now())
}

/// `channel.muteStatus()`: `{muted, createdAt, expiresAt}` from the first of `mutes` (`client.mutedChannels`) for
/// the channel `cid`; a mute past its `expires` is not muted.
pub fn channel_mute_status(mutes: &JsValue, cid: &str) -> JsValue {
    let Some(mute) = channel_mute(mutes, cid) else {
        return object(&[
            ("muted", false.into()),
            ("createdAt", JsValue::NULL),
            ("expiresAt", JsValue::NULL),
        ]);
    };
    let created = time(&mute, "created_at").unwrap_or_else(Date::now);
    object(&[
        ("muted", in_force(&mute).into()),
        ("createdAt", date(created)),
        ("expiresAt", time(&mute, "expires").map_or(JsValue::NULL, date)),
    ])
}

/// Whether a `message.new` `frame` in `cid` comes from a user, or is in a channel, that `mutes` (`mutedUsers`,
/// `mutedChannels`) hold: such a message is unread for nobody (the official client's `_countMessageAsUnread`).
pub fn muted_message(mutes: &(JsValue, JsValue), frame: &JsValue, cid: &str) -> bool {
    let sender = text(&get(&get(frame, "message"), "user"), "id").unwrap_or_default();
    user_muted(&mutes.0, &sender) || channel_mute(&mutes.1, cid).is_some_and(|mute| in_force(&mute))
}
