"""API keys: shown once at creation, stored only as a hash.

A key is `tb_<id>_<secret>`: the id finds the row without scanning, the 256-bit secret is what
proves possession. Because the secret is random and long, a single SHA-256 is enough (slow
password hashes exist for guessable secrets); comparison is constant-time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tidebreak.auth.roles import ROLES
from tidebreak.store.db import read_only
from tidebreak.store.schema import ApiKeyRow


@dataclass(frozen=True)
class Principal:
    key_id: str
    role: str
    tenant: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_key(engine: Engine, role: str, *, tenant: str = "default", name: str | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    key_id = secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    with Session(engine) as s, s.begin():
        s.add(ApiKeyRow(id=key_id, tenant=tenant, role=role, key_hash=_hash(secret), name=name,
                        created_at=datetime.now(timezone.utc)))
    return f"tb_{key_id}_{secret}"


def authenticate(engine: Engine, key: str) -> Principal | None:
    parts = key.split("_", 2)
    if len(parts) != 3 or parts[0] != "tb" or not parts[1] or not parts[2]:
        return None
    with Session(read_only(engine)) as s:
        row = s.get(ApiKeyRow, parts[1])
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.key_hash, _hash(parts[2])):
        return None
    return Principal(key_id=row.id, role=row.role, tenant=row.tenant)


def revoke_key(engine: Engine, key_id: str) -> bool:
    with Session(engine) as s, s.begin():
        row = s.get(ApiKeyRow, key_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = datetime.now(timezone.utc)
        return True
