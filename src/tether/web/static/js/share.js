// Open a share link, `/share#token=tsh_…`: a read-only view of one session.
// The token is in the URL fragment, which browsers never send to a server; it is removed
// from the address bar and history first, then posted once to the hub, which answers with
// an HttpOnly cookie sent only to that session's API. The page never keeps the token.

import { ApiError, post, rememberShare } from "./api.js";
import { h } from "./dom.js";
import { setTitle } from "./title.js";

export function sharePage(main, _match, ctx) {
  const token = new URLSearchParams(window.location.hash.slice(1)).get("token");
  if (window.location.hash) history.replaceState(null, "", "/share");
  setTitle("Shared session · tether");
  const message = h("p", { class: "muted", role: "status" }, "Opening the shared session…");
  main.appendChild(h("section", { class: "card signin" }, h("h1", {}, "Shared session"), message));
  if (!token) {
    message.textContent = "This link has no token. Ask whoever shared the session for the whole link.";
    return;
  }
  post("/v1/auth/browser", { share: token }, { quiet401: true, noRefresh: true })
    .then((data) => {
      const share = (data && data.share) || {};
      if (!share.session) throw new ApiError(0, "the hub did not say which session this link is for");
      rememberShare(share.session, share.expires_at);
      ctx.navigate("/sessions/" + encodeURIComponent(share.session), { replace: true });
    })
    .catch((err) => {
      message.className = "error";
      message.textContent =
        err instanceof ApiError && err.status === 401
          ? "This share link is not valid any more (it expired or was revoked). Ask for a new one."
          : `Could not open the link: ${err.message}`;
    });
}
