// The demo page, driven like a person would: Alice types and Bob's pane shows it, Alice sends and Bob's pane shows
// the message and marks it read, Alice's pane shows "Seen by Bob"; Bob's read receipts off removes that; Alice's
// typing indicators off stop Bob's indicator; both panes list both members online; Bob's ♥ shows on Alice's side;
// Alice edits and deletes her message; "block WebSockets" moves Bob to long-poll and chat still works. The page
// loads with a clean browser console.
// A screenshot of the page goes to test-output/ on every run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, startServer, tempDir } from './helpers.mjs';

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
