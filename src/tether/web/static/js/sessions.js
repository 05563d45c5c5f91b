// The sessions list, refreshed every few seconds while the page is visible.

import { ApiError, get } from "./api.js";
import { ago, clear, h } from "./dom.js";

const POLL_MS = 3000;

/** A state chip ("busy", "waiting_permission" → "needs you" …). */
export function stateChip(state) {
  const label = { waiting_permission: "waiting for permission", lost: "runner offline" }[state] || state || "?";
  return h("span", { class: "chip state-" + String(state || "unknown") }, label);
}

function card(s) {
  const owner = s.owner ? `owner ${s.owner}` : "owner slot free";
  const followers = s.followers ? ` · ${s.followers} follower${s.followers === 1 ? "" : "s"}` : "";
  return h(
    "a",
    { class: "card session-card", href: "/sessions/" + encodeURIComponent(s.id), "data-link": true, dataset: { session: s.id } },
    h(
      "div",
      { class: "row" },
      h("strong", { class: "team" }, String(s.team)),
      stateChip(s.state),
      s.pending_permissions > 0 ? h("span", { class: "badge", title: "pending permission requests" }, `${s.pending_permissions} to approve`) : null,
      h("span", { class: "grow" }),
      h("span", { class: "muted small" }, ago(s.updated_at || s.created_at)),
    ),
    h("div", { class: "muted small" }, `${s.agent || "agent"} · ${s.host || "local"} · ${owner}${followers}`),
    h("div", { class: "muted small mono" }, String(s.id)),
  );
}

export function sessionsPage(main) {
  document.title = "Sessions · tether";
  const list = h("div", { class: "list", id: "sessions" }, h("p", { class: "muted" }, "Loading…"));
  const note = h("p", { class: "error", role: "status" });
  main.appendChild(
    h("section", {}, h("div", { class: "page-head" }, h("h1", {}, "Sessions"), h("a", { class: "button", href: "/teams", "data-link": true }, "New session")), note, list),
  );
  let timer = null;
  let stopped = false;

  async function refresh() {
    if (stopped) return;
    if (!document.hidden) {
      try {
        const sessions = await get("/v1/sessions");
        note.textContent = "";
        clear(list);
        if (!sessions.length) {
          list.appendChild(h("p", { class: "muted" }, "No sessions yet. ", h("a", { href: "/teams", "data-link": true }, "Start one from a team"), "."));
        }
        for (const s of sessions) list.appendChild(card(s));
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) note.textContent = `Could not refresh: ${err.message}`;
      }
    }
    if (!stopped) timer = setTimeout(refresh, POLL_MS);
  }
  refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
