"""The console in a real browser (Debian's Chromium driven by Playwright, headless): a reviewer
logs in, claims a task, decides it with one key and sees the content's state and the ledger
change; an auditor logs in and is refused a decision. Skips, saying why, without a browser."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest

CHROMIUM = os.environ.get("TIDEBREAK_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed")
if not os.path.exists(CHROMIUM):
    pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium, or `make browser`)",
                allow_module_level=True)

import uvicorn  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from tidebreak.api.app import create_app  # noqa: E402
from tidebreak.auth import create_key  # noqa: E402
from tidebreak.config import Settings  # noqa: E402
from tidebreak.review import accounts  # noqa: E402
from tidebreak.store.db import open_store  # noqa: E402
from tidebreak.store.schema import ContentRow, LedgerEntryRow  # noqa: E402

from .review_helpers import post, review_pipeline  # noqa: E402

PASSWORD = "correct horse battery"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path, clock) -> Iterator[tuple[str, object]]:  # type: ignore[no-untyped-def]
    engine = open_store(f"sqlite:///{tmp_path}/console.db")
    p = review_pipeline(engine, clock)
    p.process(post("p1", "I know where you live [violence=0.6]", author="u1"))
    for name, role in (("rita", "reviewer"), ("audrey", "auditor")):
        accounts.create_user(engine, tenant="default", username=name, role=role,
                             password=PASSWORD, by="test", now=clock.now)
    create_key(engine, "platform")
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(engine, Settings(), lambda t: p),
                                        host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(100):
        if srv.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", engine
    srv.should_exit = True
    thread.join(timeout=10)
    engine.dispose()


@pytest.fixture
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


def _login(page, base: str, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/console/")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#queues")


def _ledger_size(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return s.execute(select(func.count()).select_from(LedgerEntryRow)).scalar_one()


def test_a_reviewer_claims_and_removes_with_one_key_and_sees_state_and_ledger(server, browser) -> None:  # type: ignore[no-untyped-def]
    base, engine = server
    page = browser.new_page()
    _login(page, base, "rita")
    row = page.locator('tr[data-queue="violence"]')
    assert row.locator(".waiting").inner_text() == "1"
    row.locator("button.claim").click()
    page.wait_for_selector("#decide")
    content = page.locator("#content")
    assert "blurred" in content.get_attribute("class")  # hostile: hidden until clicked
    content.click()
    assert "blurred" not in content.get_attribute("class")
    assert page.locator("#content-state").inner_text() == "pending_review"
    entries_before = page.locator("#ledger li").count()

    page.keyboard.press("r")  # no clause chosen yet: the browser refuses to submit
    page.wait_for_timeout(300)
    assert page.locator("#decision-result").count() == 0
    page.select_option("#clause", "violence-remove")
    page.locator("body").click(position={"x": 5, "y": 5})  # focus off the select
    page.keyboard.press("r")
    page.wait_for_selector("#decision-result")
    assert page.locator("#content-state").inner_text() == "removed"
    assert page.locator("#ledger li").count() > entries_before
    assert "reviewer:rita" in page.locator('#ledger li[data-kind="decision"]').first.inner_text()
    with Session(engine) as s:
        assert s.get(ContentRow, ("default", "p1")).state == "removed"


def test_an_auditor_can_look_but_is_refused_a_decision(server, browser) -> None:  # type: ignore[no-untyped-def]
    base, engine = server
    page = browser.new_page()
    _login(page, base, "audrey")
    assert page.locator("button.claim").count() == 0  # no claim buttons for a read-only role
    page.goto(f"{base}/console/tasks/1")
    assert page.locator("#read-only").is_visible()
    before = _ledger_size(engine)
    page.keyboard.press("r")
    page.wait_for_selector("#decision-error")
    assert "may not decide" in page.locator("#decision-error").inner_text()
    assert page.locator("#content-state").inner_text() == "pending_review"
    # and a hand-made request with the auditor's session is refused as well
    csrf = page.locator("body").get_attribute("hx-headers").split('"')[3]
    r = page.request.post(f"{base}/console/tasks/1/decide", headers={"X-CSRF-Token": csrf},
                          form={"verdict": "remove", "clause": "violence-remove"})
    assert r.status == 403
    assert _ledger_size(engine) == before
