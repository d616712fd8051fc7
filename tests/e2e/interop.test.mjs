// Interop: our SDK (the release package, in Chromium) and the official `stream-chat` client (in Node) in the same
// channel on our server see each other's messages, typing and reads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StreamChat } from 'stream-chat';
import { launchBrowser, startServer, tempDir, nextEvent as next } from './helpers.mjs';

test('our SDK in Chromium and the official client in Node chat in one channel', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  const bob = new StreamChat('demo-key', { baseURL: server.url, allowServerSideConnect: true });
  try {
    await bob.connectUser({ id: 'bob', name: 'Bob' }, bob.devToken('bob'));
    const bobs = bob.channel('messaging', 'interop', { members: ['alice', 'bob'] });
    await bobs.watch();

    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // A same-origin page without the demo (which connects users of its own).
    await page.goto(`${server.url}/metrics`);
    await page.evaluate(async () => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
      await client.connectUser({ id: 'alice', name: 'Alice' }, client.devToken('alice'));
      const channel = client.channel('messaging', 'interop', { members: ['alice', 'bob'] });
      window.events = [];
      channel.on((event) => window.events.push({ type: event.type, user: event.user?.id, text: event.message?.text }));
      await channel.watch();
      Object.assign(window, { client, channel });
    });

    // Ours → official: typing, message, read.
    const typing = next(bobs, 'typing.start', (e) => e.user.id === 'alice');
    const message = next(bobs, 'message.new', (e) => e.user.id === 'alice');
    await page.evaluate(async () => {
      await window.channel.keystroke();
      await window.channel.sendMessage({ text: 'hello from wasm' });
    });
    await typing;
    assert.equal((await message).message.text, 'hello from wasm');
    const stopped = next(bobs, 'typing.stop', (e) => e.user.id === 'alice');
    await page.evaluate(() => window.channel.stopTyping());
    await stopped;

    // Official → ours: message, typing, read.
    await bobs.keystroke();
    await bobs.sendMessage({ text: 'hello from node' });
    await bobs.stopTyping();
    await bobs.markRead();
    await page.waitForFunction(
      () => ['typing.start', 'message.new', 'typing.stop', 'message.read'].every((t) =>
        window.events.some((e) => e.type === t && e.user === 'bob')),
      null,
      { timeout: 10_000 },
    );
    const seen = await page.evaluate(() => ({
      fromBob: window.events.filter((e) => e.user === 'bob').map((e) => e.type),
      texts: window.channel.state.messages.map((m) => m.text),
      bobsRead: window.channel.state.read.bob?.unread_messages,
    }));
    assert.deepEqual(seen.fromBob.filter((t) => t !== 'user.watching.start'), ['typing.start', 'message.new', 'typing.stop', 'message.read']);
    assert.deepEqual(seen.texts, ['hello from wasm', 'hello from node']);
    assert.equal(seen.bobsRead, 0);

    // Alice reads; bob's official state shows it.
    const read = next(bobs, 'message.read', (e) => e.user.id === 'alice');
    await page.evaluate(() => window.channel.markRead());
    await read;
    assert.equal(bobs.state.read.alice.unread_messages, 0);
    await page.evaluate(() => window.client.disconnectUser());
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page');
  } finally {
    await bob.disconnectUser().catch(() => {});
    await browser.close();
    await server.stop();
    cleanup();
  }
});
