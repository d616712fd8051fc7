// Channel management, moderation, pins and custom events, compared: the same app snippet runs with the official client's browser
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

    const members = await theirs.queryMembers({}, { user_id: -1 });
    observed.members = members.members.map((m) => m.user_id.replace(`${kind}-`, ''));
    observed.named = (await theirs.queryMembers({ id: { $in: [owner] } })).members.length;

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
    // The official client adds a sent message to `state` when its `message.new` arrives, which may come after the
    // REST answer: wait for it.
    const echoed = next(theirs, 'message.new');
    await theirs.sendMessage({ text: 'before clearing' });
    await echoed;
    observed.beforeClearing = theirs.state.messages.length;
    const cleared = next(b, 'channel.hidden');
    await theirs.hide(null, true);
    await cleared;
    observed.afterClearing = theirs.state.messages.length;
    await theirs.show();

    const promoted = next(theirs, 'member.updated');
    await ours.addModerators([member]);
    observed.promoted = (await promoted).member?.channel_role;
    observed.moderatorCaps = (await theirs.query()).channel.own_capabilities.includes('delete-any-message');
    const demoted = next(theirs, 'member.updated');
    await ours.demoteModerators([member]);
    observed.demoted = (await demoted).member?.channel_role;

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
  assert.ok(seen.official.beforeClearing > 0);
  assert.equal(seen.official.afterClearing, 0, 'hide(null, true) clears the messages');
  assert.equal(seen.official.promoted, 'channel_moderator');
  assert.deepEqual(seen.ours, seen.official);
});

test('mutes, muteStatus, blocks, flags, pins and bans', async () => {
  const seen = await both(async (kind) => {
    const [owner, member] = [`${kind}-mod-owner`, `${kind}-mod-member`];
    const a = make(kind);
    await a.connectUser({ id: owner }, a.devToken(owner));
    const b = make(kind);
    await b.connectUser({ id: member }, b.devToken(member));
    const id = `${kind}-moderated`;
    const ours = a.channel('messaging', id, { members: [owner, member] });
    await ours.watch();
    const theirs = b.channel('messaging', id);
    await theirs.watch();
    const observed = { mutedBefore: a.mutedUsers.length, statusBefore: a.userMuteStatus(member) };

    let updated = next(a, 'notification.mutes_updated');
    const mute = await a.muteUser(member);
    observed.muteAnswer = mute.mute?.target?.id === member;
    await updated;
    observed.mutedUsers = a.mutedUsers.map((m) => m.target.id === member);
    observed.statusAfter = a.userMuteStatus(member);
    const arrived = next(ours, 'message.new');
    await theirs.sendMessage({ text: 'from a muted user' });
    await arrived;
    observed.unreadFromMuted = ours.state.unreadCount;
    updated = next(a, 'notification.mutes_updated');
    await a.unmuteUser(member);
    await updated;
    observed.mutedAfterUnmute = a.mutedUsers.length;

    updated = next(a, 'notification.channel_mutes_updated');
    await ours.mute({ expiration: 60_000 });
    await updated;
    const status = ours.muteStatus();
    observed.channelMute = {
      muted: status.muted,
      expires: status.expiresAt instanceof Date,
      created: status.createdAt instanceof Date,
      listed: a.mutedChannels.map((m) => m.channel?.cid === ours.cid),
    };
    const quiet = next(ours, 'message.new');
    await theirs.sendMessage({ text: 'in a muted channel' });
    await quiet;
    observed.unreadInMutedChannel = ours.state.unreadCount;
    updated = next(a, 'notification.channel_mutes_updated');
    await ours.unmute();
    await updated;
    observed.channelMuteAfter = ours.muteStatus().muted;

    await a.blockUser(member);
    observed.blocks = (await a.getBlockedUsers()).blocks.map((block) => block.blocked_user_id === member);
    await a.unBlockUser(member);
    observed.blocksAfter = (await a.getBlockedUsers()).blocks.length;

    const { message } = await theirs.sendMessage({ text: 'flag me' });
    observed.flag = (await a.flagMessage(message.id, { reason: 'spam' })).flag?.target_message_id === message.id;
    observed.flagUser = (await a.flagUser(member, { reason: 'spam' })).flag?.target_user_id === member;

    await ours.shadowBan(member, {});
    observed.shadowed = (await theirs.sendMessage({ text: 'nobody sees this' })).message.shadowed;
    await ours.removeShadowBan(member);
    observed.afterShadowBan = (await theirs.sendMessage({ text: 'seen again' })).message.shadowed;

    let pinned = next(theirs, 'message.updated', (event) => event.message?.pinned);
    await a.pinMessage(message, 600);
    await pinned;
    observed.pins = theirs.state.pinnedMessages.map((m) => ({ mine: m.id === message.id, by: m.pinned_by?.id === owner, at: m.pinned_at instanceof Date }));
    observed.pinnedInQuery = (await theirs.query({ messages: { limit: 5 } })).pinned_messages?.length;
    pinned = next(theirs, 'message.updated', (event) => event.message?.pinned === false);
    await a.unpinMessage(message.id);
    await pinned;
    observed.pinsAfter = theirs.state.pinnedMessages.length;

    const banned = next(ours, 'user.banned');
    await ours.banUser(member, { reason: 'spam', timeout: 5 });
    await banned;
    observed.memberBanned = ours.state.members[member]?.banned;
    try {
      await theirs.sendMessage({ text: 'banned?' });
      observed.bannedSend = 'sent';
    } catch (error) {
      observed.bannedSend = error.code;
    }
    const unbanned = next(ours, 'user.unbanned');
    await ours.unbanUser(member);
    await unbanned;
    observed.memberUnbanned = ours.state.members[member]?.banned;
    observed.sendAfterUnban = Boolean((await theirs.sendMessage({ text: 'back' })).message.id);
    await a.disconnectUser();
    await b.disconnectUser();
    return observed;
  });
  assert.equal(seen.official.statusAfter, true, 'the official client sees the mute');
  assert.equal(seen.official.unreadFromMuted, 0, 'a muted user\'s message is not unread');
  assert.equal(seen.official.channelMute.muted, true);
  assert.equal(seen.official.bannedSend, 17);
  assert.equal(seen.official.unreadInMutedChannel, 0, 'a muted channel\'s message is not unread');
  assert.equal(seen.official.shadowed, true);
  assert.deepEqual(seen.ours, seen.official);
});
