// The demo's service worker: keeps the page and the SDK's files so the demo loads again with the network off
// (the chat itself then comes from the SDK's local cache). Network first, so an online page always gets the
// current build; only the page and /pkg/ are kept, API calls and /metrics pass through untouched.
const CACHE = 'stream-chat-wasm-demo';
const KEPT = ['/', '/pkg/stream_chat_wasm.js', '/pkg/stream_chat_wasm_bg.wasm'];

self.addEventListener('install', (event) => {
  self.skipWaiting();
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(KEPT)));
});

self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('fetch', (event) => {
  const { request } = event;
  const url = new URL(request.url);
  const kept = request.method === 'GET' && url.origin === location.origin
    && (url.pathname === '/' || url.pathname === '/index.html' || url.pathname.startsWith('/pkg/'));
  if (!kept) return;
  event.respondWith(fetch(request).then((response) => {
    if (response.ok) {
      const copy = response.clone();
      event.waitUntil(caches.open(CACHE).then((cache) => cache.put(request, copy)));
    }
    return response;
  }).catch(async () => (await caches.match(request, { ignoreSearch: true, ignoreVary: true })) ?? Response.error()));
});
