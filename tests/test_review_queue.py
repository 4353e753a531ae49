"""Review queues: ranking, reports merged into one task, trusted flaggers, SLA status, leases,
and concurrent claims (8 reviewers x 1,000 tasks on PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tidebreak import ledger
from tidebreak.enforce import review_priority as prio
from tidebreak.review.errors import Conflict
from tidebreak.review.leases import claim, release
from tidebreak.enforce.review_queue import open_task, summaries
from tidebreak.review.reports import add_flagger
from tidebreak.store.schema import ContentRow, LedgerEntryRow, ReviewReportRow, ReviewTaskRow

from .review_helpers import open_tasks, post, report, review_pipeline


def test_priority_is_severity_times_reach_times_confidence_gap() -> None:
    assert prio.confidence_gap(0.5) == 1.0  # the model could not tell
    assert prio.confidence_gap(0.99) == prio.MIN_GAP  # sure, but escalated: still counts
    assert prio.predicted_reach(0, 0.0) == 1.0
    assert prio.predicted_reach(999_999, 0.0) == pytest.approx(7.0)
    assert prio.priority(4.0, 2.0, 0.5) == 4.0
    assert prio.priority(4.0, 2.0, 0.5, trusted=True) == 8.0


def test_an_escalation_is_ranked_from_its_rule_and_scores(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "I know where you live [violence=0.6]"))
    (task,) = open_tasks(engine, "p1")
    assert (task.queue, task.kind, task.reason) == ("violence", "escalation", "violence-review")
    assert task.severity == prio.SEVERITY["critical"]
    assert task.confidence_gap == pytest.approx(0.8)  # 1 - |2*0.6 - 1|
    assert task.priority == pytest.approx(4.0 * 1.0 * 0.8)
    assert prio.aware(task.due_at) == clock.now + timedelta(minutes=prio.DEFAULT_SLA_MINUTES["violence"])


def test_many_reports_on_one_item_share_one_task_and_each_is_recorded(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "you people again [harassment=0.2]"))
    for i, reason in enumerate(["harassment", "hate", "harassment"]):
        p.process(report("p1", reason, f"user{i}", statement=f"seen by user{i}"))
    (task,) = open_tasks(engine, "p1")
    assert (task.queue, task.kind, task.report_count) == ("reports", "report", 3)
    assert task.severity == prio.SEVERITY["high"]  # the most severe reason reported
    with Session(engine) as s:
        reports = s.execute(select(ReviewReportRow).order_by(ReviewReportRow.id)).scalars().all()
        assert [r.reason for r in reports] == ["harassment", "hate", "harassment"]
        assert {r.task_id for r in reports} == {task.id}
        assert reports[0].statement == "seen by user0"
        kinds = s.execute(select(LedgerEntryRow.kind)).scalars().all()
        assert kinds.count("report.received") == 3
        assert ledger.verify(s)[1] is None


def test_a_repeated_report_event_is_counted_once(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "hello"))
    p.process(report("p1", "spam", "u9"))
    assert p.process(report("p1", "spam", "u9")).duplicate
    assert open_tasks(engine, "p1")[0].report_count == 1


def test_a_report_joins_the_items_open_escalation(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "I know where you live [violence=0.6]"))
    p.process(report("p1", "violence", "u1"))
    (task,) = open_tasks(engine, "p1")
    assert (task.queue, task.report_count) == ("violence", 1)


def test_trusted_flaggers_reports_rank_first(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    with Session(engine) as s, s.begin():
        add_flagger(s, tenant="default", reporter="ngo-1", organisation="Hate Watch",
                    by="test", now=clock.now)
    p.process(post("a", "plain words"))
    p.process(post("b", "plain words too"))
    p.process(report("a", "hate", "someone"))
    p.process(report("b", "hate", "ngo-1"))
    by_item = {t.content_id: t for t in open_tasks(engine)}
    assert by_item["b"].trusted and not by_item["a"].trusted
    assert by_item["b"].priority == pytest.approx(2 * by_item["a"].priority)
    first = claim(engine, tenant="default", queue="reports", reviewer="r1", now=clock.now)
    assert first is not None and first.content_id == "b"


def test_reports_on_removed_content_are_kept_but_open_no_task(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "they are vermin [hate=0.99]"))
    p.process(report("p1", "hate", "u1"))
    assert open_tasks(engine, "p1") == []
    with Session(engine) as s:
        assert s.execute(select(ReviewReportRow.task_id)).scalar_one() is None


def test_queue_summary_counts_and_sla_status(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "threat one [violence=0.6]"))
    p.process(post("p2", "threat two [violence=0.55]"))
    claim(engine, tenant="default", queue="violence", reviewer="r1", now=clock.now)
    with Session(engine) as s:
        (q,) = summaries(s, "default", clock.now)
    assert (q.name, q.waiting, q.claimed, q.overdue, q.sla.state) == ("violence", 1, 1, 0, "ok")
    clock.advance(minutes=100)  # 100 of 120 minutes: at risk
    with Session(engine) as s:
        assert summaries(s, "default", clock.now)[0].sla.state == "at_risk"
    clock.advance(minutes=30)  # past due; the lease (15 min) ran out too
    with Session(engine) as s:
        q = summaries(s, "default", clock.now)[0]
    assert (q.waiting, q.claimed, q.overdue, q.sla.state) == (2, 0, 2, "breached")


def test_two_reviewers_never_get_the_same_task_and_an_abandoned_lease_returns(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = review_pipeline(engine, clock)
    p.process(post("p1", "threat [violence=0.6]"))
    a = claim(engine, tenant="default", queue="violence", reviewer="alice", now=clock.now,
              lease=timedelta(minutes=10))
    assert a is not None and a.claimed_by == "alice"
    assert claim(engine, tenant="default", queue="violence", reviewer="bob", now=clock.now) is None
    clock.advance(minutes=11)  # alice closed her tab
    b = claim(engine, tenant="default", queue="violence", reviewer="bob", now=clock.now)
    assert b is not None and (b.id, b.claimed_by) == (a.id, "bob")
    with pytest.raises(Conflict, match="not leased to you"):
        release(engine, tenant="default", task_id=a.id, reviewer="alice", now=clock.now)
    release(engine, tenant="default", task_id=b.id, reviewer="bob", now=clock.now)
    assert open_tasks(engine)[0].status == "open"
    with Session(engine) as s:
        entries = s.execute(select(LedgerEntryRow.kind, LedgerEntryRow.payload)
                            .where(LedgerEntryRow.kind.like("review.%"))
                            .order_by(LedgerEntryRow.seq)).all()
    assert [k for k, _ in entries] == ["review.claim", "review.claim", "review.release"]
    assert '"reclaimed_from":"alice"' in entries[1][1]


def _fill(engine, now, n: int) -> set[int]:  # type: ignore[no-untyped-def]
    with Session(engine) as s, s.begin():
        for i in range(n):
            s.add(ContentRow(tenant="default", id=f"c{i}", kind="post", text=f"item {i}",
                             norm_text=f"item {i}", norm_key=f"item {i}", urls=[], meta={},
                             created_at=now, updated_at=now, version=1, state="pending_review",
                             reach=1.0, labels=[], reports=0, views=i, shares=0))
        s.flush()
        for i in range(n):
            open_task(s, tenant="default", content_id=f"c{i}", decision_id=None, queue="load",
                      priority=0.0, reason="test", now=now)
    with Session(engine) as s:
        return set(s.execute(select(ReviewTaskRow.id)).scalars())


def _race(engine, now, reviewers: int) -> list[list[int]]:  # type: ignore[no-untyped-def]
    got: list[list[int]] = [[] for _ in range(reviewers)]
    errors: list[BaseException] = []
    start = threading.Barrier(reviewers)

    def work(k: int) -> None:
        try:
            start.wait()
            while (t := claim(engine, tenant="default", queue="load", reviewer=f"r{k}",
                              now=now, lease=timedelta(hours=1))) is not None:
                got[k].append(t.id)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(reviewers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not errors, errors
    return got


def _check_race(engine, ids: set[int], got: list[list[int]]) -> None:  # type: ignore[no-untyped-def]
    claimed = [i for g in got for i in g]
    assert len(claimed) == len(set(claimed)), "a task was handed to two reviewers"
    assert set(claimed) == ids, "a task was lost"
    assert sum(1 for g in got if g) > 1, "the claims did not run concurrently"
    with Session(engine) as s:
        assert s.execute(select(func.count()).select_from(LedgerEntryRow)
                         .where(LedgerEntryRow.kind == "review.claim")).scalar_one() == len(ids)
        assert ledger.verify(s)[1] is None


@pytest.mark.postgres
def test_eight_reviewers_claim_a_thousand_tasks_on_postgres_without_a_duplicate_or_a_loss(pg_url, clock) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.store.db import open_store

    engine = open_store(pg_url)
    try:
        ids = _fill(engine, clock.now, 1000)
        assert len(ids) == 1000
        _check_race(engine, ids, _race(engine, clock.now, 8))
    finally:
        engine.dispose()


def test_concurrent_claims_on_sqlite_are_safe_too(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.store.db import open_store

    engine = open_store(f"sqlite:///{tmp_path}/race.db")
    ids = _fill(engine, clock.now, 120)
    _check_race(engine, ids, _race(engine, clock.now, 4))
    engine.dispose()
