"""Policy change workflow: draft -> review -> approvals -> publish.

A new policy version is stored as text and is a draft until a policy admin and a civil-rights
reviewer (two different people, neither of them its author) approve it. Its review shows the diff
against the live version, a backtest of both on labelled data (the stored signals of labelled
items, so the real detectors' scores are replayed without re-running the models), the draft's
shadow results on recent traffic (drafts run in shadow beside the live policy, recorded in
shadow_decisions) and a disparate-impact check that flags a change widening a gap between
groups by more than `impact.GAP_BOUND`. Publishing without the approvals fails; with them the
version goes live (`live_policy` is what `runtime.load_policies` prefers over the policy file),
the one before becomes "superseded", and the ledger entry `policy.publish` names who approved.
No version is ever deleted.
"""

from __future__ import annotations

import difflib
import hashlib
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.auth.roles import allowed
from tidebreak.governance import impact
from tidebreak.governance.errors import Conflict, Forbidden, GovernanceError, NotFound
from tidebreak.model import ContentKind, Context, Signal, strongest, violation_categories
from tidebreak.policy import (
    Policy,
    PolicyFileError,
    default_policy_path,
    load_policy,
    parse_policy,
)
from tidebreak.store.schema import (
    ContentRow,
    DecisionRow,
    PolicyApprovalRow,
    PolicyVersionRow,
    ShadowDecisionRow,
)

REQUIRED_ROLES = ("policy_admin", "civil_rights_reviewer")
SHADOW_DRAFTS = 3  # drafts run in shadow beside the live policy, newest first
MAX_SOURCE = 512 * 1024

_PARSED: dict[tuple[str, str], Policy] = {}


def _parse(text: str, name: str) -> Policy:
    digest = hashlib.sha256(text.encode()).hexdigest()
    p = _PARSED.get((name, digest))
    if p is None:
        p = parse_policy(text, name)
        p.digest = digest
        if len(_PARSED) > 32:
            _PARSED.clear()
        _PARSED[(name, digest)] = p
    return p


def to_dict(v: PolicyVersionRow, approvals: list[PolicyApprovalRow] | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "policy": v.policy_id, "version": v.version, "status": v.status, "digest": v.digest,
        "base_version": v.base_version, "note": v.note, "created_by": v.created_by,
        "created_at": v.created_at.isoformat(), "published_by": v.published_by,
        "published_at": v.published_at.isoformat() if v.published_at else None}
    if approvals is not None:
        d["approvals"] = [{"approver": a.approver, "role": a.role, "note": a.note,
                           "at": a.created_at.isoformat()} for a in approvals]
        d["missing_roles"] = [r for r in REQUIRED_ROLES if r not in {a.role for a in approvals}]
    return d


# -- what is live ---------------------------------------------------------------------------


def live_policy(engine: Engine, tenant: str) -> Policy | None:
    """The published version for the tenant, or None (then the policy file is live). A store
    without the governance tables (not migrated) also answers None."""
    try:
        with Session(engine) as s:
            row = s.execute(select(PolicyVersionRow).where(
                PolicyVersionRow.tenant == tenant, PolicyVersionRow.status == "published")
                .order_by(PolicyVersionRow.published_at.desc())).scalars().first()
    except SQLAlchemyError:
        return None
    return _parse(row.source, f"policy_versions:{row.policy_id}@{row.version}") if row else None


def draft_policies(engine: Engine, tenant: str) -> list[Policy]:
    """Drafts to run in shadow beside the live policy, so their review shows recent traffic."""
    try:
        with Session(engine) as s:
            rows = list(s.execute(select(PolicyVersionRow).where(
                PolicyVersionRow.tenant == tenant, PolicyVersionRow.status == "draft")
                .order_by(PolicyVersionRow.created_at.desc()).limit(SHADOW_DRAFTS)).scalars())
    except SQLAlchemyError:
        return []
    return [_parse(r.source, f"policy_versions:{r.policy_id}@{r.version}") for r in rows]


def _live_source(s: Session, tenant: str) -> tuple[Policy, str]:
    row = s.execute(select(PolicyVersionRow).where(
        PolicyVersionRow.tenant == tenant, PolicyVersionRow.status == "published")
        .order_by(PolicyVersionRow.published_at.desc())).scalars().first()
    if row is not None:
        return _parse(row.source, f"{row.policy_id}@{row.version}"), row.source
    path = default_policy_path()
    return load_policy(path), Path(path).read_text(encoding="utf-8")


# -- the workflow ---------------------------------------------------------------------------


def _need(role: str | None, permission: str) -> None:
    if role is None or not allowed(role, permission):
        raise Forbidden(f"role {role or 'none'!r} may not {permission.replace(':', ' ')}")


def create_draft(engine: Engine, tenant: str, source: str, *, by: str, role: str | None,
                 now: datetime, note: str = "") -> dict[str, Any]:
    _need(role, "policy:draft")
    if len(source.encode()) > MAX_SOURCE:
        raise GovernanceError(f"policy text over {MAX_SOURCE} bytes")
    try:
        policy = parse_policy(source, "<draft>")
    except PolicyFileError as e:
        first = e.errors[0]
        raise GovernanceError(f"{len(e.errors)} error(s) in the draft; first: line {first.line}: "
                              f"{first.message}") from None
    if policy.shadow:
        raise GovernanceError("a draft must be mode: enforce (it runs in shadow until published)")
    with Session(engine, expire_on_commit=False) as s, s.begin():
        if s.get(PolicyVersionRow, (tenant, policy.id, policy.version)) is not None:
            raise Conflict(f"policy {policy.id} version {policy.version} exists: versions are "
                           "never overwritten, give the draft a new version")
        live, _ = _live_source(s, tenant)
        if live.id == policy.id and live.version == policy.version:
            raise Conflict(f"version {policy.version} is the live version")
        row = PolicyVersionRow(tenant=tenant, policy_id=policy.id, version=policy.version,
                               source=source, digest=hashlib.sha256(source.encode()).hexdigest(),
                               status="draft", base_version=live.version, note=note,
                               created_by=by, created_at=now)
        s.add(row)
        ledger.append(s, tenant=tenant, kind="policy.draft", subject=f"{policy.id}@{policy.version}",
                      actor=by, payload={"policy": policy.id, "version": policy.version,
                                         "digest": row.digest, "base_version": live.version,
                                         "note": note}, at=now)
    return to_dict(row, [])


def _version(s: Session, tenant: str, policy_id: str, version: str) -> PolicyVersionRow:
    row = s.get(PolicyVersionRow, (tenant, policy_id, version))
    if row is None:
        raise NotFound(f"no policy version {policy_id}@{version}")
    return row


def _approvals(s: Session, tenant: str, policy_id: str, version: str) -> list[PolicyApprovalRow]:
    return list(s.execute(select(PolicyApprovalRow).where(
        PolicyApprovalRow.tenant == tenant, PolicyApprovalRow.policy_id == policy_id,
        PolicyApprovalRow.version == version).order_by(PolicyApprovalRow.id)).scalars())


def approve(engine: Engine, tenant: str, policy_id: str, version: str, *, by: str,
            role: str | None, now: datetime, note: str = "") -> dict[str, Any]:
    _need(role, "policy:approve")
    try:
        with Session(engine, expire_on_commit=False) as s, s.begin():
            row = _version(s, tenant, policy_id, version)
            if row.status != "draft":
                raise Conflict(f"{policy_id}@{version} is {row.status}, not a draft")
            if by == row.created_by:
                raise Forbidden("the author of a draft may not approve it")
            if any(a.approver == by for a in _approvals(s, tenant, policy_id, version)):
                raise Conflict(f"{by} has already approved {policy_id}@{version}")
            s.add(PolicyApprovalRow(tenant=tenant, policy_id=policy_id, version=version,
                                    approver=by, role=str(role), note=note, created_at=now))
            ledger.append(s, tenant=tenant, kind="policy.approve", subject=f"{policy_id}@{version}",
                          actor=by, payload={"policy": policy_id, "version": version,
                                             "role": role, "note": note}, at=now)
            s.flush()
            approvals = _approvals(s, tenant, policy_id, version)
    except IntegrityError:
        raise Conflict(f"{by} has already approved {policy_id}@{version}") from None
    return to_dict(row, approvals)


def publish(engine: Engine, tenant: str, policy_id: str, version: str, *, by: str,
            role: str | None, now: datetime) -> dict[str, Any]:
    _need(role, "policy:publish")
    with Session(engine, expire_on_commit=False) as s, s.begin():
        row = _version(s, tenant, policy_id, version)
        if row.status != "draft":
            raise Conflict(f"{policy_id}@{version} is {row.status}, not a draft")
        approvals = _approvals(s, tenant, policy_id, version)
        missing = [r for r in REQUIRED_ROLES if r not in {a.role for a in approvals}]
        if missing:
            raise Forbidden(f"cannot publish {policy_id}@{version}: missing approval by "
                            + " and ".join(missing))
        for old in s.execute(select(PolicyVersionRow).where(
                PolicyVersionRow.tenant == tenant,
                PolicyVersionRow.status == "published")).scalars():
            old.status = "superseded"
        row.status, row.published_by, row.published_at = "published", by, now
        ledger.append(s, tenant=tenant, kind="policy.publish", subject=f"{policy_id}@{version}",
                      actor=by, payload={
                          "policy": policy_id, "version": version, "digest": row.digest,
                          "base_version": row.base_version,
                          "approved_by": [{"approver": a.approver, "role": a.role,
                                           "at": a.created_at.isoformat()} for a in approvals]},
                      at=now)
    return to_dict(row, approvals)


def list_versions(engine: Engine, tenant: str) -> list[dict[str, Any]]:
    with Session(engine) as s:
        rows = list(s.execute(select(PolicyVersionRow).where(PolicyVersionRow.tenant == tenant)
                              .order_by(PolicyVersionRow.created_at)).scalars())
        return [to_dict(r, _approvals(s, tenant, r.policy_id, r.version)) for r in rows]


def show(engine: Engine, tenant: str, policy_id: str, version: str) -> dict[str, Any]:
    with Session(engine) as s:
        row = _version(s, tenant, policy_id, version)
        return {**to_dict(row, _approvals(s, tenant, policy_id, version)), "source": row.source}


# -- review: diff, backtest, shadow, impact ----------------------------------------------------


def diff(old: Policy, old_text: str, new: Policy, new_text: str) -> dict[str, Any]:
    old_rules = {r.id: r for r in old.rules}
    new_rules = {r.id: r for r in new.rules}

    def sig(r: Any) -> dict[str, Any]:
        return {"when": r.condition.source.strip(), "category": r.category,
                "severity": r.severity, "ground": r.ground, "shadow": r.shadow, "stop": r.stop,
                "actions": [a.action.to_dict() for a in r.actions]}

    changed = {}
    for rid in old_rules.keys() & new_rules.keys():
        a, b = sig(old_rules[rid]), sig(new_rules[rid])
        if a != b:
            changed[rid] = {k: {"from": a[k], "to": b[k]} for k in a if a[k] != b[k]}
    thresholds = {k: {"from": old.thresholds.get(k), "to": new.thresholds.get(k)}
                  for k in sorted(old.thresholds.keys() | new.thresholds.keys())
                  if old.thresholds.get(k) != new.thresholds.get(k)}
    return {"from": old.version, "to": new.version,
            "rules_added": sorted(new_rules.keys() - old_rules.keys()),
            "rules_removed": sorted(old_rules.keys() - new_rules.keys()),
            "rules_changed": dict(sorted(changed.items())), "thresholds": thresholds,
            "unified": "".join(difflib.unified_diff(
                old_text.splitlines(keepends=True), new_text.splitlines(keepends=True),
                fromfile=f"{old.id}@{old.version}", tofile=f"{new.id}@{new.version}"))}


def labelled_samples(s: Session, tenant: str, labels: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Labelled items in the store with the signals of their latest automated decision."""
    ids = list(labels)
    latest: dict[str, DecisionRow] = {}
    metas: dict[str, tuple[str, dict[str, Any]]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for d in s.execute(select(DecisionRow).where(
                DecisionRow.tenant == tenant, DecisionRow.decided_by == "automation",
                DecisionRow.content_id.in_(chunk)).order_by(DecisionRow.created_at)).scalars():
            latest[d.content_id] = d
        for c in s.execute(select(ContentRow.id, ContentRow.kind, ContentRow.meta).where(
                ContentRow.tenant == tenant, ContentRow.id.in_(chunk))).all():
            metas[c.id] = (c.kind, c.meta or {})
    out = []
    for cid, d in latest.items():
        kind, meta = metas.get(cid, ("post", {}))
        raw = (d.payload or {}).get("signals", [])
        out.append({"id": cid, "kind": kind, "expected": set(labels[cid]["expected"]),
                    "signals": [Signal(x["detector"], x["category"], float(x["score"]),
                                       x.get("evidence") or {}, x.get("detector_version", ""))
                                for x in raw],
                    "target_group": impact.group_of(meta, raw, labels[cid]),
                    "language": impact.language_of(meta, labels[cid])})
    return out


def backtest(policy: Policy, samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Replay `policy` over labelled samples. Context is the item's surface only (strike
    history and velocity are those of today, not of then, so they are left out)."""
    per_cat: dict[str, Counter[str]] = {}
    actions: dict[str, tuple[str, tuple[str, ...]]] = {}
    benign = fp = violating = caught = 0
    for x in samples:
        try:
            surface = ContentKind(x["kind"])
        except ValueError:
            surface = ContentKind.POST
        hits = policy.evaluate(x["signals"], Context(surface=surface)).hits
        acts = [a for h in hits for a in h.actions if a.type.value != "none"]
        cats = violation_categories(hits)
        action = strongest(acts).value
        actions[x["id"]] = (action, cats)
        enforced = impact.is_enforcement(action, cats)
        if not x["expected"]:
            benign += 1
            fp += enforced
        else:
            violating += 1
            caught += action != "none"
        for c in set(cats) | x["expected"]:
            cnt = per_cat.setdefault(c, Counter())
            cnt["tp" if c in cats and c in x["expected"] else
                "fp" if c in cats else "fn"] += 1
    return {
        "policy": f"{policy.id}@{policy.version}", "items": len(samples),
        "benign": benign, "false_positives": fp,
        "false_positive_rate": round(fp / benign, 6) if benign else None,
        "violating": violating, "actioned_violating": caught,
        "recall": round(caught / violating, 6) if violating else None,
        "by_category": {c: {**dict(n), "precision": round(n["tp"] / (n["tp"] + n["fp"]), 6)
                            if n["tp"] + n["fp"] else None,
                            "recall": round(n["tp"] / (n["tp"] + n["fn"]), 6)
                            if n["tp"] + n["fn"] else None}
                        for c, n in sorted(per_cat.items())},
        "_actions": actions,
    }


def _impact(samples: list[dict[str, Any]], bt: dict[str, Any], min_n: int) -> dict[str, Any]:
    return impact.compute([impact.ItemFacts(
        x["id"], x["target_group"], x["language"],
        impact.is_enforcement(*bt["_actions"][x["id"]]), benign=not x["expected"])
        for x in samples], min_n=min_n)


def shadow_results(s: Session, tenant: str, version: str, now: datetime,
                   days: int = 7) -> dict[str, Any]:
    rows = list(s.execute(select(ShadowDecisionRow.rule_id, ShadowDecisionRow.action,
                                 ShadowDecisionRow.content_id).where(
        ShadowDecisionRow.tenant == tenant, ShadowDecisionRow.policy_version == version,
        ShadowDecisionRow.created_at >= now - timedelta(days=days))).all())
    return {"days": days, "hits": len(rows), "items": len({r.content_id for r in rows}),
            "by_rule": dict(Counter(r.rule_id for r in rows).most_common()),
            "by_action": dict(Counter(r.action for r in rows).most_common())}


def review(engine: Engine, tenant: str, policy_id: str, version: str, *, now: datetime,
           labels_path: str | Path | None = None, min_n: int = impact.MIN_N,
           bound: float = impact.GAP_BOUND) -> dict[str, Any]:
    """Everything a reviewer needs before approving: diff, backtest, shadow, impact flags."""
    labels = impact.load_labels(labels_path) if labels_path else {}
    with Session(engine) as s:
        row = _version(s, tenant, policy_id, version)
        draft = _parse(row.source, f"{policy_id}@{version}")
        live, live_text = _live_source(s, tenant)
        approvals = _approvals(s, tenant, policy_id, version)
        samples = labelled_samples(s, tenant, labels) if labels else []
        shadow = shadow_results(s, tenant, version, now)
        out: dict[str, Any] = {**to_dict(row, approvals),
                               "diff": diff(live, live_text, draft, row.source),
                               "shadow": shadow}
    if samples:
        before, after = backtest(live, samples), backtest(draft, samples)
        changed = [{"id": cid, "live": before["_actions"][cid][0], "draft": a[0]}
                   for cid, a in after["_actions"].items() if a[0] != before["_actions"][cid][0]]
        imp_b, imp_a = _impact(samples, before, min_n), _impact(samples, after, min_n)
        flags = impact.compare(imp_b, imp_a, bound=bound)
        for bt in (before, after):
            bt.pop("_actions")
        out["backtest"] = {"live": before, "draft": after, "changed": changed[:50],
                           "changed_total": len(changed)}
        out["impact"] = {"bound": bound, "live": {d: imp_b[d]["gaps"] for d in impact.DIMENSIONS},
                         "draft": {d: imp_a[d]["gaps"] for d in impact.DIMENSIONS},
                         "flags": flags}
    else:
        out["backtest"] = {"available": False,
                           "reason": "no labelled items with stored decisions (pass --labels)"}
        out["impact"] = {"bound": bound, "flags": [], "available": False}
    out["flagged"] = bool(out["impact"]["flags"])
    return out
