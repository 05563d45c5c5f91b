// The hub's HTTP API, called with the session cookie. State-changing requests carry the
// `X-Tether-CSRF: 1` header: a cross-site form cannot set it, and a cross-site script
// cannot send it without a CORS preflight the hub never grants.

export class ApiError extends Error {
  constructor(status, message, hint) {
    super(message);
    this.status = status;
    this.hint = hint || "";
  }
}

let onUnauthorized = () => {};

/** Called when a request answers 401 and a refresh did not help (signed out). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

let refreshing = null;
let renewing = null;
let renewal = null; // the latest socket token: {token, expiresAt (ms)}

const UNREACHABLE_HINT = "check your connection; it retries on its own";

/** fetch, with "the hub could not be reached" as an ApiError of status 0. */
async function reach(path, init) {
  try {
    return await fetch(path, { credentials: "same-origin", cache: "no-store", redirect: "error", ...init });
  } catch (_err) {
    throw new ApiError(0, "cannot reach the hub", UNREACHABLE_HINT);
  }
}

// true: refreshed; false: refused (the refresh cookie is spent, expired or revoked: signed
// out). A hub that cannot be reached or answers 5xx/429 (restarting, overloaded) refused
// nothing: that rejects with an ApiError, and the caller tries again later. Taking it for
// a refusal would sign a page out because its network blinked at the wrong moment.
async function refreshOnce() {
  const response = await reach("/v1/auth/refresh", {
    method: "POST",
    headers: { Accept: "application/json", "X-Tether-CSRF": "1" },
  });
  if (response.status >= 500 || response.status === 429) {
    throw new ApiError(response.status, "the hub could not refresh the sign-in just now", UNREACHABLE_HINT);
  }
  if (!response.ok) return false;
  try {
    const body = await response.json();
    if (body.socket_token) renewal = { token: body.socket_token, expiresAt: Date.now() + body.expires_in * 1000 };
  } catch (_err) {
    // an older hub: no socket token, sockets reconnect at expiry instead
  }
  return true;
}

/**
 * A token that renews this page's open sockets in-band before their credential expires
 * (docs/security.md, "Expiry on open sockets"): the page cannot read its HttpOnly session
 * cookie, so a refresh also returns a `socket_token`, good for nothing but an `auth` frame.
 * Resolves to null when the page is signed out (the socket then closes with 4001).
 */
export function socketToken() {
  if (renewal && renewal.expiresAt - Date.now() > 60_000) return Promise.resolve(renewal.token);
  if (!renewing) {
    const run = navigator.locks ? navigator.locks.request("tether-refresh", refreshOnce) : refreshOnce();
    renewing = run
      .then((ok) => (ok && renewal ? renewal.token : null))
      .catch(() => null)
      .finally(() => {
        renewing = null;
      });
  }
  return renewing;
}

/**
 * Keep a socket's credential alive: `expiresIn` seconds from now (from `ready` or an
 * `authenticated` frame), a little before, send `auth` with a fresh socket token through
 * `send(type, payload)`. Returns the timer (clear it when the socket goes).
 */
export function scheduleRenewal(expiresIn, send) {
  if (typeof expiresIn !== "number") return null;
  const margin = Math.min(30, expiresIn / 4);
  return setTimeout(async () => {
    const token = await socketToken();
    if (token) send("auth", { token });
  }, Math.max(0, expiresIn - margin) * 1000);
}

async function refreshLocked() {
  // Another tab may have refreshed while we waited for the lock: a refresh token is
  // single use (presenting a spent one revokes the device), so check before spending it.
  const me = await reach("/v1/auth/me", {});
  if (me.ok) return true;
  return refreshOnce();
}

/**
 * Get a new session cookie from the refresh cookies (docs/security.md, "Browser sign-in").
 * One refresh at a time per browser: concurrent callers in this tab share one request,
 * and tabs take turns through a Web Lock where the browser has them.
 * Resolves true (refreshed) or false (refused: signed out); rejects with an ApiError when
 * the hub could not be asked, which signs nobody out.
 */
export function refreshSession() {
  if (!refreshing) {
    const run = navigator.locks ? navigator.locks.request("tether-refresh", refreshLocked) : refreshOnce();
    refreshing = run.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

function send(method, path, body) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-Tether-CSRF"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return reach(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

/**
 * Call the API; resolve to the JSON body (or the text for non-JSON), reject with ApiError.
 * A 401 is answered by one refresh of the session cookie and one retry (the session token
 * lives minutes); `noRefresh` skips that (sign-in itself), `quiet401` skips the sign-out
 * handler.
 */
export async function api(method, path, body, { quiet401 = false, raw = false, noRefresh = false } = {}) {
  let response = await send(method, path, body);
  if (response.status === 401 && !noRefresh && (await refreshSession())) {
    response = await send(method, path, body);
  }
  if (response.status === 401 && !quiet401) onUnauthorized();
  if (!response.ok) {
    let message = `${response.status} ${response.statusText}`;
    let hint = "";
    try {
      const data = await response.json();
      const err = data.error || data;
      if (typeof err.message === "string") message = err.message;
      else if (typeof data.detail === "string") message = data.detail;
      if (typeof err.hint === "string") hint = err.hint;
    } catch (_err) {
      // not JSON: keep the status line
    }
    throw new ApiError(response.status, message, hint);
  }
  if (raw) return response.text();
  if (response.status === 204) return null;
  const type = response.headers.get("content-type") || "";
  return type.includes("json") ? response.json() : response.text();
}

export const get = (path, opts) => api("GET", path, undefined, opts);
export const post = (path, body, opts) => api("POST", path, body === undefined ? {} : body, opts);

/** A list from an endpoint that answers either `[...]` or `{<key>: [...]}`. */
export function listOf(data, ...keys) {
  if (Array.isArray(data)) return data;
  for (const key of keys) if (data && Array.isArray(data[key])) return data[key];
  return [];
}

/** The QR code of `text` as a data: URL (drawn by the hub; the text travels in a POST body). */
export async function qrDataUrl(text) {
  const svg = await api("POST", "/v1/qr", { text }, { raw: true });
  const bytes = new TextEncoder().encode(svg);
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return "data:image/svg+xml;base64," + btoa(binary);
}

/** Is the signed-in user a read-only share-link holder? */
export function isReadOnlyLink(user) {
  return Boolean(user && (user.read_only || user.kind === "share"));
}

// Share links opened in this browser: session id → expiry (epoch seconds). No secret here:
// the link's token is in an HttpOnly cookie the page cannot read.
const SHARES_KEY = "tether.shares";

function sharesNow() {
  let shares = {};
  try {
    shares = JSON.parse(localStorage.getItem(SHARES_KEY) || "{}") || {};
  } catch (_err) {
    shares = {};
  }
  const now = Date.now() / 1000;
  for (const [id, until] of Object.entries(shares)) if (!(until > now)) delete shares[id];
  return shares;
}

/** Remember (until `expiresAt`) or forget that this browser watches a session by link. */
export function rememberShare(sessionId, expiresAt) {
  const shares = sharesNow();
  if (expiresAt) shares[sessionId] = expiresAt;
  else delete shares[sessionId];
  localStorage.setItem(SHARES_KEY, JSON.stringify(shares));
}

/** Does this browser watch `sessionId` through a share link? */
export function viaShare(sessionId) {
  return Object.prototype.hasOwnProperty.call(sharesNow(), sessionId);
}
