// The official React UI kit's standard app (stream-chat-react's getting-started: Chat, ChannelList, Channel,
// Window, ChannelHeader, MessageList, MessageComposer, Thread; the channel list's search box on) on the official
// client, pointed at our server.
// Bundled by ui-kit.test.mjs with the pinned esbuild; `?user=<id>` picks who is signed in, with `?token=` and
// `?key=` or a dev token and the dev key.
import { createRoot } from 'react-dom/client';
import { StreamChat } from 'stream-chat';
import {
  Channel,
  ChannelHeader,
  ChannelList,
  Chat,
  MessageComposer,
  MessageList,
  Thread,
  Window,
} from 'stream-chat-react';
import 'stream-chat-react/dist/css/index.css';

const params = new URLSearchParams(location.search);
const userId = params.get('user');
const root = document.getElementById('root');
const client = new StreamChat(params.get('key') ?? 'demo-key', { baseURL: location.origin });
const token = params.get('token') ?? client.devToken(userId);
await client.connectUser({ id: userId, name: userId }, token);
window.chatClient = client;

const filters = { type: 'messaging', members: { $in: [userId] } };
const sort = { last_message_at: -1 };

function App() {
  return (
    <Chat client={client}>
      <ChannelList filters={filters} sort={sort} options={{ limit: 10 }} showChannelSearch />
      <Channel>
        <Window>
          <ChannelHeader />
          <MessageList />
          <MessageComposer />
        </Window>
        <Thread />
      </Channel>
    </Chat>
  );
}

createRoot(root).render(<App />);
