//! Numbered notes, so that a lost one is seen (sans-I/O: [`crate::cluster::Cluster`] numbers what it sends and checks
//! what it hears).
//!
//! Every note routed by topic (a channel's events and unwatches, a user's own frames, a user's presence changes)
//! carries a [`Seq`]: its number among the notes its node sent on that topic, within an `epoch` (random per start,
//! and new whenever the sender's book is emptied). The number is taken and the note queued under one lock, so a
//! node's notes on a topic leave it in number order, and NATS keeps a publisher's order to every subscriber.
//!
//! A node hearing the topic expects each sender's next number. A jump means notes were lost between the two nodes
//! (a publish NATS refused, a connection that broke with notes in flight, a note dropped anywhere on the way): the
//! topic's connections here are dropped so that their clients recover, and the gap is counted. A number already
//! seen (two subscriptions overlapping for a moment) is skipped and counted. The first note heard from a sender
//! on a topic, or one of a new epoch, only sets where its numbers stand: what came before it is what a connection
//! read from the store when it started watching.
//!
//! Both books are bounded ([`MAX_NUMBERED_TOPICS`], [`MAX_HEARD_SEQUENCES`]); a full book is emptied, which costs the
//! next note on each topic its check, never a false gap.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::hub::live::Topic;

/// Topics a node numbers its notes on, past which it empties the book and starts a new epoch.
pub const MAX_NUMBERED_TOPICS: usize = 100_000;
/// (sender, topic) positions a node keeps, past which it empties the book.
pub const MAX_HEARD_SEQUENCES: usize = 200_000;

/// Where a note stands among its sender's notes on its topic; on the wire `[epoch, n]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seq(pub u32, pub u64);

/// The sender's book: the last number given on each topic.
#[derive(Debug)]
pub struct Numbering {
    epoch: u32,
    last: HashMap<Topic, u64>,
}

impl Numbering {
    /// An empty book in epoch `epoch`.
    pub fn new(epoch: u32) -> Self {
        Numbering { epoch, last: HashMap::new() }
    }

    /// Gives the next number on `topic` to `send`; the number counts only when `send` says the note was queued,
    /// so a note dropped before it left (a full queue, resynced by [`crate::cluster::Cluster::lost`]) leaves no gap.
    pub fn send(
        &mut self,
        topic: &Topic,
        new_epoch: impl FnOnce() -> u32,
        send: impl FnOnce(Seq) -> bool,
    ) -> bool {
        if !self.last.contains_key(topic) && self.last.len() >= MAX_NUMBERED_TOPICS {
            self.last.clear();
            self.epoch = new_epoch();
        }
        let next = self.last.get(topic).map_or(1, |last| last + 1);
        let sent = send(Seq(self.epoch, next));
        if sent {
            self.last.insert(topic.clone(), next);
        }
        sent
    }
}

/// What a numbered note is, to the node hearing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// The next one (or the first heard): apply it.
    Next,
    /// Notes before it never came: resync the topic.
    Gap,
    /// Seen already: skip it.
    Repeat,
}

/// The hearing node's book: each sender's last number on each topic heard here.
#[derive(Debug, Default)]
pub struct Heard {
    by_sender: HashMap<String, HashMap<Topic, Seq>>,
    size: usize,
}

impl Heard {
    /// Checks `seq` from `sender` on `topic` and records it.
    pub fn check(&mut self, sender: &str, topic: &Topic, seq: Seq) -> Order {
        let known = self.by_sender.get(sender).and_then(|topics| topics.get(topic)).copied();
        let order = match known {
            Some(Seq(epoch, last)) if epoch == seq.0 && seq.1 <= last => return Order::Repeat,
            Some(Seq(epoch, last)) if epoch == seq.0 && seq.1 > last + 1 => Order::Gap,
            _ => Order::Next,
        };
        if known.is_none() {
            if self.size >= MAX_HEARD_SEQUENCES {
                self.by_sender.clear();
                self.size = 0;
            }
            self.size += 1;
        }
        self.by_sender.entry(sender.to_owned()).or_default().insert(topic.clone(), seq);
        order
    }

    /// Forgets where `sender`'s numbers on `topic` stand (it asked for a resync of the topic).
    pub fn forget(&mut self, sender: &str, topic: &Topic) {
        if let Some(topics) = self.by_sender.get_mut(sender) {
            if topics.remove(topic).is_some() {
                self.size -= 1;
            }
        }
    }

    /// Forgets `topic` for every sender (this node stopped hearing it, or starts hearing it again).
    pub fn forget_topic(&mut self, topic: &Topic) {
        for topics in self.by_sender.values_mut() {
            if topics.remove(topic).is_some() {
                self.size -= 1;
            }
        }
    }

    /// Forgets every sender's numbers (this node dropped all its connections: what it missed is recovered, and the
    /// next note on each topic starts over).
    pub fn forget_all(&mut self) {
        self.by_sender.clear();
        self.size = 0;
    }

    /// Forgets a sender that left or stopped answering.
    pub fn forget_sender(&mut self, sender: &str) {
        if let Some(topics) = self.by_sender.remove(sender) {
            self.size -= topics.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x() -> Topic {
        Topic::Channel("messaging:x".into())
    }

    #[test]
    fn numbers_count_only_for_notes_that_left() {
        let mut book = Numbering::new(7);
        let mut sent = Vec::new();
        assert!(book.send(
            &x(),
            || 8,
            |seq| {
                sent.push(seq);
                true
            }
        ));
        assert!(!book.send(&x(), || 8, |_| false), "a full queue");
        book.send(
            &x(),
            || 8,
            |seq| {
                sent.push(seq);
                true
            },
        );
        book.send(
            &Topic::User("bob".into()),
            || 8,
            |seq| {
                sent.push(seq);
                true
            },
        );
        assert_eq!(
            sent,
            vec![Seq(7, 1), Seq(7, 2), Seq(7, 1)],
            "per topic, no hole for the dropped one"
        );
    }

    #[test]
    fn a_full_numbering_book_starts_a_new_epoch() {
        let mut book = Numbering::new(7);
        for n in 0..MAX_NUMBERED_TOPICS {
            book.send(&Topic::User(n.to_string()), || 8, |_| true);
        }
        let mut seq = None;
        book.send(
            &x(),
            || 8,
            |given| {
                seq = Some(given);
                true
            },
        );
        assert_eq!(seq, Some(Seq(8, 1)));
        assert_eq!(book.last.len(), 1);
    }

    #[test]
    fn a_jump_is_a_gap_a_number_seen_is_a_repeat_and_a_new_epoch_starts_over() {
        let mut heard = Heard::default();
        assert_eq!(heard.check("b", &x(), Seq(7, 40)), Order::Next, "the first one heard");
        assert_eq!(heard.check("b", &x(), Seq(7, 41)), Order::Next);
        assert_eq!(heard.check("c", &x(), Seq(3, 1)), Order::Next, "another sender");
        assert_eq!(heard.check("b", &x(), Seq(7, 41)), Order::Repeat);
        assert_eq!(heard.check("b", &x(), Seq(7, 44)), Order::Gap, "42 and 43 never came");
        assert_eq!(heard.check("b", &x(), Seq(7, 45)), Order::Next, "in step again");
        assert_eq!(heard.check("b", &x(), Seq(9, 1)), Order::Next, "b restarted");
        heard.forget("b", &x());
        assert_eq!(heard.check("b", &x(), Seq(9, 5)), Order::Next, "forgotten: no gap");
        heard.forget_topic(&x());
        assert_eq!(heard.size, 0);
        assert_eq!(heard.check("c", &x(), Seq(3, 9)), Order::Next, "heard again: no gap");
        heard.forget_sender("c");
        assert_eq!(heard.size, 0);
    }

    #[test]
    fn a_full_hearing_book_is_emptied_without_a_false_gap() {
        let mut heard = Heard::default();
        for n in 0..MAX_HEARD_SEQUENCES {
            heard.check("b", &Topic::User(n.to_string()), Seq(1, 5));
        }
        assert_eq!(heard.check("b", &x(), Seq(1, 5)), Order::Next);
        assert_eq!(
            heard.check("b", &Topic::User("0".into()), Seq(1, 9)),
            Order::Next,
            "emptied: no gap"
        );
        assert_eq!(heard.size, 2);
    }
}
