"""`POST /v1/qr`: a QR code (SVG) of a pairing or share link, drawn on the hub with segno.

The text comes in a POST body, never a query string, because pairing links carry a
one-time code that must not end up in URLs, proxy logs or browser history.
"""

from __future__ import annotations

import io

import segno
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, Field

from tether.errors import Forbidden
from tether.hub.routes import User
from tether.web.headers import SECURITY_HEADERS

MAX_QR_TEXT = 1024

qr_router = APIRouter()


class QrRequest(BaseModel):
    """The text to encode (a URL, usually)."""

    text: str = Field(min_length=1, max_length=MAX_QR_TEXT)


def qr_svg(text: str) -> bytes:
    """The QR code of `text` as a standalone SVG document (dark modules on white)."""
    code = segno.make(text, error="m")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=4, border=2, dark="#111", light="#fff", xmldecl=False)
    return out.getvalue()


@qr_router.post("/v1/qr", include_in_schema=True)
async def make_qr(body: QrRequest, principal: User) -> Response:
    """Draw a QR code for a signed-in user (the UI shows it as an image); a share link
    can only watch its session."""
    if principal.read_only or principal.kind == "share":
        raise Forbidden("a share link can only watch its session")
    return Response(
        qr_svg(body.text),
        media_type="image/svg+xml",
        headers={**SECURITY_HEADERS, "Cache-Control": "no-store"},
    )
