// One session: live transcript, permission cards, message box, role and connection state.

import { ApiError, get, isReadOnlyLink, post, rememberShare, viaShare } from "./api.js";
import { linkPanel } from "./admin.js";
import { clear, h, visible } from "./dom.js";
import { stateChip } from "./sessions.js";
import { SessionStream } from "./stream.js";
import { terminalPage } from "./terminal.js";
import { Transcript, inputView, spentText } from "./transcript.js";
import { setTitle } from "./title.js";
import { reportVisibility } from "./push.js";

const NEXT_STATE = {
  user_message: "busy",
  permission_request: "waiting_permission",
  permission_decision: "busy",
  turn_finished: "idle",
  exited: "exited",
};

/** Does this `exited` leave the session asleep, so a message wakes it? The hub's rule
 * (`SessionTracker.asleep`): a clean exit, or put to sleep / evicted by the runner. */
function isAsleep(exited) {
  const reason = String(exited.reason || "");
  return exited.code === 0 || reason.startsWith("asleep:") || reason.startsWith("evicted:");
}

/** `info` with one more finished turn's tokens and cost counted. */
function addSpent(info, turn) {
  const usage = turn.usage || {};
  const n = (v) => (typeof v === "number" && v > 0 ? v : 0);
  const cost = typeof turn.cost === "number" && turn.cost > 0 ? (info.cost || 0) + turn.cost : info.cost;
  return { ...info, input_tokens: n(info.input_tokens) + n(usage.input_tokens), output_tokens: n(info.output_tokens) + n(usage.output_tokens), cost };
}

export function sessionPage(main, match, ctx) {
  const sessionId = match[1];
  const params = new URLSearchParams(window.location.search);
  const byLink = viaShare(sessionId);
  const readOnlyLink = byLink || isReadOnlyLink(ctx.me);
  let info = { id: sessionId, team: "…", state: "starting" };
  let role = null;
  let readySeq = 0;
  let connection = "connecting";

  // -- layout -------------------------------------------------------------------------
  const title = h("h1", { class: "session-title" }, "Session");
  const stateSlot = h("span");
  const roleChip = h("span", { class: "chip role", id: "role" }, "…");
  const connChip = h("span", { class: "chip conn conn-connecting", id: "connection", role: "status" }, "connecting");
  const meta = h("div", { class: "muted small session-meta" });
  const interruptBtn = h("button", { type: "button", id: "interrupt", onclick: interrupt }, "Interrupt");
  const takeBtn = h("button", { type: "button", id: "take-ownership", class: "primary", onclick: () => stream.rejoin(false, true) }, "Take ownership");
  const watchBtn = h("button", { type: "button", id: "watch-only", onclick: () => stream.rejoin(true) }, "Watch only");
  const shareBtn = h("button", { type: "button", id: "share", onclick: share }, "Share");
  const stopBtn = h("button", { type: "button", class: "danger", id: "stop", onclick: stop }, "Stop");
  const shareArea = h("div", { id: "share-area" });
  const transcriptEl = h("div", { class: "transcript", id: "transcript", "aria-live": "polite" });
  const flash = h("div", { class: "flash", id: "flash", role: "alert" });
  const pendingEl = h("div", { class: "pending", id: "pending" });
  const textbox = h("textarea", { id: "message", rows: 1, placeholder: "Message the agent…", "aria-label": "message", enterkeyhint: "send" });
  const sendBtn = h("button", { type: "submit", class: "primary", id: "send" }, "Send");
  const composer = h("form", { class: "composer", id: "composer", onsubmit: (e) => { e.preventDefault(); send(); } }, textbox, sendBtn);
  const readonlyNote = h("div", { class: "readonly-note", id: "readonly-note" });
  const dock = h("div", { class: "dock" }, flash, pendingEl, composer, readonlyNote);

  main.appendChild(
    h(
      "section",
      { class: "session" },
      h("div", { class: "session-head" }, h("a", { href: "/sessions", "data-link": true, class: "back" }, "← Sessions"), title, h("div", { class: "row chips" }, stateSlot, roleChip, connChip), meta),
      h("div", { class: "row toolbar" }, interruptBtn, takeBtn, watchBtn, shareBtn, stopBtn),
      shareArea,
      transcriptEl,
      dock,
    ),
  );
  textbox.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  textbox.addEventListener("input", () => {
    textbox.rows = Math.min(8, Math.max(1, textbox.value.split("\n").length));
  });

  const transcript = new Transcript(transcriptEl);
  const pending = new Map(); // request_id → card

  // -- rendering state ------------------------------------------------------------------
  function isOwner() {
    return role === "owner" && !readOnlyLink;
  }

  function refresh() {
    title.textContent = String(info.team || "session");
    setTitle(`${info.team || "session"} · tether`);
    clear(stateSlot).appendChild(stateChip(info.state));
    const roleName = readOnlyLink ? "read-only link" : role || "…";
    roleChip.textContent = roleName;
    roleChip.className = "chip role role-" + roleName.replace(/\W+/g, "-");
    connChip.className = "chip conn conn-" + connection;
    const others = [info.agent || "agent", info.host || "local", info.owner ? `owner ${info.owner}` : "owner slot free", `${info.followers || 0} follower${info.followers === 1 ? "" : "s"}`];
    const spent = spentText(info.input_tokens, info.output_tokens, info.cost);
    if (spent) others.push(`session: ${spent}`);
    if (info.runner_replica) others.push(`runner on ${info.runner_replica}`);
    meta.textContent = others.join(" · ") + ` · ${sessionId}`;
    const live = connection === "live";
    // An exited session that is asleep (idle_timeout, or ended cleanly) takes a message:
    // the hub resumes it with its context, so the composer stays.
    const asleep = info.state === "exited" && info.asleep === true;
    const exited = info.state === "exited" && !asleep;
    const owner = isOwner();
    // The slot is held by this user's other device (a CLI, another tab): taking it over
    // is theirs to do (the hub checks; the other device stays on as a follower).
    const mine = Boolean(info.owner && ctx.me && info.owner === ctx.me.name);
    interruptBtn.hidden = !(owner && (info.state === "busy" || info.state === "waiting_permission"));
    takeBtn.hidden = !(live && role === "follower" && !readOnlyLink && (!info.owner || mine) && !exited);
    watchBtn.hidden = !(live && owner && !exited);
    stopBtn.hidden = !(owner && info.state !== "exited");
    shareBtn.hidden = readOnlyLink;
    composer.hidden = !owner || exited;
    sendBtn.disabled = !live;
    textbox.disabled = !owner || exited;
    readonlyNote.hidden = !composer.hidden;
    textbox.placeholder = asleep ? "Asleep: a message wakes it with its context…" : "Message the agent…";
    if (asleep && owner) readonlyNote.textContent = "";
    else if (exited) readonlyNote.textContent = "This session has ended.";
    else if (readOnlyLink) readonlyNote.textContent = "Read-only link: you can watch this session but not steer it.";
    else if (role === "follower") {
      readonlyNote.textContent = info.owner
        ? `Following: ${info.owner} owns this session; only the owner can send messages and answer requests.`
        : "Following: the owner slot is free — take ownership to steer.";
      if (mine) readonlyNote.textContent += " It is yours (another device or tab): Take ownership to steer from here.";
    } else readonlyNote.textContent = "Connecting…";
    for (const card of pending.values()) {
      card.querySelector(".perm-actions").hidden = !owner;
      card.querySelector(".perm-wait").hidden = owner;
    }
  }

  function setFlash(text) {
    flash.textContent = text || "";
  }

  function addPending(request) {
    const id = String(request.request_id);
    if (pending.has(id)) return;
    const allow = h("button", { type: "button", class: "primary allow", onclick: () => decide(id, "allow", card) }, "Allow");
    const deny = h("button", { type: "button", class: "danger deny", onclick: () => decide(id, "deny", card) }, "Deny");
    const card = h(
      "div",
      { class: "card perm-card", dataset: { request: id } },
      h("div", { class: "perm-title" }, "The agent asks to use ", h("strong", {}, visible(request.tool ?? "a tool"))),
      inputView(request.tool, request.input),
      h("div", { class: "row perm-actions" }, allow, deny),
      h("div", { class: "muted small perm-wait" }, "Waiting for the owner to answer."),
    );
    pending.set(id, card);
    pendingEl.appendChild(card);
    refresh();
  }

  function resolvePending(id) {
    const card = pending.get(String(id));
    if (card) card.remove();
    pending.delete(String(id));
  }

  async function decide(id, behavior, card) {
    for (const b of card.querySelectorAll("button")) b.disabled = true;
    try {
      await stream.request("permission_decision", { request_id: id, behavior });
      setFlash("");
    } catch (err) {
      for (const b of card.querySelectorAll("button")) b.disabled = false;
      setFlash(`Could not answer: ${err.message}`);
    }
  }

  async function send() {
    const text = textbox.value.trim();
    if (!text || !isOwner()) return;
    sendBtn.disabled = true;
    try {
      await stream.request("user_message", { text });
      textbox.value = "";
      textbox.rows = 1;
      setFlash("");
    } catch (err) {
      setFlash(`Not sent: ${err.message}`);
    } finally {
      sendBtn.disabled = connection !== "live";
    }
  }

  async function interrupt() {
    try {
      await stream.request("interrupt", {});
    } catch (err) {
      setFlash(`Could not interrupt: ${err.message}`);
    }
  }

  async function stop() {
    if (!window.confirm("Stop this session's agent?")) return;
    try {
      await post(`/v1/sessions/${encodeURIComponent(sessionId)}/stop`, {});
    } catch (err) {
      setFlash(`Could not stop: ${err.message}`);
    }
  }

  async function share() {
    shareBtn.disabled = true;
    try {
      const link = await post(`/v1/sessions/${encodeURIComponent(sessionId)}/shares`, { ttl_s: 3600 });
      // The token rides in the fragment, which browsers never send to a server or proxy.
      const url = `${window.location.origin}/share#token=${encodeURIComponent(link.token)}`;
      clear(shareArea).appendChild(
        linkPanel({
          title: "Read-only link to this session",
          url,
          expiresAt: link.expires_at,
          note: `Anyone with the link can watch, never steer. Revoke it with: tether share revoke ${link.id}`,
        }),
      );
    } catch (err) {
      clear(shareArea).appendChild(
        h("p", { class: "muted notice-box" }, err instanceof ApiError && err.status === 404 ? "Share links are not available on this hub." : `Could not create a link: ${err.message}`),
      );
    } finally {
      shareBtn.disabled = false;
    }
  }

  // -- the stream -----------------------------------------------------------------------
  function nearBottom() {
    const doc = document.scrollingElement || document.documentElement;
    return doc.scrollHeight - (doc.scrollTop + window.innerHeight) < 120;
  }
  let scrollQueued = false;
  function keepAtBottom() {
    if (scrollQueued) return;
    scrollQueued = true;
    requestAnimationFrame(() => {
      scrollQueued = false;
      window.scrollTo(0, (document.scrollingElement || document.documentElement).scrollHeight);
    });
  }

  const stream = new SessionStream(
    sessionId,
    {
      onReady(payload) {
        if (payload.session && payload.session.agent === "terminal" && !terminal) {
          // A terminal session: its own view (xterm.js), with its own stream.
          stream.stop();
          clear(main);
          terminal = terminalPage(main, sessionId, ctx, payload.session, { readOnlyLink, follow: params.get("follow") === "1" });
          return;
        }
        info = payload.session || info;
        readySeq = payload.last_seq || 0; // the hub's totals count the turns up to here
        const still = new Set((payload.pending_permissions || []).map((r) => String(r.request_id)));
        for (const id of [...pending.keys()]) if (!still.has(id)) resolvePending(id);
        for (const request of payload.pending_permissions || []) addPending(request);
        refresh();
      },
      onRole(payload) {
        // A second `role` on a live socket is a change: another device of this user took
        // the owner slot. Say so; this tab stays connected as a follower.
        if (role === "owner" && payload.role === "follower" && payload.reason) setFlash(`You are now a follower: ${payload.reason}.`);
        role = payload.role;
        refresh();
      },
      onSession(payload) {
        info = payload;
        refresh();
      },
      onEvent(seq, payload, ts) {
        const stick = nearBottom();
        transcript.add(seq, payload, ts);
        const kind = payload.kind;
        if (kind === "permission_request") addPending(payload);
        else if (kind === "permission_decision") resolvePending(payload.request_id);
        else if (kind === "turn_finished" || kind === "exited") for (const id of [...pending.keys()]) resolvePending(id);
        const next = kind === "status" ? payload.state : NEXT_STATE[kind];
        if (next && info.state !== "lost") info = { ...info, state: next };
        if (kind === "permission_decision" && pending.size) info = { ...info, state: "waiting_permission" };
        if (kind === "turn_finished" && seq > readySeq) info = addSpent(info, payload);
        if (kind === "status" && payload.agent_session_id) info = { ...info, agent_session_id: payload.agent_session_id };
        if (kind === "exited") info = { ...info, asleep: isAsleep(payload) && Boolean(info.agent_session_id) };
        info = { ...info, last_seq: seq };
        refresh();
        if (stick) keepAtBottom();
      },
      onStatus(state, detail) {
        connection = state;
        connChip.textContent = state === "live" ? "live" : detail || state;
        refresh();
      },
      onFatal(code, message) {
        if (byLink) {
          // The link expired or was revoked: say so (there is nothing to sign in to).
          rememberShare(sessionId, null);
          setFlash("This share link is not valid any more (it expired or was revoked).");
          return;
        }
        setFlash(message);
        if (code === 4001) ctx.navigate("/signin", { replace: true });
      },
      onError(payload) {
        setFlash(String(payload.message || payload.code || "error"));
      },
    },
    {
      follow: readOnlyLink || params.get("follow") === "1",
      // A share link's cookie is the link's own; a signed-in page refreshes its cookie.
      beforeReconnect: byLink ? null : () => get("/v1/auth/me", { quiet401: true }),
    },
  );
  let terminal = null; // the terminal view's cleanup, once this turned out to be one
  refresh();
  stream.connect();
  // The hub sends no push to this device while this tab shows the session it owns.
  const stopReporting = readOnlyLink ? () => {} : reportVisibility(sessionId);
  return () => {
    stream.stop();
    stopReporting();
    if (terminal) terminal();
  };
}
