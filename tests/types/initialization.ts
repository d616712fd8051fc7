// Initialization and users, as the official docs write them.
import { StreamChat } from 'stream-chat-wasm';

export async function initialize(): Promise<void> {
  const client = StreamChat.getInstance('api-key', {
    timeout: 6000,
    enableWSFallback: true,
    // Official option keys this SDK accepts and ignores.
    browser: true,
    withCredentials: false,
    allowServerSideConnect: false,
    axiosRequestConfig: {},
  });
  const other = new StreamChat('api-key', { baseURL: 'http://127.0.0.1:8080', logger: (level, message) => console.log(level, message) });
  const res = await client.connectUser(
    { id: 'john', name: 'John Doe', image: 'https://example.com/john.png' },
    client.devToken('john'),
  );
  const connectionId: string = res.connection_id;
  const name: string | undefined = res.me.name;
  const unread: number = res.me.total_unread_count;
  console.log(connectionId, name, unread, client.userID, client.user?.id, other.key);

  await client.connectUser({ id: 'john' }, async () => 'token-from-backend');
  await client.upsertUser({ id: 'jack', role: 'user', name: 'Jack' });
  await client.partialUpdateUser({ id: 'john', set: { privacy_settings: { typing_indicators: { enabled: false } } } });
  const { users } = await client.queryUsers({ id: { $ne: 'john' } }, { last_active: -1 }, { presence: true });
  const onlineNames = users.filter((u) => u.online).map((u) => u.name ?? u.id);
  await client.queryUsers({ $or: [{ name: { $autocomplete: 'ja' } }, { id: { $in: ['jack', 'jill'] } }] });
  console.log(onlineNames);
  await client.disconnectUser();
}
