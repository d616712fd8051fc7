//! Which bus topics this node hears ([`crate::hub::live::Topic`]: a channel while a connection here watches it, a
//! user while the user is connected here, a user's presence while a connection here follows it), and the waits of
//! the requests that need a topic heard before they answer. The bus does the subscribing
//! ([`crate::cluster::Bus::listen`]); this keeps the book, so that a topic is asked for once however many requests
//! need it, and dropped only when no connection here needs it (the caller says which topics are needed: the hub for
//! channels and users, the presence book for presence).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::hub::live::Topic;

/// The longest a request waits for the bus to start hearing a topic (past it, it goes on: the bus is away, and
/// its return drops connections so that clients recover).
pub const LISTEN_WAIT: Duration = Duration::from_secs(2);

/// Set once the bus hears a topic; requests wait on it without holding a thread.
#[derive(Debug, Default)]
pub struct Ready {
    done: Mutex<bool>,
    woken: tokio::sync::Notify,
}

impl Ready {
    /// The topic is heard: wakes the waiters.
    pub fn set(&self) {
        *self.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = true;
        self.woken.notify_waiters();
    }

    fn is_set(&self) -> bool {
        *self.done.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until set, at most until `deadline`, without holding a thread.
    async fn wait(&self, deadline: tokio::time::Instant) {
        loop {
            let woken = self.woken.notified();
            if self.is_set() || tokio::time::timeout_at(deadline, woken).await.is_err() {
                return;
            }
        }
    }
}

/// The topics this node hears or is starting to hear.
#[derive(Debug, Default)]
pub struct Interest {
    listening: Mutex<HashMap<Topic, Arc<Ready>>>,
}

impl Interest {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Topic, Arc<Ready>>> {
        self.listening.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Asks `subscribe` for each topic not heard or asked for yet, then waits until all are heard, at most
    /// [`LISTEN_WAIT`] in all; the wait holds no thread.
    pub async fn listen_all(
        &self,
        topics: impl IntoIterator<Item = Topic>,
        subscribe: impl Fn(Topic, Arc<Ready>),
    ) {
        let deadline = tokio::time::Instant::now() + LISTEN_WAIT;
        for ready in self.ask(topics, subscribe) {
            ready.wait(deadline).await;
        }
    }

    /// Asks `subscribe` for each topic not heard or asked for yet; returns what to wait on.
    fn ask(
        &self,
        topics: impl IntoIterator<Item = Topic>,
        subscribe: impl Fn(Topic, Arc<Ready>),
    ) -> Vec<Arc<Ready>> {
        let mut listening = self.lock();
        topics
            .into_iter()
            .filter_map(|topic| {
                let ready = listening.entry(topic.clone()).or_insert_with(|| {
                    let ready = Arc::new(Ready::default());
                    subscribe(topic, ready.clone());
                    ready
                });
                (!ready.is_set()).then(|| ready.clone())
            })
            .collect()
    }

    /// Whether `topic` is heard already.
    #[cfg(test)]
    fn hears(&self, topic: &Topic) -> bool {
        self.lock().get(topic).is_some_and(|ready| ready.is_set())
    }

    /// Forgets `topic` if no connection here needs it (`needed`); `true` when the bus should drop it. `needed` is
    /// asked under this book's lock, so a request that found the topic heard cannot lose it before its connection
    /// counts.
    pub fn unlisten_if_idle(&self, topic: &Topic, needed: impl Fn(&Topic) -> bool) -> bool {
        let mut listening = self.lock();
        if !listening.contains_key(topic) || needed(topic) {
            return false;
        }
        listening.remove(topic);
        true
    }

    /// Forgets every topic no connection here needs (one asked for by a request that then failed never becomes
    /// idle by itself); returns them, for the bus to drop.
    pub fn sweep(&self, needed: impl Fn(&Topic) -> bool) -> Vec<Topic> {
        let mut listening = self.lock();
        let idle: Vec<Topic> = listening.keys().filter(|topic| !needed(topic)).cloned().collect();
        for topic in &idle {
            listening.remove(topic);
        }
        idle
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::Hub;

    #[tokio::test]
    async fn a_topic_is_asked_for_once_and_dropped_only_when_the_hub_no_longer_needs_it() {
        let interest = Interest::default();
        let hub = Hub::default();
        let asked = Mutex::new(Vec::new());
        let subscribe = |topic: Topic, ready: Arc<Ready>| {
            asked.lock().unwrap().push(topic);
            ready.set();
        };
        let _alice = hub.register("a-1", "alice", false, 10).unwrap();
        hub.watch("messaging:x", "a-1");
        let x = Topic::Channel("messaging:x".into());
        interest.listen_all([x.clone(), Topic::User("alice".into())], subscribe).await;
        interest.listen_all([x.clone()], subscribe).await;
        assert_eq!(asked.lock().unwrap().len(), 2, "x asked for once");
        assert!(interest.hears(&x));
        let needed = |topic: &Topic| hub.has_interest(topic);
        assert!(!interest.unlisten_if_idle(&x, needed), "alice watches x");
        assert!(interest.sweep(needed).is_empty());
        hub.unwatch("messaging:x", "a-1");
        assert!(interest.unlisten_if_idle(&x, needed));
        assert!(!interest.hears(&x));
        hub.unregister("a-1");
        assert_eq!(interest.sweep(needed), vec![Topic::User("alice".into())]);
    }

    #[tokio::test]
    async fn an_async_wait_ends_when_the_bus_hears_the_topic() {
        let interest = Arc::new(Interest::default());
        let asked: Arc<Mutex<Option<Arc<Ready>>>> = Arc::default();
        let bus = asked.clone();
        let topic = Topic::User("alice".into());
        let waiting = {
            let interest = interest.clone();
            let topic = topic.clone();
            tokio::spawn(async move {
                let subscribe = |_, ready| *bus.lock().unwrap() = Some(ready);
                interest.listen_all([topic], subscribe).await;
            })
        };
        let ready = loop {
            if let Some(ready) = asked.lock().unwrap().clone() {
                break ready;
            }
            tokio::task::yield_now().await;
        };
        ready.set();
        waiting.await.unwrap();
        assert!(interest.hears(&topic));
    }

    #[tokio::test]
    async fn a_wait_for_a_topic_never_heard_ends_at_its_bound() {
        let interest = Interest::default();
        let started = std::time::Instant::now();
        interest.listen_all([Topic::User("nobody".into())], |_, _| {}).await;
        assert!(started.elapsed() >= LISTEN_WAIT && !interest.hears(&Topic::User("nobody".into())));
    }
}
