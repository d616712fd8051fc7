// The SDK's JavaScript helpers, one module for all (a browser fetches each snippet module separately in a debug
// build; the release build folds this one into the glue, scripts/inline-snippets.mjs). Each section is imported by
// the Rust file it names, whose `extern "C"` block documents its functions; what it exports must be functions.

// A page's first use of Web Locks and of `localStorage` sets up their link to the browser: with the CPU throttled
// 4x, 13-35 ms before the first lock is answered (2-5 ms after) and 4-11 ms blocked in the first `localStorage`
// read. `connectUser` needs both (the shared connection's lock, the offline outbox); make that first use in a task
// of its own as soon as the SDK is imported, while the wasm downloads and compiles.
setTimeout(() => {
  try { globalThis.localStorage && localStorage.length; } catch {}
  globalThis.navigator && navigator.locks && navigator.locks.query().catch(() => {});
}, 0);

// src/platform/values.rs
const isObject = (value) => value !== null && typeof value === 'object';
// An object as it is, or `{}`: what a spread into a new object takes (`{ ...asObject(options), … }`).
const asObject = (value) => (isObject(value) ? value : {});
// A shallow copy of an object, or `{}` (`values::copy`, and the helpers' own copies).
export function shallowCopy(value) { return { ...asObject(value) }; }
// `object[key]`, or `undefined` when `object` is not one (Rust's `values::get`).
const field = (object, key) => (isObject(object) ? object[key] : undefined);

// src/platform/page.rs
// The page's listeners are attached once, at the first client's, and stay: each client adds its `deliver` to
// these sets (`watchPage`) and takes it out when it stops. Chrome takes ~0.1 ms to add a page's first `pagehide`
// listener, and every `connectUser` paid for it again, and for six more.
const pageDelivers = new Set();
const pageHides = new Set();
let pageWired = false;
function wirePage() {
  if (pageWired || typeof window === 'undefined') return;
  pageWired = true;
  const doc = window.document;
  const wiring = [[window, 'online'], [window, 'offline'], [window, 'pageshow'], [doc, 'visibilitychange'], [doc, 'freeze'], [doc, 'resume']];
  // Each client's call on its own, as each had its own listener: one that throws does not keep the others from it.
  const each = (calls, ...args) => calls.forEach((call) => {
    try { call(...args); } catch (error) { globalThis.reportError?.(error); }
  });
  wiring.forEach(([target, name], event) => target.addEventListener(name, () => {
    if (event !== 3 || !doc.hidden) each(pageDelivers, event);
  }));
  window.addEventListener('pagehide', () => each(pageHides));
}
export function watchPage(deliver) {
  wirePage();
  pageDelivers.add(deliver);
  return () => pageDelivers.delete(deliver);
}

// src/platform/entropy.rs
export function uuid() {
  // The browser's own where the page is a secure context (https, localhost).
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = (bytes[6] & 15) | 64;
  bytes[8] = (bytes[8] & 63) | 128;
  const hex = Array.from(bytes, (byte) => (byte | 256).toString(16).slice(1)).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

// src/platform/shapes.rs
let strictUtf8;
// One encoder for the page: making a `TextEncoder` took ~20 µs of each `devToken` (a CPU profile of warm connects).
let utf8;
export function tokenPayload(token) {
  const [header, payload, signature, extra] = token.split('.');
  if (!header || signature === undefined || extra !== undefined || !/^[\w+/-]+=*$/.test(payload)) return;
  // base64url to base64, unpadded; a last lone character carries no whole byte (the core's decoder dropped it).
  let text = payload.replace(/=+$/, '').replace(/-/g, '+').replace(/_/g, '/');
  text = text.slice(0, text.length - (text.length % 4 === 1));
  try {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let at = 0; at < binary.length; at += 1) bytes[at] = binary.charCodeAt(at);
    const claims = JSON.parse((strictUtf8 ??= new TextDecoder('utf-8', { fatal: true })).decode(bytes));
    return isObject(claims) ? claims : undefined;
  } catch {}
}
export function devToken(userId) {
  const json = (utf8 ??= new TextEncoder()).encode(JSON.stringify({ user_id: userId }));
  return `eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.${btoa(String.fromCharCode(...json))}.devtoken`;
}

// src/state/kept_js.rs
function date(value, nowWhenAbsent) {
  if (typeof value === 'string' || value instanceof Date) {
    const parsed = new Date(value);
    if (!Number.isNaN(parsed.getTime())) return parsed;
  }
  return nowWhenAbsent ? new Date() : null;
}
let kept = null;
function copyOf(raw) {
  return { ...raw, created_at: date(raw.created_at, true), updated_at: date(raw.updated_at, true),
    deleted_at: date(raw.deleted_at, false), pinned_at: date(raw.pinned_at, false), status: raw.status || 'received' };
}
export function keepMessage(raw, messages) {
  const id = raw !== null && typeof raw === 'object' ? raw.id : undefined;
  if (typeof id !== 'string') return undefined;
  kept = copyOf(raw);
  if (!keptThreadOnly()) messages.set(id, kept);
  return id;
}
export function keepPage(list, messages) {
  const plain = (m) => m !== null && typeof m === 'object' && typeof m.id === 'string' && /^[\x02-\x7f]*$/.test(m.id) && typeof m.parent_id !== 'string';
  if (!list.every(plain)) return undefined;
  const times = new Float64Array(list.length);
  let ids = '';
  const copies = list.map((raw, at) => {
    ids += '\x01' + keepMessage(raw, messages);
    times[at] = kept.created_at.getTime();
    return kept;
  });
  return [(utf8 ??= new TextEncoder()).encode(ids), times, copies];
}
const byPinTime = (a, b) => (a.pinned_at ? a.pinned_at.getTime() : 0) - (b.pinned_at ? b.pinned_at.getTime() : 0);
export function setPinned(state, raw) {
  state.pinnedMessages = (Array.isArray(raw) ? raw : []).filter((m) => m && typeof m.id === 'string').map(copyOf).sort(byPinTime);
}
export function unpin(state, id) {
  const list = state.pinnedMessages.filter((m) => m.id !== id);
  if (list.length !== state.pinnedMessages.length) state.pinnedMessages = list;
}
export function pinKept(state, stays) {
  if (!stays || !kept.pinned) return unpin(state, kept.id);
  state.pinnedMessages = [...state.pinnedMessages.filter((m) => m.id !== kept.id), kept].sort(byPinTime);
}
const threadOnly = (message) => typeof message.parent_id === 'string' && !message.show_in_channel;
export function keptThreadOnly() { return threadOnly(kept); }
export function keptTime() { return kept.created_at.getTime(); }
export function keptIsReply() { return typeof kept.parent_id === 'string'; }
// Unread for nobody: `silent`, `shadowed` or a `system` message (the official client's `_countMessageAsUnread`).
const quiet = (message) => !!(message?.silent || message?.shadowed || message?.type === 'system');
export function keptQuiet() { return quiet(kept); }
const replyTime = (reply) => date(reply?.created_at, false)?.getTime() ?? -Infinity;
const repliesWithout = (state, parent, id) =>
  (Array.isArray(state.threads[parent]) ? state.threads[parent] : []).filter((reply) => reply?.id !== id);
export function fileKeptReply(state) {
  const replies = repliesWithout(state, kept.parent_id, kept.id);
  // In time order, whatever order pages and events arrive in (equal times keep arrival order).
  const at = kept.created_at.getTime();
  let position = replies.length;
  while (position > 0 && !(replyTime(replies[position - 1]) <= at)) position--;
  replies.splice(position, 0, kept);
  state.threads[kept.parent_id] = replies;
}
export function removeReply(state, parent, id) {
  const before = state.threads[parent];
  const replies = repliesWithout(state, parent, id);
  const removed = replies.length !== (Array.isArray(before) ? before.length : 0);
  if (removed) state.threads[parent] = replies;
  return removed;
}
export function requote(messages, raw, removed) {
  const quoted = removed ? { ...raw, attachments: [] } : raw;
  for (const m of messages.values()) if (m.quoted_message_id === raw.id) messages.set(m.id, { ...m, quoted_message: quoted });
}
export function messagesInOrder(messages, packed) {
  if (packed[0] === '\x01') return packed.slice(1).split('\x01').map((id) => messages.get(id));
  const list = [];
  for (let at = 0; at < packed.length; ) {
    const colon = packed.indexOf(':', at);
    const end = colon + 1 + Number(packed.slice(at, colon));
    list.push(messages.get(packed.slice(colon + 1, end)));
    at = end;
  }
  return list;
}

// src/api/uploads.rs
export function uploadForm(file, name, user) {
  const form = new FormData();
  if (name) form.append('file', file, name);
  else form.append('file', file);
  if (user != null) form.append('user', JSON.stringify(user));
  return form;
}

// src/platform/errors.rs
export function withMessageId(promise, id) {
  return promise.catch((error) => { if (error instanceof Error) error.message_id = id; throw error; });
}

// src/platform/fatal.rs
const pending = new Set();
export function pendingPromise() {
  const entry = {};
  const promise = new Promise((resolve, reject) => {
    entry.resolve = (value) => { pending.delete(entry); resolve(value); };
    entry.reject = (error) => { pending.delete(entry); reject(error); };
  });
  pending.add(entry);
  return [promise, entry.resolve, entry.reject];
}
export function rejectPending(error) { for (const entry of [...pending]) entry.reject(error); }
export function afterwards(task) { setTimeout(task, 0); }

// src/state/state_methods.rs
const CHANNEL = Symbol('channel');
function channelOf(state) {
  const channel = state[CHANNEL] && state[CHANNEL].deref();
  if (!channel) throw new Error('This channel was disconnected (disconnectUser); get it again with client.channel()');
  return channel;
}
const methods = {
  addMessageSorted(message, timestampChanged, addIfDoesNotExist) {
    channelOf(this).keepLocal(message, addIfDoesNotExist !== false);
  },
  removeMessage(message) { return channelOf(this).removeLocal(message); },
  findMessage(id, parentId) {
    const list = parentId ? this.threads[parentId] : this.messages;
    return list && list.find((message) => message.id === id);
  },
};
export function attachStateMethods(state, channel) {
  Object.setPrototypeOf(state, methods);
  Object.defineProperty(state, CHANNEL, { value: new WeakRef(channel) });
}

// src/runtime/share_link.rs
export function shareStart(name, deliver) {
  const locks = globalThis.navigator && navigator.locks;
  if (!locks || typeof BroadcastChannel !== 'function') return null;
  let ended = false, leading = false, joined = false, left = false, bus, stop, release, alone;
  // While a tab leads, `localStorage` holds `name`: a tab that finds it absent opens its socket while it asks for
  // the lock (`runtime/share.rs`). A tab closing without `disconnectUser()` clears it on `pagehide`.
  const mark = (on) => {
    try { on ? localStorage.setItem(name, 1) : leading && localStorage.removeItem(name); } catch {}
    leading = on;
  };
  const hide = () => mark(false);
  wirePage();
  pageHides.add(hide);
  const tell = (kind, value) => { if (!ended) deliver(kind, value); };
  const look = () => { try { alone = !localStorage.getItem(name); } catch {} };
  const join = () => {
    if (joined) return;
    joined = true;
    look();
    stop = new AbortController();
    const held = new Promise((resolve) => (release = resolve));
    const signal = stop.signal;
    // Granted after `leave()` (the first request cannot be aborted): let go at once.
    const lead = () => { if (signal.aborted) return; mark(true); tell(0); return held; };
    locks.request(name, { ifAvailable: true }, (lock) => {
      if (lock) return lead();
      tell(1);
      locks.request(name, { signal }, lead).catch(() => {});
    }).catch(() => {});
  };
  const leave = () => { left = true; joined = false; stop?.abort(); mark(false); release?.(); };
  // The channel is made once the caller's task is done, and the lock asked for then by a tab that found another
  // leading; a tab alone asks once its socket is open (`shareJoin`): asked during the WebSocket's handshake, the
  // lock delayed the socket's opening by ~0.3 ms.
  look();
  queueMicrotask(() => {
    if (ended) return;
    bus = new BroadcastChannel(name);
    bus.onmessage = (event) => Array.isArray(event.data) && tell(event.data[0], event.data[1]);
    if (!alone) join();
  });
  return {
    alone: () => alone, post: (kind, value) => bus?.postMessage([kind, value]), leave,
    // `soon`: in a task of its own, after what the socket's first frame settles (unless the page left meanwhile).
    join: (soon) => (soon ? setTimeout(() => left || ended || join()) : ((left = false), join())),
    end() { ended = true; leave(); bus?.close(); pageHides.delete(hide); },
  };
}
export function shareAlone(share) { return share.alone(); }
export function sharePost(share, kind, value) { share.post(kind, value); }
export function shareLeave(share) { share.leave(); }
export function shareJoin(share, soon) { share.join(soon); }
export function shareEnd(share) { share.end(); }

// src/runtime/outbox_queue.rs
let outboxSeq = 0;
function outboxKeys(prefix) {
  const keys = [];
  for (let i = 0; i < localStorage.length; i += 1) {
    const key = localStorage.key(i);
    if (key.startsWith(prefix)) keys.push(key);
  }
  return keys.sort();
}
export function outboxLoad(prefix) {
  const list = [];
  try {
    for (const key of outboxKeys(prefix)) {
      const entry = JSON.parse(localStorage.getItem(key));
      if (Array.isArray(entry) && typeof entry[0] === 'string' && entry[1] && typeof entry[1] === 'object') list.push([...entry, key]);
    }
  } catch {}
  return list;
}
export function outboxPut(prefix, cid, body, limit) {
  try {
    const json = JSON.stringify([cid, body]);
    let used = json.length;
    for (const key of outboxKeys(prefix)) used += localStorage.getItem(key).length;
    if (used > limit) return undefined;
    const key = prefix + String(Date.now()).padStart(15, '0') + String(outboxSeq++ % 1e6).padStart(6, '0') + ':' + body.message.id;
    localStorage.setItem(key, json);
    return key;
  } catch { return undefined; }
}
export function outboxDrop(key) { try { localStorage.removeItem(key); } catch {} }

// src/runtime/cache.rs
let cacheDb;
function cacheStore(mode) {
  cacheDb ??= new Promise((resolve, reject) => {
    const open = indexedDB.open('stream-chat-wasm', 1);
    open.onupgradeneeded = () => open.result.createObjectStore('lists');
    open.onsuccess = () => resolve(open.result);
    open.onerror = () => reject(open.error);
  });
  return cacheDb.then((db) => db.transaction('lists', mode).objectStore('lists'));
}
const idbResult = (request) => new Promise((resolve, reject) => {
  request.onsuccess = () => resolve(request.result);
  request.onerror = () => reject(request.error);
});
const keyRange = (prefix) => IDBKeyRange.bound(prefix, prefix + '\uffff');
const cacheKey = (value) => (value === undefined ? '' : typeof value === 'string' ? value : JSON.stringify(value));
const trimmed = (channel, messages) => ({ ...channel, messages: (channel.messages || []).slice(-messages) });
export function cacheLookup(prefix, space, value, server) {
  let answered = false;
  server.then(() => { answered = true; }, () => { answered = true; });
  if (!globalThis.indexedDB) return Promise.resolve();
  // A list's channels as kept under their cids: events keep those current (`cacheNote`).
  const current = (store, hit) => (hit && hit.channels
    ? Promise.all(hit.channels.map((c) => idbResult(store.get(prefix + 'C' + c.channel.cid)).then((kept) => kept || c)))
      .then((channels) => ({ ...hit, channels }))
    : hit);
  return cacheStore('readonly').then((store) => idbResult(store.get(prefix + space + cacheKey(value))).then((hit) => current(store, hit)))
    .then((hit) => (answered ? undefined : hit), () => undefined);
}
// Messages that events brought since a channel was kept, by kept key then message id (null: hard-deleted),
// written together at most 500 ms later or when the page is hidden.
const cacheChanges = new Map();
let cacheWriting, cacheWatching;
export function cacheNote(prefix, event, most) {
  const message = event.message;
  if (!globalThis.indexedDB || !event.cid || !message || typeof message.id !== 'string' || threadOnly(message)) return;
  const key = prefix + 'C' + event.cid;
  const changes = cacheChanges.get(key) || new Map();
  cacheChanges.set(key, changes);
  const added = event.type === 'message.new' || !!changes.get(message.id)?.added;
  changes.set(message.id, { message: event.type === 'message.deleted' && event.hard_delete ? null : message, added });
  if (cacheWriting === undefined) {
    cacheWriting = setTimeout(cacheWrite, 500, most);
    // A hidden page may be discarded without another chance to run (a phone switching apps).
    if (!cacheWatching) globalThis.document?.addEventListener('visibilitychange', () => document.hidden && cacheWrite(most));
    cacheWatching = true;
  }
}
function cacheWrite(most) {
  clearTimeout(cacheWriting);
  cacheWriting = undefined;
  const changed = [...cacheChanges];
  cacheChanges.clear();
  if (changed.length) cacheStore('readwrite').then((store) => Promise.all(changed.map(([key, changes]) => idbResult(store.get(key)).then((kept) => {
    if (!kept) return;
    // By id, so a burst of events costs one pass, not one search of the kept messages each.
    const byId = new Map((kept.messages || []).map((m) => [m.id, m]));
    for (const [id, { message, added }] of changes) {
      if (!message) byId.delete(id);
      else if (added || byId.has(id)) byId.set(id, message);
    }
    store.put({ ...kept, messages: [...byId.values()].slice(-most) }, key);
  })))).catch(() => {});
}
function cacheKeep(store, space, entries, most) {
  return idbResult(store.getAllKeys(keyRange(space))).then((keys) => {
    if (keys.length + entries.length > most) store.delete(keyRange(space));
    for (const [key, value] of entries) store.put(value, key);
  });
}
export function cachePut(prefix, list, answer, lists, most, messages) {
  if (!globalThis.indexedDB) return;
  const channels = (list ? answer.channels || [] : [answer]).slice(0, most);
  const entries = channels.filter((c) => c && c.channel && c.channel.cid).map((c) => [prefix + 'C' + c.channel.cid, trimmed(c, messages)]);
  cacheStore('readwrite').then((store) => Promise.all([
    list && cacheKeep(store, prefix + 'L', [[prefix + 'L' + cacheKey(list), { channels: entries.map(([, c]) => c) }]], lists),
    cacheKeep(store, prefix + 'C', entries, lists * most),
  ])).catch(() => {});
}
export function cacheClear(prefix) {
  if (globalThis.indexedDB) cacheStore('readwrite').then((store) => store.delete(keyRange(prefix))).catch(() => {});
}

// src/runtime/channels.rs
// A query's payload: the options, then the filter and the sort as the protocol has them (also `usersQuery`'s).
const query = (filter, sort, options) =>
  ({ ...asObject(options), filter_conditions: shallowCopy(filter), sort: sortList(sort) });
export function channelsQuery(filter, sort, options) {
  const watch = field(options, 'watch');
  return { ...query(filter, sort, options), state: true, watch: typeof watch === 'boolean' ? watch : true, presence: !!field(options, 'presence') };
}
export function membersKey(data) {
  const members = field(data, 'members');
  if (!Array.isArray(members) || !members.length) return;
  const id = (member) => {
    const id = typeof member === 'string' ? member : field(member, 'user_id');
    return typeof id === 'string' ? id : '';
  };
  return members.map(id).sort().join(',');
}
export function sortList(sort) {
  const list = [];
  for (const entry of Array.isArray(sort) ? sort : isObject(sort) ? [sort] : []) {
    if (!isObject(entry)) continue;
    for (const [field, direction] of Object.entries(entry)) {
      if (typeof direction === 'number') list.push({ field, direction: direction < 0 ? -1 : 1 });
    }
  }
  return list;
}

// src/state/channels.rs
export function newChannelState() {
  const messages = [];
  return {
    messages, latestMessages: messages, isUpToDate: true, pinnedMessages: [], threads: {}, read: {}, typing: {},
    watchers: {}, members: {}, membership: {}, watcher_count: 0, unreadCount: 0, last_message_at: null,
    messagePagination: { hasPrev: false, hasNext: false },
  };
}
export function paged(state, page, returned) {
  const any = (keys) => isObject(page) && keys.some((key) => page[key] !== undefined);
  const before = any(['id_lt', 'id_lte', 'created_at_before', 'created_at_before_or_equal']);
  const after = any(['id_gt', 'id_gte', 'created_at_after', 'created_at_after_or_equal']);
  // A limit that is not whole is truncated; NaN counts as 0 (every answer fills the page).
  const full = returned >= (typeof page?.limit === 'number' ? Math.trunc(page.limit) || 0 : 25);
  let { hasPrev, hasNext } = state.messagePagination || {};
  if (after) hasNext = full;
  else [hasPrev, hasNext] = [full, hasNext && before];
  state.messagePagination = { hasPrev: !!hasPrev, hasNext: !!hasNext };
  state.isUpToDate = !hasNext;
  return before | (after << 1);
}
export function countUnread(messages, own, mentions) {
  let count = 0;
  for (const message of messages) {
    if (message?.user?.id === own || quiet(message)) continue;
    const named = message?.mentioned_users;
    if (mentions && !(Array.isArray(named) && named.some((user) => user === own || user?.id === own))) continue;
    count++;
  }
  return count;
}
export function emptyObject(object) {
  if (isObject(object)) for (const key of Object.keys(object)) delete object[key];
}
// Each of `list` with a string key (`keyOf`) into `into` under it.
function fileBy(list, into, keyOf) {
  for (const item of Array.isArray(list) ? list : []) {
    const key = keyOf(item);
    if (typeof key === 'string') into[key] = item;
  }
  return into;
}
export function membersById(members) {
  return fileBy(members, {}, (member) => (typeof member?.user?.id === 'string' ? member.user.id : member?.user_id));
}

// src/state/mutes.rs
function inForce(mute) {
  const expires = date(mute.expires, false);
  return expires === null || expires.getTime() > Date.now();
}
function channelMute(mutes, cid) {
  return Array.isArray(mutes) && typeof cid === 'string' ? mutes.find((mute) => mute?.channel?.cid === cid) : undefined;
}
export function userMuted(mutes, id) {
  return Array.isArray(mutes) && mutes.some((mute) => mute?.target?.id === id);
}
export function channelMuteStatus(mutes, cid) {
  const mute = channelMute(mutes, cid);
  if (!mute) return { muted: false, createdAt: null, expiresAt: null };
  return { muted: inForce(mute), createdAt: date(mute.created_at, true), expiresAt: date(mute.expires, false) };
}
export function mutedMessage(users, channels, frame) {
  const sender = frame?.message?.user?.id;
  const mute = channelMute(channels, frame?.cid);
  return userMuted(users, typeof sender === 'string' ? sender : '') || (mute !== undefined && inForce(mute));
}

// src/state/channel_events.rs
export function channelUpdated(channel, current) {
  if (!isObject(channel)) return current;
  const updated = { ...channel };
  for (const own of ['hidden', 'own_capabilities']) {
    if (updated[own] == null) updated[own] = isObject(current) ? current[own] : undefined;
  }
  return updated;
}
export function withOwnReactions(event, messages, kind, own) {
  const message = { ...event?.message };
  const reaction = event?.reaction;
  const kept = messages.get(typeof message.id === 'string' ? message.id : '');
  let mine = Array.isArray(kept?.own_reactions) ? [...kept.own_reactions] : [];
  if (reaction?.user_id === own) {
    const same = (other) => other?.type === reaction?.type;
    if (kind === 'reaction.deleted') mine = mine.filter((other) => !same(other));
    // An update that replaced another type came with enforce_unique: it is the only one left.
    else if (kind === 'reaction.updated' && !mine.some(same)) mine = [reaction];
    else mine = [...mine.filter((other) => !same(other)), reaction];
  }
  message.own_reactions = mine;
  return message;
}
export function memberChanged(state, event, removed, own) {
  const member = event?.member;
  const id = typeof member?.user_id === 'string' ? member.user_id : member?.user?.id;
  if (typeof id !== 'string') return;
  if (removed) delete state.members[id];
  else state.members[id] = member;
  if (id === own) state.membership = removed ? {} : member;
}
export function banChanged(state, user, banned) {
  const id = user?.id;
  if (typeof id !== 'string') return;
  const old = state.members[id];
  state.members[id] = { ...old, banned, shadow_banned: false, user: Object.assign({ ...old?.user }, user) };
}

// src/api/messages.rs
const SERVER_FIELDS = [
  'created_at', 'deleted_at', 'pinned_at', 'updated_at', 'command', 'mentioned_groups', 'mentioned_users',
  'quoted_message', 'latest_reactions', 'own_reactions', 'reaction_counts', 'reply_count', 'i18n', 'type', 'html',
  '__html', 'user', 'error',
];
// `userId` arguments: a user or an id.
const userIdOf = (user) => (typeof user?.id === 'string' ? user.id : user);
const without = (object, fields) => { for (const field of fields) delete object[field]; };
export function updatePayload(message, userId, options) {
  const payload = { ...message };
  without(payload, SERVER_FIELDS);
  payload.pinned = !!message.pinned_at;
  const mentioned = message.mentioned_users;
  if (Array.isArray(mentioned)) payload.mentioned_users = mentioned.map((user) => (typeof user === 'string' ? user : user?.id));
  const user = userIdOf(userId);
  if (typeof user === 'string') payload.user_id = user;
  return { ...asObject(options), message: payload };
}
// A failed message sent again (`messageBody`, a copy): without the server's fields, its failure and its status.
function stripLocal(message) { without(message, [...SERVER_FIELDS, 'status', 'errorStatusCode']); }
export function partialPayload(update, userId, options) {
  const body = shallowCopy(options);
  for (const key of ['set', 'unset']) if (field(update, key) !== undefined) body[key] = update[key];
  const user = userIdOf(userId);
  if (typeof user === 'string') body.user_id = user;
  return body;
}
export function pinUpdate(expires, pinned) {
  if (!pinned) return { set: { pinned } };
  const end = typeof expires === 'number' ? new Date(Date.now() + expires * 1000).toISOString()
    : typeof expires === 'string' ? expires : expires instanceof Date ? expires.toISOString() : null;
  return { set: { pinned, pin_expires: end } };
}

// src/api/channel_ops.rs
export function messageBody(message, options) {
  let id = field(message, 'id');
  if (id == null) {
    id = uuid();
    if (isObject(message)) message.id = id;
  }
  const copy = { ...asObject(message), id };
  if (copy.status === 'failed') stripLocal(copy);
  return { ...asObject(options), message: copy };
}

// src/api/users.rs
export function withOwnPrivacy(user, updates, own) {
  for (const update of Array.isArray(updates) ? updates : []) {
    const changed = field(field(update, 'set'), 'privacy_settings');
    if (field(update, 'id') !== own || !isObject(changed)) continue;
    user = { ...asObject(user), privacy_settings: { ...asObject(field(user, 'privacy_settings')), ...changed } };
  }
  return user;
}
export function usersQuery(filter, sort, options) {
  const payload = query(filter, sort, options);
  if (payload.presence === undefined) payload.presence = false;
  return payload;
}
export function guestUser(answer) {
  const guest = shallowCopy(field(answer, 'user'));
  without(guest, ['created_at', 'updated_at', 'last_active', 'online']);
  return guest;
}
export function indexById(list, into) {
  return fileBy(list, into, (user) => user?.id);
}
