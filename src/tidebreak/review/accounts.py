"""Console accounts and sessions.

Passwords are stored as scrypt hashes (people choose guessable secrets, so unlike API keys they
need a slow hash). A session cookie is `<id>.<expiry>.<HMAC>`: the signature rejects forged or
altered cookies without a database read, and the server-side row (keyed by the id's hash) lets
logout or disabling a user end a session before it expires. Each session carries a CSRF token
that every form and htmx request must echo.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.auth.roles import Role
from tidebreak.review.errors import Conflict, ReviewError
from tidebreak.enforce.review_priority import aware
from tidebreak.store.schema import ConsoleSessionRow, ConsoleUserRow, ReviewSecretRow

CONSOLE_ROLES = tuple(r.value for r in Role if r != Role.PLATFORM)  # machines use API keys
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
MIN_PASSWORD = 10
SESSION_TTL = timedelta(hours=int(os.environ.get("TIDEBREAK_SESSION_HOURS", "8") or 8))
_SCRYPT = {"n": 2**14, "r": 8, "p": 1}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return "scrypt$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def check_password(stored: str, password: str) -> bool:
    try:
        _, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), dklen=32, **_SCRYPT)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))


def create_user(engine: Engine, *, tenant: str, username: str, role: str, password: str,
                by: str, now: datetime) -> ConsoleUserRow:
    if not USERNAME.match(username) or username.startswith("key-"):
        raise ReviewError("username: 2-64 of a-z 0-9 . _ - starting with a letter or digit "
                          "(and not 'key-', which names API keys)")
    if role not in CONSOLE_ROLES:
        raise ReviewError(f"unknown console role {role!r}; roles: {', '.join(CONSOLE_ROLES)}")
    if len(password) < MIN_PASSWORD:
        raise ReviewError(f"password must be at least {MIN_PASSWORD} characters")
    user = ConsoleUserRow(tenant=tenant, username=username, role=role,
                          password_hash=hash_password(password), created_at=now,
                          blur_all=False, grayscale=False, graphic_streak=0)
    try:
        with Session(engine, expire_on_commit=False) as s, s.begin():
            if s.get(ConsoleUserRow, (tenant, username)) is not None:
                raise Conflict(f"user {username!r} already exists")
            s.add(user)
            ledger.append(s, tenant=tenant, kind="user.create", subject=username, actor=by,
                          payload={"username": username, "role": role}, at=now)
    except IntegrityError:
        raise Conflict(f"user {username!r} already exists") from None
    return user


def disable_user(engine: Engine, *, tenant: str, username: str, by: str, now: datetime) -> None:
    with Session(engine) as s, s.begin():
        user = s.get(ConsoleUserRow, (tenant, username))
        if user is None or user.disabled_at is not None:
            raise ReviewError(f"no active user {username!r}")
        user.disabled_at = now
        ledger.append(s, tenant=tenant, kind="user.disable", subject=username, actor=by,
                      payload={"username": username}, at=now)


def signing_key(engine: Engine) -> bytes:
    """TIDEBREAK_SECRET_KEY, else a random key kept in the database (shared by replicas)."""
    env = os.environ.get("TIDEBREAK_SECRET_KEY")
    if env:
        return env.encode()
    with Session(engine) as s:
        row = s.get(ReviewSecretRow, "session")
        if row is not None:
            return row.value.encode()
    try:
        with Session(engine) as s, s.begin():
            s.add(ReviewSecretRow(name="session", value=secrets.token_hex(32)))
    except IntegrityError:
        pass  # another replica made it first: use theirs
    with Session(engine) as s:
        row = s.get(ReviewSecretRow, "session")
        assert row is not None
        return row.value.encode()


@dataclass(frozen=True)
class ConsoleSession:
    username: str
    role: str
    tenant: str
    csrf: str
    blur_all: bool
    grayscale: bool
    graphic_streak: int


def _sign(key: bytes, sid: str, expires: int) -> str:
    return hmac.new(key, f"{sid}.{expires}".encode(), hashlib.sha256).hexdigest()


def _sid_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


def login(engine: Engine, key: bytes, *, tenant: str, username: str, password: str,
          now: datetime) -> str | None:
    """A new session cookie value, or None for a wrong username or password."""
    with Session(engine) as s:
        user = s.get(ConsoleUserRow, (tenant, username))
    # Hash even for unknown users so timing does not tell which usernames exist.
    ok = check_password(user.password_hash if user else hash_password("x" * MIN_PASSWORD), password)
    if user is None or not ok or user.disabled_at is not None:
        return None
    sid = secrets.token_urlsafe(32)
    expires = now + SESSION_TTL
    with Session(engine) as s, s.begin():
        s.add(ConsoleSessionRow(id=_sid_hash(sid), tenant=tenant, username=username,
                                csrf=secrets.token_urlsafe(24), created_at=now,
                                expires_at=expires))
    exp = int(expires.timestamp())
    return f"{sid}.{exp}.{_sign(key, sid, exp)}"


def session_for(engine: Engine, key: bytes, cookie: str | None, now: datetime) -> ConsoleSession | None:
    if not cookie:
        return None
    parts = cookie.split(".")
    if len(parts) != 3 or not parts[1].isdigit():
        return None
    sid, exp, sig = parts
    if not hmac.compare_digest(sig, _sign(key, sid, int(exp))) or int(exp) <= now.timestamp():
        return None
    with Session(engine) as s:
        row = s.get(ConsoleSessionRow, _sid_hash(sid))
        if row is None or row.revoked_at is not None or aware(row.expires_at) <= now:  # type: ignore[operator]
            return None
        user = s.get(ConsoleUserRow, (row.tenant, row.username))
        if user is None or user.disabled_at is not None:
            return None
        return ConsoleSession(user.username, user.role, user.tenant, row.csrf, user.blur_all,
                              user.grayscale, user.graphic_streak or 0)


def logout(engine: Engine, cookie: str | None, now: datetime) -> None:
    if not cookie or cookie.count(".") != 2:
        return
    with Session(engine) as s, s.begin():
        row = s.get(ConsoleSessionRow, _sid_hash(cookie.split(".")[0]))
        if row is not None and row.revoked_at is None:
            row.revoked_at = now


def set_prefs(engine: Engine, *, tenant: str, username: str, blur_all: bool, grayscale: bool) -> None:
    with Session(engine) as s, s.begin():
        user = s.get(ConsoleUserRow, (tenant, username))
        if user is not None:
            user.blur_all, user.grayscale = blur_all, grayscale
