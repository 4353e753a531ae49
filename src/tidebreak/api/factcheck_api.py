"""HTTP routes of the fact-check store: import fact-checks, match texts against them.

    POST /v1/factchecks        {"factchecks": [ClaimReview JSON-LD or flat records, ...]}
                               (or one ClaimReview object, or a bare list)  -> 201 import summary
    POST /v1/factchecks/match  {"queries": [{"id", "text", "urls"?, "created_at"?}, ...],
                                "k"?: 1..20}  (or {"text", "urls"?, "created_at"?})
                               -> {"results": [{"id", "matches"}]}

`created_at`: when the post was made, an ISO 8601 date or datetime ("2019-06-04",
"2019-06-04T10:00:00Z"); the matcher compares it with the years and months a claim names.

Import is all or nothing (`tidebreak.factcheck.store`): one bad record is a 400 naming it and
nothing is stored. Matching uses the tenant's factcheck detector (its pipeline's, so the index
and its store sync are shared): the tenant's imported fact-checks, or the bundled set while it
has none.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tidebreak.api.app import ApiError
from tidebreak.api.params import Requires
from tidebreak.auth import Principal
from tidebreak.factcheck.index import parse_post_date
from tidebreak.pipeline import Pipeline, utcnow

MAX_RECORDS = 10_000
MAX_QUERIES = 1_000


def _records(body: Any) -> list[Any]:
    if isinstance(body, list):
        return body
    if isinstance(body, dict):
        if set(body) == {"factchecks"}:
            if not isinstance(body["factchecks"], list):
                raise ApiError(400, "field 'factchecks' must be a list")
            return body["factchecks"]
        return [body]  # one ClaimReview (or flat record) on its own
    raise ApiError(400, f"the body must be a JSON object or list, got {type(body).__name__}")


def _queries(body: Any) -> tuple[list[tuple[Any, str, tuple[str, ...], datetime | None]], int]:
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    unknown = set(body) - {"queries", "text", "urls", "created_at", "id", "k"}
    if unknown:
        raise ApiError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
    k = body.get("k", 3)
    if not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 20:
        raise ApiError(400, "field 'k' must be an integer from 1 to 20")
    qs = body.get("queries")
    if qs is None:
        if "text" not in body:
            raise ApiError(400, "send 'queries' (a list) or 'text'")
        qs = [{"id": body.get("id"), "text": body["text"], "urls": body.get("urls", []),
               "created_at": body.get("created_at")}]
    if not isinstance(qs, list) or not qs:
        raise ApiError(400, "field 'queries' must be a non-empty list")
    if len(qs) > MAX_QUERIES:
        raise ApiError(413, f"at most {MAX_QUERIES} queries per request")
    out = []
    for i, q in enumerate(qs):
        if not isinstance(q, dict) or not isinstance(q.get("text"), str) or not q["text"].strip():
            raise ApiError(400, f"queries[{i}]: needs a non-empty string 'text'")
        urls = q.get("urls") or []
        if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
            raise ApiError(400, f"queries[{i}]: 'urls' must be a list of strings")
        try:
            created_at = parse_post_date(q.get("created_at"))
        except ValueError:
            raise ApiError(400, f"queries[{i}]: 'created_at' must be an ISO 8601 date or datetime") from None
        out.append((q.get("id", i), q["text"], tuple(urls), created_at))
    return out, k


def factcheck_router(engine: Engine, pipeline_for: Callable[[str], Pipeline],
                     principal: Requires, read_json: Callable[[Request], Any]) -> APIRouter:
    r = APIRouter()
    own: dict[str, Any] = {}  # tenants whose pipeline runs no factcheck detector

    def detector(tenant: str) -> Any:
        det = next((d for d in pipeline_for(tenant).detectors if d.name == "factcheck"), None)
        if det is None:
            if tenant not in own:
                from tidebreak.detect.factcheck import FactCheckDetector

                own[tenant] = FactCheckDetector()
                own[tenant].bind_store(engine, tenant)
            det = own[tenant]
        return det

    @r.post("/v1/factchecks", tags=["factchecks"], status_code=201,
            summary="Import fact-checks (ClaimReview JSON-LD or flat records); all or nothing")
    async def import_factchecks(request: Request,
                                who: Principal = Depends(principal("factchecks:write"))) -> JSONResponse:
        from tidebreak.factcheck.store import (
            ImportRejected,
            import_factchecks,
            parse_objects,
        )

        records = _records(await read_json(request))
        if len(records) > MAX_RECORDS:
            raise ApiError(413, f"at most {MAX_RECORDS} fact-checks per request")
        try:
            fcs = parse_objects(records, "body")
            with Session(engine) as s, s.begin():
                res = import_factchecks(s, tenant=who.tenant, factchecks=fcs,
                                        actor=f"key-{who.key_id}", now=utcnow(), source="api")
        except ImportRejected as e:
            raise ApiError(400, str(e)) from None
        det = detector(who.tenant)
        det.refresh(force=True)  # this process matches against them at once
        return JSONResponse(res.to_dict(), status_code=201)

    @r.post("/v1/factchecks/match", tags=["factchecks"],
            summary="Match texts to the tenant's fact-checked claims (calibrated probability)")
    async def match(request: Request,
                    who: Principal = Depends(principal("factchecks:read"))) -> dict[str, Any]:
        queries, k = _queries(await read_json(request))
        det = detector(who.tenant)
        det.refresh()
        res = det.index.search([t for _, t, _, _ in queries], k=k, urls=[u for _, _, u, _ in queries],
                               dates=[d for _, _, _, d in queries])
        return {"index": det.index.fingerprint, "results": [
            {"id": qid, "matches": [{**m.to_dict(), "rating": m.factcheck.rating,
                                     "fact_check_url": m.factcheck.url,
                                     "publisher": m.factcheck.publisher}
                                    for m in ms]}
            for (qid, _, _, _), ms in zip(queries, res)]}

    return r
