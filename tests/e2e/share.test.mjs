// One connection per browser (`shareConnection`, on by default): the tabs of one browser context connected as the
// same user share one connection, which one tab holds and the others hear over a BroadcastChannel; when that tab
// closes another takes over, and every tab keeps its state. Other users, and other browser contexts, keep their
// own connections. Real server, real Chromium tabs, the official client as the other user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamChat } from 'stream-chat';
import { browserSuite, serverConnections, until } from './helpers.mjs';

const suite = browserSuite();

/**
 * A tab of `context` with our SDK connected as `id` and watching `messaging:<channelId>` (with `share-bob`).
 * `sockets` counts the WebSockets the tab opened.
 */
async function openTab(context, id, channelId, options = {}) {
  const page = await context.newPage();
  const tab = { page, sockets: 0 };
  page.on('websocket', () => (tab.sockets += 1));
  await page.goto(`${suite.server.url}/metrics`);
  Object.assign(
    tab,
    await page.evaluate(
      async ({ id, channelId, options }) => {
        const sdk = await import('/pkg/stream_chat_wasm.js');
        await sdk.default();
        const client = new sdk.StreamChat('demo-key', { baseURL: location.origin, ...options });
        window.client = client;
        const opened = await client.connectUser({ id }, client.devToken(id));
        window.channel = client.channel('messaging', channelId, { members: [id, 'share-bob'] });
        await window.channel.watch();
        window.count = (text) => window.channel.state.messages.filter((m) => m.text === text).length;
        return { connectionId: opened.connection_id, me: opened.me.id };
      },
      { id, channelId, options },
    ),
  );
  return tab;
}

/** How many of `tabs` hold `text` exactly once in their channel's state; throws if one holds it twice. */
async function holding(tabs, text) {
  const counts = await Promise.all(tabs.map((tab) => tab.page.evaluate((text) => window.count(text), text)));
  assert.ok(counts.every((n) => n <= 1), `a tab holds "${text}" more than once: ${counts}`);
  return counts.filter((n) => n === 1).length;
}

async function bobClient() {
  const bob = new StreamChat('demo-key', { baseURL: suite.server.url, allowServerSideConnect: true });
  await bob.connectUser({ id: 'share-bob' }, bob.devToken('share-bob'));
  return bob;
}

test('five tabs of one user share one connection, and another tab takes over when its tab closes', async (t) => {
  const context = await suite.browser.newContext();
  const bob = await bobClient();
  try {
    const tabs = [];
    for (let i = 0; i < 5; i += 1) tabs.push(await openTab(context, 'share-alice', 'five-tabs'));
    // One connection for the five: the same `connection_id` and `me` everywhere, one WebSocket, one on the server.
    assert.equal(new Set(tabs.map((tab) => tab.connectionId)).size, 1);
    assert.deepEqual(tabs.map((tab) => tab.me), Array(5).fill('share-alice'));
    assert.equal(tabs.reduce((sum, tab) => sum + tab.sockets, 0), 1, 'one WebSocket in the browser');
    assert.equal(await serverConnections(suite.server.url), 2, "alice's one connection and bob's");

    // A message sent from tab 3 reaches every tab's channel state once; so does bob's.
    await tabs[2].page.evaluate(() => window.channel.sendMessage({ text: 'from tab 3' }));
    await until(async () => (await holding(tabs, 'from tab 3')) === 5, 'the message in five tabs');
    await bob.channel('messaging', 'five-tabs').sendMessage({ text: 'bob to five tabs' });
    await until(async () => (await holding(tabs, 'bob to five tabs')) === 5, "bob's message in five tabs");

    // The tab holding the connection closes; bob keeps sending meanwhile.
    const leader = tabs.find((tab) => tab.sockets === 1);
    const rest = tabs.filter((tab) => tab !== leader);
    const closedAt = Date.now();
    await leader.page.close();
    const bobChannel = bob.channel('messaging', 'five-tabs');
    for (let i = 1; i <= 3; i += 1) await bobChannel.sendMessage({ text: `during takeover ${i}` });
    const ids = await until(async () => {
      const ids = await Promise.all(rest.map((tab) => tab.page.evaluate(() => window.client.connectionId)));
      return new Set(ids).size === 1 && ids[0] && ids[0] !== leader.connectionId && ids;
    }, 'one new connection in the remaining tabs');
    const tookOverMs = Date.now() - closedAt;
    assert.equal(rest.reduce((sum, tab) => sum + tab.sockets, 0), 1, 'one new WebSocket among them');
    for (let i = 1; i <= 3; i += 1) {
      await until(async () => (await holding(rest, `during takeover ${i}`)) === 4, `message ${i} in four tabs`);
    }
    await until(async () => (await serverConnections(suite.server.url)) === 2, 'one connection for alice');
    t.diagnostic(`took over in ${tookOverMs} ms (connection ${ids[0]})`);

    // Live events flow through the new connection to every tab.
    await rest[0].page.evaluate(() => window.channel.sendMessage({ text: 'after takeover' }));
    await until(async () => (await holding(rest, 'after takeover')) === 4, 'the message after takeover');

    // `disconnectUser()` in a tab that does not hold the connection disconnects that tab only.
    const newLeader = rest.find((tab) => tab.sockets === 1);
    const follower = rest.find((tab) => tab !== newLeader);
    await follower.page.evaluate(() => window.client.disconnectUser());
    const staying = rest.filter((tab) => tab !== follower);
    await bobChannel.sendMessage({ text: 'after a follower left' });
    await until(async () => (await holding(staying, 'after a follower left')) === 3, 'the message in three tabs');
    assert.equal(await serverConnections(suite.server.url), 2);
    assert.equal(await follower.page.evaluate(() => window.count('after a follower left')), 0);

    // In the tab that holds it, `disconnectUser()` hands the connection to another tab.
    await newLeader.page.evaluate(() => window.client.disconnectUser());
    const last = staying.filter((tab) => tab !== newLeader);
    await bobChannel.sendMessage({ text: 'after the leader left' });
    await until(async () => (await holding(last, 'after the leader left')) === 2, 'the message in two tabs');
    await until(async () => (await serverConnections(suite.server.url)) === 2, 'still one connection for alice');
  } finally {
    await bob.disconnectUser();
    await context.close();
  }
});

test('other users and other browser contexts keep connections of their own', async () => {
  const first = await suite.browser.newContext();
  const second = await suite.browser.newContext();
  const before = await serverConnections(suite.server.url);
  try {
    const carol = await openTab(first, 'share-carol', 'own-carol');
    const dave = await openTab(first, 'share-dave', 'own-dave');
    const carolElsewhere = await openTab(second, 'share-carol', 'own-carol');
    const unshared = await openTab(first, 'share-carol', 'own-carol', { shareConnection: false });
    const carolAgain = await openTab(first, 'share-carol', 'own-carol');
    for (const tab of [carol, dave, carolElsewhere, unshared]) assert.equal(tab.sockets, 1);
    assert.equal(carolAgain.sockets, 0, "carol's second tab in the first context shares her first tab's");
    assert.equal(carolAgain.connectionId, carol.connectionId);
    assert.equal(new Set([carol, dave, carolElsewhere, unshared].map((tab) => tab.connectionId)).size, 4);
    assert.equal(await serverConnections(suite.server.url), before + 4);
  } finally {
    await first.close();
    await second.close();
  }
});

test('a tab being frozen hands the connection over, and follows it when it resumes', async (t) => {
  const context = await suite.browser.newContext();
  const bob = await bobClient();
  try {
    const tabs = [];
    for (let i = 0; i < 3; i += 1) tabs.push(await openTab(context, 'share-erin', 'frozen-tab'));
    const [leader, ...rest] = tabs;
    assert.equal(leader.sockets, 1, 'the first tab holds the connection');
    // What the browser does to a tab it freezes: the `freeze` event, then no task runs. Headless Chromium's CDP
    // freeze stops the tasks but dispatches no event, so the test dispatches it first, as the browser would.
    const cdp = await context.newCDPSession(leader.page);
    await leader.page.evaluate(() => document.dispatchEvent(new Event('freeze')));
    await cdp.send('Page.setWebLifecycleState', { state: 'frozen' });
    const frozenAt = Date.now();
    const ids = await until(async () => {
      const ids = await Promise.all(rest.map((tab) => tab.page.evaluate(() => window.client.connectionId)));
      return ids[0] && ids[0] !== leader.connectionId && ids[1] === ids[0] && ids;
    }, 'another tab holding the connection');
    t.diagnostic(`took over from the frozen tab in ${Date.now() - frozenAt} ms`);
    const bobChannel = bob.channel('messaging', 'frozen-tab');
    await bobChannel.sendMessage({ text: 'while frozen' });
    await until(async () => (await holding(rest, 'while frozen')) === 2, 'the message in the two running tabs');

    // Resumed, the tab follows the new connection and catches up.
    await cdp.send('Page.setWebLifecycleState', { state: 'active' });
    await leader.page.evaluate(() => document.dispatchEvent(new Event('resume')));
    await until(
      () => leader.page.evaluate((id) => window.client.connectionId === id, ids[0]),
      'the resumed tab on the new connection',
    );
    await until(async () => (await holding(tabs, 'while frozen')) === 3, 'the message in all three tabs');
    await bobChannel.sendMessage({ text: 'after resume' });
    await until(async () => (await holding(tabs, 'after resume')) === 3, 'the next message in all three tabs');
    assert.equal(leader.sockets, 1, 'the resumed tab opened no connection of its own');
  } finally {
    await bob.disconnectUser();
    await context.close();
  }
});

test('a tab that finds no tab leading opens its socket at once, and moves to the leading tab\'s if one leads', async () => {
  const context = await suite.browser.newContext();
  const bob = await bobClient();
  const before = await serverConnections(suite.server.url);
  try {
    const first = await openTab(context, 'share-fay', 'early-socket');
    assert.equal(first.sockets, 1);
    // The leader's mark in `localStorage` is what tells a new tab that one leads; without it (a tab restored from
    // the back/forward cache, say) the next tab connects on a socket of its own, as a tab alone does, and asks
    // for the lock once connected: another tab holds it, so it moves to that tab's connection.
    // A tab alone asks for the lock once its socket is open, so the mark can come after `connectUser` resolved:
    // wait for it before taking it away.
    await until(
      () => first.page.evaluate(() => Object.keys(localStorage).some((key) => key.endsWith('#share-fay'))),
      'the first tab leading',
    );
    await first.page.evaluate(() => {
      for (const key of Object.keys(localStorage)) if (key.endsWith('#share-fay')) localStorage.removeItem(key);
    });
    const second = await openTab(context, 'share-fay', 'early-socket');
    assert.equal(second.sockets, 1, 'the second tab opened a socket before it knew of the first');
    await until(
      () => second.page.evaluate((id) => window.client.connectionId === id, first.connectionId),
      "the second tab on the first tab's connection",
    );
    await until(async () => (await serverConnections(suite.server.url)) === before + 1, 'one connection for fay');
    await bob.channel('messaging', 'early-socket').sendMessage({ text: 'to both tabs' });
    await until(async () => (await holding([first, second], 'to both tabs')) === 2, 'the message in both tabs');
  } finally {
    await bob.disconnectUser();
    await context.close();
  }
});
