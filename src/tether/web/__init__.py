"""The web UI: an app shell, plain ES modules and CSS, served by the hub (docs/web.md)."""

from tether.web.headers import SECURITY_HEADERS
from tether.web.mount import mount_web

__all__ = ["SECURITY_HEADERS", "mount_web"]
