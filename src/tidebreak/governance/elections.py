"""Elections and election mode.

An election is a record: jurisdiction, dates (registration deadline, early voting, election day,
certification) and links to the authoritative information. Its window runs from 00:00 UTC of its
earliest date to 00:00 UTC of the day after certification. While the clock is inside the window
(the pipeline's clock, so tests drive it), `election_adjuster` runs in every decision's decide step:

- the policy is re-evaluated with tightened thresholds (the election's `thresholds`, else
  `DEFAULT_TIGHTENING`; a value only ever lowers a threshold, never raises it). The tightened
  hits carry the policy version "<version>+election", so every decision shows which rules decided;
- posts about voting get a label linking to the authoritative information.

The window's edges are recorded: the first decision (or `sync`, run by the dashboard and the CLI)
that sees an election change state appends `election.mode` to the ledger (scheduled -> active ->
ended). After the window the adjuster does nothing: the rules relax on their own.

Content carrying `meta.jurisdiction` is only affected by elections of that jurisdiction (or a
sub-jurisdiction "US-TX" of "US"); content without one is affected by every active election.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.governance.errors import Conflict, GovernanceError, NotFound
from tidebreak.model import Action, ActionType, Content, ContentKind, RuleHit
from tidebreak.policy import Policy, compile_condition
from tidebreak.store.schema import DecisionRow, ElectionRow, ReviewTaskRow
from tidebreak.store.txcache import tx_cache

# The category of the information label (model.INFORMATION_CATEGORIES). Deliberately not
# registered in model.CATEGORIES: it is context, not a harm (no rule may remove for it, no strike,
# statement or group-health count follows from it).
INFO_CATEGORY = "election_information"

# Lower bars for voting-procedure claims while an election is on: more goes to review and ads,
# and fact-check matches are removed from a lower match probability. The claims model's own
# removal bar (voting_remove) is not lowered: it was chosen for precision on its dev split, and a
# lower one removes accurate posts ("the county is hiring poll workers") at the very time they
# matter most.
DEFAULT_TIGHTENING: dict[str, float] = {"voting_review": 0.25, "voting_match_remove": 0.75,
                                        "ad_voting_reject": 0.20}
VERSION_SUFFIX = "+election"
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_JURISDICTION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")
# "About voting": procedure words, not every mention of politics.
ABOUT_VOTING = re.compile(
    r"\b(vot(e|es|ed|ing|ers?)|ballots?|polling (place|station)s?|polls (open|close)|"
    r"election day|register(ed)? to vote|voter registration|mail-in|absentee|early voting|"
    r"precincts?)\b", re.IGNORECASE)
LABELLED_SURFACES = (ContentKind.POST, ContentKind.COMMENT, ContentKind.MESSAGE)
VOTING_CATEGORIES = ("voting_misinformation", INFO_CATEGORY)


def _aware(d: datetime) -> datetime:
    return d if d.tzinfo else d.replace(tzinfo=timezone.utc)


def window(e: ElectionRow) -> tuple[datetime, datetime]:
    first = min(d for d in (e.registration_deadline, e.early_voting_start, e.election_day) if d)
    start = datetime.combine(first, time(0), tzinfo=timezone.utc)
    end = datetime.combine(e.certification_date + timedelta(days=1), time(0), tzinfo=timezone.utc)
    return start, end


def phase(e: ElectionRow, now: datetime) -> str:
    start, end = window(e)
    return "scheduled" if now < start else "active" if now < end else "ended"


def to_dict(e: ElectionRow, now: datetime | None = None) -> dict[str, Any]:
    start, end = window(e)
    d = {"id": e.id, "name": e.name, "jurisdiction": e.jurisdiction,
         "registration_deadline": e.registration_deadline.isoformat() if e.registration_deadline else None,
         "early_voting_start": e.early_voting_start.isoformat() if e.early_voting_start else None,
         "election_day": e.election_day.isoformat(),
         "certification_date": e.certification_date.isoformat(),
         "info_links": list(e.info_links or []), "thresholds": dict(e.thresholds or {}),
         "window": {"start": start.isoformat(), "end": end.isoformat()},
         "recorded_state": e.state}
    if now is not None:
        d["state"] = phase(e, now)
    return d


def _date(v: Any, what: str, required: bool = False) -> date | None:
    if v in (None, ""):
        if required:
            raise GovernanceError(f"{what} is required (YYYY-MM-DD)")
        return None
    if isinstance(v, date) and not isinstance(v, datetime):
        return v
    try:
        return date.fromisoformat(str(v))
    except ValueError:
        raise GovernanceError(f"{what} must be a date YYYY-MM-DD, got {v!r}") from None


def create(engine: Engine, tenant: str, spec: dict[str, Any], *, by: str,
           now: datetime) -> dict[str, Any]:
    """Validate and store an election (ledger `election.create`). `spec` keys: id, name,
    jurisdiction, registration_deadline, early_voting_start, election_day, certification_date,
    info_links (at least one https URL), thresholds (optional overrides)."""
    if not isinstance(spec, dict):
        raise GovernanceError("an election is a JSON object")
    unknown = set(spec) - {"id", "name", "jurisdiction", "registration_deadline",
                           "early_voting_start", "election_day", "certification_date",
                           "info_links", "thresholds"}
    if unknown:
        raise GovernanceError(f"unknown field(s): {', '.join(sorted(unknown))}")
    eid = str(spec.get("id") or "")
    if not _ID.match(eid):
        raise GovernanceError("id: 1-64 of a-z 0-9 . _ - starting with a letter or digit")
    jurisdiction = str(spec.get("jurisdiction") or "")
    if not _JURISDICTION.match(jurisdiction):
        raise GovernanceError("jurisdiction is required (e.g. 'US-TX' or 'Harbor County')")
    reg = _date(spec.get("registration_deadline"), "registration_deadline")
    early = _date(spec.get("early_voting_start"), "early_voting_start")
    day = _date(spec.get("election_day"), "election_day", required=True)
    cert = _date(spec.get("certification_date"), "certification_date", required=True)
    assert day is not None and cert is not None
    for name, d in (("registration_deadline", reg), ("early_voting_start", early)):
        if d is not None and d > day:
            raise GovernanceError(f"{name} must not be after election_day")
    if cert < day:
        raise GovernanceError("certification_date must not be before election_day")
    links = spec.get("info_links")
    if not isinstance(links, list) or not links or not all(
            isinstance(u, str) and u.startswith("https://") and len(u) <= 2048 for u in links):
        raise GovernanceError("info_links must be a non-empty list of https:// URLs to the "
                              "authoritative election information")
    thresholds = spec.get("thresholds") or {}
    if not isinstance(thresholds, dict) or not all(
            isinstance(k, str) and isinstance(v, (int, float)) and not isinstance(v, bool)
            and 0 <= v <= 1 for k, v in thresholds.items()):
        raise GovernanceError("thresholds must map threshold names to numbers in [0, 1]")
    row = ElectionRow(tenant=tenant, id=eid, name=str(spec.get("name") or eid)[:256],
                      jurisdiction=jurisdiction, registration_deadline=reg,
                      early_voting_start=early, election_day=day, certification_date=cert,
                      info_links=links, thresholds={k: float(v) for k, v in thresholds.items()},
                      state="scheduled", created_by=by, created_at=now)
    with Session(engine, expire_on_commit=False) as s, s.begin():
        if s.get(ElectionRow, (tenant, eid)) is not None:
            raise Conflict(f"election {eid!r} already exists")
        s.add(row)
        ledger.append(s, tenant=tenant, kind="election.create", subject=eid, actor=by,
                      payload=to_dict(row), at=now)
    return to_dict(row, now)


def sync_session(s: Session, tenant: str, now: datetime) -> list[ElectionRow]:
    """Record every state change the clock has made (ledger `election.mode`) and return the
    active elections. Runs inside the caller's transaction."""
    memo = tx_cache(s, "elections")  # a batch's events share one read of the elections
    if tenant not in memo:
        memo[tenant] = list(s.execute(select(ElectionRow).where(ElectionRow.tenant == tenant))
                            .scalars())
    rows = memo[tenant]
    active = []
    for e in rows:
        state = phase(e, now)
        if state != e.state:
            # Lock and look again: another worker may have recorded this change already.
            e = s.execute(select(ElectionRow).where(ElectionRow.tenant == tenant,
                                                    ElectionRow.id == e.id)
                          .with_for_update()).scalar_one()
            if state != e.state:
                ledger.append(s, tenant=tenant, kind="election.mode", subject=e.id,
                              actor="automation",
                              payload={"election": e.id, "jurisdiction": e.jurisdiction,
                                       "from": e.state, "to": state,
                                       "thresholds": _overrides(e) if state == "active" else {}},
                              at=now)
                e.state = state
        if state == "active":
            active.append(e)
    return active


def sync(engine: Engine, tenant: str, now: datetime) -> list[dict[str, Any]]:
    with Session(engine, expire_on_commit=False) as s, s.begin():
        sync_session(s, tenant, now)
        rows = list(s.execute(select(ElectionRow).where(ElectionRow.tenant == tenant)
                              .order_by(ElectionRow.election_day)).scalars())
    return [to_dict(e, now) for e in rows]


def _overrides(e: ElectionRow) -> dict[str, float]:
    return dict(e.thresholds) if e.thresholds else dict(DEFAULT_TIGHTENING)


_TIGHTENED: dict[tuple[str, str, str, tuple[tuple[str, float], ...]], Policy] = {}


def tightened(policy: Policy, overrides: dict[str, float]) -> Policy:
    """`policy` with its thresholds lowered to `overrides` (never raised); compiled once."""
    new = dict(policy.thresholds)
    for k, v in overrides.items():
        if k in new:
            new[k] = min(new[k], float(v))
    key = (policy.id, policy.version, policy.digest, tuple(sorted(new.items())))
    cached = _TIGHTENED.get(key)
    if cached is not None:
        return cached
    # Thresholds are folded into the compiled conditions, so the rules are compiled again.
    rules = [dataclasses.replace(r, condition=compile_condition(r.condition.source, thresholds=new))
             for r in policy.rules]
    variant = Policy(id=policy.id, version=policy.version + VERSION_SUFFIX,
                     description=policy.description, mode=policy.mode, digest=policy.digest,
                     rules=rules, thresholds=new, source=policy.source, sections=policy.sections)
    if len(_TIGHTENED) > 64:  # a long-running process sees few policy versions
        _TIGHTENED.clear()
    _TIGHTENED[key] = variant
    return variant


def applies(e: ElectionRow, content: Content) -> bool:
    j = (content.meta or {}).get("jurisdiction")
    if not isinstance(j, str) or not j:
        return True
    return j == e.jurisdiction or j.startswith(e.jurisdiction + "-")


def election_adjuster(a: Any) -> tuple[RuleHit, ...]:
    """Decide step (see the module doc)."""
    active = [e for e in sync_session(a.session, a.tenant, a.now) if applies(e, a.content)]
    if not active:
        return a.hits
    overrides: dict[str, float] = {}
    for e in active:  # two elections at once: the stricter bar wins
        for k, v in _overrides(e).items():
            overrides[k] = min(v, overrides.get(k, v))
    strict = tightened(a.policy.active, overrides)
    hits = list(strict.evaluate(a.signals, a.context).hits)
    removed = any(x.type == ActionType.REMOVE for h in hits for x in h.actions)
    if (not removed and a.context.surface in LABELLED_SURFACES
            and ABOUT_VOTING.search(a.content.text or "")):
        e = active[0]
        label = f"Official voting information for {e.name}: {e.info_links[0]}"
        hits.append(RuleHit(
            rule_id=f"election:{e.id}:info", category=INFO_CATEGORY,
            actions=(Action(ActionType.LABEL, label=label, info=True),),
            ground=f"Election integrity: authoritative information during {e.name} "
                   f"({e.jurisdiction})",
            notice="We added a link to official information about voting in this election.",
            severity="low", policy_version=strict.version))
    return tuple(hits)


def get(engine: Engine, tenant: str, election_id: str) -> ElectionRow:
    with Session(engine) as s:
        e = s.get(ElectionRow, (tenant, election_id))
    if e is None:
        raise NotFound(f"no election {election_id!r}")
    return e


def _is_voting(d: DecisionRow) -> bool:
    return any(c in VOTING_CATEGORIES for c in (d.categories or [])) or any(
        r.startswith(("voting-", "ad-voting", "election:")) for r in (d.rules or []))


def dashboard(engine: Engine, tenant: str, election_id: str, now: datetime) -> dict[str, Any]:
    """Live view of one election: voting-related decisions (last hour, last 24 hours, since the
    window opened, by action and rule), open review tasks on voting-related items with their ages,
    and the fact-checks most matched by voting-related decisions."""
    sync(engine, tenant, now)
    e = get(engine, tenant, election_id)
    start, end = window(e)
    since = min(start, now - timedelta(hours=24))
    with Session(engine) as s:
        rows = [d for d in s.execute(select(DecisionRow).where(
            DecisionRow.tenant == tenant, DecisionRow.created_at >= since,
            DecisionRow.created_at <= now)).scalars() if _is_voting(d)]
        voting_items = {d.content_id for d in rows}
        tasks = list(s.execute(select(ReviewTaskRow).where(
            ReviewTaskRow.tenant == tenant, ReviewTaskRow.status.in_(("open", "claimed")))).scalars())
    in_window = [d for d in rows if start <= _aware(d.created_at) < end]
    by_action = Counter(d.action for d in in_window)
    by_rule = Counter(r for d in in_window for r in (d.rules or []))
    claims: Counter[str] = Counter()
    claim_info: dict[str, dict[str, Any]] = {}
    for d in in_window:
        seen = set()
        for sig in (d.payload or {}).get("signals", []):
            ev = sig.get("evidence") or {}
            cid = ev.get("claim_id")
            if cid and cid not in seen:
                seen.add(cid)
                claims[cid] += 1
                claim_info.setdefault(cid, {k: ev.get(k) for k in
                                            ("rating", "fact_check_url", "publisher")})
    queues: dict[str, list[float]] = {}
    for t in tasks:
        if t.content_id in voting_items:
            queues.setdefault(t.queue, []).append((now - _aware(t.created_at)).total_seconds())
    return {
        "election": to_dict(e, now),
        "as_of": now.isoformat(),
        "volume": {
            "last_hour": sum(1 for d in rows if _aware(d.created_at) >= now - timedelta(hours=1)),
            "last_24h": sum(1 for d in rows if _aware(d.created_at) >= now - timedelta(hours=24)),
            "in_window": len(in_window),
            "by_action": dict(by_action.most_common()),
            "by_rule": dict(by_rule.most_common(10)),
        },
        "queues": {q: {"open": len(ages), "oldest_s": round(max(ages)),
                       "median_s": round(sorted(ages)[len(ages) // 2])}
                   for q, ages in sorted(queues.items())},
        "top_factchecks": [{"claim_id": c, "decisions": n, **claim_info[c]}
                           for c, n in claims.most_common(10)],
    }


DEMO_ELECTION_ID = "harbor-county-2026"


def ensure_demo_election(engine: Engine, tenant: str, now: datetime) -> str:
    """`make demo`: a county election whose window contains today (created once)."""
    with Session(engine) as s:
        if s.get(ElectionRow, (tenant, DEMO_ELECTION_ID)) is not None:
            return DEMO_ELECTION_ID
    today = now.date()
    create(engine, tenant, {
        "id": DEMO_ELECTION_ID, "name": "Harbor County general election",
        "jurisdiction": "Harbor County",
        "registration_deadline": (today - timedelta(days=10)).isoformat(),
        "early_voting_start": (today - timedelta(days=3)).isoformat(),
        "election_day": (today + timedelta(days=4)).isoformat(),
        "certification_date": (today + timedelta(days=18)).isoformat(),
        "info_links": ["https://www.harborcounty.example/elections"],
    }, by="demo-seed", now=now)
    return DEMO_ELECTION_ID
