// Unread counting, compared with the official client as the same user: a silent message and a thread-only reply
// are shown (or filed under their thread) but unread for nobody, live and in the server's count after a re-query;
// the user's own messages move neither the unread count nor `lastRead()`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connectOfficial, launchBrowser, openSdkPage, startServer, tempDir, nextEvent as next } from './helpers.mjs';

const KEY = 'demo-key';
const SECRET = 'e2e-secret';
const CID = 'messaging:unread-kinds';

test('silent messages, thread-only replies and own messages: unread as the official client counts them', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db'), apiKey: KEY, secret: SECRET });
  const browser = await launchBrowser();
  const official = await connectOfficial(server.url, { id: 'alice' }, { key: KEY, secret: SECRET });
  const bob = await connectOfficial(server.url, { id: 'bob' }, { key: KEY, secret: SECRET });
  try {
    const bobChannel = bob.channel('messaging', 'unread-kinds', { members: ['alice', 'bob'] });
    await bobChannel.watch();
    const officialChannel = official.channel('messaging', 'unread-kinds');
    await officialChannel.watch();
    await officialChannel.markRead();

    const page = await openSdkPage(browser, server.url);
    await page.evaluate(async () => {
      const client = await connectAs('alice');
      const channel = client.channel('messaging', 'unread-kinds');
      await channel.watch();
      window.channel = channel;
    });

    const { message: parent } = await bobChannel.sendMessage({ text: 'counts' });
    await bobChannel.sendMessage({ text: 'silent', silent: true });
    await bobChannel.sendMessage({ text: 'in the thread only', parent_id: parent.id });
    const own = next(officialChannel, 'message.new', (e) => e.user.id === 'alice');
    const last = await official.channel('messaging', 'unread-kinds').sendMessage({ text: 'my own' });
    await own;
    await page.waitForFunction((id) => window.channel.state.messages.some((m) => m.id === id), last.message.id);

    const observe = (channel) => ({
      unreadCount: channel.state.unreadCount,
      countUnread: channel.countUnread(),
      countUnreadSinceEpoch: channel.countUnread(new Date(0)),
      lastRead: channel.lastRead()?.getTime() ?? null,
      silentFlag: channel.state.messages.find((m) => m.text === 'silent')?.silent,
      inChannel: channel.state.messages.map((m) => m.text),
    });
    const theirs = observe(officialChannel);
    const ours = await page.evaluate(`(${observe})(window.channel)`);
    assert.equal(theirs.unreadCount, 1, 'the official client counts one unread message');
    assert.deepEqual(ours, theirs, 'live: our SDK counts as the official client does');

    // The server's count agrees, on a fresh query of both.
    await officialChannel.query({ state: true });
    const queried = await page.evaluate(async () => {
      await window.channel.query({ state: true });
      return window.channel.state.unreadCount;
    });
    assert.deepEqual([officialChannel.state.unreadCount, queried], [1, 1], 'after a re-query');
  } finally {
    await official.disconnectUser();
    await bob.disconnectUser();
    await browser.close();
    await server.stop();
    cleanup();
  }
});

test('countUnread reads the messages with no borrow held: a getter that calls back into the SDK works', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  try {
    const page = await openSdkPage(browser, server.url);
    const seen = await page.evaluate(async () => {
      const [alice, bob] = [await connectAs('alice'), await connectAs('bob')];
      const channel = alice.channel('messaging', 'reentrant', { members: ['alice', 'bob'] });
      await channel.watch();
      const bobs = bob.channel('messaging', 'reentrant');
      await bobs.watch();
      const arrived = new Promise((resolve) => channel.on('message.new', resolve));
      await bobs.sendMessage({ text: 'from bob' });
      await arrived;
      // An app's own property on a message in the state, whose getter asks the SDK something.
      // (Guarded against itself: countUnreadMentions reads this very property again.)
      let inner;
      let inside = false;
      Object.defineProperty(channel.state.messages[0], 'silent', {
        get() {
          if (inside) return false;
          inside = true;
          inner = [channel.countUnread(), channel.countUnreadMentions()];
          inside = false;
          return false;
        },
      });
      const outer = channel.countUnread(new Date(0));
      await alice.disconnectUser();
      await bob.disconnectUser();
      return { outer, inner };
    });
    assert.deepEqual(seen, { outer: 1, inner: [1, 0] });
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});
