//! Fan-out: an event for a channel's watchers ([`Delivery`]), filtered by its sender's [`Privacy`], serialized once
//! and queued for every watcher in the channel's order ([`super::order`]); and frames for one connection or one
//! user. A connection whose outbox refuses a frame is dropped as a slow consumer.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use serde_json::{Map, Value};

use super::order::{Admission, Versioned};
use super::{lock, Frame, Handle, Hub};

/// What a sender allows others to see, from its `privacy_settings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Privacy {
    /// Others receive its `typing.start` / `typing.stop`.
    pub typing_indicators: bool,
    /// Others receive its `message.read` and see it in `read[]`.
    pub read_receipts: bool,
}

impl Privacy {
    /// Whether an event of type `kind` from this sender may reach users other than the sender.
    fn shares(self, kind: &str) -> bool {
        match kind {
            "typing.start" | "typing.stop" => self.typing_indicators,
            "message.read" => self.read_receipts,
            _ => true,
        }
    }
}

/// An event to fan out to a channel's watchers.
#[derive(Debug)]
pub struct Delivery<'a> {
    /// The channel.
    pub cid: &'a str,
    /// The event; `type` decides the privacy rule.
    pub event: Map<String, Value>,
    /// The user whose action this is, with their privacy settings; `None` for server events.
    pub sender: Option<(&'a str, Privacy)>,
    /// Fields added for one recipient user only (their unread counts).
    pub personal: HashMap<String, Map<String, Value>>,
    /// Users whose connections do not get this event (told in their own way, or blocking the sender).
    pub skip_users: &'a [String],
    /// The version of the state the event carries, taken with its write: a message's (`event.message`, for
    /// message and reaction events), a member's (`member.*`) or the channel's (`channel.*`); the last two are the
    /// channel's [`crate::store::ChannelRecord::version`]. An event with an older version of its [`Versioned`] than
    /// one already delivered is not delivered ([`Hub::publish`]), except a `message.new`, which goes out carrying
    /// its message's newest state when that is still kept (`order.rs`).
    pub version: Option<u64>,
}

impl Hub {
    /// Fans `delivery` out to the channel's watchers, applying the sender's privacy settings; returns how many
    /// frames were queued. Each recipient user gets the event plus its `personal` fields.
    pub fn publish(&self, mut delivery: Delivery<'_>) -> usize {
        let (recipients, order): (Vec<Arc<Handle>>, _) = {
            let shard = self.shards.of(delivery.cid);
            let Some(watchers) = shard.watchers.get(delivery.cid) else { return 0 };
            (watchers.connections.values().cloned().collect(), Arc::clone(&watchers.order))
        };
        let versioned =
            delivery.version.and_then(|version| Some((version, Versioned::of(&delivery.event)?)));
        // Each recipient's frame is made first, with no lock held; only admitting and queueing take the channel's
        // order, so that no other event of the channel is queued in between.
        let mut frames = frames_for(&delivery, &recipients);
        let mut order = lock(&order);
        if let Some((version, what)) = versioned {
            match order.admit(what, version, &mut delivery.event) {
                Admission::Deliver => {}
                Admission::Stale => {
                    self.stale.fetch_add(1, Ordering::Relaxed);
                    return 0;
                }
                Admission::Completed => frames = frames_for(&delivery, &recipients),
            }
        }
        let mut failed = Vec::new();
        let mut delivered = 0;
        for (handle, frame) in frames {
            if handle.outbox.offer(frame, self.outbox_bytes) {
                delivered += 1;
            } else {
                failed.push(handle.connection_id.as_str());
            }
        }
        drop(order);
        self.drop_slow(&failed);
        delivered
    }

    /// Events not delivered so far because they carried an older state (of a message, member or channel) than one
    /// delivered before.
    pub fn stale_events(&self) -> u64 {
        self.stale.load(Ordering::Relaxed)
    }

    /// Queues `frame` for one connection; returns whether it was queued.
    pub fn send_to_connection(&self, connection_id: &str, frame: Frame) -> bool {
        let handle = self.lock().connections.get(connection_id).map(|entry| entry.handle.clone());
        let Some(handle) = handle else { return false };
        let queued = handle.outbox.offer(frame, self.outbox_bytes);
        if !queued {
            self.drop_slow(&[connection_id]);
        }
        queued
    }

    /// Queues `frame` for every connection of `user_id`; returns how many.
    pub fn send_to_user(&self, user_id: &str, frame: Frame) -> usize {
        let targets: Vec<Arc<Handle>> = {
            let state = self.lock();
            let own = state.per_user.get(user_id).map(Vec::as_slice).unwrap_or_default();
            own.iter()
                .filter_map(|id| state.connections.get(id))
                .map(|e| e.handle.clone())
                .collect()
        };
        let (queued, failed): (Vec<&Arc<Handle>>, Vec<&Arc<Handle>>) = targets
            .iter()
            .partition(|handle| handle.outbox.offer(frame.clone(), self.outbox_bytes));
        let failed: Vec<&str> = failed.iter().map(|handle| handle.connection_id.as_str()).collect();
        self.drop_slow(&failed);
        queued.len()
    }
}

/// The frame of `delivery` for each of `recipients` it may reach: none for others than its sender when the
/// sender's privacy keeps it from them, none for skipped users; the event serialized once, plus each user's personal
/// fields.
fn frames_for<'h>(
    delivery: &Delivery<'_>,
    recipients: &'h [Arc<Handle>],
) -> Vec<(&'h Arc<Handle>, Frame)> {
    let kind = delivery.event.get("type").and_then(Value::as_str).unwrap_or("");
    let shared = delivery.sender.is_none_or(|(_, privacy)| privacy.shares(kind));
    let sender = delivery.sender.map(|(user, _)| user);
    let mut common: Option<Frame> = None;
    let mut personal: HashMap<&str, Frame> = HashMap::new();
    let mut frames = Vec::with_capacity(recipients.len());
    for handle in recipients {
        let user = handle.user_id.as_str();
        if (!shared && Some(user) != sender) || delivery.skip_users.iter().any(|skip| skip == user)
        {
            continue;
        }
        let shared = common.get_or_insert_with(|| serialize(&delivery.event));
        let frame = match delivery.personal.get(user) {
            Some(fields) => {
                personal.entry(user).or_insert_with(|| with_fields(shared, fields)).clone()
            }
            None => shared.clone(),
        };
        frames.push((handle, frame));
    }
    frames
}

/// An event's JSON text, shared by every connection it goes to.
pub(super) fn serialize(event: &Map<String, Value>) -> Frame {
    Frame::from(serde_json::to_string(event).unwrap_or_default())
}

/// `frame` (a serialized JSON object) with `fields` added, spliced into its text: no copy of the event's map per
/// recipient (a `perf` profile of `loadgen ingest` had those copies at about 5 %). The personal fields are never
/// the event's own keys.
pub(super) fn with_fields(frame: &Frame, fields: &Map<String, Value>) -> Frame {
    let text = frame.as_str();
    let Some(open) = text.strip_suffix('}') else { return frame.clone() };
    let mut out = String::with_capacity(text.len() + 32 * fields.len());
    out.push_str(open);
    for (key, value) in fields {
        if out.len() > 1 {
            out.push(',');
        }
        out.push_str(&Value::String(key.clone()).to_string());
        out.push(':');
        out.push_str(&value.to_string());
    }
    out.push('}');
    Frame::from(out)
}
