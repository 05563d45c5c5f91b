"""Who is asking, and what they may do."""

from tether.auth.principal import Authenticator, Principal, StaticTokenAuthenticator

__all__ = ["Authenticator", "Principal", "StaticTokenAuthenticator"]
