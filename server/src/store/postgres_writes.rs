//! New messages in PostgreSQL, written together: **group commit**.
//!
//! A message is written under its channel's row lock (see `postgres_messages`), which its transaction holds until
//! it commits. One message per transaction would cap a busy channel at one message per round trip of its
//! statements and its commit's flush, whatever the number of nodes (~140 messages/s on this project's 2-core
//! machine). So a send waits in one of [`LANES`] queues (chosen by channel), and one task per lane writes
//! everything waiting, at most [`BATCH`] messages, in one transaction:
//! - the senders named, then the channels' rows locked, each in id order, so two batches (on any nodes) never wait
//!   for each other in a circle;
//! - each message inserted, counted as unread and read back in arrival order (its members' unread counts are the
//!   ones right after it), with prepared statements;
//! - one commit; then each send is answered with its own message, so "acknowledged" still means "committed".
//!
//! If the batch fails (a message the database refuses, a deadlock with other work, a lost connection), it is
//! rolled back and each of its messages is written again in a transaction of its own: one message's failure is
//! only its own.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use deadpool_postgres::{GenericClient, Object, Pool, Transaction};
use tokio::runtime::Handle;
use tokio::sync::oneshot;
use tokio_postgres::types::Json;

use super::postgres::take_client;
use super::postgres_rows::{all, attach_reactions, message_from, MESSAGE_COLUMNS, USER_COLUMNS};
use super::{AddedMessage, MemberUnread, NewMessage, StoreError};

/// Queues of sends, each written by one task at a time; a channel's messages always take the same one.
pub const LANES: usize = 4;

/// Most messages one transaction writes; more wait for the next.
pub const BATCH: usize = 256;

/// A send waiting for its lane's next transaction.
struct Waiting {
    /// What to store.
    message: NewMessage,
    /// Its server timestamp.
    now: String,
    /// Where its outcome goes.
    answer: oneshot::Sender<Result<AddedMessage, StoreError>>,
}

/// One lane: what waits, and whether its writer task is running.
#[derive(Default)]
struct Lane {
    waiting: Vec<Waiting>,
    writing: bool,
}

/// The lanes of one store, and what their writer tasks need.
pub(super) struct GroupCommit {
    lanes: [Mutex<Lane>; LANES],
    /// Pooled connections.
    pool: Pool,
    /// The store's runtime: writers run there, as the connections' I/O does.
    io: Handle,
}

impl GroupCommit {
    pub(super) fn new(pool: Pool, io: Handle) -> Arc<Self> {
        Arc::new(GroupCommit { lanes: Default::default(), pool, io })
    }

    /// Stores `message` with whatever else waits in its lane; see the module docs.
    pub(super) async fn add(
        self: &Arc<Self>,
        message: NewMessage,
        now: &str,
    ) -> Result<AddedMessage, StoreError> {
        let lane = lane_of(&message.cid);
        let (answer, answered) = oneshot::channel();
        let start = {
            let mut queue = lock(&self.lanes[lane]);
            queue.waiting.push(Waiting { message, now: now.to_owned(), answer });
            !std::mem::replace(&mut queue.writing, true)
        };
        if start {
            self.io.spawn(Arc::clone(self).write(lane));
        }
        // The writer runs on its own: a send whose request is given up does not stop the others' batch.
        answered.await.unwrap_or(Err(StoreError::Panicked))
    }

    /// Writes lane `lane`'s messages, a batch at a time, until none waits.
    async fn write(self: Arc<Self>, lane: usize) {
        let mut writing = Writing { lane: &self.lanes[lane], done: false };
        loop {
            let batch: Vec<Waiting> = {
                let mut queue = lock(&self.lanes[lane]);
                if queue.waiting.is_empty() {
                    // Under the same lock a send checks: one queued after this starts a new writer.
                    queue.writing = false;
                    writing.done = true;
                    return;
                }
                let count = queue.waiting.len().min(BATCH);
                queue.waiting.drain(..count).collect()
            };
            let outcomes = match take_client(&self.pool, &self.io).await {
                Ok(mut client) => written(&mut client, &batch).await,
                Err(error) => batch.iter().map(|_| Err(error.clone())).collect(),
            };
            for (waiting, outcome) in batch.into_iter().zip(outcomes) {
                let _ = waiting.answer.send(outcome);
            }
        }
    }
}

/// Marks its lane idle if its writer ends any other way than finding it empty (a panic, its runtime stopping), so
/// the next send starts a new one.
struct Writing<'a> {
    lane: &'a Mutex<Lane>,
    /// Set when the writer marked the lane idle itself.
    done: bool,
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        if !self.done {
            lock(self.lane).writing = false;
        }
    }
}

/// Each message's outcome: the batch in one transaction, or each in its own if that fails.
async fn written(client: &mut Object, batch: &[Waiting]) -> Vec<Result<AddedMessage, StoreError>> {
    let messages: Vec<(&NewMessage, &str)> =
        batch.iter().map(|waiting| (&waiting.message, waiting.now.as_str())).collect();
    if let Ok(added) = write_batch(client, &messages).await {
        return added.into_iter().map(Ok).collect();
    }
    let mut outcomes = Vec::with_capacity(messages.len());
    for one in messages {
        outcomes.push(write_batch(client, &[one]).await.map(|mut added| added.remove(0)));
    }
    outcomes
}

/// Writes `messages` in one transaction; see the module docs.
async fn write_batch(
    client: &mut Object,
    messages: &[(&NewMessage, &str)],
) -> Result<Vec<AddedMessage>, StoreError> {
    let tx = client.transaction().await?;
    let mut senders = BTreeMap::new();
    for (message, now) in messages {
        senders.entry(message.user_id.as_str()).or_insert(*now);
    }
    let ensure = tx
        .prepare_cached(
            "INSERT INTO users (id, role, fields, created_at, updated_at) VALUES ($1, 'user', '{}', $2, $2)
             ON CONFLICT (id) DO NOTHING",
        )
        .await?;
    for (user_id, now) in senders {
        tx.execute(&ensure, &[&user_id, &now]).await?;
    }
    // The newest message time of each channel, its row locked (see `postgres_messages`).
    let lock_row =
        tx.prepare_cached("SELECT last_message_at FROM channels WHERE cid = $1 FOR UPDATE").await?;
    let cids: BTreeSet<&str> = messages.iter().map(|(message, _)| message.cid.as_str()).collect();
    let mut newest: BTreeMap<&str, Option<String>> = BTreeMap::new();
    for cid in cids {
        let row = tx.query_opt(&lock_row, &[&cid]).await?;
        newest.insert(cid, row.map(|row| row.try_get(0)).transpose()?.flatten());
    }
    // Inserted (or not, for an id already stored) and counted as unread in one statement.
    let insert = tx
        .prepare_cached(
            "WITH added AS (
                 INSERT INTO messages (id, cid, user_id, text, extra, created_at) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO NOTHING RETURNING id
             ), counted AS (
                 UPDATE reads SET unread_messages = unread_messages + 1,
                     shared_unread_messages = shared_unread_messages + 1
                 WHERE $7 AND EXISTS (SELECT 1 FROM added) AND cid = $2 AND user_id != $3
                   AND user_id NOT IN (SELECT user_id FROM moderation
                       WHERE ((kind = 'mute' AND target = $3) OR (kind = 'channel_mute' AND target = $2))
                       AND (expires IS NULL OR expires > $6))
                 RETURNING 1
             )
             SELECT EXISTS (SELECT 1 FROM added)",
        )
        .await?;
    let select = tx
        .prepare_cached(&format!(
            "SELECT {MESSAGE_COLUMNS}, {USER_COLUMNS} FROM messages g JOIN users u ON u.id = g.user_id WHERE g.id = $1"
        ))
        .await?;
    let mut added = Vec::with_capacity(messages.len());
    for (message, now) in messages {
        let previous = newest.get_mut(message.cid.as_str()).ok_or(StoreError::LostWrite)?;
        // Never earlier than the channel's newest message: time order is storage order.
        let created_at = match previous.as_deref() {
            Some(previous) if previous > *now => previous.to_owned(),
            _ => (*now).to_owned(),
        };
        let params: [&(dyn tokio_postgres::types::ToSql + Sync); 7] = [
            &message.id,
            &message.cid,
            &message.user_id,
            &message.text,
            &Json(&message.extra),
            &created_at,
            &message.counts_as_unread(),
        ];
        let inserted: bool = tx.query_one(&insert, &params).await?.try_get(0)?;
        let unread = if inserted {
            *previous = Some(created_at);
            member_unread(&tx, &message.cid).await?
        } else {
            Vec::new()
        };
        let row = tx.query_opt(&select, &[&message.id]).await?.ok_or(StoreError::LostWrite)?;
        added.push(AddedMessage { message: message_from(&row)?, inserted, unread });
    }
    // A message already stored may have reactions; a new one has none yet.
    let mut retried: Vec<_> =
        added.iter().filter(|a| !a.inserted).map(|a| a.message.clone()).collect();
    attach_reactions(&tx, &mut retried).await?;
    for kept in retried {
        if let Some(slot) = added.iter_mut().find(|a| !a.inserted && a.message.id == kept.id) {
            slot.message = kept;
        }
    }
    let touch = tx
        .prepare_cached("UPDATE channels SET last_message_at = $2, updated_at = $2 WHERE cid = $1")
        .await?;
    let touched = added.iter().filter(|a| a.inserted).map(|a| a.message.cid.as_str());
    for cid in touched.collect::<BTreeSet<_>>() {
        let at = newest.get(cid).cloned().flatten();
        tx.execute(&touch, &[&cid, &at]).await?;
    }
    tx.commit().await?;
    Ok(added)
}

/// Every member of `cid` with a read state: unread here, and totals across their channels, in one query.
async fn member_unread(tx: &Transaction<'_>, cid: &str) -> Result<Vec<MemberUnread>, StoreError> {
    let statement = tx
        .prepare_cached(
            "SELECT r.user_id, r.unread_messages, t.total, t.channels FROM reads r JOIN (
                 SELECT user_id, COALESCE(SUM(unread_messages), 0)::BIGINT AS total,
                        COUNT(*) FILTER (WHERE unread_messages > 0) AS channels
                 FROM reads WHERE user_id IN (SELECT user_id FROM reads WHERE cid = $1) GROUP BY user_id
             ) t ON t.user_id = r.user_id
             WHERE r.cid = $1",
        )
        .await?;
    let rows = tx.query(&statement, &[&cid]).await?;
    let number = |row: &tokio_postgres::Row, at| {
        row.try_get::<_, i64>(at).map(|value| u64::try_from(value).unwrap_or(0))
    };
    all(rows, |row| {
        Ok(MemberUnread {
            user_id: row.try_get(0)?,
            unread_messages: number(row, 1)?,
            total_unread: number(row, 2)?,
            unread_channels: number(row, 3)?,
        })
    })
}

/// The lane of channel `cid`.
fn lane_of(cid: &str) -> usize {
    let hash = cid.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    });
    usize::try_from(hash % LANES as u64).unwrap_or(0)
}

/// A lane's lock, whatever a panicking holder left.
fn lock(lane: &Mutex<Lane>) -> MutexGuard<'_, Lane> {
    lane.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
