// Sends that survive going offline: messages sent while the browser is offline (CDP network emulation) show in
// `channel.state` as `sending`, outlive a reload attempted offline, and reach the other user once each, in order,
// when the app loads again online; a message the server refuses is marked `failed`, and sending it again works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamChat } from 'stream-chat';
import { browserSuite, until } from './helpers.mjs';

const suite = browserSuite();

/** Loads the app in `page`: our SDK connected as `id`, watching `messaging:<channelId>`. */
async function loadApp(page, id, channelId) {
  await page.goto(`${suite.server.url}/metrics`);
  await page.evaluate(
    async ({ id, channelId }) => {
      const sdk = await import('/pkg/stream_chat_wasm.js');
      await sdk.default();
      const client = new sdk.StreamChat('demo-key', { baseURL: location.origin });
      window.client = client;
      await client.connectUser({ id }, client.devToken(id));
      window.channel = client.channel('messaging', channelId);
      await window.channel.watch();
      window.mine = (prefix) =>
        window.channel.state.messages.filter((m) => m.text.startsWith(prefix)).map((m) => [m.text, m.status]);
      window.events = [];
      client.on('connection.changed', (event) => window.events.push(event.online));
    },
    { id, channelId },
  );
}

/**
 * Bob, with the official client, in `messaging:<channelId>` with alice; `texts` lists the messages he got. With
 * `watch: false` he only creates the channel (the official client answers a watched channel's `frozen` change with
 * a query of its own, which would outlive the test).
 */
async function bobIn(channelId, alice, { watch = true } = {}) {
  const bob = new StreamChat('demo-key', { baseURL: suite.server.url, allowServerSideConnect: true });
  await bob.connectUser({ id: `${alice}-bob` }, bob.devToken(`${alice}-bob`));
  const channel = bob.channel('messaging', channelId, { members: [alice, `${alice}-bob`] });
  await (watch ? channel.watch() : channel.create());
  const texts = [];
  channel.on('message.new', (event) => texts.push(event.message.text));
  return { bob, channel, texts };
}

/** Takes `page`'s browser context offline and waits until the SDK noticed (`connection.changed` offline). */
async function goOffline(page) {
  await page.context().setOffline(true);
  await page.waitForFunction(() => !navigator.onLine);
}

test('messages sent offline outlive a reload and reach the other user once each, in order', async () => {
  const context = await suite.browser.newContext();
  const { bob, channel, texts } = await bobIn('offline-sends', 'off-alice');
  try {
    let page = await context.newPage();
    await loadApp(page, 'off-alice', 'offline-sends');
    await goOffline(page);
    const shown = await page.evaluate(() => {
      window.outcomes = [];
      for (const text of ['offline 1', 'offline 2', 'offline 3']) {
        window.channel.sendMessage({ text }).then(
          () => window.outcomes.push('sent'),
          (error) => window.outcomes.push(error.message),
        );
      }
      return window.mine('offline');
    });
    assert.deepEqual(shown, [
      ['offline 1', 'sending'],
      ['offline 2', 'sending'],
      ['offline 3', 'sending'],
    ]);
    assert.deepEqual(await page.evaluate(() => window.outcomes), [], 'the sends wait for the connection');

    // The reload happens offline (the page cannot load), then the network comes back and the app loads again.
    await assert.rejects(page.reload(), /ERR_INTERNET_DISCONNECTED/);
    await context.setOffline(false);
    await loadApp(page, 'off-alice', 'offline-sends');
    await until(() => texts.length >= 3, 'the three messages at bob');
    // A message sent now comes after them: whatever bob got before it is all he gets of them.
    await page.evaluate(() => window.channel.sendMessage({ text: 'online again' }));
    await until(() => texts.includes('online again'), 'the message sent online');
    assert.deepEqual(texts, ['offline 1', 'offline 2', 'offline 3', 'online again']);
    const stored = (await channel.query({ messages: { limit: 50 } })).messages.map((m) => m.text);
    assert.deepEqual(stored, ['offline 1', 'offline 2', 'offline 3', 'online again']);
    await until(
      async () =>
        JSON.stringify(await page.evaluate(() => window.mine('offline'))) ===
        JSON.stringify([
          ['offline 1', 'received'],
          ['offline 2', 'received'],
          ['offline 3', 'received'],
        ]),
      "alice's state with the three messages received",
    );
    // The outbox's keys; the tab leading the shared connection keeps a mark of its own there.
    const waiting = () => Object.keys(localStorage).filter((key) => key.startsWith('stream-chat-wasm:outbox:'));
    assert.deepEqual(await page.evaluate(waiting), [], 'nothing left waiting');
  } finally {
    await bob.disconnectUser();
    await context.close();
  }
});

test('a message the server refuses after the connection is back is failed, and sending it again works', async () => {
  const context = await suite.browser.newContext();
  const { bob, channel } = await bobIn('offline-refused', 'ref-alice', { watch: false });
  try {
    const page = await context.newPage();
    await loadApp(page, 'ref-alice', 'offline-refused');
    await goOffline(page);
    await page.evaluate(() => {
      window.sent = window.channel.sendMessage({ text: 'while frozen' }).then(
        (answer) => ({ sent: answer.message.id }),
        (error) => ({ code: error.code, id: error.message_id }),
      );
    });
    // Meanwhile the channel is frozen: the server refuses the message once it arrives.
    await channel.updatePartial({ set: { frozen: true } });
    await context.setOffline(false);
    const refused = await page.evaluate(() => window.sent);
    assert.equal(refused.code, 17);
    assert.deepEqual(await page.evaluate(() => window.mine('while frozen')), [['while frozen', 'failed']]);

    await channel.updatePartial({ set: { frozen: false } });
    const retried = await page.evaluate(async () => {
      const failed = window.channel.state.messages.find((m) => m.status === 'failed');
      const answer = await window.channel.sendMessage(failed);
      return { id: failed.id, sent: answer.message.id, state: window.mine('while frozen') };
    });
    assert.equal(retried.sent, refused.id, 'the retry keeps the id');
    assert.equal(retried.id, refused.id);
    assert.deepEqual(retried.state, [['while frozen', 'received']]);
    const stored = (await channel.query({ messages: { limit: 10 } })).messages.map((m) => m.text);
    assert.deepEqual(stored, ['while frozen'], 'stored once');
  } finally {
    await bob.disconnectUser();
    await context.close();
  }
});
