// The session transcript, rendered by event kind (docs/protocol.md "Event kinds").
// Every string from an event lands in a text node or in renderMarkdown's safe DOM.

import { editDiff } from "./diff.js";
import { clock, h, preview, visible } from "./dom.js";
import { renderMarkdown } from "./markdown.js";

const MAX_OUTPUT = 20_000; // characters of one tool result shown before "show all"

/** A view of a tool's input: a diff for file edits, a command line for shells, else JSON. */
export function inputView(tool, input) {
  const diff = editDiff(tool, input);
  if (diff) {
    const path = input.file_path || input.path || input.notebook_path;
    return h("div", { class: "edit" }, path ? h("div", { class: "edit-path" }, visible(path)) : null, diff);
  }
  if (input && typeof input.command === "string") {
    return h(
      "div",
      {},
      h("pre", { class: "term" }, "$ " + visible(input.command)),
      input.description ? h("div", { class: "muted small" }, visible(input.description)) : null,
    );
  }
  return h("pre", { class: "json" }, visible(JSON.stringify(input ?? {}, null, 2)));
}

/** One line saying what a tool call is about. */
export function toolSummary(tool, input) {
  const i = input || {};
  const what = i.command ?? i.file_path ?? i.path ?? i.pattern ?? i.url ?? i.query ?? i.description;
  return what === undefined ? preview(i, 80) : preview(String(what), 80);
}

function longText(text, className) {
  const full = String(text ?? "");
  if (full.length <= MAX_OUTPUT) return h("pre", { class: className }, full);
  const pre = h("pre", { class: className }, full.slice(0, MAX_OUTPUT));
  const more = h(
    "button",
    {
      type: "button",
      class: "link-button",
      onclick: () => {
        pre.textContent = full;
        more.remove();
      },
    },
    `show all (${full.length - MAX_OUTPUT} more characters)`,
  );
  return h("div", {}, pre, more);
}

export class Transcript {
  constructor(container) {
    this.el = container;
    this.calls = new Map(); // tool_use_id → result slot
    this.requests = new Map(); // request_id → status element
    this.terminal = null; // the <pre> consecutive `output` events append to
  }

  /** Render one event (called once per seq). */
  add(seq, payload, ts) {
    const kind = String(payload.kind || "");
    const node = this.render(kind, payload, ts);
    if (kind !== "output") this.terminal = null;
    if (node) {
      node.dataset.seq = String(seq);
      node.dataset.kind = kind;
      this.el.appendChild(node);
    }
  }

  render(kind, p, ts) {
    const time = h("time", { class: "ts" }, clock(ts));
    switch (kind) {
      case "user_message":
        return h("div", { class: "ev user" }, h("div", { class: "who" }, p.by ? String(p.by) : "you", " ", time), h("div", { class: "bubble" }, String(p.text ?? "")));
      case "agent_message":
        return h("div", { class: "ev agent md" }, renderMarkdown(p.text));
      case "tool_call": {
        const slot = h("div", { class: "tool-result" }, h("span", { class: "muted small" }, "running…"));
        this.calls.set(String(p.tool_use_id), slot);
        return h(
          "details",
          { class: "ev tool" },
          h("summary", {}, h("span", { class: "tool-name" }, String(p.tool ?? "tool")), " ", h("span", { class: "tool-what" }, toolSummary(p.tool, p.input))),
          inputView(p.tool, p.input),
          slot,
        );
      }
      case "tool_result": {
        const body = longText(p.output, p.is_error ? "term result error" : "term result");
        const slot = this.calls.get(String(p.tool_use_id));
        if (slot) {
          slot.replaceChildren(body);
          if (p.is_error) slot.closest("details")?.classList.add("failed");
          return null;
        }
        return h("details", { class: "ev tool" }, h("summary", {}, "tool result"), body);
      }
      case "permission_request": {
        const state = h("div", { class: "perm-state" }, "waiting for the owner's decision");
        this.requests.set(String(p.request_id), state);
        return h(
          "div",
          { class: "ev perm" },
          h("div", { class: "perm-title" }, "Permission requested: ", h("strong", {}, visible(p.tool ?? "tool")), " ", time),
          inputView(p.tool, p.input),
          state,
        );
      }
      case "permission_decision": {
        const text = decisionText(p);
        const state = this.requests.get(String(p.request_id));
        if (state) {
          state.textContent = text;
          state.className = "perm-state " + String(p.behavior);
          state.closest(".perm")?.classList.add("resolved");
          return null;
        }
        return h("div", { class: "ev notice" }, text);
      }
      case "turn_finished": {
        const bits = [`turn ${p.status === "success" ? "finished" : String(p.status)}`];
        const spent = spentText(p.usage && p.usage.input_tokens, p.usage && p.usage.output_tokens, p.cost);
        if (spent) bits.push(spent);
        const row = h("div", { class: "ev turn " + String(p.status) }, h("span", {}, bits.join(" · ")), time);
        if (p.status !== "success" && p.result) row.appendChild(h("div", { class: "small" }, String(p.result)));
        return row;
      }
      case "output": {
        const line = h("span", { class: p.stream === "stderr" ? "stderr" : "stdout" }, String(p.text ?? "") + "\n");
        if (this.terminal) {
          this.terminal.appendChild(line);
          return null;
        }
        this.terminal = h("pre", { class: "term" }, line);
        return h("div", { class: "ev output" }, this.terminal);
      }
      case "exited": {
        const bits = ["session ended"];
        if (p.code !== undefined && p.code !== null) bits.push(`exit code ${p.code}`);
        if (p.signal) bits.push(`signal ${p.signal}`);
        if (p.reason) bits.push(String(p.reason));
        return h("div", { class: "ev notice exited" }, bits.join(" · "));
      }
      case "error":
        return h("div", { class: "ev error" }, h("strong", {}, "error"), " ", String(p.message ?? ""), p.code ? ` (${p.code})` : "");
      case "status":
        if (p.detail) return h("div", { class: "ev notice" }, String(p.detail));
        if (p.model) return h("div", { class: "ev meta" }, `${p.agent || "agent"} · ${p.model}`, p.permission_mode ? ` · ${p.permission_mode}` : "");
        return null;
      default:
        return h("div", { class: "ev unknown" }, h("strong", {}, kind || "event"), " ", preview(p, 300));
    }
  }
}

/** "allowed by alice", "denied by alice: not on main", "withdrawn by the agent". */
export function decisionText(p) {
  if (p.behavior === "cancelled") return "withdrawn by the agent";
  const verb = p.behavior === "allow" ? "allowed" : "denied";
  return `${verb}${p.by ? " by " + p.by : ""}${p.message ? ": " + p.message : ""}`;
}

/** `1,234 in / 56 out tokens · $0.0123`: the parts that are known ("" when none is). */
export function spentText(input, output, cost) {
  const n = (v) => (typeof v === "number" && v > 0 ? Math.floor(v) : 0);
  const parts = [];
  if (n(input) || n(output)) parts.push(`${n(input).toLocaleString("en-US")} in / ${n(output).toLocaleString("en-US")} out tokens`);
  if (typeof cost === "number" && cost > 0) parts.push(`$${cost.toFixed(4)}`);
  return parts.join(" · ");
}
