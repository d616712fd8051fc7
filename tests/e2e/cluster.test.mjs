// Two server nodes behind nginx on one PostgreSQL and one NATS, every part a real process started here: official
// clients (Node) and our SDK (the release package in Chromium) on different nodes chat, type and read in one
// channel with privacy settings holding across nodes, and agree on watcher counts and presence; a node killed
// with -9 loses no acknowledged message (its clients reconnect through nginx to the other and recover, and its
// users online nowhere else are announced offline); an edit racing a delete of the same message through the other
// node ends deleted for every watcher, ours and the official client (message versions), and renames and role
// changes racing through the two nodes leave every watcher with what the database kept (channel versions); a NATS
// restart is survived the same way; and a long-poll connection's requests reach its own node.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { connectOfficial, launchBrowser, metric, nextEvent as next, signToken } from './helpers.mjs';
import {
  KEY, SECRET, nodeOf, startBalancer, startNats, startNode, startPostgres, until,
} from './cluster-helpers.mjs';

const credentials = { key: KEY, secret: SECRET };
const cluster = {};

before(async () => {
  cluster.postgres = startPostgres();
  cluster.nats = await startNats();
  cluster.nodes = {};
  for (const id of ['n1', 'n2']) {
    cluster.nodes[id] = await startNode(id, { db: cluster.postgres.url, bus: cluster.nats.url });
  }
  cluster.lb = await startBalancer(Object.entries(cluster.nodes).map(([id, node]) => ({ id, port: node.port })));
  cluster.browser = await launchBrowser();
  await peersAgree();
});

after(async () => {
  await cluster.browser?.close();
  await cluster.lb?.stop();
  for (const node of Object.values(cluster.nodes ?? {})) await node.stop();
  await cluster.nats?.stop();
  cluster.postgres?.stop();
});

/** Each node's `/readyz` and its count of live peers. */
async function readiness(node) {
  const ready = await fetch(`${node.url}/readyz`).then((response) => response.json());
  return { ...ready, peers: await metric(node.url, 'chat_cluster_peers') };
}

/** Waits until every node is ready and counts the other one. */
async function peersAgree() {
  await until(async () => {
    const states = await Promise.all(Object.values(cluster.nodes).map(readiness));
    return states.every((state) => state.ready && state.peers === 1);
  }, 'both nodes ready and counting each other');
}

/** How long a client may take to land on the node it wants (nginx skips a node for 5 s after it failed). */
const LANDING_MS = 20_000;

/** An official client for `user` through the balancer, on a node `accept` takes (reconnecting until it is). */
async function officialOn(user, accept = () => true) {
  for (const deadline = Date.now() + LANDING_MS; Date.now() < deadline;) {
    const client = await connectOfficial(cluster.lb.url, user, credentials);
    const node = nodeOf(client._getConnectionID());
    if (accept(node)) return { client, node };
    await client.disconnectUser();
  }
  throw new Error(`${user.id} never landed on the wanted node`);
}

/** A page with our SDK, connected as `user` through the balancer on a node `accept` takes; `window.client`. */
async function oursOn(user, accept = () => true) {
  const page = await cluster.browser.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));
  await page.goto(`${cluster.lb.url}/healthz`);
  const token = signToken({ user_id: user.id }, SECRET);
  for (const deadline = Date.now() + LANDING_MS; Date.now() < deadline;) {
    const connectionId = await page.evaluate(async ({ user, token, key }) => {
      if (!window.sdk) {
        window.sdk = await import('/pkg/stream_chat_wasm.js');
        await window.sdk.default();
      }
      window.client = new window.sdk.StreamChat(key, { baseURL: location.origin });
      await window.client.connectUser(user, token);
      return window.client.connectionId;
    }, { user, token, key: KEY });
    if (accept(nodeOf(connectionId))) return { page, node: nodeOf(connectionId) };
    await page.evaluate(() => window.client.disconnectUser());
  }
  throw new Error(`${user.id} never landed on the wanted node`);
}

/** Our page client watches `messaging:<id>`, recording its events in `window.events`. */
function watchInPage(page, id, members) {
  return page.evaluate(async ({ id, members }) => {
    window.events = [];
    window.channel = window.client.channel('messaging', id, { members });
    window.channel.on((event) => window.events.push({ type: event.type, user: event.user?.id, text: event.message?.text }));
    await window.channel.watch();
  }, { id, members });
}

const texts = (channel) => channel.state.messages.map((message) => message.text);
const pageTexts = (page) => page.evaluate(() => window.channel.state.messages.map((message) => message.text));

test('official clients and our SDK on different nodes chat, type and read; privacy, watchers and presence hold', async () => {
  const members = ['alice', 'bob', 'carol'];
  const quiet = { typing_indicators: { enabled: false }, read_receipts: { enabled: false } };
  const { client: alice, node: aliceNode } = await officialOn({ id: 'alice', name: 'Alice' });
  const { client: bob } = await officialOn({ id: 'bob', name: 'Bob', privacy_settings: quiet }, (n) => n !== aliceNode);
  const { page: carol } = await oursOn({ id: 'carol', name: 'Carol' }, (n) => n !== aliceNode);
  try {
    const aliceCh = alice.channel('messaging', 'cluster-chat', { members });
    await aliceCh.watch();
    const seenByAlice = [];
    aliceCh.on((event) => seenByAlice.push({ type: event.type, user: event.user?.id, text: event.message?.text }));
    const bobCh = bob.channel('messaging', 'cluster-chat', { members });
    await bobCh.watch();
    await watchInPage(carol, 'cluster-chat', members);

    // Watcher counts and lists agree whichever node answers.
    await until(async () => (await aliceCh.query({ watchers: { limit: 10 } })).watcher_count === 3, 'alice to count 3 watchers');
    const fromBob = await bobCh.query({ watchers: { limit: 10 } });
    assert.equal(fromBob.watcher_count, 3);
    assert.deepEqual(fromBob.watchers.map((user) => user.id).sort(), members);
    assert.equal(await carol.evaluate(async () => (await window.channel.query({ watchers: { limit: 10 } })).watcher_count), 3);
    // Presence: users on the other node are online.
    const { users } = await alice.queryUsers({ id: { $in: ['bob', 'carol'] } }, { id: 1 }, { presence: true });
    assert.deepEqual(users.map((user) => [user.id, user.online]), [['bob', true], ['carol', true]]);

    // alice (official) → bob (official) and carol (ours), across nodes.
    const toBob = next(bobCh, 'message.new', (event) => event.message.text === 'hi from alice');
    await aliceCh.sendMessage({ text: 'hi from alice' });
    await toBob;
    await carol.waitForFunction(() => window.channel.state.messages.some((m) => m.text === 'hi from alice'), null, { timeout: 10_000 });

    // carol (ours) types and writes; alice sees both.
    const typing = next(aliceCh, 'typing.start', (event) => event.user.id === 'carol');
    const fromCarol = next(aliceCh, 'message.new', (event) => event.user.id === 'carol');
    await carol.evaluate(async () => {
      await window.channel.keystroke();
      await window.channel.sendMessage({ text: 'hi from carol' });
    });
    await typing;
    assert.equal((await fromCarol).message.text, 'hi from carol');

    // bob has typing indicators and read receipts off: his typing and reads reach nobody on any node. His next
    // message comes after them from the same node, so once it arrives anything leaked would have arrived first.
    await bobCh.keystroke();
    await bobCh.markRead();
    const bobsMessage = next(aliceCh, 'message.new', (event) => event.user.id === 'bob');
    await bobCh.sendMessage({ text: 'quiet bob' });
    await bobsMessage;
    await carol.waitForFunction(() => window.events.some((e) => e.type === 'message.new' && e.user === 'bob'), null, { timeout: 10_000 });
    const leaked = (events) => events.filter((e) => e.user === 'bob' && ['typing.start', 'message.read'].includes(e.type));
    assert.deepEqual(leaked(seenByAlice), []);
    assert.deepEqual(leaked(await carol.evaluate(() => window.events)), []);

    // carol reads (receipts on): alice hears it from the other node.
    const carolRead = next(aliceCh, 'message.read', (event) => event.user.id === 'carol');
    await carol.evaluate(() => window.channel.markRead());
    await carolRead;
    const reads = (await aliceCh.query({})).read;
    assert.equal(reads.find((read) => read.user.id === 'carol').unread_messages, 0);
    assert.deepEqual(texts(aliceCh), ['hi from alice', 'hi from carol', 'quiet bob']);

    // bob goes offline: alice, following presence on the other node, hears it.
    const offline = next(alice, 'user.presence.changed', (event) => event.user.id === 'bob' && event.user.online === false);
    await bob.disconnectUser();
    await offline;
    assert.deepEqual(carol.errors, []);
  } finally {
    await alice.disconnectUser().catch(() => {});
    await bob.disconnectUser().catch(() => {});
    await carol.close();
  }
});

test('an edit racing a delete ends deleted on every node', async (t) => {
  const members = ['race-alice', 'race-carol', 'race-dave'];
  // alice edits through one node while she deletes the same message through the other; carol (official) watches
  // on the first node, dave (our SDK) on the second.
  const { client: editor, node: editorNode } = await officialOn({ id: 'race-alice' });
  const { client: deleter } = await officialOn({ id: 'race-alice' }, (n) => n !== editorNode);
  const { client: carol } = await officialOn({ id: 'race-carol' }, (n) => n === editorNode);
  const { page: dave } = await oursOn({ id: 'race-dave' }, (n) => n !== editorNode);
  try {
    const editorCh = editor.channel('messaging', 'cluster-race', { members });
    await editorCh.watch();
    const deleterCh = deleter.channel('messaging', 'cluster-race', { members });
    await deleterCh.watch();
    const carolCh = carol.channel('messaging', 'cluster-race', { members });
    await carolCh.watch();
    await watchInPage(dave, 'cluster-race', members);
    const rounds = 40;
    const ids = [];
    for (let round = 0; round < rounds; round += 1) {
      const { message } = await editorCh.sendMessage({ text: `race ${round}` });
      ids.push(message.id);
      // Whichever the database takes last, the delete wins: an edit after it is refused, one before it is older.
      await Promise.all([
        editor.updateMessage({ id: message.id, text: `race ${round} edited` }).catch(() => {}),
        deleter.deleteMessage(message.id),
      ]);
    }
    // Each node's later message comes after everything that node published: once both are in, every edit and
    // delete of the race has arrived, or been dropped as older than what the watcher has.
    await editorCh.sendMessage({ text: 'after the race, node 1' });
    await deleterCh.sendMessage({ text: 'after the race, node 2' });
    const markers = ['after the race, node 1', 'after the race, node 2'];
    await until(() => markers.every((text) => texts(carolCh).includes(text)), 'both markers at carol');
    await until(async () => (await pageTexts(dave)).filter((text) => markers.includes(text)).length === 2,
      'both markers at dave');
    const shown = (messages) => ids.map((id) => {
      const message = messages.find((m) => m.id === id);
      return message ? `${message.type}${message.deleted_at ? ' (deleted_at)' : ''}` : 'gone';
    });
    const deleted = Array(rounds).fill('deleted (deleted_at)');
    assert.deepEqual(shown(carolCh.state.messages), deleted, 'carol, on the editing node');
    const daveMessages = await dave.evaluate(() =>
      window.channel.state.messages.map((m) => ({ id: m.id, type: m.type, deleted_at: m.deleted_at ? 1 : 0 })));
    assert.deepEqual(shown(daveMessages), deleted, 'dave (our SDK), on the deleting node');
    const stored = await editorCh.query({ messages: { limit: 100 } });
    assert.deepEqual(shown(stored.messages), deleted, 'as stored');
    assert.deepEqual(dave.errors, []);
    const stale = await Promise.all(Object.values(cluster.nodes).map((node) =>
      metric(node.url, 'chat_stale_events_dropped_total')));
    t.diagnostic(`events dropped as older than one already fanned out, per node: ${stale.join(', ')}`);
  } finally {
    for (const client of [editor, deleter, carol]) await client.disconnectUser().catch(() => {});
    await dave.close();
  }
});

test('channel updates and role changes racing through two nodes end as stored on every node', async () => {
  const members = ['rival-ann', 'rival-carol', 'rival-dave'];
  // ann renames each channel through one node while she renames it through the other, and makes dave a moderator
  // through one while she demotes him through the other; carol (official) watches on the first node, dave (our
  // SDK) on the second. One race per channel: what each watcher is left with is that race's outcome.
  const { client: first, node: firstNode } = await officialOn({ id: 'rival-ann' });
  const { client: second } = await officialOn({ id: 'rival-ann' }, (n) => n !== firstNode);
  const { client: carol } = await officialOn({ id: 'rival-carol' }, (n) => n === firstNode);
  const { page: dave } = await oursOn({ id: 'rival-dave' }, (n) => n !== firstNode);
  const ids = Array.from({ length: 12 }, (_, index) => `cluster-rival-${index}`);
  try {
    const open = async (client) => Promise.all(ids.map(async (id) => {
      const channel = client.channel('messaging', id, { members });
      await channel.watch();
      return channel;
    }));
    const firsts = await open(first);
    const seconds = await open(second);
    const carols = await open(carol);
    await dave.evaluate(async ({ ids, members }) => {
      window.rivals = ids.map((id) => window.client.channel('messaging', id, { members }));
      await Promise.all(window.rivals.map((channel) => channel.watch()));
    }, { ids, members });
    await Promise.all(ids.map((_, index) => Promise.all([
      firsts[index].update({ name: `first ${index}` }),
      seconds[index].update({ name: `second ${index}` }),
      firsts[index].addModerators(['rival-dave']),
      seconds[index].demoteModerators(['rival-dave']),
    ])));
    // Each node's later message comes after everything that node published on the channel.
    await Promise.all(ids.map((_, index) => Promise.all([
      firsts[index].sendMessage({ text: 'after, node 1' }),
      seconds[index].sendMessage({ text: 'after, node 2' }),
    ])));
    const markers = ['after, node 1', 'after, node 2'];
    await until(() => carols.every((channel) => markers.every((text) => texts(channel).includes(text))),
      'the markers at carol');
    await until(() => dave.evaluate((markers) => window.rivals.every((channel) =>
      markers.every((text) => channel.state.messages.some((message) => message.text === text))), markers),
    'the markers at dave');
    const outcome = (name, role) => `${name} / ${role}`;
    const stored = await Promise.all(firsts.map(async (channel) => {
      const answer = await channel.query({ members: { limit: 10 } });
      const dave = answer.members.find((member) => member.user_id === 'rival-dave');
      return outcome(answer.channel.name, dave.channel_role);
    }));
    const atCarol = carols.map((channel) =>
      outcome(channel.data.name, channel.state.members['rival-dave'].channel_role));
    const atDave = await dave.evaluate(() => window.rivals.map((channel) =>
      `${channel.data.name} / ${channel.state.members['rival-dave'].channel_role}`));
    assert.deepEqual(atCarol, stored, 'carol, on the first node');
    assert.deepEqual(atDave, stored, 'dave (our SDK), on the second node');
    assert.deepEqual(dave.errors, []);
  } finally {
    for (const client of [first, second, carol]) await client.disconnectUser().catch(() => {});
    await dave.close();
  }
});

test('kill -9 of a node: its clients reconnect through nginx to the other and every acknowledged message is there once', async () => {
  const members = ['dan', 'erin', 'fay'];
  const { client: dan, node: danNode } = await officialOn({ id: 'dan' });
  const { client: erin, node: doomed } = await officialOn({ id: 'erin' }, (n) => n !== danNode);
  const { page: fay } = await oursOn({ id: 'fay' }, (n) => n === doomed);
  try {
    const danCh = dan.channel('messaging', 'cluster-kill', { members });
    await danCh.watch();
    const erinCh = erin.channel('messaging', 'cluster-kill', { members });
    await erinCh.watch();
    await watchInPage(fay, 'cluster-kill', members);
    // gil: a bare WebSocket on the doomed node that will not reconnect; dan follows his presence.
    const gilToken = signToken({ user_id: 'gil' }, SECRET);
    const json = encodeURIComponent(JSON.stringify({ user_id: 'gil', user_details: { id: 'gil' } }));
    const gilUrl = `${cluster.lb.url.replace('http', 'ws')}/connect?json=${json}&api_key=${KEY}&authorization=${gilToken}&stream-auth-type=jwt`;
    const landed = await fay.evaluate(async ({ url, node }) => {
      for (let attempt = 0; attempt < 50; attempt += 1) {
        const socket = new WebSocket(url);
        const first = await new Promise((resolve, reject) => {
          socket.onmessage = (event) => resolve(JSON.parse(event.data));
          socket.onerror = reject;
        });
        if (first.connection_id?.startsWith(`${node}-`)) return true;
        socket.close();
      }
      return false;
    }, { url: gilUrl, node: doomed });
    assert.ok(landed, 'gil on the doomed node');
    // Online as soon as the doomed node's live state reaches dan's (checked every 50 ms there).
    await until(async () => {
      const { users } = await dan.queryUsers({ id: { $in: ['gil'] } }, { id: 1 }, { presence: true });
      return users[0].online;
    }, 'gil online as seen from the other node');
    const gilOffline = next(dan, 'user.presence.changed', (e) => e.user.id === 'gil' && !e.user.online, 20_000);
    const first = next(erinCh, 'message.new', (event) => event.message.text === 'before');
    await danCh.sendMessage({ text: 'before' });
    await first;

    const killed = cluster.nodes[doomed];
    await killed.kill();
    // Acknowledged while erin and fay are cut off.
    for (const text of ['during 1', 'during 2', 'during 3']) await danCh.sendMessage({ text });

    await until(() => erin.wsConnection?.isHealthy && nodeOf(erin._getConnectionID()) === danNode, 'erin on the other node');
    await until(() => texts(erinCh).includes('during 3'), 'erin to recover the messages sent meanwhile');
    await fay.waitForFunction(
      (node) => window.client.connectionId?.startsWith(`${node}-`)
        && window.channel.state.messages.some((m) => m.text === 'during 3'),
      danNode,
      { timeout: 20_000 },
    );
    // Live again, both ways.
    const fromErin = next(danCh, 'message.new', (event) => event.user.id === 'erin');
    await erinCh.sendMessage({ text: 'erin is back' });
    await fromErin;
    const fromFay = next(danCh, 'message.new', (event) => event.user.id === 'fay');
    await fay.evaluate(() => window.channel.sendMessage({ text: 'fay is back' }));
    await fromFay;

    const expected = ['before', 'during 1', 'during 2', 'during 3', 'erin is back', 'fay is back'];
    const stored = (await danCh.query({ messages: { limit: 100 } })).messages.map((message) => message.text);
    assert.deepEqual(stored, expected, 'every acknowledged message, exactly once');
    assert.deepEqual(texts(erinCh), expected);
    assert.deepEqual(await pageTexts(fay), expected);
    // The dead node stops counting within the peer timeout, and its users online nowhere else go offline.
    await until(async () => (await readiness(cluster.nodes[danNode])).peers === 0, 'the dead node to stop counting');
    await gilOffline;
    const { users: after } = await dan.queryUsers({ id: { $in: ['erin', 'fay', 'gil'] } }, { id: 1 });
    assert.deepEqual(after.map((user) => [user.id, user.online]), [['erin', true], ['fay', true], ['gil', false]]);
    assert.deepEqual(fay.errors, []);
  } finally {
    await dan.disconnectUser().catch(() => {});
    await erin.disconnectUser().catch(() => {});
    await fay.close();
    const [id] = Object.entries(cluster.nodes).find(([, node]) => node.process.exitCode !== null || node.process.signalCode) ?? [];
    if (id) {
      cluster.nodes[id] = await startNode(id, { db: cluster.postgres.url, bus: cluster.nats.url, port: cluster.nodes[id].port });
    }
    await peersAgree();
  }
});

test('a NATS restart: nodes resubscribe by themselves and clients lose no acknowledged message', async () => {
  const members = ['gus', 'hal', 'ivy'];
  const { client: gus, node: gusNode } = await officialOn({ id: 'gus' });
  const { client: hal } = await officialOn({ id: 'hal' }, (n) => n !== gusNode);
  const { page: ivy } = await oursOn({ id: 'ivy' }, (n) => n !== gusNode);
  try {
    const gusCh = gus.channel('messaging', 'cluster-nats', { members });
    await gusCh.watch();
    const halCh = hal.channel('messaging', 'cluster-nats', { members });
    await halCh.watch();
    await watchInPage(ivy, 'cluster-nats', members);

    await cluster.nats.stop();
    await until(async () => !(await readiness(cluster.nodes[gusNode])).bus, 'the node to see the bus gone');
    for (const text of ['while down 1', 'while down 2']) await gusCh.sendMessage({ text });
    cluster.nats = await startNats(cluster.nats.port);

    await until(() => texts(halCh).includes('while down 2'), 'hal to recover the messages sent while NATS was down', 20_000);
    await ivy.waitForFunction(() => window.channel.state.messages.some((m) => m.text === 'while down 2'), null, { timeout: 20_000 });
    await peersAgree();
    // Resubscribed: live events cross nodes again.
    const live = next(halCh, 'message.new', (event) => event.message.text === 'after the restart');
    await gusCh.sendMessage({ text: 'after the restart' });
    await live;
    await ivy.waitForFunction(() => window.channel.state.messages.some((m) => m.text === 'after the restart'), null, { timeout: 10_000 });
    const expected = ['while down 1', 'while down 2', 'after the restart'];
    assert.deepEqual(texts(halCh), expected);
    assert.deepEqual(await pageTexts(ivy), expected);
    assert.deepEqual(ivy.errors, []);
  } finally {
    await gus.disconnectUser().catch(() => {});
    await hal.disconnectUser().catch(() => {});
    await ivy.close();
  }
});

test("a long-poll connection's polls reach its own node through the balancer", async () => {
  const token = signToken({ user_id: 'jo' }, SECRET);
  const auth = `api_key=${KEY}&authorization=${encodeURIComponent(token)}&stream-auth-type=jwt`;
  const json = encodeURIComponent(JSON.stringify({ user_id: 'jo', user_details: { id: 'jo' } }));
  const opened = await (await fetch(`${cluster.lb.url}/longpoll?json=${json}&${auth}`)).json();
  const connectionId = opened.event.connection_id;
  const pollNode = nodeOf(connectionId);
  const { client: kim } = await officialOn({ id: 'kim' }, (n) => n !== pollNode);
  try {
    const watched = await fetch(`${cluster.lb.url}/channels/messaging/cluster-poll/query?${auth}&connection_id=${connectionId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: token, 'stream-auth-type': 'jwt' },
      body: JSON.stringify({ state: true, watch: true, data: { members: ['jo', 'kim'] } }),
    });
    assert.ok(watched.ok, `watch through the balancer: ${watched.status}`);
    const kimCh = kim.channel('messaging', 'cluster-poll', { members: ['jo', 'kim'] });
    await kimCh.watch();
    for (const text of ['poll 1', 'poll 2', 'poll 3']) {
      await kimCh.sendMessage({ text });
      await until(async () => {
        const polled = await (await fetch(`${cluster.lb.url}/longpoll?connection_id=${connectionId}&${auth}`)).json();
        assert.ok(polled.events, `a poll through the balancer is answered by its node: ${JSON.stringify(polled)}`);
        return polled.events.some((event) => event.type === 'message.new' && event.message.text === text);
      }, `${text} through a poll`);
    }
    // The other node does not know the connection: without routing by connection id, polls would fail.
    const other = Object.entries(cluster.nodes).find(([id]) => id !== pollNode)[1];
    const stray = await fetch(`${other.url}/longpoll?connection_id=${connectionId}&${auth}`);
    assert.equal((await stray.json()).code, 46);
  } finally {
    await kim.disconnectUser().catch(() => {});
    await fetch(`${cluster.lb.url}/longpoll?connection_id=${connectionId}&close=true&${auth}`).catch(() => {});
  }
});
