"""The reviewer console: server-rendered pages (Jinja2) made interactive with htmx.

Every page but the login form needs a signed, unexpired session (review.accounts); without one it
answers 401 with the login form, and a role without the route's permission gets 403. Every POST
must carry the session's CSRF token (a hidden field, or the X-CSRF-Token header htmx sends). Pages
are served with a strict Content-Security-Policy: scripts and styles only from /console/static.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tidebreak.api.params import RowId
from tidebreak.auth.roles import allowed
from tidebreak.pipeline import Pipeline
from tidebreak.review import accounts
from tidebreak.review.accounts import ConsoleSession
from tidebreak.review.appeals import appeals as list_appeals
from tidebreak.review.clauses import clauses
from tidebreak.review.context import ensure_task_evidence, search, task_context
from tidebreak.review.decisions import APPEAL_VERDICTS, VERDICTS, decide_task
from tidebreak.review.errors import ReviewError
from tidebreak.review.leases import claim, release
from tidebreak.enforce.review_queue import APPEALS_QUEUE, summaries
from tidebreak.review.wellbeing import GRAPHIC_LIMIT, must_skip_graphic
from tidebreak.store.schema import ConsoleUserRow, ContentRow

HERE = Path(__file__).parent
STATIC = HERE / "static"
STATIC_FILES = {"htmx.min.js": "text/javascript", "console.js": "text/javascript",
                "console.css": "text/css"}
COOKIE = "tb_session"
LOGIN_CSRF = "tb_login_csrf"
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
                               "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # pages hold reported content: keep it out of shared caches
}
KEYS = {"approve": "a", "remove": "r", "reduce": "d", "label": "l", "escalate": "e",
        "reverse": "v", "maintain": "m"}


def console_router(engine: Engine, pipeline_for: Callable[[str], Pipeline]) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    key_holder: list[bytes] = []

    def signing_key() -> bytes:
        if not key_holder:  # read lazily: the store may be migrated after the app is built
            key_holder.append(accounts.signing_key(engine))
        return key_holder[0]

    def page(request: Request, name: str, status: int = 200, **ctx: Any) -> Response:
        resp = templates.TemplateResponse(request, name, ctx, status_code=status)
        resp.headers.update(SECURITY_HEADERS)
        return resp

    def login_page(request: Request, status: int, error: str | None = None) -> Response:
        token = secrets.token_urlsafe(24)
        resp = page(request, "login.html", status, csrf=token, error=error, who=None)
        resp.set_cookie(LOGIN_CSRF, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/console")
        return resp

    def now_for(tenant: str) -> Any:
        return pipeline_for(tenant).clock()

    def current(request: Request) -> ConsoleSession | None:
        from datetime import datetime, timezone

        return accounts.session_for(engine, signing_key(), request.cookies.get(COOKIE),
                                    datetime.now(timezone.utc))

    async def gate(request: Request, permission: str) -> ConsoleSession | Response:
        """The session, or the response that refuses the request (401 login, 403, bad CSRF)."""
        who = current(request)
        if who is None:
            return login_page(request, 401, "Please log in.")
        if request.method == "POST":
            sent = request.headers.get("x-csrf-token")
            if sent is None:
                sent = (await request.form()).get("csrf")
            if not isinstance(sent, str) or not secrets.compare_digest(sent, who.csrf):
                return page(request, "error.html", 403, who=who,
                            error="Missing or wrong CSRF token: reload the page and try again.")
        if not allowed(who.role, permission):
            return page(request, "error.html", 403, who=who,
                        error=f"Your role ({who.role}) may not {permission.replace(':', ' ')}.")
        return who

    # -- static and login -----------------------------------------------------------------------

    @r.get("/console/static/{name}")
    def static(name: str) -> Response:
        if name not in STATIC_FILES:
            return Response("not found", status_code=404)
        return FileResponse(STATIC / name, media_type=STATIC_FILES[name],
                            headers={"Cache-Control": "public, max-age=3600"})

    @r.get("/console/login")
    def login_form(request: Request) -> Response:
        return login_page(request, 200)

    @r.post("/console/login")
    async def login(request: Request) -> Response:
        from datetime import datetime, timezone

        form = await request.form()
        sent, expected = form.get("csrf"), request.cookies.get(LOGIN_CSRF)
        if not isinstance(sent, str) or not expected or not secrets.compare_digest(sent, expected):
            return login_page(request, 403, "The form expired: please try again.")
        username, password = form.get("username"), form.get("password")
        tenant = str(form.get("tenant") or "default")
        cookie = None
        if isinstance(username, str) and isinstance(password, str) and username and password:
            cookie = accounts.login(engine, signing_key(), tenant=tenant, username=username,
                                    password=password, now=datetime.now(timezone.utc))
        if cookie is None:
            return login_page(request, 401, "Wrong username or password.")
        resp = RedirectResponse("/console/", status_code=303)
        resp.set_cookie(COOKIE, cookie, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/console",
                        max_age=int(accounts.SESSION_TTL.total_seconds()))
        resp.delete_cookie(LOGIN_CSRF, path="/console")
        return resp

    @r.post("/console/logout")
    async def logout(request: Request) -> Response:
        from datetime import datetime, timezone

        who = await gate(request, "review:read")
        if isinstance(who, Response):
            return who
        accounts.logout(engine, request.cookies.get(COOKIE), datetime.now(timezone.utc))
        resp = RedirectResponse("/console/login", status_code=303)
        resp.delete_cookie(COOKIE, path="/console")
        return resp

    @r.post("/console/prefs")
    async def prefs(request: Request) -> Response:
        who = await gate(request, "review:read")
        if isinstance(who, Response):
            return who
        form = await request.form()
        accounts.set_prefs(engine, tenant=who.tenant, username=who.username,
                           blur_all=form.get("blur_all") == "on",
                           grayscale=form.get("grayscale") == "on")
        return Response(status_code=204, headers={"HX-Refresh": "true"})

    # -- queues ---------------------------------------------------------------------------------

    @r.get("/console/")
    async def queues(request: Request) -> Response:
        who = await gate(request, "review:read")
        if isinstance(who, Response):
            return who
        with Session(engine) as s:
            qs = summaries(s, who.tenant, now_for(who.tenant))
        return page(request, "queues.html", who=who, queues=qs,
                    message=request.query_params.get("msg"),
                    may_decide=allowed(who.role, "review:decide"),
                    may_appeal=allowed(who.role, "appeals:decide"))

    @r.post("/console/queues/{queue}/claim")
    async def claim_next(queue: str, request: Request) -> Response:
        who = await gate(request, "review:decide")
        if isinstance(who, Response):
            return who
        if queue == APPEALS_QUEUE and not allowed(who.role, "appeals:decide"):
            return page(request, "error.html", 403, who=who,
                        error="Appeals are decided by senior reviewers.")
        now = now_for(who.tenant)
        with Session(engine) as s:
            user = s.get(ConsoleUserRow, (who.tenant, who.username))
            skip = must_skip_graphic(user, user.last_decided_at if user else None, now)
        task = claim(engine, tenant=who.tenant, queue=queue, reviewer=who.username, now=now,
                     exclude_graphic=skip)
        if task is None:
            msg = (f"You have reviewed {GRAPHIC_LIMIT} graphic items in a row: only non-graphic "
                   f"items are offered until you take a break." if skip
                   else f"Nothing waiting in {queue}.")
            return RedirectResponse("/console/?" + urlencode({"msg": msg}), status_code=303)
        return RedirectResponse(f"/console/tasks/{task.id}", status_code=303)

    # -- tasks ----------------------------------------------------------------------------------

    def content_images(tenant: str, content_id: str, signals: list[Any]) -> list[dict[str, Any]]:
        """The item's image thumbnails (stored by tidebreak.media.prepare), always shown
        blurred until the reviewer clicks; those that matched a bank say so."""
        with Session(engine) as s:
            row = s.get(ContentRow, (tenant, content_id))
        media = (row.meta or {}).get("media") if row is not None else None
        if not isinstance(media, list):
            return []
        matched = {(sg.get("evidence") or {}).get("media_index") for sg in signals
                   if isinstance(sg, dict) and (sg.get("evidence") or {}).get("match") == "pdq"}
        return [{"thumb": m["thumb"], "matched": i in matched, "pdq": m.get("pdq"),
                 "ocr_text": m.get("ocr_text") or ""}
                for i, m in enumerate(media)
                if isinstance(m, dict) and isinstance(m.get("thumb"), str)
                and m["thumb"].isascii()]

    def task_page(request: Request, who: ConsoleSession, task_id: RowId, status: int = 200,
                  result: Any = None, error: str | None = None) -> Response:
        tenant = who.tenant
        p = pipeline_for(tenant)
        ensure_task_evidence(engine, p.detectors, tenant, task_id, clock=p.clock)
        try:
            with Session(engine) as s:
                ctx = task_context(s, tenant, task_id, now_for(tenant))
        except ReviewError as e:
            return page(request, "error.html", e.status, who=who, error=e.reason)
        appeal = ctx["task"]["kind"] == "appeal"
        images = content_images(tenant, ctx["content"]["id"], ctx.get("signals") or [])
        verdicts = APPEAL_VERDICTS if appeal else VERDICTS
        may = allowed(who.role, "appeals:decide" if appeal else "review:decide")
        return page(request, "task.html", status, who=who, ctx=ctx, t=ctx["task"],
                    c=ctx["content"], verdicts=[(v, KEYS[v]) for v in verdicts], may_decide=may,
                    clauses=clauses(pipeline_for(tenant).policy), result=result, error=error,
                    blur=who.blur_all or ctx["hostile"], images=images,
                    mine=ctx["task"]["claimed_by"] == who.username)

    @r.get("/console/tasks/{task_id}")
    async def show_task(task_id: RowId, request: Request) -> Response:
        who = await gate(request, "review:read")
        if isinstance(who, Response):
            return who
        return task_page(request, who, task_id)

    @r.post("/console/tasks/{task_id}/decide")
    async def decide(task_id: RowId, request: Request) -> Response:
        who = await gate(request, "review:read")
        if isinstance(who, Response):
            return who
        if not allowed(who.role, "review:decide"):
            # Shown in the task page, where the attempt was made (htmx swaps #task-state).
            return task_page(request, who, task_id, 403,
                             error=f"Your role ({who.role}) may not decide tasks.")
        form = await request.form()
        try:
            result = decide_task(pipeline_for(who.tenant), task_id=task_id, reviewer=who.username,
                                 verdict=form.get("verdict"), clause_id=form.get("clause"),
                                 note=form.get("note") or None,
                                 may_decide_appeals=allowed(who.role, "appeals:decide"))
        except ReviewError as e:
            return task_page(request, who, task_id, e.status, error=e.reason)
        return task_page(request, who, task_id, result=result)

    @r.post("/console/tasks/{task_id}/release")
    async def release_task(task_id: RowId, request: Request) -> Response:
        who = await gate(request, "review:decide")
        if isinstance(who, Response):
            return who
        try:
            release(engine, tenant=who.tenant, task_id=task_id, reviewer=who.username,
                    now=now_for(who.tenant))
        except ReviewError as e:
            return task_page(request, who, task_id, e.status, error=e.reason)
        return RedirectResponse("/console/?" + urlencode({"msg": "Task handed back."}),
                                status_code=303)

    # -- appeals and search ---------------------------------------------------------------------

    @r.get("/console/appeals")
    async def appeals_view(request: Request) -> Response:
        who = await gate(request, "review:read")
        if isinstance(who, Response):
            return who
        status = request.query_params.get("status") or None
        if status not in (None, "open", "reversed", "maintained"):
            return page(request, "error.html", 400, who=who,
                        error="status must be open, reversed or maintained")
        with Session(engine) as s:
            rows = list_appeals(s, who.tenant, status=status)
        return page(request, "appeals.html", who=who, appeals=rows, status=status)

    @r.get("/console/search")
    async def search_view(request: Request) -> Response:
        who = await gate(request, "review:read")
        if isinstance(who, Response):
            return who
        q = request.query_params.get("q", "")
        field = request.query_params.get("field", "content")
        results, error = [], None
        if q:
            try:
                with Session(engine) as s:
                    results = search(s, who.tenant, q, field)
            except ReviewError as e:
                error = e.reason
        return page(request, "search.html", 400 if error else 200, who=who, q=q, field=field,
                    results=results, error=error)

    return r
