//! A set of message-id hashes: which ids a channel holds, told without a scan of its messages. Open addressing
//! over one `Vec<u64>` with linear probing, keyed by the id's FNV-1a hash itself: a few hundred bytes of wasm,
//! where `std`'s `HashSet` brought hashbrown and SipHash (1.6 KB gzip). Only inserts and clears: a channel never
//! forgets one id at a time (a removed message's hash may stay, and a hit is always confirmed by a scan).

use alloc::vec::Vec;

/// The slot value of an empty slot; a hash equal to it is stored as [`ZERO_STAND_IN`].
const EMPTY: u64 = 0;
/// What a hash of `0` is stored as.
const ZERO_STAND_IN: u64 = 1;
/// The fewest slots a set that holds anything has.
const MIN_SLOTS: usize = 16;

/// FNV-1a, 64 bits, of `id`'s bytes. Collisions are harmless (a hit is confirmed against the messages), and ids
/// come from the app or the server, so nothing stronger is needed.
pub fn id_hash(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A set of id hashes (see the module's docs).
#[derive(Clone, Debug, Default)]
pub struct IdSet {
    /// A power of two of slots (or none), at most half of them taken.
    slots: Vec<u64>,
    /// How many slots are taken.
    len: usize,
}

impl IdSet {
    /// Adds `hash`; `false` when it was there already.
    pub fn insert(&mut self, hash: u64) -> bool {
        self.reserve(1);
        let hash = stored(hash);
        let (at, found) = self.slot_of(hash);
        match self.slots.get_mut(at) {
            Some(slot) if !found => {
                *slot = hash;
                self.len += 1;
                true
            }
            _ => false,
        }
    }

    /// Whether `hash` was added since the last [`clear`](Self::clear).
    pub fn contains(&self, hash: u64) -> bool {
        !self.slots.is_empty() && self.slot_of(stored(hash)).1
    }

    /// The slot holding `hash` (as stored), or the empty one where it would go: `(index, found)`. The set has
    /// slots, and at least one of them is empty.
    fn slot_of(&self, hash: u64) -> (usize, bool) {
        let mask = self.slots.len().wrapping_sub(1);
        let mut at = spread(hash) & mask;
        loop {
            match self.slots.get(at) {
                Some(slot) if *slot == hash => return (at, true),
                Some(&EMPTY) | None => return (at, false),
                Some(_) => at = (at + 1) & mask,
            }
        }
    }

    /// Forgets every hash, keeping the room.
    pub fn clear(&mut self) {
        self.slots.fill(EMPTY);
        self.len = 0;
    }

    /// Makes room for `more` hashes without growing again.
    pub fn reserve(&mut self, more: usize) {
        let needed = (self.len + more) * 2;
        if needed <= self.slots.len() {
            return;
        }
        let old = core::mem::take(&mut self.slots);
        self.slots = alloc::vec![EMPTY; needed.next_power_of_two().max(MIN_SLOTS)];
        self.len = 0;
        for hash in old.into_iter().filter(|hash| *hash != EMPTY) {
            self.insert(hash);
        }
    }
}

/// Two sets are equal when they hold the same hashes, whatever their room.
impl PartialEq for IdSet {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len
            && self.slots.iter().all(|hash| *hash == EMPTY || other.contains(*hash))
    }
}

/// `hash` as stored: never the empty marker.
fn stored(hash: u64) -> u64 {
    if hash == EMPTY {
        ZERO_STAND_IN
    } else {
        hash
    }
}

/// The slot a hash starts from: its high bits folded into the low ones that the mask keeps.
fn spread(hash: u64) -> usize {
    (hash ^ (hash >> 32)) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_what_was_inserted_through_growth_and_clear() {
        let mut set = IdSet::default();
        assert!(!set.contains(id_hash("a")));
        let ids: Vec<u64> = (0..1000).map(|n| id_hash(&alloc::format!("message-{n}"))).collect();
        for hash in &ids {
            assert!(set.insert(*hash));
        }
        for hash in &ids {
            assert!(!set.insert(*hash), "a second insert says it was there");
            assert!(set.contains(*hash));
        }
        assert!(!set.contains(id_hash("message-1000")));
        set.clear();
        assert!(ids.iter().all(|hash| !set.contains(*hash)));
        assert!(set.insert(ids[0]));
    }

    #[test]
    fn sets_with_the_same_hashes_are_equal_whatever_their_room() {
        let (mut small, mut roomy) = (IdSet::default(), IdSet::default());
        roomy.reserve(1000);
        for hash in [3, 40, 500] {
            small.insert(hash);
            roomy.insert(hash);
        }
        assert_eq!(small, roomy);
        roomy.insert(6);
        assert_ne!(small, roomy);
    }

    #[test]
    fn a_zero_hash_is_kept_too() {
        let mut set = IdSet::default();
        assert!(set.insert(0));
        assert!(set.contains(0));
        assert!(!set.insert(0));
    }

    #[test]
    fn colliding_start_slots_probe_on() {
        let mut set = IdSet::default();
        set.reserve(4);
        let size = 16u64;
        let same_start = [5, 5 + size, 5 + 2 * size, 5 + 3 * size];
        for hash in same_start {
            assert!(set.insert(hash));
        }
        assert!(same_start.iter().all(|hash| set.contains(*hash)));
        assert!(!set.contains(5 + 4 * size));
    }

    #[test]
    fn fnv_1a_of_known_strings() {
        assert_eq!(id_hash(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(id_hash("a"), 0xaf63_dc4c_8601_ec8c);
    }
}
