//! The `StreamChat` methods beyond the connection: users (updates, queries, `client.state`), messages by id
//! (edit, delete, get), unread counts, and the client's channels (`activeChannels`, `getChannelById`,
//! `dispatchEvent`). A second `#[wasm_bindgen] impl` block of the same JS class.

use alloc::string::String;

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::OptionalArgument;

use super::StreamChat;
use crate::api::routes::{self as api, request};

#[wasm_bindgen]
impl StreamChat {
    /// The channels this client queried or watched, by cid (deleted ones leave it), as the official client's
    /// `activeChannels`.
    #[wasm_bindgen(getter = activeChannels, unchecked_return_type = "Record<string, Channel>")]
    pub fn active_channels(&self) -> JsValue {
        let active = js_sys::Object::new();
        for slot in &self.client.state_ref().channels {
            if let (true, false, Some(cid)) = (slot.initialized, slot.deleted, slot.cid()) {
                let _ = js_sys::Reflect::set(&active, &cid.into(), &slot.object);
            }
        }
        active.into()
    }

    /// The channel object of `type:id`, as `client.channel(type, id, custom)`.
    #[wasm_bindgen(js_name = getChannelById)]
    pub fn get_channel_by_id(
        &self,
        #[wasm_bindgen(js_name = channelType)] channel_type: String,
        #[wasm_bindgen(js_name = channelID)] channel_id: String,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelData")] custom: JsValue,
    ) -> JsValue {
        self.channel(channel_type, Some(channel_id.into()), custom)
    }

    /// Handles `event` as if the server had sent it: channel state first, then the client's and the channel's
    /// handlers (the official client's `dispatchEvent`, local only).
    #[wasm_bindgen(js_name = dispatchEvent)]
    pub fn dispatch_event(&self, #[wasm_bindgen(unchecked_param_type = "Event")] event: JsValue) {
        self.client.dispatch_frame(&event);
    }

    /// Creates or replaces a user (`POST /users`); a user token may send only its own user, and not change its
    /// role. Its connections and the watchers of its channels get `user.updated`.
    #[wasm_bindgen(js_name = upsertUser, unchecked_return_type = "Promise<UpdateUsersResponse>")]
    pub fn upsert_user(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserObject")] user: JsValue,
    ) -> Promise {
        crate::api::users::upsert_users(self.client.port.clone(), &user)
    }

    /// [`upsertUser`](Self::upsert_user) for several users in one call.
    #[wasm_bindgen(js_name = upsertUsers, unchecked_return_type = "Promise<UpdateUsersResponse>")]
    pub fn upsert_users(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserObject[]")] users: JsValue,
    ) -> Promise {
        crate::api::users::upsert_users(self.client.port.clone(), &users)
    }

    /// Changes some fields of a user (`PATCH /users`): `set` (privacy settings merge per feature) and `unset`.
    /// Privacy settings of the own user apply at once, on every path, without a reconnect.
    #[wasm_bindgen(js_name = partialUpdateUser, unchecked_return_type = "Promise<UpdateUsersResponse>")]
    pub fn partial_update_user(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PartialUserUpdate")] update: JsValue,
    ) -> Promise {
        crate::api::users::partial_update_users(self.client.port.clone(), &update)
    }

    /// [`partialUpdateUser`](Self::partial_update_user) for several users in one call.
    #[wasm_bindgen(js_name = partialUpdateUsers, unchecked_return_type = "Promise<UpdateUsersResponse>")]
    pub fn partial_update_users(
        &self,
        #[wasm_bindgen(unchecked_param_type = "PartialUserUpdate[]")] updates: JsValue,
    ) -> Promise {
        crate::api::users::partial_update_users(self.client.port.clone(), &updates)
    }

    /// Users matching `filter` (`id`, `role`, `name` with `$eq` / `$in` / `$autocomplete`, `online`, `$and` /
    /// `$or`), sorted (`{name: 1}` or a list) and paged (`limit`, `offset`); `presence: true` subscribes this
    /// connection to their `user.presence.changed`. Resolves with `{users}`; they also go into
    /// `client.state.users`.
    #[wasm_bindgen(js_name = queryUsers, unchecked_return_type = "Promise<{ users: UserResponse[]; duration: string }>")]
    pub fn query_users(
        &self,
        #[wasm_bindgen(unchecked_param_type = "UserFilters")] filter: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "UserSort")] sort: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "UserOptions")] options: JsValue,
    ) -> Promise {
        crate::api::users::query_users(
            self.client.port.clone(),
            &filter,
            &sort.or_undefined(),
            &options.or_undefined(),
        )
    }

    /// `client.state`: `users`, every user this client has seen, by id, kept current by `user.updated` and
    /// `user.presence.changed`.
    #[wasm_bindgen(getter, unchecked_return_type = "{ users: Record<string, UserResponse> }")]
    pub fn state(&self) -> JsValue {
        self.client.state_ref().client_state.clone()
    }

    /// Replaces a message's text and fields (`POST /messages/{id}`); only its author may. Watchers, this client
    /// included, get `message.updated` and their `channel.state` follows.
    #[wasm_bindgen(js_name = updateMessage, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn update_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "MessageInput & { id: string }")] message: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_optional_param_type = "string | { id: string }")]
        user_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        crate::api::messages::update_message(
            self.client.port.clone(),
            &message,
            &user_id.or_undefined(),
            &options.or_undefined(),
        )
    }

    /// Sets and unsets fields of a message (`PUT /messages/{id}`); only its author may.
    #[wasm_bindgen(js_name = partialUpdateMessage, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn partial_update_message(
        &self,
        id: String,
        #[wasm_bindgen(
            unchecked_param_type = "{ set?: Record<string, unknown>; unset?: string[] }"
        )]
        update: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_optional_param_type = "string | { id: string }")]
        user_id: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        crate::api::messages::partial_update_message(
            self.client.port.clone(),
            &id,
            &update,
            &user_id.or_undefined(),
            &options.or_undefined(),
        )
    }

    /// Pins a message (any member with `pin-message` may), for `timeoutOrExpirationDate` (seconds, a time, a
    /// `Date`) or for good; watchers get `message.updated` with `pinned: true` and `state.pinnedMessages` follows.
    #[wasm_bindgen(js_name = pinMessage, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn pin_message(
        &self,
        #[wasm_bindgen(js_name = messageOrMessageId, unchecked_param_type = "string | { id: string }")]
        message: JsValue,
        #[wasm_bindgen(js_name = timeoutOrExpirationDate, unchecked_optional_param_type = "number | string | Date | null")]
        expires: JsValue,
        #[wasm_bindgen(js_name = pinnedBy, unchecked_optional_param_type = "string | { id: string }")]
        pinned_by: JsValue,
    ) -> Promise {
        let port = self.client.port.clone();
        let (expires, by) = (expires.or_undefined(), pinned_by.or_undefined());
        crate::api::messages::pin_message(port, &message, &expires, &by, true)
    }

    /// Lifts a message's pin.
    #[wasm_bindgen(js_name = unpinMessage, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn unpin_message(
        &self,
        #[wasm_bindgen(js_name = messageOrMessageId, unchecked_param_type = "string | { id: string }")]
        message: JsValue,
        #[wasm_bindgen(js_name = userId, unchecked_optional_param_type = "string | { id: string }")]
        user_id: JsValue,
    ) -> Promise {
        let port = self.client.port.clone();
        let by = user_id.or_undefined();
        crate::api::messages::pin_message(port, &message, &JsValue::UNDEFINED, &by, false)
    }

    /// Deletes a message: soft (it stays, `type: 'deleted'`), or hard (`true` or `{hardDelete: true}`, server
    /// tokens only). Only its author may.
    #[wasm_bindgen(js_name = deleteMessage, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn delete_message(
        &self,
        id: String,
        #[wasm_bindgen(js_name = hardDelete, unchecked_optional_param_type = "boolean | { hardDelete?: boolean }")]
        hard_delete: JsValue,
    ) -> Promise {
        crate::api::messages::delete_message(
            self.client.port.clone(),
            &id,
            &hard_delete.or_undefined(),
        )
    }

    /// A message by id (`GET /messages/{id}`), from a channel this user may read.
    #[wasm_bindgen(js_name = getMessage, unchecked_return_type = "Promise<{ message: MessageResponse }>")]
    pub fn get_message(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
    ) -> Promise {
        request(&self.client.port, 0, &api::GET_MESSAGE, &[id])
    }

    /// The user's unread messages in all and per channel (`GET /unread`).
    #[wasm_bindgen(js_name = getUnreadCount, unchecked_return_type = "Promise<{ total_unread_count: number; channels: { channel_id: string; unread_count: number; last_read: string }[] }>")]
    pub fn get_unread_count(&self) -> Promise {
        request(&self.client.port, 0, &api::GET_UNREAD_COUNT, &[])
    }

    /// Marks every channel of the user read (`POST /channels/read`); the user's connections get
    /// `notification.mark_read` and every channel's state follows.
    #[wasm_bindgen(js_name = markAllRead)]
    pub fn mark_all_read(&self) -> Promise {
        request(&self.client.port, 0, &api::MARK_ALL_READ, &[])
    }
}
