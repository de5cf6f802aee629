// Service worker of the Gatehouse Authenticator: keeps the app's own files, so it opens (and
// shows token codes) without a network. Everything else, the API included, goes to the network.
const CACHE = 'gatehouse-authenticator-v1';
const SHELL = ['./', 'app.js', 'app.css', 'manifest.webmanifest', 'icon.svg', 'icon-192.png', '/assets/gatehouse.css'];

self.addEventListener('install', (e) => {
  e.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (e) => {
  e.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  const shell = url.origin === self.location.origin && (url.pathname.startsWith('/authenticator/') || url.pathname === '/assets/gatehouse.css');
  if (e.request.method !== 'GET' || !shell) return;
  // Network first, so an update applies at once; the kept copy when offline.
  e.respondWith(
    fetch(e.request)
      .then((r) => {
        if (r.ok) {
          const copy = r.clone();
          void caches.open(CACHE).then((c) => c.put(e.request, copy));
        }
        return r;
      })
      .catch(() => caches.match(e.request, { ignoreSearch: true }).then((r) => r || caches.match('./'))),
  );
});

self.addEventListener('notificationclick', (e) => {
  e.notification.close();
  e.waitUntil(self.clients.matchAll({ type: 'window' }).then((cs) => (cs[0] ? cs[0].focus() : self.clients.openWindow('./'))));
});

// A mobile push service (Web Push) would add a 'push' listener here that shows the request
// while the app is closed; on the server it is another PushDelivery (src/mfa/push-delivery.ts).
