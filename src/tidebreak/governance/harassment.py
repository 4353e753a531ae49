"""Severe-harassment and credible-threat escalation: a named person, a contact deadline.

A user report of harassment or violence on an item the policy judges severe (a high or critical
rule of that category fired, or the detector scored it at least `SEVERE_SCORE`) opens a case, in
the report's transaction (`HarassmentEnforcer`). Reviewers can also open one by hand. Each case
is assigned to a named person, the active senior reviewer (else reviewer) with the fewest open
cases, else the on-call name in TIDEBREAK_SAFETY_ONCALL, and must be contacted by
`contact_due` (credible threats in 1 hour, severe harassment in 24). `check_deadlines` raises an
alert for every missed deadline: a ledger entry, a log warning and the Prometheus counter
`tidebreak_harassment_deadlines_missed_total`; `stats` counts them.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta, timezone
from typing import Any

from prometheus_client import Counter as PromCounter
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.enforce.hooks import Enforcement
from tidebreak.governance.errors import Conflict, GovernanceError, NotFound
from tidebreak.model import EventType
from tidebreak.store.schema import ConsoleUserRow, ContentRow, HarassmentCaseRow

log = logging.getLogger(__name__)

KINDS = {"credible_threat": timedelta(hours=1), "severe_harassment": timedelta(hours=24)}
REASON_KIND = {"violence": "credible_threat", "harassment": "severe_harassment"}
SEVERE_SCORE = 0.5
SEVERE_RULES = ("high", "critical")
ASSIGNEE_ROLES = ("senior_reviewer", "reviewer")
MISSED = PromCounter("tidebreak_harassment_deadlines_missed",
                     "Severe-harassment cases whose contact deadline passed without contact")


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def to_dict(c: HarassmentCaseRow) -> dict[str, Any]:
    return {"id": c.id, "content_id": c.content_id, "kind": c.kind, "target": c.target,
            "reporter": c.reporter, "assignee": c.assignee, "status": c.status,
            "created_at": _aware(c.created_at).isoformat(),
            "contact_due": _aware(c.contact_due).isoformat(),
            "contacted_at": _aware(c.contacted_at).isoformat() if c.contacted_at else None,
            "missed": c.missed_at is not None, "note": c.note}


def pick_assignee(s: Session, tenant: str) -> str:
    users = list(s.execute(select(ConsoleUserRow.username, ConsoleUserRow.role).where(
        ConsoleUserRow.tenant == tenant, ConsoleUserRow.disabled_at.is_(None),
        ConsoleUserRow.role.in_(ASSIGNEE_ROLES))).all())
    if not users:
        return os.environ.get("TIDEBREAK_SAFETY_ONCALL", "safety-oncall")
    load = dict(s.execute(select(HarassmentCaseRow.assignee, func.count()).where(
        HarassmentCaseRow.tenant == tenant, HarassmentCaseRow.status == "open")
        .group_by(HarassmentCaseRow.assignee)).all())
    # Senior reviewers first, then the least loaded, then by name (stable).
    return min(users, key=lambda u: (ASSIGNEE_ROLES.index(u.role), load.get(u.username, 0),
                                     u.username)).username


def open_case_in(s: Session, *, tenant: str, content_id: str, kind: str, now: datetime,
                 by: str, target: str | None = None, reporter: str | None = None,
                 note: str = "") -> HarassmentCaseRow:
    if kind not in KINDS:
        raise GovernanceError(f"kind must be one of {', '.join(KINDS)}")
    existing = s.execute(select(HarassmentCaseRow).where(
        HarassmentCaseRow.tenant == tenant, HarassmentCaseRow.content_id == content_id,
        HarassmentCaseRow.status == "open")).scalars().first()
    if existing is not None:
        return existing  # one open case per item: further reports join it
    case = HarassmentCaseRow(tenant=tenant, content_id=content_id, kind=kind, target=target,
                             reporter=reporter, assignee=pick_assignee(s, tenant), status="open",
                             created_at=now, contact_due=now + KINDS[kind], note=note)
    s.add(case)
    s.flush()
    ledger.append(s, tenant=tenant, kind="harassment.case_open", subject=content_id, actor=by,
                  payload=to_dict(case), at=now)
    return case


def open_case(engine: Engine, tenant: str, *, content_id: str, kind: str, by: str, now: datetime,
              target: str | None = None, note: str = "") -> dict[str, Any]:
    with Session(engine, expire_on_commit=False) as s, s.begin():
        if s.get(ContentRow, (tenant, content_id)) is None:
            raise NotFound(f"no content {content_id!r}")
        case = open_case_in(s, tenant=tenant, content_id=content_id, kind=kind, now=now, by=by,
                            target=target, note=note)
    return to_dict(case)


class HarassmentEnforcer:
    name = "governance.harassment"

    def __call__(self, e: Enforcement) -> None:
        ev = e.event
        if ev.type != EventType.REPORT or ev.report_reason not in REASON_KIND:
            return
        cat = ev.report_reason
        severe = any(h.category == cat and h.severity in SEVERE_RULES for h in e.decision.reasons)
        severe = severe or any(sig.category == cat and sig.score >= SEVERE_SCORE
                               for sig in e.decision.signals)
        if not severe:
            return
        meta = e.content.meta or {}
        open_case_in(e.session, tenant=e.tenant, content_id=e.content.id,
                     kind=REASON_KIND[cat], now=e.now, by="automation",
                     target=meta.get("target") if isinstance(meta.get("target"), str) else None,
                     reporter=ev.reporter)


def record_contact(engine: Engine, tenant: str, case_id: int, *, by: str, note: str,
                   now: datetime) -> dict[str, Any]:
    if not note.strip():
        raise GovernanceError("say how the person was contacted (note)")
    with Session(engine, expire_on_commit=False) as s, s.begin():
        case = s.get(HarassmentCaseRow, case_id)
        if case is None or case.tenant != tenant:
            raise NotFound(f"no case {case_id}")
        if case.status != "open":
            raise Conflict(f"case {case_id} is {case.status}")
        case.status, case.contacted_at = "contacted", now
        case.note = (case.note + "\n" if case.note else "") + note.strip()
        ledger.append(s, tenant=tenant, kind="harassment.contact", subject=case.content_id,
                      actor=by, payload={"case": case.id, "late": now > _aware(case.contact_due),
                                         "note": note.strip()}, at=now)
    return to_dict(case)


def check_deadlines(engine: Engine, tenant: str, now: datetime) -> list[dict[str, Any]]:
    """Raise the alert for every open case newly past its deadline; return those cases."""
    with Session(engine, expire_on_commit=False) as s, s.begin():
        late = [c for c in s.execute(select(HarassmentCaseRow).where(
            HarassmentCaseRow.tenant == tenant, HarassmentCaseRow.status == "open",
            HarassmentCaseRow.missed_at.is_(None))).scalars() if _aware(c.contact_due) <= now]
        for c in late:
            c.missed_at = now
            ledger.append(s, tenant=tenant, kind="harassment.deadline_missed",
                          subject=c.content_id, actor="automation",
                          payload={"case": c.id, "assignee": c.assignee,
                                   "contact_due": _aware(c.contact_due).isoformat()}, at=now)
    for c in late:
        MISSED.inc()
        log.warning("harassment case %s: contact deadline %s missed (assignee %s)", c.id,
                    _aware(c.contact_due).isoformat(), c.assignee)
    return [to_dict(c) for c in late]


def list_cases(engine: Engine, tenant: str, status: str | None = None) -> list[dict[str, Any]]:
    with Session(engine) as s:
        q = select(HarassmentCaseRow).where(HarassmentCaseRow.tenant == tenant)
        if status:
            q = q.where(HarassmentCaseRow.status == status)
        return [to_dict(c) for c in s.execute(q.order_by(HarassmentCaseRow.contact_due)).scalars()]


def stats(engine: Engine, tenant: str) -> dict[str, int]:
    with Session(engine) as s:
        rows = list(s.execute(select(HarassmentCaseRow).where(
            HarassmentCaseRow.tenant == tenant)).scalars())
    return {"cases": len(rows), "open": sum(r.status == "open" for r in rows),
            "contacted": sum(r.status == "contacted" for r in rows),
            "deadlines_missed": sum(r.missed_at is not None for r in rows)}
