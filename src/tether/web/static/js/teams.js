// Teams announced by runners; start a session of one (optionally with a first message).

import { get, post } from "./api.js";
import { clear, h } from "./dom.js";
import { setTitle } from "./title.js";

export function teamsPage(main, _match, ctx) {
  setTitle("Teams · tether");
  const list = h("div", { class: "list", id: "teams" }, h("p", { class: "muted" }, "Loading…"));
  main.appendChild(h("section", {}, h("h1", {}, "Teams"), list));

  function teamCard(team) {
    const prompt = h("input", { type: "text", class: "grow", placeholder: "First message (optional)", "aria-label": `first message for ${team.name}` });
    const error = h("p", { class: "error" });
    const start = h("button", { type: "submit", class: "primary" }, "Start");
    // The runner's probe said this team cannot start: say why, and do not offer a start
    // that the hub would refuse anyway.
    const unavailable = team.available === false;
    if (unavailable) start.disabled = true;
    const form = h(
      "form",
      {
        class: "row",
        onsubmit: async (event) => {
          event.preventDefault();
          start.disabled = true;
          error.textContent = "";
          try {
            const session = await post("/v1/sessions", { team: team.name, prompt: prompt.value.trim() || null });
            ctx.navigate("/sessions/" + encodeURIComponent(session.id));
          } catch (err) {
            start.disabled = false;
            error.textContent = err.message;
          }
        },
      },
      prompt,
      start,
    );
    return h(
      "div",
      { class: "card team-card", dataset: { team: team.name } },
      h("div", { class: "row" }, h("strong", {}, String(team.name)), h("span", { class: "chip" }, String(team.agent || "")), h("span", { class: "muted small" }, String(team.host || "local"))),
      team.description ? h("p", {}, String(team.description)) : null,
      team.path ? h("div", { class: "muted small mono" }, String(team.path)) : null,
      unavailable ? h("p", { class: "error team-unavailable" }, `Unavailable: ${team.unavailable_reason || "its runner's probe failed"}`) : null,
      form,
      error,
    );
  }

  get("/v1/teams")
    .then((teams) => {
      clear(list);
      if (!teams.length) list.appendChild(h("p", { class: "muted" }, "No teams: no runner is connected, or none serves a team you may use."));
      for (const team of teams) list.appendChild(teamCard(team));
    })
    .catch((err) => {
      clear(list).appendChild(h("p", { class: "error" }, err.message));
    });
}
