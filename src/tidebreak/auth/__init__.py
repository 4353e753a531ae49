"""API keys and roles."""

from tidebreak.auth.keys import Principal, authenticate, create_key, revoke_key
from tidebreak.auth.roles import ROLES, Role

__all__ = ["Principal", "ROLES", "Role", "authenticate", "create_key", "revoke_key"]
