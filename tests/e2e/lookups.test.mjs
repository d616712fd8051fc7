// Lookups and quotes, compared: the same app snippet runs with the official client's browser build and with ours, in
// one Chromium page against one server, and what the app observes must be the same: getMessagesById,
// getReactions, queryReactions paged with `next`, getPinnedMessages in both orders, and a quoted reply whose
// `quoted_message` follows the quoted message's edit and delete in the other user's `channel.state`; threads listed and
// read (the official client wraps them in its `Thread` class, ours answers the `ThreadResponse`s).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonSuite } from './helpers.mjs';

const suite = comparisonSuite();

test('getMessagesById, getReactions, queryReactions, getPinnedMessages and quotes', async () => {
  const seen = await suite.both(async (kind) => {
    const { a, b, ours, theirs } = await pair(kind, [`${kind}-writer`, `${kind}-reader`], `${kind}-lookups`);
    const who = (userId) => userId?.replace(`${kind}-`, '');
    const { message: first } = await ours.sendMessage({ text: 'first' });
    const { message: second } = await ours.sendMessage({ text: 'second' });
    await theirs.sendReaction(first.id, { type: 'like' });
    await theirs.sendReaction(first.id, { type: 'love' });
    await ours.sendReaction(first.id, { type: 'like' });
    const observed = {};

    observed.byId = (await ours.getMessagesById([second.id, first.id, 'nope'])).messages.map((m) => m.text);
    observed.reactions = (await ours.getReactions(first.id, { limit: 2 })).reactions.map((r) => [r.type, who(r.user?.id)]);
    const page = await a.queryReactions(first.id, { type: 'like' }, { created_at: 1 }, { limit: 1 });
    const later = await a.queryReactions(first.id, { type: 'like' }, { created_at: 1 }, { limit: 1, next: page.next });
    observed.queried = [page.reactions.map((r) => who(r.user_id ?? r.user?.id)), typeof page.next, later.reactions.map((r) => who(r.user?.id)), later.next ?? null];

    await a.pinMessage(first);
    await a.pinMessage(second);
    observed.pinned = (await ours.getPinnedMessages({ limit: 10 })).messages.map((m) => m.text);
    observed.pinnedOldest = (await ours.getPinnedMessages({ limit: 1 }, { pinned_at: 1 })).messages.map((m) => m.text);

    const arrived = next(theirs, 'message.new');
    await ours.sendMessage({ text: 'quoting', quoted_message_id: second.id });
    observed.quotedOnArrival = (await arrived).message.quoted_message?.text;
    const quoting = () => theirs.state.messages.find((m) => m.text === 'quoting');
    observed.quotedInState = quoting()?.quoted_message?.text;
    const edited = next(theirs, 'message.updated', (e) => e.message?.id === second.id);
    await a.updateMessage({ id: second.id, text: 'second, edited' });
    await edited;
    observed.afterEdit = quoting()?.quoted_message?.text;
    const deleted = next(theirs, 'message.deleted');
    await a.deleteMessage(second.id);
    await deleted;
    observed.afterDelete = { type: quoting()?.quoted_message?.type, attachments: quoting()?.quoted_message?.attachments };
    observed.reloaded = (await theirs.query({ messages: { limit: 10 } })).messages.find((m) => m.text === 'quoting')?.quoted_message?.type;
    await a.disconnectUser();
    await b.disconnectUser();
    return observed;
  });
  const official = seen.official;
  assert.deepEqual(official.byId, ['second', 'first']);
  assert.deepEqual(official.reactions, [['like', 'writer'], ['love', 'reader']]);
  assert.deepEqual(official.queried, [['reader'], 'string', ['writer'], null]);
  assert.deepEqual(official.pinned, ['second', 'first']);
  assert.deepEqual(official.pinnedOldest, ['first']);
  assert.equal(official.quotedOnArrival, 'second');
  assert.equal(official.afterEdit, 'second, edited');
  assert.deepEqual(official.afterDelete, { type: 'deleted', attachments: [] });
  assert.equal(official.reloaded, 'deleted');
  assert.deepEqual(seen.ours, seen.official);
});

test('queryThreads, getThread and a thread read that leaves the channel read alone', async () => {
  const seen = await suite.both(async (kind) => {
    const [writer, reader] = [`${kind}-tw`, `${kind}-tr`];
    const { a, b, ours, theirs } = await pair(kind, [writer, reader], `${kind}-threads`);
    const { message: parent } = await ours.sendMessage({ text: 'a topic' });
    for (const text of ['one', 'two']) await theirs.sendMessage({ text, parent_id: parent.id });
    // Ours answers ThreadResponse objects; the official client wraps them in its Thread class.
    const view = (thread) => {
      if (kind === 'ours') {
        return {
          id: thread.parent_message_id, parent: thread.parent_message.text, count: thread.reply_count,
          replies: thread.latest_replies.map((r) => r.text), unread: thread.read.find((r) => r.user.id === writer)?.unread_messages,
        };
      }
      const state = thread.state.getLatestValue();
      return {
        id: thread.id, parent: state.parentMessage.text, count: state.replyCount,
        replies: state.replies.map((r) => r.text), unread: state.read[writer]?.unreadMessageCount,
      };
    };
    const observed = {};
    const listed = await a.queryThreads({ limit: 5 });
    observed.listed = listed.threads.map(view).map((t) => ({ ...t, id: t.id === parent.id }));
    const read = next(theirs, 'message.read');
    const lastReadBefore = theirs.state.read[writer]?.last_read?.getTime();
    await ours.markRead({ thread_id: parent.id });
    observed.readEvent = (await read).thread?.parent_message_id === parent.id;
    observed.channelReadUnchanged = theirs.state.read[writer]?.last_read?.getTime() === lastReadBefore;
    const one = await a.getThread(parent.id);
    observed.afterRead = view(kind === 'ours' ? one.thread : one).unread;
    await a.disconnectUser();
    await b.disconnectUser();
    return observed;
  });
  const official = seen.official;
  assert.deepEqual(official.listed, [{ id: true, parent: 'a topic', count: 2, replies: ['one', 'two'], unread: 2 }]);
  assert.equal(official.readEvent, true);
  assert.equal(official.channelReadUnchanged, true);
  assert.equal(official.afterRead, 0);
  assert.deepEqual(seen.ours, seen.official);
});
