// Lookups and quotes, compared: the same app snippet runs with the official client's browser build and with ours, in
// one Chromium page against one server, and what the app observes must be the same: getMessagesById,
// getReactions, queryReactions paged with `next`, getPinnedMessages in both orders, and a quoted reply whose
// `quoted_message` follows the quoted message's edit and delete in the other user's `channel.state`.
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
