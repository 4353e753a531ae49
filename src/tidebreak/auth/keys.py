"""API keys: shown once at creation, stored only as a hash.

A key is `tb_<id>_<secret>`: the id finds the row without scanning, the 256-bit secret is what
proves possession. Because the secret is random and long, a single SHA-256 is enough (slow
password hashes exist for guessable secrets); comparison is constant-time.

An API server keeps a verified key for a short while (`KeyCache`, TIDEBREAK_KEY_CACHE_S, 2 s by
default) instead of reading the key table on every request; a key revoked by another process
(`tidebreak keys revoke`) is refused within that time, by this one at once. Creating and
revoking a key are ledger entries.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak import ledger
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
    now = datetime.now(timezone.utc)
    with Session(engine) as s, s.begin():
        s.add(ApiKeyRow(id=key_id, tenant=tenant, role=role, key_hash=_hash(secret), name=name,
                        created_at=now))
        ledger.append(s, tenant=tenant, kind="api_key.created", subject=f"api_key:{key_id}",
                      actor="operator", payload={"key_id": key_id, "role": role, "name": name},
                      at=now)
    return f"tb_{key_id}_{secret}"


@dataclass(frozen=True)
class KeyInfo:
    """What `tidebreak keys list` shows of a key: never its secret or hash."""

    key_id: str
    tenant: str
    role: str
    name: str | None
    created_at: datetime
    revoked_at: datetime | None


def list_keys(engine: Engine, tenant: str | None = None) -> list[KeyInfo]:
    q = select(ApiKeyRow).order_by(ApiKeyRow.created_at, ApiKeyRow.id)
    if tenant is not None:
        q = q.where(ApiKeyRow.tenant == tenant)
    with Session(read_only(engine)) as s:
        return [KeyInfo(r.id, r.tenant, r.role, r.name, r.created_at, r.revoked_at)
                for r in s.execute(q).scalars()]


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


def revoke_key(engine: Engine, key_id: str, *, by: str = "operator") -> bool:
    """Revoke a key (False when there is no such key or it was revoked already)."""
    global _revocations
    with Session(engine) as s, s.begin():
        row = s.get(ApiKeyRow, key_id)
        if row is None or row.revoked_at is not None:
            return False
        row.revoked_at = datetime.now(timezone.utc)
        ledger.append(s, tenant=row.tenant, kind="api_key.revoked", subject=f"api_key:{key_id}",
                      actor=by, payload={"key_id": key_id, "role": row.role},
                      at=row.revoked_at)
    with _lock:
        _revocations += 1  # every KeyCache of this process forgets what it verified
    return True


_lock = threading.Lock()
_revocations = 0


class KeyCache:
    """Keys verified in the last `ttl_s` seconds, by the SHA-256 of the whole key (the secret
    itself is never kept). A revocation in this process empties every cache at once; one in
    another process is seen within `ttl_s`. Failed lookups are not cached, so a new key works
    at once."""

    def __init__(self, ttl_s: float = 2.0, max_keys: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self.max_keys = max_keys
        self._seen: dict[str, tuple[Principal, float, int]] = {}

    def get(self, key: str) -> Principal | None:
        if self.ttl_s <= 0:
            return None
        hit = self._seen.get(_hash(key))
        if hit is None:
            return None
        who, until, generation = hit
        if generation != _revocations or time.monotonic() >= until:
            return None
        return who

    def verify(self, engine: Engine, key: str) -> Principal | None:
        """The key's principal, from the cache or the key table (None: unknown or revoked)."""
        who = self.get(key)
        if who is not None:
            return who
        generation = _revocations  # before the read: a revocation meanwhile voids this entry
        who = authenticate(engine, key)
        if who is not None and self.ttl_s > 0:
            if len(self._seen) >= self.max_keys:
                self._seen.clear()  # a flood of distinct valid keys: start over, never grow
            self._seen[_hash(key)] = (who, time.monotonic() + self.ttl_s, generation)
        return who
