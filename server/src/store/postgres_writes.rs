//! New messages in PostgreSQL, written together: **group commit**.
//!
//! A message is written under its channel's row lock (see `postgres_messages`), which its transaction holds until
//! it commits. One message per transaction would cap a busy channel at one message per round trip of its
//! statements and its commit's flush, whatever the number of nodes (~140 messages/s on this project's 2-core
//! machine). So a send waits in one of [`LANES`] queues (chosen by channel), and one task per lane writes
//! everything waiting, at most [`BATCH`] messages, in one transaction:
//! - the senders named, then the channels' rows locked in id order, so two batches (on any nodes) never wait for
//!   each other in a circle;
//! - the messages inserted by one statement, in arrival order; each member's unread count raised once per batch,
//!   the counts right after each message (for its `message.new`) worked out from the counts before; the
//!   messages read back by one statement: a fixed number of prepared statements, whatever the batch's size;
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
use super::{AddedMessage, MemberUnread, MessageRecord, NewMessage, StoreError};

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
        let lane = crate::part_of(&message.cid, LANES);
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

/// Writes `messages` in one transaction, in a fixed number of statements whatever their number; see the module
/// docs.
async fn write_batch(
    client: &mut Object,
    messages: &[(&NewMessage, &str)],
) -> Result<Vec<AddedMessage>, StoreError> {
    let tx = client.transaction().await?;
    let now = messages.first().map_or("", |(_, now)| *now);
    let senders: BTreeSet<&str> = messages.iter().map(|(m, _)| m.user_id.as_str()).collect();
    let senders: Vec<&str> = senders.into_iter().collect();
    let statement = tx.prepare_cached(NAME_SENDERS).await?;
    tx.execute(&statement, &[&senders, &now]).await?;
    let cids: BTreeSet<&str> = messages.iter().map(|(m, _)| m.cid.as_str()).collect();
    let cids: Vec<&str> = cids.into_iter().collect();
    let statement = tx.prepare_cached(LOCK_CHANNELS).await?;
    let mut newest: BTreeMap<String, Option<String>> = BTreeMap::new();
    for row in tx.query(&statement, &[&cids]).await? {
        newest.insert(row.try_get(0)?, row.try_get(1)?);
    }
    // The first of each id in the batch is offered for insertion; the insert tells which were not stored yet.
    let ids: Vec<&str> = messages.iter().map(|(m, _)| m.id.as_str()).collect();
    let mut offered: BTreeSet<&str> = BTreeSet::new();
    let mut new = Vec::new();
    for (at, (message, now)) in messages.iter().enumerate() {
        if !offered.insert(&message.id) {
            continue;
        }
        // Never earlier than the channel's newest message: time order is storage order.
        let previous = newest.entry(message.cid.clone()).or_default();
        let created_at = match previous.as_deref() {
            Some(previous) if previous > *now => previous.to_owned(),
            _ => (*now).to_owned(),
        };
        *previous = Some(created_at.clone());
        new.push((at, created_at));
    }
    let inserted = insert_new(&tx, messages, &new).await?;
    let new: Vec<(usize, String)> =
        new.into_iter().filter(|(at, _)| inserted.contains(&messages[*at].0.id)).collect();
    let mut unread = count_unread(&tx, messages, &new, &cids).await?;
    // Every message as stored: new ones with their senders, earlier ones with their reactions too.
    let select = format!(
        "SELECT {MESSAGE_COLUMNS}, {USER_COLUMNS} FROM messages g JOIN users u ON u.id = g.user_id
         WHERE g.id = ANY($1::text[])"
    );
    let statement = tx.prepare_cached(&select).await?;
    let rows = tx.query(&statement, &[&ids]).await?;
    let mut stored = all(rows, message_from)?;
    let mut earlier: Vec<MessageRecord> =
        stored.iter().filter(|m| !inserted.contains(&m.id)).cloned().collect();
    attach_reactions(&tx, &mut earlier).await?;
    stored.retain(|m| inserted.contains(&m.id));
    stored.extend(earlier);
    let touched: BTreeMap<&str, &str> = new
        .iter()
        .map(|(at, created_at)| (messages[*at].0.cid.as_str(), created_at.as_str()))
        .collect();
    let (touched_cids, touched_at): (Vec<&str>, Vec<&str>) = touched.into_iter().unzip();
    let statement = tx.prepare_cached(TOUCH_CHANNELS).await?;
    tx.execute(&statement, &[&touched_cids, &touched_at]).await?;
    tx.commit().await?;
    messages
        .iter()
        .enumerate()
        .map(|(at, (message, _))| {
            let message = stored.iter().find(|m| m.id == message.id).cloned();
            let message = message.ok_or(StoreError::LostWrite)?;
            let counts = unread.remove(&at);
            Ok(AddedMessage {
                message,
                inserted: counts.is_some(),
                unread: counts.unwrap_or_default(),
            })
        })
        .collect()
}

/// Names the senders as bare users if they are new (`$1` ids, `$2` now).
const NAME_SENDERS: &str = "INSERT INTO users (id, role, fields, created_at, updated_at)
     SELECT id, 'user', '{}', $2, $2 FROM unnest($1::text[]) AS id ON CONFLICT (id) DO NOTHING";

/// Locks the channels' rows in id order (`$1` cids, sorted) and reads their newest message time.
const LOCK_CHANNELS: &str =
    "SELECT cid, last_message_at FROM channels WHERE cid = ANY($1::text[]) ORDER BY cid FOR UPDATE";

/// Sets the channels' newest message time (`$1` cids, `$2` times).
const TOUCH_CHANNELS: &str = "UPDATE channels SET last_message_at = d.at, updated_at = d.at
     FROM unnest($1::text[], $2::text[]) AS d(cid, at) WHERE channels.cid = d.cid";

/// Inserts the new messages (`new`: their index in `messages` and time) in one statement, in order; the ids it
/// inserted (all, unless a concurrent send took one meanwhile elsewhere).
async fn insert_new(
    tx: &Transaction<'_>,
    messages: &[(&NewMessage, &str)],
    new: &[(usize, String)],
) -> Result<BTreeSet<String>, StoreError> {
    let pick = |field: fn(&NewMessage) -> &str| -> Vec<&str> {
        new.iter().map(|(at, _)| field(messages[*at].0)).collect()
    };
    let (ids, cids) = (pick(|m| &m.id), pick(|m| &m.cid));
    let (users, texts) = (pick(|m| &m.user_id), pick(|m| &m.text));
    let extras: Vec<Json<&serde_json::Map<String, serde_json::Value>>> =
        new.iter().map(|(at, _)| Json(&messages[*at].0.extra)).collect();
    let times: Vec<&str> = new.iter().map(|(_, created_at)| created_at.as_str()).collect();
    let statement = tx
        .prepare_cached(
            "INSERT INTO messages (id, cid, user_id, text, extra, created_at)
             SELECT id, cid, user_id, text, extra, created_at
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])
                 WITH ORDINALITY AS m(id, cid, user_id, text, extra, created_at, place)
             ORDER BY place
             ON CONFLICT (id) DO NOTHING RETURNING id",
        )
        .await?;
    let rows = tx.query(&statement, &[&ids, &cids, &users, &texts, &extras, &times]).await?;
    rows.iter().map(|row| row.try_get(0).map_err(StoreError::from)).collect()
}

/// One member's counts while the batch is counted: unread in each of the batch's channels, and in all.
#[derive(Default)]
struct Counts {
    unread: BTreeMap<String, u64>,
    total: u64,
    channels: u64,
}

/// Adds the new messages to their channels' unread counts (one row update per member and channel, whatever the
/// number of messages), and returns, by index in `messages`, every member's counts right after each new one.
async fn count_unread(
    tx: &Transaction<'_>,
    messages: &[(&NewMessage, &str)],
    new: &[(usize, String)],
    cids: &[&str],
) -> Result<BTreeMap<usize, Vec<MemberUnread>>, StoreError> {
    if new.is_empty() {
        return Ok(BTreeMap::new());
    }
    // Before the batch: each member's unread here, and totals across their channels.
    let statement = tx.prepare_cached(MEMBER_UNREAD).await?;
    let mut members: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    for row in tx.query(&statement, &[&cids]).await? {
        let (cid, user_id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        let number = |at| row.try_get::<_, i64>(at).map(|value| u64::try_from(value).unwrap_or(0));
        let member = counts.entry(user_id.clone()).or_default();
        member.unread.insert(cid.clone(), number(2)?);
        (member.total, member.channels) = (number(3)?, number(4)?);
        if let Some(cid) = cids.iter().find(|known| **known == cid) {
            members.entry(cid).or_default().push(user_id);
        }
    }
    let senders: Vec<&str> = new.iter().map(|(at, _)| messages[*at].0.user_id.as_str()).collect();
    let statement = tx.prepare_cached(MUTES).await?;
    let mutes = tx.query(&statement, &[&senders, &cids]).await?;
    let mutes: Vec<(String, String, String, Option<String>)> = mutes
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?;
    let mut added: BTreeMap<(&str, &str), i64> = BTreeMap::new();
    let mut after = BTreeMap::new();
    for (at, created_at) in new {
        let message = messages[*at].0;
        let cid = message.cid.as_str();
        let listed = members.get(cid).map(Vec::as_slice).unwrap_or_default();
        if message.counts_as_unread() {
            for member in listed.iter().filter(|member| **member != message.user_id) {
                let muted = mutes.iter().any(|(user_id, kind, target, expires)| {
                    user_id == member
                        && ((kind == "mute" && *target == message.user_id)
                            || (kind == "channel_mute" && target == cid))
                        && expires.as_deref().is_none_or(|expires| expires > created_at.as_str())
                });
                if muted {
                    continue;
                }
                let Some(counts) = counts.get_mut(member) else { continue };
                let here = counts.unread.entry(cid.to_owned()).or_default();
                if *here == 0 {
                    counts.channels += 1;
                }
                *here += 1;
                counts.total += 1;
                *added.entry((cid, member.as_str())).or_default() += 1;
            }
        }
        let snapshot = listed.iter().filter_map(|member| {
            let counts = counts.get(member)?;
            Some(MemberUnread {
                user_id: member.clone(),
                unread_messages: counts.unread.get(cid).copied().unwrap_or(0),
                total_unread: counts.total,
                unread_channels: counts.channels,
            })
        });
        after.insert(*at, snapshot.collect());
    }
    let ((added_cids, added_users), added_counts): ((Vec<&str>, Vec<&str>), Vec<i64>) =
        added.into_iter().unzip();
    let statement = tx.prepare_cached(ADD_UNREAD).await?;
    tx.execute(&statement, &[&added_cids, &added_users, &added_counts]).await?;
    Ok(after)
}

/// Every member of the channels `$1` with a read state: unread there, and totals across their channels.
const MEMBER_UNREAD: &str = "SELECT r.cid, r.user_id, r.unread_messages, t.total, t.channels FROM reads r JOIN (
         SELECT user_id, COALESCE(SUM(unread_messages), 0)::BIGINT AS total,
                COUNT(*) FILTER (WHERE unread_messages > 0) AS channels
         FROM reads WHERE user_id IN (SELECT user_id FROM reads WHERE cid = ANY($1::text[])) GROUP BY user_id
     ) t ON t.user_id = r.user_id
     WHERE r.cid = ANY($1::text[])";

/// Mutes that may keep a new message from counting: of its sender (`$1`) or of its channel (`$2`).
const MUTES: &str = "SELECT user_id, kind, target, expires FROM moderation
     WHERE (kind = 'mute' AND target = ANY($1::text[])) OR (kind = 'channel_mute' AND target = ANY($2::text[]))";

/// Adds to members' unread counts (`$1` cids, `$2` users, `$3` how many).
const ADD_UNREAD: &str = "UPDATE reads SET unread_messages = unread_messages + d.n,
         shared_unread_messages = shared_unread_messages + d.n
     FROM unnest($1::text[], $2::text[], $3::bigint[]) AS d(cid, user_id, n)
     WHERE reads.cid = d.cid AND reads.user_id = d.user_id";

/// A lane's lock, whatever a panicking holder left.
fn lock(lane: &Mutex<Lane>) -> MutexGuard<'_, Lane> {
    lane.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
