// The service worker and Web Push: register the worker, subscribe this browser to the
// hub's pushes (POST /v1/push/subscriptions with the VAPID key from
// GET /v1/push/vapid-public-key), unsubscribe, and tell the hub when a session's tab is
// visible (no push is sent to the device that is looking at it).

import { api, get, post } from "./api.js";

/** Register /sw.js (the app shell works offline; pushes arrive). */
export function registerWorker() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return Promise.resolve(null);
  return navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((err) => {
    console.warn("service worker not registered:", err);
    return null;
  });
}

function keyBytes(b64url) {
  const b64 = b64url.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((b64url.length + 3) % 4);
  return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
}

function sameKey(subscription, key) {
  const current = subscription.options && subscription.options.applicationServerKey;
  if (!current) return false;
  const a = new Uint8Array(current);
  return a.length === key.length && a.every((v, i) => v === key[i]);
}

/** What this browser can do: "unsupported", "denied", "off" or "on". */
export async function pushState() {
  if (!("serviceWorker" in navigator) || !("PushManager" in window) || !window.isSecureContext) return "unsupported";
  if (Notification.permission === "denied") return "denied";
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && (await registration.pushManager.getSubscription());
  return subscription && Notification.permission === "granted" ? "on" : "off";
}

/** Ask for permission and subscribe this browser (replacing a subscription made for
 * another key: the hub's key is what push services check). */
export async function enablePush() {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("notifications are blocked for this site in the browser's settings");
  const registration = (await registerWorker()) && (await navigator.serviceWorker.ready);
  if (!registration) throw new Error("this browser has no service workers here (it needs https)");
  const key = keyBytes((await get("/v1/push/vapid-public-key")).key);
  let subscription = await registration.pushManager.getSubscription();
  if (subscription && !sameKey(subscription, key)) {
    await subscription.unsubscribe();
    subscription = null;
  }
  if (!subscription) subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  await post("/v1/push/subscriptions", subscription.toJSON());
}

/** Stop pushes to this browser. */
export async function disablePush() {
  const registration = await navigator.serviceWorker.getRegistration("/");
  const subscription = registration && (await registration.pushManager.getSubscription());
  if (subscription) await subscription.unsubscribe();
  await api("DELETE", "/v1/push/subscriptions");
}

/**
 * Report this tab's visibility for a session while `sessionId`'s page is open: now, on
 * every change, and every minute while visible (a report counts 90 s at the hub).
 * Returns a stop function (reports hidden).
 */
export function reportVisibility(sessionId) {
  // Never refreshes the session cookie: the last report is sent as the page goes away,
  // and a refresh cut off by a navigation would spend the refresh token unseen (the next
  // refresh would then count as reuse and sign the browser out). A report lost to an
  // expired cookie costs at most a push to this device.
  const send = (visible) =>
    post("/v1/push/visibility", { session: sessionId, visible }, { quiet401: true, noRefresh: true }).catch(() => {});
  const onChange = () => send(document.visibilityState === "visible");
  const timer = setInterval(() => {
    if (document.visibilityState === "visible") send(true);
  }, 60_000);
  document.addEventListener("visibilitychange", onChange);
  onChange();
  return () => {
    clearInterval(timer);
    document.removeEventListener("visibilitychange", onChange);
    send(false);
  };
}
