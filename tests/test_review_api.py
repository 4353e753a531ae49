"""Review over HTTP: reports, appeals, notices, queues and tasks as JSON, the console's login,
sessions and CSRF, and a table that every review and console route refuses the wrong role."""

from __future__ import annotations

import re
from urllib.parse import unquote_plus
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.review import accounts
from tidebreak.store.schema import ConsoleSessionRow

from .review_helpers import open_tasks, review_pipeline
from .test_pipeline import counts

PASSWORD = "correct horse battery"
ROLES = ("platform", "reviewer", "senior_reviewer", "policy_admin", "auditor", "admin")


@pytest.fixture
def api(engine, clock):  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    client = TestClient(create_app(engine, Settings(), lambda tenant: p), base_url="https://testserver")
    keys = {role: create_key(engine, role) for role in ROLES}
    for role in ROLES[1:]:
        accounts.create_user(engine, tenant="default", username=role.replace("_", "-"), role=role,
                             password=PASSWORD, by="test", now=clock.now)
    return client, keys, engine, p


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def login(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Log in through the form; returns the session's CSRF token."""
    form = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    r = client.post("/console/login", data={"csrf": token, "username": username,
                                           "password": password}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/console/")
    return re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)  # type: ignore[union-attr]


def submit(client: TestClient, keys: dict[str, str], cid: str, text: str, author: str = "u1") -> None:
    r = client.post("/v1/content", headers=auth(keys["platform"]),
                    json={"id": cid, "text": text, "author": author})
    assert r.status_code == 201, r.text


def test_report_claim_decide_appeal_and_notice_over_json(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, engine, _ = api
    submit(client, keys, "p1", "you again [harassment=0.3]")
    r = client.post("/v1/reports", headers=auth(keys["platform"]),
                    json={"content_id": "p1", "reason": "harassment", "reporter": "u7",
                          "statement": "keeps following me"})
    assert r.status_code == 201, r.text
    task_id = r.json()["task_id"]
    r2 = client.post("/v1/reports", headers=auth(keys["platform"]),
                     json={"content_id": "p1", "reason": "hate", "reporter": "u8"})
    assert r2.json()["task_id"] == task_id  # merged
    queues = client.get("/v1/review/queues", headers=auth(keys["auditor"])).json()["queues"]
    assert [(q["queue"], q["waiting"], q["sla_status"]) for q in queues] == [("reports", 1, "ok")]

    claimed = client.post("/v1/review/queues/reports/claim", headers=auth(keys["reviewer"]))
    assert claimed.status_code == 200 and claimed.json()["task_id"] == task_id
    assert client.post("/v1/review/queues/reports/claim",
                       headers=auth(keys["senior_reviewer"])).status_code == 204
    view = client.get(f"/v1/review/tasks/{task_id}", headers=auth(keys["reviewer"])).json()
    assert view["content"]["text"].startswith("you again")
    assert [x["reason"] for x in view["reports"]] == ["harassment", "hate"]
    assert view["author"]["id"] == "u1"

    bad = client.post(f"/v1/review/tasks/{task_id}/decide", headers=auth(keys["reviewer"]),
                      json={"verdict": "remove"})
    assert bad.status_code == 400 and "clause" in bad.json()["reason"]
    ok = client.post(f"/v1/review/tasks/{task_id}/decide", headers=auth(keys["reviewer"]),
                     json={"verdict": "remove", "clause": "harassment-remove"})
    assert ok.status_code == 200, ok.text
    assert ok.json()["decision"]["action"] == "remove"

    notice = client.get("/v1/notices/p1", headers=auth(keys["platform"])).json()
    assert notice["automated"] is False and notice["appealable"] is True
    assert notice["reasons"][0]["rule"] == "human:harassment" and notice["how_to_appeal"]

    appeal = client.post("/v1/appeals", headers=auth(keys["platform"]),
                         json={"content_id": "p1", "appellant": "u1", "statement": "banter"})
    assert appeal.status_code == 201, appeal.text
    # the reviewer key that decided is not offered the appeal even with a senior role elsewhere
    t = client.post("/v1/review/queues/appeals/claim", headers=auth(keys["senior_reviewer"]))
    assert t.status_code == 200
    done = client.post(f"/v1/review/tasks/{t.json()['task_id']}/decide",
                       headers=auth(keys["senior_reviewer"]),
                       json={"verdict": "reverse", "clause": "harassment-remove"})
    assert done.status_code == 200, done.text
    got = client.get(f"/v1/appeals/{appeal.json()['appeal_id']}", headers=auth(keys["platform"]))
    assert got.json()["status"] == "reversed"
    assert client.get("/v1/decisions/p1", headers=auth(keys["platform"])).json()[
        "content_state"]["state"] == "visible"
    found = client.get("/v1/review/search", params={"q": "u1", "field": "author"},
                       headers=auth(keys["auditor"])).json()["results"]
    assert [x["content_id"] for x in found] == ["p1"]


@pytest.mark.parametrize("body, status, match", [
    ({"content_id": "p1", "reason": "ugly"}, 400, "reason"),
    ({"content_id": "nope", "reason": "hate"}, 404, "unknown content"),
    ({"reason": "hate"}, 400, "content_id"),
    ({"content_id": "p1", "reason": "hate", "colour": "red"}, 400, "unknown field"),
    ({"content_id": "p1", "reason": "hate", "statement": 5}, 400, "statement"),
    ([1, 2], 400, "JSON object"),
])
def test_bad_reports_answer_4xx_and_store_nothing(api, body, status, match) -> None:  # type: ignore[no-untyped-def]
    client, keys, engine, _ = api
    submit(client, keys, "p1", "hello")
    before = counts(engine)
    r = client.post("/v1/reports", headers=auth(keys["platform"]), json=body)
    assert r.status_code == status and match in r.json()["reason"], r.text
    assert counts(engine) == before


def test_console_login_sessions_are_signed_expire_and_end_at_logout(api, clock) -> None:  # type: ignore[no-untyped-def]
    client, _, engine, _ = api
    assert client.get("/console/").status_code == 401
    form = client.get("/console/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    wrong = client.post("/console/login", data={"csrf": token, "username": "reviewer",
                                                "password": "nope nope nope"})
    assert wrong.status_code == 401 and "Wrong username or password" in wrong.text
    no_csrf = client.post("/console/login", data={"csrf": "forged", "username": "reviewer",
                                                  "password": PASSWORD})
    assert no_csrf.status_code == 403
    csrf = login(client, "reviewer")
    cookie = client.cookies.get("tb_session")
    sid, exp, sig = cookie.split(".")
    client.cookies.clear()
    client.cookies.set("tb_session", f"{sid}.{int(exp) + 3600}.{sig}", path="/console")
    assert client.get("/console/").status_code == 401  # altered expiry: bad signature
    client.cookies.clear()
    client.cookies.set("tb_session", cookie, path="/console")
    assert client.get("/console/").status_code == 200
    with Session(engine) as s, s.begin():  # the server side expires it too
        row = s.execute(select(ConsoleSessionRow)).scalar_one()
        row.expires_at = datetime.now(timezone.utc) - timedelta(seconds=1)
    assert client.get("/console/").status_code == 401
    with Session(engine) as s, s.begin():
        s.execute(select(ConsoleSessionRow)).scalar_one().expires_at = (
            datetime.now(timezone.utc) + timedelta(hours=1))
    assert client.post("/console/logout", data={"csrf": "wrong"}).status_code == 403
    assert client.post("/console/logout", data={"csrf": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("tb_session", cookie, path="/console")
    assert client.get("/console/").status_code == 401  # revoked server-side


def test_console_decision_needs_the_csrf_token(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, engine, _ = api
    submit(client, keys, "p1", "I will find you [violence=0.6]")
    csrf = login(client, "reviewer")
    r = client.post("/console/queues/violence/claim", data={"csrf": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/console/tasks/")
    task_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = client.get(f"/console/tasks/{task_id}")
    assert 'class="content blurred"' in page.text and "violence-remove" in page.text
    before = counts(engine)
    forged = client.post(f"/console/tasks/{task_id}/decide",
                         data={"verdict": "remove", "clause": "violence-remove"})
    assert forged.status_code == 403 and "CSRF" in forged.text
    assert counts(engine) == before
    ok = client.post(f"/console/tasks/{task_id}/decide", headers={"X-CSRF-Token": csrf},
                     data={"verdict": "remove", "clause": "violence-remove"})
    assert ok.status_code == 200 and 'id="content-state">removed<' in ok.text


def test_task_page_shows_the_words_that_drove_a_score(api) -> None:  # type: ignore[no-untyped-def]
    client, keys, _, _ = api
    submit(client, keys, "p1", "I will *find* you [violence=0.6]")
    csrf = login(client, "reviewer")
    r = client.post("/console/queues/violence/claim", data={"csrf": csrf}, follow_redirects=False)
    page = client.get(r.headers["location"])
    assert '<td class="why"><mark title="log-odds 1.00">find</mark>' in page.text


def test_graphic_items_are_capped_in_a_row(api, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.api import console

    client, keys, engine, _ = api
    monkeypatch.setattr(console, "GRAPHIC_LIMIT", 2)
    monkeypatch.setattr("tidebreak.review.wellbeing.GRAPHIC_LIMIT", 2)
    for i in range(3):
        submit(client, keys, f"g{i}", f"graphic threat {i} [violence=0.8{i}]")
    submit(client, keys, "calm", "a calmer one [violence=0.55]")
    csrf = login(client, "reviewer")

    def claim_next() -> str | None:
        r = client.post("/console/queues/violence/claim", data={"csrf": csrf},
                        follow_redirects=False)
        if not r.headers["location"].startswith("/console/tasks/"):
            return unquote_plus(r.headers["location"])
        task_id = int(r.headers["location"].rsplit("/", 1)[1])
        cid = next(t.content_id for t in open_tasks(engine) if t.id == task_id)
        client.post(f"/console/tasks/{task_id}/decide", headers={"X-CSRF-Token": csrf},
                    data={"verdict": "approve", "clause": "violence-review"})
        return cid

    # the calm item ranks first (the model is least sure of it), then two graphic ones
    assert [claim_next(), claim_next(), claim_next()] == ["calm", "g0", "g1"]
    held_back = claim_next()
    assert held_back is not None and "graphic items in a row" in held_back
    clock.advance(minutes=16)  # a break
    assert claim_next() == "g2"


def test_preferences_toggle_blur_and_grayscale(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _, _ = api
    csrf = login(client, "reviewer")
    r = client.post("/console/prefs", headers={"X-CSRF-Token": csrf},
                    data={"blur_all": "on", "grayscale": "on"})
    assert r.status_code == 204
    assert '<body class="grayscale"' in client.get("/console/").text


# -- every route refuses a caller without the right role ------------------------------------------

API_ROUTES = {  # (method, path): roles allowed
    ("POST", "/v1/reports"): {"platform", "admin"},
    ("GET", "/v1/review/reports/{content_id}"): {"reviewer", "senior_reviewer", "policy_admin", "auditor", "admin"},
    ("POST", "/v1/appeals"): {"platform", "admin"},
    ("GET", "/v1/appeals/{appeal_id}"): set(ROLES),
    ("GET", "/v1/notices/{content_id}"): set(ROLES),
    ("GET", "/v1/review/queues"): {"reviewer", "senior_reviewer", "policy_admin", "auditor", "admin"},
    ("POST", "/v1/review/queues/{queue}/claim"): {"reviewer", "senior_reviewer", "admin"},
    ("GET", "/v1/review/tasks/{task_id}"): {"reviewer", "senior_reviewer", "policy_admin", "auditor", "admin"},
    ("POST", "/v1/review/tasks/{task_id}/decide"): {"reviewer", "senior_reviewer", "admin"},
    ("POST", "/v1/review/tasks/{task_id}/release"): {"reviewer", "senior_reviewer", "admin"},
    ("GET", "/v1/review/search"): {"reviewer", "senior_reviewer", "policy_admin", "auditor", "admin"},
}
READ = {"reviewer", "senior_reviewer", "policy_admin", "auditor", "admin"}
DECIDE = {"reviewer", "senior_reviewer", "admin"}
CONSOLE_ROUTES = {
    ("GET", "/console/"): READ,
    ("POST", "/console/logout"): READ,
    ("POST", "/console/prefs"): READ,
    ("POST", "/console/queues/{queue}/claim"): DECIDE,
    ("GET", "/console/tasks/{task_id}"): READ,
    ("POST", "/console/tasks/{task_id}/decide"): DECIDE,
    ("POST", "/console/tasks/{task_id}/release"): DECIDE,
    ("GET", "/console/appeals"): READ,
    ("GET", "/console/search"): READ,
}
OPEN_CONSOLE = {("GET", "/console/login"), ("POST", "/console/login"),
                ("GET", "/console/static/{name}")}


def _routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    out: set[tuple[str, str]] = set()
    stack = list(app.routes)
    while stack:
        r = stack.pop()
        if hasattr(r, "original_router"):
            stack.extend(r.original_router.routes)
            continue
        for m in getattr(r, "methods", None) or ():
            if m != "HEAD":
                out.add((m, r.path))
    return out


def _url(path: str) -> str:
    return (path.replace("{content_id}", "p1").replace("{appeal_id}", "1")
            .replace("{queue}", "violence").replace("{task_id}", "1"))


def test_the_role_tables_cover_every_review_and_console_route(api) -> None:  # type: ignore[no-untyped-def]
    client, _, _, _ = api
    mine = {(m, p) for m, p in _routes(client.app) if p == "/v1/reports" or p.startswith(
        ("/console", "/v1/review", "/v1/appeals", "/v1/notices"))}
    assert mine == set(API_ROUTES) | set(CONSOLE_ROUTES) | OPEN_CONSOLE


@pytest.mark.parametrize("route", sorted(API_ROUTES))
def test_api_routes_refuse_missing_bad_and_wrong_role_keys(api, route) -> None:  # type: ignore[no-untyped-def]
    client, keys, engine, _ = api
    submit(client, keys, "p1", "I will find you [violence=0.6]")
    method, path = route
    before = counts(engine)
    assert client.request(method, _url(path), json={}).status_code == 401
    assert client.request(method, _url(path), json={},
                          headers=auth("tb_bad_key")).status_code == 401
    for role in set(ROLES) - API_ROUTES[route]:
        r = client.request(method, _url(path), json={}, headers=auth(keys[role]))
        assert r.status_code == 403, (role, r.text)
        assert r.json()["error"] == "forbidden" and r.json()["reason"]
    assert counts(engine) == before  # refusals change nothing
    for role in API_ROUTES[route]:  # the right roles get past the gate (then may meet a 4xx)
        r = client.request(method, _url(path), json={}, headers=auth(keys[role]))
        assert r.status_code != 401 and (r.status_code != 403 or r.json()["error"] != "forbidden"
                                         or "may not" not in r.json()["reason"]), (role, r.text)


@pytest.mark.parametrize("route", sorted(CONSOLE_ROUTES))
def test_console_routes_refuse_no_session_and_the_wrong_role(api, route) -> None:  # type: ignore[no-untyped-def]
    client, keys, engine, _ = api
    submit(client, keys, "p1", "I will find you [violence=0.6]")
    method, path = route
    before = counts(engine)
    assert client.request(method, _url(path)).status_code == 401
    for role in set(ROLES[1:]) - CONSOLE_ROUTES[route]:
        client.cookies.clear()
        csrf = login(client, role.replace("_", "-"))
        r = client.request(method, _url(path), headers={"X-CSRF-Token": csrf},
                           data={"verdict": "remove", "clause": "violence-remove"})
        assert r.status_code == 403, (role, r.status_code)
    assert counts(engine) == before
