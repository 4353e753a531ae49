"""API keys and roles."""

from tidebreak.auth.keys import (KeyCache, KeyInfo, Principal, authenticate, create_key, list_keys,
                                 revoke_key)
from tidebreak.auth.roles import ROLES, Role

__all__ = ["KeyCache", "KeyInfo", "Principal", "ROLES", "Role", "authenticate", "create_key",
           "list_keys", "revoke_key"]
