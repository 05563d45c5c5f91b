// Devices (pair with a QR code, revoke), share-link panels and the audit log. These use
// routes of the hub's auth module; on a hub without them each page says so (404).

import { ApiError, get, listOf, post, qrDataUrl } from "./api.js";
import { ago, clear, h, preview } from "./dom.js";
import { setTitle } from "./title.js";

function unavailable(what) {
  return h("p", { class: "muted notice-box" }, `${what} is not available on this hub.`);
}

function when(value) {
  if (value === undefined || value === null || value === "") return "—";
  const ts = typeof value === "number" ? value : Date.parse(value) / 1000;
  return Number.isFinite(ts) ? new Date(ts * 1000).toLocaleString() : String(value);
}

/** A panel showing a link (and maybe a code) with its QR code, expiry and a copy button. */
export function linkPanel({ title, url, code, expiresAt, note }) {
  const img = h("img", { class: "qr", alt: "QR code of the link", width: 180, height: 180 });
  img.hidden = true;
  if (url || code) {
    qrDataUrl(url || code)
      .then((src) => {
        img.src = src;
        img.hidden = false;
      })
      .catch(() => {}); // the link and code below still work without the picture
  }
  const copy = url
    ? h(
        "button",
        {
          type: "button",
          onclick: async (event) => {
            try {
              await navigator.clipboard.writeText(url);
              event.target.textContent = "Copied";
            } catch (_err) {
              event.target.textContent = "Select the link to copy it";
            }
          },
        },
        "Copy link",
      )
    : null;
  return h(
    "div",
    { class: "card link-panel" },
    h("strong", {}, title),
    code ? h("div", { class: "pair-code mono", "aria-label": "pairing code" }, String(code)) : null,
    img,
    url ? h("div", { class: "mono small wrap link-url" }, String(url)) : null,
    h("div", { class: "row" }, copy, expiresAt ? h("span", { class: "muted small" }, `expires ${when(expiresAt)}`) : null),
    note ? h("p", { class: "muted small" }, note) : null,
  );
}

export function devicesPage(main, _match, ctx) {
  setTitle("Devices · tether");
  const pairArea = h("div", { id: "pairing" });
  const list = h("div", { class: "list", id: "devices" }, h("p", { class: "muted" }, "Loading…"));
  const pairButton = h("button", { type: "button", class: "primary", onclick: pair }, "Pair a new device");
  main.appendChild(
    h(
      "section",
      {},
      h("h1", {}, "Devices"),
      h("p", { class: "muted" }, "A paired device (a phone, a laptop's CLI, a runner) signs in as you. Revoke one you lost and its connections close at once."),
      h("div", { class: "row" }, pairButton),
      pairArea,
      h("h2", {}, "Paired devices"),
      list,
    ),
  );

  async function pair() {
    pairButton.disabled = true;
    try {
      const p = await post("/v1/pairing-codes", {});
      // The code rides in the fragment: a browser never sends it to a server or a proxy.
      const url = `${window.location.origin}/signin#code=${encodeURIComponent(p.code)}`;
      const expiresAt = Date.now() / 1000 + Number(p.expires_in || 300);
      const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(window.location.hostname);
      const note = loopback
        ? `This link points at ${window.location.host}, which only this machine can reach: a phone needs the hub's address on your network (serve it with TLS: tether hub --tls-cert … --tls-key …).`
        : "Single use; it works for five minutes.";
      clear(pairArea).appendChild(linkPanel({ title: "Scan with the new device, or type the code", url, code: p.code, expiresAt, note }));
    } catch (err) {
      clear(pairArea).appendChild(err instanceof ApiError && err.status === 404 ? unavailable("Pairing") : h("p", { class: "error" }, err.message));
    } finally {
      pairButton.disabled = false;
    }
  }

  async function revoke(device) {
    if (!window.confirm(`Revoke ${device.name || device.id}? It will be signed out everywhere.`)) return;
    try {
      await post(`/v1/devices/${encodeURIComponent(device.id)}/revoke`, {});
      load();
    } catch (err) {
      window.alert(`Could not revoke: ${err.message}`);
    }
  }

  async function load() {
    try {
      const devices = listOf(await get("/v1/devices"), "devices", "items");
      clear(list);
      if (!devices.length) list.appendChild(h("p", { class: "muted" }, "No paired devices yet."));
      for (const d of devices) {
        const revoked = Boolean(d.revoked || d.revoked_at);
        list.appendChild(
          h(
            "div",
            { class: "card row device" + (revoked ? " revoked" : "") },
            h(
              "div",
              { class: "grow" },
              h("strong", {}, String(d.name || d.label || d.id)),
              " ",
              d.kind ? h("span", { class: "chip" }, String(d.kind)) : null,
              d.current || (ctx && ctx.me && d.id === ctx.me.device_id) ? h("span", { class: "chip" }, "this browser") : null,
              h("div", { class: "muted small" }, `paired ${when(d.created_at)} · last seen ${typeof d.last_seen === "number" ? ago(d.last_seen) : when(d.last_seen)}${revoked ? " · revoked" : ""}`),
            ),
            revoked ? null : h("button", { type: "button", class: "danger", onclick: () => revoke(d) }, "Revoke"),
          ),
        );
      }
    } catch (err) {
      clear(list).appendChild(err instanceof ApiError && err.status === 404 ? unavailable("Device management") : h("p", { class: "error" }, err.message));
    }
  }
  load();
}

/** An audit entry's details as `key=value` pairs (ids and reasons; never a secret). */
function auditDetails(e) {
  const pairs = Object.entries(e.details || {}).filter(([, v]) => v !== null && v !== undefined && v !== "");
  return pairs.map(([k, v]) => `${k}=${typeof v === "string" ? v : preview(v, 80)}`).join("  ");
}

export function auditPage(main) {
  setTitle("Audit · tether");
  const body = h("div", { id: "audit" }, h("p", { class: "muted" }, "Loading…"));
  main.appendChild(h("section", {}, h("h1", {}, "Audit log"), h("p", { class: "muted" }, "The last 24 hours, newest first."), body));
  const since = Math.floor(Date.now() / 1000 - 86400);
  // Devices by name, so "who" reads `admin (laptop)` as in `tether audit` (best effort:
  // without the device list an entry shows the user alone).
  Promise.all([get(`/v1/audit?since=${since}&limit=10000`), get("/v1/devices").catch(() => [])])
    .then(([data, devices]) => {
      const deviceNames = new Map((Array.isArray(devices) ? devices : []).map((d) => [String(d.id), String(d.name)]));
      const who = (e) => {
        const user = String(e.actor ?? e.by ?? e.user ?? e.user_id ?? "—");
        return e.device_id ? `${user} (${deviceNames.get(String(e.device_id)) || e.device_id})` : user;
      };
      const entries = listOf(data, "entries", "events", "items").slice().reverse().slice(0, 500);
      clear(body);
      if (!entries.length) {
        body.appendChild(h("p", { class: "muted" }, "Nothing recorded yet."));
        return;
      }
      body.appendChild(
        h(
          "div",
          { class: "md-table" },
          h(
            "table",
            { class: "audit" },
            h("thead", {}, h("tr", {}, h("th", {}, "When"), h("th", {}, "Who"), h("th", {}, "What"), h("th", {}, "From"), h("th", {}, "Details"))),
            h(
              "tbody",
              {},
              entries.map((e) =>
                h(
                  "tr",
                  {},
                  h("td", { class: "nowrap" }, when(e.ts ?? e.at ?? e.time)),
                  h("td", {}, who(e)),
                  h("td", {}, String(e.action ?? "")),
                  h("td", { class: "mono small" }, String(e.address ?? "")),
                  h("td", { class: "mono small wrap" }, auditDetails(e)),
                ),
              ),
            ),
          ),
        ),
      );
    })
    .catch((err) => {
      clear(body).appendChild(
        err instanceof ApiError && err.status === 404
          ? unavailable("The audit log")
          : err instanceof ApiError && err.status === 403
            ? h("p", { class: "muted notice-box" }, "Only admins can read the audit log.")
            : h("p", { class: "error" }, err.message),
      );
    });
}
