// `closeConnection()` closes the WebSocket but keeps the user: REST calls go on working (as the official
// client's do), and `openConnection()` brings the events back; `disconnectUser()` then ends REST too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connectOfficial, launchBrowser, openSdkPage, startServer, tempDir, nextEvent as next } from './helpers.mjs';

const KEY = 'demo-key';
const SECRET = 'e2e-secret';

test('after closeConnection REST works; openConnection brings events back; disconnectUser ends both', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db'), apiKey: KEY, secret: SECRET });
  const browser = await launchBrowser();
  const bob = await connectOfficial(server.url, { id: 'bob' }, { key: KEY, secret: SECRET });
  try {
    const bobChannel = bob.channel('messaging', 'closed-rest', { members: ['alice', 'bob'] });
    await bobChannel.watch();
    const page = await openSdkPage(browser, server.url);
    await page.evaluate(async () => {
      const client = await connectAs('alice');
      const channel = client.channel('messaging', 'closed-rest');
      await channel.watch();
      Object.assign(window, { client, channel });
    });

    const heard = next(bobChannel, 'message.new', (e) => e.user.id === 'alice');
    const whileClosed = await page.evaluate(async () => {
      await window.client.closeConnection();
      const sent = await window.channel.sendMessage({ text: 'sent while closed' });
      const users = await window.client.queryUsers({ id: { $in: ['bob'] } });
      const fetched = await window.client.getMessage(sent.message.id);
      return { sent: sent.message.text, users: users.users.map((u) => u.id), fetched: fetched.message.text };
    });
    assert.deepEqual(whileClosed, { sent: 'sent while closed', users: ['bob'], fetched: 'sent while closed' });
    assert.equal((await heard).message.text, 'sent while closed', 'bob got it live');

    await page.evaluate(() => window.client.openConnection());
    const { message } = await bobChannel.sendMessage({ text: 'after openConnection' });
    await page.waitForFunction((id) => window.channel.state.messages.some((m) => m.id === id), message.id, {
      timeout: 10_000,
    });

    const afterDisconnect = await page.evaluate(async () => {
      await window.client.disconnectUser();
      return window.client.queryUsers({ id: 'bob' }).then(
        () => 'resolved',
        (error) => error.message,
      );
    });
    assert.notEqual(afterDisconnect, 'resolved', 'no REST without a user');
  } finally {
    await bob.disconnectUser();
    await browser.close();
    await server.stop();
    cleanup();
  }
});
