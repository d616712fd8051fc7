//! What the nodes of a cluster know of each other's connections, kept current by numbered deltas with bounded
//! payloads (sans-I/O: [`crate::cluster::nats`] moves the notes, the hub records the [`Change`]s).
//!
//! A node's live state is who has a connection there and which visible users watch which channel there. Each
//! change of it (a user's first connection on the node opened or the last closed; a visible user's first watching
//! connection of a channel opened or the last closed) is recorded by the hub and sent, in order, in [`LiveNote::Delta`]s
//! numbered by `seq` within the node's `epoch` (random per start). Every [`crate::cluster::HEARTBEAT`] the node
//! sends a [`LiveNote::Digest`]: its `seq` and the size of its state. A peer applies deltas in order; a gap, a new
//! epoch, or a digest that disagrees with what it holds makes it ask for a [`LiveNote::Sync`], the whole state in
//! parts. Every note is at most about [`MAX_NOTE_BYTES`], whatever the number of users; nothing is sent while
//! nothing changes but the digest.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// About the most bytes of ids one delta or sync part carries (NATS refuses payloads over 1 MB by default).
pub const MAX_NOTE_BYTES: usize = 64 * 1024;
/// Changes waiting for the bus past which the node stops recording them and sends its whole state instead.
pub const MAX_PENDING_CHANGES: usize = 100_000;
/// The least time between two requests for a peer's whole state, and between two whole states sent.
pub const SYNC_INTERVAL: Duration = Duration::from_millis(500);

/// What a node hears on the bus besides the shared notes: a channel's events while a connection there watches it,
/// a user's own events while they have a connection there, and a user's presence changes while a connection there
/// follows them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Topic {
    /// A channel, by cid.
    Channel(String),
    /// A user, by id.
    User(String),
    /// A user's `user.presence.changed`, by user id.
    Presence(String),
}

/// One change of a node's live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Change {
    /// The user's first connection on the node opened.
    #[serde(rename = "on")]
    Online(String),
    /// The user's last connection on the node closed.
    #[serde(rename = "off")]
    Offline(String),
    /// The visible user started watching the channel (cid, user).
    #[serde(rename = "w")]
    Watch(String, String),
    /// The visible user stopped watching the channel (cid, user).
    #[serde(rename = "u")]
    Unwatch(String, String),
}

impl Change {
    /// About what the change costs on the wire.
    fn weight(&self) -> usize {
        match self {
            Change::Online(user) | Change::Offline(user) => user.len() + 12,
            Change::Watch(cid, user) | Change::Unwatch(cid, user) => cid.len() + user.len() + 14,
        }
    }
}

/// How big a live state is: the digest's check.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Size {
    /// Users with a connection.
    pub online: usize,
    /// (channel, visible user) watching pairs.
    pub watches: usize,
}

/// A node's live state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    /// Users with a connection there (invisible ones too: views hide them, as for local users).
    pub online: HashSet<String>,
    /// Channel cid → the visible users watching it there.
    pub watchers: HashMap<String, HashSet<String>>,
}

impl View {
    /// Applies one change (each is idempotent: applying it twice is applying it once).
    pub fn apply(&mut self, change: &Change) {
        match change {
            Change::Online(user) => {
                self.online.insert(user.clone());
            }
            Change::Offline(user) => {
                self.online.remove(user);
            }
            Change::Watch(cid, user) => {
                self.watchers.entry(cid.clone()).or_default().insert(user.clone());
            }
            Change::Unwatch(cid, user) => {
                if let Some(users) = self.watchers.get_mut(cid) {
                    users.remove(user);
                    if users.is_empty() {
                        self.watchers.remove(cid);
                    }
                }
            }
        }
    }

    /// Its size.
    pub fn size(&self) -> Size {
        Size { online: self.online.len(), watches: self.watchers.values().map(HashSet::len).sum() }
    }

    /// The state as changes that build it from nothing.
    fn changes(&self) -> impl Iterator<Item = Change> + '_ {
        let online = self.online.iter().map(|user| Change::Online(user.clone()));
        let watches = self.watchers.iter().flat_map(|(cid, users)| {
            users.iter().map(move |user| Change::Watch(cid.clone(), user.clone()))
        });
        online.chain(watches)
    }
}

/// What a node tells the others of its live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "live", rename_all = "snake_case")]
pub enum LiveNote {
    /// Changes `seq` of the node's incarnation `epoch`, in order.
    Delta {
        /// The sender's incarnation.
        epoch: u64,
        /// This delta's number: one more than the last.
        seq: u64,
        /// The changes.
        changes: Vec<Change>,
    },
    /// The sender's position and state size, for peers to check theirs against.
    Digest {
        /// The sender's incarnation.
        epoch: u64,
        /// The last delta sent.
        seq: u64,
        /// The size of the state those deltas build.
        size: Size,
    },
    /// Asks `node` for its whole state.
    SyncRequest {
        /// The node asked.
        node: String,
    },
    /// Part `part` of the sender's whole state as of delta `seq`; the parts replace what a peer held once `last`
    /// has arrived.
    Sync {
        /// The sender's incarnation.
        epoch: u64,
        /// The last delta the state includes.
        seq: u64,
        /// This part's number, from 0.
        part: u32,
        /// Whether this is the last part.
        last: bool,
        /// The state, as changes from nothing.
        changes: Vec<Change>,
    },
}

/// What the hub hands the bus on each check: the changes since the last one, the state's size after them, and the
/// whole state when asked for (all taken under one lock, so they agree).
#[derive(Debug, Default)]
pub struct Taken {
    /// The changes, in order.
    pub changes: Vec<Change>,
    /// Whether changes were lost past [`MAX_PENDING_CHANGES`] (then only a whole state brings peers back).
    pub overflowed: bool,
    /// The size of the state after `changes`.
    pub size: Size,
    /// The whole state after `changes`, when it was asked for.
    pub whole: Option<View>,
}

/// Changes recorded by the hub until the bus takes them.
#[derive(Debug, Default)]
pub struct ChangeLog {
    /// Whether anyone takes them (a single node records nothing).
    pub tracking: bool,
    /// The changes not yet taken.
    pub pending: Vec<Change>,
    /// Whether changes were dropped past [`MAX_PENDING_CHANGES`] since the last take.
    pub overflowed: bool,
}

impl ChangeLog {
    /// Records a change, if tracking.
    pub fn push(&mut self, change: Change) {
        if !self.tracking {
            return;
        }
        if self.pending.len() >= MAX_PENDING_CHANGES {
            self.pending = Vec::new();
            self.overflowed = true;
        }
        if !self.overflowed {
            self.pending.push(change);
        }
    }
}

/// The sending side: numbers deltas and cuts notes to size.
#[derive(Debug)]
pub struct Outgoing {
    epoch: u64,
    seq: u64,
    sync_wanted: bool,
    last_sync: Option<Instant>,
}

impl Outgoing {
    /// A node's sender for incarnation `epoch`.
    pub fn new(epoch: u64) -> Self {
        Outgoing { epoch, seq: 0, sync_wanted: true, last_sync: None }
    }

    /// Whether the next check should take the whole state (a peer asked, or changes overflowed), no more often
    /// than [`SYNC_INTERVAL`].
    pub fn wants_whole(&self, now: Instant) -> bool {
        self.sync_wanted && self.last_sync.is_none_or(|at| now.duration_since(at) >= SYNC_INTERVAL)
    }

    /// A peer asked for the whole state.
    pub fn sync_requested(&mut self) {
        self.sync_wanted = true;
    }

    /// The notes for what the hub handed over: deltas for its changes, then the whole state when taken, then a
    /// digest when `digest` is due.
    pub fn notes(&mut self, taken: Taken, now: Instant, digest: bool) -> Vec<LiveNote> {
        let mut notes = Vec::new();
        if taken.overflowed {
            self.sync_wanted = true;
        }
        for changes in parts(taken.changes.into_iter()) {
            self.seq += 1;
            notes.push(LiveNote::Delta { epoch: self.epoch, seq: self.seq, changes });
        }
        if let Some(whole) = taken.whole {
            let mut all: Vec<Vec<Change>> = parts(whole.changes()).collect();
            if all.is_empty() {
                all.push(Vec::new());
            }
            let count = all.len();
            for (part, changes) in all.into_iter().enumerate() {
                let (epoch, seq, last) = (self.epoch, self.seq, part + 1 == count);
                notes.push(LiveNote::Sync { epoch, seq, part: part as u32, last, changes });
            }
            self.sync_wanted = false;
            self.last_sync = Some(now);
        }
        if digest {
            notes.push(LiveNote::Digest { epoch: self.epoch, seq: self.seq, size: taken.size });
        }
        notes
    }
}

/// Cuts changes into notes of at most about [`MAX_NOTE_BYTES`].
fn parts(changes: impl Iterator<Item = Change>) -> impl Iterator<Item = Vec<Change>> {
    let mut changes = changes.peekable();
    std::iter::from_fn(move || {
        changes.peek()?;
        let mut part = Vec::new();
        let mut bytes = 0;
        while let Some(change) =
            changes.next_if(|change| bytes + change.weight() <= MAX_NOTE_BYTES || part.is_empty())
        {
            bytes += change.weight();
            part.push(change);
        }
        Some(part)
    })
}

/// What one peer's live state is known to be.
#[derive(Debug)]
pub struct Peer {
    /// When a note last came from it.
    pub seen: Instant,
    /// Its state as last known (kept while a resync is under way: stale is better than empty).
    pub view: View,
    epoch: u64,
    seq: u64,
    /// Whether `view` follows its deltas; `false` until a whole state arrives.
    in_step: bool,
    /// A whole state being received: its epoch, seq, next part and what came so far.
    incoming: Option<(u64, u64, u32, View)>,
    /// When this node last asked it for its whole state.
    asked: Option<Instant>,
    /// Whether a whole state of it ever arrived: until then, asking for one is meeting it, not a resync.
    met: bool,
}

impl Peer {
    /// A peer first heard from at `now`: nothing known yet.
    pub fn new(now: Instant) -> Self {
        Peer {
            seen: now,
            view: View::default(),
            epoch: 0,
            seq: 0,
            in_step: false,
            incoming: None,
            asked: None,
            met: false,
        }
    }

    /// Whether a whole state of it ever arrived (a later request for one is a resync).
    pub fn met(&self) -> bool {
        self.met
    }

    /// Applies a note from it; `true` when this node should ask it for its whole state now.
    pub fn receive(&mut self, note: LiveNote, now: Instant) -> bool {
        self.seen = now;
        match note {
            LiveNote::Delta { epoch, seq, changes } => {
                if self.in_step && epoch == self.epoch && seq == self.seq + 1 {
                    self.seq = seq;
                    changes.iter().for_each(|change| self.view.apply(change));
                } else if !(self.in_step && epoch == self.epoch && seq <= self.seq) {
                    self.in_step = false;
                }
            }
            LiveNote::Digest { epoch, seq, size } => {
                let agrees = epoch == self.epoch && seq == self.seq && size == self.view.size();
                let behind = epoch == self.epoch && seq > self.seq;
                if self.in_step && (behind || !agrees) {
                    self.in_step = false;
                }
            }
            LiveNote::Sync { epoch, seq, part, last, changes } => {
                if part == 0 {
                    // A whole state this node already follows (another peer asked for it) is skipped.
                    let current = self.in_step && (epoch, seq) == (self.epoch, self.seq);
                    self.incoming = (!current).then(|| (epoch, seq, 0, View::default()));
                }
                let Some((at_epoch, at_seq, next, view)) = self.incoming.as_mut() else {
                    return self.wants_sync(now);
                };
                if (*at_epoch, *at_seq, *next) != (epoch, seq, part) {
                    self.incoming = None;
                    self.in_step = false;
                    return self.wants_sync(now);
                }
                changes.iter().for_each(|change| view.apply(change));
                *next += 1;
                if last {
                    let (epoch, seq, _, view) = self.incoming.take().unwrap_or_default();
                    self.view = view;
                    (self.epoch, self.seq, self.in_step, self.met) = (epoch, seq, true, true);
                }
            }
            LiveNote::SyncRequest { .. } => {}
        }
        self.wants_sync(now)
    }

    /// Whether to ask for the whole state now: out of step, no whole state arriving, not asked recently.
    fn wants_sync(&mut self, now: Instant) -> bool {
        let due = !self.in_step
            && self.incoming.is_none()
            && self.asked.is_none_or(|at| now.duration_since(at) >= SYNC_INTERVAL);
        if due {
            self.asked = Some(now);
        }
        due
    }

    /// Whether its view follows its deltas.
    #[cfg(test)]
    fn in_step(&self) -> bool {
        self.in_step
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Hub;

    fn taken(changes: Vec<Change>, size: Size) -> Taken {
        Taken { changes, overflowed: false, size, whole: None }
    }

    /// Feeds notes to a peer; whether it asked for the whole state.
    fn feed(peer: &mut Peer, notes: Vec<LiveNote>, now: Instant) -> bool {
        let mut asked = false;
        for note in notes {
            asked |= peer.receive(note, now);
        }
        asked
    }

    #[test]
    fn a_hubs_changes_rebuild_its_state_on_a_peer_and_the_digest_agrees() {
        let hub = Hub::default();
        hub.track_changes();
        let now = Instant::now();
        let mut out = Outgoing::new(1);
        let mut peer = Peer::new(now);
        let first = out.notes(hub.take_changes(out.wants_whole(now)), now, true);
        assert!(!feed(&mut peer, first, now), "the first whole state puts the peer in step");
        let _a = hub.register("a-1", "alice", false, 10).unwrap();
        let _b = hub.register("a-2", "bob", false, 10).unwrap();
        let _c = hub.register("a-3", "carol", true, 10).unwrap();
        hub.watch("messaging:x", "a-1");
        hub.watch("messaging:x", "a-2");
        hub.watch("messaging:x", "a-3");
        hub.unwatch("messaging:x", "a-2");
        hub.unregister("a-2");
        let later = now + Duration::from_millis(50);
        let notes = out.notes(hub.take_changes(out.wants_whole(later)), later, true);
        assert!(!feed(&mut peer, notes, later), "in step: nothing to ask");
        assert!(peer.in_step());
        let expected = View {
            online: ["alice", "carol"].map(String::from).into(),
            watchers: [("messaging:x".to_string(), ["alice".to_string()].into())].into(),
        };
        assert_eq!(peer.view, expected, "carol is invisible: online, never a watcher");
    }

    #[test]
    fn a_gap_a_new_epoch_or_a_disagreeing_digest_asks_for_the_whole_state_once_per_interval() {
        let now = Instant::now();
        let mut out = Outgoing::new(1);
        let mut peer = Peer::new(now);
        let whole = Taken { whole: Some(View::default()), ..Taken::default() };
        assert!(!feed(&mut peer, out.notes(whole, now, false), now));
        let delta_1 =
            out.notes(taken(vec![Change::Online("a".into())], Size::default()), now, false);
        let delta_2 =
            out.notes(taken(vec![Change::Online("b".into())], Size::default()), now, false);
        assert!(feed(&mut peer, delta_2, now), "delta 1 is missing");
        assert!(!feed(&mut peer, delta_1, now), "asked already within the interval");
        let later = now + SYNC_INTERVAL;
        let size = Size { online: 2, watches: 0 };
        let digest = LiveNote::Digest { epoch: 1, seq: 2, size };
        assert!(peer.receive(digest, later), "still out of step after the interval: asks again");

        let mut restarted = Peer::new(now);
        let whole = Taken { whole: Some(View::default()), ..Taken::default() };
        feed(&mut restarted, Outgoing::new(1).notes(whole, now, false), now);
        let other_epoch = LiveNote::Delta { epoch: 2, seq: 1, changes: vec![] };
        assert!(restarted.receive(other_epoch, now), "a restarted node's deltas do not follow");

        let mut wrong = Peer::new(now);
        let whole = Taken { whole: Some(View::default()), ..Taken::default() };
        feed(&mut wrong, Outgoing::new(1).notes(whole, now, false), now);
        let digest = LiveNote::Digest { epoch: 1, seq: 0, size: Size { online: 1, watches: 0 } };
        assert!(wrong.receive(digest, now), "same position, different size");
    }

    #[test]
    fn a_large_state_travels_in_parts_each_well_under_nats_payload_limit() {
        let mut view = View::default();
        for user in 0..20_000 {
            let user = format!("user-{user:05}-with-a-rather-long-id-0123456789");
            view.online.insert(user.clone());
            view.apply(&Change::Watch(format!("messaging:room-{}", user.len() % 7), user));
        }
        let now = Instant::now();
        let mut out = Outgoing::new(3);
        let notes = out.notes(
            Taken { whole: Some(view.clone()), size: view.size(), ..Taken::default() },
            now,
            true,
        );
        assert!(notes.len() > 20, "{} parts", notes.len());
        for note in &notes {
            let bytes = serde_json::to_vec(note).unwrap().len();
            assert!(bytes <= 2 * MAX_NOTE_BYTES, "a note of {bytes} bytes");
        }
        let mut peer = Peer::new(now);
        let wire: Vec<LiveNote> = notes
            .iter()
            .map(|note| serde_json::from_slice(&serde_json::to_vec(note).unwrap()).unwrap())
            .collect();
        assert!(!feed(&mut peer, wire, now));
        assert_eq!(peer.view, view);
    }

    #[test]
    fn a_part_out_of_order_restarts_the_sync_and_an_overflowed_log_sends_the_whole_state() {
        let now = Instant::now();
        let mut peer = Peer::new(now);
        let part = |part, last| LiveNote::Sync { epoch: 1, seq: 0, part, last, changes: vec![] };
        assert!(peer.receive(part(1, true), now), "a part without its start: ask");
        assert!(!peer.in_step());

        let mut log = ChangeLog { tracking: true, ..ChangeLog::default() };
        for user in 0..=MAX_PENDING_CHANGES {
            log.push(Change::Online(user.to_string()));
        }
        assert!(log.overflowed && log.pending.is_empty());
        let mut out = Outgoing::new(1);
        out.notes(Taken { whole: Some(View::default()), ..Taken::default() }, now, false);
        let later = now + SYNC_INTERVAL;
        assert!(!out.wants_whole(later));
        out.notes(Taken { overflowed: true, ..Taken::default() }, later, false);
        assert!(out.wants_whole(later), "the next check takes the whole state");
    }
}
