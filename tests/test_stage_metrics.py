"""Where a decision's time goes: every stage of the pipeline is timed
(`tidebreak_stage_seconds{stage}`, served at GET /metrics), the harm detector's evidence apart:
a pipeline from `build_pipeline` defers it (tidebreak.evidence), and filling it is timed."""

from __future__ import annotations

from prometheus_client import REGISTRY

from tidebreak import evidence
from tidebreak.config import Settings
from tidebreak.ingest import parse_event
from tidebreak.metrics import STAGES
from tidebreak.runtime import build_pipeline


def counts() -> dict[str, float]:
    return {s: REGISTRY.get_sample_value("tidebreak_stage_seconds_count", {"stage": s}) or 0.0
            for s in STAGES}


def test_every_stage_of_a_decision_is_timed(engine, clock) -> None:  # type: ignore[no-untyped-def]
    p = build_pipeline(engine, Settings(), clock=clock, detector_names=["harm", "voting"])
    before = counts()
    # a threat scores over the harm model's bars: its evidence (occlusion spans) is deferred
    p.process_batch([parse_event({"id": "s1", "author": "u1", "text": "I will kill you tomorrow"}),
                     parse_event({"id": "s2", "author": "u2", "text": "Lovely tomatoes today"})])
    after = counts()
    grew = {s: after[s] - before[s] for s in STAGES}
    # once per batch (evidence: not on the decision's path; one transaction, one commit) ...
    assert grew["ingest"] == 1 and grew["detect"] == 1 and grew["evidence"] == 0
    assert grew["commit"] == 1
    # ... and once per event (context: and once for the rows the whole batch reads up front)
    for s in ("policy", "content", "record", "enforce"):
        assert grew[s] == 2, (s, grew)
    assert grew["context"] == 3
    total = REGISTRY.get_sample_value("tidebreak_stage_seconds_sum", {"stage": "detect"})
    assert total is not None and total > 0
    # ... and the deferred evidence, once per batch that fills it
    assert evidence.fill(engine, p.detectors, "default", budget_s=60).decisions == 1
    assert counts()["evidence"] == after["evidence"] + 1
