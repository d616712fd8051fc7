// Compatibility: the official `stream-chat` npm client, unchanged, connects to our server (signed JWT without
// dev mode, dev token in dev mode) and receives `connection_id` and `me`; the server refuses what it must.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StreamChat } from 'stream-chat';
import { metric, signToken, startServer, tempDir } from './helpers.mjs';

const KEY = 'e2e-key';
const SECRET = 'e2e-secret';

function officialClient(url) {
  return new StreamChat(KEY, { baseURL: url, allowServerSideConnect: true });
}

test('official client connects with a signed JWT and gets connection_id and me', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ dev: false, apiKey: KEY, secret: SECRET, db: join(dir, 'chat.db') });
  try {
    const client = officialClient(server.url);
    const healthChecks = [];
    client.on('health.check', (event) => healthChecks.push(event));
    const token = signToken({ user_id: 'node-alice' }, SECRET);
    const opened = await client.connectUser({ id: 'node-alice', name: 'Alice', color: 'red' }, token);
    assert.ok(opened.connection_id);
    assert.equal(opened.me.id, 'node-alice');
    assert.equal(opened.me.name, 'Alice');
    assert.equal(opened.me.color, 'red');
    assert.equal(opened.me.privacy_settings.read_receipts.enabled, true);
    assert.equal(client.user.name, 'Alice');
    assert.equal(healthChecks.length, 1);
    assert.equal(await metric(server.url, 'chat_connections{transport="websocket"}'), 1);
    await client.disconnectUser();

    // Dev tokens are refused outside dev mode, with code 43.
    const refused = officialClient(server.url);
    await assert.rejects(refused.connectUser({ id: 'node-bob' }, refused.devToken('node-bob')), (error) => {
      assert.equal(JSON.parse(error.message).code, 43);
      return true;
    });
  } finally {
    await server.stop();
    cleanup();
  }
});

test('official client connects with a dev token in dev mode', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ dev: true, db: join(dir, 'chat.db') });
  try {
    const client = new StreamChat('demo-key', { baseURL: server.url, allowServerSideConnect: true });
    const opened = await client.connectUser({ id: 'node-carol', name: 'Carol' }, client.devToken('node-carol'));
    assert.ok(opened.connection_id);
    assert.equal(opened.me.name, 'Carol');
    await client.disconnectUser();
  } finally {
    await server.stop();
    cleanup();
  }
});
