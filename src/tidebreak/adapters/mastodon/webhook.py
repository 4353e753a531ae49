"""Mastodon's admin webhooks, checked and turned into tidebreak events. Pure functions: nothing
here touches the store or the network, so a refused body can never change anything.

Mastodon POSTs `{"event": ..., "created_at": ..., "object": {...}}` and signs the raw body:
`X-Hub-Signature: sha256=<hex HMAC-SHA256(secret, body)>` (app/workers/webhooks/
delivery_worker.rb). `object` is a Status (status.*), an Admin::Report (report.*) or an
Admin::Account (account.*) entity, as docs.joinmastodon.org/entities describes them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tidebreak.adapters.mastodon.html import html_to_text
from tidebreak.ingest import InvalidInput, parse_event
from tidebreak.model import ContentKind, Event, EventType

SIGNATURE_HEADER = "X-Hub-Signature"
STATUS_PREFIX = "mastodon:status:"
ACCOUNT_PREFIX = "mastodon:account:"
HANDLED = ("status.created", "status.updated", "report.created", "account.created")

# Mastodon ids are decimal snowflakes. Anything else is refused before it can reach an id in a
# tidebreak content id or, later, a path on the instance.
_ID = re.compile(r"^[0-9]{1,20}$")
MAX_MEDIA = 8
MAX_DESCRIPTION = 1500
# Mastodon's report categories, and the tidebreak report reason each becomes when the report
# names no instance rule that maps back to a tidebreak category.
REPORT_REASON = {"spam": "spam", "legal": "other", "violation": "other", "other": "other"}


class BadWebhook(InvalidInput):
    """A body we cannot take (answered 400 with this reason)."""


def sign(secret: str, body: bytes) -> str:
    """The X-Hub-Signature value Mastodon sends for `body`."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """True when `header` is Mastodon's signature of the raw `body` under `secret`. Compared in
    constant time on the exact bytes received (never on re-serialised JSON)."""
    if not header or not secret:
        return False
    return hmac.compare_digest(sign(secret, body).encode("ascii"),
                               header.strip().encode("ascii", "replace"))


def status_content_id(status_id: str) -> str:
    return f"{STATUS_PREFIX}{status_id}"


def account_actor_id(account_id: str) -> str:
    return f"{ACCOUNT_PREFIX}{account_id}"


def mastodon_id(value: str | None, prefix: str) -> str | None:
    """The Mastodon id in a tidebreak id (`mastodon:status:123` -> "123"), or None when the id
    is not one of ours or not a well-formed Mastodon id."""
    if not value or not value.startswith(prefix):
        return None
    raw = value[len(prefix):]
    return raw if _ID.match(raw) else None


def entity_id(obj: Any, name: str, where: str) -> str:
    v = obj.get(name) if isinstance(obj, dict) else None
    if isinstance(v, int) and not isinstance(v, bool):
        v = str(v)
    if not isinstance(v, str) or not _ID.match(v):
        raise BadWebhook(f"{where}.{name} must be a Mastodon id (digits), got {str(v)[:40]!r}")
    return v


def _obj(obj: Any, name: str, where: str) -> dict[str, Any]:
    v = obj.get(name) if isinstance(obj, dict) else None
    if not isinstance(v, dict):
        raise BadWebhook(f"{where}.{name} must be an object")
    return v


def _str(obj: dict[str, Any], name: str) -> str:
    v = obj.get(name)
    return v if isinstance(v, str) else ""


@dataclass(frozen=True)
class Envelope:
    event: str
    created_at: str | None
    object: dict[str, Any]


def parse_envelope(body: bytes) -> Envelope:
    try:
        doc = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadWebhook("body is not UTF-8") from None
    except json.JSONDecodeError as e:
        raise BadWebhook(f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise BadWebhook("malformed JSON: nested too deeply") from None
    if not isinstance(doc, dict):
        raise BadWebhook("the body must be a JSON object {\"event\", \"created_at\", \"object\"}")
    event = doc.get("event")
    if not isinstance(event, str) or not event:
        raise BadWebhook("field 'event' must be a Mastodon webhook event name, e.g. "
                         "status.created")
    obj = doc.get("object")
    if not isinstance(obj, dict):
        raise BadWebhook("field 'object' must be the event's entity (an object)")
    created = doc.get("created_at")
    return Envelope(event, created if isinstance(created, str) else None, obj)


@dataclass(frozen=True)
class StatusInfo:
    """A Status entity as tidebreak sees it."""

    status_id: str
    account_id: str
    content_id: str
    author: str
    edited_at: str | None
    is_boost: bool
    fields: dict[str, Any] = field(default_factory=dict)  # for `ingest.parse_event`


def status_info(status: dict[str, Any], where: str = "object") -> StatusInfo:
    """Read a Status entity: its text is the content warning (`spoiler_text`), the HTML
    `content` as plain text and any poll options; its media are kept (URLs, type and the
    author's description) in the content's meta."""
    sid = entity_id(status, "id", where)
    account = _obj(status, "account", where)
    aid = entity_id(account, "id", f"{where}.account")
    if status.get("reblog"):  # a boost has no text of its own; the boosted status is judged
        return StatusInfo(sid, aid, status_content_id(sid), account_actor_id(aid), None, True)
    body, links = html_to_text(_str(status, "content"))
    spoiler = _str(status, "spoiler_text").strip()
    poll = status.get("poll") if isinstance(status.get("poll"), dict) else None
    options = [o.get("title") for o in (poll or {}).get("options") or []
               if isinstance(o, dict) and isinstance(o.get("title"), str)]
    text = "\n\n".join(p for p in (spoiler, body, "\n".join(options)) if p)
    media = []
    for m in (status.get("media_attachments") or [])[:MAX_MEDIA]:
        if not isinstance(m, dict):
            continue
        url = m.get("url") or m.get("remote_url")
        media.append({"id": str(m.get("id", "")), "type": _str(m, "type"),
                      "url": url if isinstance(url, str) else None,
                      "description": _str(m, "description")[:MAX_DESCRIPTION]})
    card = status.get("card") if isinstance(status.get("card"), dict) else None
    if card and isinstance(card.get("url"), str) and card["url"] not in links and len(links) < 50:
        links.append(card["url"])
    in_reply = status.get("in_reply_to_id")
    parent = str(in_reply) if in_reply is not None and _ID.match(str(in_reply)) else None
    visibility = _str(status, "visibility")
    kind = (ContentKind.MESSAGE if visibility == "direct"
            else ContentKind.COMMENT if parent else ContentKind.POST)
    language = status.get("language") if isinstance(status.get("language"), str) else None
    edited_at = status.get("edited_at") if isinstance(status.get("edited_at"), str) else None
    meta = {"mastodon": {"url": status.get("url") if isinstance(status.get("url"), str) else None,
                         "uri": _str(status, "uri") or None, "visibility": visibility or None,
                         "sensitive": bool(status.get("sensitive")),
                         "acct": _str(account, "acct") or None, "media": media}}
    fields: dict[str, Any] = {
        "id": status_content_id(sid), "kind": kind.value, "text": text,
        "author": account_actor_id(aid), "created_at": status.get("created_at"),
        "urls": [u for u in links if len(u) <= 2048][:50], **meta}
    if parent:
        fields["parent_id"] = status_content_id(parent)
    if language:
        fields["language"] = language[:16]
    return StatusInfo(sid, aid, status_content_id(sid), account_actor_id(aid), edited_at, False,
                      fields)


def status_event(info: StatusInfo, etype: EventType, *, max_text_bytes: int,
                 now: datetime) -> Event:
    """A create (first sight) or an edit of the status. The event id is derived from the
    status (and for an edit its `edited_at`), so a redelivered webhook is the same event and
    changes nothing."""
    if etype == EventType.CREATE:
        event_id = f"mastodon:status.created:{info.status_id}"
    else:
        event_id = f"mastodon:status.updated:{info.status_id}:{info.edited_at or 'unknown'}"
    obj = {**info.fields, "type": etype.value, "event_id": event_id}
    return parse_event(obj, max_text_bytes=max_text_bytes, now=now)


@dataclass(frozen=True)
class ReportInfo:
    report_id: str
    reporter: str | None  # tidebreak actor id of who filed it
    target_account_id: str
    category: str
    comment: str
    rule_ids: tuple[str, ...]
    statuses: tuple[StatusInfo, ...]


def report_info(report: dict[str, Any]) -> ReportInfo:
    """Read an Admin::Report entity (with its statuses, which may be federated ones: reports are
    how remote posts reach tidebreak at all)."""
    rid = entity_id(report, "id", "object")
    target = _obj(report, "target_account", "object")
    target_id = entity_id(target, "id", "object.target_account")
    reporter = None
    acc = report.get("account")
    if isinstance(acc, dict) and acc.get("id") is not None and _ID.match(str(acc["id"])):
        reporter = account_actor_id(str(acc["id"]))
    category = _str(report, "category") or "other"
    rules = tuple(str(r.get("id")) for r in report.get("rules") or []
                  if isinstance(r, dict) and r.get("id") is not None)
    statuses = []
    raw = report.get("statuses") or []
    if not isinstance(raw, list):
        raise BadWebhook("object.statuses must be a list of Status entities")
    for i, st in enumerate(raw):
        if not isinstance(st, dict):
            raise BadWebhook(f"object.statuses[{i}] must be a Status entity")
        statuses.append(status_info(st, f"object.statuses[{i}]"))
    return ReportInfo(rid, reporter, target_id, category, _str(report, "comment"), rules,
                      tuple(statuses))


def report_reason(info: ReportInfo, rules: dict[str, tuple[str, ...]]) -> str:
    """The tidebreak report reason: the category whose mapped instance rule the reporter
    picked, else what Mastodon's own category says."""
    from tidebreak.ingest import REPORT_REASONS

    for category, ids in rules.items():
        if category in REPORT_REASONS and set(ids) & set(info.rule_ids):
            return category
    return REPORT_REASON.get(info.category, "other")


def report_event(info: ReportInfo, status: StatusInfo, reason: str, *,
                 now: datetime) -> Event:
    obj = {"type": EventType.REPORT.value, "id": status.content_id, "reason": reason,
           "event_id": f"mastodon:report:{info.report_id}:{status.status_id}",
           "mastodon_report_id": info.report_id}
    if info.reporter:
        obj["reporter"] = info.reporter
    return parse_event(obj, now=now)
