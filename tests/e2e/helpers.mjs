// Shared by the end-to-end tests: a real server process (the debug build of server/) on a loopback port with a
// real SQLite file, HS256 tokens signed like a backend would, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { after, before } from 'node:test';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { build } from 'rolldown';

const ROOT = new URL('../../', import.meta.url).pathname;
// `STREAM_CHAT_SERVER_BIN` runs the tests against another build (an earlier commit's, to show a test failing there).
const SERVER_BIN = process.env.STREAM_CHAT_SERVER_BIN ?? join(ROOT, 'target/debug/stream-chat-server');

/** A temp folder removed by `cleanup()`. */
export function tempDir() {
  const dir = mkdtempSync(join(tmpdir(), 'stream-chat-e2e-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Starts the server on the SQLite file or PostgreSQL URL `db` (required: without it the server was started with
 * `--db undefined`, a file named so in the working directory) and resolves once it listens. `port: 0` picks a free
 * port; a fixed port is retried until free (a killed server's port can take a moment to be released). `binary`
 * and `env` default to the debug build and this process's environment (the benchmarks start the release build
 * with `RUST_LOG=warn`).
 */
export async function startServer({
  dev = true, port = 0, db, apiKey, secret, args = [], deadlineMs = 20_000, binary = SERVER_BIN, env = process.env,
} = {}) {
  if (!db) throw new Error('startServer: `db` is required (a SQLite file path or a PostgreSQL URL)');
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      return await spawnServer({ dev, port, db, apiKey, secret, args, binary, env });
    } catch (error) {
      if (Date.now() > deadline || !/in use/i.test(String(error.message))) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function spawnServer({ dev, port, db, apiKey, secret, args: extra, binary, env }) {
  const args = ['--port', String(port), '--db', db, '--www', join(ROOT, 'www'), '--pkg', join(ROOT, 'pkg'), ...extra];
  if (dev) args.push('--dev');
  if (apiKey) args.push('--api-key', apiKey);
  if (secret) args.push('--api-secret', secret);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
      const match = stdout.match(/listening on (http:\/\/[0-9.]+:(\d+))/);
      if (match) {
        resolve({
          url: match[1],
          port: Number(match[2]),
          process: child,
          /** Graceful stop (SIGTERM), resolved when the process has exited. */
          stop: async () => {
            child.kill('SIGTERM');
            return exited;
          },
          /** `kill -9`, resolved when the process has exited. */
          kill: async () => {
            child.kill('SIGKILL');
            return exited;
          },
        });
      }
    });
    exited.then(({ code }) => reject(new Error(`server exited (${code}) before listening: ${stderr}`)));
  });
}

/** The official client's browser build (node_modules/stream-chat bundled with rolldown into `dir`), as code. */
export async function officialBrowserBuild(dir, { minify = false } = {}) {
  const file = join(dir, 'official.js');
  await build({
    input: join(ROOT, 'node_modules/stream-chat/dist/esm/index.mjs'),
    platform: 'browser',
    logLevel: 'silent',
    output: { format: 'esm', file, minify },
  });
  return readFileSync(file, 'utf8');
}

/**
 * A new page of `browser` on `serverUrl` with our SDK loaded (the release package the server serves under /pkg/)
 * and `window.connectAs(id, options)`: a client connected as `id` with a dev token.
 */
export async function openSdkPage(browser, serverUrl) {
  const page = await browser.newPage();
  await page.goto(`${serverUrl}/metrics`);
  await page.evaluate(async () => {
    const sdk = await import('/pkg/stream_chat_wasm.js');
    await sdk.default();
    window.connectAs = async (id, options = {}) => {
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin, ...options });
      await client.connectUser({ id }, client.devToken(id));
      return client;
    };
  });
  return page;
}

/**
 * A page of `browser` on `serverUrl` where one app snippet can run with either client: the official client's
 * browser build (bundled into `dir`) and ours, both loaded. In the page, `make(kind, options)` makes a client of
 * `kind` ('official' or 'ours') and `next(target, type, accept)` waits (10 s at most) for the next `type` event of
 * a client or channel. Returns `both(snippet)`, which runs `snippet(kind)` for each and returns `{official, ours}`.
 */
export async function openComparisonPage(browser, serverUrl, dir) {
  const officialBundle = await officialBrowserBuild(dir);
  const page = await browser.newPage();
  await page.route('**/official.js', (route) =>
    route.fulfill({ contentType: 'text/javascript', body: officialBundle }),
  );
  // A same-origin page without the demo.
  await page.goto(`${serverUrl}/metrics`);
  await page.evaluate(async () => {
    const ours = await import('/pkg/stream_chat_wasm.js');
    await ours.default();
    const official = await import('/official.js');
    window.make = (kind, options = {}) => {
      const Client = kind === 'ours' ? ours.StreamChat : official.StreamChat;
      return new Client('demo-key', { baseURL: location.origin, ...options });
    };
    // Two users of `kind`'s client (ids or user objects), both connected and watching channel `id` with both as
    // members: `{a, b, ours, theirs}` (`ours` is the first user's channel object, `theirs` the second's).
    window.pair = async (kind, users, id, data = {}) => {
      const [first, second] = users.map((user) => (typeof user === 'string' ? { id: user } : user));
      const a = make(kind);
      await a.connectUser(first, a.devToken(first.id));
      const b = make(kind);
      await b.connectUser(second, b.devToken(second.id));
      const ours = a.channel('messaging', id, { members: [first.id, second.id], ...data });
      await ours.watch();
      const theirs = b.channel('messaging', id);
      await theirs.watch();
      return { a, b, ours, theirs };
    };
    window.next = (target, type, accept = () => true) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no ${type}`)), 10_000);
        const subscription = target.on(type, (event) => {
          if (!accept(event)) return;
          clearTimeout(timer);
          subscription.unsubscribe();
          resolve(event);
        });
      });
  });
  const both = async (snippet) => {
    const run = (kind) => page.evaluate(`(${snippet})(${JSON.stringify(kind)})`);
    return { official: await run('official'), ours: await run('ours') };
  };
  return { page, both };
}

/**
 * Registers a test file's set-up and tear-down: a `--dev` server (with `args`), Chromium, and a comparison page
 * (`openComparisonPage`). Returns an object whose `both` and `server` are set once the set-up ran.
 */
export function comparisonSuite({ args = [] } = {}) {
  const suite = {};
  let cleanup, browser;
  before(async () => {
    let dir;
    ({ dir, cleanup } = tempDir());
    suite.server = await startServer({ db: join(dir, 'chat.db'), args });
    browser = await launchBrowser();
    ({ both: suite.both } = await openComparisonPage(browser, suite.server.url, dir));
  });
  after(async () => {
    await browser?.close();
    await suite.server?.stop();
    cleanup?.();
  });
  return suite;
}

/**
 * Registers a test file's set-up and tear-down: a `--dev` server (with `args`) and Chromium. Returns an object
 * whose `server` and `browser` are set once the set-up ran.
 */
export function browserSuite({ args = [] } = {}) {
  const suite = {};
  let cleanup;
  before(async () => {
    let dir;
    ({ dir, cleanup } = tempDir());
    suite.server = await startServer({ db: join(dir, 'chat.db'), args });
    suite.browser = await launchBrowser();
  });
  after(async () => {
    await suite.browser?.close();
    await suite.server?.stop();
    cleanup?.();
  });
  return suite;
}

/** Waits until `check()` is truthy (polled), or throws after `ms` with `what`; returns the value. */
export async function until(check, what, ms = 15_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** The connections the server at `url` holds now, WebSocket and long-poll together (`chat_connections`). */
export async function serverConnections(url) {
  const text = await (await fetch(`${url}/metrics`)).text();
  return text
    .split('\n')
    .filter((line) => line.startsWith('chat_connections{'))
    .reduce((sum, line) => sum + Number(line.split(' ')[1]), 0);
}

/** An HS256 JWT signed with `secret`, base64url-encoded like common JWT libraries do. */
export function signToken(claims, secret) {
  const encode = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${encode({ alg: 'HS256', typ: 'JWT' })}.${encode(claims)}`;
  return `${signed}.${createHmac('sha256', secret).update(signed).digest('base64url')}`;
}

/** An official `stream-chat` client (Node) connected to `url` as `user`, with a token signed by `secret`. */
export async function connectOfficial(url, user, { key, secret }) {
  const { StreamChat } = await import('stream-chat');
  const client = new StreamChat(key, { baseURL: url, allowServerSideConnect: true });
  await client.connectUser(user, signToken({ user_id: user.id }, secret));
  return client;
}

/** Official clients alice and bob, both watching `messaging:<channelId>` with both as members. */
export async function officialPair(url, channelId, credentials) {
  const alice = await connectOfficial(url, { id: 'alice', name: 'Alice' }, credentials);
  const bob = await connectOfficial(url, { id: 'bob', name: 'Bob' }, credentials);
  const aliceChannel = alice.channel('messaging', channelId, { members: ['alice', 'bob'] });
  await aliceChannel.watch();
  const bobChannel = bob.channel('messaging', channelId, { members: ['alice', 'bob'] });
  await bobChannel.watch();
  return { alice, bob, aliceChannel, bobChannel };
}

/** Debian's Chromium, headless, with the flags that keep it off the network (shared/TOOLCHAIN.md), plus `extraArgs`. */
export function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
  });
}

/** The value of a metric series from `/metrics`. */
export async function metric(url, series) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  if (!line) throw new Error(`no ${series} in /metrics`);
  return Number(line.slice(series.length + 1));
}

/** A free loopback port (closed again before it is returned; nothing else on this machine races for it). */
export async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Debian's nginx as a reverse proxy in front of `upstreamPort`. With `passUpgrades: false` it is a plain
 * `proxy_pass` that does not pass WebSocket upgrades, like many corporate proxies; with `true` it passes them.
 * Resolves once the proxy answers.
 */
export async function startProxy({ upstreamPort, passUpgrades = false, port }) {
  const { mkdtempSync } = await import('node:fs');
  const dir = mkdtempSync(join(tmpdir(), 'stream-chat-proxy-'));
  port ??= await freePort();
  const upgrades = passUpgrades
    ? 'proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection "upgrade";'
    : '';
  const server = `server {
    listen 127.0.0.1:${port};
    location / { proxy_pass http://127.0.0.1:${upstreamPort}; proxy_read_timeout 60s; ${upgrades} }
  }`;
  return startNginx(dir, port, server, '/metrics');
}

/**
 * Debian's nginx (as root, its workers too) in `dir` with `http` as the body of its `http` block, serving on
 * `port`; resolves once `probePath` answers through it. `stop()` ends it and removes `dir`.
 */
export async function startNginx(dir, port, http, probePath) {
  const { writeFileSync } = await import('node:fs');
  const asRoot = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${asRoot} daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
     events { worker_connections 1024; }
     http {
       access_log off;
       client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fastcgi;
       uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
       ${http}
     }`,
  );
  const child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await fetch(`${url}${probePath}`);
      break;
    } catch {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`nginx did not start: ${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  return {
    url,
    port,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Resolves with the first `type` event on `target` (an official client's channel or client) that `accept` takes,
 * or rejects after `ms`.
 */
export function nextEvent(target, type, accept = () => true, ms = 10_000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      reject(new Error(`no ${type} within ${ms} ms`));
    }, ms);
    const subscription = target.on(type, (event) => {
      if (!accept(event)) return;
      clearTimeout(timer);
      subscription.unsubscribe();
      resolve(event);
    });
  });
}
