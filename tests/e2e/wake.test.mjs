// A laptop that slept: the page's WebSocket is still "open" but the network under it is dead (nothing arrives,
// nothing leaves), and the page's timers were frozen, so the 35 s dead-connection check is far away. When the
// page becomes visible again the SDK must find the connection dead and recover within a few seconds.
//
// The WebSocket goes through Playwright's WebSocket routing, which forwards frames to the real server until the
// test makes it go silent; the page's timers are Playwright's fake clock, paused for the "sleep" and resumed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchBrowser, startServer, tempDir } from './helpers.mjs';

test('after a sleep the SDK finds its dead connection and recovers within seconds of waking', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    const sockets = [];
    await page.routeWebSocket(/\/connect\?/, (ws) => {
      const entry = { silent: false };
      const upstream = ws.connectToServer();
      ws.onMessage((message) => !entry.silent && upstream.send(message));
      upstream.onMessage((message) => !entry.silent && ws.send(message));
      sockets.push(entry);
    });
    await page.clock.install();
    await page.goto(`${server.url}/metrics`);
    await page.evaluate(async () => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
      window.events = [];
      client.on('connection.changed', (e) => window.events.push(`changed:${e.online}`));
      client.on('connection.recovered', () => window.events.push('recovered'));
      await client.connectUser({ id: 'sleeper' }, client.devToken('sleeper'));
      window.client = client;
    });
    assert.equal(sockets.length, 1);

    // Sleep: the page's timers stop, and the connection dies without a close.
    await page.clock.pauseAt(Date.now() + 1_000);
    sockets[0].silent = true;

    // Wake: the page becomes visible. Its clock moves on only as far as this test runs it: 8 s, far less than
    // the 35 s after which a silent connection is given up anyway, and enough for the wake check (3 s) and the
    // first reconnect attempt (at most 2 s later).
    await page.evaluate(() => document.dispatchEvent(new Event('visibilitychange')));
    await page.clock.runFor(8_000);
    const deadline = Date.now() + 10_000;
    while (!(await page.evaluate(() => window.events.includes('recovered') && window.client.wsConnection?.isHealthy))) {
      assert.ok(Date.now() < deadline, `not recovered: ${await page.evaluate(() => window.events.join(' '))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(sockets.length, 2, 'a new WebSocket replaced the dead one');
    const connectionId = await page.evaluate(() => window.client.connectionId);
    assert.ok(connectionId);
    await page.evaluate(() => window.client.disconnectUser());
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});
