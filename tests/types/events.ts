// Events, as the official docs handle them.
import type { Event, StreamChat } from 'stream-chat-wasm';

export function events(client: StreamChat): () => void {
  const subscription = client.on('message.new', (event) => {
    const text: string | undefined = event.message?.text;
    const author: string | undefined = event.user?.id ?? event.message?.user.id;
    const replies: number | undefined = event.message?.reply_count;
    console.log(text, author, replies, event.cid, event.channel_id, event.watcher_count);
  });
  client.on('connection.changed', (event) => {
    if (event.online === false) console.log('offline');
  });
  client.on('reaction.new', (event: Event) => console.log(event.reaction?.type, event.reaction?.score));
  client.on('member.added', (event) => console.log(event.member?.user_id, event.member?.user.name));
  client.on('notification.mark_unread', (event) => console.log(event.unread_messages, event.total_unread_count));
  client.on('my_custom_event', (event) => console.log(event.type, event['payload']));
  client.on((event) => console.log(event.type, event.received_at));
  subscription.unsubscribe();
  return client.on('user.presence.changed', (event) => console.log(event.user?.online));
}
