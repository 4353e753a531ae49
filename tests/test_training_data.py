"""The written training sets keep apart from what tidebreak is measured on: before training, any
row that nearly repeats a held-out election post, a clean dev post or a probe post is dropped
(training/kept_apart.py). These tests run that filter on the real files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def kept_apart():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("kept_apart", ROOT / "training" / "kept_apart.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_a_near_repeat_of_a_kept_apart_post_is_dropped(tmp_path: Path) -> None:
    mod = kept_apart()
    held = tmp_path / "held.jsonl"
    held.write_text(json.dumps({"text": "Polls in Harlan County close at 7 pm sharp on Tuesday"}) + "\n")
    filt = mod.KeptApart([held])
    assert filt.too_close("polls in harlan county close at 7 pm on tuesday!")  # a near copy
    assert not filt.too_close("Harlan County polls: bring your ID and a pen")  # the same topic


def test_the_real_training_rows_are_filtered_against_the_held_out_and_dev_sets() -> None:
    mod = kept_apart()
    assert all(p.is_file() for p in mod.KEPT_APART)
    filt = mod.KeptApart()
    assert len(filt.sets) >= 360 + 7 * 400  # held-out, dev_v2 to dev_v8 at least
    rows = [{"text": json.loads(x)["text"]}
            for p in sorted((ROOT / "training" / "data" / "voting_claims").glob("written_*.jsonl"))
            for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
    kept = mod.drop_near_repeats(rows, "claims")
    assert 0 < len(kept) <= len(rows)
    assert not any(filt.too_close(r["text"]) for r in kept[:2000])


def claims_rows():  # type: ignore[no-untyped-def]
    import sys

    sys.path.insert(0, str(ROOT / "training"))
    try:
        import claims_rows as mod
    finally:
        sys.path.remove(str(ROOT / "training"))
    return mod


def test_every_election_dev_post_has_a_claim_type() -> None:
    from tidebreak.detect.voting import CLASSES

    mod = claims_rows()
    rows = [json.loads(x) for p in sorted((ROOT / "training" / "data" / "election_dev").glob("dev_v*.jsonl"))
            for x in p.read_text(encoding="utf-8").splitlines() if x.strip()]
    assert {mod.dev_label(r) for r in rows} <= set(CLASSES)
    tip = {"label": "benign_civic", "subtype": "procedure_tip", "text": "Polls close at 8"}
    assert mod.dev_label(tip) == "accurate_procedure"
    assert mod.dev_label(dict(tip, subtype="humour")) == "civic"
    assert mod.dev_label({"label": "voting_lie", "subtype": "wrong_date"}) == "false_procedure"


def test_a_dev_set_read_as_training_is_kept_apart_from_the_rest_but_not_from_itself() -> None:
    mod = claims_rows()
    rows = mod.load_dev_sets(("dev_v7",))
    assert len(rows) >= 390 and {r["split"] for r in rows} == {"train"}  # not dropped as its own repeats
    still_apart = kept_apart().KeptApart(
        [p for p in kept_apart().KEPT_APART if p.stem != "dev_v7"])
    assert not any(still_apart.too_close(r["text"]) for r in rows)
    assert mod.load_dev_sets(()) == []
