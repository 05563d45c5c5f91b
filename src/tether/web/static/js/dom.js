// Building DOM nodes safely: text always goes through text nodes, never through HTML.
// Attributes are set one by one; inline event-handler and style attributes are refused
// so no string from an agent can become code (the CSP would block it anyway).

const FORBIDDEN_ATTR = /^(on|style$|srcdoc$)/i;

/** Create an element: h("div", {class: "x", onclick: fn}, "text", child, [more]). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") Object.assign(el.dataset, value);
    else if (FORBIDDEN_ATTR.test(name)) throw new Error(`refusing attribute ${name}`);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

/** Append strings (as text), nodes and nested arrays; skip null/undefined/false. */
export function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
  return el;
}

// Bidi controls, zero-width characters and line/paragraph separators: invisible, yet they
// change what a reader sees — a command on an Allow card must read as what it does. Kept in
// step with tether/sanitize.py (`revealed`).
const INVISIBLE = /[\u061c\u200b-\u200f\u2028-\u202e\u2060\u2066-\u2069\ufeff]/g;

/** Text with each invisible character shown as `<U+XXXX>` (e.g. U+202E as "<U+202E>"). */
export function visible(text) {
  return String(text ?? "").replace(
    INVISIBLE,
    (c) => `<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, "0")}>`,
  );
}

/** Remove every child of a node. */
export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** "14:03:27" for a Unix timestamp in seconds. */
export function clock(ts) {
  if (!ts) return "";
  return new Date(ts * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/** "5 s ago", "3 min ago", "2 h ago", or a date, for a Unix timestamp in seconds. */
export function ago(ts) {
  if (!ts) return "—";
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 60) return `${Math.floor(s)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return new Date(ts * 1000).toLocaleDateString();
}

/** The URL if it may go in an href: absolute http, https or mailto only, else null. */
export function safeHref(raw) {
  const text = String(raw).trim();
  if (!/^(https?:\/\/|mailto:)/i.test(text)) return null;
  try {
    const url = new URL(text);
    if (url.protocol === "http:" || url.protocol === "https:" || url.protocol === "mailto:") {
      return url.href;
    }
  } catch (_err) {
    // not a URL: shown as text by the caller
  }
  return null;
}

/** A short one-line preview of a value (tool inputs, unknown events). */
export function preview(value, max = 120) {
  let text = typeof value === "string" ? value : JSON.stringify(value);
  if (text === undefined) text = "";
  text = text.replace(/\s+/g, " ").trim();
  return text.length > max ? text.slice(0, max - 1) + "…" : text;
}
