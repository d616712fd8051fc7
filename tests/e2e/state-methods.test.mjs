// The `channel.state` methods optimistic UIs call (`addMessageSorted`, `findMessage`, `removeMessage`) and the
// `latestMessages` / `isUpToDate` they read, run the same way on the official client and on ours: an optimistic
// message shows at once with `status: 'sending'`, the server's copy replaces it (once, `received`), and a removed
// message is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { connectOfficial, launchBrowser, openSdkPage, startServer, tempDir, nextEvent as next } from './helpers.mjs';

const KEY = 'demo-key';
const SECRET = 'e2e-secret';

/** The steps, run against either client's channel (`wait(id)` resolves once the server's copy is in). */
const steps = async (channel, wait, tag) => {
  const seen = {};
  const id = `optimistic-${tag}`;
  const local = { id, text: 'on its way', status: 'sending', created_at: new Date(), user: { id: 'alice' } };
  channel.state.addMessageSorted(local);
  const found = channel.state.findMessage(id);
  seen.optimistic = { status: found?.status, text: found?.text, inList: channel.state.messages.filter((m) => m.id === id).length };
  seen.latestIsMessages = channel.state.latestMessages.map((m) => m.id).join() === channel.state.messages.map((m) => m.id).join();
  seen.isUpToDate = channel.state.isUpToDate;
  await channel.sendMessage({ id, text: 'on its way' });
  await wait(id);
  const landed = channel.state.messages.filter((m) => m.id === id);
  seen.landed = { copies: landed.length, status: landed[0]?.status };
  const { message: other } = await channel.sendMessage({ text: 'to be removed locally' });
  await wait(other.id);
  seen.removed = channel.state.removeMessage({ id: other.id });
  seen.gone = channel.state.findMessage(other.id) === undefined && !channel.state.messages.some((m) => m.id === other.id);
  seen.removedAgain = channel.state.removeMessage({ id: other.id });
  // addIfDoesNotExist: false only replaces.
  channel.state.addMessageSorted({ id: 'never-sent', text: 'x', created_at: new Date(), user: { id: 'alice' } }, false, false);
  seen.notAdded = channel.state.findMessage('never-sent') === undefined;
  return seen;
};

test('state.addMessageSorted / findMessage / removeMessage / latestMessages / isUpToDate as the official client has them', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db'), apiKey: KEY, secret: SECRET });
  const browser = await launchBrowser();
  const official = await connectOfficial(server.url, { id: 'alice' }, { key: KEY, secret: SECRET });
  try {
    const channel = official.channel('messaging', 'optimistic', { members: ['alice'] });
    await channel.watch();
    const theirs = await steps(
      channel,
      (id) => channel.state.messages.find((m) => m.id === id)?.status === 'received' ? null : next(channel, 'message.new', (e) => e.message.id === id),
      'official',
    );

    const page = await openSdkPage(browser, server.url);
    const ours = await page.evaluate(
      async ({ source }) => {
        const client = await connectAs('alice');
        const channel = client.channel('messaging', 'optimistic');
        await channel.watch();
        const wait = async (id) => {
          const deadline = Date.now() + 10_000;
          while (channel.state.messages.find((m) => m.id === id)?.status !== 'received') {
            if (Date.now() > deadline) throw new Error(`${id} never arrived`);
            await new Promise((resolve) => setTimeout(resolve, 10));
          }
        };
        return eval(`(${source})`)(channel, wait, 'ours');
      },
      { source: steps.toString() },
    );
    assert.deepEqual(theirs.optimistic, { status: 'sending', text: 'on its way', inList: 1 });
    assert.deepEqual(theirs.landed, { copies: 1, status: 'received' });
    assert.equal(theirs.removed, true);
    assert.deepEqual(ours, theirs);
  } finally {
    await official.disconnectUser();
    await browser.close();
    await server.stop();
    cleanup();
  }
});

test('a message a rebuild left out stays out: addMessageSorted(…, addIfDoesNotExist = false) does not bring it back', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  try {
    const page = await openSdkPage(browser, server.url);
    const seen = await page.evaluate(async () => {
      const client = await connectAs('alice');
      const channel = client.channel('messaging', 'rebuilt', { members: ['alice'] });
      await channel.watch();
      // Both messages' events are in before the query, so none is replayed onto its answer.
      const arrived = new Promise((resolve) => channel.on('message.new', (e) => e.message.text === 'newest' && resolve()));
      const { message: older } = await channel.sendMessage({ text: 'older' });
      await channel.sendMessage({ text: 'newest' });
      await arrived;
      // The newest page alone rebuilds the state: the older message leaves it.
      await channel.query({ messages: { limit: 1 } });
      const after = channel.state.messages.map((m) => m.text);
      channel.state.addMessageSorted({ ...older, text: 'older, edited' }, false, false);
      const result = { after, then: channel.state.messages.map((m) => m.text) };
      await client.disconnectUser();
      return result;
    });
    assert.deepEqual(seen, { after: ['newest'], then: ['newest'] });
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});
