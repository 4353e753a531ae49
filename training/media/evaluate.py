"""Measure tidebreak on the generated image set, through the commands a platform runs:
`tidebreak bank add --image`, `tidebreak hash` and `tidebreak moderate` with `media` items.

    .venv/bin/python training/media/evaluate.py [--out models/media/eval.json]

Generates the set (training/media/memes.py) in a temporary folder, banks the originals, hashes
everything, moderates copies, unrelated pictures, hateful and harmless memes, and prints the
rates the image issue sets bars for. Nothing is trained or tuned on this set.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from memes import build  # noqa: E402

from typer.testing import CliRunner  # noqa: E402

from tidebreak.cli import app  # noqa: E402
from tidebreak.media.pdq import distance  # noqa: E402

ENFORCE = {"remove", "reduce", "label", "warn"}


def run(args: list[str], stdin: str | None = None) -> str:
    r = CliRunner().invoke(app, args, input=stdin)
    if r.exit_code != 0:
        raise SystemExit(f"tidebreak {' '.join(args[:3])} failed: {r.output[-500:]}")
    return r.stdout


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower().replace("|", " "))


def ocr_texts(db: str) -> dict[str, str]:
    from sqlalchemy import create_engine, select
    from sqlalchemy.orm import Session

    from tidebreak.store.schema import ContentRow

    eng = create_engine(db)
    with Session(eng) as s:
        rows = s.execute(select(ContentRow.id, ContentRow.meta)).all()
    eng.dispose()
    return {cid: " ".join(m.get("ocr_text") or "" for m in (meta or {}).get("media", []))
            for cid, meta in rows}


def ocr_accuracy(memes: list[dict[str, object]], ocr: dict[str, str]) -> dict[str, object]:
    """Share of each meme's words that OCR read exactly, overall and by font, size, layout."""
    groups: dict[str, list[float]] = defaultdict(list)
    exact = 0
    for m in memes:
        want, got = _words(str(m["text"])), set(_words(ocr.get(str(m["name"]), "")))
        recall = sum(w in got for w in want) / max(len(want), 1)
        exact += recall == 1.0
        size = int(m["size"])  # type: ignore[call-overload]
        for key in ("all", f"font:{m['font']}", f"layout:{m['layout']}",
                    f"size:{'24-32' if size <= 32 else '33-42' if size <= 42 else '43-52'}"):
            groups[key].append(recall)
    return {"memes": len(memes), "all_words_read": round(exact / max(len(memes), 1), 4),
            **{k: round(sum(v) / len(v), 4) for k, v in sorted(groups.items())}}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="tb-media-eval-") as tmp:
        d = Path(tmp)
        manifest = build(d / "img")
        db = f"sqlite:///{d}/eval.db"
        banked = [m for m in manifest if m["set"] == "banked"]
        featureless = set()
        for m in banked:
            r = CliRunner().invoke(app, ["bank", "add", "--image", str(m["path"]), "--db", db,
                                         "--bank", "eval"])
            if r.exit_code == 2 and "too featureless" in r.stderr:
                featureless.add(m["name"])  # quality < 50: HMA would not bank it either
            elif r.exit_code != 0:
                raise SystemExit(r.output)
        manifest = [m for m in manifest if m.get("original") not in featureless]
        t0 = time.perf_counter()
        hashes = {json.loads(ln)["path"]: json.loads(ln)
                  for ln in run(["hash", *[str(m["path"]) for m in manifest]]).splitlines()}
        hash_secs = time.perf_counter() - t0
        by_name = {m["name"]: m for m in manifest}
        dists: dict[str, list[int]] = defaultdict(list)
        for m in manifest:
            if m["set"] == "copy":
                orig = hashes[str(by_name[str(m["original"])]["path"])]["pdq"]
                dists[str(m["transform"])].append(distance(hashes[str(m["path"])]["pdq"], orig))
        todo = [m for m in manifest if m["set"] != "banked"]
        lines = "\n".join(json.dumps({"id": m["name"], "media": [{"path": m["path"]}]})
                          for m in todo) + "\n"
        t0 = time.perf_counter()
        out = run(["moderate", "--db", db], lines)
        moderate_secs = time.perf_counter() - t0
        got = {o["id"]: o for o in map(json.loads, out.splitlines())}
        ocr = ocr_texts(db)
    per: dict[str, Counter[str]] = defaultdict(Counter)
    misses = []
    for m in todo:
        o = got[str(m["name"])]
        matched = "known_violating" in o["categories"]
        s = str(m["set"])
        per[s]["n"] += 1
        per[s]["bank_matched"] += matched
        per[s]["enforced"] += o["action"] in ENFORCE
        per[s]["removed"] += o["action"] == "remove"
        per[s]["review"] += o["action"] == "review"
        per[s]["none"] += o["action"] == "none"
        if s == "copy":
            per["copy:" + str(m["transform"])]["n"] += 1
            per["copy:" + str(m["transform"])]["bank_matched"] += matched
        if (s == "hateful" and o["action"] not in ENFORCE) or (s == "harmless" and o["action"] != "none"):
            misses.append({"id": m["name"], "text": m.get("text"), "action": o["action"],
                           "categories": o["categories"]})
    rate = lambda s, k: round(per[s][k] / max(per[s]["n"], 1), 4)  # noqa: E731
    reading = ocr_accuracy([m for m in todo if m.get("text")], ocr)
    report = {
        "copies_matched": rate("copy", "bank_matched"),
        "copies_matched_by_transform": {k.split(":")[1]: rate(k, "bank_matched")
                                        for k in sorted(per) if k.startswith("copy:")},
        "copy_plain_pdq_distance_by_transform": {k: {"median": sorted(v)[len(v) // 2],
                                                     "max": max(v)} for k, v in dists.items()},
        "unrelated_matched": per["unrelated"]["bank_matched"],
        "unrelated_n": per["unrelated"]["n"],
        "hateful_actioned": rate("hateful", "enforced"),
        "hateful_removed": rate("hateful", "removed"),
        "hateful_sent_to_review": rate("hateful", "review"),
        "harmless_left_alone": rate("harmless", "none"),
        "memes_bank_matched": per["hateful"]["bank_matched"] + per["harmless"]["bank_matched"],
        "counts": {k: dict(v) for k, v in per.items() if ":" not in k},
        "originals_too_featureless_to_bank": len(featureless),
        "hash_images_per_second_cli": round(len(manifest) / hash_secs, 1),
        "moderate_items_per_second_with_ocr": round(len(todo) / moderate_secs, 2),
        "ocr_word_recall": reading,
        "misses": misses,
    }
    print(json.dumps(report, indent=2))
    if ns.out:
        ns.out.parent.mkdir(parents=True, exist_ok=True)
        ns.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
