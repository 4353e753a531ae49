"""HTTP routes of accounts, groups and reach.

  POST /v1/distribution         multipliers and recommendability for many ids at once (feed rankers)
  POST /v1/engagement           cumulative views/shares in bulk; trips the circuit breaker
  GET  /v1/accounts/{id}        an account's standing: status, limits, strikes, penalties, reasons
  GET  /v1/groups/{id}          a group's stage, live health with its evidence, determinations
  PUT  /v1/groups/{id}/roles    who administers, moderates and belongs to a group
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tidebreak.api.app import ApiError
from tidebreak.api.params import Requires
from tidebreak.auth import Principal
from tidebreak.enforce import groups as group_health
from tidebreak.enforce.breaker import parse_engagement, record_engagement
from tidebreak.enforce.distribution import MAX_IDS, reach
from tidebreak.enforce.penalties import standing
from tidebreak.ingest import InvalidInput
from tidebreak.pipeline import Pipeline

ID_KINDS = ("content", "accounts", "groups")


def _ids(body: Any) -> dict[str, list[str]]:
    if not isinstance(body, dict):
        raise ApiError(400, 'the body must be {"content": [...], "accounts": [...], "groups": [...]}')
    extra = set(body) - set(ID_KINDS)
    if extra:
        raise ApiError(400, f"unknown field {sorted(extra)[0]!r}; fields: {', '.join(ID_KINDS)}")
    out: dict[str, list[str]] = {}
    for k in ID_KINDS:
        v = body.get(k, [])
        if not isinstance(v, list) or not all(isinstance(x, str) and 0 < len(x) <= 256 for x in v):
            raise ApiError(400, f"'{k}' must be a list of ids (non-empty strings of at most 256 "
                                "characters)")
        if len(v) > MAX_IDS:
            raise ApiError(413, f"at most {MAX_IDS} {k} ids per call, got {len(v)}")
        out[k] = v
    if not any(out.values()):
        raise ApiError(400, "no ids: give at least one of content, accounts, groups")
    return out


def reach_router(engine: Engine, pipeline_for: Callable[[str], Pipeline], principal: Requires,
                 read_json: Callable[[Request], Any]) -> APIRouter:
    r = APIRouter()

    @r.post("/v1/distribution", tags=["distribution"],
            summary="Reach multiplier in [0, 1] and recommendability for up to 1000 ids per kind")
    async def distribution(request: Request,
                           who: Principal = Depends(principal("distribution:read"))) -> dict[str, Any]:
        ids = _ids(await read_json(request))
        now = pipeline_for(who.tenant).clock()
        with Session(engine) as s:
            return reach(s, who.tenant, now, **ids).to_dict()

    @r.post("/v1/engagement", tags=["distribution"],
            summary="Cumulative views and shares per item; may trip the virality circuit breaker")
    async def engagement(request: Request,
                         who: Principal = Depends(principal("engagement:submit"))) -> JSONResponse:
        body = await read_json(request)
        pipeline = pipeline_for(who.tenant)
        now = pipeline.clock()
        try:
            updates = parse_engagement(body, now=now)
        except InvalidInput as e:
            raise ApiError(e.status, str(e)) from None
        with Session(engine) as s, s.begin():
            res = record_engagement(s, who.tenant, updates,
                                    pipeline.policy.active.sections.breaker, now)
        return JSONResponse(res.to_dict(), status_code=200)

    @r.get("/v1/accounts/{account_id}", tags=["accounts"],
           summary="An account's standing: status, limits, strikes and penalties with reasons")
    def account(account_id: str,
                who: Principal = Depends(principal("accounts:read"))) -> dict[str, Any]:
        now = pipeline_for(who.tenant).clock()
        with Session(engine) as s:
            out = standing(s, who.tenant, account_id, now)
        if out is None:
            raise ApiError(404, f"no account {account_id!r}")
        return out

    @r.get("/v1/groups/{group_id}", tags=["groups"],
           summary="A group's stage, its live health with the evidence, and its determinations")
    def group(group_id: str, who: Principal = Depends(principal("groups:read"))) -> dict[str, Any]:
        pipeline = pipeline_for(who.tenant)
        with Session(engine) as s:
            try:
                return group_health.show(s, who.tenant, group_id,
                                         pipeline.policy.active.sections.groups, pipeline.clock())
            except group_health.GroupError as e:
                raise ApiError(e.status, str(e)) from None

    @r.put("/v1/groups/{group_id}/roles", tags=["groups"],
           summary='Set roles: {"admins": [...], "moderators": [...], "members": [...], '
                   '"removed": [...]}')
    async def roles(group_id: str, request: Request,
                    who: Principal = Depends(principal("groups:write"))) -> dict[str, Any]:
        body = await read_json(request)
        keys = {"admins": "admin", "moderators": "moderator", "members": "member"}
        if not isinstance(body, dict) or set(body) - {*keys, "removed"}:
            raise ApiError(400, 'the body must be {"admins": [...], "moderators": [...], '
                                '"members": [...], "removed": [...]} (all optional)')
        lists: dict[str, list[str]] = {}
        for k in (*keys, "removed"):
            v = body.get(k, [])
            if not isinstance(v, list) or not all(isinstance(x, str) and 0 < len(x) <= 256
                                                  for x in v) or len(v) > 10000:
                raise ApiError(400, f"'{k}' must be a list of at most 10000 account ids")
            lists[k] = v
        now = pipeline_for(who.tenant).clock()
        try:
            with Session(engine) as s, s.begin():
                return group_health.set_roles(
                    s, who.tenant, group_id, {keys[k]: lists[k] for k in keys if lists[k]},
                    lists["removed"], now, by=f"key-{who.key_id}")
        except group_health.GroupError as e:
            raise ApiError(e.status, str(e)) from None

    return r
