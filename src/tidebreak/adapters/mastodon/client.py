"""The few Mastodon API calls the adapter makes, with failures sorted the way the event
dispatcher needs them: `RetryLater` (the instance is down, slow or rate-limiting us) or
`Rejected` (it will never take this request as it is: a bad token, missing scopes, a
validation error).

Only the configured instance is ever called: paths are fixed templates and every id put into
one is checked to be a Mastodon id (digits), so no event can steer a request elsewhere.
Redirects are not followed (the bearer token must not travel to another host).
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx

from tidebreak import __version__
from tidebreak.adapters.mastodon.config import MastodonConfig
from tidebreak.events.sinks import Rejected, RetryLater

COMMENT_MAX = 1000  # Mastodon refuses longer report comments (Report validates length 1000)
CATEGORIES = ("spam", "legal", "violation", "other")
ACTIONS = ("none", "sensitive", "disable", "silence", "suspend")
_ID = re.compile(r"^[0-9]{1,20}$")
RULES_TTL_S = 600.0  # the instance's rules change rarely; re-read every ten minutes


def _checked_id(value: str) -> str:
    if not _ID.match(value):
        raise Rejected(f"not a Mastodon id: {value[:40]!r}")
    return value


def _error_text(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:300]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("error_description") or body)[:300]
    return str(body)[:300]


class NotFound(Rejected):
    """HTTP 404: the record (account, report) is not on the instance."""


@dataclass(frozen=True)
class Rule:
    id: str
    text: str


class MastodonClient:
    def __init__(self, config: MastodonConfig, *, client: httpx.Client | None = None) -> None:
        if not config.url or not config.token:
            raise ValueError("the Mastodon client needs TIDEBREAK_MASTODON_URL and "
                             "TIDEBREAK_MASTODON_TOKEN")
        self.config = config
        self.http = client or httpx.Client(
            base_url=config.url, timeout=config.timeout, follow_redirects=False,
            headers={"Authorization": f"Bearer {config.token}",
                     "User-Agent": f"tidebreak/{__version__} (+mastodon adapter)",
                     "Accept": "application/json"})
        self._rules: tuple[float, list[Rule]] | None = None
        self._lock = threading.Lock()

    # -- plumbing -------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: dict[str, Any] | None = None,
                params: dict[str, Any] | None = None) -> httpx.Response:
        """One call, without judging the answer (the check command reads status codes)."""
        assert path.startswith("/api/"), path
        try:
            return self.http.request(method, path, json=json, params=params)
        except httpx.HTTPError as e:  # refused, reset, timed out, DNS: the instance is away
            raise RetryLater(f"Mastodon at {self.config.url} unreachable: "
                             f"{type(e).__name__}: {e}"[:500]) from None

    def call(self, method: str, path: str, *, json: dict[str, Any] | None = None,
             params: dict[str, Any] | None = None) -> Any:
        r = self.request(method, path, json=json, params=params)
        if 200 <= r.status_code < 300:
            try:
                return r.json() if r.content else {}
            except ValueError:
                return {}
        what = f"{method} {path}"
        if r.status_code == 429 or r.status_code >= 500 or r.status_code == 408:
            raise RetryLater(f"{what}: HTTP {r.status_code} {_error_text(r)}"[:500])
        if r.status_code in (401, 403):
            raise Rejected(f"{what}: HTTP {r.status_code} {_error_text(r)}: check the token "
                           "(TIDEBREAK_MASTODON_TOKEN) and its scopes: write:reports, "
                           "admin:read, admin:write:accounts, admin:write:reports; and that its "
                           "user's role may manage reports and users "
                           "(tidebreak adapters mastodon check)")
        if r.status_code == 422:
            raise Rejected(f"{what}: Mastodon refused it (422): {_error_text(r)}")
        if r.status_code == 404:
            raise NotFound(f"{what}: HTTP 404 {_error_text(r)}")
        raise Rejected(f"{what}: HTTP {r.status_code} {_error_text(r)}")

    # -- reads ----------------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        """The instance's rules (GET /api/v1/instance/rules), cached for ten minutes."""
        with self._lock:
            if self._rules is not None and time.monotonic() - self._rules[0] < RULES_TTL_S:
                return self._rules[1]
        body = self.call("GET", "/api/v1/instance/rules")
        rules = [Rule(str(r.get("id")), str(r.get("text", ""))) for r in body or []
                 if isinstance(r, dict) and r.get("id") is not None]
        with self._lock:
            self._rules = (time.monotonic(), rules)
        return rules

    # -- writes ---------------------------------------------------------------------------------

    def file_report(self, *, account_id: str, status_ids: list[str], comment: str,
                    category: str, rule_ids: list[str] | None = None) -> dict[str, Any]:
        """POST /api/v1/reports. A JSON body, so arrays are plain keys (`status_ids`,
        `rule_ids`); a form body would repeat `status_ids[]` instead."""
        if category not in CATEGORIES:
            raise ValueError(f"category must be one of {CATEGORIES}")
        body: dict[str, Any] = {"account_id": _checked_id(account_id),
                                "status_ids": [_checked_id(s) for s in status_ids],
                                "comment": comment[:COMMENT_MAX], "category": category,
                                "forward": False}
        if category == "violation":
            body["rule_ids"] = [_checked_id(r) for r in rule_ids or []]
        out = self.call("POST", "/api/v1/reports", json=body)
        if not isinstance(out, dict) or out.get("id") is None:
            raise RetryLater("POST /api/v1/reports answered without a report id")
        return out

    def account_action(self, account_id: str, *, type: str, report_id: str | None,
                       text: str) -> None:
        """POST /api/v1/admin/accounts/:id/action. With a report_id, Mastodon resolves that
        report (and, for any type but none, every open report on the account)."""
        if type not in ACTIONS:
            raise ValueError(f"type must be one of {ACTIONS}")
        body: dict[str, Any] = {"type": type, "text": text[:5000],
                                "send_email_notification": self.config.notify}
        if report_id:
            body["report_id"] = _checked_id(report_id)
        self.call("POST", f"/api/v1/admin/accounts/{_checked_id(account_id)}/action", json=body)

    def undo(self, account_id: str, what: str) -> None:
        """POST /api/v1/admin/accounts/:id/unsilence or /unsuspend."""
        if what not in ("unsilence", "unsuspend"):
            raise ValueError(what)
        self.call("POST", f"/api/v1/admin/accounts/{_checked_id(account_id)}/{what}")

    def resolve_report(self, report_id: str) -> bool:
        """POST /api/v1/admin/reports/:id/resolve. False when the instance no longer has it."""
        try:
            self.call("POST", f"/api/v1/admin/reports/{_checked_id(report_id)}/resolve")
        except NotFound:
            return False
        return True

    def close(self) -> None:
        self.http.close()
