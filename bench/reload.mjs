// Time to the first drawn channel after a reload: a page loads the client, connects and lists the user's channels
// (`queryChannels`, 10 channels with their newest messages), then reloads and does it again; the figure is the
// time from the reload's navigation start until `queryChannels` resolves with channels that have messages (what an
// app needs to draw its list). Ours with the local cache (on by default), ours with `localCache: false`, and the
// official client, alternating, each run in a new browser context.

const RUNS = 5;
const KINDS = ['ours', 'ours-no-cache', 'official'];

/** Runs in the page: loads the client of `kind`, connects as `user`, lists its channels; returns the ms from the
 * navigation start until the list resolved with messages. */
async function listChannels({ kind, user }) {
  let StreamChat;
  if (kind === 'official') {
    StreamChat = (await import('/official.js')).StreamChat;
  } else {
    const ours = await import('/pkg/stream_chat_wasm.js');
    await ours.default();
    StreamChat = ours.StreamChat;
  }
  const client = new StreamChat('demo-key', { baseURL: location.origin, localCache: kind === 'ours' });
  // As an app starts: connect, and ask for the list without waiting for the connection first.
  const connected = client.connectUser({ id: user }, client.devToken(user));
  const channels = await client.queryChannels({ members: { $in: [user] } }, { last_message_at: -1 }, { limit: 10 });
  const drawn = performance.now();
  if (!channels.length || !channels[0].state.messages.length) throw new Error('nothing to draw');
  await connected;
  return drawn;
}

/** Runs in the page: how many lists the local cache holds (0 before it exists). */
function cachedLists() {
  return new Promise((resolve) => {
    const open = indexedDB.open('stream-chat-wasm', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('lists');
    open.onsuccess = () => {
      const keys = open.result.transaction('lists').objectStore('lists').getAllKeys();
      keys.onsuccess = () => resolve(keys.result.length);
    };
  });
}

/** The reload figures against `url` (its `reader` has channels seeded by bench/sdk.mjs): ms per kind. */
export async function reloadBenchmarks({ browser, url, officialCode }) {
  const results = Object.fromEntries(KINDS.map((kind) => [kind, []]));
  for (let run = 0; run < RUNS; run++) {
    for (const kind of run % 2 === 0 ? KINDS : [...KINDS].reverse()) {
      const context = await browser.newContext();
      const page = await context.newPage();
      await page.route('**/official.js', (route) =>
        route.fulfill({ contentType: 'text/javascript', body: officialCode }),
      );
      await page.goto(`${url}/metrics`);
      await page.evaluate(listChannels, { kind, user: 'reader' });
      // The cache is written after the answer, off the app's path: wait until it landed.
      if (kind === 'ours') await page.waitForFunction(cachedLists, null, { polling: 10 });
      await page.reload();
      results[kind].push(await page.evaluate(listChannels, { kind, user: 'reader' }));
      await context.close();
    }
  }
  return results;
}
