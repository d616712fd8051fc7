//! The `Channel` methods that manage a channel (PROTOCOL.md §22.3): `update`, `updatePartial`, slow mode,
//! moderators, `hide` / `show`, `truncate`, `delete`, `queryMembers`. A second `#[wasm_bindgen] impl` block of the same JS class;
//! every method is a table row (`api::routes`), so each costs its row and its shim.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::OptionalArgument;

use super::channel::Channel;
use crate::api::routes::{self as api, request};
use crate::platform::values::get;

#[wasm_bindgen]
impl Channel {
    /// Replaces the channel's custom data (fields not sent are removed); watchers get `channel.updated`, and a
    /// `message` is posted with the change. `channel.data` becomes the answer's channel.
    #[wasm_bindgen(unchecked_return_type = "Promise<UpdateChannelResponse>")]
    pub fn update(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "ChannelData")] data: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "MessageInput")] message: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        let args = [data.or_undefined(), message.or_undefined(), options.or_undefined()];
        request(&self.port, self.key, &api::UPDATE, &args)
    }

    /// Sets and unsets some custom fields (`{set, unset}`; `set: {frozen: true}` freezes the channel).
    #[wasm_bindgen(js_name = updatePartial, unchecked_return_type = "Promise<UpdateChannelResponse>")]
    pub fn update_partial(
        &self,
        #[wasm_bindgen(unchecked_param_type = "{ set?: Partial<ChannelData>; unset?: string[] }")]
        update: JsValue,
    ) -> Promise {
        request(&self.port, self.key, &api::UPDATE_PARTIAL, &[update])
    }

    /// Slow mode: each member may send one message per `coolDownInterval` seconds (moderators are exempt).
    #[wasm_bindgen(js_name = enableSlowMode, unchecked_return_type = "Promise<UpdateChannelResponse>")]
    pub fn enable_slow_mode(
        &self,
        #[wasm_bindgen(js_name = coolDownInterval, unchecked_param_type = "number")]
        seconds: JsValue,
    ) -> Promise {
        request(&self.port, self.key, &api::SLOW_MODE, &[seconds])
    }

    /// Ends slow mode.
    #[wasm_bindgen(js_name = disableSlowMode, unchecked_return_type = "Promise<UpdateChannelResponse>")]
    pub fn disable_slow_mode(&self) -> Promise {
        request(&self.port, self.key, &api::SLOW_MODE, &[0.into()])
    }

    /// Makes members moderators (moderators only); watchers get `member.updated`.
    #[wasm_bindgen(js_name = addModerators, unchecked_return_type = "Promise<UpdateChannelResponse>")]
    pub fn add_moderators(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] members: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "MessageInput")] message: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        let args = [members, message.or_undefined(), options.or_undefined()];
        request(&self.port, self.key, &api::ADD_MODERATORS, &args)
    }

    /// Makes moderators plain members again.
    #[wasm_bindgen(js_name = demoteModerators, unchecked_return_type = "Promise<UpdateChannelResponse>")]
    pub fn demote_moderators(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string[]")] members: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "MessageInput")] message: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")] options: JsValue,
    ) -> Promise {
        let args = [members, message.or_undefined(), options.or_undefined()];
        request(&self.port, self.key, &api::DEMOTE_MODERATORS, &args)
    }

    /// Hides the channel from the user's channel lists until a new message arrives or `show()`;
    /// `clearHistory` also empties its messages here. The user's connections get `channel.hidden`.
    pub fn hide(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_optional_param_type = "string | null")]
        user_id: JsValue,
        #[wasm_bindgen(js_name = clearHistory, unchecked_optional_param_type = "boolean")]
        clear_history: JsValue,
    ) -> Promise {
        let args = [user_id.or_undefined(), clear_history.or_undefined()];
        request(&self.port, self.key, &api::HIDE, &args)
    }

    /// Shows a hidden channel again; the user's connections get `channel.visible`.
    pub fn show(
        &self,
        #[wasm_bindgen(js_name = userId, unchecked_optional_param_type = "string | null")]
        user_id: JsValue,
    ) -> Promise {
        request(&self.port, self.key, &api::SHOW, &[user_id.or_undefined()])
    }

    /// Removes every message (moderators); watchers get `channel.truncated`, and `options.message` is posted after.
    #[wasm_bindgen(unchecked_return_type = "Promise<UpdateChannelResponse>")]
    pub fn truncate(
        &self,
        #[wasm_bindgen(
            unchecked_optional_param_type = "{ message?: MessageInput; hard_delete?: boolean; skip_push?: boolean }"
        )]
        options: Option<JsValue>,
    ) -> Promise {
        request(&self.port, self.key, &api::TRUNCATE, &[options.unwrap_or_default()])
    }

    /// Deletes the channel (delete-channel); watchers get `channel.deleted` and it leaves `client.activeChannels`.
    #[wasm_bindgen(unchecked_return_type = "Promise<{ channel: ChannelResponse['channel'] }>")]
    pub fn delete(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "{ hard_delete?: boolean }")]
        options: JsValue,
    ) -> Promise {
        let hard = get(&options.or_undefined(), "hard_delete").is_truthy();
        let route = if hard { &api::DELETE_HARD } else { &api::DELETE };
        request(&self.port, self.key, route, &[])
    }

    /// A page of the channel's members: `filter` on `id` / `user_id`, `name` (`$autocomplete`), `channel_role`;
    /// `sort` on `created_at`, `user_id`, `name`; `options.limit` / `offset`.
    #[wasm_bindgen(js_name = queryMembers, unchecked_return_type = "Promise<{ members: ChannelMemberResponse[] }>")]
    pub fn query_members(
        &self,
        #[wasm_bindgen(js_name = filterConditions, unchecked_param_type = "Record<string, unknown>")]
        filter: JsValue,
        #[wasm_bindgen(
            unchecked_optional_param_type = "Record<string, 1 | -1> | { field: string; direction: 1 | -1 }[]"
        )]
        sort: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "{ limit?: number; offset?: number }")]
        options: JsValue,
    ) -> Promise {
        let args =
            [filter, sort.unwrap_or_default(), options.or_undefined(), self.kind(), self.id()];
        request(&self.port, self.key, &api::QUERY_MEMBERS, &args)
    }
}
