// The viewer socket (docs/protocol.md): ready → role → we send `resume {after: lastSeq}`
// → events. On any drop it reconnects with backoff and resumes from the last seq it
// rendered; events at or below that seq are dropped, so nothing shows twice.
// A 4001 close (the session token expired or was revoked) first refreshes the session
// cookie and reconnects; only when that fails is the viewer signed out.

import { refreshSession, scheduleRenewal } from "./api.js";

const FATAL = {
  4001: "signed out: sign in again",
  4003: "you may not see this session",
  4004: "no such session",
};
const SILENT_LIMIT_MS = 45_000; // the hub pings every 15 s; this long without a frame means dead

export class SessionStream {
  /**
   * handlers: onReady(payload), onRole(payload), onEvent(seq, payload, ts), onSession(info),
   * onStatus(state, detail), onFatal(code, message), onError(payload)
   */
  constructor(sessionId, handlers, { follow = false, beforeReconnect = null } = {}) {
    this.sessionId = sessionId;
    this.handlers = handlers;
    this.follow = follow;
    // Called before every reconnect after a drop: a page that was open past the session
    // cookie's lifetime refreshes it over HTTP first. (A handshake without any cookie
    // would be taken for a first-frame `auth` socket and wait 3 s before its 4001.)
    this.beforeReconnect = beforeReconnect;
    this.lastSeq = 0;
    this.ws = null;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.nextId = 1;
    this.refreshed = false; // refreshed since the last `ready`?
    this.renewTimer = null; // renews the socket's credential in-band before it expires
    this.generation = 0;
    this.waiting = new Map(); // id → {resolve, reject}
    this.heardAt = Date.now();
    this.watchdog = setInterval(() => this.checkSilence(), 5000);
    this.wake = () => {
      if (!this.stopped && (!this.ws || this.ws.readyState > 1)) this.connectNow();
    };
    window.addEventListener("online", this.wake);
    document.addEventListener("visibilitychange", this.wake);
  }

  url() {
    const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
    // `take` holds for one connection only: a reconnect after this tab was demoted by the
    // user's other device must not take the slot back.
    const query = this.follow ? "?follow=1" : this.take ? "?take=1" : "";
    this.take = false;
    return `${scheme}//${window.location.host}/v1/sessions/${encodeURIComponent(this.sessionId)}/stream${query}`;
  }

  connect() {
    if (this.stopped) return;
    this.status("connecting", "");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onmessage = (msg) => this.receive(ws, msg.data);
    ws.onclose = (event) => this.closed(ws, event);
  }

  async reconnect() {
    const generation = ++this.generation; // a newer reconnect supersedes this one
    if (this.beforeReconnect) {
      try {
        await this.beforeReconnect();
      } catch (_err) {
        // the socket's own 4001 handling decides what a failure means
      }
    }
    if (generation === this.generation) this.connect();
  }

  connectNow() {
    clearTimeout(this.timer);
    this.attempt = 0;
    if (this.ws && this.ws.readyState <= 1) this.ws.close(1000, "reconnect");
    else this.reconnect();
  }

  /** Reconnect as owner-candidate (follow=false) or as a follower on purpose; `take`
   * takes the owner slot from this user's other device (it stays on as a follower). */
  rejoin(follow, take = false) {
    this.follow = follow;
    this.take = take && !follow;
    this.connectNow();
  }

  receive(ws, data) {
    if (ws !== this.ws) return;
    this.heardAt = Date.now();
    let env;
    try {
      env = JSON.parse(data);
    } catch (_err) {
      return;
    }
    if (!env || env.v !== 1 || typeof env.type !== "string") return;
    const payload = env.payload || {};
    switch (env.type) {
      case "ready":
        this.attempt = 0;
        this.refreshed = false;
        this.renewBefore(ws, payload.expires_in);
        this.handlers.onReady?.(payload);
        this.sendFrame("resume", { after: this.lastSeq });
        this.status("live", "");
        break;
      case "role":
        this.handlers.onRole?.(payload);
        break;
      case "authenticated": // an in-band renewal went through: renew again before this one ends
        this.renewBefore(ws, payload.expires_in);
        break;
      case "event":
        if (typeof env.seq !== "number" || env.seq <= this.lastSeq) return; // already shown
        this.lastSeq = env.seq;
        this.handlers.onEvent?.(env.seq, payload, env.ts);
        break;
      case "session":
        this.handlers.onSession?.(payload);
        break;
      case "ping":
        this.sendFrame("pong", {});
        break;
      case "ack":
        this.settle(payload.ref, true, payload);
        break;
      case "error":
        if (!this.settle(payload.ref, false, payload)) this.handlers.onError?.(payload);
        break;
      default:
        break; // newer hub: unknown frames are ignored
    }
  }

  renewBefore(ws, expiresIn) {
    clearTimeout(this.renewTimer);
    this.renewTimer = scheduleRenewal(expiresIn, (type, payload) => ws === this.ws && this.sendFrame(type, payload));
  }

  settle(ref, ok, payload) {
    const waiter = ref && this.waiting.get(ref);
    if (!waiter) return false;
    this.waiting.delete(ref);
    if (ok) waiter.resolve(payload);
    else waiter.reject(new Error(payload.message || payload.code || "refused"));
    return true;
  }

  sendFrame(type, payload, id) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    const env = { v: 1, type, payload, ts: Date.now() / 1000 };
    if (id) env.id = id;
    this.ws.send(JSON.stringify(env));
    return true;
  }

  /** Send an owner request; resolves on the hub's ack, rejects on its error. */
  request(type, payload) {
    const id = "w" + this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.sendFrame(type, payload, id)) {
        reject(new Error("not connected to the hub; try again in a moment"));
        return;
      }
      this.waiting.set(id, { resolve, reject });
    });
  }

  closed(ws, event) {
    if (ws !== this.ws) return;
    clearTimeout(this.renewTimer);
    for (const waiter of this.waiting.values()) waiter.reject(new Error("connection lost"));
    this.waiting.clear();
    if (this.stopped) return;
    if (event.code === 4001 && !this.refreshed) {
      this.refreshed = true;
      this.status("reconnecting", "signing in again");
      refreshSession().then(
        (ok) => {
          if (this.stopped) return;
          if (ok) this.connect();
          else this.closed(ws, event);
        },
        () => {
          // The hub could not be asked (restarting, offline): no answer is no refusal.
          // Try again later, refreshing again if the next socket is refused too.
          if (this.stopped) return;
          this.refreshed = false;
          this.retryLater();
        },
      );
      return;
    }
    if (FATAL[event.code]) {
      this.stopped = true;
      this.status("closed", FATAL[event.code]);
      this.handlers.onFatal?.(event.code, FATAL[event.code]);
      return;
    }
    this.retryLater();
  }

  retryLater() {
    const delay = Math.min(5000, 500 * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt = Math.min(this.attempt + 1, 10);
    this.status("reconnecting", `reconnecting in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => this.reconnect(), delay);
  }

  checkSilence() {
    if (this.ws && this.ws.readyState === WebSocket.OPEN && Date.now() - this.heardAt > SILENT_LIMIT_MS) {
      this.ws.close(4009, "heartbeat timeout");
    }
  }

  status(state, detail) {
    this.handlers.onStatus?.(state, detail);
  }

  /** Stop for good (the page is going away). */
  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.renewTimer);
    clearInterval(this.watchdog);
    window.removeEventListener("online", this.wake);
    document.removeEventListener("visibilitychange", this.wake);
    if (this.ws) this.ws.close(1000, "bye");
  }
}
