// Channel management and custom events, compared: the same app snippet runs with the official client's browser
// build and with ours, in one Chromium page against one server, and what the app observes must be the same:
// `channel.data` after update / updatePartial and their `channel.updated`, own_capabilities by role, slow mode's
// code 60, truncate emptying `state.messages`, hide / show and `queryChannels`, custom events on `channel.on`,
// `client.dispatchEvent`, and a deleted channel leaving `client.activeChannels`.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { launchBrowser, openComparisonPage, startServer, tempDir } from './helpers.mjs';

let dir, cleanup, server, browser, both;

before(async () => {
  ({ dir, cleanup } = tempDir());
  server = await startServer({ db: join(dir, 'chat.db') });
  browser = await launchBrowser();
  ({ both } = await openComparisonPage(browser, server.url, dir));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  cleanup?.();
});

test('update, updatePartial, capabilities, slow mode, truncate, hide/show, custom events and delete', async () => {
  const seen = await both(async (kind) => {
    const [owner, member] = [`${kind}-owner`, `${kind}-member`];
    const a = make(kind);
    await a.connectUser({ id: owner }, a.devToken(owner));
    const b = make(kind);
    await b.connectUser({ id: member }, b.devToken(member));
    const id = `${kind}-managed`;
    const ours = a.channel('messaging', id, { members: [owner, member] });
    await ours.watch();
    const theirs = b.channel('messaging', id);
    await theirs.watch();
    const observed = {
      ownerCaps: ['freeze-channel', 'delete-channel', 'send-message'].filter((c) => ours.data.own_capabilities.includes(c)),
      memberCaps: ['freeze-channel', 'delete-channel', 'send-message'].filter((c) => theirs.data.own_capabilities.includes(c)),
      replies: theirs.data.config.replies,
    };

    let updated = next(theirs, 'channel.updated');
    const answer = await ours.update({ name: 'Renamed', color: 'blue' }, { text: 'renamed it' });
    observed.answerName = answer.channel.name;
    observed.ownerDataName = ours.data.name;
    await updated;
    observed.memberData = { name: theirs.data.name, color: theirs.data.color, caps: Array.isArray(theirs.data.own_capabilities) };

    updated = next(theirs, 'channel.updated');
    await theirs.updatePartial({ set: { topic: 'rust' }, unset: ['color'] });
    await updated;
    observed.afterPartial = { topic: theirs.data.topic, color: theirs.data.color ?? null, name: theirs.data.name };

    await ours.enableSlowMode(30);
    await theirs.sendMessage({ text: 'first' });
    try {
      await theirs.sendMessage({ text: 'second' });
      observed.slowMode = 'sent';
    } catch (error) {
      observed.slowMode = error.code;
    }
    await ours.disableSlowMode();

    const truncated = next(theirs, 'channel.truncated');
    await ours.truncate();
    await truncated;
    observed.afterTruncate = theirs.state.messages.length;

    const hidden = next(b, 'channel.hidden');
    await theirs.hide();
    await hidden;
    observed.hiddenFlag = theirs.data.hidden;
    observed.listedWhileHidden = (await b.queryChannels({ cid: theirs.cid })).length;
    const visible = next(b, 'channel.visible');
    await theirs.show();
    await visible;
    observed.listedAfterShow = (await b.queryChannels({ cid: theirs.cid })).length;
    observed.visibleFlag = theirs.data.hidden;

    const custom = next(ours, 'friendship_request');
    await theirs.sendEvent({ type: 'friendship_request', text: 'hi' });
    const got = await custom;
    observed.custom = { text: got.text, user: got.user?.id === member, cid: got.cid === ours.cid };

    const local = next(a, 'my.local');
    a.dispatchEvent({ type: 'my.local', value: 7 });
    observed.dispatched = (await local).value;

    observed.activeBefore = Boolean(b.activeChannels[theirs.cid]);
    observed.byId = b.getChannelById('messaging', id, {}) === theirs;
    const deleted = next(b, 'channel.deleted');
    await ours.delete();
    await deleted;
    observed.activeAfter = Boolean(b.activeChannels[theirs.cid]);
    await a.disconnectUser();
    await b.disconnectUser();
    return observed;
  });
  assert.deepEqual(seen.official.ownerCaps, ['freeze-channel', 'delete-channel', 'send-message']);
  assert.equal(seen.official.slowMode, 60, 'the official client sees slow mode');
  assert.equal(seen.official.afterTruncate, 0);
  assert.deepEqual(seen.ours, seen.official);
});
