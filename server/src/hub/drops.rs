//! Connections the hub drops itself: the ones another node's lost notes leave behind (their clients reconnect and
//! recover what they missed), every connection at shutdown, and slow consumers whose outbox refused a frame. What
//! a dropped connection's task announces when it ends (presence, watching) is remembered here, at most
//! [`MAX_DROPPED`] of them.

use super::{remove_connection, Hub, Shards, State, MAX_DROPPED};

impl Hub {
    /// Drops the connections `ids` names (their clients reconnect and recover); returns how many were here.
    pub fn drop_connections(&self, ids: &[String]) -> usize {
        self.drop_picked(|state| {
            ids.iter().filter(|id| state.connections.contains_key(*id)).cloned().collect()
        })
    }

    /// Drops the connections watching `cid` (their clients reconnect and recover what they missed); returns how many.
    pub fn drop_watchers(&self, cid: &str) -> usize {
        self.drop_picked(|_| {
            let shard = self.shards.of(cid);
            shard
                .watchers
                .get(cid)
                .map(|w| w.connections.keys().cloned().collect())
                .unwrap_or_default()
        })
    }

    /// Drops every connection of `user_id` (their clients reconnect and recover); returns how many.
    pub fn drop_user(&self, user_id: &str) -> usize {
        self.drop_picked(|state| state.per_user.get(user_id).cloned().unwrap_or_default())
    }

    /// Drops every connection (their tasks close WebSockets with 1001 and clients reconnect); returns how many.
    pub fn drop_all(&self) -> usize {
        self.drop_picked(|state| state.connections.keys().cloned().collect())
    }

    /// Drops the connections `pick` names, under one lock, remembering what their tasks' ends announce; returns
    /// how many.
    fn drop_picked(&self, pick: impl FnOnce(&State) -> Vec<String>) -> usize {
        let mut state = self.lock();
        let ids = pick(&state);
        for connection_id in &ids {
            remember_dropped(&mut state, &self.shards, connection_id);
        }
        ids.len()
    }

    /// Drops connections whose outbox refused a frame.
    pub(super) fn drop_slow(&self, connection_ids: &[&str]) {
        if connection_ids.is_empty() {
            return;
        }
        let mut state = self.lock();
        for connection_id in connection_ids {
            if remember_dropped(&mut state, &self.shards, connection_id) {
                state.slow_dropped += 1;
                tracing::warn!(connection_id, "slow consumer (outbox full): dropping connection");
            }
        }
    }
}

/// Removes a connection the hub drops itself, remembering what its task's end must announce; whether it was open.
pub(super) fn remember_dropped(state: &mut State, shards: &Shards, connection_id: &str) -> bool {
    let Some(entry) = remove_connection(state, shards, connection_id) else { return false };
    if state.dropped.len() >= MAX_DROPPED {
        tracing::warn!(
            dropped = state.dropped.len(),
            "too many dropped connections remembered: forgetting them"
        );
        state.dropped.clear();
    }
    state.dropped.insert(connection_id.to_owned(), entry.into());
    true
}
