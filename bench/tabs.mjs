// Tabs of one user in one browser: how many connections the server holds for them (ours shares one, the official
// client opens one per tab), and how long ours takes to hand the shared connection to another tab when the tab
// holding it closes (from the close until every remaining tab is on the new connection, polled every 5 ms).

import { serverConnections } from '../tests/e2e/helpers.mjs';

const TABS = 5;
/** Takeovers measured; the figure is each one. */
const TAKEOVERS = 5;

/** A tab of `context` with a client of `kind` connected as `user`; resolves with its page and connection id. */
async function openTab(context, url, officialCode, kind, user) {
  const page = await context.newPage();
  await page.route('**/official.js', (route) => route.fulfill({ contentType: 'text/javascript', body: officialCode }));
  await page.goto(`${url}/metrics`);
  const connectionId = await page.evaluate(
    async ({ kind, user }) => {
      let StreamChat;
      if (kind === 'ours') {
        const ours = await import('/pkg/stream_chat_wasm.js');
        await ours.default();
        StreamChat = ours.StreamChat;
      } else {
        StreamChat = (await import('/official.js')).StreamChat;
      }
      window.client = new StreamChat('demo-key', { baseURL: location.origin });
      const opened = await window.client.connectUser({ id: user }, window.client.devToken(user));
      return opened.connection_id;
    },
    { kind, user },
  );
  return { page, connectionId };
}

/** Polls until every tab's client has one connection id other than `old`; returns when. */
async function newConnection(tabs, old) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ids = await Promise.all(tabs.map((tab) => tab.page.evaluate(() => window.client.connectionId)));
    if (ids[0] && ids[0] !== old && ids.every((id) => id === ids[0])) return Date.now();
    if (Date.now() > deadline) throw new Error('no takeover within 30 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Runs the tab figures against `url` in `browser`: `{connections: {ours, official}, takeover_ms: [...]}`. */
export async function tabBenchmarks({ browser, url, officialCode }) {
  const connections = {};
  for (const kind of ['ours', 'official']) {
    const context = await browser.newContext();
    const before = await serverConnections(url);
    for (let i = 0; i < TABS; i++) await openTab(context, url, officialCode, kind, `tabs-${kind}`);
    connections[kind] = (await serverConnections(url)) - before;
    await context.close();
  }
  const takeover_ms = [];
  const context = await browser.newContext();
  try {
    let tabs = [];
    for (let i = 0; i < TABS; i++) tabs.push(await openTab(context, url, officialCode, 'ours', 'tabs-takeover'));
    for (let run = 0; run < TAKEOVERS; run++) {
      // The first tab holds the connection (it connected first, and each takeover goes to the oldest waiting).
      const [leader, ...rest] = tabs;
      const old = await rest[0].page.evaluate(() => window.client.connectionId);
      const closed = Date.now();
      await leader.page.close();
      takeover_ms.push((await newConnection(rest, old)) - closed);
      tabs = [...rest, await openTab(context, url, officialCode, 'ours', 'tabs-takeover')];
    }
  } finally {
    await context.close();
  }
  return { tabs: TABS, connections, takeover_ms };
}
