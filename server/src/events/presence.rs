//! Presence: which connections asked to hear when users come online and go offline (`queryUsers` with
//! `presence: true`, or a channel query with `presence: true` for the channel's members), and the
//! `user.presence.changed` event sent to them when a user's first connection opens or last one closes. Invisible
//! users are never announced: to everyone else they stay offline.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde_json::json;

use crate::domain::users::StoredUser;
use crate::hub::live::Topic;
use crate::{clock, AppState};

/// The most users one connection follows; later subscriptions past it are ignored.
pub const MAX_FOLLOWED_PER_CONNECTION: usize = 5_000;

/// Id → set of ids.
type Links = HashMap<String, HashSet<String>>;

/// Who follows whom.
#[derive(Debug, Default)]
pub struct Presence {
    /// User id → connections following it; connection id → users it follows; users who lost their last follower
    /// here since the bus last looked (it may stop hearing their presence, [`Presence::take_idle`]).
    maps: Mutex<(Links, Links, Vec<String>)>,
}

impl Presence {
    fn lock(&self) -> std::sync::MutexGuard<'_, (Links, Links, Vec<String>)> {
        self.maps.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// `connection_id` follows `users` (up to [`MAX_FOLLOWED_PER_CONNECTION`] in all); returns the users that had
    /// no follower here before, whose presence this node must start hearing ([`follow`]).
    pub fn follow<'a>(
        &self,
        connection_id: &str,
        users: impl IntoIterator<Item = &'a str>,
    ) -> Vec<String> {
        let mut maps = self.lock();
        let (followers, followed, _) = &mut *maps;
        let mine = followed.entry(connection_id.into()).or_default();
        let mut first = Vec::new();
        for user in users {
            if mine.len() >= MAX_FOLLOWED_PER_CONNECTION {
                break;
            }
            if mine.insert(user.into()) {
                let set = followers.entry(user.into()).or_default();
                if set.is_empty() {
                    first.push(user.to_owned());
                }
                set.insert(connection_id.into());
            }
        }
        first
    }

    /// Forgets a closed connection.
    pub fn forget(&self, connection_id: &str) {
        let mut maps = self.lock();
        let (followers, followed, idle) = &mut *maps;
        for user in followed.remove(connection_id).unwrap_or_default() {
            if let Some(set) = followers.get_mut(&user) {
                set.remove(connection_id);
                if set.is_empty() {
                    followers.remove(&user);
                    if idle.len() < MAX_IDLE {
                        idle.push(user);
                    }
                }
            }
        }
    }

    /// Whether a connection here follows `user_id`.
    pub fn is_followed(&self, user_id: &str) -> bool {
        self.lock().0.contains_key(user_id)
    }

    /// Users who lost their last follower here since the last call (the bus's periodic sweep finds any past
    /// [`MAX_IDLE`]).
    pub fn take_idle(&self) -> Vec<String> {
        std::mem::take(&mut self.lock().2)
    }

    /// The connections following `user_id`.
    pub fn followers(&self, user_id: &str) -> Vec<String> {
        let maps = self.maps.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        maps.0.get(user_id).map(|set| set.iter().cloned().collect()).unwrap_or_default()
    }
}

/// Users who lost their last follower remembered between two looks of the bus, at most.
const MAX_IDLE: usize = 100_000;

/// `connection_id` (open here) follows `users`; on a cluster, waits until this node hears the presence of those
/// it did not hear yet (at most [`crate::cluster::interest::LISTEN_WAIT`]), so that a change after the caller reads
/// their state is not missed.
pub async fn follow<'a>(
    state: &AppState,
    connection_id: &str,
    users: impl IntoIterator<Item = &'a str>,
) {
    let first = state.presence.follow(connection_id, users);
    state.cluster.listen_all(first.into_iter().map(Topic::Presence)).await;
}

/// Tells `user`'s followers on every node that it came online (`online`) or went offline, unless it is invisible.
pub fn announce(state: &AppState, user: &StoredUser, online: bool) {
    announce_to(state, user, online, true);
}

/// Tells `user`'s followers on this node only (a departed node's users: every node announces its own).
pub fn announce_here(state: &AppState, user: &StoredUser, online: bool) {
    announce_to(state, user, online, false);
}

fn announce_to(state: &AppState, user: &StoredUser, online: bool, everywhere: bool) {
    if user.is_invisible() {
        return;
    }
    let event = json!({
        "type": "user.presence.changed",
        "user": user.public_view(online),
        "created_at": clock::timestamp(),
    });
    let frame = crate::hub::Frame::from(event.to_string());
    let note =
        || crate::cluster::Note::Presence { user_id: user.id.clone(), frame: frame.to_string() };
    if everywhere {
        crate::cluster::tell(state, note);
    }
    for connection_id in state.presence.followers(&user.id) {
        state.hub.send_to_connection(&connection_id, frame.clone());
    }
}

/// How often departed nodes' users are looked at ([`announce_departures`]).
pub const DEPARTURES_CHECK: std::time::Duration = std::time::Duration::from_millis(250);

/// Runs until the server stops (a cluster node only): every [`DEPARTURES_CHECK`], announces offline the users of
/// nodes that left or stopped answering who are online nowhere now.
pub async fn announce_departures(state: AppState) {
    let mut check = tokio::time::interval(DEPARTURES_CHECK);
    let mut stopping = state.shutdown.clone();
    loop {
        tokio::select! {
            _ = check.tick() => announce_departed(&state),
            _ = crate::stopping(&mut stopping) => return,
        }
    }
}

/// Announces offline the users of departed nodes who are online nowhere now (in a task of its own: it reads the
/// store).
fn announce_departed(state: &AppState) {
    let users = state.cluster.take_departed(&state.hub);
    if users.is_empty() {
        return;
    }
    let state = state.clone();
    tokio::spawn(async move {
        for id in users {
            if let Ok(Some(user)) = state.store.user(&id).await {
                announce_here(&state, &user, false);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_users_presence_is_needed_from_its_first_follower_here_until_its_last_leaves() {
        let presence = Presence::default();
        assert_eq!(presence.follow("c-1", ["bob", "carol"]), vec!["bob", "carol"]);
        assert_eq!(presence.follow("c-2", ["bob", "dave"]), vec!["dave"], "bob is heard already");
        presence.forget("c-1");
        assert_eq!(presence.take_idle(), vec!["carol"], "c-2 still follows bob");
        assert!(presence.is_followed("bob") && !presence.is_followed("carol"));
        presence.forget("c-2");
        let mut idle = presence.take_idle();
        idle.sort();
        assert_eq!(idle, vec!["bob", "dave"]);
        assert!(presence.followers("bob").is_empty());
    }
}
