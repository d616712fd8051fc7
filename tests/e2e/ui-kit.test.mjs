// The official React UI kit (stream-chat-react 14, its getting-started app: Chat, ChannelList, Channel, Window,
// ChannelHeader, MessageList, MessageComposer, Thread) on the official client against our server, two users in two
// pages: a reaction, a thread reply whose "1 reply" shows on the other page and opens the thread there, an edit, a
// delete, a pin, an image attached from the composer that loads on the other page, a quoted reply, muting a user
// from the message menu, and the channel list's search box finding a channel, a user and a message. No request
// fails and nothing is logged as an error in either page. All of it twice: on one server (SQLite), and on a cluster
// of two nodes on PostgreSQL and NATS behind nginx (uploads stored in PostgreSQL, served by any node). The app is
// bundled with the pinned esbuild (ui-kit/app.jsx); no network is used.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { build } from 'esbuild';
import { launchBrowser, signToken, startServer, tempDir } from './helpers.mjs';
import { KEY, SECRET, startBalancer, startNats, startNode, startPostgres } from './cluster-helpers.mjs';

let dir, cleanup, server, browser, bundle;
const cluster = {};

/** The getting-started layout (the kit's docs put it in the app's own CSS). */
const LAYOUT =
  'html,body,#root{height:100%;margin:0}#root{display:flex}' +
  '.str-chat__channel-list{width:30%;flex:none}.str-chat__channel{flex:1}.str-chat__thread{width:45%}';

before(async () => {
  ({ dir, cleanup } = tempDir());
  server = await startServer({ db: join(dir, 'chat.db') });
  browser = await launchBrowser();
  const built = await build({
    entryPoints: [join(import.meta.dirname, 'ui-kit', 'app.jsx')],
    bundle: true,
    write: false,
    format: 'esm',
    outdir: join(dir, 'ui-kit'),
    jsx: 'automatic',
    target: 'es2022',
    define: { 'process.env.NODE_ENV': '"production"' },
    loader: { '.woff': 'dataurl', '.woff2': 'dataurl', '.ttf': 'dataurl', '.svg': 'dataurl', '.png': 'dataurl' },
    logLevel: 'error',
  });
  const file = (suffix) => built.outputFiles.find((f) => f.path.endsWith(suffix))?.text ?? '';
  bundle = { js: file('.js'), css: file('.css') + LAYOUT };
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await cluster.lb?.stop();
  for (const node of cluster.nodes ?? []) await node.stop();
  await cluster.nats?.stop();
  cluster.postgres?.stop();
  cleanup?.();
});

/** A valid 1×1 PNG, so the other page can prove it decoded the served image. */
const PIXEL = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=',
  'base64',
);

/** A page with the app signed in as `user` on the server or balancer at `url` (with `token` and API key `key`, else
 * a dev token and the dev key), once its client is connected. */
async function openApp(url, user, token, key) {
  const page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
  const errors = [];
  page.on('pageerror', (error) => errors.push(error.message));
  page.on('console', (message) => message.type() === 'error' && errors.push(`console: ${message.text()}`));
  page.on('requestfailed', (request) => errors.push(`failed: ${request.method()} ${request.url()}`));
  page.on('response', (response) => {
    if (response.status() >= 400) errors.push(`${response.status()}: ${response.request().method()} ${response.url()}`);
  });
  page.errors = errors;
  await page.route('**/ui-kit/app.js', (route) => route.fulfill({ contentType: 'text/javascript', body: bundle.js }));
  // A page the server itself serves: Chromium refuses loopback sockets to a routed (so "public") page.
  const signed = token ? `&token=${token}&key=${key}` : '';
  await page.goto(`${url}/metrics?user=${user}${signed}`);
  await page.evaluate((css) => {
    document.documentElement.innerHTML = '<head></head><body><div id="root"></div></body>';
    const style = document.createElement('style');
    style.textContent = css;
    document.head.append(style);
  }, bundle.css);
  await page.evaluate(() => import('/ui-kit/app.js'));
  await page.waitForFunction((id) => window.chatClient?.userID === id, user);
  return page;
}

/** The message with `text` in the channel's main list (not the thread panel). */
const inList = (page, text) => page.locator('.str-chat__main-panel .str-chat__message', { hasText: text });

/** Opens the message actions menu of `message` and clicks `item`. */
async function menu(page, message, item) {
  await message.hover();
  await message.getByRole('button', { name: 'Open Message Actions Menu' }).click();
  await page.locator('.str-chat__message-actions-list-item-button', { hasText: item }).click();
}

test('the official React UI kit runs on our server (SQLite): reactions, thread replies, edit, delete, pin, image, quote, mute, search', async () => {
  await useTheApp((user) => openApp(server.url, user));
});

test('the same on a cluster: two nodes on PostgreSQL and NATS behind nginx', async () => {
  cluster.postgres = startPostgres();
  cluster.nats = await startNats();
  cluster.nodes = [];
  for (const id of ['n1', 'n2']) {
    cluster.nodes.push(await startNode(id, { db: cluster.postgres.url, bus: cluster.nats.url }));
  }
  cluster.lb = await startBalancer(cluster.nodes.map((node, at) => ({ id: `n${at + 1}`, port: node.port })));
  await useTheApp((user) => openApp(cluster.lb.url, user, signToken({ user_id: user }, SECRET), KEY));
});

/** Two users of the app, opened by `open(user)`, use every control the kit shows. */
async function useTheApp(open) {
  const setup = await open('alice');
  await setup.evaluate(async () => {
    const channel = window.chatClient.channel('messaging', 'ui-kit', { members: ['alice', 'bob'], name: 'UI kit' });
    await channel.create();
    await channel.sendMessage({ text: 'hello from alice' });
  });
  await setup.close();
  const alice = await open('alice');
  const bob = await open('bob');

  // Every control shows: the channel announces the capabilities and config the kit checks.
  const onBob = inList(bob, 'hello from alice');
  await onBob.hover();
  await onBob.getByRole('button', { name: 'Open Reaction Selector' }).click();
  await bob.getByRole('button', { name: 'Select Reaction: Heart' }).click();
  const onAlice = inList(alice, 'hello from alice');
  await onAlice.locator('.str-chat__message-reactions', { hasText: '1' }).waitFor();

  // A thread reply: "1 reply" appears on the other page, and opens the thread there.
  await onBob.hover();
  await onBob.getByRole('button', { name: 'Open Thread' }).click();
  const threadBox = bob.locator('.str-chat__thread textarea');
  await threadBox.fill('a reply from bob');
  await threadBox.press('Enter');
  const replies = onAlice.locator('.str-chat__message-replies-count-button', { hasText: '1 reply' });
  await replies.click();
  await alice.locator('.str-chat__thread .str-chat__message', { hasText: 'a reply from bob' }).waitFor();

  // Edit and delete from the message menu; the other page follows. Alice's edit answer comes a second late (as on
  // a slow network), after bob already sees the edit: the kit leaves edit mode only when the answer is in, so text
  // typed before then would be sent as another edit or cleared.
  const editUrl = /\/messages\/[^/?]+(\?|$)/;
  await alice.route(editUrl, async (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    const response = await route.fetch();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await route.fulfill({ response });
  });
  await menu(alice, onAlice, 'Edit Message');
  const composer = alice.locator('.str-chat__main-panel textarea').first();
  await composer.fill('hello, edited');
  await composer.press('Enter');
  await inList(bob, 'hello, edited').waitFor();
  await alice.waitForFunction(() => document.querySelector('.str-chat__main-panel textarea')?.value === '');
  await alice.unroute(editUrl);
  await composer.fill('delete me');
  await composer.press('Enter');
  const doomed = inList(bob, 'delete me');
  await doomed.waitFor();
  await menu(alice, inList(alice, 'delete me'), 'Delete message');
  await alice.locator('.str-chat__delete-message-alert__delete-button').click();
  await doomed.waitFor({ state: 'detached' });

  // Pin from the message menu: the other page shows it pinned.
  await menu(alice, inList(alice, 'hello, edited'), 'Pin');
  await bob.locator('.str-chat__main-panel .str-chat__message--pinned', { hasText: 'hello, edited' }).waitFor();

  // An image attached from the composer: uploaded (sendImage), sent, and drawn from the server on the other page.
  await alice.locator('.str-chat__main-panel input.str-chat__file-input').setInputFiles({
    name: 'pixel.png', mimeType: 'image/png', buffer: PIXEL,
  });
  await composer.fill('a picture');
  await alice.waitForFunction(() =>
    [...document.querySelectorAll('.str-chat__main-panel .str-chat__attachment-preview-image img, .str-chat__main-panel img')]
      .some((img) => img.src.startsWith('blob:') || img.src.includes('/uploads/')),
  );
  await alice.locator('.str-chat__main-panel button.str-chat__send-button').waitFor();
  await alice.waitForFunction(() => {
    const button = document.querySelector('.str-chat__main-panel button.str-chat__send-button');
    return button && !button.disabled;
  });
  await alice.locator('.str-chat__main-panel button.str-chat__send-button').click();
  const picture = inList(bob, 'a picture').locator('img.str-chat__base-image');
  await picture.waitFor();
  await bob.waitForFunction(
    () => [...document.querySelectorAll('.str-chat__main-panel img.str-chat__base-image')]
      .some((img) => img.src.includes('/uploads/') && img.complete && img.naturalWidth === 1),
  );

  // A quoted reply from the message menu: the other page shows the quote inside the reply.
  await menu(bob, inList(bob, 'hello, edited'), 'Quote Reply');
  const bobComposer = bob.locator('.str-chat__main-panel textarea').first();
  await bobComposer.fill('quoting alice');
  await bobComposer.press('Enter');
  await inList(alice, 'quoting alice').locator('.str-chat__quoted-message-preview', { hasText: 'hello, edited' }).waitFor();

  // Mute from the message menu: the kit's client learns it from the server, and the menu then offers Unmute.
  await menu(bob, inList(bob, 'hello, edited').first(), 'Mute');
  await bob.waitForFunction(() => window.chatClient.mutedUsers.some((mute) => mute.target.id === 'alice'));
  await bob.keyboard.press('Escape');
  const edited = inList(bob, 'hello, edited').first();
  await edited.hover();
  await edited.getByRole('button', { name: 'Open Message Actions Menu' }).click();
  await bob.locator('.str-chat__message-actions-list-item-button', { hasText: 'Unmute' }).waitFor();

  // The search box: a channel by a word of its name, a user by the start of their id, a message by a word (each
  // source shown by its filter button), and the message found opens its channel.
  const searchBox = bob.locator('.str-chat__search-bar__input');
  const result = (text) => bob.locator('.str-chat__search-results .str-chat__search-result', { hasText: text });
  const source = (name) => bob.getByRole('button', { name: `Search results header filter button for: ${name}` });
  await searchBox.fill('kit');
  await result('UI kit').first().waitFor();
  await source('users').click();
  await searchBox.fill('ali');
  await result('alice').first().waitFor();
  await source('messages').click();
  // The kit draws a found message as its channel's list item (with the channel's latest message); the one message
  // with the word is found, and opening it shows it.
  await searchBox.fill('picture');
  const found = bob.locator('.str-chat__search-results .str-chat__search-result');
  await found.filter({ hasText: 'UI kit' }).first().waitFor();
  assert.equal(await found.count(), 1);
  await found.first().click();
  await bob.locator('.str-chat__main-panel .str-chat__message', { hasText: 'a picture' }).first().waitFor();

  assert.deepEqual([...alice.errors, ...bob.errors], [], 'no failed request and no error in either page');
}
