"""Auditor API (read-only) and the platform's accountability endpoints.

- GET /v1/audit/decisions/sample: a seeded random sample of decisions with their evidence
  (signals with scores and evidence, rules, model and policy versions, ledger entry, statement)
- GET /v1/statements/{puid}, GET /v1/statements?content_id=: statements of reasons
- GET /v1/statements/notices/{content_id}: the stored DSA notices of an item (to deliver)
- GET /v1/reports/transparency?from=&to=, GET /v1/reports/advertiser/{advertiser}
- GET /v1/ledger/anchor: the verified chain head with a timestamp
- POST /v1/ads/impressions: the platform records ad impressions (adjacency ledger)

Every route names a permission (auth.roles); auditors hold only read permissions.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tidebreak.api.params import Requires
from tidebreak.auth import Principal
from tidebreak.clock import parse_time
from tidebreak.config import Settings
from tidebreak.store.schema import DecisionRow, LedgerEntryRow, StatementRow

MAX_SAMPLE = 200
MAX_IMPRESSIONS = 10_000


def _when(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    return parse_time(raw, name)  # a refusal maps to 400 (tidebreak.errors)


def _statement_body(row: StatementRow) -> dict[str, Any]:
    return {"puid": row.puid, "decision_id": row.decision_id,
            "subject": {"type": row.subject_type, "id": row.subject_id},
            "schema_version": row.schema_version, "created_at": row.created_at.isoformat(),
            "statement": row.statement, "notice": row.notice}


def accountability_router(engine: Engine, settings: Settings,
                          principal: Requires,
                          read_json: Callable[[Request], Any]) -> APIRouter:
    from tidebreak.api.app import ApiError

    router = APIRouter()

    @router.get("/v1/audit/decisions/sample", tags=["audit"],
                summary="A reproducible random sample of decisions with their evidence")
    def sample_decisions(n: int = Query(20, ge=1, le=MAX_SAMPLE), seed: int = 0,
                         start: str | None = Query(None, alias="from"),
                         end: str | None = Query(None, alias="to"),
                         action: str | None = None,
                         who: Principal = Depends(principal("audit:sample"))) -> dict[str, Any]:
        t0, t1 = _when(start, "from"), _when(end, "to")
        with Session(engine) as s:
            q = select(DecisionRow.id).where(DecisionRow.tenant == who.tenant)
            if t0 is not None:
                q = q.where(DecisionRow.created_at >= t0)
            if t1 is not None:
                q = q.where(DecisionRow.created_at < t1)
            if action is not None:
                q = q.where(DecisionRow.action == action)
            ids = sorted(s.execute(q).scalars())  # sorted: the same seed gives the same sample
            picked = sorted(random.Random(seed).sample(ids, min(n, len(ids))))
            rows = {r.id: r for r in s.execute(
                select(DecisionRow).where(DecisionRow.id.in_(picked))).scalars()} if picked else {}
            stmts: dict[str, list[str]] = {}
            for puid, did in s.execute(select(StatementRow.puid, StatementRow.decision_id)
                                       .where(StatementRow.decision_id.in_(picked))):
                stmts.setdefault(did, []).append(puid)
            out = []
            for did in picked:
                r = rows[did]
                entry = s.execute(
                    select(LedgerEntryRow.seq, LedgerEntryRow.hash)
                    .where(LedgerEntryRow.tenant == who.tenant, LedgerEntryRow.kind == "decision",
                           LedgerEntryRow.subject == r.content_id,
                           LedgerEntryRow.payload.contains(did))).first()
                out.append({**r.payload,
                            "ledger": {"seq": entry[0], "hash": entry[1]} if entry else None,
                            "statements_of_reasons": sorted(stmts.get(did, []))})
        return {"seed": seed, "population": len(ids), "n": len(out), "decisions": out}

    @router.get("/v1/statements/{puid}", tags=["audit"], summary="One statement of reasons")
    def get_statement(puid: str, who: Principal = Depends(principal("sor:read"))) -> dict[str, Any]:
        with Session(engine) as s:
            row = s.get(StatementRow, puid)
        if row is None or row.tenant != who.tenant:
            raise ApiError(404, f"no statement {puid!r}")
        return _statement_body(row)

    @router.get("/v1/statements", tags=["audit"], summary="Statements of reasons, newest first")
    def list_statements(content_id: str | None = None, limit: int = Query(100, ge=1, le=1000),
                        who: Principal = Depends(principal("sor:read"))) -> dict[str, Any]:
        with Session(engine) as s:
            q = select(StatementRow).where(StatementRow.tenant == who.tenant)
            if content_id is not None:
                q = q.where(StatementRow.subject_id == content_id)
            rows = s.execute(q.order_by(StatementRow.created_at.desc(), StatementRow.puid)
                             .limit(limit)).scalars().all()
            total = s.execute(select(func.count()).select_from(StatementRow)
                              .where(StatementRow.tenant == who.tenant)).scalar_one()
        return {"total": total, "statements": [_statement_body(r) for r in rows]}

    @router.get("/v1/statements/notices/{content_id}", tags=["notices"],
                summary="The user notices for a content item, oldest first")
    def get_notices(content_id: str,
                    who: Principal = Depends(principal("notices:read"))) -> dict[str, Any]:
        from tidebreak.accountability.notices import render_notice

        with Session(engine) as s:
            rows = s.execute(select(StatementRow).where(
                StatementRow.tenant == who.tenant, StatementRow.subject_id == content_id)
                .order_by(StatementRow.created_at, StatementRow.puid)).scalars().all()
        if not rows:
            raise ApiError(404, f"no notice for {content_id!r}")
        return {"content_id": content_id,
                "notices": [{**r.notice, "text": render_notice(r.notice)} for r in rows]}

    @router.get("/v1/reports/transparency", tags=["reports"], summary="Transparency report")
    def transparency(start: str = Query(..., alias="from"), end: str = Query(..., alias="to"),
                     seed: int = 0, sample_size: int = Query(1000, ge=0, le=1_000_000),
                     who: Principal = Depends(principal("reports:read"))) -> dict[str, Any]:
        from tidebreak.accountability.transparency import build_report

        t0, t1 = _when(start, "from"), _when(end, "to")
        assert t0 is not None and t1 is not None
        if t1 <= t0:
            raise ApiError(400, "'to' must be after 'from'")
        with Session(engine) as s:
            return build_report(s, who.tenant, t0, t1, seed=seed, sample_size=sample_size)

    @router.get("/v1/reports/advertiser/{advertiser}", tags=["reports"],
                summary="Make-good and brand-safety report for one advertiser")
    def advertiser(advertiser: str, start: str | None = Query(None, alias="from"),
                   end: str | None = Query(None, alias="to"),
                   who: Principal = Depends(principal("reports:read"))) -> dict[str, Any]:
        from tidebreak.accountability.adjacency import advertiser_report

        with Session(engine) as s:
            return advertiser_report(s, who.tenant, advertiser, start=_when(start, "from"),
                                     end=_when(end, "to"))

    @router.get("/v1/ledger/anchor", tags=["audit"],
                summary="The verified ledger head with a timestamp, for a third party to hold")
    def ledger_anchor(who: Principal = Depends(principal("ledger:read"))) -> dict[str, Any]:
        from tidebreak import ledger

        with Session(engine) as s:
            try:
                return ledger.anchor(s, datetime.now(timezone.utc))
            except ValueError as e:
                raise ApiError(409, str(e)) from None

    @router.post("/v1/ads/impressions", tags=["ads"], status_code=201,
                 summary="Record ad impressions served next to content (all or nothing)")
    async def post_impressions(request: Request,
                               who: Principal = Depends(principal("ads:write"))) -> dict[str, Any]:
        from tidebreak.accountability.adjacency import ImpressionError, ingest, parse_impression

        body = await read_json(request)
        items = body.get("impressions") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise ApiError(400, "expected {\"impressions\": [...]} with at least one impression")
        if len(items) > MAX_IMPRESSIONS:
            raise ApiError(413, f"at most {MAX_IMPRESSIONS} impressions per request")
        try:
            imps = [parse_impression(x) for x in items]
        except ImpressionError as e:
            raise ApiError(400, str(e)) from None
        try:
            with Session(engine) as s, s.begin():
                added, dupes = ingest(s, who.tenant, imps, actor=f"key:{who.key_id}",
                                      now=datetime.now(timezone.utc))
        except ImpressionError as e:
            raise ApiError(409, str(e)) from None
        return {"recorded": added, "already_recorded": dupes}

    del settings  # kept in the signature for routers that need limits later
    return router
