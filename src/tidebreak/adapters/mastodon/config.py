"""The adapter's settings, read from the environment (documented in the README's Mastodon
section). Kept here rather than in `tidebreak.config.Settings` so that the adapter is one
plug-in with no change to the core."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from tidebreak.errors import ConfigError

URL_ENV = "TIDEBREAK_MASTODON_URL"
TOKEN_ENV = "TIDEBREAK_MASTODON_TOKEN"
SECRET_ENV = "TIDEBREAK_MASTODON_WEBHOOK_SECRET"
RULES_ENV = "TIDEBREAK_MASTODON_RULES"
TIMEOUT_ENV = "TIDEBREAK_MASTODON_TIMEOUT"
EMAIL_ENV = "TIDEBREAK_MASTODON_NOTIFY"

_RULE_PAIR = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*=\s*([0-9]{1,20})\s*$")


class MastodonConfigError(ConfigError):
    """A setting is present but wrong; `tidebreak serve` refuses to start and says which."""


def parse_rules(spec: str | None) -> dict[str, tuple[str, ...]]:
    """`hate=2,violence=3,hate=5` -> {"hate": ("2", "5"), "violence": ("3",)}: which of the
    instance's rules (ids from GET /api/v1/instance/rules) a tidebreak category breaks."""
    out: dict[str, list[str]] = {}
    for part in (spec or "").split(","):
        if not part.strip():
            continue
        m = _RULE_PAIR.match(part)
        if m is None:
            raise MastodonConfigError(f"{RULES_ENV}: expected category=rule_id pairs separated "
                                      f"by commas (e.g. hate=2,violence=3), got {part.strip()!r}")
        out.setdefault(m.group(1), [])
        if m.group(2) not in out[m.group(1)]:
            out[m.group(1)].append(m.group(2))
    return {k: tuple(v) for k, v in out.items()}


def _base_url(raw: str) -> str:
    url = raw.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise MastodonConfigError(f"{URL_ENV} must be the instance's base URL, e.g. "
                                  f"https://mastodon.example, got {raw!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise MastodonConfigError(f"{URL_ENV} must be a plain base URL (no query, fragment or "
                                  "credentials)")
    return url


@dataclass(frozen=True)
class MastodonConfig:
    url: str | None = None  # the instance; the only host this adapter ever calls
    token: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)
    rules: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    timeout: float = 10.0
    notify: bool = True  # let Mastodon e-mail the account holder about an action taken

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "MastodonConfig":
        env = os.environ if env is None else env
        url = env.get(URL_ENV) or None
        raw_timeout = env.get(TIMEOUT_ENV) or "10"
        try:
            timeout = float(raw_timeout)
        except ValueError:
            raise MastodonConfigError(f"{TIMEOUT_ENV} must be a number of seconds, got "
                                      f"{raw_timeout!r}") from None
        return cls(url=_base_url(url) if url else None,
                   token=(env.get(TOKEN_ENV) or "").strip() or None,
                   webhook_secret=env.get(SECRET_ENV) or None,
                   rules=parse_rules(env.get(RULES_ENV)), timeout=timeout,
                   notify=(env.get(EMAIL_ENV) or "1").strip() != "0")

    @property
    def any_set(self) -> bool:
        return bool(self.url or self.token or self.webhook_secret)

    @property
    def receives(self) -> bool:
        """The webhook route is served once its secret is set (the signature is its only
        authentication, so never without one)."""
        return bool(self.webhook_secret)

    @property
    def acts(self) -> bool:
        """Acting back needs the instance and a token."""
        return bool(self.url and self.token)

    def problems(self) -> list[str]:
        """What is missing for the adapter to work both ways (one line each)."""
        missing = []
        if not self.url:
            missing.append(f"{URL_ENV} is not set (the instance's base URL)")
        if not self.token:
            missing.append(f"{TOKEN_ENV} is not set (the admin application's access token)")
        if not self.webhook_secret:
            missing.append(f"{SECRET_ENV} is not set (the secret Mastodon shows when the "
                           "webhook is created)")
        return missing
