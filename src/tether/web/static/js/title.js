// Every page's title starts with the number of permission requests waiting for you
// (`(1) demo · tether`), and the favicon shows it too. Pages set their own part with
// setTitle(); the live sessions stream sets the count with setPending().

let base = "tether";
let pending = 0;

function faviconHref(count) {
  if (!count) return "/static/icon.svg";
  const label = count > 99 ? "99+" : String(count);
  const size = label.length > 2 ? 12 : 14;
  // Only digits reach this markup (count is a number).
  const svg =
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
    '<rect width="32" height="32" rx="7" fill="#2f6f4f"/>' +
    '<path d="M9 10h14M16 10v13" stroke="#fff" stroke-width="3.5" stroke-linecap="round"/>' +
    '<circle cx="23" cy="23" r="9" fill="#c62828" stroke="#fff" stroke-width="1.5"/>' +
    `<text x="23" y="27.5" font-family="system-ui,sans-serif" font-size="${size}" font-weight="700" text-anchor="middle" fill="#fff">${label}</text>` +
    "</svg>";
  return "data:image/svg+xml," + encodeURIComponent(svg);
}

function render() {
  document.title = pending > 0 ? `(${pending}) ${base}` : base;
  const icon = document.getElementById("favicon");
  if (icon) icon.setAttribute("href", faviconHref(pending));
}

/** The page's own title, e.g. "demo · tether". */
export function setTitle(text) {
  base = String(text || "tether");
  render();
}

/** How many requests wait for this user (from the live sessions stream). */
export function setPending(count) {
  const next = Math.max(0, Number(count) || 0);
  if (next === pending) return;
  pending = next;
  render();
}
