"""HTTP routes of pairing, tokens, browser sign-in, devices, share links, users and the
audit log (docs/security.md)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal, Protocol, TypeVar, cast

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from tether.auth.codes import fingerprint_of, new_device_key
from tether.auth.device_auth import (
    DEVICE_COOKIE,
    REFRESH_COOKIE,
    SESSION_COOKIE,
    SHARE_COOKIE,
    client_address,
)
from tether.auth.principal import Principal
from tether.auth.records import Refreshed
from tether.auth.service import REFRESH_TTL_S, AuthService
from tether.auth.tokens import ACCESS_TTL_S
from tether.errors import AuthError, Forbidden
from tether.hub.hub import hub_of
from tether.hub.routes import User, visible_session
from tether.hub.useragent import browser_name
from tether.protocol.api_shapes import (
    AuditRow,
    BrowserRefreshed,
    BrowserSignedIn,
    DeviceRow,
    Me,
    NewShare,
    Ok,
    Paired,
    PairingCode,
    Revoked,
    ShareRow,
    ShareSignedIn,
    Tokens,
    UserAdded,
)

auth_router = APIRouter()

# Bounds of numbers in requests, so that nonsense is a 422 and never reaches the store.
MAX_EPOCH_S = 1e11
"""Later than any time tether will see (the year 5138)."""
MAX_TTL_S = 1e9
"""About 31 years: any longer lifetime asked for is a mistake."""


def service_of(request: Request) -> AuthService:
    """The hub's auth service."""
    return hub_of(request).auth


class _Record(Protocol):
    def public(self) -> Mapping[str, Any]: ...


Row = TypeVar("Row")


def rows(shape: type[Row], records: Iterable[_Record]) -> list[Row]:
    """Records as the API shows them (`public()`), which is the answer's `shape`."""
    return cast(list[Row], [record.public() for record in records])


def person(principal: Principal) -> Principal:
    """A signed-in user's device, not a share link."""
    if principal.kind == "share" or principal.user_id is None:
        raise Forbidden("a share link can only watch its session")
    return principal


class PairRequest(BaseModel):
    """Redeem a pairing code."""

    code: str = Field(min_length=4, max_length=32)
    name: str = Field(default="", max_length=64)
    kind: Literal["cli", "runner", "browser"] = "cli"
    fingerprint: str = Field(min_length=16, max_length=128)


class TokenRequest(BaseModel):
    """Rotate a refresh token and get a session token."""

    refresh_token: str = Field(min_length=8, max_length=256)
    device_key: str = Field(min_length=8, max_length=256)


class BrowserSignIn(BaseModel):
    """A browser signs in with a pairing/sign-in code, or opens a share link."""

    code: str | None = Field(default=None, max_length=32)
    share: str | None = Field(default=None, max_length=256)


class ShareRequest(BaseModel):
    """Create a share link."""

    ttl_s: float = Field(default=3600, gt=0, le=MAX_TTL_S, allow_inf_nan=False)
    """Seconds; more than the longest a link may live (7 days) is cut to that."""


class NewUser(BaseModel):
    """Add a user."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    admin: bool = False


@auth_router.post("/v1/auth/pair")
async def pair(request: Request, body: PairRequest) -> Paired:
    """Redeem a pairing code (no auth: the code is the credential; rate-limited)."""
    pairing = await service_of(request).pair(
        body.code,
        name=body.name,
        kind=body.kind,
        fingerprint=body.fingerprint,
        address=client_address(request),
    )
    return {
        "device_id": pairing.device.id,
        "refresh_token": pairing.refresh_token,
        "user": pairing.user.public(),
        "hub_id": hub_of(request).identity,  # the client keys its credentials by it
    }


@auth_router.post("/v1/auth/token")
async def token(request: Request, body: TokenRequest) -> Tokens:
    """Rotate the refresh token; returns the new one and a session token."""
    done = await service_of(request).refresh(
        body.refresh_token, body.device_key, address=client_address(request)
    )
    return {
        "device_id": done.device.id,
        "refresh_token": done.refresh_token,
        "access_token": done.access_token,
        "expires_in": done.expires_in,
    }


def _set_browser_cookies(
    request: Request, response: Response, done: Refreshed, device_key: str
) -> None:
    secure = request.url.scheme == "https"
    response.set_cookie(
        SESSION_COOKIE,
        done.access_token,
        max_age=int(ACCESS_TTL_S),
        path="/",
        httponly=True,
        samesite="strict",
        secure=secure,
    )
    for name, value in ((REFRESH_COOKIE, done.refresh_token), (DEVICE_COOKIE, device_key)):
        response.set_cookie(
            name,
            value,
            max_age=int(REFRESH_TTL_S),
            path="/v1/auth",
            httponly=True,
            samesite="strict",
            secure=secure,
        )


@auth_router.post("/v1/auth/browser")
async def browser_sign_in(
    request: Request, response: Response, body: BrowserSignIn
) -> BrowserSignedIn | ShareSignedIn:
    """Sign a browser in: sets HttpOnly, SameSite=Strict cookies; returns the user."""
    service = service_of(request)
    address = client_address(request)
    if body.share:
        return await _open_share(request, response, service, body.share)
    if not body.code:
        raise AuthError('send {"code": …} or {"share": …}')
    device_key = new_device_key()
    agent = browser_name(request.headers.get("user-agent", ""))
    pairing = await service.pair(
        body.code,
        name=agent,
        kind="browser",
        fingerprint=fingerprint_of(device_key),
        address=address,
    )
    done = await service.refresh(pairing.refresh_token, device_key, address=address)
    _set_browser_cookies(request, response, done, device_key)
    await service.record(
        "browser_signin",
        None,
        address=address,
        user_id=pairing.user.id,
        device_id=pairing.device.id,
    )
    return {
        "user": pairing.user.public(),
        "device_id": pairing.device.id,
        "expires_in": done.expires_in,
    }


async def _open_share(
    request: Request, response: Response, service: AuthService, share: str
) -> ShareSignedIn:
    """A share link opened in a browser: an HttpOnly cookie sent only to its session's API.

    The browser keeps its own sign-in (if any) for everything else."""
    link = await service.share_link(share)
    if link is None:
        await service.record(
            "auth_failed", None, address=client_address(request), path=request.url.path
        )
        raise AuthError(
            "that share link is not valid (expired or revoked?)",
            hint="ask whoever shared the session for a new link",
        )
    response.set_cookie(
        SHARE_COOKIE,
        share,
        max_age=max(1, int(link.expires_at - service.clock())),
        path=f"/v1/sessions/{link.session_id}",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    await service.record(
        "share_opened",
        None,
        address=client_address(request),
        share=link.id,
        session=link.session_id,
    )
    return {"user": None, "share": {"session": link.session_id, "expires_at": link.expires_at}}


@auth_router.post("/v1/auth/refresh")
async def browser_refresh(request: Request, response: Response) -> BrowserRefreshed:
    """A browser's new session cookie (needs the refresh cookies and the CSRF header)."""
    if request.headers.get("x-tether-csrf") != "1":
        raise Forbidden("this request needs the `X-Tether-CSRF: 1` header")
    refresh, key = request.cookies.get(REFRESH_COOKIE), request.cookies.get(DEVICE_COOKIE)
    if not refresh or not key:
        raise AuthError("not signed in", hint="sign in with a code: POST /v1/auth/browser")
    done = await service_of(request).refresh(refresh, key, address=client_address(request))
    _set_browser_cookies(request, response, done, key)
    # The page cannot read its HttpOnly cookie, so its open sockets renew themselves with
    # this instead: a token good only for an in-band `auth` frame (docs/security.md).
    socket_token = service_of(request).access_token(done.device, scope="renew")
    return {
        "device_id": done.device.id,
        "expires_in": done.expires_in,
        "socket_token": socket_token,
    }


@auth_router.post("/v1/auth/logout")
async def logout(request: Request, response: Response, principal: User) -> Ok:
    """Sign out: a browser device is revoked and its cookies cleared."""
    service = service_of(request)
    device = await service.device(principal.device_id) if principal.device_id else None
    if device is not None and device.kind == "browser":
        await service.revoke_device(principal, device.id, reason="logged out")
    await service.record("logout", principal)
    for name, path in (
        (SESSION_COOKIE, "/"),
        (REFRESH_COOKIE, "/v1/auth"),
        (DEVICE_COOKIE, "/v1/auth"),
    ):
        response.delete_cookie(name, path=path, httponly=True, samesite="strict")
    return {"ok": True}


@auth_router.get("/v1/auth/me")
async def me(principal: User) -> Me:
    """Who the caller is."""
    return {
        "id": principal.id,
        "kind": principal.kind,
        "name": principal.name,
        "user_id": principal.user_id,
        "device_id": principal.device_id,
        "is_admin": principal.is_admin,
        "read_only": principal.read_only,
        "session_scope": principal.session_scope,
    }


@auth_router.post("/v1/pairing-codes", status_code=201)
async def new_pairing_code(request: Request, principal: User) -> PairingCode:
    """Mint a pairing code for a new device of the caller (single use, five minutes)."""
    service = service_of(request)
    me_ = person(principal)
    user = await service.user(me_.user_id or "")
    if user is None:
        raise AuthError("your user no longer exists")
    code = await service.new_pairing_code(user, by=me_)
    return {"code": code, "expires_in": 300}


@auth_router.get("/v1/devices")
async def list_devices(request: Request, principal: User) -> list[DeviceRow]:
    """The caller's devices (admins: all)."""
    return rows(DeviceRow, await service_of(request).devices(person(principal)))


@auth_router.post("/v1/devices/{device_id}/revoke")
async def revoke_device(request: Request, device_id: str, principal: User) -> Revoked:
    """Revoke a device: its tokens stop working, its live sockets close now."""
    device = await service_of(request).revoke_device(person(principal), device_id)
    return {"revoked": device.id}


@auth_router.post("/v1/users", status_code=201)
async def add_user(request: Request, body: NewUser, principal: User) -> UserAdded:
    """Add a user (admins) and return a sign-in code for their first device."""
    user, code = await service_of(request).create_user(
        person(principal), body.name, is_admin=body.admin
    )
    return {"user": user.public(), "code": code, "expires_in": 300}


@auth_router.post("/v1/sessions/{session_id}/shares", status_code=201)
async def create_share(
    request: Request, session_id: str, body: ShareRequest, principal: User
) -> NewShare:
    """A read-only, expiring follower link for one session."""
    await visible_session(request, session_id, person(principal))
    link, share_token = await service_of(request).create_share(principal, session_id, body.ttl_s)
    return cast(NewShare, {**link.public(), "token": share_token})


@auth_router.get("/v1/shares")
async def list_shares(request: Request, principal: User) -> list[ShareRow]:
    """The caller's share links (admins: all)."""
    return rows(ShareRow, await service_of(request).shares(person(principal)))


@auth_router.post("/v1/shares/{share_id}/revoke")
async def revoke_share(request: Request, share_id: str, principal: User) -> Revoked:
    """Revoke a share link; sockets watching through it close now."""
    await service_of(request).revoke_share(person(principal), share_id)
    return {"revoked": share_id}


@auth_router.get("/v1/audit")
async def audit(
    request: Request,
    principal: User,
    since: Annotated[float, Query(ge=0, le=MAX_EPOCH_S, allow_inf_nan=False)] = 0,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> list[AuditRow]:
    """The audit log (admins only), oldest first."""
    if not principal.is_admin:
        raise Forbidden("only admins can read the audit log")
    return rows(AuditRow, await service_of(request).audit_entries(since, limit))
