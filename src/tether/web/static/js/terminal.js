// A terminal session in the browser (docs/terminal.md): xterm.js with its DOM renderer, so
// the screen's text is in the page (screen readers, tests, find-in-page). The latest
// snapshot paints the screen as it is now, then the live output follows. The owner types
// into it (a row of keys a phone lacks: Esc, Tab, Ctrl, arrows); followers watch.
//
// Fit to width: while no local console (`tether run`) is attached, the owner's page gives
// the session its own size; otherwise — and for followers — the page keeps the session's
// size and shrinks the font until its columns fit.
//
// Without xterm.js (npm was missing at install) the page shows the latest snapshot's text.

import { clear, h } from "./dom.js";
import { stateChip } from "./sessions.js";
import { SessionStream } from "./stream.js";

const CSI_ARROWS = { "←": "D", "↑": "A", "↓": "B", "→": "C" };
const MIN_FONT = 7;
const MAX_FONT = 15;

export function terminalPage(main, sessionId, ctx, firstInfo, { readOnlyLink = false, follow = false } = {}) {
  let info = firstInfo || { id: sessionId };
  let role = null;
  let term = null;
  let fit = null;
  let ctrl = false;
  let size = { cols: 80, rows: 24 };
  let fallbackLines = [];
  const undo = [];

  const title = h("h1", { class: "session-title" }, String(info.team || "terminal"));
  const stateSlot = h("span");
  const roleChip = h("span", { class: "chip role", id: "role" }, "…");
  const connChip = h("span", { class: "chip conn conn-connecting", id: "connection", role: "status" }, "connecting");
  const meta = h("div", { class: "muted small session-meta" });
  const screenEl = h("div", { class: "term-screen", id: "terminal", "aria-label": "terminal screen" });
  const fallbackEl = h("pre", { class: "term-fallback", id: "terminal-text", hidden: true });
  const flash = h("div", { class: "flash", id: "flash", role: "alert" });
  const keysRow = h(
    "div",
    { class: "term-keys", id: "term-keys", role: "toolbar", "aria-label": "keys" },
    ...["Esc", "Tab", "Ctrl", "←", "↑", "↓", "→", "^C"].map((label) =>
      h("button", { type: "button", class: "term-key", dataset: { key: label }, onclick: () => pressKey(label) }, label),
    ),
  );
  const note = h("div", { class: "readonly-note", id: "readonly-note" });
  main.appendChild(
    h(
      "section",
      { class: "session terminal-session" },
      h("div", { class: "session-head" }, h("a", { href: "/sessions", "data-link": true, class: "back" }, "← Sessions"), title, h("div", { class: "row chips" }, stateSlot, roleChip, connChip), meta),
      screenEl,
      fallbackEl,
      h("div", { class: "dock" }, flash, keysRow, note),
    ),
  );

  function isOwner() {
    return role === "owner" && !readOnlyLink;
  }

  function consoleAttached() {
    return Boolean(info.terminal && info.terminal.console);
  }

  function refresh() {
    title.textContent = String(info.team || "terminal");
    document.title = `${info.team || "terminal"} · tether`;
    clear(stateSlot).appendChild(stateChip(info.state));
    const roleName = readOnlyLink ? "read-only link" : role || "…";
    roleChip.textContent = roleName;
    roleChip.className = "chip role role-" + roleName.replace(/\W+/g, "-");
    meta.textContent = [`terminal ${size.cols}×${size.rows}`, info.host || "local", consoleAttached() ? "console attached" : "no console", sessionId].join(" · ");
    const owner = isOwner();
    keysRow.hidden = !owner || info.state === "exited";
    if (term) term.options.disableStdin = !owner;
    if (info.state === "exited") note.textContent = "This session has ended.";
    else if (owner) note.textContent = "You own this terminal: what you type goes to the program.";
    else if (readOnlyLink) note.textContent = "Read-only link: you can watch this terminal but not type.";
    else note.textContent = info.owner ? `Watching: ${info.owner} owns this terminal.` : "Watching: the owner slot is free — reload to take it.";
  }

  // -- keys -------------------------------------------------------------------------------
  function send(data) {
    if (!isOwner() || !data) return;
    stream.request("terminal_input", { text: data }).catch((err) => {
      flash.textContent = `Not typed: ${err.message}`;
    });
  }

  function typed(data) {
    if (ctrl && data.length === 1) {
      const code = data.toUpperCase().charCodeAt(0);
      if (code >= 64 && code <= 95) data = String.fromCharCode(code & 0x1f);
      setCtrl(false);
    }
    send(data);
  }

  function setCtrl(on) {
    ctrl = on;
    const button = keysRow.querySelector("[data-key='Ctrl']");
    button.classList.toggle("active", on);
    button.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function pressKey(label) {
    if (label === "Ctrl") {
      setCtrl(!ctrl);
      if (term) term.focus();
      return;
    }
    if (label in CSI_ARROWS) {
      const app = term && term.modes && term.modes.applicationCursorKeysMode;
      send((app ? "\x1bO" : "\x1b[") + CSI_ARROWS[label]);
    } else if (label === "Esc") send("\x1b");
    else if (label === "Tab") send("\t");
    else if (label === "^C") send("\x03");
    if (term) term.focus();
  }

  // -- size -------------------------------------------------------------------------------
  function layout() {
    if (!term || !fit) return;
    if (isOwner() && !consoleAttached() && info.state !== "exited") {
      term.options.fontSize = MAX_FONT - 2;
      const dims = fit.proposeDimensions();
      if (dims && dims.cols > 1 && dims.rows > 1 && (dims.cols !== size.cols || dims.rows !== size.rows)) {
        stream.request("terminal_resize", { cols: dims.cols, rows: dims.rows }).catch(() => {});
      }
      return;
    }
    fitFont();
  }

  function fitFont() {
    // Shrink (or grow) the font until the session's columns fit the width.
    for (let i = 0; i < 3; i++) {
      const dims = fit.proposeDimensions();
      if (!dims || !dims.cols) return;
      const current = term.options.fontSize;
      const next = Math.max(MIN_FONT, Math.min(MAX_FONT, Math.floor((current * dims.cols) / size.cols * 10) / 10));
      if (Math.abs(next - current) < 0.1) return;
      term.options.fontSize = next;
    }
  }

  function applySize(cols, rows) {
    size = { cols, rows };
    if (term) term.resize(cols, rows);
    layout();
  }

  // -- the stream --------------------------------------------------------------------------
  let resumed = false;
  const stream = new SessionStream(
    sessionId,
    {
      onReady(payload) {
        info = payload.session || info;
        const snapshot = info.terminal && info.terminal.snapshot_seq;
        // A late viewer starts at the latest snapshot: the screen as it is now.
        if (!resumed && snapshot && stream.lastSeq === 0) stream.lastSeq = snapshot - 1;
        resumed = true;
        refresh();
      },
      onRole(payload) {
        role = payload.role;
        refresh();
        layout();
      },
      onSession(payload) {
        info = payload;
        refresh();
      },
      onEvent(seq, payload) {
        const kind = payload.kind;
        if (kind === "terminal_snapshot") {
          fallbackLines = payload.lines || [];
          fallbackEl.textContent = fallbackLines.join("\n");
          if (term) {
            term.reset();
            applySize(payload.cols, payload.rows);
            term.write(payload.ansi || "");
          } else size = { cols: payload.cols, rows: payload.rows };
        } else if (kind === "terminal_output") {
          if (term) term.write(payload.text !== undefined ? payload.text : base64Bytes(payload.data));
        } else if (kind === "terminal_resize") {
          info = { ...info, terminal: { ...(info.terminal || {}), cols: payload.cols, rows: payload.rows, console: payload.console ?? (info.terminal || {}).console } };
          applySize(payload.cols, payload.rows);
        } else if (kind === "exited") {
          info = { ...info, state: "exited" };
          if (term) term.write(`\r\n\x1b[0m[the program exited: code ${payload.code ?? "?"}]\r\n`);
        } else if (kind === "status" && payload.state) {
          info = { ...info, state: payload.state };
        }
        refresh();
      },
      onStatus(state, detail) {
        connChip.className = "chip conn conn-" + state;
        connChip.textContent = state === "live" ? "live" : detail || state;
      },
      onFatal(_code, message) {
        flash.textContent = message;
      },
      onError(payload) {
        flash.textContent = String(payload.message || payload.code || "error");
      },
    },
    { follow: readOnlyLink || follow },
  );

  function onWindowResize() {
    layout();
  }

  refresh();
  loadXterm()
    .then(({ Terminal, FitAddon }) => {
      term = new Terminal({ fontSize: MAX_FONT - 2, scrollback: 1000, cursorBlink: false, allowProposedApi: false, disableStdin: true, screenReaderMode: true });
      fit = new FitAddon();
      term.loadAddon(fit);
      undo.push(bridgeStyles());
      term.open(screenEl);
      term.resize(size.cols, size.rows);
      term.onData(typed);
      term.onBinary((data) => send(data));
      window.addEventListener("resize", onWindowResize);
      stream.connect();
    })
    .catch(() => {
      screenEl.hidden = true;
      fallbackEl.hidden = false;
      fallbackEl.textContent = "Loading the screen… (xterm.js is not installed: showing the screen's text)";
      stream.connect();
    });

  return () => {
    stream.stop();
    window.removeEventListener("resize", onWindowResize);
    if (term) term.dispose();
    for (const fn of undo) fn();
  };
}

async function loadXterm() {
  const [{ Terminal }, { FitAddon }] = await Promise.all([import("/static/vendor/xterm/xterm.mjs"), import("/static/vendor/xterm/addon-fit.mjs")]);
  if (!document.querySelector("link[data-xterm]")) {
    document.head.appendChild(h("link", { rel: "stylesheet", href: "/static/vendor/xterm/xterm.css", "data-xterm": true }));
  }
  return { Terminal, FitAddon };
}

function base64Bytes(data) {
  const binary = atob(String(data || ""));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

// The UI's Content-Security-Policy allows styles only from this origin, but xterm.js
// writes its layout and theme into <style> elements and `style` attributes, which the
// policy blocks. While a terminal is open, both go through the CSSOM instead (which the
// policy allows): its <style> elements become constructed stylesheets, its `style`
// attributes property assignments. The policy itself stays as strict as everywhere else.
function bridgeStyles() {
  const createElement = document.createElement;
  const setAttribute = Element.prototype.setAttribute;
  const sheets = new Set();
  function adopt() {
    document.adoptedStyleSheets = [...document.adoptedStyleSheets.filter((s) => !s.tetherBridge), ...[...sheets].map((b) => b.sheet)];
  }
  document.createElement = function (tag, options) {
    if (String(tag).toLowerCase() !== "style") return createElement.call(document, tag, options);
    const holder = createElement.call(document, "template");
    const bridge = { sheet: new CSSStyleSheet() };
    bridge.sheet.tetherBridge = true;
    let text = "";
    Object.defineProperty(holder, "textContent", {
      get: () => text,
      set: (value) => {
        text = String(value);
        bridge.sheet.replaceSync(text);
        sheets.add(bridge);
        adopt();
      },
    });
    const remove = holder.remove.bind(holder);
    holder.remove = () => {
      sheets.delete(bridge);
      adopt();
      remove();
    };
    return holder;
  };
  Element.prototype.setAttribute = function (name, value) {
    if (String(name).toLowerCase() === "style" && this.closest && !this.isConnected) {
      this.style.cssText = String(value);
      return;
    }
    return setAttribute.call(this, name, value);
  };
  return () => {
    document.createElement = createElement;
    Element.prototype.setAttribute = setAttribute;
    sheets.clear();
    adopt();
  };
}
