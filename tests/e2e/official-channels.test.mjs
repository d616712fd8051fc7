// Compatibility: two official `stream-chat` clients (alice, bob) in a channel on our server see each other's
// messages, typing and reads; alice's privacy settings switch each off; and both recover by themselves when the
// server is killed (-9) and restarted on the same database, with acknowledged messages still there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connectOfficial, officialPair, startServer, tempDir, nextEvent as next } from './helpers.mjs';

const KEY = 'e2e-key';
const SECRET = 'e2e-secret';

const connect = (url, user) => connectOfficial(url, user, { key: KEY, secret: SECRET });

/** Collects every event of the given types on `channel` until `stop()`. */
function record(channel, types) {
  const seen = [];
  const subscriptions = types.map((type) => channel.on(type, (event) => seen.push(event)));
  return { seen, stop: () => subscriptions.forEach((s) => s.unsubscribe()) };
}

test('official clients exchange messages, typing and reads, and privacy settings switch them off', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ dev: false, apiKey: KEY, secret: SECRET, db: join(dir, 'chat.db') });
  const clients = [];
  try {
    const { alice, bob, aliceChannel, bobChannel } = await officialPair(server.url, 'general', { key: KEY, secret: SECRET });
    clients.push(alice, bob);

    const typingStart = next(bobChannel, 'typing.start', (e) => e.user.id === 'alice');
    await aliceChannel.keystroke();
    await typingStart;
    assert.ok(bobChannel.state.typing.alice, 'bob sees alice typing');

    const typingStop = next(bobChannel, 'typing.stop', (e) => e.user.id === 'alice');
    await aliceChannel.stopTyping();
    await typingStop;

    const messageNew = next(bobChannel, 'message.new');
    const sent = await aliceChannel.sendMessage({ text: 'hello bob' });
    const received = await messageNew;
    assert.equal(received.message.id, sent.message.id);
    assert.equal(received.message.text, 'hello bob');
    assert.equal(bobChannel.countUnread(), 1);

    const read = next(bobChannel, 'message.read', (e) => e.user.id === 'alice');
    const bobsMessage = next(aliceChannel, 'message.new');
    await bobChannel.sendMessage({ text: 'hi alice' });
    await bobsMessage;
    await aliceChannel.markRead();
    await read;
    assert.ok(bobChannel.state.read.alice, "bob's state.read has alice");
    assert.equal(bobChannel.state.read.alice.unread_messages, 0);

    // Alice switches both off (reconnecting with new privacy_settings): bob sees no typing and no read.
    await alice.disconnectUser();
    const private_ = await connect(server.url, {
      id: 'alice',
      privacy_settings: { typing_indicators: { enabled: false }, read_receipts: { enabled: false } },
    });
    clients.push(private_);
    assert.equal(private_.user.privacy_settings.typing_indicators.enabled, false);
    const privateChannel = private_.channel('messaging', 'general');
    await privateChannel.watch();
    const quiet = record(bobChannel, ['typing.start', 'typing.stop', 'message.read']);
    await privateChannel.keystroke();
    await privateChannel.stopTyping();
    // The official client sends no typing events at all with typing indicators off; prove it at the server too.
    const typingResponse = await private_.post(`${server.url}/channels/messaging/general/event`, {
      event: { type: 'typing.start' },
    });
    assert.equal(typingResponse.event.type, 'typing.start', 'accepted');
    const bobsNext = next(privateChannel, 'message.new');
    await bobChannel.sendMessage({ text: 'are you there?' });
    await bobsNext;
    await privateChannel.markRead();
    // A message after all of that arrives at bob; frames are ordered, so nothing suppressed is still on its way.
    const marker = next(bobChannel, 'message.new', (e) => e.message.text === 'marker');
    await privateChannel.sendMessage({ text: 'marker' });
    await marker;
    quiet.stop();
    assert.deepEqual(quiet.seen.map((e) => e.type), []);
    const bobsView = await bobChannel.query({ state: true });
    assert.equal(bobsView.read.find((r) => r.user.id === 'alice'), undefined, 'alice is absent from read[]');
  } finally {
    await Promise.all(clients.map((client) => client.disconnectUser().catch(() => {})));
    await server.stop();
    cleanup();
  }
});

test('official clients recover by themselves after the server is killed and restarted', async () => {
  const { dir, cleanup } = tempDir();
  const db = join(dir, 'chat.db');
  let server = await startServer({ dev: false, apiKey: KEY, secret: SECRET, db });
  const clients = [];
  try {
    const alice = await connect(server.url, { id: 'alice' });
    const bob = await connect(server.url, { id: 'bob' });
    clients.push(alice, bob);
    const aliceChannel = alice.channel('messaging', 'general', { members: ['alice', 'bob'] });
    await aliceChannel.watch();
    const bobChannel = bob.channel('messaging', 'general', { members: ['alice', 'bob'] });
    await bobChannel.watch();
    const acknowledged = await aliceChannel.sendMessage({ text: 'before the crash' });

    const recovered = Promise.all(
      [alice, bob].map(
        (client) =>
          new Promise((resolve) => {
            const subscription = client.on('connection.recovered', () => {
              subscription.unsubscribe();
              resolve();
            });
          }),
      ),
    );
    await server.kill();
    server = await startServer({ dev: false, apiKey: KEY, secret: SECRET, db, port: server.port });
    await recovered;

    assert.ok(
      bobChannel.state.messages.some((m) => m.id === acknowledged.message.id),
      'the acknowledged message survived kill -9 and is in the recovered state',
    );
    const messageNew = next(bobChannel, 'message.new');
    await aliceChannel.sendMessage({ text: 'after the restart' });
    assert.equal((await messageNew).message.text, 'after the restart');
  } finally {
    await Promise.all(clients.map((client) => client.disconnectUser().catch(() => {})));
    await server.stop();
    cleanup();
  }
});
