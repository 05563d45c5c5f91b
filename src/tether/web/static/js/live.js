// The live sessions list (the `/v1/live` socket): the hub pushes the user's sessions
// whenever one changes — no polling. One socket per tab, shared by the sessions page and
// the title / favicon count. It reconnects with backoff; a 4001 close (the session cookie
// expired) first refreshes the cookie; 4003 (a share link) stops.

import { refreshSession, scheduleRenewal } from "./api.js";
import { setPending } from "./title.js";

const listeners = new Set();
const SILENT_LIMIT_MS = 45_000; // the hub pings every 15 s
let ws = null;
let wanted = false;
let latest = null;
let timer = null;
let attempt = 0;
let heardAt = 0;
let watchdog = null;

function url() {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}/v1/live`;
}

let renewTimer = null;

function renewBefore(socket, expiresIn) {
  // The hub closes the socket when its credential expires unless it is renewed in-band.
  clearTimeout(renewTimer);
  renewTimer = scheduleRenewal(expiresIn, (type, payload) => {
    if (socket === ws && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ v: 1, type, payload }));
  });
}

function receive(socket, data) {
  heardAt = Date.now();
  let env;
  try {
    env = JSON.parse(data);
  } catch (_err) {
    return;
  }
  if (env && env.v === 1 && env.type === "authenticated" && env.payload) {
    renewBefore(socket, env.payload.expires_in);
    return;
  }
  if (!env || env.v !== 1 || env.type !== "sessions" || !env.payload) return;
  attempt = 0;
  latest = env.payload;
  setPending(latest.pending);
  for (const fn of listeners) fn(latest);
}

function connect() {
  clearTimeout(timer);
  if (!wanted) return;
  const socket = new WebSocket(url());
  ws = socket;
  heardAt = Date.now();
  socket.onmessage = (msg) => socket === ws && receive(socket, msg.data);
  socket.onclose = (event) => {
    if (socket !== ws || !wanted) return;
    clearTimeout(renewTimer);
    ws = null;
    if (event.code === 4003) return;
    const delay = Math.min(15_000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
    attempt = Math.min(attempt + 1, 10);
    if (event.code === 4001) {
      refreshSession().then(
        (ok) => {
          if (ok) timer = setTimeout(connect, attempt > 1 ? delay : 0);
        },
        () => {
          timer = setTimeout(connect, delay); // the hub could not be asked: not signed out
        },
      );
      return;
    }
    timer = setTimeout(connect, delay);
  };
}

function wake() {
  if (wanted && (!ws || ws.readyState > 1)) {
    attempt = 0;
    connect();
  }
}

/** Start following (after sign-in); harmless when already started. */
export function startLive() {
  if (wanted) return;
  wanted = true;
  window.addEventListener("online", wake);
  document.addEventListener("visibilitychange", wake);
  watchdog = setInterval(() => {
    if (ws && ws.readyState === WebSocket.OPEN && Date.now() - heardAt > SILENT_LIMIT_MS) ws.close(4009, "heartbeat timeout");
  }, 5000);
  connect();
}

/** Stop (signed out). */
export function stopLive() {
  if (!wanted) return;
  wanted = false;
  clearTimeout(timer);
  clearInterval(watchdog);
  window.removeEventListener("online", wake);
  document.removeEventListener("visibilitychange", wake);
  if (ws) ws.close(1000, "bye");
  ws = null;
  latest = null;
  setPending(0);
}

/** Call fn(snapshot) with every update (and now, if there is one); returns an unsubscribe. */
export function onSessions(fn) {
  listeners.add(fn);
  if (latest) fn(latest);
  return () => listeners.delete(fn);
}
