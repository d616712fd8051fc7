// The demo page, driven like a person would: Alice types and Bob's pane shows it, Alice sends and Bob's pane shows
// the message and marks it read, Alice's pane shows "Seen by Bob"; Bob's read receipts off removes that; Alice's
// typing indicators off stop Bob's indicator; both panes list both members online; Bob's ♥ shows on Alice's side;
// Alice edits and deletes her message; "block WebSockets" moves Bob to long-poll and chat still works. The page
// loads with a clean browser console. A second tab of the page shares the first one's connections (the page shows the
// server's count), and the page reloaded with the network off draws the chat from the local cache, then catches up.
// A screenshot of the page goes to test-output/ on every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, serverConnections, startServer, tempDir, until } from './helpers.mjs';

const OUTPUT = new URL('../../test-output/', import.meta.url).pathname;
const pane = (user) => `section[data-user="${user}"]`;

test('the demo page shows typing, messages, read receipts, privacy switches and the long-poll fallback', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    const errors = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const consoleErrors = [];
    page.on('console', (message) => message.type() === 'error' && consoleErrors.push(message.text()));
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    for (const user of ['alice', 'bob']) {
      await page.waitForSelector(`${pane(user)} .badge.online`, { timeout: 10_000 });
      assert.match(await page.textContent(`${pane(user)} .badge`), /WebSocket · online/);
    }
    const alice = page.locator(`${pane('alice')} form input`);
    const bobTyping = page.locator(`${pane('bob')} [data-role="typing-indicator"]`);

    // Alice types: Bob's pane shows it.
    await alice.pressSequentially('Hello', { delay: 20 });
    await page.waitForFunction((sel) => document.querySelector(sel).textContent === 'Alice is typing…',
      `${pane('bob')} [data-role="typing-indicator"]`, { timeout: 10_000 });
    // Alice sends: Bob sees it, reads it, and Alice's pane says so.
    await alice.press('Enter');
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((m) => m.textContent.endsWith('Hello')),
      `${pane('bob')} .message`, { timeout: 10_000 });
    await page.waitForSelector(`${pane('alice')} .seen`, { timeout: 10_000 });
    assert.equal(await page.textContent(`${pane('alice')} .seen`), 'Seen by Bob');
    assert.equal(await bobTyping.textContent(), '', 'typing stops with the message');

    // Members with online dots: each pane lists both, both online.
    for (const user of ['alice', 'bob']) {
      await page.waitForFunction((sel) => document.querySelectorAll(sel).length === 2, `${pane(user)} .members .dot.online`,
        { timeout: 10_000 });
    }
    // Bob reacts with ♥ to Alice's message; Alice's pane shows the count.
    const message = (user, text) => page.locator(`${pane(user)} .message`, { hasText: text });
    await message('bob', 'Hello').locator('[data-role="love"]').click();
    await page.waitForFunction((sel) => document.querySelector(sel)?.textContent === '♥ 1',
      `${pane('alice')} .message [data-role="love"]`, { timeout: 10_000 });
    // Alice edits her message; Bob's pane shows the new text. Then she deletes it.
    await message('alice', 'Hello').locator('[data-role="edit"]').click();
    await alice.fill('Hello, edited');
    await alice.press('Enter');
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((m) => m.textContent.endsWith('Hello, edited')),
      `${pane('bob')} .message`, { timeout: 10_000 });
    await message('alice', 'Hello, edited').locator('[data-role="delete"]').click();
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((m) => m.textContent.endsWith('message deleted')),
      `${pane('bob')} .message.deleted`, { timeout: 10_000 });

    // Bob's read receipts off: Alice's pane no longer shows what Bob has seen.
    await page.uncheck(`${pane('bob')} [data-role="receipts"]`);
    await page.waitForSelector(`${pane('alice')} .seen`, { state: 'detached', timeout: 10_000 });
    await alice.fill('Still there?');
    await alice.press('Enter');
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((m) => m.textContent.endsWith('Still there?')),
      `${pane('bob')} .message`, { timeout: 10_000 });
    assert.equal(await page.locator(`${pane('alice')} .seen`).count(), 0, 'no "Seen by Bob" while his receipts are off');

    // Alice's typing indicators off: Bob's pane never shows her typing.
    await page.uncheck(`${pane('alice')} [data-role="typing"]`);
    await page.waitForSelector(`${pane('alice')} .badge.online`, { timeout: 10_000 });
    await page.evaluate((sel) => {
      window.sawTyping = false;
      new MutationObserver(() => { window.sawTyping ||= document.querySelector(sel).textContent !== ''; })
        .observe(document.querySelector(sel), { childList: true, characterData: true, subtree: true });
    }, `${pane('bob')} [data-role="typing-indicator"]`);
    await alice.pressSequentially('Quiet typing', { delay: 20 });
    await alice.press('Enter');
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((m) => m.textContent.endsWith('Quiet typing')),
      `${pane('bob')} .message`, { timeout: 10_000 });
    assert.equal(await page.evaluate(() => window.sawTyping), false);

    // Up to here the console is clean (blocking WebSockets below makes the browser log the failed handshake).
    assert.deepEqual(consoleErrors, [], 'a clean browser console');

    // Block WebSockets for Bob: he moves to long-poll and the chat still works both ways.
    await page.check(`${pane('bob')} [data-role="blockws"]`);
    await page.waitForFunction((sel) => document.querySelector(sel).textContent === 'long-poll · online',
      `${pane('bob')} .badge`, { timeout: 15_000 });
    await alice.fill('Over long-poll?');
    await alice.press('Enter');
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((m) => m.textContent.endsWith('Over long-poll?')),
      `${pane('bob')} .message`, { timeout: 15_000 });
    const bob = page.locator(`${pane('bob')} form input`);
    await bob.fill('Yes!');
    await bob.press('Enter');
    await page.waitForFunction((sel) => [...document.querySelectorAll(sel)].some((m) => m.textContent.endsWith('Yes!')),
      `${pane('alice')} .message`, { timeout: 15_000 });

    assert.equal(await page.textContent('#error'), '', 'no error shown');
    assert.deepEqual(errors, []);
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'demo.png'), fullPage: true });
    await page.setViewportSize({ width: 390, height: 900 });
    await page.screenshot({ path: join(OUTPUT, 'demo-phone.png'), fullPage: true });
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});

test('the demo page shows an error when the server is down', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage();
    await page.goto(`${server.url}/`);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    await server.stop();
    await page.check(`${pane('alice')} [data-role="receipts"]`).catch(() => {});
    await page.uncheck(`${pane('alice')} [data-role="receipts"]`);
    await page.waitForFunction(() => document.getElementById('error').textContent !== '', null, { timeout: 30_000 });
    assert.match(await page.textContent('#error'), /could not be established|network/);
  } finally {
    await browser.close();
    cleanup();
  }
});

test('the demo page in two tabs holds one connection per user, and reloads with the network off', async () => {
  const { dir, cleanup } = tempDir();
  const server = await startServer({ db: join(dir, 'chat.db') });
  const browser = await launchBrowser();
  const shown = (page, user, text) => page.waitForFunction(([sel, text]) =>
    [...document.querySelectorAll(sel)].some((m) => m.textContent.endsWith(text)), [`${pane(user)} .message`, text],
  { timeout: 20_000 });
  const send = async (page, user, text) => {
    await page.locator(`${pane(user)} form input`).fill(text);
    await page.locator(`${pane(user)} form input`).press('Enter');
  };
  try {
    const context = await browser.newContext();
    const first = await context.newPage();
    await first.goto(`${server.url}/`);
    await first.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    await first.evaluate(() => navigator.serviceWorker.ready);
    await send(first, 'alice', 'Before the second tab');
    await shown(first, 'bob', 'Before the second tab');
    await until(async () => (await serverConnections(server.url)) === 2, 'one connection per user');
    await first.waitForFunction(() => document.getElementById('connections').textContent === '2', null, { timeout: 10_000 });

    // A second tab: both panes online and chatting, and still two connections on the server.
    const second = await context.newPage();
    await second.goto(`${server.url}/`);
    await second.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    for (const user of ['alice', 'bob']) await second.waitForSelector(`${pane(user)} .badge.online`, { timeout: 10_000 });
    await shown(second, 'bob', 'Before the second tab');
    await send(second, 'alice', 'From the second tab');
    await shown(first, 'bob', 'From the second tab');
    await shown(second, 'bob', 'From the second tab');
    assert.equal(await serverConnections(server.url), 2, 'the second tab opened no connection of its own');
    await second.waitForFunction(() => document.getElementById('connections').textContent === '2', null, { timeout: 10_000 });
    await second.close();
    // The SDK keeps what arrived in IndexedDB within 500 ms: wait until it has, for both users.
    const kept = (user) => first.evaluate((user) => new Promise((resolve) => {
      const open = indexedDB.open('stream-chat-wasm', 1);
      open.onsuccess = () => {
        const got = open.result.transaction('lists').objectStore('lists').get(`demo-key:${user}:Cmessaging:demo`);
        got.onsuccess = () => resolve((got.result?.messages ?? []).map((m) => m.text));
      };
    }), user);
    for (const user of ['alice', 'bob']) {
      await until(async () => (await kept(user)).includes('From the second tab'), `${user}'s kept channel`);
    }

    // The network goes away and the page is loaded again: the service worker gives the page, the cache the chat.
    await context.setOffline(true);
    const reloaded = await first.reload();
    assert.ok(reloaded.fromServiceWorker(), 'the page came from the service worker');
    for (const user of ['alice', 'bob']) {
      await shown(first, user, 'From the second tab');
      await first.waitForFunction((sel) => document.querySelector(sel).textContent.includes('from cache'),
        `${pane(user)} .badge`, { timeout: 10_000 });
    }

    // The network is back: both panes connect, the cache gives way to the server's state, and chat works.
    await context.setOffline(false);
    for (const user of ['alice', 'bob']) {
      await first.waitForFunction((sel) => document.querySelector(sel).textContent === 'WebSocket · online',
        `${pane(user)} .badge`, { timeout: 30_000 });
    }
    await send(first, 'bob', 'After the reload');
    await shown(first, 'alice', 'After the reload');
    await until(async () => (await serverConnections(server.url)) === 2, 'one connection per user again');
  } finally {
    await browser.close();
    await server.stop();
    cleanup();
  }
});
