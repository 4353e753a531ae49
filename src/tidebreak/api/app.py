"""The HTTP API (FastAPI).

Request bodies are read raw and validated by `tidebreak.ingest`, the same boundary the CLI uses,
so HTTP and CLI reject the same inputs with the same reasons. Every route names the permission
it needs (`tidebreak.auth.roles`); only /healthz and /metrics are open, and they reveal no content.
"""

from __future__ import annotations

import asyncio
import gc
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tidebreak import __version__, metrics
from tidebreak.auth import KeyCache, Principal
from tidebreak.auth.roles import allowed
from tidebreak.config import Settings
from tidebreak.errors import TidebreakError
from tidebreak.ingest import InvalidInput, parse_event
from tidebreak.evidence import present
from tidebreak.model import EVIDENCE_PENDING, SUBMITTABLE_EVENTS, Event, EventType
from tidebreak.api.batching import MicroBatcher
from tidebreak.pipeline import Outcome, Pipeline, PipelineError
from tidebreak.store.decisions import history
from tidebreak.store.schema import ContentRow
from tidebreak.text.validate import TextRejected, decode_utf8


class ApiError(TidebreakError):
    """An HTTP refusal raised by a route itself (status first, as HTTP reads)."""

    def __init__(self, status: int, reason: str, error: str | None = None) -> None:
        super().__init__(reason, status)
        self.error = error or self.code


def _error(status: int, reason: str, error: str) -> JSONResponse:
    return JSONResponse({"error": error, "reason": reason}, status_code=status)


CONTENT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["id"],  # and "text" unless "media" is given
    "properties": {
        "id": {"type": "string", "maxLength": 256},
        "event_id": {"type": "string", "maxLength": 256},
        "type": {"type": "string", "enum": [t.value for t in SUBMITTABLE_EVENTS]},
        "kind": {"type": "string",
                 "enum": ["post", "comment", "ad", "group_description", "profile", "message"]},
        "text": {"type": "string"},
        "author": {"type": "string"},
        "group": {"type": "string"},
        "parent_id": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "urls": {"type": "array", "items": {"type": "string"}},
        "language": {"type": "string"},
        "reason": {"type": "string"},
        "reporter": {"type": "string"},
        "media": {"type": "array", "maxItems": 16, "description": "images: {\"data\": base64} "
                  "or {\"url\"} (fetched only where the operator allows it)",
                  "items": {"type": "object", "properties": {
                      "data": {"type": "string", "contentEncoding": "base64"},
                      "url": {"type": "string", "format": "uri"}}}},
    },
}


def create_app(engine: Engine, settings: Settings,
               pipeline_factory: Callable[[str], Pipeline],
               producer: Any = None, *, evidence_in_background: bool = False,
               deliver_events: bool = False) -> FastAPI:
    """`pipeline_factory(tenant)` builds the pipeline for a tenant; one is kept per tenant.
    `producer` (a tidebreak.scale.broker.Producer) turns on async mode; without one it is built
    from settings.nats_url when that is set. `evidence_in_background` (`tidebreak serve`):
    pending evidence is computed while no request is in flight (tidebreak.evidence.background).
    `deliver_events` (`tidebreak serve`): domain events go to the configured sinks from a
    background thread of this process (tidebreak.events.dispatch)."""
    app = FastAPI(title="tidebreak", version=__version__,
                  description="Trust & safety engine: submit content, get decisions with reasons.")
    pipelines: dict[str, Pipeline] = {}
    building = threading.Lock()
    max_body = settings.max_text_bytes * 4 + 65536  # JSON escaping can quadruple text
    # images travel as base64 (4/3 of their bytes); a larger body is refused before it is read
    max_body += (settings.media_max_bytes * 4 // 3 + 1024) * settings.media_max_items

    batchers: dict[str, MicroBatcher] = {}

    def pipeline_for(tenant: str) -> Pipeline:
        if tenant not in pipelines:
            with building:  # request threads and the evidence filler: one build per tenant
                if tenant not in pipelines:
                    built = pipeline_factory(tenant)
                    built.warm_up()  # no served batch waits for a model's first-use load
                    pipelines[tenant] = built
        return pipelines[tenant]

    async def decide(tenant: str, event: Event) -> Outcome | PipelineError:
        """Concurrent requests of a tenant are decided together (tidebreak.api.batching)."""
        if tenant not in batchers:
            # building a pipeline loads models: off the event loop
            pipeline = await asyncio.get_running_loop().run_in_executor(None, pipeline_for,
                                                                         tenant)
            batchers.setdefault(tenant, MicroBatcher(pipeline))
            # What is loaded now (models, indexes, policies) lives as long as the process:
            # keep it out of the collector's full passes, which would otherwise walk it all
            # while requests wait.
            gc.freeze()
        return await batchers[tenant].submit(event)

    def close_batchers() -> None:
        # the app may be started again (tests run a lifespan per client): new batchers then
        for b in batchers.values():
            b.close()
        batchers.clear()
        for p in pipelines.values():
            if p.recorder is not None:  # a recorder process; the next batch starts a new one
                p.recorder.close()

    app.router.add_event_handler("shutdown", close_batchers)

    if evidence_in_background:
        from tidebreak.evidence.background import IdleFiller, TrackRequests

        def tenants() -> list[str]:
            # the default tenant always (built on the first idle slice); others once used
            return list(dict.fromkeys([settings.tenant, *pipelines]))

        filler = IdleFiller(engine, pipeline_for, tenants)
        app.add_middleware(TrackRequests, filler=filler)
        app.router.add_event_handler("startup", filler.start)
        app.router.add_event_handler("shutdown", filler.stop)
        app.state.evidence_filler = filler

    @app.exception_handler(TidebreakError)
    async def _refused(_req: Request, exc: TidebreakError) -> JSONResponse:
        # the one mapping of tidebreak's errors to HTTP (tidebreak.errors)
        metrics.REJECTED.labels("http").inc()
        return _error(exc.status, exc.reason or str(exc),
                      exc.error if isinstance(exc, ApiError) else exc.code)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return _error(exc.status_code, str(exc.detail), "http_error")

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_req: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        return _error(422, f"{where}: {first.get('msg', 'invalid request')}", "invalid")

    keys = KeyCache(settings.key_cache_s)

    def principal(permission: str) -> Callable[[Request], Awaitable[Principal]]:  # Requires
        async def dep(request: Request) -> Principal:
            header = request.headers.get("authorization", "")
            scheme, _, key = header.partition(" ")
            key = key.strip()
            if scheme.lower() != "bearer" or not key:
                raise ApiError(401, "missing API key: send 'Authorization: Bearer KEY'")
            # a key verified moments ago is answered on the loop; otherwise the key table is
            # read in a thread, off the event loop
            who = keys.get(key) or await run_in_threadpool(keys.verify, engine, key)
            if who is None:
                raise ApiError(401, "invalid or revoked API key")
            if not allowed(who.role, permission):
                raise ApiError(403, f"role '{who.role}' may not {permission.replace(':', ' ')}")
            return who

        dep.__name__ = f"requires_{permission.replace(':', '_')}"
        return dep

    async def read_json(request: Request) -> Any:
        ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
        if ctype not in ("application/json", ""):
            raise ApiError(415, f"content-type must be application/json, got {ctype!r}")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_body:
            raise ApiError(413, f"request body over {max_body} bytes")
        body = await request.body()
        if len(body) > max_body:
            raise ApiError(413, f"request body over {max_body} bytes")
        try:
            raw = decode_utf8(body)
        except TextRejected as e:
            raise ApiError(400, str(e)) from None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise ApiError(400, f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
        except RecursionError:
            raise ApiError(400, "malformed JSON: nested too deeply") from None

    async def run_event(obj: Any, who: Principal, default_type: EventType) -> JSONResponse:
        try:
            if isinstance(obj, dict) and obj.get("media") is not None:
                # decoding, hashing (and fetching, where allowed) images: off the event loop
                event = await asyncio.get_running_loop().run_in_executor(
                    None, lambda: parse_event(obj, max_text_bytes=settings.max_text_bytes,
                                              default_type=default_type))
            else:
                event = parse_event(obj, max_text_bytes=settings.max_text_bytes,
                                    default_type=default_type)
        except InvalidInput as e:
            raise ApiError(e.status, str(e)) from None
        outcome = await decide(who.tenant, event)
        if isinstance(outcome, PipelineError):
            raise ApiError(outcome.status, str(outcome)) from None
        body = outcome.decision.to_dict()
        body["duplicate"] = outcome.duplicate
        return JSONResponse(body, status_code=200 if outcome.duplicate else 201)

    @app.post("/v1/content", tags=["content"], status_code=201,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": CONTENT_SCHEMA}}}},
              summary="Submit one content item; answers with its decision")
    async def submit_content(request: Request,
                             who: Principal = Depends(principal("content:submit"))) -> JSONResponse:
        obj = await read_json(request)
        if isinstance(obj, dict) and obj.get("type", EventType.CREATE.value) != EventType.CREATE.value:
            raise ApiError(400, "POST /v1/content takes content.create only; use POST /v1/events")
        return await run_event(obj, who, EventType.CREATE)

    @app.post("/v1/events", tags=["content"], status_code=201,
              openapi_extra={"requestBody": {"required": True, "content": {
                  "application/json": {"schema": CONTENT_SCHEMA}}}},
              summary="Submit any event (create, edit, delete, report); answers with its decision")
    async def submit_event(request: Request,
                           who: Principal = Depends(principal("content:submit"))) -> JSONResponse:
        obj = await read_json(request)
        if isinstance(obj, dict) and "type" not in obj:
            raise ApiError(400, "field 'type' is required on /v1/events")
        return await run_event(obj, who, EventType.CREATE)

    @app.get("/v1/decisions/{content_id}", tags=["decisions"],
             summary="The latest decision on a content item, with its reasons and history")
    def get_decision(content_id: str,
                     who: Principal = Depends(principal("decisions:read"))) -> dict[str, Any]:
        with Session(engine) as s:
            row = s.get(ContentRow, (who.tenant, content_id))
            decisions = history(s, who.tenant, content_id) if row is not None else []
        if row is None or not decisions:
            raise ApiError(404, f"no decision for content {content_id!r}")
        latest = decisions[-1]
        if latest.get("evidence") == EVIDENCE_PENDING:  # deferred spans: computed now if need be
            p = pipeline_for(who.tenant)
            latest = present(engine, p.detectors, who.tenant, [latest], clock=p.clock)[0]
        latest = dict(latest)
        latest["content_state"] = {"state": row.state, "reach": row.reach, "labels": row.labels,
                                   "warning": row.warning, "version": row.version}
        latest["history"] = [{"decision_id": d["decision_id"], "event_id": d["event_id"],
                              "action": d["action"], "rules": d["rules"],
                              "created_at": d["created_at"]} for d in decisions]
        return latest

    @app.get("/healthz", tags=["operations"], summary="Liveness and database reachability")
    def healthz() -> JSONResponse:
        try:
            with engine.connect() as c:
                c.execute(text("SELECT 1"))
        except Exception as e:  # noqa: BLE001 - any database failure means not ready
            return JSONResponse({"status": "error", "database": str(e)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "version": __version__})

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    def prometheus() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    # --- review: reports, appeals, queues and tasks (JSON) and the reviewer console (HTML) ---
    from tidebreak.api.console import console_router
    from tidebreak.api.review_api import review_router

    app.include_router(review_router(engine, pipeline_for, principal, read_json))
    app.include_router(console_router(engine, pipeline_for))

    # --- accounts, groups, reach: distribution (bulk), engagement, standing, group health ---
    from tidebreak.api.distribution import reach_router

    app.include_router(reach_router(engine, pipeline_for, principal, read_json))

    # --- accountability: auditor API, statements of reasons, notices, reports, ad impressions ---
    from tidebreak.accountability.api import accountability_router

    app.include_router(accountability_router(engine, settings, principal, read_json))

    # --- fact-checks: import into the tenant's store, match texts against them ---
    from tidebreak.api.factcheck_api import factcheck_router

    app.include_router(factcheck_router(engine, pipeline_for, principal, read_json))

    # --- governance: exceptions, policy versions, disparate impact, elections, harassment ---
    from tidebreak.governance.api import governance_router

    app.include_router(governance_router(engine, pipeline_for, principal, read_json))

    # --- scale-out: async submission through the broker, readiness ---
    from tidebreak.api.async_api import async_router

    if producer is None and settings.nats_url:
        from tidebreak.scale.broker import BrokerConfig, Producer

        producer = Producer(BrokerConfig.from_settings(settings), name="tidebreak-api")
        app.router.add_event_handler("shutdown", producer.close)
    app.include_router(async_router(engine, settings, principal, read_json, producer, ApiError,
                                    CONTENT_SCHEMA))

    # --- plug-ins: adapters' and third parties' routers (tidebreak.plugins) ---
    from tidebreak.plugins import ApiContext, manager

    ctx = ApiContext(engine=engine, settings=settings, pipeline_for=pipeline_for,
                     principal=principal, read_json=read_json, submit=decide)
    for routers in manager().hook.tidebreak_api_routers(ctx=ctx):
        for router in routers:
            app.include_router(router)

    if deliver_events:
        # domain events to the configured sinks (webhooks, NATS, adapters), from this process
        from tidebreak.runtime import dispatcher_for
        from tidebreak.events.dispatch import DispatchLoop

        dispatcher = dispatcher_for(engine, settings)
        if dispatcher is not None:
            loop = DispatchLoop(dispatcher)
            app.router.add_event_handler("startup", loop.start)
            app.router.add_event_handler("shutdown", loop.stop)
            app.state.event_dispatch = loop

    return app

