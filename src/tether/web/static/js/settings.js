// Settings: notifications on this browser (Web Push), what to be told about (events,
// teams, quiet hours, reminders), and the webhook / ntfy sinks — what `tether notify`
// does on the command line (docs/notifications.md).

import { ApiError, api, get, post } from "./api.js";
import { clear, h } from "./dom.js";
import { disablePush, enablePush, pushState } from "./push.js";
import { setTitle } from "./title.js";

const EVENTS = [
  ["permission_request", "A permission request"],
  ["permission_reminder", "A request still unanswered (reminder)"],
  ["permission_answered", "A request answered elsewhere (replaces it)"],
  ["turn_finished", "A turn finished"],
  ["session_failed", "A session failed or lost its runner"],
];
const STATE_TEXT = {
  unsupported: "This browser cannot receive notifications from this page (it needs https, or a browser with Web Push).",
  denied: "Notifications are blocked for this site in the browser's settings.",
  off: "Notifications are off on this browser.",
  on: "Notifications are on: this browser gets a notification when an agent needs you.",
};

function pushSection() {
  const state = h("p", { id: "push-state", role: "status" }, "…");
  const toggle = h("button", { type: "button", id: "push-toggle", class: "primary" }, "…");
  const error = h("p", { class: "error", id: "push-error" });
  let current = "off";

  async function show() {
    current = await pushState().catch(() => "unsupported");
    state.textContent = STATE_TEXT[current];
    toggle.textContent = current === "on" ? "Turn off on this browser" : "Turn on notifications";
    toggle.hidden = current === "unsupported" || current === "denied";
  }
  toggle.addEventListener("click", async () => {
    toggle.disabled = true;
    error.textContent = "";
    try {
      if (current === "on") await disablePush();
      else await enablePush();
    } catch (err) {
      error.textContent = `Could not change it: ${err.message}`;
    } finally {
      toggle.disabled = false;
      show();
    }
  });
  show();
  return h("section", { class: "card" }, h("h2", {}, "This browser"), state, h("div", { class: "row" }, toggle), error);
}

function prefsSection() {
  const boxes = EVENTS.map(([name, label]) => h("label", { class: "check" }, h("input", { type: "checkbox", name: "event", value: name }), " ", label));
  const reminder = h("input", { type: "number", id: "pref-reminder", min: "0", max: "1440", step: "1", inputmode: "numeric" });
  const teams = h("input", { type: "text", id: "pref-teams", placeholder: "all teams", "aria-label": "only these teams" });
  const quietStart = h("input", { type: "time", id: "pref-quiet-start", "aria-label": "quiet from" });
  const quietEnd = h("input", { type: "time", id: "pref-quiet-end", "aria-label": "quiet until" });
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const note = h("p", { class: "muted small", id: "prefs-note", role: "status" });
  let loaded = {};

  async function load() {
    loaded = await get("/v1/notify/preferences");
    for (const box of boxes) box.querySelector("input").checked = loaded.events.includes(box.querySelector("input").value);
    reminder.value = String(loaded.reminder_minutes);
    teams.value = (loaded.teams || []).join(", ");
    quietStart.value = loaded.quiet_hours ? loaded.quiet_hours.start : "";
    quietEnd.value = loaded.quiet_hours ? loaded.quiet_hours.end : "";
  }

  async function save(event) {
    event.preventDefault();
    const names = teams.value.split(",").map((t) => t.trim()).filter(Boolean);
    const body = {
      ...loaded,
      events: boxes.map((b) => b.querySelector("input")).filter((i) => i.checked).map((i) => i.value),
      reminder_minutes: Number(reminder.value || 0),
      teams: names.length ? names : null,
      quiet_hours: quietStart.value && quietEnd.value ? { start: quietStart.value, end: quietEnd.value, tz: (loaded.quiet_hours && loaded.quiet_hours.tz) || zone } : null,
    };
    try {
      loaded = await api("PUT", "/v1/notify/preferences", body);
      note.textContent = "Saved.";
    } catch (err) {
      note.textContent = `Not saved: ${err.message}`;
    }
  }

  load().catch((err) => {
    note.textContent = `Could not load your preferences: ${err.message}`;
  });
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Tell me about"),
    h("form", { id: "prefs", class: "stack", onsubmit: save }, ...boxes,
      h("label", {}, "Remind me after ", reminder, " minutes unanswered (0: never)"),
      h("label", {}, "Only these teams ", teams),
      h("div", { class: "row" }, h("span", {}, "Quiet hours"), quietStart, h("span", {}, "to"), quietEnd, h("span", { class: "muted small" }, zone)),
      h("div", { class: "row" }, h("button", { type: "submit", class: "primary", id: "prefs-save" }, "Save")),
      note,
    ),
  );
}

function sinkRow(sink, reload, say) {
  const test = h("button", { type: "button", class: "test" }, "Test");
  const remove = h("button", { type: "button", class: "danger remove" }, "Remove");
  test.addEventListener("click", async () => {
    test.disabled = true;
    try {
      const result = await post(`/v1/notify/sinks/${encodeURIComponent(sink.id)}/test`, {});
      say(result.outcome === "sent" ? `Test sent to ${sink.kind} (${result.detail}).` : `Test failed: ${result.detail}`);
    } catch (err) {
      say(`Test failed: ${err.message}`);
    } finally {
      test.disabled = false;
    }
  });
  remove.addEventListener("click", async () => {
    if (!window.confirm(`Remove this ${sink.kind} sink?`)) return;
    try {
      await api("DELETE", `/v1/notify/sinks/${encodeURIComponent(sink.id)}`);
      reload();
    } catch (err) {
      say(`Could not remove it: ${err.message}`);
    }
  });
  const what = sink.kind === "webpush" ? (sink.this_device ? "this browser" : "a browser") : sink.url;
  return h(
    "div",
    { class: "card sink", dataset: { sink: sink.id } },
    h("div", { class: "row" }, h("span", { class: "chip" }, sink.kind), h("span", { class: "mono grow sink-url" }, String(what)), test, remove),
    h("div", { class: "muted small" }, `${sink.events ? sink.events.join(", ") : "every event you chose"} · ${sink.id}`),
    sink.last_error ? h("div", { class: "error small" }, `last error: ${sink.last_error} (${sink.failures} failed)`) : null,
  );
}

function sinksSection() {
  const list = h("div", { class: "list", id: "sinks" });
  const note = h("p", { class: "muted small", id: "sinks-note", role: "status" });
  const say = (text) => {
    note.textContent = text;
  };
  const kind = h("select", { id: "sink-kind", "aria-label": "kind" }, h("option", { value: "webhook" }, "Webhook"), h("option", { value: "ntfy" }, "ntfy topic"));
  const url = h("input", { type: "url", id: "sink-url", required: true, class: "grow", placeholder: "https://ntfy.sh/my-topic or https://example.com/hook", "aria-label": "URL" });
  const secret = h("input", { type: "text", id: "sink-secret", placeholder: "secret (webhook) or token (ntfy), optional", "aria-label": "secret or token" });
  const shown = h("div", { id: "sink-secret-shown" });

  async function reload() {
    try {
      const sinks = await get("/v1/notify/sinks");
      clear(list);
      if (!sinks.length) list.appendChild(h("p", { class: "muted" }, "No sinks yet."));
      for (const sink of sinks) list.appendChild(sinkRow(sink, reload, say));
    } catch (err) {
      say(`Could not list sinks: ${err.message}`);
    }
  }

  async function add(event) {
    event.preventDefault();
    clear(shown);
    const body = { kind: kind.value, url: url.value.trim() };
    if (secret.value.trim()) body[kind.value === "webhook" ? "secret" : "token"] = secret.value.trim();
    try {
      const sink = await post("/v1/notify/sinks", body);
      url.value = secret.value = "";
      say(`Added ${sink.kind} ${sink.id}.`);
      if (sink.secret) {
        shown.appendChild(
          h("p", { class: "notice-box" }, "Its signing secret (shown this once; check `X-Tether-Signature: sha256=<HMAC>` with it): ", h("code", {}, sink.secret)),
        );
      }
      reload();
    } catch (err) {
      say(err instanceof ApiError && err.hint ? `${err.message} (${err.hint})` : err.message);
    }
  }

  reload();
  return h(
    "section",
    { class: "card" },
    h("h2", {}, "Webhooks and ntfy"),
    list,
    h("form", { id: "add-sink", class: "stack", onsubmit: add }, h("div", { class: "row" }, kind, url), h("div", { class: "row" }, secret, h("button", { type: "submit", class: "primary", id: "sink-add" }, "Add")), shown),
    note,
  );
}

export function settingsPage(main) {
  setTitle("Settings · tether");
  main.appendChild(h("section", { class: "settings" }, h("h1", {}, "Notifications"), pushSection(), prefsSection(), sinksSection()));
}
