"""`tidebreak adapters mastodon check`: is the instance reachable, is the token valid, does
it carry the scopes (and its user the role) the adapter needs, is the webhook secret set?

Scopes are probed, not guessed: Mastodon checks a token's scopes before anything else and
answers 403 "This action is outside the authorized scopes" when one is missing, so each write
endpoint is called on the record id 0, which never exists: a token with the scope gets 404 (or
422) and nothing changes on the instance. A 403 with any other message means the scope is
there but the token's user lacks the role permission (Manage Reports, Manage Users).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx

from tidebreak.adapters.mastodon.client import MastodonClient
from tidebreak.adapters.mastodon.config import MastodonConfig
from tidebreak.events.sinks import RetryLater

SCOPE_ERROR = "outside the authorized scopes"


@dataclass
class CheckResult:
    ok: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Probe:
    scope: str
    method: str
    path: str
    body: dict[str, Any] | None
    role: str  # the role permission the call also needs
    what: str


PROBES = (
    Probe("admin:read:reports", "GET", "/api/v1/admin/reports", None, "Manage Reports",
          "read reports"),
    Probe("admin:read:accounts", "GET", "/api/v1/admin/accounts", None, "Manage Users",
          "read accounts"),
    Probe("write:reports", "POST", "/api/v1/reports", {"account_id": "0", "comment": ""},
          "", "file reports"),
    Probe("admin:write:accounts", "POST", "/api/v1/admin/accounts/0/action", {"type": "none"},
          "Manage Users", "silence and suspend accounts"),
    Probe("admin:write:reports", "POST", "/api/v1/admin/reports/0/resolve", None,
          "Manage Reports", "resolve reports"),
)


def _error(r: httpx.Response) -> str:
    try:
        body = r.json()
        return str(body.get("error", "")) if isinstance(body, dict) else ""
    except ValueError:
        return ""


def run_check(config: MastodonConfig, *, client: MastodonClient | None = None) -> CheckResult:
    res = CheckResult()
    res.problems.extend(config.problems())
    if config.webhook_secret:
        res.ok.append("webhook secret is set (Mastodon has no API to read webhooks back: "
                      "check the webhook's URL and events in Administration > Webhooks)")
    if not config.url:
        return res
    if client is None and config.token:
        client = MastodonClient(config)
    # -- reachable? (anonymous: the instance endpoint needs no token) --
    try:
        with httpx.Client(base_url=config.url, timeout=config.timeout,
                          follow_redirects=False) as anon:
            r = anon.get("/api/v2/instance")
            if r.status_code == 404:  # Mastodon before 4.0
                r = anon.get("/api/v1/instance")
    except httpx.HTTPError as e:
        res.problems.append(f"cannot reach {config.url}: {type(e).__name__}: {e}"[:300])
        return res
    if r.status_code != 200:
        res.problems.append(f"{config.url}/api/v2/instance answered HTTP {r.status_code}: "
                            "is TIDEBREAK_MASTODON_URL the instance's base URL?")
        return res
    try:
        info = r.json()
    except ValueError:
        info = {}
    if not isinstance(info, dict):
        info = {}
    res.ok.append(f"reached {info.get('domain') or info.get('uri') or config.url} "
                  f"(Mastodon {info.get('version', '?')})")
    if client is None:
        return res
    # -- the token --
    try:
        r = client.request("GET", "/api/v1/apps/verify_credentials")
    except RetryLater as e:
        res.problems.append(str(e))
        return res
    if r.status_code == 401:
        res.problems.append("the token is invalid or revoked (GET /api/v1/apps/"
                            "verify_credentials answered 401): copy the application's access "
                            "token into TIDEBREAK_MASTODON_TOKEN")
        return res
    if r.status_code != 200:
        res.problems.append(f"GET /api/v1/apps/verify_credentials answered HTTP {r.status_code}")
        return res
    app = r.json() if r.content else {}
    res.ok.append(f"token valid (application {app.get('name', '?')!r})")
    # -- scopes and role, probed --
    missing_scopes: list[str] = []
    for p in PROBES:
        try:
            r = client.request(p.method, p.path, json=p.body,
                               params={"limit": 1} if p.method == "GET" else None)
        except RetryLater as e:
            res.problems.append(str(e))
            return res
        err = _error(r)
        if r.status_code == 403 and SCOPE_ERROR in err:
            missing_scopes.append(p.scope)
            res.problems.append(f"the token lacks scope {p.scope} (needed to {p.what})")
        elif r.status_code == 403:
            res.problems.append(f"the token's user may not {p.what}: give its role the "
                                f"{p.role or 'needed'} permission ({err or 'HTTP 403'})")
        elif r.status_code == 401:
            res.problems.append(f"{p.method} {p.path} answered 401: the token is not accepted")
        elif r.status_code >= 500 or r.status_code == 429:
            res.problems.append(f"{p.method} {p.path} answered HTTP {r.status_code}: "
                                "try again later")
        else:
            res.ok.append(f"may {p.what} ({p.scope})")
    if missing_scopes:
        res.problems.append("create the application with scopes: write:reports admin:read "
                            "admin:write:accounts admin:write:reports (scopes cannot be added "
                            "to an existing token: make a new application or token)")
    return res
