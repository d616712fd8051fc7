//! The own user's mutes as the official client keeps them: `client.mutedUsers` and `client.mutedChannels`, taken
//! whole from `me` on connect and from `notification.mutes_updated` / `notification.channel_mutes_updated` (no mute
//! call changes them), and the two questions apps ask of them. Both lists are the server's JS objects, so the
//! questions are asked in JS (`helpers.js`).

use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::JsValue;

#[wasm_bindgen(module = "/src/platform/helpers.js")]
extern "C" {
    /// Whether `mutes` (`client.mutedUsers`) has one of the user `target_id` (expired or not, as the official
    /// client).
    #[wasm_bindgen(js_name = userMuted)]
    pub fn user_muted(mutes: &JsValue, target_id: &JsValue) -> bool;

    /// `channel.muteStatus()`: `{muted, createdAt, expiresAt}` from the first of `mutes`
    /// (`client.mutedChannels`) for the channel `cid`; a mute past its `expires` is not muted.
    #[wasm_bindgen(js_name = channelMuteStatus)]
    pub fn channel_mute_status(mutes: &JsValue, cid: &JsValue) -> JsValue;

    /// Whether a `message.new` `frame` comes from a user, or is in a channel (its `cid`), that `users`
    /// (`mutedUsers`) or `channels` (`mutedChannels`, a mute in force) hold: such a message is unread for nobody
    /// (the official client's `_countMessageAsUnread`).
    #[wasm_bindgen(js_name = mutedMessage)]
    fn muted_in(users: &JsValue, channels: &JsValue, frame: &JsValue) -> bool;
}

/// [`muted_in`] for the client's `(mutedUsers, mutedChannels)`.
pub fn muted_message(mutes: &(JsValue, JsValue), frame: &JsValue) -> bool {
    muted_in(&mutes.0, &mutes.1, frame)
}
