//! Moderation as the official client offers it (PROTOCOL.md §22.4): on `StreamChat`, user mutes with
//! `mutedUsers` / `mutedChannels` / `userMuteStatus`, blocks, flags and bans; on `Channel`, its mute, `muteStatus`
//! and bans in it. Second `#[wasm_bindgen] impl` blocks of both classes; every call is a table row
//! (`api::routes`).

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::OptionalArgument;

use super::channel::Channel;
use super::StreamChat;
use crate::api::routes::{self as api, request, Route};
use crate::platform::values::{array, get};
use crate::state::mutes;

#[wasm_bindgen]
impl StreamChat {
    /// Mutes a user for the own user (`options.timeout` in minutes): their messages no longer count as unread.
    /// `client.mutedUsers` follows when the server's `notification.mutes_updated` arrives.
    #[wasm_bindgen(js_name = muteUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn mute_user(
        &self,
        #[wasm_bindgen(js_name = targetID)] target_id: JsValue,
        #[wasm_bindgen(js_name = userID, unchecked_optional_param_type = "string")]
        user_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ timeout?: number }")] options: JsValue,
    ) -> Promise {
        let args = [target_id, user_id.or_undefined(), options.or_undefined()];
        request(&self.client.port, 0, &api::MUTE_USER, &args)
    }

    /// Ends a mute.
    #[wasm_bindgen(js_name = unmuteUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn unmute_user(
        &self,
        #[wasm_bindgen(js_name = targetID)] target_id: JsValue,
        #[wasm_bindgen(js_name = currentUserID, unchecked_optional_param_type = "string")]
        user_id: JsValue,
    ) -> Promise {
        request(&self.client.port, 0, &api::UNMUTE_USER, &[target_id, user_id.or_undefined()])
    }

    /// The own user's mutes (`{user, target, created_at, expires}`), as the server last said.
    #[wasm_bindgen(getter = mutedUsers, unchecked_return_type = "Mute[]")]
    pub fn muted_users(&self) -> JsValue {
        array(self.client.state_ref().mutes.0.clone()).into()
    }

    /// The own user's channel mutes (`{user, channel, created_at, expires}`), as the server last said.
    #[wasm_bindgen(getter = mutedChannels, unchecked_return_type = "ChannelMute[]")]
    pub fn muted_channels(&self) -> JsValue {
        array(self.client.state_ref().mutes.1.clone()).into()
    }

    /// Whether the own user muted `targetID`.
    #[wasm_bindgen(js_name = userMuteStatus)]
    pub fn user_mute_status(
        &self,
        #[wasm_bindgen(js_name = targetID, unchecked_param_type = "string")] target_id: JsValue,
    ) -> bool {
        mutes::user_muted(&self.client.state_ref().mutes.0, &target_id)
    }

    /// Blocks a user: their messages and events no longer reach the own user.
    #[wasm_bindgen(js_name = blockUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn block_user(
        &self,
        #[wasm_bindgen(js_name = blockedUserID)] blocked: JsValue,
        #[wasm_bindgen(js_name = user_id, unchecked_optional_param_type = "string")]
        user_id: JsValue,
    ) -> Promise {
        request(&self.client.port, 0, &api::BLOCK_USER, &[blocked, user_id.or_undefined()])
    }

    /// Ends a block.
    #[wasm_bindgen(js_name = unBlockUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn unblock_user(
        &self,
        #[wasm_bindgen(js_name = blockedUserID)] blocked: JsValue,
        #[wasm_bindgen(js_name = userID, unchecked_optional_param_type = "string")]
        user_id: JsValue,
    ) -> Promise {
        request(&self.client.port, 0, &api::UNBLOCK_USER, &[blocked, user_id.or_undefined()])
    }

    /// The own user's blocks: `{blocks: [{user_id, blocked_user_id, blocked_user, created_at}]}`.
    #[wasm_bindgen(js_name = getBlockedUsers, unchecked_return_type = "Promise<{ blocks: { user_id: string; blocked_user_id: string; blocked_user: UserResponse; created_at: string }[] }>")]
    pub fn get_blocked_users(
        &self,
        #[wasm_bindgen(js_name = user_id, unchecked_optional_param_type = "string")]
        user_id: JsValue,
    ) -> Promise {
        request(&self.client.port, 0, &api::GET_BLOCKED_USERS, &[user_id.or_undefined()])
    }

    /// Flags a message for moderators (`options.reason`).
    #[wasm_bindgen(js_name = flagMessage, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn flag_message(
        &self,
        #[wasm_bindgen(js_name = targetMessageID)] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ reason?: string }")] options: JsValue,
    ) -> Promise {
        request(&self.client.port, 0, &api::FLAG_MESSAGE, &[id, options.or_undefined()])
    }

    /// Flags a user for moderators (`options.reason`).
    #[wasm_bindgen(js_name = flagUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn flag_user(
        &self,
        #[wasm_bindgen(js_name = targetID)] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ reason?: string }")] options: JsValue,
    ) -> Promise {
        request(&self.client.port, 0, &api::FLAG_USER, &[id, options.or_undefined()])
    }

    /// Bans a user everywhere, or in the channel `options.type` / `options.id` (`timeout` in minutes, `reason`).
    #[wasm_bindgen(js_name = banUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn ban_user(
        &self,
        #[wasm_bindgen(js_name = targetUserID)] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "BanUserOptions")] options: JsValue,
    ) -> Promise {
        request(&self.client.port, 0, &api::BAN_USER, &[id, options.or_undefined()])
    }

    /// A ban its user does not notice: their messages reach others as `shadowed`.
    #[wasm_bindgen(js_name = shadowBan, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn shadow_ban(
        &self,
        #[wasm_bindgen(js_name = targetUserID)] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "BanUserOptions")] options: JsValue,
    ) -> Promise {
        let args =
            [id, options.or_undefined(), JsValue::UNDEFINED, JsValue::UNDEFINED, true.into()];
        request(&self.client.port, 0, &api::BAN_USER, &args)
    }

    /// Lifts a ban (in the channel `options.type` / `options.id` when given).
    #[wasm_bindgen(js_name = unbanUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn unban_user(
        &self,
        #[wasm_bindgen(js_name = targetUserID)] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ type?: string; id?: string }")]
        options: JsValue,
    ) -> Promise {
        let options = options.or_undefined();
        let (kind, channel) = (get(&options, "type"), get(&options, "id"));
        let route: &'static Route =
            if kind.is_undefined() { &api::UNBAN_USER } else { &api::UNBAN_IN_CHANNEL };
        request(&self.client.port, 0, route, &[id, kind, channel])
    }

    /// Lifts a shadow ban.
    #[wasm_bindgen(js_name = removeShadowBan, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn remove_shadow_ban(
        &self,
        #[wasm_bindgen(js_name = targetUserID)] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "{ type?: string; id?: string }")]
        options: JsValue,
    ) -> Promise {
        self.unban_user(id, options)
    }
}

#[wasm_bindgen]
impl Channel {
    /// Mutes the channel for the own user (`options.expiration` in milliseconds): its messages no longer count as
    /// unread. `client.mutedChannels` follows when `notification.channel_mutes_updated` arrives.
    #[wasm_bindgen(unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn mute(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "{ expiration?: number }")] options: JsValue,
    ) -> Promise {
        let args = [options.or_undefined(), self.cid()];
        request(&self.port, self.key, &api::MUTE_CHANNEL, &args)
    }

    /// Ends the channel's mute.
    #[wasm_bindgen(unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn unmute(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        let args = [options.or_undefined(), self.cid()];
        request(&self.port, self.key, &api::UNMUTE_CHANNEL, &args)
    }

    /// `{muted, createdAt, expiresAt}` for this channel, from `client.mutedChannels`.
    #[wasm_bindgen(js_name = muteStatus, unchecked_return_type = "{ muted: boolean; createdAt: Date | null; expiresAt: Date | null }")]
    pub fn mute_status(&self) -> JsValue {
        let mutes = self.port.live().map(|client| client.state_ref().mutes.1.clone());
        mutes::channel_mute_status(&mutes.unwrap_or_default(), &self.cid())
    }

    /// Bans a user from this channel (`timeout` in minutes, `reason`).
    #[wasm_bindgen(js_name = banUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn ban_user(
        &self,
        #[wasm_bindgen(js_name = targetUserID)] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "BanUserOptions")] options: JsValue,
    ) -> Promise {
        self.ban(id, options, JsValue::UNDEFINED)
    }

    /// Shadow-bans a user in this channel.
    #[wasm_bindgen(js_name = shadowBan, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn shadow_ban(
        &self,
        #[wasm_bindgen(js_name = targetUserID)] id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "BanUserOptions")] options: JsValue,
    ) -> Promise {
        self.ban(id, options, true.into())
    }

    /// Lifts a ban in this channel.
    #[wasm_bindgen(js_name = unbanUser, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn unban_user(&self, #[wasm_bindgen(js_name = targetUserID)] id: JsValue) -> Promise {
        let (kind, channel) = (self.kind(), self.id());
        request(&self.port, self.key, &api::UNBAN_IN_CHANNEL, &[id, kind, channel])
    }

    /// Lifts a shadow ban in this channel.
    #[wasm_bindgen(js_name = removeShadowBan, unchecked_return_type = "Promise<Record<string, unknown>>")]
    pub fn remove_shadow_ban(
        &self,
        #[wasm_bindgen(js_name = targetUserID)] id: JsValue,
    ) -> Promise {
        self.unban_user(id)
    }
}

impl Channel {
    /// `banUser` / `shadowBan` in this channel.
    fn ban(&self, id: JsValue, options: JsValue, shadow: JsValue) -> Promise {
        let args = [id, options.or_undefined(), self.kind(), self.id(), shadow];
        request(&self.port, self.key, &api::BAN_USER, &args)
    }
}
