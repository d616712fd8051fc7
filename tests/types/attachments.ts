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
