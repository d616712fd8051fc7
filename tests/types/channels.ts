// Channels, messages, threads, reactions and unread counts, as the official docs write them.
import { StreamChat, type Channel, type Event, type LocalMessage, type MessageResponse } from 'stream-chat-wasm';

export async function channels(client: StreamChat): Promise<void> {
  const channel = client.channel('messaging', 'travel', { name: 'Awesome channel about traveling', members: ['john'] });
  const state = await channel.watch();
  const title: string | undefined = state.channel.name;
  const capabilities: string[] = state.channel.own_capabilities;
  console.log(title, capabilities, state.members.map((m) => m.user.name));

  // A channel by its members, with and without a null id.
  const conversation = client.channel('messaging', { members: ['john', 'jack'] });
  const again = client.channel('messaging', null, { members: ['john', 'jack'] });
  await conversation.create();
  console.log(again.cid, conversation.id, conversation.type);

  const filter = { type: 'messaging', members: { $in: ['john'] } };
  const sort = [{ last_message_at: -1 as const }];
  const found: Channel[] = await client.queryChannels(filter, sort, { watch: true, state: true, presence: true, limit: 10 });
  await client.queryChannels({ $or: [{ cid: { $in: ['messaging:travel'] } }, { name: { $autocomplete: 'tra' } }] });
  for (const c of found) {
    const last: LocalMessage | undefined = c.lastMessage();
    console.log(c.cid, c.state.unreadCount, c.countUnread(), last?.text, c.state.messages.length);
  }

  // Messages and threads.
  const { message } = await channel.sendMessage({ text: '@Jack check this', mentioned_users: ['jack'] });
  const reply = await channel.sendMessage({ text: 'in the thread', parent_id: message.id, show_in_channel: false });
  const replies = await channel.getReplies(message.id, { limit: 20 });
  const parents = channel.state.messages.filter((m) => m.reply_count > 0);
  const threadCount: number = (channel.state.threads[message.id] ?? []).length;
  console.log(reply.message.parent_id, replies.messages.length, parents.length, threadCount);
  await client.updateMessage({ id: message.id, text: 'edited' });
  await client.partialUpdateMessage(message.id, { set: { text: 'again' } });
  await client.deleteMessage(message.id);
  const fetched: MessageResponse = (await client.getMessage(message.id)).message;
  console.log(fetched.created_at.length, fetched.reply_count);

  // Reactions.
  await channel.sendReaction(message.id, { type: 'love' }, { enforce_unique: true });
  await channel.deleteReaction(message.id, 'love');
  const own = channel.state.messages.find((m) => m.id === message.id)?.own_reactions.map((r) => r.type);
  console.log(own);

  // Read state and unread.
  await channel.markRead();
  await channel.markUnread({ message_id: message.id });
  const lastRead: Date | null = channel.lastRead();
  const johnRead = channel.state.read['john'];
  console.log(lastRead, johnRead?.last_read.getTime(), johnRead?.unread_messages);
  const { total_unread_count } = await client.getUnreadCount();
  await client.markAllRead();
  console.log(total_unread_count);

  // Typing.
  await channel.keystroke();
  await channel.stopTyping();
  await channel.stopWatching();

  // Dates in state.
  const first = channel.state.messages[0];
  if (first) console.log(first.created_at.toISOString(), first.status, first.user.id);

  // Events.
  const handler = (event: Event) => console.log(event.type);
  channel.on('message.new', handler);
  channel.off('message.new', handler);

  // An optimistic send, as UI kits do it: shown at once, replaced by the server's copy.
  const optimistic = { id: 'local-1', text: 'sending…', status: 'sending', created_at: new Date(), user: { id: 'john' } };
  channel.state.addMessageSorted(optimistic as unknown as LocalMessage);
  const shown: LocalMessage | undefined = channel.state.findMessage('local-1');
  const removed: boolean = channel.state.removeMessage({ id: 'local-1' });
  const upToDate: boolean = channel.state.isUpToDate;
  const latest: LocalMessage[] = channel.state.latestMessages;
  console.log(shown?.status, removed, upToDate, latest.length);
  try {
    await channel.sendMessage({ text: 'may fail' });
  } catch (error) {
    // A retry reuses the id the failed send had.
    const id = (error as { message_id?: string }).message_id;
    if (id) await channel.sendMessage({ id, text: 'may fail' });
  }
  client.on('client.fatal', (event: Event) => console.error(event.error?.message));
}

