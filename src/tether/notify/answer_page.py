"""The page an answer link shows in a browser: what it would do and one button (a GET never
decides, so a link preview or a prefetch cannot approve anything), then what it did.

Everything from the agent is escaped, and bidirectional-text controls are shown as
visible code points, so a tool input cannot disguise what is being approved.
"""

from __future__ import annotations

import html
import json
import re

from tether.notify.answers import Answer

_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")

_STYLE = (
    "body{font:16px/1.45 system-ui,sans-serif;margin:0;padding:24px;max-width:40rem}"
    "pre{white-space:pre-wrap;word-break:break-all;background:#f3f3f3;padding:12px;"
    "border-radius:8px}button{font-size:18px;padding:12px 24px;border-radius:8px;"
    "border:0;color:#fff;background:#2f6f4f}button.deny{background:#a33}"
    ".muted{color:#666}"
)


def visible(text: str) -> str:
    """`text` escaped for HTML, with bidi controls written out (`<U+202E>`)."""
    return html.escape(_BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text), quote=True)


def _page(title: str, body: str) -> str:
    # The page's CSS is inline, so its CSP allows exactly that one style by its hash
    # (see answer_csp); no script at all.
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{visible(title)} · tether</title><style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>"
    )


def answer_csp() -> str:
    """The Content-Security-Policy of answer pages: no script, only the page's own style."""
    import base64
    import hashlib

    digest = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
    return (
        f"default-src 'none'; style-src 'sha256-{digest}'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    )


def _request_block(answer: Answer) -> str:
    parts = []
    if answer.team:
        parts.append(
            f"<p>Team <b>{visible(answer.team)}</b>, session <code>"
            f"{visible(answer.session_id or '')}</code></p>"
        )
    if answer.tool:
        parts.append(f"<p>The agent asks to use <b>{visible(answer.tool)}</b>:</p>")
        shown = json.dumps(answer.input, indent=2, ensure_ascii=False)
        parts.append(f"<pre>{visible(shown)}</pre>")
    return "".join(parts)


def confirm_page(answer: Answer) -> str:
    """GET: what the link would do, with a button that POSTs to the same URL."""
    if answer.status != 200:
        return result_page(answer)
    verb = "Allow" if answer.behavior == "allow" else "Deny"
    css = "" if answer.behavior == "allow" else ' class="deny"'
    body = (
        f"<h1>{verb} this request?</h1>{_request_block(answer)}"
        f'<form method="post"><button type="submit"{css}>{verb}</button></form>'
        '<p class="muted">This link works once, and only for this request.</p>'
    )
    return _page(f"{verb}?", body)


def result_page(answer: Answer) -> str:
    """After a POST (or a GET of a link that can no longer decide): what happened."""
    heading = {200: "Done", 409: "Already answered", 503: "Try again"}.get(
        answer.status, "This link does not work"
    )
    body = f"<h1>{visible(heading)}</h1><p>{visible(answer.message)}</p>{_request_block(answer)}"
    return _page(heading, body)
