// Compatibility of our long-poll transport: behind an nginx that does not pass WebSocket upgrades, the official
// `stream-chat` client with `enableWSFallback: true` falls back to long-polling against our server, connects and
// receives messages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StreamChat } from 'stream-chat';
import { metric, startProxy, startServer, tempDir } from './helpers.mjs';

test('official client falls back to long-poll through a proxy that blocks WebSockets', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const proxy = await startProxy({ upstreamPort: server.port });
  const alice = new StreamChat('demo-key', { baseURL: proxy.url, enableWSFallback: true, allowServerSideConnect: true });
  const bob = new StreamChat('demo-key', { baseURL: server.url, allowServerSideConnect: true });
  try {
    const transports = [];
    alice.on('transport.changed', (event) => transports.push(event.mode));
    const opened = await alice.connectUser({ id: 'alice', name: 'Alice' }, alice.devToken('alice'));
    assert.ok(opened.connection_id);
    assert.equal(opened.me.name, 'Alice');
    assert.deepEqual(transports, ['longpoll']);
    assert.equal(await metric(server.url, 'chat_connections{transport="longpoll"}'), 1);

    const alices = alice.channel('messaging', 'fallback', { members: ['alice', 'bob'] });
    await alices.watch();
    await bob.connectUser({ id: 'bob' }, bob.devToken('bob'));
    const received = new Promise((resolve) => alices.on('message.new', resolve));
    await bob.channel('messaging', 'fallback').sendMessage({ text: 'through the proxy' });
    assert.equal((await received).message.text, 'through the proxy');
  } finally {
    await alice.disconnectUser().catch(() => {});
    await bob.disconnectUser().catch(() => {});
    await proxy.stop();
    await server.stop();
    cleanup();
  }
});
