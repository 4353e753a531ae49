"""A fake Mastodon instance for tests: a real HTTP server on loopback built from the API as
docs.joinmastodon.org documents it (and Mastodon's source where the docs are silent). It is a
fake, not Mastodon: only what the tidebreak adapter calls is there, with the documented
payloads and status codes:

- GET /api/v1/instance, /api/v2/instance, /api/v1/instance/rules (no token);
- GET /api/v1/apps/verify_credentials (the Application entity, with `scopes`);
- POST /api/v1/reports (scope write:reports): a JSON body carries `status_ids` / `rule_ids` as
  arrays; a form body repeats `status_ids[]` / `rule_ids[]` (a JSON key spelled `status_ids[]`
  is just an unknown key, as it is to Rails); category spam, legal, violation or other;
  `violation` without valid `rule_ids` is 422; a comment over 1000 characters is 422; statuses
  not by the reported account are dropped, as ReportService does;
- GET /api/v1/admin/reports[/:id], POST /api/v1/admin/reports/:id/resolve
  (admin:read:reports, admin:write:reports; role Manage Reports);
- GET /api/v1/admin/accounts, POST /api/v1/admin/accounts/:id/action (type none, sensitive,
  disable, silence or suspend; report_id must exist; any type but none resolves every open
  report on the account, none resolves the cited one), /unsilence, /unsuspend
  (admin:read:accounts, admin:write:accounts; role Manage Users).

Errors are Mastodon's: 401 {"error": "The access token is invalid"}, 403 "This action is
outside the authorized scopes" (checked first) or "This action is not allowed" (the role),
404 "Record not found", 422 "Validation failed: ...".

It records every call (`calls`), can be made unavailable (`down("503")`, `down("429")`,
`down("refuse")` closes the port) and brought back (`up()`), and sends admin webhooks as
Mastodon's Webhooks::DeliveryWorker does: `{"event", "created_at", "object"}` with
`X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, raw body)>`.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

ALL_SCOPES = frozenset({"read", "write", "admin:read", "admin:write"})
ALL_ROLE = frozenset({"manage_reports", "manage_users"})
DEFAULT_RULES = [{"id": "1", "text": "No racism, sexism, homophobia, transphobia or other "
                  "hate", "hint": ""},
                 {"id": "2", "text": "No violent threats", "hint": ""},
                 {"id": "3", "text": "No spam", "hint": ""}]


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class HttpError(Exception):
    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status, self.error = status, error


@dataclass
class Call:
    method: str
    path: str
    query: dict[str, list[str]]
    content_type: str
    body: bytes
    params: dict[str, Any]
    status: int = 0
    token: str | None = None


@dataclass
class Token:
    scopes: frozenset[str]
    account_id: str
    role: frozenset[str] = ALL_ROLE


@dataclass
class Subscription:
    url: str
    secret: str
    events: frozenset[str]
    responses: list[int] = field(default_factory=list)


def _has_scope(granted: frozenset[str], *accepted: str) -> bool:
    # Doorkeeper: any of the accepted scopes; a parent scope ("admin:write") covers its children
    for want in accepted:
        if want in granted or any(want.startswith(g + ":") for g in granted):
            return True
    return False


class FakeMastodon:
    def __init__(self, *, domain: str = "mastodon.test", rules: list[dict[str, str]] | None = None,
                 version: str = "4.3.2") -> None:
        self.domain, self.version = domain, version
        self.rules = list(DEFAULT_RULES if rules is None else rules)
        self._ids = itertools.count(113_000_000_000_000_001)
        self.accounts: dict[str, dict[str, Any]] = {}  # id -> Admin::Account
        self.statuses: dict[str, dict[str, Any]] = {}  # id -> Status
        self.reports: dict[str, dict[str, Any]] = {}  # id -> internal report
        self.actions: list[dict[str, Any]] = []  # account actions taken, in order
        self.calls: list[Call] = []
        self.tokens: dict[str, Token] = {}
        self.subscriptions: list[Subscription] = []
        self._down: str | None = None
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.port = 0
        self.admin = self.create_account("admin")
        self.admin_token = self.add_token("admin-token", account_id=self.admin["id"])
        self._webhook_threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "FakeMastodon":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                status, payload = fake._handle(method, self.path, dict(self.headers), body)
                out = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(out)))
                self.end_headers()
                self.wfile.write(out)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def do_PUT(self) -> None:
                self._serve("PUT")

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for t in self._webhook_threads:
            t.join(timeout=5)

    def down(self, how: str = "503") -> None:
        """"503" or "429": every API call answers that; "refuse": the port is closed."""
        self._down = how
        if how == "refuse":
            self.stop()

    def up(self) -> None:
        was = self._down
        self._down = None
        if was == "refuse":
            self.start()

    # -- state the tests set up -----------------------------------------------------------------

    def next_id(self) -> str:
        return str(next(self._ids))

    def add_token(self, token: str, *, account_id: str, scopes: frozenset[str] = ALL_SCOPES,
                  role: frozenset[str] = ALL_ROLE) -> str:
        self.tokens[token] = Token(frozenset(scopes), account_id, frozenset(role))
        return token

    def create_account(self, username: str, *, notify: bool = True) -> dict[str, Any]:
        aid = self.next_id()
        created = now_iso()
        account = {"id": aid, "username": username, "acct": username, "display_name": username,
                   "locked": False, "bot": False, "discoverable": True, "group": False,
                   "created_at": created, "note": "", "url": f"https://{self.domain}/@{username}",
                   "uri": f"https://{self.domain}/users/{username}",
                   "avatar": f"https://{self.domain}/avatars/original/missing.png",
                   "header": f"https://{self.domain}/headers/original/missing.png",
                   "followers_count": 0, "following_count": 0, "statuses_count": 0,
                   "last_status_at": None, "emojis": [], "fields": []}
        admin_account = {"id": aid, "username": username, "domain": None, "created_at": created,
                         "email": f"{username}@{self.domain}", "ip": None, "ips": [],
                         "locale": "en", "invite_request": None,
                         "role": {"id": "-99", "name": "", "permissions": "0",
                                  "color": "", "highlighted": False},
                         "confirmed": True, "approved": True, "disabled": False,
                         "silenced": False, "suspended": False, "sensitized": False,
                         "account": account}
        with self._lock:
            self.accounts[aid] = admin_account
        if notify:
            self.fire("account.created", admin_account)
        return admin_account

    def post_status(self, account_id: str, html: str, *, spoiler_text: str = "",
                    in_reply_to_id: str | None = None, visibility: str = "public",
                    media: list[dict[str, Any]] | None = None, notify: bool = True,
                    language: str = "en") -> dict[str, Any]:
        """A local post: stored, and status.created sent to the webhooks (synchronously, so a
        test can read what tidebreak answered in `subscriptions[i].responses`)."""
        sid = self.next_id()
        acct = self.accounts[account_id]["account"]
        in_reply_acct = self.statuses[in_reply_to_id]["account"]["id"] if in_reply_to_id else None
        status = {"id": sid, "created_at": now_iso(), "in_reply_to_id": in_reply_to_id,
                  "in_reply_to_account_id": in_reply_acct, "sensitive": False,
                  "spoiler_text": spoiler_text, "visibility": visibility, "language": language,
                  "uri": f"https://{self.domain}/users/{acct['username']}/statuses/{sid}",
                  "url": f"https://{self.domain}/@{acct['username']}/{sid}",
                  "replies_count": 0, "reblogs_count": 0, "favourites_count": 0,
                  "edited_at": None, "content": html, "reblog": None,
                  "application": {"name": "Web", "website": None}, "account": acct,
                  "media_attachments": [
                      {"id": self.next_id(), "type": m.get("type", "image"), "url": m["url"],
                       "preview_url": m["url"], "remote_url": None, "text_url": None,
                       "meta": {}, "description": m.get("description"), "blurhash": None}
                      for m in media or []],
                  "mentions": [], "tags": [], "emojis": [], "card": None, "poll": None}
        with self._lock:
            self.statuses[sid] = status
        if notify:
            self.fire("status.created", status, wait=True)
        return status

    def edit_status(self, status_id: str, html: str, *, notify: bool = True) -> dict[str, Any]:
        with self._lock:
            status = self.statuses[status_id]
            status["content"] = html
            status["edited_at"] = now_iso()
        if notify:
            self.fire("status.updated", status, wait=True)
        return status

    def user_report(self, reporter_id: str, target_id: str, status_ids: list[str], *,
                    category: str = "other", comment: str = "",
                    rule_ids: list[str] | None = None) -> dict[str, Any]:
        """A report filed by a user in the web UI (report.created is sent)."""
        return self._create_report(reporter_id, target_id, status_ids, category, comment,
                                   rule_ids or [])

    # -- webhooks -------------------------------------------------------------------------------

    def subscribe(self, url: str, secret: str, events: tuple[str, ...] = (
            "status.created", "status.updated", "report.created", "account.created")) -> Subscription:
        sub = Subscription(url, secret, frozenset(events))
        self.subscriptions.append(sub)
        return sub

    @staticmethod
    def webhook_body(event: str, obj: dict[str, Any]) -> bytes:
        return json.dumps({"event": event, "created_at": now_iso(), "object": obj},
                          ensure_ascii=False).encode("utf-8")

    @staticmethod
    def send_webhook(url: str, secret: str | None, event: str, obj: dict[str, Any] | None = None,
                     *, body: bytes | None = None, signature: str | None = None) -> httpx.Response:
        """POST one webhook as Mastodon does; `secret` None sends no signature, `signature`
        overrides it (a wrong one)."""
        raw = body if body is not None else FakeMastodon.webhook_body(event, obj or {})
        headers = {"Content-Type": "application/json",
                   "User-Agent": "Mastodon/4.3.2 (http.rb/5.2.0; +https://mastodon.test/)"}
        if signature is not None:
            headers["X-Hub-Signature"] = signature
        elif secret is not None:
            headers["X-Hub-Signature"] = sign(secret, raw)
        return httpx.post(url, content=raw, headers=headers, timeout=30)

    def fire(self, event: str, obj: dict[str, Any], *, wait: bool = False) -> None:
        """Send `event` to every subscribed webhook (in a worker thread, as Sidekiq does, unless
        `wait`)."""
        body = self.webhook_body(event, json.loads(json.dumps(obj)))
        for sub in self.subscriptions:
            if event not in sub.events:
                continue

            def send(sub: Subscription = sub) -> None:
                try:
                    r = self.send_webhook(sub.url, sub.secret, event, body=body)
                    sub.responses.append(r.status_code)
                except httpx.HTTPError:
                    sub.responses.append(0)

            if wait:
                send()
            else:
                t = threading.Thread(target=send, daemon=True)
                self._webhook_threads.append(t)
                t.start()

    def wait_webhooks(self, timeout: float = 10) -> None:
        for t in list(self._webhook_threads):
            t.join(timeout=timeout)

    # -- what tests read ------------------------------------------------------------------------

    def calls_to(self, method: str, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def filed_reports(self) -> list[dict[str, Any]]:
        """Reports filed through the API (by the token's account), not by users in the UI."""
        return [r for r in self.reports.values() if r["via_api"]]

    # -- entities -------------------------------------------------------------------------------

    def _report_entity(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"id": r["id"], "action_taken": r["action_taken"],
                "action_taken_at": r["action_taken_at"], "category": r["category"],
                "comment": r["comment"], "forwarded": False, "created_at": r["created_at"],
                "status_ids": r["status_ids"] or None, "rule_ids": r["rule_ids"] or None,
                "target_account": self.accounts[r["target"]]["account"]}

    def _admin_report(self, r: dict[str, Any]) -> dict[str, Any]:
        return {"id": r["id"], "action_taken": r["action_taken"],
                "action_taken_at": r["action_taken_at"], "category": r["category"],
                "comment": r["comment"], "forwarded": False, "created_at": r["created_at"],
                "updated_at": r["updated_at"], "account": self.accounts[r["reporter"]],
                "target_account": self.accounts[r["target"]], "assigned_account": None,
                "action_taken_by_account": None,
                "statuses": [self.statuses[s] for s in r["status_ids"]],
                "rules": [x for x in self.rules if x["id"] in r["rule_ids"]]}

    def _create_report(self, reporter: str, target: str, status_ids: list[str], category: str,
                       comment: str, rule_ids: list[str], via_api: bool = False) -> dict[str, Any]:
        if category not in ("spam", "legal", "violation", "other"):
            raise HttpError(422, f"'{category}' is not a valid category")
        if len(comment) > 1000:
            raise HttpError(422, "Validation failed: Comment is too long (maximum is 1000 "
                                 "characters)")
        valid_rules = {r["id"] for r in self.rules}
        if category == "violation" and (not rule_ids or not set(rule_ids) <= valid_rules):
            raise HttpError(422, "Validation failed: Rule ids does not reference valid rules")
        # ReportService keeps only the target's own statuses
        kept = [s for s in dict.fromkeys(status_ids)
                if s in self.statuses and self.statuses[s]["account"]["id"] == target]
        at = now_iso()
        r = {"id": self.next_id(), "reporter": reporter, "target": target, "status_ids": kept,
             "category": category, "comment": comment,
             "rule_ids": list(rule_ids) if category == "violation" else [],
             "action_taken": False, "action_taken_at": None, "created_at": at,
             "updated_at": at, "via_api": via_api}
        with self._lock:
            self.reports[r["id"]] = r
        self.fire("report.created", self._admin_report(r))
        return r

    def _resolve(self, r: dict[str, Any]) -> None:
        if not r["action_taken"]:
            r["action_taken"], r["action_taken_at"] = True, now_iso()
            r["updated_at"] = r["action_taken_at"]

    # -- the API --------------------------------------------------------------------------------

    def _handle(self, method: str, raw_path: str, headers: dict[str, str],
                body: bytes) -> tuple[int, Any]:
        parts = urlsplit(raw_path)
        path, query = parts.path, parse_qs(parts.query)
        ctype = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
        ctype = ctype.split(";")[0].strip()
        auth = next((v for k, v in headers.items() if k.lower() == "authorization"), "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else None
        call = Call(method, path, query, ctype, body, {}, token=token)
        with self._lock:
            self.calls.append(call)
        try:
            if self._down in ("503", "429"):
                raise HttpError(int(self._down), "Service Unavailable" if self._down == "503"
                                else "Too many requests")
            call.params = self._params(ctype, body, query)
            status, payload = 200, self._route(method, path, call.params, token)
        except HttpError as e:
            status, payload = e.status, {"error": e.error}
        call.status = status
        return status, payload

    @staticmethod
    def _params(ctype: str, body: bytes, query: dict[str, list[str]]) -> dict[str, Any]:
        params: dict[str, Any] = {k: (v if k.endswith("[]") else v[-1]) for k, v in query.items()}
        if not body:
            return params
        if ctype == "application/json":
            try:
                doc = json.loads(body)
            except ValueError:
                raise HttpError(400, "Error occurred while parsing request parameters") from None
            if isinstance(doc, dict):
                params.update(doc)  # keys taken literally: "status_ids[]" is not status_ids
            return params
        form = parse_qs(body.decode(), keep_blank_values=True)
        for k, v in form.items():
            if k.endswith("[]"):
                params[k[:-2]] = v  # Rails: status_ids[]=1&status_ids[]=2 -> status_ids
            else:
                params[k] = v[-1]
        return params

    def _auth(self, token: str | None, *scopes: str, role: str | None = None) -> Token:
        t = self.tokens.get(token or "")
        if t is None:
            raise HttpError(401, "The access token is invalid")
        if scopes and not _has_scope(t.scopes, *scopes):
            raise HttpError(403, "This action is outside the authorized scopes")
        return t

    @staticmethod
    def _role(t: Token, permission: str) -> None:
        if permission not in t.role:
            raise HttpError(403, "This action is not allowed")

    def _account(self, aid: str) -> dict[str, Any]:
        if aid not in self.accounts:
            raise HttpError(404, "Record not found")
        return self.accounts[aid]

    def _report(self, rid: str) -> dict[str, Any]:
        if rid not in self.reports:
            raise HttpError(404, "Record not found")
        return self.reports[rid]

    def _route(self, method: str, path: str, p: dict[str, Any], token: str | None) -> Any:
        seg = path.strip("/").split("/")
        if method == "GET" and path in ("/api/v1/instance", "/api/v2/instance"):
            return {"domain": self.domain, "uri": self.domain, "title": "Fake Mastodon",
                    "version": self.version, "rules": self.rules}
        if method == "GET" and path == "/api/v1/instance/rules":
            return self.rules
        if method == "GET" and path == "/api/v1/apps/verify_credentials":
            t = self._auth(token)
            return {"name": "tidebreak", "website": None, "scopes": sorted(t.scopes),
                    "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"], "vapid_key": "x"}
        if method == "POST" and path == "/api/v1/reports":
            t = self._auth(token, "write", "write:reports")
            self._account(str(p.get("account_id", "")))
            ids = p.get("status_ids") or []
            rules = p.get("rule_ids") or []
            if not isinstance(ids, list) or not isinstance(rules, list):
                raise HttpError(422, "Validation failed: status_ids and rule_ids must be arrays")
            r = self._create_report(t.account_id, str(p["account_id"]), [str(i) for i in ids],
                                    str(p.get("category") or "other"), str(p.get("comment") or ""),
                                    [str(i) for i in rules], via_api=True)
            return self._report_entity(r)
        if seg[:3] == ["api", "v1", "admin"] and len(seg) >= 4:
            return self._admin(method, seg[3:], p, token)
        raise HttpError(404, "Not found")

    def _admin(self, method: str, seg: list[str], p: dict[str, Any], token: str | None) -> Any:
        if seg[0] == "reports":
            if method == "GET":
                t = self._auth(token, "admin:read", "admin:read:reports")
                if len(seg) == 1:
                    self._role(t, "manage_reports")
                    resolved = str(p.get("resolved", "false")).lower() == "true"
                    rows = [r for r in self.reports.values() if r["action_taken"] == resolved]
                    return [self._admin_report(r) for r in rows][: int(p.get("limit", 100))]
                r = self._report(seg[1])
                self._role(t, "manage_reports")
                return self._admin_report(r)
            if method == "POST" and len(seg) == 3 and seg[2] == "resolve":
                t = self._auth(token, "admin:write", "admin:write:reports")
                r = self._report(seg[1])
                self._role(t, "manage_reports")
                self._resolve(r)
                return self._admin_report(r)
        if seg[0] == "accounts":
            if method == "GET" and len(seg) == 1:
                t = self._auth(token, "admin:read", "admin:read:accounts")
                self._role(t, "manage_users")
                return list(self.accounts.values())[: int(p.get("limit", 100))]
            if method == "POST" and len(seg) == 3:
                t = self._auth(token, "admin:write", "admin:write:accounts")
                account = self._account(seg[1])
                self._role(t, "manage_users")
                if seg[2] == "action":
                    return self._action(t, account, p)
                if seg[2] in ("unsilence", "unsuspend"):
                    account["silenced" if seg[2] == "unsilence" else "suspended"] = False
                    self.actions.append({"account_id": account["id"], "type": seg[2]})
                    return account
        raise HttpError(404, "Not found")

    def _action(self, t: Token, account: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        kind = p.get("type")
        if kind not in ("none", "sensitive", "disable", "silence", "suspend"):
            raise HttpError(422, "Validation failed: Type is not included in the list")
        report = self._report(str(p["report_id"])) if p.get("report_id") else None
        if kind == "silence":
            account["silenced"] = True
        elif kind == "suspend":
            account["suspended"] = True
        elif kind == "disable":
            account["disabled"] = True
        elif kind == "sensitive":
            account["sensitized"] = True
        # Admin::AccountAction#reports: the cited one for none, every open one on the account
        # for any other type
        if kind == "none":
            if report is not None:
                self._resolve(report)
        else:
            for r in self.reports.values():
                if r["target"] == account["id"]:
                    self._resolve(r)
        self.actions.append({"account_id": account["id"], "type": kind,
                             "report_id": report["id"] if report else None,
                             "text": p.get("text") or "",
                             "send_email_notification": p.get("send_email_notification")})
        return {}
