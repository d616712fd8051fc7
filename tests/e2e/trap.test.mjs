// After a trap in the shipped package (which compiles a panic to a bare trap, with no panic hook: the glue's guard
// sees it, src/platform/fatal.rs), against the real server: the SDK stops instead of half-working. The trap here is
// a real one an app can meet: the page's memory is used up (the test grows the wasm's memory to what the browser
// allows), and a channel id too big for what is left makes the allocator fail. The call that trapped throws the
// `RuntimeError`, the call in flight rejects with the fatal error, `client.fatal` reaches the handlers, and every
// later call rejects with the same error. (tests/fatal.rs checks the same through the debug build's panic hook.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { browserSuite, openSdkPage } from './helpers.mjs';

const suite = browserSuite();

test('after a trap in the shipped package everything rejects with the fatal error and handlers hear of it', async () => {
  const page = await openSdkPage(suite.browser, suite.server.url);
  const seen = await page.evaluate(async () => {
    const client = await connectAs('alice');
    const channel = client.channel('messaging', 'trapped', { members: ['alice'] });
    await channel.watch();
    const fatal = new Promise((resolve, reject) => {
      client.on('client.fatal', resolve);
      setTimeout(() => reject(new Error('no client.fatal within 10 s')), 10_000);
    });
    const settle = (promise) => promise.then(() => 'resolved', (error) => error.message);
    // A call in flight when the trap happens.
    const inFlight = settle(channel.query({ messages: { limit: 10 } }));

    // Use up the memory: grow the wasm's by as much as the browser gives, halving the step when it refuses.
    const { memory } = await (await import('/pkg/stream_chat_wasm.js')).default();
    for (let pages = 1 << 15; pages >= 1; ) {
      try {
        memory.grow(pages);
      } catch {
        pages >>= 1;
      }
    }
    let trapped;
    try {
      client.channel('messaging', 'x'.repeat(64 << 20));
      trapped = 'no error';
    } catch (error) {
      trapped = `${error.constructor.name}`;
    }
    const event = await fatal.catch((error) => ({ type: error.message, error }));
    return {
      trapped,
      inFlight: await inFlight,
      event: { type: event.type, error: event.error.message },
      later: await settle(client.queryUsers({ id: 'alice' })),
      send: await settle(channel.sendMessage({ text: 'after' })),
    };
  });
  assert.equal(seen.trapped, 'RuntimeError', 'the call that trapped throws the trap');
  assert.match(seen.inFlight, /internal error/, 'the call in flight rejects with the fatal error');
  assert.equal(seen.event.type, 'client.fatal');
  assert.match(seen.event.error, /internal error/);
  assert.match(seen.later, /internal error/, 'a later call rejects with it');
  assert.match(seen.send, /internal error/, 'so does a later sendMessage');
});
