//! Message search (PROTOCOL.md §22.8): `client.search` and `channel.search`, one `#[wasm_bindgen] impl` block on
//! each JS class, both over `api::search`.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::OptionalArgument;

use super::channel::Channel;
use super::StreamChat;
use crate::api::search::search;
use crate::platform::values::object;

#[wasm_bindgen]
impl StreamChat {
    /// Messages in the channels matching `filterConditions` (only those this user may read): `query` is words
    /// (a string) or message conditions (`{text: {$autocomplete: 'hel'}, pinned: true}`); newest first, paged by
    /// `options.limit` and the answer's `next`.
    #[wasm_bindgen(unchecked_return_type = "Promise<SearchAPIResponse>")]
    pub fn search(
        &self,
        #[wasm_bindgen(js_name = filterConditions, unchecked_param_type = "ChannelFilters")]
        filter: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | MessageFilters")] query: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SearchOptions")] options: JsValue,
    ) -> Promise {
        search(&self.client.port, &filter, &query, &options.or_undefined())
    }
}

#[wasm_bindgen]
impl Channel {
    /// Messages of this channel: `query` is words (a string) or message conditions; as `client.search`.
    #[wasm_bindgen(unchecked_return_type = "Promise<SearchAPIResponse>")]
    pub fn search(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | MessageFilters")] query: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "SearchOptions")] options: JsValue,
    ) -> Promise {
        let filter = object(&[("cid", self.cid())]);
        search(&self.port, &filter, &query, &options.or_undefined())
    }
}
