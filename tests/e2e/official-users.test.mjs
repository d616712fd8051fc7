// Compatibility: the official `stream-chat` client's user updates against our server. `partialUpdateUser` and
// `upsertUser` with a user token change its own user; `user.updated` brings the own view (privacy settings
// included) to the user and the public view to the others; privacy switched while connected stops typing and
// reads reaching others without a reconnect; another user's id, or a role, is refused with the protocol's code;
// queryUsers with presence hears users go offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { StreamChat } from 'stream-chat';
import { officialPair, startServer, tempDir, nextEvent as next } from './helpers.mjs';

const KEY = 'e2e-key';
const SECRET = 'e2e-secret';

test('official clients update and query users, switch privacy while connected, and follow presence', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({
    dev: false,
    apiKey: KEY,
    secret: SECRET,
    db: join(dir, 'chat.db'),
    args: ['--guests'],
  });
  const clients = [];
  try {
    const { alice, bob, aliceChannel, bobChannel } = await officialPair(server.url, 'users', { key: KEY, secret: SECRET });
    clients.push(bob);
    const connectionId = alice._getConnectionID();

    // Typing off, while connected.
    const ownUpdate = next(alice, 'user.updated', (e) => e.user.id === 'alice');
    const othersUpdate = next(bob, 'user.updated', (e) => e.user.id === 'alice');
    const answer = await alice.partialUpdateUser({
      id: 'alice',
      set: { name: 'Alice B', privacy_settings: { typing_indicators: { enabled: false } } },
    });
    assert.equal(answer.users.alice.name, 'Alice B');
    assert.equal(answer.users.alice.privacy_settings, undefined, 'the answer is the public view');
    assert.equal((await ownUpdate).user.privacy_settings.typing_indicators.enabled, false);
    const seen = await othersUpdate;
    assert.equal(seen.user.name, 'Alice B');
    assert.equal(seen.user.privacy_settings, undefined, 'others never see privacy settings');
    assert.equal(alice.user.privacy_settings.typing_indicators.enabled, false, 'client.user follows user.updated');

    // Read receipts off as well; then typing, a read and a marker message: bob gets only the message.
    const second = next(alice, 'user.updated', (e) => e.user.privacy_settings?.read_receipts?.enabled === false);
    await alice.partialUpdateUser({ id: 'alice', set: { privacy_settings: { read_receipts: { enabled: false } } } });
    await second;
    const quiet = [];
    const subscriptions = ['typing.start', 'typing.stop', 'message.read'].map((type) =>
      bobChannel.on(type, (event) => event.user?.id === 'alice' && quiet.push(type)),
    );
    // The official client checks the setting itself; the server drops such events from a user who switched off,
    // whichever client sends them.
    await aliceChannel.sendEvent({ type: 'typing.start' });
    await aliceChannel.markRead();
    const marker = next(bobChannel, 'message.new', (e) => e.message.text === 'marker');
    await aliceChannel.sendMessage({ text: 'marker' });
    await marker;
    subscriptions.forEach((s) => s.unsubscribe());
    assert.deepEqual(quiet, []);
    assert.equal(alice._getConnectionID(), connectionId, 'no reconnect');

    // Whole-object upsert of the own user; another user's id and a role change are refused.
    const upserted = await alice.upsertUser({ id: 'alice', name: 'Alice C' });
    assert.equal(upserted.users.alice.name, 'Alice C');
    await assert.rejects(alice.upsertUser({ id: 'bob', name: 'Mallory' }), (error) => error.code === 17 && error.status === 403);
    await assert.rejects(
      alice.partialUpdateUser({ id: 'alice', set: { role: 'admin' } }),
      (error) => error.code === 17 && error.status === 403,
    );
    await assert.rejects(
      alice.partialUpdateUser({ id: 'alice', unset: ['id'] }),
      (error) => error.code === 4 && error.status === 400,
    );

    // queryUsers with presence: bob hears alice go offline and come back; client.state.users follows.
    const { users } = await bob.queryUsers({ id: { $in: ['alice'] } }, { id: 1 }, { presence: true });
    assert.deepEqual(users.map((u) => [u.id, u.online]), [['alice', true]]);
    await assert.rejects(bob.queryUsers({ id: { $regex: 'a' } }), (error) => error.code === 4 && error.status === 400);
    const offline = next(bob, 'user.presence.changed', (e) => e.user.id === 'alice' && e.user.online === false);
    await alice.disconnectUser();
    await offline;
    assert.equal(bob.state.users.alice.online, false);

    const settings = await bob.getAppSettings();
    assert.equal(typeof settings.app.channel_configs.messaging, 'object');

    // A visitor becomes a guest: asking for alice's id gives a fresh one, never alice.
    const visitor = new StreamChat(KEY, { baseURL: server.url, allowServerSideConnect: true });
    await visitor.setGuestUser({ id: 'alice', name: 'Not Alice' });
    clients.push(visitor);
    assert.match(visitor.userID, /^guest-/);
    assert.equal(visitor.user.role, 'guest');

    // An anonymous visitor reads a public channel and writes nothing.
    const show = bob.channel('livestream', 'users-show', { members: ['bob'] });
    await show.watch();
    await show.sendMessage({ text: 'on air' });
    const anonymous = new StreamChat(KEY, { baseURL: server.url, allowServerSideConnect: true });
    await anonymous.connectAnonymousUser();
    clients.push(anonymous);
    const watched = anonymous.channel('livestream', 'users-show');
    await watched.watch();
    assert.deepEqual(watched.state.messages.map((m) => m.text), ['on air']);
    await assert.rejects(watched.sendMessage({ text: 'hi' }), (error) => error.code === 17 && error.status === 403);
  } finally {
    for (const client of clients) await client.disconnectUser();
    await server.stop();
    cleanup();
  }
});
