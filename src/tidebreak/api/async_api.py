"""Async submission (enqueue to the broker, decide in a worker) and readiness.

`POST /v1/async/events` validates at the same boundary as the sync routes, then answers 202
only once JetStream has stored the event on disk; while the broker is unreachable it answers 503
`broker_unavailable` with Retry-After and nothing is accepted (the producer never buffers). The
decision arrives by webhook (if configured) and at the decision URL,
`GET /v1/async/events/{event_id}`: 200 decided, 200 failed (with the reason the sync API
would have given), 202 pending.

`GET /readyz` says whether this replica can take traffic: the database answers and, in async
mode, the broker and its stream are reachable. `GET /healthz` (liveness) stays as it was.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tidebreak.api.params import Requires
from tidebreak.auth import Principal
from tidebreak.config import Settings
from tidebreak.ingest import InvalidInput, parse_event
from tidebreak.model import EventType
from tidebreak.scale.broker import BrokerUnavailable, Producer, event_message, msg_id
from tidebreak.store.schema import DecisionRow, EventFailureRow, EventRow


def async_router(engine: Engine, settings: Settings,
                 principal: Requires,
                 read_json: Callable[[Request], Awaitable[Any]],
                 producer: Producer | None, api_error: type[Exception],
                 content_schema: dict[str, Any]) -> APIRouter:
    router = APIRouter()

    @router.get("/readyz", tags=["operations"],
                summary="Readiness: database reachable and, in async mode, the broker")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            with engine.connect() as c:
                c.execute(text("SELECT 1"))
            checks["database"] = "ok"
        except Exception as e:  # noqa: BLE001 - any failure means not ready
            checks["database"] = f"error: {str(e).splitlines()[0][:200]}"
        if producer is None:
            checks["broker"] = "off (sync mode)"
        else:
            problem = await producer.problem_async()
            checks["broker"] = problem or "ok"
        ready = all(v == "ok" or v.startswith("off") for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "not_ready", **checks},
                            status_code=200 if ready else 503)

    if producer is None:
        return router  # sync mode: no async routes at all (the schema says so too)

    @router.post("/v1/async/events", tags=["async"], status_code=202,
                 openapi_extra={"requestBody": {"required": True, "content": {
                     "application/json": {"schema": content_schema}}}},
                 summary="Enqueue any event (default content.create); decided by a worker")
    async def submit_async(request: Request,
                           who: Principal = Depends(principal("content:submit"))) -> JSONResponse:
        obj = await read_json(request)
        now = datetime.now(timezone.utc)
        try:
            event = parse_event(obj, max_text_bytes=settings.max_text_bytes,
                                default_type=EventType.CREATE, now=now)
        except InvalidInput as e:
            raise api_error(e.status, str(e)) from None
        # Pin the derived event id into the message so the worker keys it identically.
        body = {**obj, "event_id": event.event_id}
        try:
            await producer.publish_async(producer.cfg.events_subject,
                                         event_message(who.tenant, body, now),
                                         msg_id(who.tenant, event.event_id))
        except BrokerUnavailable as e:
            return JSONResponse({"error": "broker_unavailable", "reason": str(e)},
                                status_code=503, headers={"Retry-After": "5"})
        return JSONResponse({"status": "queued", "event_id": event.event_id,
                             "decision_url": f"/v1/async/events/{quote(event.event_id, safe='')}"},
                            status_code=202)

    @router.get("/v1/async/events/{event_id}", tags=["async"],
                summary="Where an async event stands: decided (with the decision), failed, pending")
    def async_status(event_id: str,
                     who: Principal = Depends(principal("decisions:read"))) -> JSONResponse:
        with Session(engine) as s:
            ev = s.get(EventRow, (who.tenant, event_id))
            decision = s.get(DecisionRow, ev.decision_id) if ev and ev.decision_id else None
            failure = s.get(EventFailureRow, (who.tenant, event_id)) if decision is None else None
        if decision is not None:
            return JSONResponse({"status": "decided", "event_id": event_id,
                                 "decision": decision.payload})
        if failure is not None:
            return JSONResponse({"status": "failed", "event_id": event_id,
                                 "error": {"status": failure.status, "reason": failure.reason}})
        # Not decided yet, or never accepted: the store cannot tell them apart without a
        # write per submission, which async mode exists to avoid.
        return JSONResponse({"status": "pending", "event_id": event_id}, status_code=202)

    return router
