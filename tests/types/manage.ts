// Channel management and custom events, as the official docs write them.
import { StreamChat, type Channel, type Event } from 'stream-chat-wasm';

export async function manage(client: StreamChat): Promise<void> {
  const channel = client.channel('messaging', 'travel');
  await channel.watch();
  const updated = await channel.update({ name: 'myspecialchannel', color: 'green' }, { text: 'Thierry changed the channel color to green', user_id: 'thierry' });
  const name: unknown = updated.channel.name;
  await channel.updatePartial({ set: { color: 'blue' }, unset: ['age'] });
  await channel.updatePartial({ set: { frozen: true } });
  await channel.enableSlowMode(30);
  await channel.disableSlowMode();
  await channel.addModerators(['thierry', 'josh']);
  await channel.demoteModerators(['tommaso']);
  await channel.hide();
  await channel.hide(null, true);
  await channel.show();
  await channel.truncate({ message: { text: 'Dear Everyone. The channel has been truncated.' } });
  await channel.delete();
  await channel.delete({ hard_delete: true });
  const capabilities: string[] = channel.data?.own_capabilities as string[];
  const { members } = await channel.queryMembers({ name: { $autocomplete: 'tho' } }, { created_at: -1 }, { limit: 10 });
  console.log(members.map((member) => member.user_id));

  channel.on('friendship_request', (event: Event) => console.log(event.text));
  await channel.sendEvent({ type: 'friendship_request', text: 'Hey there, long time no see!' });
  client.dispatchEvent({ type: 'my.local', value: 1 });

  const active: Channel | undefined = client.activeChannels['messaging:travel'];
  const same: Channel = client.getChannelById('messaging', 'travel', {});
  client.on('channel.deleted', (event) => console.log(event.cid));
  console.log(name, capabilities, active?.cid, same.cid);
}

export async function moderate(client: StreamChat, channel: Channel): Promise<void> {
  await client.muteUser('eviluser', undefined, { timeout: 60 });
  await client.unmuteUser('eviluser');
  const muted: boolean = client.userMuteStatus('eviluser');
  const mutes = client.mutedUsers.map((mute) => mute.target.id);
  await channel.mute({ expiration: 10_000 });
  await channel.unmute();
  const status = channel.muteStatus();
  const until: Date | null = status.expiresAt;
  const channelMutes = client.mutedChannels.map((mute) => mute.channel?.cid);
  await client.blockUser('spammer');
  const { blocks } = await client.getBlockedUsers();
  await client.unBlockUser('spammer');
  await client.flagMessage('message-id', { reason: 'spam' });
  await client.flagUser('spammer');
  await client.pinMessage('message-id', 60);
  await client.pinMessage({ id: 'message-id' }, new Date(Date.now() + 60_000));
  await client.unpinMessage('message-id');
  await client.banUser('eviluser', { timeout: 60, reason: 'Banned for one hour' });
  await client.unbanUser('eviluser');
  await client.shadowBan('eviluser');
  await client.removeShadowBan('eviluser');
  await channel.banUser('eviluser', { reason: 'spam' });
  await channel.unbanUser('eviluser');
  await channel.shadowBan('eviluser', {});
  await channel.removeShadowBan('eviluser');
  console.log(muted, mutes, status.muted, until, channelMutes, blocks.map((block) => block.blocked_user_id));
}
