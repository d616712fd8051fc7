// Edits, deletes, threads and members: the official client's updateMessage / partialUpdateMessage /
// deleteMessage / getMessage / getReplies / addMembers / removeMembers against our server, and interop both ways with our SDK in Chromium:
// an edit, delete or member change made by one client is in the other's channel state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchBrowser, officialPair, openSdkPage, startServer, tempDir, nextEvent as next } from './helpers.mjs';

test('edits, deletes and members between the official client and ours', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db'), apiKey: 'demo-key', secret: 'e2e-secret' });
  const browser = await launchBrowser();
  const { alice, bob, aliceChannel, bobChannel } = await officialPair(server.url, 'edits', {
    key: 'demo-key',
    secret: 'e2e-secret',
  });
  try {
    // Official ↔ official.
    const { message } = await aliceChannel.sendMessage({ text: 'helo' });
    const updated = next(bobChannel, 'message.updated');
    await alice.updateMessage({ id: message.id, text: 'hello' });
    await updated;
    assert.equal(bobChannel.state.messages.find((m) => m.id === message.id).text, 'hello');
    const partial = next(bobChannel, 'message.updated');
    await alice.partialUpdateMessage(message.id, { set: { text: 'hello!' } });
    await partial;
    assert.equal((await bob.getMessage(message.id)).message.text, 'hello!');
    await assert.rejects(bob.updateMessage({ id: message.id, text: 'mine' }), (e) => e.code === 17 && e.status === 403);
    await assert.rejects(alice.deleteMessage(message.id, true), (e) => e.code === 17, 'hard delete needs a server token');
    const deleted = next(bobChannel, 'message.deleted');
    await alice.deleteMessage(message.id);
    await deleted;
    assert.equal(bobChannel.state.messages.find((m) => m.id === message.id).type, 'deleted');

    // Ours (in Chromium, as bob's second connection) ↔ official alice.
    const page = await browser.newPage();
    await page.goto(`${server.url}/metrics`);
    await page.evaluate(async () => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
      await client.connectUser({ id: 'bob' }, client.devToken('bob'));
      const channel = client.channel('messaging', 'edits');
      await channel.watch();
      Object.assign(window, { client, channel });
    });
    const second = await aliceChannel.sendMessage({ text: 'from alice' });
    await page.waitForFunction((id) => window.channel.state.messages.some((m) => m.id === id), second.message.id);
    await alice.updateMessage({ id: second.message.id, text: 'edited by alice' });
    await page.waitForFunction(
      (id) => window.channel.state.messages.find((m) => m.id === id)?.text === 'edited by alice',
      second.message.id,
    );
    const ours = await page.evaluate(() => window.channel.sendMessage({ text: 'from our sdk' }));
    const seen = next(aliceChannel, 'message.updated', (e) => e.message.id === ours.message.id);
    await page.evaluate((id) => window.client.updateMessage({ id, text: 'edited by our sdk' }), ours.message.id);
    await seen;
    assert.equal(aliceChannel.state.messages.find((m) => m.id === ours.message.id).text, 'edited by our sdk');
    const gone = next(aliceChannel, 'message.deleted', (e) => e.message.id === ours.message.id);
    await page.evaluate((id) => window.client.deleteMessage(id), ours.message.id);
    await gone;
    assert.equal(aliceChannel.state.messages.find((m) => m.id === ours.message.id).type, 'deleted');

    // Threads: the official client's replies and getReplies; the reply stays out of both clients' messages.
    const question = await aliceChannel.sendMessage({ text: 'a question' });
    const answered = next(aliceChannel, 'message.new', (e) => e.message.parent_id === question.message.id);
    const reply = await bobChannel.sendMessage({ text: 'an answer', parent_id: question.message.id });
    await answered;
    const { messages: replies } = await aliceChannel.getReplies(question.message.id, { limit: 10 });
    assert.deepEqual(replies.map((m) => m.text), ['an answer']);
    assert.ok(!aliceChannel.state.messages.some((m) => m.id === reply.message.id));
    const threadInOurs = await page.evaluate(async (id) => {
      await window.channel.getReplies(id, { limit: 10 });
      return [window.channel.state.messages.some((m) => m.parent_id === id), window.channel.state.threads[id].length];
    }, question.message.id);
    assert.deepEqual(threadInOurs, [false, 1]);
    // A reply also shown in the channel comes in a channel's page: a client that loads the channel afterwards has
    // it in `messages` and in its thread (a page holding a reply is kept message by message, the others at once).
    const shown = await bobChannel.sendMessage({ text: 'in the channel too', parent_id: question.message.id, show_in_channel: true });
    const loaded = await page.evaluate(async ([parent, id]) => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin, shareConnection: false });
      await client.connectUser({ id: 'bob' }, client.devToken('bob'));
      const channel = client.channel('messaging', 'edits');
      await channel.watch();
      const found = [channel.state.messages.some((m) => m.id === id), channel.state.threads[parent].some((m) => m.id === id)];
      await client.disconnectUser();
      return found;
    }, [question.message.id, shown.message.id]);
    assert.deepEqual(loaded, [true, true], 'in messages and in its thread');
    // A hard delete (a server-side client's) takes the reply out of our threads too.
    const { StreamChat } = await import('stream-chat');
    const serverSide = new StreamChat('demo-key', 'e2e-secret', { baseURL: server.url });
    await serverSide.deleteMessage(reply.message.id, true);
    await page.waitForFunction(
      ([parent, id]) => !(window.channel.state.threads[parent] ?? []).some((m) => m.id === id),
      [question.message.id, reply.message.id],
      { timeout: 10_000 },
    );

    // Reactions: official → ours and ours → official, own_reactions right on each side.
    const target = await aliceChannel.sendMessage({ text: 'react here' });
    await page.waitForFunction((id) => window.channel.state.messages.some((m) => m.id === id), target.message.id);
    const liked = next(bobChannel, 'reaction.new');
    await aliceChannel.sendReaction(target.message.id, { type: 'like' });
    await liked;
    await page.waitForFunction(
      (id) => window.channel.state.messages.find((m) => m.id === id)?.reaction_counts?.like === 1,
      target.message.id,
    );
    const loved = next(aliceChannel, 'reaction.new', (e) => e.reaction.type === 'love');
    await page.evaluate((id) => window.channel.sendReaction(id, { type: 'love' }), target.message.id);
    await loved;
    const official = aliceChannel.state.messages.find((m) => m.id === target.message.id);
    assert.deepEqual(official.reaction_counts, { like: 1, love: 1 });
    assert.deepEqual(official.own_reactions.map((r) => r.type), ['like'], "alice's own reactions are hers only");
    const oursOwn = await page.evaluate(
      (id) => window.channel.state.messages.find((m) => m.id === id).own_reactions.map((r) => r.type),
      target.message.id,
    );
    assert.deepEqual(oursOwn, ['love']);

    // Unread: the official client's markUnread, getUnreadCount, markAllRead.
    const last = await aliceChannel.sendMessage({ text: 'unread me' });
    await bobChannel.markRead();
    const unreadEvent = next(bob, 'notification.mark_unread');
    await bobChannel.markUnread({ message_id: last.message.id });
    assert.equal((await unreadEvent).unread_messages, 1);
    assert.equal((await bob.getUnreadCount()).total_unread_count, 1);
    await bob.markAllRead();
    assert.equal((await bob.getUnreadCount()).total_unread_count, 0);

    // Pages: the official client asks for older and newer pages with the pagination options our server serves.
    const all = (await bobChannel.query({ messages: { limit: 300 } })).messages.map((m) => m.id);
    const older = await bobChannel.query({ messages: { limit: 2, id_lt: all[all.length - 1] } });
    assert.deepEqual(older.messages.map((m) => m.id), all.slice(-3, -1));
    const newer = await bobChannel.query({ messages: { limit: 2, id_gt: all[0] } });
    assert.deepEqual(newer.messages.map((m) => m.id), all.slice(1, 3));

    // Members: the official client adds and removes; the other official client and ours follow.
    const added = next(bobChannel, 'member.added', (e) => e.member.user_id === 'carol');
    await aliceChannel.addMembers(['carol']);
    await added;
    assert.ok(bobChannel.state.members.carol, 'the official state has the new member');
    await page.waitForFunction(() => window.channel.state.members.carol !== undefined);
    const removed = next(bobChannel, 'member.removed', (e) => e.member.user_id === 'carol');
    await aliceChannel.removeMembers(['carol']);
    await removed;
    assert.equal(bobChannel.state.members.carol, undefined);
    await page.waitForFunction(() => window.channel.state.members.carol === undefined);
    await assert.rejects(
      new Promise((resolve, reject) => page.evaluate(() => window.channel.addMembers(['Not Valid'])).then(resolve, reject)),
      /code 4/,
    );
    await page.evaluate(() => window.client.disconnectUser());
  } finally {
    await alice.disconnectUser();
    await bob.disconnectUser();
    await browser.close();
    await server.stop();
    cleanup();
  }
});

test('updateMessage sends what the official client sends: mentions as ids, pinned from pinned_at, no server fields', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db'), apiKey: 'demo-key', secret: 'e2e-secret' });
  const browser = await launchBrowser();
  const { alice, bob, aliceChannel } = await officialPair(server.url, 'update-shape', {
    key: 'demo-key',
    secret: 'e2e-secret',
  });
  try {
    const { message } = await aliceChannel.sendMessage({ text: 'to be edited' });
    // A message as an app holds it, edited: the same object (with Dates) goes to both clients.
    const edited = (id) => ({
      id,
      text: 'edited, mentioning bob',
      mentioned_users: [{ id: 'bob', name: 'Bob' }, 'carol'],
      pinned_at: new Date('2026-01-02T03:04:05Z'),
      created_at: new Date('2026-01-01T00:00:00Z'),
      updated_at: new Date('2026-01-01T00:00:00Z'),
      user: { id: 'alice' },
      type: 'regular',
      html: '<p>to be edited</p>',
      reply_count: 0,
      latest_reactions: [],
      own_reactions: [],
      reaction_counts: {},
      i18n: {},
      quoted_message: null,
      status: 'received',
      color: 'blue',
    });
    let theirs;
    alice.axiosInstance.interceptors.request.use((config) => {
      if (config.method === 'post' && config.url.endsWith(`/messages/${message.id}`)) theirs = JSON.parse(JSON.stringify(config.data));
      return config;
    });
    await alice.updateMessage(edited(message.id));

    const page = await openSdkPage(browser, server.url);
    let ours;
    await page.route(`**/messages/${message.id}?**`, async (route) => {
      if (route.request().method() === 'POST') ours = JSON.parse(route.request().postData());
      await route.continue();
    });
    await page.evaluate(
      async ({ id, make }) => {
        const client = await connectAs('alice');
        await client.updateMessage(eval(`(${make})`)(id));
        await client.disconnectUser();
      },
      { id: message.id, make: edited.toString() },
    );
    assert.ok(theirs, 'the official client sent its update');
    assert.deepEqual(theirs.message.mentioned_users, ['bob', 'carol']);
    assert.equal(theirs.message.pinned, true);
    assert.deepEqual(ours, theirs);
  } finally {
    await alice.disconnectUser();
    await bob.disconnectUser();
    await browser.close();
    await server.stop();
    cleanup();
  }
});
