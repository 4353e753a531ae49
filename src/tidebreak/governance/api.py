"""HTTP routes of governance, under /v1/governance. Callers act under their API key: the actor
recorded in the ledger is "key:<id>" and the role is the key's. Errors are JSON with a reason;
bad input is refused before anything is stored."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import Engine

from tidebreak.api.params import RowId
from tidebreak.auth import Principal
from tidebreak.clock import parse_time
from tidebreak.governance import elections, exceptions, harassment, impact, versions
from tidebreak.governance.errors import GovernanceError


def governance_router(engine: Engine, pipeline_for: Callable[[str], Any],
                      principal: Callable[[str], Any], read_json: Callable[..., Any]) -> APIRouter:
    from tidebreak.api.app import ApiError

    r = APIRouter(prefix="/v1/governance")

    def actor(who: Principal) -> str:
        return f"key:{who.key_id}"

    def call(fn: Callable[..., Any], *a: Any, **kw: Any) -> Any:
        try:
            return fn(*a, **kw)
        except GovernanceError as e:
            raise ApiError(e.status, str(e)) from None

    def when(raw: Any, name: str) -> datetime:
        return parse_time(str(raw), name)  # a refusal maps to 400 (tidebreak.errors)

    async def body(request: Request) -> dict[str, Any]:
        obj = await read_json(request)
        if not isinstance(obj, dict):
            raise ApiError(400, "the body must be a JSON object")
        return obj

    def text(obj: dict[str, Any], name: str, required: bool = True) -> str:
        v = obj.get(name, "")
        if not isinstance(v, str) or (required and not v.strip()):
            raise ApiError(400, f"field {name!r} is required and must be a string")
        return v

    # -- exceptions
    @r.post("/exceptions", status_code=201)
    async def grant(request: Request,
                    who: Principal = Depends(principal("exceptions:grant"))) -> dict[str, Any]:
        obj = await body(request)
        out = call(exceptions.grant, pipeline_for(who.tenant),
                   content_id=text(obj, "content_id"), category=text(obj, "category"),
                   justification=text(obj, "justification", required=False),
                   expires_at=when(text(obj, "expires_at"), "expires_at"), by=actor(who),
                   role=who.role, kind=obj.get("kind", "newsworthiness"))
        return {"exception": out.exception, "decision": out.decision}

    @r.get("/exceptions")
    def list_exc(content_id: str | None = None,
                 who: Principal = Depends(principal("exceptions:read"))) -> list[dict[str, Any]]:
        return exceptions.list_exceptions(engine, who.tenant, content_id=content_id)

    # -- policy versions
    @r.post("/policies", status_code=201)
    async def draft(request: Request,
                    who: Principal = Depends(principal("policy:draft"))) -> dict[str, Any]:
        obj = await body(request)
        return call(versions.create_draft, engine, who.tenant, text(obj, "source"), by=actor(who),
                    role=who.role, now=datetime.now(timezone.utc),
                    note=text(obj, "note", required=False))

    @r.get("/policies")
    def list_versions(who: Principal = Depends(principal("policy:read"))) -> list[dict[str, Any]]:
        return versions.list_versions(engine, who.tenant)

    @r.get("/policies/{policy_id}/{version}")
    def show(policy_id: str, version: str,
             who: Principal = Depends(principal("policy:read"))) -> dict[str, Any]:
        return call(versions.show, engine, who.tenant, policy_id, version)

    @r.get("/policies/{policy_id}/{version}/review")
    def review(policy_id: str, version: str, labels: bool = True,
               who: Principal = Depends(principal("policy:read"))) -> dict[str, Any]:
        from tidebreak.runtime import bundled_data

        return call(versions.review, engine, who.tenant, policy_id, version,
                    now=datetime.now(timezone.utc),
                    labels_path=bundled_data("sample_labels.jsonl") if labels else None)

    @r.post("/policies/{policy_id}/{version}/approvals", status_code=201)
    async def approve(policy_id: str, version: str, request: Request,
                      who: Principal = Depends(principal("policy:approve"))) -> dict[str, Any]:
        obj = await body(request)
        return call(versions.approve, engine, who.tenant, policy_id, version, by=actor(who),
                    role=who.role, now=datetime.now(timezone.utc),
                    note=text(obj, "note", required=False))

    @r.post("/policies/{policy_id}/{version}/publish")
    def publish(policy_id: str, version: str,
                who: Principal = Depends(principal("policy:publish"))) -> dict[str, Any]:
        return call(versions.publish, engine, who.tenant, policy_id, version, by=actor(who),
                    role=who.role, now=datetime.now(timezone.utc))

    # -- impact
    @r.get("/impact")
    def impact_report(from_: str = Query(alias="from"), to: str = Query(),
                      min_n: int = Query(impact.MIN_N, ge=1),
                      who: Principal = Depends(principal("impact:read"))) -> dict[str, Any]:
        return call(impact.report, engine, who.tenant, when(from_, "from"), when(to, "to"),
                    min_n=min_n)

    # -- elections
    @r.post("/elections", status_code=201)
    async def create_election(request: Request,
                              who: Principal = Depends(principal("elections:write"))) -> dict[str, Any]:
        return call(elections.create, engine, who.tenant, await body(request), by=actor(who),
                    now=datetime.now(timezone.utc))

    @r.get("/elections")
    def list_elections(who: Principal = Depends(principal("elections:read"))) -> list[dict[str, Any]]:
        return elections.sync(engine, who.tenant, datetime.now(timezone.utc))

    @r.get("/elections/{election_id}/dashboard")
    def dashboard(election_id: str,
                  who: Principal = Depends(principal("elections:read"))) -> dict[str, Any]:
        return call(elections.dashboard, engine, who.tenant, election_id,
                    datetime.now(timezone.utc))

    # -- severe harassment
    @r.get("/harassment")
    def cases(status: str | None = None,
              who: Principal = Depends(principal("harassment:read"))) -> dict[str, Any]:
        return {"cases": harassment.list_cases(engine, who.tenant, status),
                **harassment.stats(engine, who.tenant)}

    @r.post("/harassment", status_code=201)
    async def open_case(request: Request,
                        who: Principal = Depends(principal("harassment:write"))) -> dict[str, Any]:
        obj = await body(request)
        return call(harassment.open_case, engine, who.tenant, content_id=text(obj, "content_id"),
                    kind=text(obj, "kind"), by=actor(who), now=datetime.now(timezone.utc),
                    target=obj.get("target") if isinstance(obj.get("target"), str) else None,
                    note=text(obj, "note", required=False))

    @r.post("/harassment/{case_id}/contact")
    async def contact(case_id: RowId, request: Request,
                      who: Principal = Depends(principal("harassment:write"))) -> dict[str, Any]:
        obj = await body(request)
        return call(harassment.record_contact, engine, who.tenant, case_id, by=actor(who),
                    note=text(obj, "note"), now=datetime.now(timezone.utc))

    return r
