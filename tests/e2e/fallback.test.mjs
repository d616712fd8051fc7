// Long-poll fallback of our SDK (release package, in Chromium): behind an nginx that does not pass WebSocket
// upgrades it connects over long-poll and chats both ways with a WebSocket user, in order; a port that accepts
// and never answers makes it fall back within its timeout; a 500-message burst arrives once, in order; and when
// WebSockets work again it moves back by itself without losing or duplicating a message.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { StreamChat } from 'stream-chat';
import { launchBrowser, metric, nextEvent, startProxy, startServer, tempDir } from './helpers.mjs';

/** The next matching event, with the longer wait the long-poll tests need. */
const next = (channel, type, accept) => nextEvent(channel, type, accept, 15_000);

/**
 * Opens the release package in a new page of `opener` (a browser: a fresh context; or a context: shared storage)
 * on `server` and connects `userId` with `options`; returns the page.
 */
async function sdkPage(opener, server, userId, options, setup = () => {}) {
  const page = await opener.newPage();
  page.errors = [];
  page.on('pageerror', (error) => { page.errors.push(error.message); if (process.env.DEBUG_STACK) console.log('STACK', error.stack); });
  await page.goto(`${server.url}/metrics`); // same origin, without the demo page's own users
  await page.evaluate(setup);
  await page.evaluate(
    async ({ userId, options }) => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', options);
      window.events = [];
      window.transports = [];
      client.on('transport.changed', (e) => window.transports.push(e.mode));
      if (options.wsBaseURL) client.wsBaseURL = options.wsBaseURL;
      const started = performance.now();
      await client.connectUser({ id: userId }, client.devToken(userId));
      window.connectMs = performance.now() - started;
      const channel = client.channel('messaging', 'fallback', { members: [userId, 'bob'] });
      channel.on((e) => window.events.push({ type: e.type, user: e.user?.id, text: e.message?.text }));
      await channel.watch();
      Object.assign(window, { client, channel });
    },
    { userId, options },
  );
  return page;
}

async function officialBob(server) {
  const bob = new StreamChat('demo-key', { baseURL: server.url, allowServerSideConnect: true });
  await bob.connectUser({ id: 'bob' }, bob.devToken('bob'));
  const channel = bob.channel('messaging', 'fallback', { members: ['alice', 'bob'] });
  await channel.watch();
  return { bob, channel };
}

test('behind a proxy that blocks WebSockets: long-poll, and chat works both ways in order', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const proxy = await startProxy({ upstreamPort: server.port });
  const browser = await launchBrowser();
  const { bob, channel: bobs } = await officialBob(server);
  try {
    const page = await sdkPage(browser, server, 'alice', { baseURL: proxy.url, enableWSFallback: true });
    assert.deepEqual(await page.evaluate(() => window.transports), ['longpoll']);
    assert.equal(await metric(server.url, 'chat_connections{transport="longpoll"}'), 1);

    // alice (long-poll) → bob (WebSocket): typing, message, stop, read, in order.
    const seen = [];
    for (const type of ['typing.start', 'message.new', 'typing.stop', 'message.read']) {
      bobs.on(type, (e) => e.user?.id === 'alice' && seen.push(type));
    }
    const read = next(bobs, 'message.read', (e) => e.user.id === 'alice');
    await page.evaluate(async () => {
      await window.channel.keystroke();
      await window.channel.sendMessage({ text: 'over long-poll' });
      await window.channel.stopTyping();
    });
    await bobs.sendMessage({ text: 'to read' });
    await page.waitForFunction(() => window.channel.state.messages.length === 2, null, { timeout: 15_000 });
    await page.evaluate(() => window.channel.markRead());
    await read;
    assert.deepEqual(seen, ['typing.start', 'message.new', 'typing.stop', 'message.read']);

    // bob → alice: typing, message, stop, read arrive over long-poll in order.
    await bobs.keystroke();
    await bobs.sendMessage({ text: 'over websocket' });
    await bobs.stopTyping();
    await bobs.markRead();
    await page.waitForFunction(
      () => window.events.filter((e) => e.user === 'bob' && e.type !== 'user.watching.start').length >= 5,
      null,
      { timeout: 15_000 },
    );
    const fromBob = await page.evaluate(() =>
      window.events.filter((e) => e.user === 'bob' && e.type !== 'user.watching.start').map((e) => e.type),
    );
    assert.deepEqual(fromBob, ['message.new', 'typing.start', 'message.new', 'typing.stop', 'message.read']);

    // disconnectUser sends the close request and stops polling: the server sees the connection go at once.
    await page.evaluate(() => window.client.disconnectUser());
    const deadline = Date.now() + 10_000;
    while ((await metric(server.url, 'chat_connections{transport="longpoll"}')) !== 0) {
      assert.ok(Date.now() < deadline, 'the long-poll connection was closed');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(page.errors, [], 'no uncaught error (no callback ran after being dropped)');
  } finally {
    await bob.disconnectUser().catch(() => {});
    await browser.close();
    await proxy.stop();
    await server.stop();
    cleanup();
  }
});

test('a WebSocket port that never answers falls back within the timeout', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const sockets = [];
  const hole = createServer((socket) => sockets.push(socket)).listen(0, '127.0.0.1');
  await new Promise((resolve) => hole.once('listening', resolve));
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext();
    const page = await sdkPage(context, server, 'alice', {
      baseURL: server.url,
      wsBaseURL: `ws://127.0.0.1:${hole.address().port}`,
      enableWSFallback: true,
    });
    const { transports, connectMs } = await page.evaluate(() => ({
      transports: window.transports,
      connectMs: window.connectMs,
    }));
    assert.deepEqual(transports, ['longpoll']);
    assert.ok(connectMs < 4_000, `fell back in ${connectMs} ms (the official client takes over 6 s)`);
    assert.ok(sockets.length >= 1, 'the black hole was tried');

    // The failure is remembered for this origin: the next page starts on long-poll at once (a connection of its
    // own, not the first page's shared one, so that there is a start to see).
    const again = await sdkPage(context, server, 'alice', {
      baseURL: server.url,
      wsBaseURL: `ws://127.0.0.1:${hole.address().port}`,
      enableWSFallback: true,
      shareConnection: false,
    });
    const second = await again.evaluate(() => ({ transports: window.transports, connectMs: window.connectMs }));
    assert.deepEqual(second.transports, [], 'no switch needed: it started on long-poll');
    assert.ok(second.connectMs < 1_500, `connected in ${second.connectMs} ms`);
    assert.equal(await metric(server.url, 'chat_connections{transport="longpoll"}'), 2);
  } finally {
    await browser.close();
    sockets.forEach((s) => s.destroy());
    hole.close();
    await server.stop();
    cleanup();
  }
});

test('a burst of 500 messages on long-poll arrives once, in order', async () => {
  const { dir, cleanup } = tempDir();
  // One sender's 500 messages in a few seconds are past the default per-user rate limit (60 at once, 10/s).
  const server = await startServer({ db: join(dir, 'chat.db'), args: ['--message-burst', '1000'] });
  const proxy = await startProxy({ upstreamPort: server.port });
  const browser = await launchBrowser();
  const { bob, channel: bobs } = await officialBob(server);
  try {
    const page = await sdkPage(browser, server, 'alice', { baseURL: proxy.url, enableWSFallback: true });
    const texts = Array.from({ length: 500 }, (_, n) => `burst ${n}`);
    for (const text of texts) await bobs.sendMessage({ text });
    await page.waitForFunction(() => window.channel.state.messages.length >= 500, null, { timeout: 60_000 });
    const received = await page.evaluate(() => ({
      events: window.events.filter((e) => e.type === 'message.new').map((e) => e.text),
      state: window.channel.state.messages.map((m) => m.text),
    }));
    assert.deepEqual(received.events, texts, 'every message.new once, in order');
    assert.deepEqual(received.state, texts);
  } finally {
    await bob.disconnectUser().catch(() => {});
    await browser.close();
    await proxy.stop();
    await server.stop();
    cleanup();
  }
});

test('when WebSockets work again the SDK moves back by itself, and no message is lost or doubled', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  let proxy = await startProxy({ upstreamPort: server.port });
  const browser = await launchBrowser();
  const { bob, channel: bobs } = await officialBob(server);
  try {
    const page = await sdkPage(browser, server, 'alice', {
      baseURL: proxy.url,
      enableWSFallback: true,
      wsProbeInterval: 500,
    });
    assert.deepEqual(await page.evaluate(() => window.transports), ['longpoll']);
    await bobs.sendMessage({ text: 'on long-poll' });
    await page.waitForFunction(() => window.channel.state.messages.length === 1, null, { timeout: 15_000 });

    // The same proxy port now passes upgrades; messages keep coming while the SDK switches.
    const port = proxy.port;
    await proxy.stop();
    proxy = await startProxy({ upstreamPort: server.port, passUpgrades: true, port });
    const texts = ['on long-poll'];
    for (let n = 0; n < 20; n++) {
      texts.push(`during the switch ${n}`);
      await bobs.sendMessage({ text: texts[texts.length - 1] });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await page.waitForFunction(() => window.transports.includes('websocket'), null, { timeout: 30_000 });
    texts.push('after the switch');
    await bobs.sendMessage({ text: 'after the switch' });
    await page.waitForFunction((n) => window.channel.state.messages.length >= n, texts.length, { timeout: 15_000 });
    const state = await page.evaluate(() => window.channel.state.messages.map((m) => m.text));
    assert.deepEqual(state, texts, 'every message exactly once, in order');
    assert.deepEqual(await page.evaluate(() => window.transports), ['longpoll', 'websocket']);
    assert.equal(
      await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('stream-chat-wasm:ws-failed')).length),
      0,
      'the remembered failure is forgotten',
    );
    assert.deepEqual(page.errors, [], 'no uncaught error across the switch');
  } finally {
    await bob.disconnectUser().catch(() => {});
    await browser.close();
    await proxy.stop();
    await server.stop();
    cleanup();
  }
});
