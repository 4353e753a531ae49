"""Held-out violence probe for the harm classifier: training/data/probe_v2.jsonl (written for tidebreak, CC0).

    .venv/bin/python training/harm_probe.py [MODEL_DIR] [--verbose] [--probe FILE]   # default: models/harm

80 sentences written fresh for this probe (not from the own_v0/own_v1 templates or the functional
tests): 40 direct threats and calls for violence against people (individuals, public figures,
professions, identity groups; some without a final full stop) and 40 harmless uses of violent words
(sport, elections, games, food, work) and everyday plans with places and days. Never trained on and
never used for calibration or thresholds. The shipped own_v1 generator predates it; a generator that
adds violence templates should add this file to its held-out guard (as it does harm_functional.py).

Reports, at the model's violence threshold: threat recall, the number of figurative/everyday texts
flagged (false positives), the AUC of violence scores threats vs the rest, and how much a final full
stop moves the score (each text with and without it: label flips, mean and max |change|).
`run(clf)` takes a `tidebreak.detect.harm.HarmClassifier`; it scores the raw text (normalisation as
in serving; the CLI turns the language gate off: the probe is English).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PROBE = HERE / "data" / "probe_v2.jsonl"
# 80 threats against election workers and 80 hard negatives, written apart before harm-v0.9
PROBE_ELECTION = HERE / "data" / "probe_election.jsonl"


def load(path: Path = PROBE) -> list[dict]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def auc(pos: list[float], neg: list[float]) -> float:
    """P(score of a random positive > score of a random negative), ties count half."""
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def toggle_stop(text: str) -> str:
    t = text.rstrip()
    return t[:-1] if t.endswith(".") else t + "."


def run(clf, path: Path = PROBE) -> dict:
    rows = load(path)
    texts = [r["text"] for r in rows]
    thr = clf.thresholds["violence"]
    res = clf.classify(texts)
    alt = clf.classify([toggle_stop(t) for t in texts])
    v = [r["scores"]["violence"] for r in res]
    va = [r["scores"]["violence"] for r in alt]
    pos = [s for s, r in zip(v, rows) if r["violence"] == 1]
    neg = [s for s, r in zip(v, rows) if r["violence"] == 0]
    missed = [(r["text"], round(s, 3)) for s, r in zip(v, rows) if r["violence"] == 1 and s < thr]
    flagged = [(r["text"], round(s, 3)) for s, r in zip(v, rows) if r["violence"] == 0 and s >= thr]
    by_kind = {}
    for k in sorted({r["kind"] for r in rows}):
        ks = [(s, r) for s, r in zip(v, rows) if r["kind"] == k]
        by_kind[k] = {"n": len(ks), "flagged": sum(s >= thr for s, _ in ks)}
    shift = [abs(a - b) for a, b in zip(v, va)]
    flips = [(t, round(a, 3), round(b, 3)) for t, a, b in zip(texts, v, va) if (a >= thr) != (b >= thr)]
    return {
        "file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "violence_threshold": round(thr, 6),
        "threats": len(pos), "threats_flagged": sum(s >= thr for s in pos),
        "threat_recall": round(sum(s >= thr for s in pos) / len(pos), 4),
        "benign": len(neg), "benign_flagged": len(flagged),
        "benign_false_positive_rate": round(len(flagged) / len(neg), 4),
        "auc_threat_vs_benign": round(auc(pos, neg), 4),
        "by_kind": by_kind,
        "full_stop_label_flips": len(flips),
        "full_stop_mean_abs_shift": round(sum(shift) / len(shift), 4),
        "full_stop_max_abs_shift": round(max(shift), 4),
        "missed_threats": missed, "flagged_benign": flagged, "full_stop_flips": flips,
        "scores": {t: round(s, 4) for t, s in zip(texts, v)},
    }


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    from tidebreak.detect.harm import HarmClassifier

    argv = sys.argv[1:]
    path = PROBE
    if "--probe" in argv:  # another held-out probe of the same format (probe_election.jsonl)
        i = argv.index("--probe")
        path = Path(argv[i + 1])
        del argv[i:i + 2]
    args = [a for a in argv if not a.startswith("--")]
    clf = HarmClassifier(args[0] if args else None, language_gate=False, explain=False)
    out = run(clf, path)
    scores = out.pop("scores")
    print(f"{clf.version}: " + json.dumps(out, indent=2))
    if "--verbose" in sys.argv:
        for r in load(path):
            print(f"{scores[r['text']]:.3f}  {r['kind']:14s} {r['text']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
