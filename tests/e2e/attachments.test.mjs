// Attachments and search, compared: the same app snippet runs with the official client's browser build and with ours, in one
// Chromium page against one server, and what the app observes must be the same: sendImage / sendFile answering an
// absolute URL the page can load (the image inline, the file as a download, both inert), a message carrying it
// reaching the other user, the errors of a file over the server's limit (413, code 22) and of an SVG sent as an
// image (code 4), and deleteImage / deleteFile making the URL answer 404; client.search / channel.search by words,
// word starts and pins, paged with `next`, each result with its channel; the UI kits' other search boxes: channels
// by name and users by id or name (`$autocomplete`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { comparisonSuite } from './helpers.mjs';

const suite = comparisonSuite({ args: ['--max-upload-bytes', '65536'] });

test('sendImage, sendFile, attachments on messages, limits and deletes', async () => {
  const seen = await suite.both(async (kind) => {
    const { a, b, ours, theirs } = await pair(kind, [`${kind}-sender`, `${kind}-reader`], `${kind}-files`);
    const png = new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 1]);
    const load = async (url) => {
      const response = await fetch(url);
      return {
        status: response.status,
        type: response.headers.get('content-type'),
        disposition: (response.headers.get('content-disposition') ?? '').split(';')[0],
        nosniff: response.headers.get('x-content-type-options'),
        sandbox: response.headers.get('content-security-policy'),
        bytes: (await response.arrayBuffer()).byteLength,
      };
    };
    const refusal = async (promise) => {
      try {
        await promise;
        return 'resolved';
      } catch (error) {
        return { code: error.code, status: error.status, parsed: JSON.parse(error.message.replace(/^[^{]*/, '') || '{}').code ?? null };
      }
    };
    const observed = {};

    const image = await ours.sendImage(new File([png], 'cat.png', { type: 'image/png' }));
    observed.imageUrl = image.file.startsWith(`${location.origin}/uploads/`) && image.file.endsWith('/cat.png');
    observed.imageServed = await load(image.file);
    const file = await ours.sendFile(new Blob(['hello notes'], { type: 'text/plain' }), 'notes.txt', 'text/plain');
    observed.fileUrl = file.file.endsWith('/notes.txt');
    observed.fileServed = await load(file.file);

    const arrived = next(theirs, 'message.new');
    await ours.sendMessage({
      text: 'look',
      attachments: [
        { type: 'image', image_url: image.file, fallback: 'cat.png', mime_type: 'image/png' },
        { type: 'file', asset_url: file.file, title: 'notes.txt', mime_type: 'text/plain' },
      ],
    });
    const event = await arrived;
    observed.received = event.message.attachments.map((a) => a.image_url === image.file || a.asset_url === file.file);
    observed.inState = theirs.state.messages.at(-1).attachments.length;

    observed.tooBig = await refusal(ours.sendImage(new Blob([png, new Uint8Array(100_000)], { type: 'image/png' }), 'big.png'));
    const svg = '<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>';
    observed.svgAsImage = await refusal(ours.sendImage(new Blob([svg], { type: 'image/png' }), 'x.png'));
    observed.strangerDelete = await refusal(theirs.deleteImage(image.file));

    observed.deletedImage = Object.keys(await ours.deleteImage(image.file)).sort();
    observed.afterImageDelete = (await load(image.file)).status;
    await ours.deleteFile(file.file);
    observed.afterFileDelete = (await load(file.file)).status;
    await a.disconnectUser();
    await b.disconnectUser();
    return observed;
  });
  const official = seen.official;
  assert.equal(official.imageUrl, true);
  assert.deepEqual(official.imageServed, {
    status: 200, type: 'image/png', disposition: 'inline', nosniff: 'nosniff', sandbox: 'sandbox', bytes: 20,
  });
  assert.equal(official.fileServed.disposition, 'attachment');
  assert.deepEqual(official.received, [true, true]);
  assert.equal(official.tooBig.status, 413);
  assert.equal(official.tooBig.code, 22);
  assert.equal(official.svgAsImage.code, 4);
  assert.equal(official.strangerDelete.code, 17);
  assert.equal(official.afterImageDelete, 404);
  assert.equal(official.afterFileDelete, 404);
  assert.deepEqual(seen.ours, seen.official);
});

test('client.search, channel.search, channels by name and users by id or name', async () => {
  const seen = await suite.both(async (kind) => {
    const [finder, other] = [`${kind}-finder`, `${kind}-other`];
    const people = [{ id: finder, name: 'Finder' }, { id: other, name: `Other ${kind}person` }];
    const { a, b, ours, theirs } = await pair(kind, people, `${kind}-search`, { name: `Searchable ${kind}` });
    for (const text of ['the quick brown fox', 'lazy dog sleeps', 'quick thinking']) {
      await theirs.sendMessage({ text });
    }
    const { message } = await ours.sendMessage({ text: 'pinned quickly' });
    await a.pinMessage(message);
    const texts = (answer) => answer.results.map((result) => result.message.text);
    const observed = {};

    const found = await a.search({ members: { $in: [finder] } }, 'quick', { limit: 10 });
    observed.byWord = texts(found);
    observed.channelOfResult = found.results.map((r) => r.message.channel?.cid === ours.cid && r.message.channel?.type === 'messaging');
    observed.createdAtIsText = typeof found.results[0].message.created_at;
    observed.byStart = texts(await ours.search({ text: { $autocomplete: 'sle' } }));
    observed.pinned = texts(await ours.search({ pinned: true, text: { $autocomplete: 'qui' } }));
    const first = await a.search({ cid: ours.cid }, 'quick', { limit: 1, sort: [{ created_at: 1 }] });
    const second = await a.search({ cid: ours.cid }, 'quick', { limit: 1, next: first.next, sort: [{ created_at: 1 }] });
    observed.pages = [texts(first), typeof first.next, texts(second)];
    try {
      await a.search({ cid: ours.cid }, 'quick', { offset: 1, next: first.next });
      observed.offsetAndNext = 'resolved';
    } catch {
      observed.offsetAndNext = 'rejected';
    }
    try {
      await a.search({ cid: ours.cid }, 'x'.repeat(2000));
      observed.hugeQuery = 'resolved';
    } catch (error) {
      observed.hugeQuery = error.code;
    }

    const channels = await a.queryChannels({ members: { $in: [finder] }, name: { $autocomplete: 'searcha' } });
    observed.channelsByName = channels.map((c) => c.cid === ours.cid);
    const users = await a.queryUsers(
      { $or: [{ id: { $autocomplete: other } }, { name: { $autocomplete: `${kind}pers` } }] },
      { id: 1 },
    );
    observed.usersFound = users.users.map((u) => u.id === other);
    await a.disconnectUser();
    await b.disconnectUser();
    return observed;
  });
  const official = seen.official;
  assert.deepEqual(official.byWord, ['quick thinking', 'the quick brown fox'], 'whole words: not "quickly"');
  assert.deepEqual(official.channelOfResult, [true, true]);
  assert.deepEqual(official.byStart, ['lazy dog sleeps']);
  assert.deepEqual(official.pinned, ['pinned quickly']);
  assert.deepEqual(official.pages, [['the quick brown fox'], 'string', ['quick thinking']]);
  assert.equal(official.offsetAndNext, 'rejected');
  assert.equal(official.hugeQuery, 4);
  assert.deepEqual(official.channelsByName, [true]);
  assert.deepEqual(official.usersFound, [true]);
  assert.deepEqual(seen.ours, seen.official);
});
