"""POST /v1/adapters/mastodon/webhook: Mastodon's admin webhooks, into the same pipeline as
POST /v1/content (through the API's micro-batcher).

The signature is the route's only authentication (Mastodon cannot send a tidebreak API key):
the raw body is checked against X-Hub-Signature before anything is parsed or stored, and a
missing or wrong one is answered 401. Events go to the configured default tenant.

- status.created / status.updated: the status as content `mastodon:status:<id>` by
  `mastodon:account:<account id>`; an update is a content.edit (a create when tidebreak never
  saw the status). Boosts carry no text of their own and are acknowledged only.
- report.created: a tidebreak report on each reported status (the status is created first when
  tidebreak never saw it: federated posts reach tidebreak only this way). Reports tidebreak
  filed itself come back through this webhook too; they are recognised and ignored.
- account.created: the account is recorded as an actor.
- anything else: acknowledged (200) and ignored.

Event ids are derived from Mastodon's ids (and an edit's `edited_at`), so a redelivered
webhook is the same event and changes nothing.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from tidebreak.adapters.mastodon import store
from tidebreak.adapters.mastodon.config import MastodonConfig
from tidebreak.adapters.mastodon.sink import COMMENT_PREFIX
from tidebreak.adapters.mastodon.webhook import (
    SIGNATURE_HEADER,
    BadWebhook,
    ReportInfo,
    StatusInfo,
    account_actor_id,
    entity_id,
    parse_envelope,
    report_event,
    report_info,
    report_reason,
    status_event,
    status_info,
    verify,
)
from tidebreak.ingest import InvalidInput
from tidebreak.model import Event, EventType
from tidebreak.hookspecs import ApiContext
from tidebreak.store.schema import ActorRow, ContentRow, MastodonActionRow, MastodonReportRow

PATH = "/v1/adapters/mastodon/webhook"
MAX_BODY = 4 * 1024 * 1024  # a report may carry many statuses; nothing real comes near this


def _error(status: int, reason: str, error: str) -> JSONResponse:
    return JSONResponse({"error": error, "reason": reason}, status_code=status)


def _result(event: Event, outcome: Any) -> dict[str, Any]:
    if hasattr(outcome, "decision"):
        d = outcome.decision
        return {"content_id": event.content.id, "event_id": event.event_id,
                "type": event.type.value, "decision_id": d.id, "action": d.action.value,
                "duplicate": outcome.duplicate}
    return {"content_id": event.content.id, "event_id": event.event_id,
            "type": event.type.value, "error": str(outcome),
            "status": getattr(outcome, "status", 500)}


def mastodon_router(ctx: ApiContext, config: MastodonConfig) -> APIRouter:
    assert config.webhook_secret, "the webhook route needs its secret"
    secret = config.webhook_secret
    engine, settings = ctx.engine, ctx.settings
    tenant = settings.tenant
    router = APIRouter(tags=["adapters"])

    def now() -> datetime:
        return datetime.now(timezone.utc)

    def content_exists(content_id: str) -> bool:
        with Session(engine) as s:
            return s.get(ContentRow, (tenant, content_id)) is not None

    async def submit(event: Event) -> Any:
        return await ctx.submit(tenant, event)

    async def on_status(info: StatusInfo, updated: bool) -> JSONResponse:
        if info.is_boost:
            return JSONResponse({"ignored": True, "reason": "a boost has no text of its own"})
        at = now()
        exists = updated and await run_in_threadpool(content_exists, info.content_id)
        etype = EventType.EDIT if exists else EventType.CREATE
        event = status_event(info, etype, max_text_bytes=settings.max_text_bytes, now=at)
        await run_in_threadpool(store.record_statuses, engine, tenant,
                                [(info.content_id, info.status_id, info.account_id)], at)
        outcome = await submit(event)
        if updated and etype == EventType.CREATE and not hasattr(outcome, "decision"):
            # created by another delivery meanwhile: it is an edit after all
            event = status_event(info, EventType.EDIT, max_text_bytes=settings.max_text_bytes,
                                 now=at)
            outcome = await submit(event)
        if not hasattr(outcome, "decision"):
            return _error(getattr(outcome, "status", 409), str(outcome), "conflict")
        return JSONResponse({"handled": True, "results": [_result(event, outcome)]})

    def filed_by_us(info: ReportInfo) -> bool:
        with Session(engine) as s:
            known = s.get(MastodonReportRow, (tenant, info.report_id))
            if known is not None:
                return known.origin == "filed"
            if not info.comment.startswith(COMMENT_PREFIX) or not info.statuses:
                return False
            # its webhook may arrive before the filing call returned: the claim is there
            return all(s.get(MastodonActionRow, (tenant, f"report:{st.content_id}")) is not None
                       for st in info.statuses)

    async def on_report(info: ReportInfo) -> JSONResponse:
        if await run_in_threadpool(filed_by_us, info):
            return JSONResponse({"ignored": True, "reason": "a report tidebreak filed"})
        at = now()
        reason = report_reason(info, dict(config.rules))
        statuses = [st for st in info.statuses if not st.is_boost]
        creates = [status_event(st, EventType.CREATE, max_text_bytes=settings.max_text_bytes,
                                now=at) for st in statuses]
        reports = [report_event(info, st, reason, now=at) for st in statuses]
        await run_in_threadpool(store.record_statuses, engine, tenant,
                                [(st.content_id, st.status_id, st.account_id) for st in statuses],
                                at)
        results = []
        for create, rep in zip(creates, reports):
            # first sight of the status (a federated post, or one from before tidebreak was
            # connected): create it from the report's copy; known already, this is a no-op
            # (same event id) or refused as existing, and either way the report follows
            await submit(create)
            outcome = await submit(rep)
            results.append(_result(rep, outcome))
        await run_in_threadpool(
            lambda: store.record_report(engine, tenant, report_id=info.report_id,
                                        account_id=info.target_account_id,
                                        content_ids=[st.content_id for st in statuses],
                                        origin="received", category=info.category, now=at))
        return JSONResponse({"handled": True, "results": results})

    def record_actor(obj: dict[str, Any]) -> str:
        aid = str(obj.get("id", ""))
        actor = account_actor_id(aid)
        acct = obj.get("account") if isinstance(obj.get("account"), dict) else {}
        meta = {"mastodon": {k: v for k, v in (("username", obj.get("username")),
                                               ("domain", obj.get("domain")),
                                               ("acct", acct.get("acct")))
                             if isinstance(v, str)}}
        with Session(engine) as s, s.begin():
            if s.get(ActorRow, (tenant, actor)) is None:
                s.add(ActorRow(tenant=tenant, id=actor, status="active", first_seen=now(),
                               meta=meta))
        return actor

    @router.post(PATH, summary="Mastodon admin webhooks (signed with X-Hub-Signature)",
                 status_code=200)
    async def webhook(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            return _error(413, f"request body over {MAX_BODY} bytes", "too_large")
        body = await request.body()
        if len(body) > MAX_BODY:
            return _error(413, f"request body over {MAX_BODY} bytes", "too_large")
        if not verify(secret, body, request.headers.get(SIGNATURE_HEADER)):
            return _error(401, f"missing or wrong {SIGNATURE_HEADER}: expected sha256=<hex "
                               "HMAC-SHA256 of the raw body under the webhook's secret>",
                          "unauthorized")
        try:
            env = parse_envelope(body)
            if env.event in ("status.created", "status.updated"):
                return await on_status(status_info(env.object), env.event == "status.updated")
            if env.event == "report.created":
                return await on_report(report_info(env.object))
            if env.event == "account.created":
                entity_id(env.object, "id", "object")
                actor = await run_in_threadpool(record_actor, env.object)
                return JSONResponse({"handled": True, "actor": actor})
        except InvalidInput as e:  # BadWebhook too: a body we cannot take, said why
            status = e.status if not isinstance(e, BadWebhook) else 400
            return _error(status, str(e), "bad_request")
        return JSONResponse({"ignored": True, "event": env.event,
                             "reason": "not an event tidebreak acts on"})

    return router
