// Two browsers (separate contexts, our SDK in each): alice switches her typing indicators off while connected and
// bob sees no more typing from her, without a reconnect; then her read receipts the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchBrowser, startServer, tempDir } from './helpers.mjs';

/** A page in its own browser context with our SDK connected as `id`, watching `messaging:switch`. */
async function open(browser, url, id) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${url}/metrics`);
  await page.evaluate(async (id) => {
    const sdk = await import('/pkg/stream_chat_wasm.js');
    await sdk.default();
    const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
    await client.connectUser({ id }, client.devToken(id));
    const channel = client.channel('messaging', 'switch', { members: ['alice', 'bob'] });
    window.seen = [];
    channel.on((event) => event.user?.id !== id && window.seen.push(event.type));
    await channel.watch();
    Object.assign(window, { client, channel });
  }, id);
  return page;
}

/** Waits (polling, with a deadline) until the page's `window.seen` includes `type`. */
async function saw(page, type) {
  await page.waitForFunction((type) => window.seen.includes(type), type, { timeout: 10_000 });
}

test('privacy switched while connected stops typing and reads reaching another browser', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  try {
    const alice = await open(browser, server.url, 'alice');
    const bob = await open(browser, server.url, 'bob');
    const connectionId = await alice.evaluate(() => window.client.connectionId);

    // Before: bob sees alice type and read.
    await alice.evaluate(() => window.channel.keystroke());
    await saw(bob, 'typing.start');
    await alice.evaluate(() => window.channel.markRead());
    await saw(bob, 'message.read');

    // Typing off, then read receipts off, while connected.
    await alice.evaluate(async () => {
      const id = window.client.userID;
      await window.client.partialUpdateUser({ id, set: { privacy_settings: { typing_indicators: { enabled: false } } } });
      await window.client.partialUpdateUser({ id, set: { privacy_settings: { read_receipts: { enabled: false } } } });
    });
    await bob.evaluate(() => (window.seen = []));
    await alice.evaluate(async () => {
      await window.channel.stopTyping();
      await window.channel.keystroke();
      await window.channel.markRead();
      await window.channel.sendMessage({ text: 'marker' });
    });
    // Events are ordered: once the marker message is there, any typing or read event would have come first.
    await saw(bob, 'message.new');
    const seen = await bob.evaluate(() => window.seen);
    assert.deepEqual(seen.filter((type) => /typing|read/.test(type)), [], `bob saw ${seen}`);
    assert.equal(await alice.evaluate(() => window.client.connectionId), connectionId, 'no reconnect');
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});
