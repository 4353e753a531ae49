"""Acting back on the instance: the event sink "mastodon".

- `decision.made` removing or reducing a status that came from the instance: file ONE report
  on it (POST /api/v1/reports), citing the instance rule it breaks when one maps
  (TIDEBREAK_MASTODON_RULES), else category spam or other. Mastodon has no admin API to delete
  or hide one status, so the report is how the instance's moderators see it.
- `account.penalty_imposed` on `mastodon:account:<id>`: silence (limited) or suspend
  (suspended, banned), citing the latest report tidebreak filed on the account (one is filed
  first when there is none). A warning is sent as Mastodon's own warning (type none with the
  notice as text), without a report, so the account's open reports stay in the queue.
- `account.penalty_lifted` (a removal was restored on appeal or review): unsilence or
  unsuspend, but only when that penalty is the one the account is held under on the instance.
- `review.task_decided` on a status: resolve the instance's open reports on it (those tidebreak
  filed and those its users filed), since a person has now decided it.

Each instance call is claimed in `mastodon_actions` first, so a redelivered event or a
re-decision never makes it twice. Only events about statuses and accounts that came from the
instance in a signed webhook are acted on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine

from tidebreak.adapters.mastodon import store
from tidebreak.adapters.mastodon.client import COMMENT_MAX, MastodonClient
from tidebreak.adapters.mastodon.config import MastodonConfig
from tidebreak.adapters.mastodon.webhook import ACCOUNT_PREFIX, STATUS_PREFIX, mastodon_id
from tidebreak.clock import Clock, utcnow
from tidebreak.events.sinks import RetryLater
from tidebreak.events.types import DomainEvent, DomainEventType

log = logging.getLogger("tidebreak.adapters.mastodon")

ACTING = frozenset({"remove", "reduce"})
# tidebreak penalty -> Mastodon account action type
PENALTY_ACTION = {"limited": "silence", "suspended": "suspend", "banned": "suspend",
                  "warning": "none"}
UNDO = {"silence": "unsilence", "suspend": "unsuspend"}
STRENGTH = {"none": 0, "silence": 1, "suspend": 2}  # what an account is held under there
COMMENT_PREFIX = "tidebreak: "  # marks the reports tidebreak files (their webhook is ignored)


def _rules_of(decision: dict[str, Any]) -> list[dict[str, Any]]:
    """The reasons behind the removal or reduction (those that only sent the item to review or
    labelled it are left out), else every reason."""
    reasons = [r for r in decision.get("reasons") or [] if isinstance(r, dict)]
    acting = [r for r in reasons
              if {a.get("type") for a in r.get("actions") or [] if isinstance(a, dict)} & ACTING]
    return acting or reasons


def report_comment(content_id: str, decision: dict[str, Any]) -> str:
    """What the instance's moderators read: what tidebreak did, under which rules and grounds,
    within Mastodon's 1000 characters."""
    action = decision.get("action", "")
    parts = [f"{COMMENT_PREFIX}{action} {content_id} (decision {decision.get('decision_id', '?')})"]
    for r in _rules_of(decision):
        rule, ground = r.get("rule_id") or r.get("id"), r.get("ground")
        if rule:
            parts.append(f"rule {rule}: {ground}" if ground else f"rule {rule}")
    if len(parts) == 1:
        names = [str(x) for x in decision.get("rules") or [] if isinstance(x, str)]
        if names:
            parts.append("rules " + ", ".join(names))
    cats = [str(c) for c in decision.get("categories") or []]
    if cats:
        parts.append("categories: " + ", ".join(cats))
    text = "; ".join(parts)
    return text if len(text) <= COMMENT_MAX else text[:COMMENT_MAX - 1] + "\u2026"


class MastodonSink:
    name = "mastodon"
    types: frozenset[str] | None = frozenset({
        DomainEventType.DECISION_MADE.value, DomainEventType.ACCOUNT_PENALTY_IMPOSED.value,
        DomainEventType.ACCOUNT_PENALTY_LIFTED.value, DomainEventType.REVIEW_TASK_DECIDED.value})

    def __init__(self, config: MastodonConfig, engine: Engine | Callable[[], Engine], *,
                 client: MastodonClient | None = None, clock: Clock = utcnow) -> None:
        self.config = config
        self._engine = engine
        self.client = client or MastodonClient(config)
        self.clock = clock

    @property
    def engine(self) -> Engine:
        return self._engine if isinstance(self._engine, Engine) else self._engine()

    def deliver(self, event: DomainEvent) -> None:
        if event.type == DomainEventType.DECISION_MADE:
            self._on_decision(event)
        elif event.type == DomainEventType.ACCOUNT_PENALTY_IMPOSED:
            self._on_penalty(event)
        elif event.type == DomainEventType.ACCOUNT_PENALTY_LIFTED:
            self._on_lift(event)
        elif event.type == DomainEventType.REVIEW_TASK_DECIDED:
            self._on_review(event)

    # -- decisions: one report per status -------------------------------------------------------

    def _on_decision(self, event: DomainEvent) -> None:
        content_id = event.payload.get("content_id") or event.subject
        if mastodon_id(content_id, STATUS_PREFIX) is None:
            return
        decision = event.payload.get("decision") or {}
        actions = {decision.get("action"), *[a.get("type") if isinstance(a, dict) else a
                                             for a in decision.get("actions") or []]}
        if not actions & ACTING:
            return
        self.ensure_report(event.tenant, content_id, decision)

    def ensure_report(self, tenant: str, content_id: str,
                      decision: dict[str, Any] | None) -> str | None:
        """The instance report tidebreak filed on this status, filing it if there is none yet.
        None when the status is not one the instance sent us (nothing is filed then)."""
        status = store.known_status(self.engine, tenant, content_id)
        if status is None:
            log.info("not acting on %s: it never came from the instance", content_id)
            return None
        key = f"report:{content_id}"
        claim = store.claim(self.engine, tenant, key, account_id=status.account_id,
                            action="report", now=self.clock())
        if claim.done:
            assert claim.row is not None
            return claim.row.report_id
        if not claim.mine:
            raise RetryLater(f"the report on {content_id} is being filed by another process")
        try:
            category, rule_ids = self.category_for(decision or {})
            comment = report_comment(content_id, decision or {"action": "remove"})
            filed = self.client.file_report(account_id=status.account_id,
                                            status_ids=[status.status_id], comment=comment,
                                            category=category, rule_ids=rule_ids)
        except BaseException:
            store.release(self.engine, tenant, key)
            raise
        report_id = str(filed["id"])
        now = self.clock()
        store.record_report(self.engine, tenant, report_id=report_id,
                            account_id=status.account_id, content_ids=[content_id],
                            origin="filed", category=category, now=now)
        store.complete(self.engine, tenant, key, now, report_id=report_id)
        log.info("filed report %s on %s", report_id, content_id)
        return report_id

    def category_for(self, decision: dict[str, Any]) -> tuple[str, list[str]]:
        """(category, rule ids) for a report: `violation` with the instance rules the decision's
        categories map to (only ids the instance really has: it answers 422 otherwise), else
        `spam` for spam, else `other`."""
        cats = [str(c) for c in decision.get("categories") or []]
        wanted = [rid for c in cats for rid in self.config.rules.get(c, ())]
        if wanted:
            have = {r.id for r in self.client.rules()}
            ids = list(dict.fromkeys(r for r in wanted if r in have))
            if ids:
                return "violation", ids
            log.warning("TIDEBREAK_MASTODON_RULES names rules %s the instance does not have",
                        ", ".join(wanted))
        if "spam" in cats:
            return "spam", []
        return "other", []

    # -- account penalties ----------------------------------------------------------------------

    def _on_penalty(self, event: DomainEvent) -> None:
        p = event.payload
        actor = p.get("actor_id") or event.subject.removeprefix("account:")
        account_id = mastodon_id(actor, ACCOUNT_PREFIX)
        kind = PENALTY_ACTION.get(str(p.get("penalty")))
        if account_id is None or kind is None or p.get("id") is None:
            return
        tenant, penalty_id = event.tenant, int(p["id"])
        cause = p.get("cause_content_id")
        # act only for an account the instance told us about, on a cause that came from it
        cause_status = store.known_status(self.engine, tenant, cause) if cause else None
        if cause_status is None or cause_status.account_id != account_id:
            log.info("not acting on penalty %s: its cause %s never came from the instance",
                     penalty_id, cause)
            return
        key = f"penalty:{penalty_id}"
        if store.done_action(self.engine, tenant, key) is not None:
            return
        current = store.account_state(self.engine, tenant, account_id)
        if (kind != "none" and current is not None
                and STRENGTH.get(current.action, 0) >= STRENGTH[kind]):
            # e.g. banned after suspended: Mastodon has one suspension; or a weaker penalty
            # whose delivery was retried after a stronger one: record it, call nothing
            claim = store.claim(self.engine, tenant, key, account_id=account_id, action="held",
                                now=self.clock(), penalty_id=penalty_id)
            if claim.mine:
                store.complete(self.engine, tenant, key, self.clock(),
                               report_id=current.report_id)
            return
        report_id = None
        if kind != "none":
            # Mastodon wants the report the action answers; file one on the cause if needed
            report_id = self.ensure_report(tenant, cause, None) if cause else None
            report_id = report_id or store.latest_filed_report(self.engine, tenant, account_id)
        claim = store.claim(self.engine, tenant, key, account_id=account_id, action=kind,
                            now=self.clock(), penalty_id=penalty_id)
        if claim.done:
            return
        if not claim.mine:
            raise RetryLater(f"penalty {penalty_id} is being applied by another process")
        text = str(p.get("notice") or p.get("ground") or "")
        if p.get("ground") and p.get("notice"):
            text = f"{p['ground']}. {p['notice']}"
        try:
            self.client.account_action(account_id, type=kind, report_id=report_id, text=text)
        except BaseException:
            store.release(self.engine, tenant, key)
            raise
        now = self.clock()
        store.complete(self.engine, tenant, key, now, report_id=report_id)
        if kind != "none":
            # Mastodon resolves every open report on an account it silences or suspends
            store.resolve_open_on_account(self.engine, tenant, account_id, now)
        log.info("%s on account %s for penalty %s", kind, account_id, penalty_id)

    def _on_lift(self, event: DomainEvent) -> None:
        p = event.payload
        actor = p.get("actor_id") or event.subject.removeprefix("account:")
        account_id = mastodon_id(actor, ACCOUNT_PREFIX)
        penalty_id = p.get("penalty_id", p.get("id"))
        if account_id is None or penalty_id is None:
            return
        tenant = event.tenant
        current = store.account_state(self.engine, tenant, account_id)
        # undo only what this penalty put on the instance, and only while it is what holds
        # the account there (a later, stronger penalty keeps its own action)
        if current is None or current.penalty_id != int(penalty_id) or current.action not in UNDO:
            return
        undo = UNDO[current.action]
        key = f"lift:{penalty_id}"
        claim = store.claim(self.engine, tenant, key, account_id=account_id, action=undo,
                            now=self.clock(), penalty_id=int(penalty_id))
        if claim.done:
            return
        if not claim.mine:
            raise RetryLater(f"lifting penalty {penalty_id} is in progress elsewhere")
        try:
            self.client.undo(account_id, undo)
        except BaseException:
            store.release(self.engine, tenant, key)
            raise
        store.complete(self.engine, tenant, key, self.clock())

    # -- review ---------------------------------------------------------------------------------

    def _on_review(self, event: DomainEvent) -> None:
        content_id = event.payload.get("content_id") or event.subject
        if mastodon_id(content_id, STATUS_PREFIX) is None:
            return
        status = store.known_status(self.engine, event.tenant, content_id)
        if status is None:
            return
        resolved = []
        for r in store.open_reports_on(self.engine, event.tenant, status.account_id, content_id):
            self.client.resolve_report(r.report_id)  # gone from the instance: nothing to do
            resolved.append(r.report_id)
            store.mark_resolved(self.engine, event.tenant, [r.report_id], self.clock())
        if resolved:
            log.info("resolved reports %s on %s after review", ", ".join(resolved), content_id)

