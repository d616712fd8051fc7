// The release package (the one `npm start` serves) in Chromium: it connects and watches a channel, and when the
// server is killed and started again on the same port and database, the client reconnects by itself, re-queries
// its channel with one `POST /channels`, and says so with `connection.changed` (offline, then online) and
// `connection.recovered`; its state holds every message exactly once and live events flow again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StreamChat } from 'stream-chat';
import { launchBrowser, metric, startServer, tempDir } from './helpers.mjs';

test('the page client reconnects after the server is killed and restarted', async () => {
  const { dir, cleanup } = tempDir();
  const db = join(dir, 'chat.db');
  let server = await startServer({ db });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const pageErrors = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // A same-origin page without the demo (which connects users of its own).
    await page.goto(`${server.url}/metrics`);
    const opened = await page.evaluate(async () => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
      window.events = [];
      client.on((event) => window.events.push({ type: event.type, online: event.online }));
      window.client = client;
      const opened = await client.connectUser({ id: 'e2e-alice', name: 'Alice' }, client.devToken('e2e-alice'));
      window.channel = client.channel('messaging', 'recovery', { members: ['e2e-alice', 'e2e-bob'] });
      await window.channel.watch();
      await window.channel.sendMessage({ text: 'before the crash' });
      return { connectionId: opened.connection_id, name: opened.me.name, fromGetter: client.connectionId };
    });
    assert.ok(opened.connectionId);
    assert.equal(opened.name, 'Alice');
    assert.equal(opened.fromGetter, opened.connectionId);

    await server.kill();
    await page.waitForFunction(
      () => window.events.some((e) => e.type === 'connection.changed' && e.online === false),
      null,
      { timeout: 30_000 },
    );

    server = await startServer({ db, port: server.port });
    await page.waitForFunction(() => window.events.some((e) => e.type === 'connection.recovered'), null, {
      timeout: 45_000,
    });
    assert.equal(await metric(server.url, 'chat_query_channels_total'), 1, 'one POST /channels re-queried it');
    const bob = new StreamChat('demo-key', { baseURL: server.url, allowServerSideConnect: true });
    await bob.connectUser({ id: 'e2e-bob' }, bob.devToken('e2e-bob'));
    await bob.channel('messaging', 'recovery').sendMessage({ text: 'after the restart' });
    await bob.disconnectUser();
    await page.waitForFunction(() => window.channel.state.messages.length === 2, null, { timeout: 10_000 });
    const texts = await page.evaluate(() => window.channel.state.messages.map((m) => m.text));
    assert.deepEqual(texts, ['before the crash', 'after the restart']);
    const after = await page.evaluate(() => ({
      events: window.events.filter((e) => e.type.startsWith('connection.')),
      connectionId: window.client.connectionId,
      name: window.client.user.name,
    }));
    assert.deepEqual(
      after.events.map((e) => (e.type === 'connection.changed' ? `changed:${e.online}` : e.type)),
      ['changed:true', 'changed:false', 'changed:true', 'connection.recovered'],
    );
    assert.ok(after.connectionId && after.connectionId !== opened.connectionId, 'a new connection');
    assert.equal(after.name, 'Alice', 'the user survived the restart in SQLite');
    await page.evaluate(() => window.client.disconnectUser());
    assert.deepEqual(pageErrors, [], 'no uncaught error in the page');
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});
