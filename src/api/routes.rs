//! The REST API as data: each plain REST method is a [`Route`] row (HTTP method, path template, how the body is
//! formed from the arguments, what the answer does to the channel's state), and [`request`] runs any row through
//! one `async` body. A new method costs its row and the few bytes of its `#[wasm_bindgen]` shim, not an `async`
//! state machine of its own (the build's size report prints the marginal cost per method).
//!
//! Methods that decide something before the call (validation, throttles, ids) keep their own code in
//! `channel_ops.rs`, `messages.rs` and `users.rs`; they share the same call path underneath (`runtime/request.rs`).

use alloc::string::String;

use js_sys::Promise;
use wasm_bindgen::JsValue;

use crate::client::ChatError;
use crate::platform::errors::to_js_error;
use crate::platform::values::{copy, get, object, set};
use crate::runtime::client::Port;
use crate::runtime::request::{send, Request, Scope, Then};
use crate::state::channels::Slot;

/// One REST method.
#[derive(Debug)]
pub struct Route {
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// Where the path starts.
    pub scope: Scope,
    /// The path below the scope; `$0`…`$9` stand for the arguments of those positions, which must be strings
    /// (URI-encoded into the path).
    pub path: &'static str,
    /// The argument whose shallow copy is the body's start (`NO_BASE`: an empty object).
    pub base: u8,
    /// `(field, argument)`: `body[field] = argument`, when the argument is neither `undefined` nor `null`.
    pub fields: &'static [(&'static str, u8)],
    /// What the answer does to the channel's state (channel scopes only).
    pub then: Option<Then>,
}

/// [`Route::base`] for a body that starts empty.
pub const NO_BASE: u8 = u8::MAX;

/// Runs `route` with `args` for the client behind `port` (and its channel `key`, for channel scopes). Resolves with
/// the answer's body; rejects with the official client's error shapes.
#[inline(never)]
pub fn request(port: &Port, key: u32, route: &'static Route, args: &[JsValue]) -> Promise {
    let arg = |at: u8| args.get(usize::from(at)).cloned().unwrap_or(JsValue::UNDEFINED);
    let path = match fill_path(route.path, &arg) {
        Ok(path) => path,
        Err(error) => return Promise::reject(&to_js_error(&error)),
    };
    let body = if route.base == NO_BASE { object(&[]) } else { copy(&arg(route.base)) };
    for (field, at) in route.fields {
        let value = arg(*at);
        if !value.is_null_or_undefined() {
            set(&body, field, &value);
        }
    }
    let (scope, then) = (route.scope, route.then);
    send(port, Request { scope, key, then, ..Request::new(route.method, path, body) })
}

/// `template` with each `$n` replaced by argument `n`, URI-encoded; an argument that is not a string is refused.
fn fill_path(template: &str, arg: &dyn Fn(u8) -> JsValue) -> Result<String, ChatError> {
    let mut path = String::new();
    let mut rest = template;
    while let Some(at) = crate::client::text::position(rest, b'$') {
        path.push_str(rest.get(..at).unwrap_or_default());
        let digit = rest.as_bytes().get(at + 1).copied().unwrap_or(b'0');
        let value = arg(digit.wrapping_sub(b'0')).as_string();
        let value = value.filter(|value| !value.is_empty());
        let value = value
            .ok_or(ChatError::InvalidArgument("a path argument must be a non-empty string"))?;
        path.push_str(&String::from(js_sys::encode_uri_component(&value)));
        rest = rest.get(at + 2..).unwrap_or_default();
    }
    path.push_str(rest);
    Ok(path)
}

/// The blank row the others start from: `POST` below the base URL, an empty body, nothing applied.
pub const CLIENT: Route = Route {
    method: "POST",
    scope: Scope::Client,
    path: "",
    base: NO_BASE,
    fields: &[],
    then: None,
};

/// `client.getAppSettings()`.
pub static GET_APP_SETTINGS: Route = Route { method: "GET", path: "/app", ..CLIENT };
/// `client.getUnreadCount()`.
pub static GET_UNREAD_COUNT: Route = Route { method: "GET", path: "/unread", ..CLIENT };
/// `client.markAllRead()`.
pub static MARK_ALL_READ: Route = Route { path: "/channels/read", ..CLIENT };
/// `client.getMessage(id)`.
pub static GET_MESSAGE: Route = Route { method: "GET", path: "/messages/$0", ..CLIENT };
/// `channel.sendReaction(messageId, reaction, options)`: `{reaction, …options}`.
pub static SEND_REACTION: Route =
    Route { path: "/messages/$0/reaction", base: 2, fields: &[("reaction", 1)], ..CLIENT };
/// `channel.deleteReaction(messageId, type)`.
pub static DELETE_REACTION: Route =
    Route { method: "DELETE", path: "/messages/$0/reaction/$1", ..CLIENT };
/// `channel.stopWatching()`.
pub static STOP_WATCHING: Route = Route {
    scope: Scope::Channel,
    path: "/stop-watching",
    then: Some(|slot, _, _| slot.watching = false),
    ..CLIENT
};
/// `channel.sendEvent(event)`.
pub static SEND_EVENT: Route =
    Route { scope: Scope::Watched, path: "/event", fields: &[("event", 0)], ..CLIENT };
/// `channel.markUnread({message_id})`.
pub static MARK_UNREAD: Route = Route { scope: Scope::Watched, path: "/unread", base: 0, ..CLIENT };
/// What an answer with the whole channel does: `channel.data` becomes it (the official client's `_update`).
fn take_channel(slot: &mut Slot, answer: &JsValue, _: &str) {
    let channel = get(answer, "channel");
    if channel.is_object() {
        slot.channel = channel;
    }
}

/// The blank row of the `POST /channels/{type}/{id}` family (`_update`): `{...options, field: arg0, message:
/// arg1}`, the answer's channel kept.
const UPDATE_CALL: Route =
    Route { scope: Scope::Channel, base: 2, then: Some(take_channel), ..CLIENT };

/// `channel.addMembers(members, message, options)`.
pub static ADD_MEMBERS: Route =
    Route { fields: &[("add_members", 0), ("message", 1)], ..UPDATE_CALL };
/// `channel.removeMembers(ids, message, options)`.
pub static REMOVE_MEMBERS: Route =
    Route { fields: &[("remove_members", 0), ("message", 1)], ..UPDATE_CALL };
/// `channel.update(data, message, options)`.
pub static UPDATE: Route = Route { fields: &[("data", 0), ("message", 1)], ..UPDATE_CALL };
/// `channel.addModerators(ids, message, options)`.
pub static ADD_MODERATORS: Route =
    Route { fields: &[("add_moderators", 0), ("message", 1)], ..UPDATE_CALL };
/// `channel.demoteModerators(ids, message, options)`.
pub static DEMOTE_MODERATORS: Route =
    Route { fields: &[("demote_moderators", 0), ("message", 1)], ..UPDATE_CALL };
/// `channel.enableSlowMode(seconds)` / `disableSlowMode()` (0).
pub static SLOW_MODE: Route = Route { base: NO_BASE, fields: &[("cooldown", 0)], ..UPDATE_CALL };
/// `channel.updatePartial({set, unset})`.
pub static UPDATE_PARTIAL: Route = Route { method: "PATCH", base: 0, ..UPDATE_CALL };
/// `channel.queryMembers(filter, sort, options)`: `GET /members` with `{…options, filter_conditions, sort, type, id}`.
pub static QUERY_MEMBERS: Route = Route {
    method: "GET",
    path: "/members",
    base: 2,
    fields: &[("filter_conditions", 0), ("sort", 1), ("type", 3), ("id", 4)],
    ..CLIENT
};
/// `channel.hide(userId, clearHistory)`.
pub static HIDE: Route = Route {
    scope: Scope::Watched,
    path: "/hide",
    fields: &[("user_id", 0), ("clear_history", 1)],
    ..CLIENT
};
/// `channel.show(userId)`.
pub static SHOW: Route =
    Route { scope: Scope::Watched, path: "/show", fields: &[("user_id", 0)], ..CLIENT };
/// `channel.truncate(options)`.
pub static TRUNCATE: Route = Route { scope: Scope::Channel, path: "/truncate", base: 0, ..CLIENT };
/// `channel.delete()`.
pub static DELETE: Route = Route { method: "DELETE", scope: Scope::Channel, ..CLIENT };
/// `channel.delete({hard_delete: true})`.
pub static DELETE_HARD: Route = Route { path: "?hard_delete=true", ..DELETE };

/// `client.muteUser(targetId, userId, options)`.
pub static MUTE_USER: Route = Route {
    path: "/moderation/mute",
    base: 2,
    fields: &[("target_id", 0), ("user_id", 1)],
    ..CLIENT
};
/// `client.unmuteUser(targetId, userId)`.
pub static UNMUTE_USER: Route =
    Route { path: "/moderation/unmute", fields: &[("target_id", 0), ("user_id", 1)], ..CLIENT };
/// `channel.mute(options)`: `{channel_cid, …options}`.
pub static MUTE_CHANNEL: Route =
    Route { path: "/moderation/mute/channel", base: 0, fields: &[("channel_cid", 1)], ..CLIENT };
/// `channel.unmute(options)`.
pub static UNMUTE_CHANNEL: Route = Route { path: "/moderation/unmute/channel", ..MUTE_CHANNEL };
/// `client.blockUser(id, userId)`.
pub static BLOCK_USER: Route =
    Route { path: "/users/block", fields: &[("blocked_user_id", 0), ("user_id", 1)], ..CLIENT };
/// `client.unBlockUser(id, userId)`.
pub static UNBLOCK_USER: Route = Route { path: "/users/unblock", ..BLOCK_USER };
/// `client.getBlockedUsers(userId)`.
pub static GET_BLOCKED_USERS: Route =
    Route { method: "GET", path: "/users/block", fields: &[("user_id", 0)], ..CLIENT };
/// `client.flagMessage(id, options)`.
pub static FLAG_MESSAGE: Route =
    Route { path: "/moderation/flag", base: 1, fields: &[("target_message_id", 0)], ..CLIENT };
/// `client.flagUser(id, options)`.
pub static FLAG_USER: Route = Route { fields: &[("target_user_id", 0)], ..FLAG_MESSAGE };
/// `banUser(id, options)` / `shadowBan`, on the client or a channel: `{…options, target_user_id, type, id, shadow}`.
pub static BAN_USER: Route = Route {
    path: "/moderation/ban",
    base: 1,
    fields: &[("target_user_id", 0), ("type", 2), ("id", 3), ("shadow", 4)],
    ..CLIENT
};
/// `client.unbanUser(id)` / `removeShadowBan`.
pub static UNBAN_USER: Route =
    Route { method: "DELETE", path: "/moderation/ban?target_user_id=$0", ..CLIENT };
/// `channel.unbanUser(id)` / `removeShadowBan`: the same, in the channel `$1:$2`.
pub static UNBAN_IN_CHANNEL: Route =
    Route { path: "/moderation/ban?target_user_id=$0&type=$1&id=$2", ..UNBAN_USER };
