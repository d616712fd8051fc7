//! New messages in PostgreSQL, written together: **group commit**.
//!
//! A message is written under its channel's row lock (see `postgres_messages`), which its transaction holds until
//! it commits. One message per transaction would cap a busy channel at one message per round trip of its
//! statements and its commit's flush, whatever the number of nodes (~140 messages/s on this project's 2-core
//! machine). So a send waits in one of [`LANES`] queues (chosen by channel), and one task per lane writes
//! everything waiting, at most [`BATCH`] messages, in one transaction (a second writer per lane, its batch sent
//! while the first commits, was measured slower: smaller batches, each waiting for the channel's lock):
//! - the senders named, then the channels' rows locked in id order, so two batches (on any nodes) never wait for
//!   each other in a circle;
//! - the messages inserted by one statement, in arrival order, which returns them as stored (only a retry's
//!   message, stored already, is read back); each member's unread count raised once per batch, the counts right
//!   after each message (for its `message.new`) worked out from the counts before: a fixed number of prepared
//!   statements, whatever the batch's size;
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
use tokio_postgres::Statement;

use super::postgres_prepared::take_client;
use super::postgres_rows::{all, attach_reactions, message_from, MESSAGE_COLUMNS};
use super::sql::USER_COLUMNS;
use super::{AddedMessage, MemberUnread, NewMessage, StoreError};

/// A statement's parameter.
type Param<'a> = dyn tokio_postgres::types::ToSql + Sync + 'a;

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
            let outcomes = match take_client(&self.pool).await {
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

/// Writes `messages` in one transaction, in a fixed number of statements whatever their number, sent in four
/// round trips besides `BEGIN` and `COMMIT` (statements that do not need each other's answers are pipelined: the
/// writer of a busy channel is what bounds its rate); see the module docs.
async fn write_batch(
    client: &mut Object,
    messages: &[(&NewMessage, &str)],
) -> Result<Vec<AddedMessage>, StoreError> {
    let tx = client.transaction().await?;
    let now = messages.first().map_or("", |(_, now)| *now);
    let senders: BTreeSet<&str> = messages.iter().map(|(m, _)| m.user_id.as_str()).collect();
    let senders: Vec<&str> = senders.into_iter().collect();
    let cids: BTreeSet<&str> = messages.iter().map(|(m, _)| m.cid.as_str()).collect();
    let cids: Vec<&str> = cids.into_iter().collect();
    let statements = Statements::prepare(&tx).await?;
    // 1. The senders named, the channels locked.
    let (name_params, lock_params): (&[&Param<'_>], &[&Param<'_>]) = (&[&senders, &now], &[&cids]);
    let (_, locked) = tokio::try_join!(
        tx.execute(&statements.name_senders, name_params),
        tx.query(&statements.lock_channels, lock_params),
    )?;
    let mut newest: BTreeMap<String, Option<String>> = BTreeMap::new();
    for row in locked {
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
    // 2. The messages inserted; the members' unread counts and the mutes that apply, as they were before.
    let offered_senders: Vec<&str> =
        new.iter().map(|(at, _)| messages[*at].0.user_id.as_str()).collect();
    let mutes_params: &[&Param<'_>] = &[&offered_senders, &cids];
    let (fresh, before, mutes) = tokio::try_join!(
        insert_new(&tx, &statements.insert, messages, &new),
        tx.query(&statements.member_unread, lock_params),
        tx.query(&statements.mutes, mutes_params),
    )?;
    let mut stored = all(fresh, message_from)?;
    let inserted: BTreeSet<String> = stored.iter().map(|m| m.id.clone()).collect();
    let new: Vec<(usize, String)> =
        new.into_iter().filter(|(at, _)| inserted.contains(&messages[*at].0.id)).collect();
    let (added, mut unread) = count_unread(messages, &new, &cids, &before, &mutes)?;
    // 3. The counts raised, the channels' newest message time set, and the messages that were stored already (a
    // retry's) read as they are.
    let touched: BTreeMap<&str, &str> = new
        .iter()
        .map(|(at, created_at)| (messages[*at].0.cid.as_str(), created_at.as_str()))
        .collect();
    let (touched_cids, touched_at): (Vec<&str>, Vec<&str>) = touched.into_iter().unzip();
    let ((added_cids, added_users), added_counts): ((Vec<&str>, Vec<String>), Vec<i64>) =
        added.into_iter().unzip();
    let add_params: &[&Param<'_>] = &[&added_cids, &added_users, &added_counts];
    let earlier: Vec<&str> = ids.into_iter().filter(|id| !inserted.contains(*id)).collect();
    let (select_params, touch_params): (&[&Param<'_>], &[&Param<'_>]) =
        (&[&earlier], &[&touched_cids, &touched_at]);
    let read_earlier = async {
        if earlier.is_empty() {
            return Ok(Vec::new());
        }
        tx.query(&statements.select, select_params).await
    };
    let (_, rows, _) = tokio::try_join!(
        tx.execute(&statements.add_unread, add_params),
        read_earlier,
        tx.execute(&statements.touch_channels, touch_params),
    )?;
    // Earlier ones with their reactions too.
    let mut earlier = all(rows, message_from)?;
    attach_reactions(&tx, &mut earlier).await?;
    stored.extend(earlier);
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

/// A batch's statements, prepared once per connection (cached) before the pipelined round trips.
struct Statements {
    name_senders: Statement,
    lock_channels: Statement,
    insert: Statement,
    member_unread: Statement,
    mutes: Statement,
    add_unread: Statement,
    select: Statement,
    touch_channels: Statement,
}

impl Statements {
    async fn prepare(tx: &Transaction<'_>) -> Result<Self, StoreError> {
        let select = format!(
            "SELECT {MESSAGE_COLUMNS}, {USER_COLUMNS} FROM messages g JOIN users u ON u.id = g.user_id
             WHERE g.id = ANY($1::text[])"
        );
        Ok(Statements {
            name_senders: tx.prepare_cached(NAME_SENDERS).await?,
            lock_channels: tx.prepare_cached(LOCK_CHANNELS).await?,
            insert: tx.prepare_cached(INSERT_MESSAGES).await?,
            member_unread: tx.prepare_cached(MEMBER_UNREAD).await?,
            mutes: tx.prepare_cached(MUTES).await?,
            add_unread: tx.prepare_cached(ADD_UNREAD).await?,
            select: tx.prepare_cached(&select).await?,
            touch_channels: tx.prepare_cached(TOUCH_CHANNELS).await?,
        })
    }
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

/// Inserts messages in order (`$1`–`$6`: ids, cids, senders, texts, extras, times), skipping ids already stored,
/// and returns those it inserted as stored, in [`MESSAGE_COLUMNS`]' order with their senders' [`USER_COLUMNS`]: a
/// new message has no replies yet (a reply's parent is stored before the reply is sent), so no read-back is needed.
const INSERT_MESSAGES: &str = "WITH inserted AS (
         INSERT INTO messages (id, cid, user_id, text, extra, created_at)
         SELECT id, cid, user_id, text, extra, created_at
         FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[], $6::text[])
             WITH ORDINALITY AS m(id, cid, user_id, text, extra, created_at, place)
         ORDER BY place
         ON CONFLICT (id) DO NOTHING
         RETURNING id, cid, user_id, text, extra, created_at, updated_at, deleted_at, version
     )
     SELECT g.id, g.cid, g.text, g.extra, g.created_at, g.updated_at, g.deleted_at, 0::BIGINT, '{}'::TEXT[],
         g.version, u.id, u.role, u.fields, u.created_at, u.updated_at, u.last_active
     FROM inserted g JOIN users u ON u.id = g.user_id";

/// Inserts the new messages (`new`: their index in `messages` and time) in one statement, in order; the rows of
/// those it inserted (all, unless a concurrent send took one meanwhile elsewhere).
async fn insert_new(
    tx: &Transaction<'_>,
    statement: &Statement,
    messages: &[(&NewMessage, &str)],
    new: &[(usize, String)],
) -> Result<Vec<tokio_postgres::Row>, tokio_postgres::Error> {
    let pick = |field: fn(&NewMessage) -> &str| -> Vec<&str> {
        new.iter().map(|(at, _)| field(messages[*at].0)).collect()
    };
    let (ids, cids) = (pick(|m| &m.id), pick(|m| &m.cid));
    let (users, texts) = (pick(|m| &m.user_id), pick(|m| &m.text));
    let extras: Vec<Json<&serde_json::Map<String, serde_json::Value>>> =
        new.iter().map(|(at, _)| Json(&messages[*at].0.extra)).collect();
    let times: Vec<&str> = new.iter().map(|(_, created_at)| created_at.as_str()).collect();
    tx.query(statement, &[&ids, &cids, &users, &texts, &extras, &times]).await
}

/// One member's counts while the batch is counted: unread in each of the batch's channels, and in all.
#[derive(Default)]
struct Counts {
    unread: BTreeMap<String, u64>,
    total: u64,
    channels: u64,
}

/// Raises each member's unread counts for the new messages: what to add per (channel, member), one row update
/// each whatever the number of messages, and, by index in `messages`, every member's counts right after each new
/// one. `before` is [`MEMBER_UNREAD`]'s answer, `mutes` [`MUTES`]'s.
#[allow(clippy::type_complexity)]
fn count_unread<'a>(
    messages: &[(&'a NewMessage, &str)],
    new: &[(usize, String)],
    cids: &[&'a str],
    before: &[tokio_postgres::Row],
    mutes: &[tokio_postgres::Row],
) -> Result<(BTreeMap<(&'a str, String), i64>, BTreeMap<usize, Vec<MemberUnread>>), StoreError> {
    let mut added: BTreeMap<(&str, String), i64> = BTreeMap::new();
    let mut after = BTreeMap::new();
    if new.is_empty() {
        return Ok((added, after));
    }
    // Before the batch: each member's unread here, and totals across their channels.
    let mut members: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut counts: BTreeMap<String, Counts> = BTreeMap::new();
    for row in before {
        let (cid, user_id): (String, String) = (row.try_get(0)?, row.try_get(1)?);
        let number = |at| row.try_get::<_, i64>(at).map(|value| u64::try_from(value).unwrap_or(0));
        let member = counts.entry(user_id.clone()).or_default();
        member.unread.insert(cid.clone(), number(2)?);
        (member.total, member.channels) = (number(3)?, number(4)?);
        if let Some(cid) = cids.iter().find(|known| **known == cid) {
            members.entry(cid).or_default().push(user_id);
        }
    }
    let mutes: Vec<(String, String, String, Option<String>)> = mutes
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?)))
        .collect::<Result<_, tokio_postgres::Error>>()?;
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
                *added.entry((cid, member.clone())).or_default() += 1;
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
    Ok((added, after))
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
