// The page's `offline` / `online` events reach every client of the page (the SDK listens once per page and hands
// each event to each client), and none reaches a client that has disconnected.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, openSdkPage, until } from './helpers.mjs';

const suite = browserSuite();

test("every client of a page hears the page go offline and come back; a disconnected one hears nothing", async () => {
  const page = await openSdkPage(suite.browser, suite.server.url);
  await page.evaluate(async () => {
    window.heard = {};
    window.clients = {};
    for (const id of ['ann', 'ben', 'cat']) {
      const client = await connectAs(id, { shareConnection: false });
      window.heard[id] = [];
      client.on('connection.changed', (e) => window.heard[id].push(`changed:${e.online}`));
      client.on('connection.recovered', () => window.heard[id].push('recovered'));
      window.clients[id] = client;
    }
    await window.clients.cat.disconnectUser();
    window.heard.cat = [];
  });
  const heard = () => page.evaluate(() => window.heard);

  await page.evaluate(() => window.dispatchEvent(new Event('offline')));
  await until(async () => {
    const { ann, ben } = await heard();
    return ann.includes('changed:false') && ben.includes('changed:false');
  }, 'both connected clients heard the page go offline');
  await page.evaluate(() => window.dispatchEvent(new Event('online')));
  await until(async () => {
    const { ann, ben } = await heard();
    return ann.includes('recovered') && ben.includes('recovered');
  }, 'both connected clients came back');
  for (const id of ['ann', 'ben']) {
    assert.ok(await page.evaluate((id) => window.clients[id].wsConnection?.isHealthy, id), `${id} is connected`);
  }
  assert.deepEqual((await heard()).cat, [], 'the disconnected client heard nothing');
  await page.evaluate(() => Promise.all([window.clients.ann.disconnectUser(), window.clients.ben.disconnectUser()]));
  await page.close();
});
