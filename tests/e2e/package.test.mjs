// The npm package as a web app gets it: `npm pack` at the root, the tarball installed into a scratch app in a
// temp folder, then (1) built with Vite, served and loaded in Chromium, (2) used without a bundler from a
// <script type=module>, both connecting and sending a message to a real server, and (3) a TypeScript file using
// the package's types passes `tsc --noEmit`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { extname, join } from 'node:path';
import { launchBrowser, startServer, tempDir } from './helpers.mjs';

const ROOT = new URL('../../', import.meta.url).pathname;
const BIN = (name) => join(ROOT, 'node_modules', '.bin', name);
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.css': 'text/css' };

/** A static file server for `dir` on a free port. */
async function serve(dir) {
  const server = createServer((request, response) => {
    const path = join(dir, decodeURIComponent(new URL(request.url, 'http://x').pathname));
    const file = existsSync(path) && !path.endsWith('/') ? path : join(path, 'index.html');
    if (!existsSync(file)) return response.writeHead(404).end();
    response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = () => {
    const closed = new Promise((resolve) => server.close(resolve));
    server.closeAllConnections();
    return closed;
  };
  return { url: `http://127.0.0.1:${server.address().port}`, close };
}

/** The app both variants run: connect, send a message, report. */
const APP = (importFrom) => `
import { StreamChat, init } from '${importFrom}';
// What wasm-bindgen's init resolves to keeps its \`memory\` (apps measure the SDK's memory through it).
const memory = (await init()).memory instanceof WebAssembly.Memory;
const server = new URLSearchParams(location.search).get('server');
const client = new StreamChat('demo-key', { baseURL: server });
const opened = await client.connectUser({ id: 'app-user', name: 'App' }, client.devToken('app-user'));
const channel = client.channel('messaging', 'packaged', { members: ['app-user'] });
await channel.watch();
const sent = await channel.sendMessage({ text: 'sent from the packaged SDK' });
window.result = { connectionId: opened.connection_id, messageId: sent.message.id, count: channel.state.messages.length, memory };
`;

/** Each tool this test runs gets 3 minutes; npm never asks the registry (the tarball has no dependencies). */
const TOOL = { timeout: 180_000, env: { ...process.env, npm_config_update_notifier: 'false' } };

function packTarball(into) {
  const output = execFileSync('npm', ['pack', '--pack-destination', into, '--json'], { ...TOOL, cwd: ROOT, encoding: 'utf8' });
  return join(into, JSON.parse(output)[0].filename);
}

test('the packed tarball works in a Vite app, without a bundler, and type-checks', async () => {
  const { dir, cleanup } = tempDir();
  const chat = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  const servers = [];
  try {
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }));
    const tarball = packTarball(dir);
    execFileSync('npm', ['install', tarball, '--offline', '--no-audit', '--no-fund', '--no-package-lock'], {
      ...TOOL,
      cwd: app,
      stdio: 'pipe',
    });

    // (1) Vite.
    writeFileSync(join(app, 'index.html'), '<!doctype html><script type="module" src="/main.js"></script>');
    writeFileSync(join(app, 'main.js'), APP('stream-chat-wasm'));
    execFileSync(process.execPath, [join(ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'warn'], {
      ...TOOL,
      cwd: app,
      stdio: 'pipe',
    });
    // (2) No bundler: the page imports the installed package's entry by path.
    mkdirSync(join(app, 'plain'));
    writeFileSync(join(app, 'plain', 'index.html'), '<!doctype html><script type="module" src="./main.js"></script>');
    writeFileSync(join(app, 'plain', 'main.js'), APP('../node_modules/stream-chat-wasm/index.js'));

    for (const [name, root, path] of [
      ['vite', join(app, 'dist'), '/'],
      ['plain', app, '/plain/'],
    ]) {
      const site = await serve(root);
      servers.push(site);
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(`${site.url}${path}?server=${encodeURIComponent(chat.url)}`);
      await page.waitForFunction(() => window.result, null, { timeout: 15_000 }).catch(() => {});
      const result = await page.evaluate(() => window.result);
      assert.ok(result, `${name}: the app finished (${errors.join('; ')})`);
      assert.ok(result.connectionId, `${name}: connected`);
      assert.ok(result.messageId, `${name}: sent`);
      assert.ok(result.count >= 1, `${name}: the message is in the channel state`);
      assert.ok(result.memory, `${name}: init() resolves to the wasm's exports with its memory`);
    }

    // (3) TypeScript: the package's types, used the way the README shows.
    writeFileSync(
      join(app, 'check.ts'),
      `import { StreamChat, init, type Channel, type ChannelState, type ConnectionOpen, type Event } from 'stream-chat-wasm';
const memory: WebAssembly.Memory = (await init()).memory;
const client = StreamChat.getInstance('demo-key', { baseURL: 'http://127.0.0.1:8080', enableWSFallback: true });
const opened: ConnectionOpen = await client.connectUser(
  { id: 'alice', name: 'Alice', privacy_settings: { typing_indicators: { enabled: false } } },
  client.devToken('alice'),
);
const connectionId: string = opened.connection_id;
const unsubscribe = client.on('connection.changed', (event: Event) => console.log(event.online, connectionId));
unsubscribe.unsubscribe();
const channel: Channel = client.channel('messaging', 'general', { members: ['alice', 'bob'] });
await channel.watch();
await channel.sendMessage({ text: 'hi' });
const state: ChannelState = channel.state;
const unread: number = state.unreadCount + channel.countUnread();
const texts: string[] = state.messages.map((message) => message.text);
const channels: Channel[] = await client.queryChannels({ members: { $in: ['alice'] } }, { last_message_at: -1 }, { limit: 10 });
console.log(unread, texts, channels.length, memory.buffer.byteLength);
// @ts-expect-error: timeout is a number
new StreamChat('demo-key', { timeout: 'slow' });
// @ts-expect-error: connectUser needs a user with an id
client.connectUser({ name: 'no id' }, 'token');
`,
    );
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'es2022',
          module: 'esnext',
          moduleResolution: 'bundler',
          lib: ['es2022', 'dom'],
          strict: true,
          noEmit: true,
          skipLibCheck: false,
        },
        files: ['check.ts'],
      }),
    );
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', app], { ...TOOL, encoding: 'utf8' });
    } catch (error) {
      assert.fail(`tsc --noEmit failed:\n${error.stdout}${error.stderr}`);
    }
  } finally {
    // The browser first: a static server's close() waits for the connections the browser still holds.
    await browser.close();
    await Promise.all(servers.map((site) => site.close()));
    await chat.stop();
    cleanup();
  }
});
