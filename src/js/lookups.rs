//! Lookups that change no state (PROTOCOL.md §22.7, §22.9): `channel.getMessagesById`, `channel.getReactions`,
//! `channel.getPinnedMessages`, `client.queryReactions`, `client.queryThreads` and `client.getThread`, over
//! `api::lookups`.

use alloc::string::String;

use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;

use super::OptionalArgument;

use super::channel::Channel;
use super::StreamChat;
use crate::api::lookups::{self, get_thread, pinned_messages, query_reactions, query_threads};
use crate::api::routes::request;

#[wasm_bindgen]
impl Channel {
    /// This channel's messages with these ids (those that exist), as `{messages}`.
    #[wasm_bindgen(js_name = getMessagesById, unchecked_return_type = "Promise<{ messages: MessageResponse[]; duration: string }>")]
    pub fn get_messages_by_id(
        &self,
        #[wasm_bindgen(js_name = messageIds, unchecked_param_type = "string[]")] ids: JsValue,
    ) -> Promise {
        let joined: String = Array::from(&ids).join(",").into();
        request(&self.port, self.key, &lookups::GET_MESSAGES_BY_ID, &[joined.into()])
    }

    /// A page of a message's reactions, newest first (`{limit, offset}`).
    #[wasm_bindgen(js_name = getReactions, unchecked_return_type = "Promise<{ reactions: ReactionResponse[]; duration: string }>")]
    pub fn get_reactions(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        #[wasm_bindgen(unchecked_optional_param_type = "{ limit?: number; offset?: number }")]
        options: JsValue,
    ) -> Promise {
        let args = [message_id.into(), options.or_undefined()];
        request(&self.port, self.key, &lookups::GET_REACTIONS, &args)
    }

    /// The channel's pinned messages, latest pin first (`sort: {pinned_at: 1}` for the oldest), as `{messages}`.
    #[wasm_bindgen(js_name = getPinnedMessages, unchecked_return_type = "Promise<{ messages: MessageResponse[]; duration: string }>")]
    pub fn get_pinned_messages(
        &self,
        #[wasm_bindgen(
            unchecked_param_type = "{ limit?: number; offset?: number; user_id?: string }"
        )]
        options: JsValue,
        #[wasm_bindgen(
            unchecked_optional_param_type = "Record<string, 1 | -1> | Record<string, 1 | -1>[]"
        )]
        sort: Option<JsValue>,
    ) -> Promise {
        pinned_messages(&self.port, self.key, &options, &sort.unwrap_or_default())
    }
}

#[wasm_bindgen]
impl StreamChat {
    /// A message's reactions matching `filter` (`type`, `user_id`), sorted by `created_at`, paged with
    /// `options.limit` and the answer's `next`.
    #[wasm_bindgen(js_name = queryReactions, unchecked_return_type = "Promise<{ reactions: ReactionResponse[]; next?: string; duration: string }>")]
    pub fn query_reactions(
        &self,
        #[wasm_bindgen(js_name = messageID)] message_id: String,
        #[wasm_bindgen(unchecked_param_type = "Record<string, unknown>")] filter: JsValue,
        #[wasm_bindgen(
            unchecked_optional_param_type = "Record<string, 1 | -1> | Record<string, 1 | -1>[]"
        )]
        sort: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "{ limit?: number; next?: string }")]
        options: JsValue,
    ) -> Promise {
        let (sort, options) = (sort.unwrap_or_default(), options.or_undefined());
        query_reactions(&self.client.port, &message_id, &filter, &sort, &options)
    }

    /// The threads this user takes part in, latest reply first (`{limit, reply_limit, participant_limit, watch,
    /// next}`): `{threads, next?}`, each thread a `ThreadResponse` (parent, latest replies, participants, `read`
    /// with each user's unread replies), not the official client's `Thread` class.
    #[wasm_bindgen(js_name = queryThreads, unchecked_return_type = "Promise<{ threads: ThreadResponse[]; next?: string; duration: string }>")]
    pub fn query_threads(
        &self,
        #[wasm_bindgen(unchecked_optional_param_type = "QueryThreadsOptions")] options: JsValue,
    ) -> Promise {
        query_threads(&self.client.port, &options.or_undefined())
    }

    /// One thread by its parent message's id, as `queryThreads` gives them: `{thread}`.
    #[wasm_bindgen(js_name = getThread, unchecked_return_type = "Promise<{ thread: ThreadResponse; duration: string }>")]
    pub fn get_thread(
        &self,
        #[wasm_bindgen(js_name = messageId)] message_id: String,
        #[wasm_bindgen(unchecked_optional_param_type = "QueryThreadsOptions")] options: JsValue,
    ) -> Promise {
        get_thread(&self.client.port, &message_id, &options.or_undefined())
    }
}
