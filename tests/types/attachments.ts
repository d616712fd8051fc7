// Uploads and attachments, as the official docs write them.
import { StreamChat } from 'stream-chat-wasm';

export async function attachments(client: StreamChat, file: File, image: File): Promise<void> {
  const channel = client.channel('messaging', 'travel');
  const sent = await channel.sendImage(image);
  const doc = await channel.sendFile(file, 'notes.txt', 'text/plain');
  const url: string = sent.file;
  const thumb: string | undefined = sent.thumb_url;
  await channel.sendMessage({
    text: 'Check this out',
    attachments: [
      { type: 'image', image_url: url, thumb_url: thumb },
      { type: 'file', asset_url: doc.file, title: 'notes.txt', mime_type: 'text/plain' },
    ],
  });
  await channel.deleteImage(url);
  await channel.deleteFile(doc.file);
}

// Search, as the official docs write it.
export async function search(client: StreamChat): Promise<void> {
  const filters = { members: { $in: ['john'] } };
  const page1 = await client.search(filters, 'supercalifragilisticexpialidocious', { limit: 2, offset: 0 });
  const page2 = await client.search(filters, { text: { $autocomplete: 'super' } }, { limit: 2, next: page1.next });
  for (const { message } of page2.results) {
    console.log(message.text, message.channel?.cid);
  }
  const channel = client.channel('messaging', 'travel');
  const pinned = await channel.search({ pinned: true }, { sort: [{ created_at: -1 }] });
  console.log(pinned.results.length, pinned.next ?? 'last page');
}

// Lookups and quotes, as the official docs write them.
export async function lookups(client: StreamChat): Promise<void> {
  const channel = client.channel('messaging', 'travel');
  const { messages } = await channel.getMessagesById(['m1', 'm2']);
  const { reactions } = await channel.getReactions('m1', { limit: 10 });
  const page = await client.queryReactions('m1', { type: 'love' }, { created_at: -1 }, { limit: 25 });
  const more = page.next ? await client.queryReactions('m1', { type: 'love' }, [], { next: page.next }) : page;
  const pinned = await channel.getPinnedMessages({ limit: 10 }, { pinned_at: -1 });
  await channel.sendMessage({ text: 'replying', quoted_message_id: messages[0].id });
  console.log(reactions.length, more.reactions.length, pinned.messages.length);
}

// Threads: listed, fetched, read.
export async function threads(client: StreamChat): Promise<void> {
  const { threads, next } = await client.queryThreads({ limit: 10, reply_limit: 3 });
  for (const thread of threads) {
    const mine = thread.read.find((read) => read.user.id === client.userID);
    console.log(thread.parent_message.text, thread.reply_count, mine?.unread_messages, next);
  }
  const { thread } = await client.getThread('parent-id', { reply_limit: 10 });
  await client.channel('messaging', 'travel').markRead({ thread_id: thread.parent_message_id });
}
