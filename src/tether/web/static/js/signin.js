// Sign in with a pairing code, or the one-time link `/signin#code=…` that `tether up`
// prints. The code travels in the URL fragment, which browsers never send to a server;
// it is removed from the address bar and history before anything else happens.

import { ApiError, post } from "./api.js";
import { h } from "./dom.js";
import { setTitle } from "./title.js";

export function signinPage(main, _match, ctx) {
  const fragment = new URLSearchParams(window.location.hash.slice(1));
  const linkCode = fragment.get("code");
  if (window.location.hash) history.replaceState(null, "", "/signin");
  setTitle("Sign in · tether");

  const input = h("input", {
    id: "code",
    name: "code",
    type: "text",
    autocomplete: "one-time-code",
    autocapitalize: "characters",
    spellcheck: "false",
    required: true,
    placeholder: "ABCD-1234",
  });
  const message = h("p", { class: "error", role: "alert" });
  const button = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", onsubmit: (e) => { e.preventDefault(); submit(input.value); } },
    h("h1", {}, "Sign in to tether"),
    h("p", { class: "muted" }, "Enter a pairing code (", h("code", {}, "tether pair new"), "), or open the one-time sign-in link that ", h("code", {}, "tether up"), " prints."),
    h("label", { for: "code" }, "Code"),
    input,
    button,
    message,
  );
  main.appendChild(form);

  async function submit(code) {
    code = String(code || "").trim();
    if (!code) return;
    button.disabled = true;
    message.textContent = "";
    try {
      const data = await post("/v1/auth/browser", { code }, { quiet401: true, noRefresh: true });
      ctx.signedIn({ ...((data && data.user) || {}), device_id: data && data.device_id });
    } catch (err) {
      button.disabled = false;
      if (err instanceof ApiError && err.status === 404) {
        message.textContent = "This hub does not offer browser sign-in.";
      } else if (err instanceof ApiError && err.status === 429) {
        message.textContent = `${err.message}. Wait a few minutes before trying again.`;
      } else if (err instanceof ApiError && (err.status === 401 || err.status === 400 || err.status === 403 || err.status === 422)) {
        message.textContent = `${err.message}. Codes work once and expire after a few minutes: get a new one.`;
      } else {
        message.textContent = err.message;
      }
    }
  }

  if (linkCode) submit(linkCode);
  else input.focus();
}
