"""`tidebreak review ...`: console users, SLA targets, trusted flaggers; bad input exits 2."""

from __future__ import annotations

from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.cli import app
from tidebreak.review.accounts import check_password
from tidebreak.store.db import open_store
from tidebreak.store.schema import ConsoleUserRow, ReviewQueueRow, TrustedFlaggerRow

runner = CliRunner()


def run(*args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), input=stdin)


def test_users_sla_and_flaggers(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path}/t.db"
    r = run("review", "users", "create", "rita", "--role", "reviewer", "--password-stdin",
            "--db", db, stdin="correct horse battery\n")
    assert r.exit_code == 0, r.output
    assert run("review", "sla", "set", "violence", "30", "--db", db).exit_code == 0
    assert run("review", "flaggers", "add", "ngo-1", "--org", "Hate Watch", "--db", db).exit_code == 0
    assert "violence" in run("review", "queues", "--db", db).output  # configured, empty
    engine = open_store(db)
    with Session(engine) as s:
        user = s.get(ConsoleUserRow, ("default", "rita"))
        assert user.role == "reviewer" and check_password(user.password_hash, "correct horse battery")
        assert s.get(ReviewQueueRow, ("default", "violence")).sla_minutes == 30
        assert s.get(TrustedFlaggerRow, ("default", "ngo-1")).organisation == "Hate Watch"


def test_bad_input_is_one_line_and_exit_2(tmp_path) -> None:  # type: ignore[no-untyped-def]
    db = f"sqlite:///{tmp_path}/t.db"
    for args, stdin, reason in [
        (("review", "users", "create", "rita", "--role", "platform", "--password-stdin"), "x" * 12, "console role"),
        (("review", "users", "create", "rita", "--role", "reviewer", "--password-stdin"), "short\n", "at least"),
        (("review", "users", "create", "Bad Name", "--role", "reviewer", "--password-stdin"), "x" * 12, "username"),
        (("review", "sla", "set", "violence", "0"), None, "minutes"),
        (("review", "flaggers", "remove", "nobody"), None, "not a trusted flagger"),
    ]:
        r = run(*args, "--db", db, stdin=stdin)
        assert r.exit_code == 2, r.output
        lines = [ln for ln in r.output.splitlines() if ln.strip()]
        assert lines == [lines[0]] and lines[0].startswith("error: ") and reason in lines[0]
    engine = open_store(db)
    with Session(engine) as s:
        assert s.get(ConsoleUserRow, ("default", "rita")) is None
