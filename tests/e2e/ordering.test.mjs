// A query's answer never moves a channel's state backwards: events that arrive while `watch()`/`query()` or
// `queryChannels()` is in flight (an edit, a hard delete, a watcher) are still there after the answer is applied.
// The events are dispatched on the SDK's own WebSocket right after the call, before its answer can be handled
// (the page is single-threaded), so the answer is the older snapshot every time. And a `watch()` still in flight
// when the connection is replaced leaves the channel watched on the new connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchBrowser, startServer, tempDir } from './helpers.mjs';

/** Runs in the page before its scripts: every WebSocket the page opens goes into `window.sockets`. */
function recordSockets() {
  window.sockets = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      window.sockets.push(this);
    }
  };
}

test('events that arrive while a query is in flight survive its answer', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.addInitScript(recordSockets);
    await page.goto(`${server.url}/metrics`);
    const seen = await page.evaluate(async () => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
      await client.connectUser({ id: 'alice' }, client.devToken('alice'));
      const socket = window.sockets.at(-1);
      const deliver = (event) => socket.dispatchEvent(new MessageEvent('message', { data: JSON.stringify(event) }));

      const results = {};
      for (const how of ['query', 'queryChannels']) {
        const channel = client.channel('messaging', `ordering-${how}`, { members: ['alice'] });
        await channel.watch();
        const heard = new Set();
        channel.on('message.new', (event) => heard.add(event.message.id));
        const { message: kept } = await channel.sendMessage({ text: 'original' });
        const { message: gone } = await channel.sendMessage({ text: 'to be hard-deleted' });
        // The server's own events for them come first: the events below are the newest, as they would be.
        const deadline = Date.now() + 10_000;
        while (!heard.has(kept.id) || !heard.has(gone.id)) {
          if (Date.now() > deadline) throw new Error('message.new of the sent messages never came');
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        const base = { cid: channel.cid, channel_id: channel.id, channel_type: 'messaging' };
        const later = new Date(Date.now() + 60_000).toISOString();

        const pending =
          how === 'query' ? channel.query() : client.queryChannels({ cid: { $in: [channel.cid] } }, {}, { watch: true });
        deliver({ ...base, type: 'message.updated', created_at: later, user: { id: 'alice' },
          message: { ...kept, text: 'edited meanwhile', updated_at: later } });
        deliver({ ...base, type: 'message.deleted', created_at: later, hard_delete: true, user: { id: 'alice' },
          message: { ...gone, type: 'deleted', deleted_at: later } });
        deliver({ ...base, type: 'user.watching.start', created_at: later, watcher_count: 2,
          user: { id: 'bob', name: 'Bob' } });
        await pending;

        results[how] = {
          text: channel.state.messages.find((m) => m.id === kept.id)?.text,
          hardDeletedGone: !channel.state.messages.some((m) => m.id === gone.id),
          watcher: channel.state.watchers.bob?.name,
          watcherCount: channel.state.watcher_count,
        };
      }
      await client.disconnectUser();
      return results;
    });
    const expected = { text: 'edited meanwhile', hardDeletedGone: true, watcher: 'Bob', watcherCount: 2 };
    assert.deepEqual(seen.query, expected, 'watch()/query() rolled the state back');
    assert.deepEqual(seen.queryChannels, expected, 'queryChannels() rolled the state back');
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});

test('a watch() in flight across a reconnect leaves the channel watched', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.addInitScript(recordSockets);
    // Alice's watch() is held on its way to the server until her connection has been replaced and recovered.
    let release;
    const held = new Promise((resolve) => (release = resolve));
    let heldSeen;
    const requestHeld = new Promise((resolve) => (heldSeen = resolve));
    await page.route('**/channels/messaging/pending-watch/query**', async (route) => {
      if (route.request().url().includes('user_id=alice')) {
        heldSeen();
        await held;
      }
      await route.continue();
    });
    await page.goto(`${server.url}/metrics`);
    await page.evaluate(async () => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const make = () => new sdk.StreamChat('demo-key', { baseURL: location.origin });
      const [alice, bob] = [make(), make()];
      await alice.connectUser({ id: 'alice' }, alice.devToken('alice'));
      window.aliceSocket = window.sockets.at(-1);
      await bob.connectUser({ id: 'bob' }, bob.devToken('bob'));
      const bobChannel = bob.channel('messaging', 'pending-watch', { members: ['alice', 'bob'] });
      await bobChannel.watch();
      const aliceChannel = alice.channel('messaging', 'pending-watch');
      const recovered = new Promise((resolve) => alice.on('connection.recovered', resolve));
      Object.assign(window, { bobChannel, aliceChannel, recovered, watching: aliceChannel.watch() });
    });
    await requestHeld;
    // Her connection drops (closed on the page's side: the SDK reconnects and recovers, as after a network loss).
    await page.evaluate(async () => {
      window.aliceSocket.close();
      await window.recovered;
    });
    release();
    const heard = await page.evaluate(async () => {
      await window.watching;
      const got = new Promise((resolve) => window.aliceChannel.on('message.new', (e) => resolve(e.message.text)));
      await window.bobChannel.sendMessage({ text: 'after the reconnect' });
      return Promise.race([got, new Promise((resolve) => setTimeout(() => resolve('no event within 5 s'), 5_000))]);
    });
    assert.equal(heard, 'after the reconnect');
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});
