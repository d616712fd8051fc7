// SDK benchmarks in headless Chromium: our package against the official client's browser build (node_modules/
// stream-chat bundled and minified with rolldown), each in a fresh page per run against one server. Figures:
// connectUser time, loading 10 channels × 300 messages (queryChannels), ingest of a 10,000-event burst (frames
// dispatched on the client's own WebSocket, so the whole parse → state → listener path runs, without the server's
// send rate in the way), JS heap + wasm memory after the load and after the burst, the bundle size (gzip), and
// the connections five tabs of one user hold (bench/tabs.mjs), and the time to the first drawn channel after a
// reload (bench/reload.mjs).
import { rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { packageGzip } from '../scripts/size.mjs';
import { launchBrowser, officialBrowserBuild } from '../tests/e2e/helpers.mjs';
import { reloadBenchmarks } from './reload.mjs';
import { tabBenchmarks } from './tabs.mjs';

const CHANNELS = 10;
const MESSAGES = 300;
const BURST = 10_000;
/** Cold starts per client (alternating, each in a fresh browser context); the figure is their median. */
const COLD_RUNS = 9;
/** Warm `connectUser` rounds per client and run (after one warm-up). */
const CONNECT_ROUNDS = 30;
/** CPU slowdown for the cold start, as a mid-range phone (CDP `Emulation.setCPUThrottlingRate`). */
const COLD_CPU_THROTTLE = 4;
/** Where the server serves the official build for the cold start, beside our package (removed after). */
const OFFICIAL_IN_PKG = new URL('../pkg/official-bench.js', import.meta.url).pathname;

/** A dev token, as `client.devToken(id)` builds it. */
function devToken(userId) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ user_id: userId })}.devtoken`;
}

/** Creates the channels (members `reader` and `seeder`) and sends their messages through the REST API. */
async function seed(url) {
  const call = async (path, body) => {
    const response = await fetch(`${url}${path}?api_key=demo-key`, {
      method: 'POST',
      headers: { authorization: devToken('seeder'), 'stream-auth-type': 'jwt', 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
  };
  await Promise.all(
    Array.from({ length: CHANNELS }, async (_, c) => {
      await call(`/channels/messaging/bench-${c}/query`, { data: { members: ['reader', 'seeder'] } });
      for (let m = 0; m < MESSAGES; m++) {
        await call(`/channels/messaging/bench-${c}/message`, { message: { text: `message ${m} of channel ${c}` } });
      }
    }),
  );
}

/** The official browser build, minified, and its gzip size. */
async function officialBundle(dir) {
  const code = await officialBrowserBuild(dir, { minify: true });
  return { code, gzip: gzipSync(code, { level: 9 }).length };
}

/** Who goes first in run (or round) `run`: the two clients take turns at it, so neither always gets the cooler
 * machine. */
const turns = (run) => (run % 2 === 0 ? ['official', 'ours'] : ['ours', 'official']);

/** Runs `measureOne(kind, run)` `runs` times for each client, alternating who goes first so neither always gets
 * the cooler machine; returns the figures per client. */
async function alternating(runs, measureOne) {
  const results = { official: [], ours: [] };
  for (let run = 0; run < runs; run++) {
    for (const kind of turns(run)) {
      results[kind].push(await measureOne(kind, run));
    }
  }
  return results;
}

/** Runs in the page: loads `kind`'s SDK and keeps what the other steps use in `window.bench`; returns the memory
 * the import took. */
async function setUp({ kind }) {
  const sockets = [];
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      sockets.push(this);
      this.createdAt = performance.now();
      this.addEventListener('message', () => (this.firstFrameAt ??= performance.now()), { once: true });
    }
  };
  const heap = () => {
    window.gc();
    return performance.memory.usedJSHeapSize;
  };
  const heapBefore = heap();
  let wasmMemory = () => 0;
  let StreamChat;
  if (kind === 'ours') {
    const ours = await import('/pkg/stream_chat_wasm.js');
    const exports = await ours.default();
    wasmMemory = () => exports.memory.buffer.byteLength;
    StreamChat = ours.StreamChat;
  } else {
    StreamChat = (await import('/official.js')).StreamChat;
  }
  const make = () => new StreamChat('demo-key', { baseURL: location.origin });
  window.bench = { kind, sockets, Native, heap, heapBefore, wasmMemory, make };
  return { memory_after_import: heap() - heapBefore + wasmMemory() };
}

/** Runs in the page: one `connectUser` of a new client, as a user that connected before, then its disconnect;
 * returns [the whole connect, until its socket exists, from the first frame to resolving] (ms). */
async function connectRound() {
  const { kind, sockets, make } = window.bench;
  const client = make();
  const started = performance.now();
  await client.connectUser({ id: `connect-${kind}` }, client.devToken(`connect-${kind}`));
  const resolved = performance.now();
  const socket = sockets.at(-1);
  await client.disconnectUser();
  return [resolved - started, socket.createdAt - started, resolved - socket.firstFrameAt];
}

/** Runs in the page (after `setUp`): the load, memory and ingest figures for one client. */
async function measure({ channels, messages, burst }) {
  const { kind, sockets, Native, heap, heapBefore, wasmMemory, make } = window.bench;
  const figures = {};

  // Loading channels.
  const client = make();
  await client.connectUser({ id: 'reader' }, client.devToken('reader'));
  const cids = Array.from({ length: channels }, (_, c) => `messaging:bench-${c}`);
  let started = performance.now();
  const loaded = await client.queryChannels(
    { cid: { $in: cids } },
    {},
    { limit: channels, message_limit: messages, watch: true, state: true },
  );
  figures.load_ms = performance.now() - started;
  const counts = loaded.map((channel) => channel.state.messages.length);
  if (loaded.length !== channels || counts.some((count) => count !== messages)) {
    throw new Error(`${kind} loaded ${loaded.length} channels with ${counts} messages`);
  }
  figures.memory_after_load = heap() - heapBefore + wasmMemory();
  figures.wasm_memory_after_load = wasmMemory();

  // Ingest: a burst of message.new frames on the client's own socket.
  const channel = loaded.find((c) => c.cid === 'messaging:bench-0');
  const socket = sockets.filter((s) => s.readyState === Native.OPEN).at(-1);
  const base = Date.parse('2030-01-01T00:00:00Z');
  const frames = Array.from({ length: burst }, (_, i) => {
    const at = new Date(base + i).toISOString();
    const user = { id: 'seeder', role: 'user', created_at: at, updated_at: at, online: true };
    return JSON.stringify({
      type: 'message.new', cid: channel.cid, channel_id: channel.id, channel_type: 'messaging', created_at: at,
      watcher_count: 1, user,
      message: { id: `burst-${i}`, text: `burst ${i}`, type: 'regular', user, created_at: at, updated_at: at,
        cid: channel.cid, attachments: [], mentioned_users: [], latest_reactions: [], own_reactions: [],
        reaction_counts: {}, reaction_scores: {}, reply_count: 0 },
    });
  });
  let heard = 0;
  client.on('message.new', () => heard++);
  const inState = () => channel.state.messages.length >= messages + burst;
  started = performance.now();
  for (const data of frames) socket.dispatchEvent(new MessageEvent('message', { data }));
  const deadline = started + 120_000;
  while (heard < burst || !inState()) {
    if (performance.now() > deadline) throw new Error(`${kind}: ${heard} events heard, state incomplete`);
    await new Promise((resolve) => setTimeout(resolve));
  }
  figures.ingest_events_per_s = burst / ((performance.now() - started) / 1000);
  figures.memory_after_burst = heap() - heapBefore + wasmMemory();
  await client.disconnectUser();
  return figures;
}

/** The warm `connectUser` figures of both clients: `CONNECT_ROUNDS` rounds each, the two clients' rounds taking
 * turns (who goes first alternates) so that both are timed over the same seconds of a noisy machine; medians of
 * the whole connect and of the client's own part (until its socket exists + from the first frame to resolving).
 * Rounds are 50 ms apart: Chromium holds a new WebSocket to an endpoint until 10 ms after the previous one to it
 * finished its handshake, so back-to-back rounds would time that throttle (~9 ms of a ~10 ms connect for both
 * clients) instead of a connect as an app makes it. performance.now() is coarsened to 0.1 ms here. */
async function warmConnects(pages, run) {
  for (const kind of turns(run)) await pages[kind].evaluate(connectRound); // a warm-up connect each
  const rounds = { official: [], ours: [] };
  for (let round = 0; round < CONNECT_ROUNDS; round++) {
    for (const kind of turns(run + round)) {
      rounds[kind].push(await pages[kind].evaluate(connectRound));
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const middle = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
  const figures = {};
  for (const [kind, list] of Object.entries(rounds)) {
    figures[kind] = {
      connect_ms: middle(list.map(([whole]) => whole)),
      connect_own_ms: middle(list.map(([, before, after]) => before + after)),
      connect_before_socket_ms: middle(list.map(([, before]) => before)),
      connect_after_frame_ms: middle(list.map(([, , after]) => after)),
    };
  }
  return figures;
}

/** Runs in the page: one cold start of `kind`, phase by phase (ms): `import` (ours: the glue module; official: its
 * whole bundle, fetched, parsed and run), `init` (ours: the wasm fetched, compiled and instantiated), `construct`
 * (`new StreamChat`), `connect` (`connectUser` until it resolves); `fetch` is the resource timing's share of the
 * first two (download only), `total` the four phases. */
async function coldStart({ kind, user }) {
  const at = [performance.now()];
  let StreamChat;
  if (kind === 'ours') {
    const ours = await import('/pkg/stream_chat_wasm.js');
    at.push(performance.now());
    await ours.default();
    StreamChat = ours.StreamChat;
  } else {
    StreamChat = (await import('/pkg/official-bench.js')).StreamChat;
    at.push(performance.now());
  }
  at.push(performance.now());
  const client = new StreamChat('demo-key', { baseURL: location.origin });
  at.push(performance.now());
  await client.connectUser({ id: user }, client.devToken(user));
  at.push(performance.now());
  const fetch = performance
    .getEntriesByType('resource')
    .filter((entry) => entry.name.includes('/pkg/'))
    .reduce((sum, entry) => sum + (entry.responseEnd - entry.startTime), 0);
  await client.disconnectUser();
  const phase = (i) => at[i + 1] - at[i];
  return { import: phase(0), init: phase(1), construct: phase(2), connect: phase(3), fetch, total: at[4] - at[0] };
}

/** Cold starts of both clients, alternating, each in a new browser context with the cache off and the CPU
 * throttled; returns the list of phase figures per client. */
async function coldStarts(browser, url, official) {
  writeFileSync(OFFICIAL_IN_PKG, official.code);
  try {
    return await alternating(COLD_RUNS, async (kind, run) => {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await page.goto(`${url}/metrics`);
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: COLD_CPU_THROTTLE });
      const figures = await page.evaluate(coldStart, { kind, user: `cold-${kind}-${run}` });
      await context.close();
      return figures;
    });
  } finally {
    rmSync(OFFICIAL_IN_PKG, { force: true });
  }
}

/** Runs the SDK benchmarks `runs` times against `url`; returns one list of figures per client. */
export async function sdkBenchmarks({ url, dir, runs }) {
  await seed(url);
  const official = await officialBundle(dir);
  // Exact heap figures, and `gc()` so that they count only what is still held.
  const browser = await launchBrowser(['--enable-precise-memory-info', '--js-flags=--expose-gc']);
  try {
    const results = { official: [], ours: [] };
    for (let run = 0; run < runs; run++) {
      const order = turns(run);
      const open = async (kind) => {
        const page = await browser.newPage();
        await page.route('**/official.js', (route) =>
          route.fulfill({ contentType: 'text/javascript', body: official.code }),
        );
        await page.goto(`${url}/metrics`);
        return { page, imported: await page.evaluate(setUp, { kind }) };
      };
      // The connects with both clients' pages open; the rest one page at a time, as the pages of one site share a
      // renderer and so a JS heap, which the memory figures read.
      const pages = {};
      for (const kind of order) pages[kind] = (await open(kind)).page;
      const connects = await warmConnects(pages, run);
      for (const kind of order) await pages[kind].close();
      for (const kind of order) {
        const { page, imported } = await open(kind);
        const rest = await page.evaluate(measure, { channels: CHANNELS, messages: MESSAGES, burst: BURST });
        results[kind].push({ ...imported, ...connects[kind], ...rest });
        await page.close();
      }
    }
    results.cold = await coldStarts(browser, url, official);
    results.tabs = await tabBenchmarks({ browser, url, officialCode: official.code });
    results.reload = await reloadBenchmarks({ browser, url, officialCode: official.code });
    return { ...results, size: { official: official.gzip, ours: packageGzip() } };
  } finally {
    await browser.close();
  }
}
