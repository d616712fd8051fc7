//! Built only with the `method-probe` feature, never shipped: sixteen extra REST methods of the kind still to come
//! (channel management, moderation, pins), each a row of the table and a `#[wasm_bindgen]` shim, exactly as a real
//! table-driven method is written. `scripts/size.mjs --methods` builds with and without them and reports the
//! difference per method: what adding one REST method costs an app.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::StreamChat;
use crate::browser::api::{request, Route, Scope, CLIENT};

/// A row and its shim per `(rust name, JS name, method, path)`, each taking an id and an options object.
macro_rules! probe_methods {
    ($(($name:ident, $js:literal, $method:literal, $path:literal, $field:literal)),* $(,)?) => {
        #[wasm_bindgen]
        impl StreamChat {
            $(
                #[doc = "A probe method (see the module docs)."]
                #[wasm_bindgen(js_name = $js, unchecked_return_type = "Promise<Record<string, unknown>>")]
                pub fn $name(
                    &self,
                    #[wasm_bindgen(unchecked_param_type = "string")] id: JsValue,
                    #[wasm_bindgen(unchecked_optional_param_type = "Record<string, unknown>")]
                    options: Option<JsValue>,
                ) -> Promise {
                    static ROW: Route = Route {
                        method: $method,
                        scope: Scope::Client,
                        path: $path,
                        base: 1,
                        fields: &[($field, 0)],
                        ..CLIENT
                    };
                    request(&self.client.port, 0, &ROW, &[id, options.unwrap_or_default()])
                }
            )*
        }
    };
}

probe_methods![
    (probe_hide, "hideChannel", "POST", "/channels/messaging/$0/hide", "clear_history"),
    (probe_show, "showChannel", "POST", "/channels/messaging/$0/show", "user_id"),
    (probe_truncate, "truncateChannel", "POST", "/channels/messaging/$0/truncate", "message"),
    (probe_delete, "deleteChannel", "DELETE", "/channels/messaging/$0", "hard_delete"),
    (probe_mute_user, "muteUser", "POST", "/moderation/mute", "target_id"),
    (probe_unmute_user, "unmuteUser", "POST", "/moderation/unmute", "target_ids"),
    (probe_mute_channel, "muteChannel", "POST", "/moderation/mute/channel", "channel_cid"),
    (probe_unmute_channel, "unmuteChannel", "POST", "/moderation/unmute/channel", "channel_cids"),
    (probe_ban, "banUser", "POST", "/moderation/ban", "target_user_id"),
    (probe_unban, "unbanUser", "DELETE", "/moderation/ban/$0", "banned_by_id"),
    (probe_flag, "flagMessage", "POST", "/moderation/flag", "target_message_id"),
    (probe_unflag, "unflagMessage", "POST", "/moderation/unflag", "reason"),
    (probe_pin, "pinMessage", "PUT", "/messages/$0", "set"),
    (probe_search, "search", "GET", "/search", "query"),
    (probe_reactions, "getReactions", "GET", "/messages/$0/reactions", "limit"),
    (probe_by_id, "getMessagesById", "GET", "/channels/messaging/$0/messages", "ids"),
];
