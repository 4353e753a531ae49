"""The sweep: find coordinated groups in the co-actions recorded from live traffic, and turn
each network into exactly one review case.

For every group found (default parameters, every pace) the sweep looks for a case of the same
network among the tenant's cases: the same network is one whose accounts overlap the group's
by at least half of the smaller of the two (networks gain and lose members between sweeps,
and a re-detection must not become a second case). Then:
- no such case: a new case is opened (review task, ledger entry);
- an open case: it is updated (accounts, score, evidence; its task refreshed, not duplicated),
  but only when something changed, so sweeping the same traffic twice writes nothing;
- a case a reviewer already confirmed or dismissed: left as decided.
Nothing here acts on an account or a group: that happens only through a reviewer's decision
(`review.decision_inputs`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from tidebreak.coordination.detect import DetectedGroup, DetectionParams, detect
from tidebreak.coordination.live import count_coactions, load_coactions
from tidebreak.coordination.review import upsert_case
from tidebreak.store.schema import CoordinationCaseRow

SAME_NETWORK_OVERLAP = 0.5
# Above this many stored co-actions the sweep detects out of core (DuckDB) instead of in memory.
OUT_OF_CORE_EVENTS = 2_000_000
_SINCE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNIT = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_since(text: str) -> float:
    """'24h', '90m', '7d', '3600' (seconds) -> seconds. ValueError with a one-line reason."""
    m = _SINCE_RE.match(text or "")
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"--since must be a positive duration like 24h, 90m, 7d or 3600, "
                         f"got {text[:40]!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


@dataclass
class SweepReport:
    events: int = 0
    engine: str = "memory"
    groups: int = 0
    opened: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    already_decided: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"events": self.events, "engine": self.engine, "groups": self.groups,
                "opened": self.opened, "updated": self.updated, "unchanged": self.unchanged,
                "already_decided": self.already_decided}


def same_network(a: set[str], b: set[str]) -> bool:
    return bool(a and b) and len(a & b) >= SAME_NETWORK_OVERLAP * min(len(a), len(b))


def sweep(engine: Engine, *, tenant: str, now: datetime, since_s: float = 86400.0,
          params: DetectionParams = DetectionParams(), out_of_core: bool | None = None,
          actor: str = "coordination-sweep") -> SweepReport:
    """Detect over the tenant's co-actions of the last `since_s` seconds and open or update
    cases in one transaction. `out_of_core`: None picks by size (OUT_OF_CORE_EVENTS)."""
    since_ts = now.timestamp() - since_s
    report = SweepReport()
    with Session(engine) as s:
        n = count_coactions(s, tenant, since_ts)
        report.events = n
        use_duckdb = n > OUT_OF_CORE_EVENTS if out_of_core is None else out_of_core
        if use_duckdb:
            from tidebreak.coordination.outofcore import detect_stored

            report.engine = "duckdb"
            groups = detect_stored(s, tenant, since_ts, params)
        else:
            groups = detect(load_coactions(s, tenant, since_ts), params).groups if n else []
    report.groups = len(groups)
    if not groups:
        return report
    with Session(engine) as s, s.begin():
        cases = list(s.execute(select(CoordinationCaseRow).where(
            CoordinationCaseRow.tenant == tenant)).scalars())
        for g in groups:
            _apply(s, g, cases, tenant, now, actor, report)
    return report


def _apply(s: Session, g: DetectedGroup, cases: list[CoordinationCaseRow], tenant: str,
           now: datetime, actor: str, report: SweepReport) -> None:
    members = set(g.accounts)
    match = next((c for c in cases if c.id == g.group_id), None) or max(
        (c for c in cases if same_network(members, set(c.accounts or []))),
        key=lambda c: len(members & set(c.accounts or [])), default=None)
    if match is None:
        cases.append(upsert_case(s, g, tenant=tenant, now=now, actor=actor))
        report.opened.append(g.group_id)
    elif match.status != "open":
        report.already_decided.append(match.id)
    elif set(match.accounts or []) == members and abs(match.score - g.score) < 1e-9:
        report.unchanged.append(match.id)
    else:
        upsert_case(s, g, tenant=tenant, now=now, case=match, actor=actor)
        report.updated.append(match.id)


_LOCK_KEY = 0x7C00_0D1E  # pg_advisory_lock key of the coordination sweep


def sweep_once(engine: Engine, tenant: str, since_s: float) -> SweepReport | None:
    """The scheduled sweep of one worker: None when another process holds the sweep lock
    (PostgreSQL advisory lock; SQLite deployments run one worker and need none)."""
    from datetime import timezone

    if engine.dialect.name != "postgresql":
        return sweep(engine, tenant=tenant, now=datetime.now(timezone.utc), since_s=since_s)
    from sqlalchemy import text

    with engine.connect() as conn:
        if not conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": _LOCK_KEY}).scalar():
            return None
        try:
            return sweep(engine, tenant=tenant, now=datetime.now(timezone.utc), since_s=since_s)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK_KEY})
            conn.commit()
