// The sessions list, kept up to date by the hub (the live stream, GET /v1/live): sessions
// that need you come first, then running ones, newest activity first.

import { ago, clear, h } from "./dom.js";
import { onSessions } from "./live.js";
import { setTitle } from "./title.js";

const AGO_REFRESH_MS = 15_000;

/** A state chip ("busy", "waiting_permission" → "needs you" …). */
export function stateChip(state) {
  const label = { waiting_permission: "waiting for permission", lost: "runner offline" }[state] || state || "?";
  return h("span", { class: "chip state-" + String(state || "unknown") }, label);
}

function card(s) {
  const owner = s.owner ? `owner ${s.owner}` : "owner slot free";
  const followers = s.followers ? ` · ${s.followers} follower${s.followers === 1 ? "" : "s"}` : "";
  // Hub replicas on PostgreSQL: the replica the session's runner is connected to.
  const replica = s.runner_replica ? ` · runner on ${s.runner_replica}` : "";
  const needsYou = s.pending_permissions > 0;
  return h(
    "a",
    {
      class: "card session-card" + (needsYou ? " needs-you" : ""),
      href: "/sessions/" + encodeURIComponent(s.id),
      "data-link": true,
      dataset: { session: s.id },
    },
    h(
      "div",
      { class: "row" },
      h("strong", { class: "team" }, String(s.team)),
      stateChip(s.state),
      needsYou ? h("span", { class: "badge", title: "pending permission requests" }, `${s.pending_permissions} to approve`) : null,
      h("span", { class: "grow" }),
      h("span", { class: "muted small activity", dataset: { ts: String(s.last_activity || 0) }, title: "last activity" }, ago(s.last_activity)),
    ),
    h("div", { class: "muted small" }, `${s.agent || "agent"} · ${s.host || "local"} · ${owner}${followers}${s.cost > 0 ? ` · $${s.cost.toFixed(4)}` : ""}${replica}`),
    h("div", { class: "muted small mono" }, String(s.id)),
  );
}

export function sessionsPage(main) {
  setTitle("Sessions · tether");
  const list = h("div", { class: "list", id: "sessions" }, h("p", { class: "muted" }, "Loading…"));
  main.appendChild(
    h("section", {}, h("div", { class: "page-head" }, h("h1", {}, "Sessions"), h("a", { class: "button", href: "/teams", "data-link": true }, "New session")), list),
  );
  const stop = onSessions(({ sessions }) => {
    clear(list);
    if (!sessions.length) {
      list.appendChild(h("p", { class: "muted" }, "No sessions yet. ", h("a", { href: "/teams", "data-link": true }, "Start one from a team"), "."));
    }
    for (const s of sessions) list.appendChild(card(s));
  });
  // "3 min ago" moves on by itself; the data only changes when the hub says so.
  const timer = setInterval(() => {
    for (const el of list.querySelectorAll(".activity")) el.textContent = ago(Number(el.dataset.ts));
  }, AGO_REFRESH_MS);
  return () => {
    stop();
    clearInterval(timer);
  };
}
