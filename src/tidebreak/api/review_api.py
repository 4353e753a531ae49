"""JSON routes of human review: reports, appeals, notices, queues and tasks.

Reviewers acting through an API key are named `key-<key id>` in tasks and the ledger, so an
appeal of a decision made with a key is refused to that key like to a console user.
"""

from __future__ import annotations

import asyncio

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tidebreak.api.app import ApiError
from tidebreak.api.params import Requires, RowId
from tidebreak.auth import Principal
from tidebreak.auth.roles import allowed
from tidebreak.ingest import InvalidInput, parse_event
from tidebreak.model import EventType
from tidebreak.pipeline import Pipeline, PipelineError
from tidebreak.review.appeals import appeal_dict, file_appeal
from tidebreak.review.context import ensure_task_evidence, search, task_context, task_dict
from tidebreak.review.decisions import decide_task
from tidebreak.review.errors import ReviewError
from tidebreak.review.leases import claim, release
from tidebreak.review.notices import notice
from tidebreak.enforce.review_queue import APPEALS_QUEUE, summaries
from tidebreak.review.reports import reports_on
from tidebreak.store.schema import AppealRow



def reviewer_name(who: Principal) -> str:
    return f"key-{who.key_id}"


def _fail(e: ReviewError) -> ApiError:
    return ApiError(e.status, e.reason)


def _obj(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, f"the body must be a JSON object, got {type(body).__name__}")
    return body


def review_router(engine: Engine, pipeline_for: Callable[[str], Pipeline], principal: Requires,
                  read_json: Callable[[Request], Any]) -> APIRouter:
    r = APIRouter()

    # -- reports, appeals, notices (the platform, on its users' behalf) -------------------------

    @r.post("/v1/reports", tags=["review"], status_code=201,
            summary="A user reports an item with a reason; reports on one item share one task")
    async def submit_report(request: Request,
                            who: Principal = Depends(principal("reports:submit"))) -> JSONResponse:
        body = _obj(await read_json(request))
        unknown = set(body) - {"content_id", "reason", "reporter", "statement", "event_id"}
        if unknown:
            raise ApiError(400, f"unknown field(s): {', '.join(sorted(unknown))}")
        statement = body.get("statement")
        if statement is not None and (not isinstance(statement, str) or len(statement) > 5000):
            raise ApiError(400, "field 'statement' must be a string of at most 5000 characters")
        event: dict[str, Any] = {"type": EventType.REPORT.value, "id": body.get("content_id"),
                                 "reason": body.get("reason"), "reporter": body.get("reporter")}
        if body.get("event_id") is not None:
            event["event_id"] = body["event_id"]
        if statement:
            event["statement"] = statement
        if event["id"] is None:
            raise ApiError(400, "field 'content_id' is required")
        try:
            ev = parse_event(event, default_type=EventType.REPORT)
            # the pipeline (models, database) runs off the event loop
            outcome = await asyncio.to_thread(lambda: pipeline_for(who.tenant).process(ev))
        except InvalidInput as e:
            raise ApiError(e.status, str(e)) from None
        except PipelineError as e:
            raise ApiError(e.status, str(e)) from None
        with Session(engine) as s:
            mine = [x for x in reports_on(s, who.tenant, ev.content.id) if x["reporter"] == ev.reporter]
        return JSONResponse({"content_id": ev.content.id, "duplicate": outcome.duplicate,
                             "action": outcome.decision.action.value,
                             "task_id": mine[-1]["task_id"] if mine else None},
                            status_code=200 if outcome.duplicate else 201)

    @r.get("/v1/review/reports/{content_id}", tags=["review"], summary="User reports on one item")
    def list_reports(content_id: str,
                     who: Principal = Depends(principal("review:read"))) -> dict[str, Any]:
        with Session(engine) as s:
            return {"content_id": content_id, "reports": reports_on(s, who.tenant, content_id)}

    @r.post("/v1/appeals", tags=["review"], status_code=201,
            summary="The author (or group admin) appeals the standing decision with a statement")
    async def submit_appeal(request: Request,
                            who: Principal = Depends(principal("appeals:submit"))) -> JSONResponse:
        body = _obj(await read_json(request))
        p = pipeline_for(who.tenant)
        try:
            with Session(engine, expire_on_commit=False) as s, s.begin():
                appeal = file_appeal(s, tenant=who.tenant, content_id=body.get("content_id"),
                                     appellant=body.get("appellant"),
                                     appellant_role=body.get("appellant_role", "author"),
                                     statement=body.get("statement"), now=p.clock())
        except ReviewError as e:
            raise _fail(e) from None
        return JSONResponse(appeal_dict(appeal), status_code=201)

    @r.get("/v1/appeals/{appeal_id}", tags=["review"], summary="An appeal and its outcome")
    def get_appeal(appeal_id: RowId,
                   who: Principal = Depends(principal("appeals:read"))) -> dict[str, Any]:
        with Session(engine) as s:
            a = s.get(AppealRow, appeal_id)
            if a is None or a.tenant != who.tenant:
                raise ApiError(404, f"no appeal {appeal_id}")
            return appeal_dict(a)

    @r.get("/v1/notices/{content_id}", tags=["review"],
           summary="The user's notice: the standing decision's reasons and how to appeal")
    def get_notice(content_id: str,
                   who: Principal = Depends(principal("decisions:read"))) -> dict[str, Any]:
        try:
            with Session(engine) as s:
                return notice(s, who.tenant, content_id)
        except ReviewError as e:
            raise _fail(e) from None

    # -- queues and tasks (reviewers) -----------------------------------------------------------

    @r.get("/v1/review/queues", tags=["review"], summary="Queues with counts and SLA status")
    def list_queues(who: Principal = Depends(principal("review:read"))) -> dict[str, Any]:
        now = pipeline_for(who.tenant).clock()
        with Session(engine) as s:
            return {"queues": [q.to_dict() for q in summaries(s, who.tenant, now)]}

    @r.post("/v1/review/queues/{queue}/claim", tags=["review"],
            summary="Lease the highest-priority waiting task of a queue (204 when empty)")
    def claim_task(queue: str, who: Principal = Depends(principal("review:decide"))) -> Response:
        if queue == APPEALS_QUEUE and not allowed(who.role, "appeals:decide"):
            raise ApiError(403, f"role '{who.role}' may not appeals decide")
        task = claim(engine, tenant=who.tenant, queue=queue, reviewer=reviewer_name(who),
                     now=pipeline_for(who.tenant).clock())
        if task is None:
            return Response(status_code=204)
        return JSONResponse(task_dict(task))

    @r.get("/v1/review/tasks/{task_id}", tags=["review"],
           summary="A task with its content, signals, history, similar items and ledger trail")
    def get_task(task_id: RowId, who: Principal = Depends(principal("review:read"))) -> dict[str, Any]:
        p = pipeline_for(who.tenant)
        ensure_task_evidence(engine, p.detectors, who.tenant, task_id, clock=p.clock)
        try:
            with Session(engine) as s:
                return task_context(s, who.tenant, task_id, p.clock())
        except ReviewError as e:
            raise _fail(e) from None

    @r.post("/v1/review/tasks/{task_id}/decide", tags=["review"],
            summary="Decide a leased task: approve, remove, reduce, label or escalate, citing a "
                    "clause (appeals: reverse or maintain)")
    async def decide(task_id: RowId, request: Request,
                     who: Principal = Depends(principal("review:decide"))) -> dict[str, Any]:
        body = _obj(await read_json(request))
        try:
            result = decide_task(pipeline_for(who.tenant), task_id=task_id,
                                 reviewer=reviewer_name(who), verdict=body.get("verdict"),
                                 clause_id=body.get("clause"), note=body.get("note"),
                                 may_decide_appeals=allowed(who.role, "appeals:decide"))
        except ReviewError as e:
            raise _fail(e) from None
        return result.to_dict()

    @r.post("/v1/review/tasks/{task_id}/release", tags=["review"],
            summary="Hand a leased task back to its queue")
    def release_task(task_id: RowId,
                     who: Principal = Depends(principal("review:decide"))) -> dict[str, Any]:
        try:
            release(engine, tenant=who.tenant, task_id=task_id, reviewer=reviewer_name(who),
                    now=pipeline_for(who.tenant).clock())
        except ReviewError as e:
            raise _fail(e) from None
        return {"task_id": task_id, "status": "open"}

    @r.get("/v1/review/search", tags=["review"], summary="Find items by text, author or group")
    def search_items(q: str = "", field: str = "content",
                     who: Principal = Depends(principal("review:read"))) -> dict[str, Any]:
        try:
            with Session(engine) as s:
                return {"results": search(s, who.tenant, q, field)}
        except ReviewError as e:
            raise _fail(e) from None

    return r
