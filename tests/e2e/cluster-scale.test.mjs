// How the cluster's bus grows with it, on real processes (PostgreSQL, nats-server with its monitoring port, two
// server nodes): a node hears a channel's notes only while a connection there watches the channel, and a user's
// only while the user is connected there, and a user's presence only while a connection there follows it (NATS's own
// list of each node's subscriptions shows it); and who is online
// travels in bounded deltas, so 4,000 users with long ids on one node are online as seen from the other through a
// NATS that refuses any message over 128 KB (one snapshot of them would be about 200 KB); and a note NATS refuses
// anyway is not lost silently: its channel's watchers elsewhere resync; nor are notes that NATS took but lost between
// two servers of a NATS cluster whose route broke (no node sees an error): the numbering shows the gap.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectOfficial, metric, nextEvent as next } from './helpers.mjs';
import { KEY, SECRET, connectMany, startNats, startNode, startPostgres, until } from './cluster-helpers.mjs';

const credentials = { key: KEY, secret: SECRET };
const BASE = 'stream-chat.cluster';
const cluster = {};

before(async () => {
  cluster.postgres = startPostgres();
  cluster.nats = await startNats(undefined, { monitor: true, maxPayload: 128 * 1024 });
  cluster.n1 = await startNode('n1', { db: cluster.postgres.url, bus: cluster.nats.url });
  cluster.n2 = await startNode('n2', { db: cluster.postgres.url, bus: cluster.nats.url });
  await peered(cluster.n1, cluster.n2);
});

after(async () => {
  for (const socket of cluster.sockets ?? []) socket.terminate();
  await cluster.n1?.stop();
  await cluster.n2?.stop();
  await cluster.nats?.stop();
  cluster.postgres?.stop();
});

/** Resolves once the nodes `a` and `b` count each other. */
async function peered(a, b) {
  await until(async () => (await metric(a.url, 'chat_cluster_peers')) === 1
    && (await metric(b.url, 'chat_cluster_peers')) === 1, 'the nodes count each other');
}

/** Official clients `ids[0]` on node `a` and `ids[1]` on node `b` (pushed to `clients`) watching channel
 * `messaging:<id>` of both, once a first message from the one reached the other; gives their channels. */
async function watchingAcross(a, b, ids, id, clients) {
  const one = await connectOfficial(a.url, { id: ids[0] }, credentials);
  const two = await connectOfficial(b.url, { id: ids[1] }, credentials);
  clients.push(one, two);
  const onOne = one.channel('messaging', id, { members: ids });
  await onOne.watch();
  const onTwo = two.channel('messaging', id, { members: ids });
  await onTwo.watch();
  const first = `first on ${id}`;
  const arrived = next(onTwo, 'message.new', (event) => event.message.text === first);
  await onOne.sendMessage({ text: first });
  await arrived;
  return [onOne, onTwo];
}

/** Cluster notes the node at `url` has published. */
const published = (url) => metric(url, 'chat_bus_notes_total{direction="published"}');

/** Every subject some node subscribes to, per node: the node is told by the user subject its connection holds. */
async function subscriptions() {
  const connz = await fetch(`${cluster.nats.monitorUrl}/connz?subs=1`).then((response) => response.json());
  return (connz.connections ?? []).map((connection) => connection.subscriptions_list ?? []);
}

/** The subscription list of the node where `user` is connected. */
async function subjectsOf(user) {
  const lists = await subscriptions();
  return lists.find((subjects) => subjects.includes(`${BASE}.u.${user}`)) ?? [];
}

test('a node hears a channel only while it has a watcher of it, and a user only while the user is connected there', async () => {
  const members = ['alice', 'bob'];
  const alice = await connectOfficial(cluster.n1.url, { id: 'alice' }, credentials);
  const bob = await connectOfficial(cluster.n2.url, { id: 'bob' }, credentials);
  const channel = `${BASE}.c.messaging:routed`;
  const onAlice = alice.channel('messaging', 'routed', { members });
  await onAlice.watch();
  assert.ok((await subjectsOf('alice')).includes(channel), 'the watching node hears the channel');
  assert.ok(!(await subjectsOf('bob')).includes(channel), 'the other node does not');
  assert.ok(!(await subjectsOf('bob')).includes(`${BASE}.u.alice`), 'nor alice\'s own notes');

  // bob watches on n2: now n2 hears the channel, and a message crosses.
  const onBob = bob.channel('messaging', 'routed', { members });
  await onBob.watch();
  assert.ok((await subjectsOf('bob')).includes(channel));
  const received = 'chat_bus_notes_total{direction="received"}';
  const [publishedBefore, receivedBefore] = [await published(cluster.n1.url), await metric(cluster.n2.url, received)];
  const arrived = next(onBob, 'message.new', (event) => event.message.text === 'routed to n2');
  await onAlice.sendMessage({ text: 'routed to n2' });
  await arrived;
  assert.ok(await published(cluster.n1.url) > publishedBefore, 'n1 counts the note it published');
  assert.ok(await metric(cluster.n2.url, received) > receivedBefore, 'n2 counts the note it received');
  assert.equal(await metric(cluster.n2.url, 'chat_bus_gaps_total'), 0, 'n2 saw no gap where nothing was lost');

  // bob stops watching, then alice leaves n1: each node stops hearing what it no longer needs.
  await onBob.stopWatching();
  await until(async () => !(await subjectsOf('bob')).includes(channel), 'n2 unsubscribed from the channel');
  await alice.disconnectUser();
  await until(async () => {
    const lists = await subscriptions();
    return lists.every((subjects) => !subjects.includes(channel) && !subjects.includes(`${BASE}.u.alice`));
  }, 'n1 unsubscribed from the channel and from alice');
  await bob.disconnectUser();
});

test('a node hears a user\'s presence only while a connection there follows it', async () => {
  const carol = await connectOfficial(cluster.n1.url, { id: 'carol' }, credentials);
  const dave = await connectOfficial(cluster.n2.url, { id: 'dave' }, credentials);
  const presence = `${BASE}.p.carol`;
  assert.ok(!(await subjectsOf('dave')).includes(presence), 'nobody on n2 follows carol yet');
  // Who is online reaches n2 within a delta tick (50 ms): wait for it, then follow carol's presence.
  await until(async () => (await dave.queryUsers({ id: 'carol' })).users[0]?.online, 'carol online as seen from n2');
  const { users } = await dave.queryUsers({ id: { $in: ['carol'] } }, { id: 1 }, { presence: true });
  assert.equal(users[0].online, true);
  assert.ok((await subjectsOf('dave')).includes(presence), 'n2, where dave follows carol, hears her presence');
  assert.ok(!(await subjectsOf('carol')).includes(presence), 'n1, where nobody follows her, does not');

  // carol leaves n1: dave hears it on n2.
  const offline = next(dave, 'user.presence.changed', (event) => event.user.id === 'carol' && !event.user.online);
  await carol.disconnectUser();
  await offline;

  // dave leaves: n2 stops hearing carol's presence.
  await dave.disconnectUser();
  await until(async () => (await subscriptions()).every((subjects) => !subjects.includes(presence)),
    'n2 unsubscribed from carol\'s presence');
});

test('4,000 users online on one node are online on the other through a NATS that refuses messages over 128 KB', async () => {
  const ids = Array.from({ length: 4_000 }, (_, at) => `user-${String(at).padStart(4, '0')}-${'x'.repeat(40)}`);
  cluster.sockets = await connectMany(cluster.n1.url, ids);
  const watcher = await connectOfficial(cluster.n2.url, { id: 'watcher' }, credentials);
  const sample = [ids[0], ids[1_999], ids[3_999], ...ids.filter((_, at) => at % 50 === 7)];
  await until(async () => {
    const { users } = await watcher.queryUsers({ id: { $in: sample } }, { id: 1 }, { limit: 100 });
    return users.length === sample.length && users.every((user) => user.online);
  }, 'every sampled user online as seen from n2', 30_000);
  assert.equal(await metric(cluster.n1.url, 'chat_bus_connected'), 1, 'n1 never lost NATS');
  assert.equal(await metric(cluster.n1.url, 'chat_bus_lost_total'), 0);
  const largest = await metric(cluster.n1.url, 'chat_bus_largest_note_bytes');
  assert.ok(largest > 0 && largest <= 64 * 1024, `n1's largest note, ${largest} B, is within 64 KB`);

  // They leave: offline on n2 too.
  for (const socket of cluster.sockets.splice(0)) socket.close();
  await until(async () => {
    const { users } = await watcher.queryUsers({ id: { $in: sample } }, { id: 1 }, { limit: 100 });
    return users.every((user) => !user.online);
  }, 'every sampled user offline as seen from n2', 30_000);
  for (const url of [cluster.n1.url, cluster.n2.url]) {
    assert.equal(await metric(url, 'chat_bus_gaps_total'), 0, 'no gap where nothing was lost');
    assert.equal(await metric(url, 'chat_bus_repeated_total'), 0);
  }
  await watcher.disconnectUser();
});

test('a note NATS refuses (over its max_payload) is not lost silently: the watchers on the other node resync and have the message', async () => {
  // Two more nodes on the same database, through a NATS that refuses any message over 8 KB.
  const nats = await startNats(undefined, { maxPayload: 8 * 1024 });
  const m1 = await startNode('m1', { db: cluster.postgres.url, bus: nats.url });
  const m2 = await startNode('m2', { db: cluster.postgres.url, bus: nats.url });
  const clients = [];
  try {
    await peered(m1, m2);
    const [onErin, onFrank] = await watchingAcross(m1, m2, ['erin', 'frank'], 'oversize', clients);

    // A custom field of 10 KB: the message's note is over NATS's limit, so it cannot cross as an event.
    const text = 'one with a big custom field';
    const resyncsBefore = await metric(m2.url, 'chat_bus_resyncs_total');
    await onErin.sendMessage({ text, notes: 'x'.repeat(10 * 1024) });
    await until(async () => (await metric(m1.url, 'chat_bus_unpublished_total')) >= 1, 'm1 counts the refused note');
    await until(async () => onFrank.state.messages.some((message) => message.text === text),
      'frank has the message after his connection resynced', 20_000);
    assert.ok(await metric(m2.url, 'chat_bus_resyncs_total') > resyncsBefore, 'm2 counts the resync');
  } finally {
    for (const client of clients) await client.disconnectUser();
    await m1.stop();
    await m2.stop();
    await nats.stop();
  }
});

test('notes lost between two NATS servers whose route broke are not lost silently: the gap in their numbers resyncs the watchers', async () => {
  // Two NATS servers in a cluster, each node on its own; the route between them breaks and comes back (a
  // configuration reload), and neither node's own connection to NATS notices anything.
  const a = await startNats(undefined, { monitor: true, cluster: {} });
  const b = await startNats(undefined, { monitor: true, cluster: { routes: [] } });
  b.setRoutes([a.clusterUrl]);
  await until(async () => (await a.routes()) === 1 && (await b.routes()) === 1, 'the NATS servers routed');
  const s1 = await startNode('s1', { db: cluster.postgres.url, bus: a.url });
  const s2 = await startNode('s2', { db: cluster.postgres.url, bus: b.url });
  const clients = [];
  try {
    await peered(s1, s2);
    const [onGina, onHank] = await watchingAcross(s1, s2, ['gina', 'hank'], 'split', clients);

    b.setRoutes([]);
    await until(async () => (await a.routes()) === 0 && (await b.routes()) === 0, 'the route broken');
    const lost = 'during the split';
    await onGina.sendMessage({ text: lost });
    b.setRoutes([a.clusterUrl]);
    await until(async () => (await a.routes()) === 1 && (await b.routes()) === 1, 'the route back');

    // Later messages cross again (one sent before the servers swapped interest may be lost too: send another).
    // None may reach hank without the lost one: the first note heard after the gap resyncs his connection.
    const has = (text) => onHank.state.messages.some((message) => message.text === text);
    for (let probe = 0; !has(lost); probe++) {
      assert.ok(probe < 20, 'a later message reached hank\'s node');
      const text = `after the split ${probe}`;
      await onGina.sendMessage({ text });
      await until(() => has(text) || has(lost), 'hank to have the probe or the lost message', 2_000).catch(() => {});
      assert.ok(has(lost) || !has(text), `hank got "${text}" but never "${lost}"`);
    }
    assert.ok(await metric(s2.url, 'chat_bus_gaps_total') >= 1, 's2 counts the gap');
    assert.equal(await metric(s1.url, 'chat_bus_unpublished_total'), 0, 'NATS took every note: only the numbers show the loss');
    assert.equal(await metric(s2.url, 'chat_bus_repeated_total'), 0);
  } finally {
    for (const client of clients) await client.disconnectUser();
    await s1.stop();
    await s2.stop();
    await a.stop();
    await b.stop();
  }
});
