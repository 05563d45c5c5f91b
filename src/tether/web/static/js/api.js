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

/** Called when a request answers 401 (the cookie is missing or expired). */
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

/** Call the API; resolve to the JSON body (or the text for non-JSON), reject with ApiError. */
export async function api(method, path, body, { quiet401 = false, raw = false } = {}) {
  const headers = { Accept: "application/json" };
  if (method !== "GET" && method !== "HEAD") headers["X-Tether-CSRF"] = "1";
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: "same-origin",
      cache: "no-store",
      redirect: "error",
    });
  } catch (err) {
    throw new ApiError(0, "cannot reach the hub", "check your connection; it retries on its own");
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
