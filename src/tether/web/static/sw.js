// tether's service worker (docs/notifications.md): caches the app shell so the app opens
// offline (with an offline page when the hub is out of reach), shows Web Push
// notifications, and answers permission requests from their Allow / Deny buttons.
//
// The hub pushes the notification contract's JSON. A request's notification has the tag
// `tether:<session>:<request>`, so a reminder or an answer replaces it instead of stacking.

const CACHE = "tether-shell-v4";
const OFFLINE = "/static/offline.html";
// Every file the app shell needs (tests/web/test_pwa_files.py checks none is missing).
const SHELL = [
  "/",
  OFFLINE,
  "/static/app.css",
  "/static/icon.svg",
  "/static/icons/icon-192.png",
  "/static/manifest.webmanifest",
  "/static/js/admin.js",
  "/static/js/api.js",
  "/static/js/app.js",
  "/static/js/diff.js",
  "/static/js/dom.js",
  "/static/js/live.js",
  "/static/js/markdown.js",
  "/static/js/push.js",
  "/static/js/session.js",
  "/static/js/sessions.js",
  "/static/js/settings.js",
  "/static/js/share.js",
  "/static/js/signin.js",
  "/static/js/stream.js",
  "/static/js/teams.js",
  "/static/js/terminal.js",
  "/static/js/title.js",
  "/static/js/transcript.js",
];
// Never cached: the API, answer links, MCP, metrics, the OpenAPI pages.
const LIVE_ONLY = /^\/(v1|answer|mcp|metrics|docs|openapi\.json|healthz)(\/|$)/;
const PERMISSION_EVENTS = new Set(["permission_request", "permission_reminder"]);

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()),
  );
});

// Network first (files carry no content hash, so a fresh copy always wins), the cache
// when the hub is out of reach, the offline page for a page that was never cached.
self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin || LIVE_ONLY.test(url.pathname)) return;
  event.respondWith(
    fetch(request)
      .then((response) => {
        if (response.ok && (url.pathname.startsWith("/static/") || request.mode === "navigate")) {
          const copy = response.clone();
          const key = request.mode === "navigate" ? "/" : request;
          caches.open(CACHE).then((cache) => cache.put(key, copy));
        }
        return response;
      })
      .catch(async () => {
        if (request.mode === "navigate") return (await caches.match(OFFLINE)) || Response.error();
        return (await caches.match(request)) || Response.error();
      }),
  );
});

function notificationOptions(note) {
  const options = {
    body: String(note.summary || ""),
    tag: note.request_id ? `tether:${note.session}:${note.request_id}` : `tether:${note.session}:${note.event}`,
    data: note,
    icon: "/static/icons/icon-192.png",
    badge: "/static/icons/icon-192.png",
    timestamp: note.ts ? Math.round(note.ts * 1000) : Date.now(),
  };
  if (PERMISSION_EVENTS.has(note.event) && note.allow_url && note.deny_url) {
    options.actions = [
      { action: "allow", title: "Allow" },
      { action: "deny", title: "Deny" },
    ];
    options.requireInteraction = true;
    options.renotify = true;
  } else {
    options.silent = note.event === "permission_answered";
  }
  return options;
}

self.addEventListener("push", (event) => {
  let note;
  try {
    note = event.data ? event.data.json() : null;
  } catch (_err) {
    note = null;
  }
  if (!note || typeof note.event !== "string") {
    note = { event: "test", title: "tether", summary: "Something happened in tether.", url: "/sessions" };
  }
  event.waitUntil(self.registration.showNotification(String(note.title || "tether"), notificationOptions(note)));
});

async function answer(note, behavior) {
  const target = behavior === "allow" ? note.allow_url : note.deny_url;
  let text;
  try {
    // The link is the credential (one decision, once); no cookie or token rides along.
    const response = await fetch(target, { method: "POST", credentials: "omit", headers: { Accept: "application/json" } });
    const body = await response.json().catch(() => ({}));
    text = body.message || `HTTP ${response.status}`;
  } catch (_err) {
    text = "Could not reach the hub; open tether to answer.";
  }
  await self.registration.showNotification(String(note.title || "tether"), {
    body: `${text} · ${note.summary || ""}`,
    tag: `tether:${note.session}:${note.request_id}`,
    data: { ...note, allow_url: null, deny_url: null, answered: text },
    icon: "/static/icons/icon-192.png",
    silent: true,
  });
}

async function open(url) {
  const target = new URL(url || "/sessions", self.location.origin);
  if (target.origin !== self.location.origin) target.href = new URL("/sessions", self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  for (const client of windows) {
    if (new URL(client.url).pathname === target.pathname && "focus" in client) return client.focus();
  }
  return self.clients.openWindow(target.href);
}

self.addEventListener("notificationclick", (event) => {
  const note = (event.notification && event.notification.data) || {};
  event.notification.close();
  if ((event.action === "allow" || event.action === "deny") && note.allow_url) {
    event.waitUntil(answer(note, event.action));
  } else {
    event.waitUntil(open(note.url));
  }
});
