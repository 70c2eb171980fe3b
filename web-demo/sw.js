// The page works offline once loaded: this service worker keeps the page's own files
// (network first, so a rebuilt page is picked up; the cache answers when offline).
const CACHE = "lading-page-v1";
const FILES = [
  "./",
  "./index.html",
  "./main.js",
  "./worker.js",
  "./opfs_writer.js",
  "./registry_worker.js",
  "./style.css",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(FILES)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => {
  event.waitUntil(self.clients.claim());
});
self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  event.respondWith(
    fetch(event.request).then((response) => {
      if (response.ok) {
        const copy = response.clone();
        caches.open(CACHE).then((c) => c.put(event.request, copy));
      }
      return response;
    }).catch(() =>
      caches.match(event.request, { ignoreSearch: true }).then((r) => r ?? Response.error())
    ),
  );
});
