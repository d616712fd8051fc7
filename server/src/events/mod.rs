//! What reaches connections: the [`hub`] (open connections, channel watchers, fan-out with privacy filtering),
//! each connection's bounded [`outbox`], [`presence`], and the publishing helpers every handler and transport
//! uses, which fan an event out on this node and tell the other nodes through the cluster.

pub mod presence;

use std::collections::HashMap;
use std::time::Instant;

use serde_json::{json, Map, Value};

use crate::error::AppError;
use crate::hub::{Delivery, Privacy};
use crate::store::ChannelRecord;
use crate::{clock, AppState};

/// Fans out an event the server makes (no sender privacy applies) to the channel's watchers.
pub(crate) fn publish_channel_event(state: &AppState, cid: &str, event: Map<String, Value>) {
    publish_server_event(state, cid, event, None);
}

/// [`publish_channel_event`] for an event carrying version `version` of a message (`event.message`), of a member
/// (`member.*`) or of the channel (`channel.*`): no watcher gets it after a newer state of the same
/// ([`Delivery::version`]).
pub(crate) fn publish_versioned_event(
    state: &AppState,
    cid: &str,
    event: Map<String, Value>,
    version: u64,
) {
    publish_server_event(state, cid, event, Some(version));
}

fn publish_server_event(
    state: &AppState,
    cid: &str,
    event: Map<String, Value>,
    version: Option<u64>,
) {
    let personal = HashMap::new();
    publish(state, Delivery { cid, event, sender: None, personal, skip_users: &[], version });
}

/// Queues `frame` for every connection of `user_id`, on every node.
pub(crate) fn send_to_user(state: &AppState, user_id: &str, frame: crate::hub::Frame) {
    let note =
        || crate::cluster::Note::User { user_id: user_id.to_owned(), frame: frame.to_string() };
    crate::cluster::tell(state, note);
    state.hub.send_to_user(user_id, frame);
}

/// Unsubscribes every connection of `user_id` from `cid`, on every node (a removed member stops hearing it).
pub(crate) fn unwatch_user(state: &AppState, cid: &str, user_id: &str) {
    let note =
        || crate::cluster::Note::Unwatch { cid: cid.to_owned(), user_id: user_id.to_owned() };
    crate::cluster::tell(state, note);
    state.hub.unwatch_user(cid, user_id);
}

/// Fans out an event of `user` as their privacy settings allow, to nobody in `blockers` (who blocked them); returns
/// the `{event}` answer.
pub(crate) fn publish_user_event(
    state: &AppState,
    channel: &ChannelRecord,
    user: &str,
    privacy: Privacy,
    event: Map<String, Value>,
    blockers: &[String],
) -> Result<Value, AppError> {
    let answer = json!({ "event": Value::Object(event.clone()) });
    let sender = Some((user, privacy));
    let delivery = Delivery {
        cid: &channel.cid,
        event,
        sender,
        personal: HashMap::new(),
        skip_users: blockers,
        version: None,
    };
    publish(state, delivery);
    Ok(answer)
}

/// Publishes and counts.
pub(crate) fn publish(state: &AppState, delivery: Delivery<'_>) {
    let started = Instant::now();
    crate::cluster::tell(state, || crate::cluster::channel_note(&delivery));
    let delivered = state.hub.publish(delivery);
    state.metrics.events_fanned_out.inc_by(delivered as u64);
    state.metrics.fanout_seconds.observe(started.elapsed().as_secs_f64());
}

/// Tells a channel's watchers that `user_id` stopped watching it (also used when a connection closes).
pub fn watching_stopped(state: &AppState, cid: &str, user_id: &str) {
    state.metrics.active_channels.set(state.hub.active_channels() as i64);
    let watcher_count = state.cluster.watcher_count(&state.hub, cid);
    if watcher_count >= state.settings.limits.watching_events_up_to {
        return;
    }
    let Some((kind, id)) = cid.split_once(':') else { return };
    let mut event = Map::new();
    event.insert("type".into(), "user.watching.stop".into());
    event.insert("cid".into(), cid.into());
    event.insert("channel_id".into(), id.into());
    event.insert("channel_type".into(), kind.into());
    event.insert("created_at".into(), clock::timestamp().into());
    event.insert("user".into(), json!({"id": user_id}));
    event.insert("watcher_count".into(), watcher_count.into());
    publish_channel_event(state, cid, event);
}
