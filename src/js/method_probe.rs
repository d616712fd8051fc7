//! Built only with the `method-probe` feature, never shipped: sixteen extra REST methods of the kind still to come
//! (channel management, moderation, pins), each a row of the table and a `#[wasm_bindgen]` shim, exactly as a real
//! table-driven method is written. `scripts/size.mjs --methods` builds with and without them and reports the
//! difference per method: what adding one REST method costs an app.

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use super::{OptionalArgument, StreamChat};
use crate::api::routes::{request, Route, CLIENT};
use crate::runtime::request::Scope;

/// A row and its shim per `(rust name, JS name, method, path)`, each taking an id and an options object; the JS names
/// are `probe…` so they never clash with real methods.
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
                    options: JsValue,
                ) -> Promise {
                    static ROW: Route = Route {
                        method: $method,
                        scope: Scope::Client,
                        path: $path,
                        base: 1,
                        fields: &[($field, 0)],
                        ..CLIENT
                    };
                    request(&self.client.port, 0, &ROW, &[id, options.or_undefined()])
                }
            )*
        }
    };
}

probe_methods![
    (probe_hide, "probeHideChannel", "POST", "/channels/messaging/$0/hide", "clear_history"),
    (probe_show, "probeShowChannel", "POST", "/channels/messaging/$0/show", "user_id"),
    (probe_truncate, "probeTruncateChannel", "POST", "/channels/messaging/$0/truncate", "message"),
    (probe_delete, "probeDeleteChannel", "DELETE", "/channels/messaging/$0", "hard_delete"),
    (probe_mute_user, "probeMuteUser", "POST", "/moderation/mute", "target_id"),
    (probe_unmute_user, "probeUnmuteUser", "POST", "/moderation/unmute", "target_ids"),
    (probe_mute_channel, "probeMuteChannel", "POST", "/moderation/mute/channel", "channel_cid"),
    (
        probe_unmute_channel,
        "probeUnmuteChannel",
        "POST",
        "/moderation/unmute/channel",
        "channel_cids"
    ),
    (probe_ban, "probeBanUser", "POST", "/moderation/ban", "target_user_id"),
    (probe_unban, "probeUnbanUser", "DELETE", "/moderation/ban/$0", "banned_by_id"),
    (probe_flag, "probeFlagMessage", "POST", "/moderation/flag", "target_message_id"),
    (probe_unflag, "probeUnflagMessage", "POST", "/moderation/unflag", "reason"),
    (probe_pin, "probePinMessage", "PUT", "/messages/$0", "set"),
    (probe_search, "probeSearch", "GET", "/search", "query"),
    (probe_reactions, "probeGetReactions", "GET", "/messages/$0/reactions", "limit"),
    (probe_by_id, "probeGetMessagesById", "GET", "/channels/messaging/$0/messages", "ids"),
];
