// The mobile app's service worker: keeps the app shell (this screen, its scripts and styles, the
// shared modules) so the app opens without a network. Shell files are fetched from the network
// first (a new version shows at once) and served from the cache when the network fails or hangs.
// The API is never cached: its requests are not even intercepted (network only).
const CACHE = 'linli-mobile-v1';
const SHELL = [
  '/mobile/', '/mobile/app.js', '/mobile/queue.js', '/mobile/util.js', '/mobile/mobile.css',
  '/mobile/manifest.webmanifest', '/mobile/icon.svg', '/mobile/icon-maskable.svg',
  '/shared/api.js', '/shared/i18n.js', '/shared/live.js', '/shared/style.css',
];

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener('activate', (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith('linli-mobile-') && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

function shellRequest(url) {
  return url.origin === self.location.origin && (url.pathname.startsWith('/mobile/') || url.pathname.startsWith('/shared/'));
}

async function networkFirst(request, fallbackPath) {
  const cache = await caches.open(CACHE);
  const cached = () => cache.match(request, { ignoreSearch: true }).then((hit) => hit || (fallbackPath ? cache.match(fallbackPath) : undefined));
  const network = fetch(request).then((response) => {
    if (response.ok) cache.put(request, response.clone());
    return response;
  });
  // A network that hangs: after 4 s the cached copy answers (the fetch still refreshes the cache).
  const slow = new Promise((resolve) => setTimeout(resolve, 4000)).then(cached);
  try {
    const first = await Promise.race([network, slow.then((hit) => hit || network)]);
    return first;
  } catch (_) {
    const hit = await cached();
    return hit || Response.error();
  }
}

self.addEventListener('fetch', (event) => {
  const { request } = event;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  if (url.pathname.startsWith('/api/') || url.pathname.startsWith('/open311/')) return; // network only
  if (!shellRequest(url)) return;
  event.respondWith(networkFirst(request, request.mode === 'navigate' ? '/mobile/' : null));
});
