"""Statements of reasons, built from decisions and stored with the decision's transaction.

Every restriction gets exactly one statement: a decision that removes, reduces, puts a
fact-check label or a warning on content (an ad that is not approved is a removal of an ad), and
every account or group restriction recorded through `record_restriction`. A decision that only
queues a review (routing), adds an information label (context), takes no action, or repeats a
removal already in force restricts nothing new and gets none (tidebreak.model.OutcomeKind).

The statement is the Transparency Database's JSON, free of personal data: no content text, no
author or reviewer names; the content id stays in our table, outside the statement. `puid` is
derived from the decision id, so rebuilding or re-exporting never makes a second one.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.accountability import sor_schema as schema
from tidebreak.accountability.taxonomy import dsa_category
from tidebreak.enforce.hooks import Enforcement
from tidebreak.model import CATEGORIES, ActionType, ContentKind, Decision, EventType, RuleHit
from tidebreak.pipeline import InvalidDecision
from tidebreak.store.schema import DecisionRow, EventRow, StatementRow

RESTRICTING = (ActionType.REMOVE, ActionType.REDUCE, ActionType.LABEL, ActionType.WARN)
AD_REJECTED = "Ad not approved to run"
WARNING_SCREEN = "Shown behind a warning screen that viewers must click through"


class StatementRefused(InvalidDecision):
    """The decision's statement would break the DSA schema (e.g. personal data in free text).
    Raised inside the decision's transaction, so nothing of the decision is stored."""

    status = 422

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("statement of reasons refused: " + "; ".join(problems))


@dataclass(frozen=True)
class AccountabilitySettings:
    territorial_scope: tuple[str, ...] = schema.EEA
    appeal_days: int = 183  # DSA Art. 20: at least six months
    trusted_flaggers: frozenset[str] = frozenset()
    terms_url: str | None = None

    @classmethod
    def from_env(cls) -> "AccountabilitySettings":
        env = os.environ
        scope = tuple(c.strip().upper() for c in env.get("TIDEBREAK_SOR_TERRITORIES", "").split(",")
                      if c.strip()) or schema.EEA
        bad = [c for c in scope if c not in schema.TERRITORIES]
        if bad:
            raise SystemExit(f"TIDEBREAK_SOR_TERRITORIES: not EU/EEA codes: {', '.join(bad)}")
        days = env.get("TIDEBREAK_APPEAL_DAYS", "183")
        if not days.isdigit() or int(days) < 183:
            raise SystemExit(f"TIDEBREAK_APPEAL_DAYS must be a whole number >= 183, got {days!r}")
        flaggers = frozenset(f.strip() for f in env.get("TIDEBREAK_TRUSTED_FLAGGERS", "").split(",")
                             if f.strip())
        return cls(territorial_scope=scope, appeal_days=int(days), trusted_flaggers=flaggers,
                   terms_url=env.get("TIDEBREAK_TERMS_URL") or None)


def puid_for(decision_id: str, subject_type: str = "content") -> str:
    base = re.sub(r"[^A-Za-z0-9_-]", "-", decision_id)
    return f"tb-{base}" if subject_type == "content" else f"tb-{base}-{subject_type}"


def _day(d: datetime | None) -> str | None:
    return d.astimezone(timezone.utc).date().isoformat() if d and d.tzinfo else (
        d.date().isoformat() if d else None)


@dataclass(frozen=True)
class Provenance:
    """Where the decision came from, for `source_type` and the notice's detection source."""

    source_type: str
    detection_source: str  # automated | user_report | trusted_flagger | reviewer
    automated_detection: bool
    reports: int = 0


def provenance(session: Session, tenant: str, decision: Decision, event_type: EventType,
               reporter: str | None, cfg: AccountabilitySettings) -> Provenance:
    human = decision.decided_by != "automation"
    reporters: list[str | None] = [reporter] if event_type == EventType.REPORT else []
    if human:
        # A reviewer acts on what reports or automation raised earlier.
        reporters += [p.get("reporter") for p in session.execute(
            select(EventRow.payload).where(EventRow.tenant == tenant,
                                           EventRow.content_id == decision.content_id,
                                           EventRow.type == EventType.REPORT.value)).scalars()]
        automated = any(p.get("actions") for p in session.execute(
            select(DecisionRow.payload).where(DecisionRow.tenant == tenant,
                                              DecisionRow.content_id == decision.content_id,
                                              DecisionRow.decided_by == "automation")).scalars())
    else:
        automated = any(h.signals for h in decision.reasons)
    if any(r in cfg.trusted_flaggers for r in reporters if r):
        return Provenance("SOURCE_TRUSTED_FLAGGER", "trusted_flagger", automated, len(reporters))
    if reporters:
        return Provenance("SOURCE_TYPE_OTHER_NOTIFICATION", "user_report", automated,
                          len(reporters))
    return Provenance("SOURCE_VOLUNTARY", "automated" if automated or not human else "reviewer",
                      automated, 0)


def _main_hit(decision: Decision) -> RuleHit:
    """The reason for the strongest restricting action (the first rule that caused it)."""
    order = {t: i for i, t in enumerate(RESTRICTING)}
    hits = [h for h in decision.reasons if h.category in CATEGORIES and h.enforces]
    return min(hits, key=lambda h: min(order[a.type] for a in h.actions if a.restricts))


def _facts(decision: Decision, kind: str, prov: Provenance, hit: RuleHit) -> str:
    """Facts and circumstances, from the decision's explainable parts only (no text, no names)."""
    acts = ", ".join(dict.fromkeys(a.type.value for a in decision.enforcement))
    parts = []
    if decision.decided_by == "automation":
        sigs = sorted({(s.detector, s.category, s.detector_version): s.score
                       for h in decision.reasons for s in h.signals}.items(),
                      key=lambda kv: -kv[1])
        scored = "; ".join(f"{det}{' ' + ver if ver else ''} scored {cat} {score:.2f}"
                           for (det, cat, ver), score in sigs[:5])
        parts.append(f"Automated detection: {scored}." if scored else "Automated rules applied.")
        parts.append(f"Rule {', '.join(decision.rules)} of policy {decision.policy_id} "
                     f"{decision.policy_version} decided automatically: {acts}.")
    else:
        parts.append(f"A human reviewer decided: {acts}, citing {hit.ground}.")
    if prov.reports:
        parts.append(f"The item had been reported by users ({prov.reports} report"
                     f"{'s' if prov.reports != 1 else ''}).")
    rejected_ad = kind == ContentKind.AD.value and acts.startswith("remove")
    outcome = "was not approved to run" if rejected_ad else "was restricted"
    parts.append(f"The {kind.replace('_', ' ')} {outcome} under the provider's terms and conditions.")
    return " ".join(parts)[: schema.TEXT_LIMITS["decision_facts"]]


def statement_for_decision(session: Session, tenant: str, decision: Decision, *,
                           kind: str, content_created: datetime | None, language: str | None,
                           event_type: EventType, reporter: str | None,
                           cfg: AccountabilitySettings) -> tuple[dict[str, Any], Provenance]:
    types = [a.type for a in decision.enforcement]  # routing and information restrict nothing
    visibility: list[str] = []
    other: list[str] = []
    if ActionType.REMOVE in types:
        if kind == ContentKind.AD.value:
            visibility.append("DECISION_VISIBILITY_OTHER")
            other.append(AD_REJECTED)
        else:
            visibility.append("DECISION_VISIBILITY_CONTENT_REMOVED")
    if ActionType.REDUCE in types:
        visibility.append("DECISION_VISIBILITY_CONTENT_DEMOTED")
    if ActionType.LABEL in types:
        visibility.append("DECISION_VISIBILITY_CONTENT_LABELLED")
    if ActionType.WARN in types:
        if "DECISION_VISIBILITY_OTHER" not in visibility:
            visibility.append("DECISION_VISIBILITY_OTHER")
        other.append(WARNING_SCREEN)
    hit = _main_hit(decision)
    dsa = dsa_category(hit.category)
    additions = list(dict.fromkeys(dsa_category(c).category for c in decision.categories
                                   if dsa_category(c).category != dsa.category))
    keywords = list(dict.fromkeys(k for c in [hit.category, *decision.categories]
                                  for k in dsa_category(c).keywords))
    prov = provenance(session, tenant, decision, event_type, reporter, cfg)
    explanation = (hit.notice or f"The content breaks {hit.ground}.").strip()
    stmt: dict[str, Any] = {
        "decision_visibility": visibility,
        "decision_facts": _facts(decision, kind, prov, hit),
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": hit.ground[:500],
        "incompatible_content_explanation": explanation[:2000],
        "content_type": ["CONTENT_TYPE_TEXT"],
        "category": dsa.category,
        "category_specification": keywords,
        "territorial_scope": list(cfg.territorial_scope),
        "content_date": _day(content_created) or _day(decision.created_at),
        "application_date": _day(decision.created_at),
        "source_type": prov.source_type,
        "automated_detection": "Yes" if prov.automated_detection else "No",
        "automated_decision": ("AUTOMATED_DECISION_FULLY" if decision.decided_by == "automation"
                               else "AUTOMATED_DECISION_NOT_AUTOMATED"),
        "puid": puid_for(decision.id),
    }
    if other:
        stmt["decision_visibility_other"] = "; ".join(other)
    if additions:
        stmt["category_addition"] = additions
    others = [dsa_category(c).keyword_other for c in [hit.category, *decision.categories]
              if dsa_category(c).keyword_other]
    if "KEYWORD_OTHER" in keywords and others:
        stmt["category_specification_other"] = "; ".join(dict.fromkeys(others))[:500]
    if kind == ContentKind.AD.value:
        stmt["account_type"] = "ACCOUNT_TYPE_BUSINESS"  # ads are placed by advertisers
    if language and re.fullmatch(r"[A-Za-z]{2}", language):
        stmt["content_language"] = language.upper()
    if cfg.terms_url:
        stmt["decision_ground_reference_url"] = cfg.terms_url
    return stmt, prov


def restricting_types(decision: Decision) -> set[ActionType]:
    """The restricting actions a decision took for a harm category (OutcomeKind.ENFORCEMENT). A
    review (routing) or an information label (e.g. a link to official voting information)
    restricts nothing, so it gets no statement and no notice."""
    return {a.type for h in decision.reasons if h.category in CATEGORIES
            for a in h.actions if a.restricts}


def is_new_restriction(e: Enforcement) -> bool:
    """Did this decision restrict something that was not restricted that way already?"""
    types = restricting_types(e.decision)
    if not types:
        return False
    if ActionType.REMOVE in types:
        return e.newly_removed
    # Reduce, label and warn take effect unless the item is removed or deleted (they are
    # recomputed from each decision, so an edit that is labelled again gets a new statement).
    return e.content.state not in ("removed", "deleted")


def _store(session: Session, *, tenant: str, decision_id: str, subject_type: str,
           subject_id: str, action: str, category: str, stmt: dict[str, Any],
           notice: dict[str, Any], actor: str, now: datetime) -> StatementRow:
    problems = schema.validate(stmt)
    if problems:
        raise StatementRefused(problems)
    row = StatementRow(puid=stmt["puid"], tenant=tenant, decision_id=decision_id,
                       subject_type=subject_type, subject_id=subject_id, action=action,
                       category=category, schema_version=schema.SCHEMA_VERSION, created_at=now,
                       statement=stmt, notice=notice)
    session.add(row)
    digest = hashlib.sha256(ledger.canonical_json(stmt).encode()).hexdigest()
    ledger.append(session, tenant=tenant, kind="statement_of_reasons", subject=subject_id,
                  actor=actor, payload={"puid": stmt["puid"], "decision_id": decision_id,
                                        "schema_version": schema.SCHEMA_VERSION,
                                        "statement_sha256": digest}, at=now)
    return row


class StatementEnforcer:
    """A built-in enforcer (tidebreak.plugins.builtin): one statement (and its notice) per new restriction,
    in the decision's transaction; a statement the schema refuses rolls the decision back."""

    name = "statements_of_reasons"

    def __init__(self, cfg: AccountabilitySettings | None = None) -> None:
        self.cfg = cfg or AccountabilitySettings.from_env()

    def __call__(self, e: Enforcement) -> None:
        from tidebreak.accountability.notices import build_notice

        if not is_new_restriction(e):
            return
        stmt, prov = statement_for_decision(
            e.session, e.tenant, e.decision, kind=e.content.kind,
            content_created=e.content.created_at, language=e.event.content.language,
            event_type=e.event.type, reporter=e.event.reporter, cfg=self.cfg)
        notice = build_notice(stmt, e.decision, content_id=e.content.id, kind=e.content.kind,
                              detection_source=prov.detection_source, cfg=self.cfg)
        _store(e.session, tenant=e.tenant, decision_id=e.decision.id, subject_type="content",
               subject_id=e.content.id, action=e.decision.action.value,
               category=_main_hit(e.decision).category, stmt=stmt, notice=notice,
               actor=e.decision.decided_by, now=e.now)


# -- account and group restrictions --------------------------------------------------------------

# What each kind of account or group restriction is in the DSA's terms.
RESTRICTION_KINDS: dict[str, dict[str, str]] = {
    "account_suspended": {"decision_account": "DECISION_ACCOUNT_SUSPENDED"},
    "account_terminated": {"decision_account": "DECISION_ACCOUNT_TERMINATED"},
    "features_limited": {"decision_provision": "DECISION_PROVISION_PARTIAL_SUSPENSION"},
    "monetisation_suspended": {"decision_monetary": "DECISION_MONETARY_SUSPENSION"},
    "monetisation_terminated": {"decision_monetary": "DECISION_MONETARY_TERMINATION"},
    "group_reduced": {"decision_visibility": "DECISION_VISIBILITY_CONTENT_DEMOTED"},
    "group_suspended": {"decision_provision": "DECISION_PROVISION_PARTIAL_SUSPENSION"},
    "group_shut_down": {"decision_provision": "DECISION_PROVISION_PARTIAL_TERMINATION"},
    # a content item held back by the virality circuit breaker until a person has looked
    "content_capped": {"decision_visibility": "DECISION_VISIBILITY_CONTENT_DEMOTED"},
}
_END_FIELD = {"decision_account": "end_date_account_restriction",
              "decision_provision": "end_date_service_restriction",
              "decision_monetary": "end_date_monetary_restriction",
              "decision_visibility": "end_date_visibility_restriction"}


@dataclass(frozen=True)
class Restriction:
    """An account or group restriction another part of tidebreak decided (penalties, group
    health), described without personal data."""

    decision_id: str
    subject_type: str  # account | group | content (a restriction outside a decision: the breaker)
    subject_id: str
    kind: str  # a key of RESTRICTION_KINDS
    category: str
    ground: str
    explanation: str
    decided_by: str  # "automation" or "reviewer:<id>"
    facts: str
    until: datetime | None = None
    reports: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


def record_restriction(session: Session, tenant: str, r: Restriction, now: datetime,
                       cfg: AccountabilitySettings | None = None) -> StatementRow:
    """Store the statement (and notice) for an account or group restriction, in the caller's
    transaction. Raises StatementRefused (nothing stored) when it breaks the schema."""
    from tidebreak.accountability.notices import notice_for_restriction

    cfg = cfg or AccountabilitySettings.from_env()
    if r.subject_type not in ("account", "group", "content"):
        raise InvalidDecision(f"subject_type must be account, group or content, got "
                              f"{r.subject_type!r}")
    if r.kind not in RESTRICTION_KINDS:
        raise InvalidDecision(f"unknown restriction {r.kind!r}; known: "
                              f"{', '.join(RESTRICTION_KINDS)}")
    dsa = dsa_category(r.category)
    automated = r.decided_by == "automation"
    stmt: dict[str, Any] = {
        "decision_facts": r.facts[:5000],
        "decision_ground": "DECISION_GROUND_INCOMPATIBLE_CONTENT",
        "incompatible_content_ground": r.ground[:500],
        "incompatible_content_explanation": r.explanation[:2000],
        **({"content_type": ["CONTENT_TYPE_TEXT"]} if r.subject_type == "content" else
           {"content_type": ["CONTENT_TYPE_OTHER"],
            "content_type_other": "Account" if r.subject_type == "account" else "Group"}),
        "category": dsa.category,
        "category_specification": list(dsa.keywords),
        "territorial_scope": list(cfg.territorial_scope),
        "content_date": now.date().isoformat(),
        "application_date": now.date().isoformat(),
        "source_type": "SOURCE_TYPE_OTHER_NOTIFICATION" if r.reports else "SOURCE_VOLUNTARY",
        "automated_detection": "Yes" if automated else "No",
        "automated_decision": ("AUTOMATED_DECISION_FULLY" if automated
                               else "AUTOMATED_DECISION_NOT_AUTOMATED"),
        "puid": puid_for(r.decision_id, r.subject_type),
    }
    if dsa.keyword_other:
        stmt["category_specification_other"] = dsa.keyword_other
    for fld, value in RESTRICTION_KINDS[r.kind].items():
        stmt[fld] = [value] if fld == "decision_visibility" else value
        if r.until is not None:
            stmt[_END_FIELD[fld]] = min(r.until.date(), schema.DATE_MAX).isoformat()
    notice = notice_for_restriction(stmt, r, cfg=cfg, now=now)
    return _store(session, tenant=tenant, decision_id=r.decision_id, subject_type=r.subject_type,
                  subject_id=r.subject_id, action=r.kind, category=r.category, stmt=stmt,
                  notice=notice, actor=r.decided_by, now=now)


def appeal_deadline(applied: date, cfg: AccountabilitySettings) -> date:
    return applied + timedelta(days=cfg.appeal_days)
