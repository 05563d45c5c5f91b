// The app shell's router: one page module per path, all sharing the signed-in user.

import { ApiError, get, isReadOnlyLink, post, setUnauthorizedHandler, viaShare } from "./api.js";
import { auditPage, devicesPage } from "./admin.js";
import { clear, h } from "./dom.js";
import { sessionPage } from "./session.js";
import { sessionsPage } from "./sessions.js";
import { sharePage } from "./share.js";
import { signinPage } from "./signin.js";
import { teamsPage } from "./teams.js";
import { settingsPage } from "./settings.js";
import { startLive, stopLive } from "./live.js";
import { registerWorker } from "./push.js";
import { setTitle } from "./title.js";

const ROUTES = [
  [/^\/signin$/, signinPage, { public: true }],
  [/^\/share$/, sharePage, { public: true }],
  [/^\/(sessions)?$/, sessionsPage],
  [/^\/sessions\/([A-Za-z0-9_-]+)$/, sessionPage, { share: true }],
  [/^\/teams$/, teamsPage],
  [/^\/devices$/, devicesPage],
  [/^\/audit$/, auditPage],
  [/^\/settings$/, settingsPage],
];
const NEXT_KEY = "tether.next";

const main = document.getElementById("main");
let me = null;
let cleanup = null;

const ctx = {
  get me() {
    return me;
  },
  navigate,
  signedIn(user) {
    me = user || {};
    topbar();
    const next = sessionStorage.getItem(NEXT_KEY);
    sessionStorage.removeItem(NEXT_KEY);
    navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/sessions", { replace: true });
  },
};

function topbar() {
  const signedIn = Boolean(me);
  document.getElementById("nav").hidden = !signedIn || isReadOnlyLink(me);
  document.getElementById("signout").hidden = !signedIn;
  document.getElementById("nav-audit").hidden = !(me && me.is_admin);
  document.getElementById("whoami").textContent = signedIn ? String(me.name || me.id || "") : "";
  // The live sessions stream feeds the sessions list and every page's pending count.
  if (signedIn && !isReadOnlyLink(me)) startLive();
  else stopLive();
  for (const a of document.querySelectorAll("#nav a")) {
    const path = a.getAttribute("href");
    a.classList.toggle("active", window.location.pathname === path || window.location.pathname.startsWith(path + "/"));
  }
}

async function loadMe() {
  try {
    // A 401 here first tries the refresh cookies (the session cookie lives minutes).
    const data = await get("/v1/auth/me", { quiet401: true });
    me = (data && data.user) || data || {};
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 404)) me = null;
    else throw err;
  }
}

/** Go to a path of the app (pushes history unless replace). */
export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

async function route() {
  if (cleanup) cleanup();
  cleanup = null;
  const path = window.location.pathname;
  const match = ROUTES.map(([re, page, opts]) => [re.exec(path), page, opts || {}]).find(([m]) => m);
  if (!match) {
    clear(main).appendChild(h("p", {}, "No such page. ", h("a", { href: "/sessions", "data-link": true }, "Go to sessions")));
    return;
  }
  const [m, page, opts] = match;
  // A pairing QR code (`tether pair new`) opens `/#pair=CODE`: sign in with it.
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  if (path !== "/signin" && (fragment.get("pair") || fragment.get("code"))) {
    history.replaceState(null, "", "/signin#code=" + encodeURIComponent(fragment.get("pair") || fragment.get("code")));
    route();
    return;
  }
  // Someone who opened a share link watches that one session without signing in.
  const byLink = Boolean(opts.share && viaShare(m[1]));
  if (!opts.public && !me && !byLink) {
    try {
      await loadMe();
    } catch (err) {
      clear(main).appendChild(h("p", { class: "error" }, `Cannot reach the hub: ${err.message}`));
      return;
    }
    if (!me) {
      sessionStorage.setItem(NEXT_KEY, path + window.location.search);
      history.replaceState(null, "", "/signin");
      route();
      return;
    }
  }
  if (!opts.public && !me && byLink) {
    try {
      await loadMe();
    } catch (_err) {
      me = null; // the link still works; the page says if the hub is away
    }
  }
  topbar();
  clear(main);
  setTitle("tether");
  cleanup = page(main, m, ctx) || null;
}

setUnauthorizedHandler(() => {
  me = null;
  topbar();
  if (window.location.pathname !== "/signin") {
    sessionStorage.setItem(NEXT_KEY, window.location.pathname + window.location.search);
    navigate("/signin", { replace: true });
  }
});

document.addEventListener("click", (event) => {
  const a = event.target.closest && event.target.closest("a[data-link]");
  if (!a || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(a.getAttribute("href"));
});
window.addEventListener("popstate", route);
document.getElementById("signout").addEventListener("click", async () => {
  try {
    await post("/v1/auth/logout", {}, { quiet401: true });
  } catch (_err) {
    // signed out already, or the hub is away: forget the user either way
  }
  me = null;
  navigate("/signin", { replace: true });
});

route();
registerWorker();
