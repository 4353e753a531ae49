"""Detectors in a process of their own (TIDEBREAK_DETECT_IN=process) decide exactly as in one
process: the same actions, rules, signals and model versions, deferred evidence still filled,
banks still followed; a detector that fails in its process is an error, not a hang."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.orm import Session

from tidebreak.config import Settings
from tidebreak.evidence.fill import fill
from tidebreak.ingest import parse_event
from tidebreak.runtime import build_pipeline
from tidebreak.detect.bank_store import add_entry

TEXTS = {
    "h": "Muslims are vermin and should be driven out of this country",
    "v": "I will kill you tomorrow, you are dead",
    "b": "that referee should be fired",
    "c": "lovely tomatoes today",
}


def posts(prefix: str) -> list:  # type: ignore[type-arg]
    return [parse_event({"id": f"{prefix}{k}", "text": t, "author": f"a{k}"})
            for k, t in TEXTS.items()]


def test_a_child_process_decides_as_the_threads_do(engine, clock) -> None:  # type: ignore[no-untyped-def]
    names = ["bank", "harm", "voting"]
    here = build_pipeline(engine, Settings(), clock=clock, detector_names=names)
    there = build_pipeline(engine, Settings(detect_in="process"), clock=clock,
                           detector_names=names)
    try:
        assert there.model_versions == here.model_versions
        a = [o.decision for o in here.process_batch(posts("t-"))]
        b = [o.decision for o in there.process_batch(posts("p-"))]
        for x, y in zip(a, b):
            assert (x.action, x.rules, x.categories) == (y.action, y.rules, y.categories)
            assert [(s.detector, s.category, round(s.score, 6)) for s in x.signals] == \
                   [(s.detector, s.category, round(s.score, 6)) for s in y.signals]
        # deferred spans are computed through the child too
        assert fill(engine, there.detectors, "default", budget_s=60).decisions >= 1
        # a text banked after the child started is caught (the child follows the bank table)
        with Session(engine) as s, s.begin():
            add_entry(s, tenant="default", text="a brand new slogan we banked just now today",
                      bank="removed", category="hate", added_by="test", now=clock())
        time.sleep(5.2)  # BankSync looks at the table at most every 5 s (real time)
        for p, cid in ((here, "t-bank"), (there, "p-bank")):
            d = p.process(parse_event({"id": cid, "author": "x",
                                       "text": "a brand new slogan we banked just now today"}))
            assert d.decision.action.value == "remove", cid
    finally:
        there.detectors[0].host.close()  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError, match="detector process died"):
        there.process(parse_event({"id": "p-late", "text": "hello", "author": "z"}))


def test_batch_jobs_choose_processes_for_large_files_only(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.cli import DETECT_PROCESS_FROM_BYTES, _batch_settings

    monkeypatch.delenv("TIDEBREAK_DETECT_IN", raising=False)
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_text('{"id": "a", "text": "hi"}\n')
    large.write_bytes(b'{"id": "a", "text": "hi"}\n' * (DETECT_PROCESS_FROM_BYTES // 20))
    assert _batch_settings(small).detect_in == "thread"
    assert _batch_settings(large).detect_in == "process"
    assert _batch_settings(None).detect_in == "thread"  # a stream: its size is unknown
    with large.open() as redirected:  # `tidebreak moderate < large.jsonl`
        monkeypatch.setattr("sys.stdin", redirected)
        assert _batch_settings(None).detect_in == "process"
    import os

    read_end, write_end = os.pipe()  # `cat large.jsonl | tidebreak moderate`: a stream
    with os.fdopen(read_end) as piped, os.fdopen(write_end, "w"):
        monkeypatch.setattr("sys.stdin", piped)
        assert _batch_settings(None).detect_in == "thread"
    monkeypatch.setenv("TIDEBREAK_DETECT_IN", "thread")
    assert _batch_settings(large).detect_in == "thread"  # an explicit choice wins


def test_children_do_not_run_the_parents_main_script_again(engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # `tidebreak` is a console script: a spawned child would run it again (importing the whole
    # CLI) before loading its models. Here the "script" fails if it is run at all.
    import sys

    from tidebreak.detector_process import DetectorProcess

    script = tmp_path / "main_script.py"
    script.write_text("raise SystemExit('the parent script ran in a detector process')\n")
    main = sys.modules["__main__"]
    monkeypatch.setattr(main, "__spec__", None, raising=False)
    monkeypatch.setattr(main, "__file__", str(script), raising=False)
    host = DetectorProcess(["bank"], {})
    try:
        host.open(engine.url.render_as_string(hide_password=False), "default")
        assert [d.name for d in host.detectors] == ["bank"]
        assert host.detectors[0].detect(posts_as_items()) == [[] for _ in TEXTS]
    finally:
        host.close()
    assert main.__file__ == str(script) and main.__spec__ is None  # put back as it was


def posts_as_items() -> list:  # type: ignore[type-arg]
    from tidebreak.model import Item
    from tidebreak.text.normalise import normalise

    return [Item(ev.content, normalise(ev.content.text)) for ev in posts("i-")]


def test_detector_processes_load_their_models_before_the_store_exists(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    # `moderate` and `ingest` start them first and open the store meanwhile
    from tidebreak.runtime import open_store, start_detector_processes

    settings = Settings(detect_in="process", detect_processes=1)
    host = start_detector_processes(settings, ["bank"])
    try:
        engine = open_store(f"sqlite:///{tmp_path}/created-later.db")
        with Session(engine) as s, s.begin():
            add_entry(s, tenant="default", text="a slogan banked before the pipeline was built",
                      bank="removed", category="hate", added_by="test", now=clock())
        pipeline = build_pipeline(engine, settings, detector_names=["bank"], detector_host=host)
        assert pipeline.detectors[0].host is host  # type: ignore[attr-defined]
        d = pipeline.process(parse_event({"id": "b1", "author": "x",
                                          "text": "a slogan banked before the pipeline was built"}))
        assert d.decision.action.value == "remove"
    finally:
        host.close()


def test_a_detector_that_cannot_load_is_named_when_the_store_is_opened(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.detector_process import DetectorProcess

    host = DetectorProcess(["no-such-detector"], {})
    with pytest.raises(RuntimeError, match="no-such-detector"):
        host.open(f"sqlite:///{tmp_path}/t.db", "default")
