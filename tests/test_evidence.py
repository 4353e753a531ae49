"""Deferred evidence: occlusion spans are computed after the decision, for what a person will
look at, and every place that shows a person a decision's signals shows them.

Pipelines built by `runtime.build_pipeline` run the harm detector with `explain="deferred"`:
its over-threshold signals carry `"spans_pending": true` and the decision's `evidence` is
"pending". `tidebreak.evidence.fill` computes the spans in batches (one ledger entry each),
`ensure` computes one decision's on demand, and `attach` merges them into the decision shown.
"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak import evidence, ledger
from tidebreak.api.app import create_app
from tidebreak.auth import create_key
from tidebreak.config import Settings
from tidebreak.detect.base import EvidenceRequest, Explainer
from tidebreak.detect.harm import HarmClassifier
from tidebreak.evidence.rows import SpansRow, insert_missing
from tidebreak.ingest import parse_event
from tidebreak.model import Content, ContentKind, Item
from tidebreak.review import accounts
from tidebreak.runtime import build_pipeline
from tidebreak.store.decisions import decision_from_dict
from tidebreak.store.schema import DecisionEvidenceRow, DecisionRow, LedgerEntryRow, ReviewTaskRow
from tidebreak.text import normalise

from .natsd import nats_server  # noqa: F401 - fixture
from .test_review_api import PASSWORD, login

# What the bundled harm model and the default policy make of these (checked in each test):
REMOVED = "Muslims are vermin and a disease on this country"  # hate-remove (and nothing else)
REVIEWED = "I swear I could punch him"  # violence-review: an open task
BENIGN = "that judge should be removed from the bench"  # violence over the model's bar, under the policy's
CLEAN = "lovely tomatoes today"  # nothing over any bar


@pytest.fixture(scope="module")
def inline() -> HarmClassifier:
    return HarmClassifier(explain="inline")


def harm_pipeline(engine, clock, tenant: str = "default"):  # type: ignore[no-untyped-def]
    return build_pipeline(engine, Settings(), clock=clock, tenant=tenant, detector_names=["harm"])


def post(cid: str, text: str, author: str = "u1"):  # type: ignore[no-untyped-def]
    return parse_event({"id": cid, "text": text, "author": author})


def inline_spans(clf: HarmClassifier, text: str) -> dict[str, list[dict]]:
    """category -> spans, as the harm detector gives them inline for this text."""
    [sigs] = clf.detect([Item(Content(id="x", kind=ContentKind.POST, text=text), normalise(text))])
    return {s.category: s.evidence["spans"] for s in sigs if "spans" in s.evidence}


def shown_spans(decision: dict) -> dict[str, list[dict]]:
    return {s["category"]: s["evidence"]["spans"] for s in decision["signals"]
            if "spans" in s["evidence"]}


def ledger_kinds(engine) -> list[str]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return list(s.execute(select(LedgerEntryRow.kind).order_by(LedgerEntryRow.seq)).scalars())


def evidence_rows(engine, tenant: str | None = None) -> list[DecisionEvidenceRow]:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        q = select(DecisionEvidenceRow)
        if tenant:
            q = q.where(DecisionEvidenceRow.tenant == tenant)
        return list(s.execute(q).scalars())


def payload(engine, decision_id: str) -> dict:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        row = s.get(DecisionRow, decision_id)
        assert row is not None
        return row.payload


def api_client(engine, p):  # type: ignore[no-untyped-def]
    client = TestClient(create_app(engine, Settings(), lambda tenant: p),
                        base_url="https://testserver")
    return client, {role: create_key(engine, role) for role in ("platform", "reviewer")}


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


# -- the harm detector ---------------------------------------------------------------------------


def test_deferred_spans_filled_later_equal_the_inline_ones(inline: HarmClassifier) -> None:
    deferred = HarmClassifier(explain="deferred")
    assert isinstance(deferred, Explainer) and deferred.version == inline.version
    texts = [REMOVED, REVIEWED, BENIGN, CLEAN]
    items = [Item(Content(id=str(i), kind=ContentKind.POST, text=t), normalise(t))
             for i, t in enumerate(texts)]
    now, later = inline.detect(items), deferred.detect(items)
    requests, expected = [], []
    for it, a_sigs, b_sigs in zip(items, now, later):
        for a, b in zip(a_sigs, b_sigs):
            assert (a.category, a.score) == (b.category, b.score)
            assert "spans" not in b.evidence
            assert bool(b.evidence.get("spans_pending")) == ("spans" in a.evidence)
            if b.evidence.get("spans_pending"):
                requests.append(EvidenceRequest(it.norm.text, b.category))
                expected.append(a.evidence["spans"])
    assert len(requests) >= 3 and any(expected)  # one over-bar category in each of the first three
    # one batched call for all of them, in any order: the same spans inline gave
    assert deferred.explain_later(requests[::-1]) == expected[::-1]
    assert deferred.explain_later([EvidenceRequest("  ", "hate"), (REMOVED, "no-such")]) == [[], []]
    quiet = HarmClassifier(explain=False)
    assert not any("spans" in s.evidence or "spans_pending" in s.evidence
                   for sigs in quiet.detect(items) for s in sigs)


# -- decisions record whether their evidence is complete -----------------------------------------


def test_a_deferred_decision_is_pending_without_spans_and_round_trips(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = harm_pipeline(engine, clock)
    d = p.process(post("p1", REMOVED)).decision
    assert d.action.value == "remove" and d.evidence == "pending"
    body = d.to_dict()
    assert body["evidence"] == "pending"
    assert not any("spans" in s["evidence"] for s in body["signals"])
    assert any(s["evidence"].get("spans_pending") for s in body["signals"])
    stored = payload(engine, d.id)
    assert stored["evidence"] == "pending"
    assert decision_from_dict(stored).to_dict()["evidence"] == "pending"
    # a payload recorded before evidence could be deferred reads as complete
    old = {k: v for k, v in stored.items() if k != "evidence"}
    old["signals"] = [{**s, "evidence": {k: v for k, v in s["evidence"].items()
                                         if k not in ("spans_pending", "text_sha256")}}
                      for s in stored["signals"]]
    old["reasons"] = [{**h, "signals": []} for h in stored["reasons"]]
    assert decision_from_dict(old).evidence == "complete"
    clean = p.process(post("p2", CLEAN, "u2")).decision
    assert clean.evidence == "complete" and clean.to_dict()["evidence"] == "complete"


# -- fill: batches, budget, ledger ---------------------------------------------------------------


def test_fill_computes_what_people_will_see_and_the_api_and_console_show_inline_spans(  # type: ignore[no-untyped-def]
        engine, clock, inline) -> None:
    p = harm_pipeline(engine, clock)
    removed = p.process(post("p-removed", REMOVED, "u1")).decision
    reviewed = p.process(post("p-reviewed", REVIEWED, "u2")).decision
    benign = p.process(post("p-benign", BENIGN, "u3")).decision
    p.process(post("p-clean", CLEAN, "u4"))
    assert (removed.action.value, reviewed.action.value, benign.action.value) == (
        "remove", "review", "none")
    assert benign.evidence == "pending"  # over the model's bar: spans would be deferred...
    with Session(engine) as s:
        queue = evidence.pending(s, "default", 10)
        # ... but nobody will look at it, so it is not in the queue; the open task comes first
        assert [(x.decision_id, x.why) for x in queue] == [(reviewed.id, "review"),
                                                           (removed.id, "enforcement")]
        assert evidence.counts(s, "default") == {"complete": 1, "pending": 3, "wanted": 2,
                                                 "filled": 0}
    before = ledger_kinds(engine)
    res = evidence.fill(engine, p.detectors, "default", budget_s=60, batch_size=16)
    assert (res.decisions, res.batches, res.more) == (2, 1, False)
    assert ledger_kinds(engine) == before + ["evidence.attached"]
    with Session(engine) as s:
        entry = s.execute(select(LedgerEntryRow).where(
            LedgerEntryRow.kind == "evidence.attached")).scalar_one()
        assert ledger.verify(s)[1] is None
    body = json.loads(entry.payload)
    assert body["decision_ids"] == sorted([removed.id, reviewed.id])
    assert body["detector_versions"] == {"harm": inline.version}
    assert len(body["spans_sha256"]) == 64
    assert {r.decision_id for r in evidence_rows(engine)} == {removed.id, reviewed.id}
    # the recorded decision is never rewritten: its payload still says pending
    assert payload(engine, removed.id)["evidence"] == "pending"

    client, keys = api_client(engine, p)
    shown = client.get("/v1/decisions/p-removed", headers=auth(keys["platform"])).json()
    assert shown["evidence"] == "complete"
    assert shown_spans(shown) == inline_spans(inline, REMOVED) != {}
    assert not any("spans_pending" in s["evidence"] for s in shown["signals"])
    assert all(s["evidence"]["spans_of"] == "normalised text"
               for s in shown["signals"] if "spans" in s["evidence"])
    with Session(engine) as s:
        task_id = s.execute(select(ReviewTaskRow.id).where(
            ReviewTaskRow.content_id == "p-reviewed")).scalar_one()
    view = client.get(f"/v1/review/tasks/{task_id}", headers=auth(keys["reviewer"])).json()
    assert [d["evidence"] for d in view["decisions"]] == ["complete"]
    assert {s["category"]: s["evidence"]["spans"] for s in view["signals"]
            if "spans" in s["evidence"]} == inline_spans(inline, REVIEWED) != {}
    accounts.create_user(engine, tenant="default", username="rita", role="reviewer",
                         password=PASSWORD, by="test", now=clock.now)
    login(client, "rita")
    page = client.get(f"/console/tasks/{task_id}").text
    for spans in inline_spans(inline, REVIEWED).values():
        for sp in spans:
            assert f"<mark title=\"log-odds {sp['weight']:.2f}\">{sp['text']}</mark>" in page
    # showing it computed nothing more; the benign item was never filled
    assert ledger_kinds(engine).count("evidence.attached") == 1
    assert benign.id not in {r.decision_id for r in evidence_rows(engine)}


def test_a_reviewed_or_removed_item_shows_spans_when_opened_before_any_fill(  # type: ignore[no-untyped-def]
        engine, clock, inline) -> None:
    p = harm_pipeline(engine, clock)
    p.process(post("p-removed", REMOVED, "u1"))
    p.process(post("p-reviewed", REVIEWED, "u2"))
    client, keys = api_client(engine, p)
    before = ledger_kinds(engine)
    shown = client.get("/v1/decisions/p-removed", headers=auth(keys["platform"])).json()
    assert shown["evidence"] == "complete"
    assert shown_spans(shown) == inline_spans(inline, REMOVED) != {}
    assert ledger_kinds(engine) == before + ["evidence.attached"]  # computed now, and ledgered
    with Session(engine) as s:
        task_id = s.execute(select(ReviewTaskRow.id).where(
            ReviewTaskRow.content_id == "p-reviewed")).scalar_one()
    view = client.get(f"/v1/review/tasks/{task_id}", headers=auth(keys["reviewer"])).json()
    assert {s["category"]: s["evidence"]["spans"] for s in view["signals"]
            if "spans" in s["evidence"]} == inline_spans(inline, REVIEWED) != {}
    # opening them again computes nothing and writes nothing
    client.get("/v1/decisions/p-removed", headers=auth(keys["platform"]))
    client.get(f"/v1/review/tasks/{task_id}", headers=auth(keys["reviewer"]))
    assert ledger_kinds(engine) == before + ["evidence.attached"] * 2
    res = evidence.fill(engine, p.detectors, "default", budget_s=60)
    assert (res.decisions, res.batches) == (0, 0)


def test_a_tiny_budget_stops_after_one_batch_and_the_next_fill_resumes(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = harm_pipeline(engine, clock)
    for i in range(3):
        assert p.process(post(f"p{i}", f"{REMOVED} {i}", f"u{i}")).decision.action.value == "remove"
    first = evidence.fill(engine, p.detectors, "default", budget_s=1e-9, batch_size=1)
    assert (first.decisions, first.batches, first.more) == (1, 1, True)
    rest = evidence.fill(engine, p.detectors, "default", budget_s=60, batch_size=1)
    assert (rest.decisions, rest.batches, rest.more) == (2, 2, False)
    n = len(ledger_kinds(engine))
    again = evidence.fill(engine, p.detectors, "default", budget_s=60, batch_size=1)
    assert (again.decisions, again.batches, again.more) == (0, 0, False)
    assert len(ledger_kinds(engine)) == n  # a fill with nothing to do writes no ledger entry
    with Session(engine) as s:
        assert ledger.verify(s) == (n, None)
        assert evidence.counts(s, "default")["pending"] == 0
    limited = harm_pipeline(engine, clock)
    limited.process(post("p9", REMOVED, "u9"))
    limited.process(post("p10", REVIEWED, "u10"))
    res = evidence.fill(engine, limited.detectors, "default", budget_s=60, limit=1)
    assert (res.decisions, res.more) == (1, True)


def test_a_decision_scored_by_another_model_version_is_skipped_and_counted(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = harm_pipeline(engine, clock)
    d = p.process(post("p1", REMOVED)).decision
    newer = harm_pipeline(engine, clock)
    [harm] = newer.detectors
    harm.version = "harm-v9-retrained"  # the model was replaced since the decision
    n = len(ledger_kinds(engine))
    res = evidence.fill(engine, newer.detectors, "default", budget_s=60)
    assert (res.decisions, res.skipped_version, res.batches) == (0, 1, 0)
    assert len(ledger_kinds(engine)) == n and evidence_rows(engine) == []
    stored = payload(engine, d.id)
    with Session(engine) as s:  # still pending: spans from another model would lie
        assert evidence.attach(s, "default", stored)["evidence"] == "pending"


def test_an_edited_item_is_not_explained_on_its_new_text(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = harm_pipeline(engine, clock)
    first = p.process(post("p1", REMOVED)).decision
    p.process(parse_event({"type": "content.edit", "id": "p1", "event_id": "p1-edit",
                           "text": REVIEWED, "author": "u1"}))
    res = evidence.ensure(engine, p.detectors, "default", first.id)
    assert (res.decisions, res.skipped_other) == (0, 1)


def test_a_fill_never_touches_another_tenants_decisions(engine, clock) -> None:  # type: ignore[no-untyped-def]
    a, b = harm_pipeline(engine, clock, "tenant-a"), harm_pipeline(engine, clock, "tenant-b")
    da = a.process(post("same-id", REMOVED)).decision
    db = b.process(post("same-id", REMOVED)).decision
    res = evidence.fill(engine, a.detectors, "tenant-a", budget_s=60)
    assert res.decisions == 1
    assert {r.decision_id for r in evidence_rows(engine, "tenant-a")} == {da.id}
    assert evidence_rows(engine, "tenant-b") == []
    pa, pb = payload(engine, da.id), payload(engine, db.id)
    with Session(engine) as s:
        assert evidence.attach(s, "tenant-b", pb)["evidence"] == "pending"
        # tenant-b cannot read tenant-a's spans even by naming tenant-a's decision
        assert evidence.attach(s, "tenant-b", pa)["evidence"] == "pending"
        assert evidence.attach(s, "tenant-a", pa)["evidence"] == "complete"
        assert [x.decision_id for x in evidence.pending(s, "tenant-b", 10)] == [db.id]
    assert evidence.ensure(engine, a.detectors, "tenant-a", db.id).decisions == 0
    assert evidence_rows(engine, "tenant-b") == []


class RacingExplainer:
    """Wraps the harm detector; while it computes, a second filler completes the same decision
    (the API's on-demand path racing `tidebreak evidence fill`)."""

    def __init__(self, inner: HarmClassifier, rival) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.rival = inner, rival
        self.name, self.version = inner.name, inner.version

    def detect(self, items):  # type: ignore[no-untyped-def]
        return self.inner.detect(items)

    def explain_later(self, requests):  # type: ignore[no-untyped-def]
        self.rival()
        return self.inner.explain_later(requests)


def test_two_fillers_racing_on_one_decision_write_it_once(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = harm_pipeline(engine, clock)
    d = p.process(post("p1", REMOVED)).decision
    [harm] = p.detectors
    rival = lambda: evidence.ensure(engine, [harm], "default", d.id)  # noqa: E731
    n = len(ledger_kinds(engine))
    res = evidence.fill(engine, [RacingExplainer(harm, rival)], "default", budget_s=60)
    assert (res.decisions, res.already, res.batches) == (0, 1, 0)  # the rival won; no failure
    assert len(ledger_kinds(engine)) == n + 1  # the rival's entry only
    rows = evidence_rows(engine)
    assert rows and {r.decision_id for r in rows} == {d.id}
    with Session(engine) as s, s.begin():  # inserting existing rows again skips them
        again = [SpansRow(r.decision_id, r.detector, r.category, r.spans, r.detector_version)
                 for r in rows]
        assert insert_missing(s, "default", again, clock.now) == []
        assert ledger.verify(s)[1] is None


# -- timing, background and worker filling, the CLI ---------------------------------------------


def stage_count(stage: str) -> float:
    return REGISTRY.get_sample_value("tidebreak_stage_seconds_count", {"stage": stage}) or 0.0


def test_the_evidence_stage_times_deferred_filling_not_the_decision(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = harm_pipeline(engine, clock)
    before = stage_count("evidence")
    p.process(post("p1", REMOVED))
    assert stage_count("evidence") == before
    evidence.fill(engine, p.detectors, "default", budget_s=60)
    assert stage_count("evidence") == before + 1


def test_the_server_fills_only_while_no_request_is_in_flight(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = harm_pipeline(engine, clock)
    app = create_app(engine, Settings(), lambda tenant: p, evidence_in_background=True)
    filler = app.state.evidence_filler
    client = TestClient(app, base_url="https://testserver")
    key = create_key(engine, "platform")
    sent = client.post("/v1/content", headers=auth(key), json={"id": "p1", "text": REMOVED,
                                                                 "author": "u1"})
    assert sent.status_code == 201 and sent.json()["evidence"] == "pending"
    assert filler.run_once() is None  # a request just ended: not idle yet
    filler.idle_s = 0.0
    filler.request_started()  # a request in flight
    assert filler.run_once() is None and evidence_rows(engine) == []
    filler.request_finished()
    assert filler.run_once() == 1
    assert {row.decision_id for row in evidence_rows(engine)} == {sent.json()["decision_id"]}
    with TestClient(app, base_url="https://testserver"):  # start-up starts the thread
        assert filler._thread is not None and filler._thread.is_alive()
    assert filler._thread is None  # shutdown stopped it


@pytest.mark.postgres
def test_the_worker_fills_a_little_after_each_batch(pg_url, nats_server, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime, timezone

    from tidebreak.scale.broker import BrokerConfig, Producer, event_message, msg_id
    from tidebreak.scale.worker import Worker
    from tidebreak.store.db import open_store

    from .natsd import running_worker, wait_until

    engine = open_store(pg_url)
    cfg = BrokerConfig(url=nats_server.url, ack_wait=5, max_deliver=4, retry_delay=0.2)
    producer = Producer(cfg)
    p = harm_pipeline(engine, clock)
    try:
        for cid, text in (("p1", REMOVED), ("p2", CLEAN)):
            producer.publish(cfg.events_subject,
                             event_message("default", {"id": cid, "text": text, "author": "u1"},
                                           datetime.now(timezone.utc)), msg_id("default", cid))
        with running_worker(Worker(engine, cfg, lambda tenant: p, batch=8)):
            wait_until(lambda: len(evidence_rows(engine)) > 0, 30, "evidence filled")
        with Session(engine) as s:
            assert evidence.counts(s, "default")["wanted"] == 0
            assert ledger.verify(s)[1] is None
    finally:
        producer.close()
        engine.dispose()


def test_cli_fill_and_status(tmp_path, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.cli import app
    from tidebreak.store.db import open_store

    url = f"sqlite:///{tmp_path}/t.db"
    engine = open_store(url)
    p = harm_pipeline(engine, clock)
    p.process(post("p1", REMOVED, "u1"))
    p.process(post("p2", REVIEWED, "u2"))
    p.process(post("p3", CLEAN, "u3"))
    monkeypatch.setenv("TIDEBREAK_DETECTORS", "harm")
    runner = CliRunner()
    status = runner.invoke(app, ["evidence", "status", "--db", url, "--json"])
    assert status.exit_code == 0, status.output
    assert json.loads(status.stdout) == {"tenant": "default", "complete": 1, "pending": 2,
                                         "wanted": 2, "filled": 0}
    res = runner.invoke(app, ["evidence", "fill", "--db", url, "--budget", "30", "--limit", "1",
                              "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["decisions"] == 1
    res = runner.invoke(app, ["evidence", "fill", "--db", url])
    assert res.exit_code == 0 and "filled 1 decision" in res.stdout, res.output
    status = runner.invoke(app, ["evidence", "status", "--db", url])
    assert status.stdout.startswith("complete 3, pending 0"), status.output
    for bad in (["--budget", "0"], ["--budget", "soon"], ["--limit", "-1"], ["--batch", "1.5"]):
        r = runner.invoke(app, ["evidence", "fill", "--db", url, *bad])
        assert r.exit_code == 2, (bad, r.output)
        assert len(r.stderr.strip().splitlines()) == 1 and r.stderr.startswith("error: ")
    with Session(engine) as s:
        assert ledger.verify(s)[1] is None
        assert s.execute(select(func.count()).select_from(LedgerEntryRow).where(
            LedgerEntryRow.kind == "evidence.attached")).scalar_one() == 2
