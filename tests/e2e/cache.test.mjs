// The local cache: after a reload, `queryChannels` (and `watch()` of one channel) resolves from IndexedDB while
// the server's answer is still held back (`state.isFromCache`), then the server's answer rebuilds the same channel
// objects (what changed meanwhile included, nothing doubled, `channels.queried` told); messages that arrived
// while the page was open are in the cache too; `disconnectUser({clearCache: true})` forgets it, and
// `localCache: false` never uses it. Real server, Chromium, the official client as the other user.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamChat } from 'stream-chat';
import { browserSuite, until } from './helpers.mjs';

const suite = browserSuite();

/**
 * Loads the app in `page` as `id` and starts `queryChannels` for its channels; `window.listed` is the promise of
 * what it resolves with, as `{cid, fromCache, texts}` per channel, and `window.queried` counts `channels.queried`.
 */
async function loadApp(page, id, options = {}, limit = 10) {
  await page.goto(`${suite.server.url}/metrics`);
  await page.evaluate(
    async ({ id, options, limit }) => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin, ...options });
      window.client = client;
      window.queried = 0;
      client.on('channels.queried', () => (window.queried += 1));
      // As an app starts: connect, and ask for the list without waiting for the connection first (the cache is
      // asked only then: once connected, the server answers at once).
      const connected = client.connectUser({ id }, client.devToken(id));
      window.view = (channels) =>
        channels.map((c) => ({ cid: c.cid, fromCache: c.state.isFromCache === true, texts: c.state.messages.map((m) => m.text) }));
      window.found = client.queryChannels({ members: { $in: [id] } }, { last_message_at: -1 }, { limit });
      window.listed = window.found.then(window.view);
      await connected;
    },
    { id, options, limit },
  );
}

/** Holds back `POST /channels` requests (or those `pattern` matches) in `page` until the returned `release()` is
 * called (then lets them by). */
async function holdQueries(page, pattern = '**/channels?**') {
  let release;
  const released = new Promise((resolve) => (release = resolve));
  await page.route(pattern, async (route) => {
    await released;
    await route.continue();
  });
  return release;
}

/** The channel lists in IndexedDB (written after each answer, so polled). */
function cachedLists(page) {
  return page.evaluate(
    () =>
      new Promise((resolve) => {
        const open = indexedDB.open('stream-chat-wasm', 1);
        open.onupgradeneeded = () => open.result.createObjectStore('lists');
        open.onsuccess = () => {
          const keys = open.result.transaction('lists').objectStore('lists').getAllKeys();
          keys.onsuccess = () => resolve(keys.result.filter((key) => key.includes(':L')).length);
        };
      }),
  );
}

/** The texts of channel `cid` as kept in IndexedDB for `cache-alice`. */
function cachedTexts(page, cid) {
  return page.evaluate(
    (cid) =>
      new Promise((resolve) => {
        const open = indexedDB.open('stream-chat-wasm', 1);
        open.onsuccess = () => {
          const kept = open.result.transaction('lists').objectStore('lists').get(`demo-key:cache-alice:C${cid}`);
          kept.onsuccess = () => resolve((kept.result?.messages ?? []).map((m) => m.text));
        };
      }),
    cid,
  );
}

test('after a reload the channel list comes from the cache first, then equals the server answer', async () => {
  const context = await suite.browser.newContext();
  const bob = new StreamChat('demo-key', { baseURL: suite.server.url, allowServerSideConnect: true });
  await bob.connectUser({ id: 'cache-bob' }, bob.devToken('cache-bob'));
  try {
    for (const name of ['one', 'two']) {
      const channel = bob.channel('messaging', `cache-${name}`, { members: ['cache-alice', 'cache-bob'] });
      await channel.create();
      await channel.sendMessage({ text: `${name}: first` });
    }
    const page = await context.newPage();
    await loadApp(page, 'cache-alice');
    const first = await page.evaluate(() => window.listed);
    assert.deepEqual(first.map((c) => c.fromCache), [false, false], 'nothing cached before');
    await until(async () => (await cachedLists(page)) === 1, 'the answer in the cache');

    // Bob writes in channel one while alice's page shows it: the event updates the kept channel too.
    await bob.channel('messaging', 'cache-one').sendMessage({ text: 'one: seen live' });
    await until(
      () => page.evaluate(() => window.client.activeChannels['messaging:cache-one'].state.messages.length === 2),
      'the message shown live',
    );
    await until(async () => (await cachedTexts(page, 'messaging:cache-one')).includes('one: seen live'), 'the kept copy updated');
    // Then while the app is gone, which makes channel one the newest.
    await page.goto('about:blank');
    await bob.channel('messaging', 'cache-one').sendMessage({ text: 'one: while away' });

    // Reload: the server's answer is held back, yet queryChannels resolves, from the cache.
    const release = await holdQueries(page);
    await loadApp(page, 'cache-alice');
    const cached = await page.evaluate(() => window.listed);
    assert.deepEqual(cached, [
      { cid: 'messaging:cache-two', fromCache: true, texts: ['two: first'] },
      { cid: 'messaging:cache-one', fromCache: true, texts: ['one: first', 'one: seen live'] },
    ]);
    assert.equal(await page.evaluate(() => window.queried), 0);

    // The server's answer arrives: the same channel objects, rebuilt, equal to what the server says now.
    release();
    await until(() => page.evaluate(() => window.queried === 1), 'channels.queried');
    const reconciled = await page.evaluate(async () => {
      const fresh = window.view(await window.client.queryChannels({ members: { $in: ['cache-alice'] } }, { last_message_at: -1 }, { limit: 10 }));
      const same = (await window.found).every((c) => window.client.activeChannels[c.cid] === c);
      return { now: window.view(await window.found), fresh, same };
    });
    assert.ok(reconciled.same, 'the cached channel objects are the live ones');
    assert.deepEqual(
      reconciled.now.sort((a, b) => a.cid.localeCompare(b.cid)),
      [
        { cid: 'messaging:cache-one', fromCache: false, texts: ['one: first', 'one: seen live', 'one: while away'] },
        { cid: 'messaging:cache-two', fromCache: false, texts: ['two: first'] },
      ],
    );
    assert.deepEqual(reconciled.fresh.map((c) => c.cid), ['messaging:cache-one', 'messaging:cache-two']);

    // A channel watched on its own after a reload (the app opens it from a link) comes from the cache too.
    await page.goto(`${suite.server.url}/metrics`);
    await bob.channel('messaging', 'cache-two').sendMessage({ text: 'two: while away' });
    const releaseWatch = await holdQueries(page, '**/channels/messaging/cache-two/query**');
    const watched = await page.evaluate(async () => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
      window.client = client;
      const connected = client.connectUser({ id: 'cache-alice' }, client.devToken('cache-alice'));
      window.two = client.channel('messaging', 'cache-two');
      const answer = await window.two.watch();
      await connected;
      return { fromCache: window.two.state.isFromCache, texts: window.two.state.messages.map((m) => m.text), cid: answer.channel.cid };
    });
    assert.deepEqual(watched, { fromCache: true, texts: ['two: first'], cid: 'messaging:cache-two' });
    releaseWatch();
    await until(
      () => page.evaluate(() => window.two.state.isFromCache === false && window.two.state.messages.length === 2),
      "the server's answer to the watch",
    );
    assert.deepEqual(await page.evaluate(() => window.two.state.messages.map((m) => m.text)), [
      'two: first',
      'two: while away',
    ]);

    // `clearCache` forgets it: the next load waits for the server.
    await page.evaluate(() => window.client.disconnectUser({ clearCache: true }));
    await until(async () => (await cachedLists(page)) === 0, 'the cache cleared');
  } finally {
    await bob.disconnectUser();
    await context.close();
  }
});

test('with localCache: false nothing is kept', async () => {
  const context = await suite.browser.newContext();
  try {
    const page = await context.newPage();
    await loadApp(page, 'cache-carol', { localCache: false }, 5);
    await page.evaluate(() => window.listed);
    // A client with the cache, in the same page, afterwards: its list is the only one there once it landed (the
    // store's writes land in order, so one from the first client would be there by then).
    await page.evaluate(async () => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
      await client.connectUser({ id: 'cache-carol' }, client.devToken('cache-carol'));
      await client.queryChannels({ members: { $in: ['cache-carol'] } }, { last_message_at: -1 }, { limit: 6 });
    });
    await until(async () => (await cachedLists(page)) >= 1, 'the second client\'s list');
    assert.equal(await cachedLists(page), 1);
  } finally {
    await context.close();
  }
});
