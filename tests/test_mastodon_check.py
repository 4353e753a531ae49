"""`tidebreak adapters mastodon check` against a fake instance (tests/mastodon_fake.py, built
from the documented Mastodon API; not Mastodon itself): what is missing is said one line each,
exit 0 when all is well, 2 otherwise, and the probes change nothing on the instance."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from tidebreak.cli import app

from .mastodon_fake import FakeMastodon

runner = CliRunner()


@pytest.fixture
def fake() -> Iterator[FakeMastodon]:
    f = FakeMastodon().start()
    yield f
    f.stop()


def check(fake: FakeMastodon | None, *, token: str | None = None, secret: str | None = "s",
          url: str | None = None):  # type: ignore[no-untyped-def]
    env = {"TIDEBREAK_MASTODON_URL": url or (fake.url if fake else None),
           "TIDEBREAK_MASTODON_TOKEN": token or (fake.admin_token if fake else None),
           "TIDEBREAK_MASTODON_WEBHOOK_SECRET": secret, "TIDEBREAK_MASTODON_TIMEOUT": "2"}
    return runner.invoke(app, ["adapters", "mastodon", "check"],
                         env={k: v or "" for k, v in env.items()})


def test_all_good_exits_0_and_changes_nothing(fake: FakeMastodon) -> None:
    r = check(fake)
    assert r.exit_code == 0, r.output
    assert "problem" not in r.output and "ready" in r.output
    assert "Mastodon 4.3.2" in r.output and "resolve reports" in r.output
    assert fake.reports == {} and fake.actions == []
    # the write probes hit record 0, which never exists
    assert {c.status for c in fake.calls if c.method == "POST"} == {404}


def test_missing_scopes_are_named(fake: FakeMastodon) -> None:
    fake.add_token("reader", account_id=fake.admin["id"],
                   scopes=frozenset({"read", "write:reports", "admin:read"}))
    r = check(fake, token="reader")
    assert r.exit_code == 2
    problems = [line for line in r.output.splitlines() if line.startswith("problem:")]
    assert any("admin:write:accounts" in p for p in problems)
    assert any("admin:write:reports" in p for p in problems)
    assert not any("lacks scope write:reports" in p or "admin:read:" in p for p in problems)


def test_a_role_without_permissions_is_told_apart_from_a_missing_scope(fake: FakeMastodon) -> None:
    fake.add_token("mod", account_id=fake.admin["id"], role=frozenset({"manage_reports"}))
    r = check(fake, token="mod")
    assert r.exit_code == 2
    assert "Manage Users" in r.output and "lacks scope" not in r.output


def test_a_bad_token_an_unreachable_url_and_unset_variables(fake: FakeMastodon) -> None:
    r = check(fake, token="nope")
    assert r.exit_code == 2 and "token is invalid" in r.output
    port = fake.port
    fake.stop()
    r = check(None, url=f"http://127.0.0.1:{port}", token="x")
    assert r.exit_code == 2 and "cannot reach" in r.output
    r = check(None, url="", token="", secret="")
    assert r.exit_code == 2
    assert [line.split(" ")[1] for line in r.output.splitlines()
            if line.startswith("problem:")] == ["TIDEBREAK_MASTODON_URL",
                                                "TIDEBREAK_MASTODON_TOKEN",
                                                "TIDEBREAK_MASTODON_WEBHOOK_SECRET"]
