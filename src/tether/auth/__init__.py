"""Who is asking, and what they may do."""

from tether.auth.principal import Authenticator, Principal

__all__ = ["Authenticator", "Principal"]
