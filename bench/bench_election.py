"""Election-season quality, measured the way a platform would see it (issue 19).

    .venv/bin/python bench/bench_election.py [--data bench/data/election_season_v1.jsonl]

Runs the real commands on a fresh SQLite store: `tidebreak moderate --db URL`, then
`tidebreak sor export` and `tidebreak group show ID --json`, over a held-out set of election-season
posts written for tidebreak before any election model was trained and never trained on (360 posts:
accurate civic posts and counter-messages in a local community group, voting lies and threats
against election workers in groups of their own and outside any group). Prints:

- left_alone: share of benign civic posts and counter-messages with action none, or only an
  information label (no violation category);
- actioned: share of voting lies and of election threats with an enforcement outcome (removed,
  reduced, fact-check labelled or put behind a warning; a review alone is not an action);
- statements_for_benign: statements of reasons whose `puid` names a benign post's decision;
- the community group's stage.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENIGN = ("benign_civic", "counter_message")
HARMFUL = ("voting_lie", "election_threat")
ENFORCEMENT = ("remove", "reduce", "label", "warn")


def tidebreak(*args: str) -> str:
    exe = Path(sys.executable).with_name("tidebreak")
    return subprocess.run([str(exe), *args], check=True, capture_output=True, text=True).stdout


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", default=str(ROOT / "bench" / "data" / "election_season_v1.jsonl"))
    ap.add_argument("--group", default="g_harborview_neighbours")
    ap.add_argument("--verbose", action="store_true", help="list every post not handled as labelled")
    args = ap.parse_args()
    rows = [json.loads(x) for x in Path(args.data).read_text(encoding="utf-8").splitlines() if x.strip()]
    label = {r["id"]: r["label"] for r in rows}
    with tempfile.TemporaryDirectory(prefix="tidebreak-election-") as tmp:
        posts, out, sor = Path(tmp) / "posts.jsonl", Path(tmp) / "decisions.jsonl", Path(tmp) / "sor"
        posts.write_text("".join(json.dumps({k: v for k, v in r.items()
                                             if k not in ("label", "subtype")}) + "\n"
                                 for r in rows), encoding="utf-8")
        db = f"sqlite:///{tmp}/election.db"
        tidebreak("moderate", "-i", str(posts), "-o", str(out), "--db", db)
        tidebreak("sor", "export", "-o", str(sor), "--db", db)
        group = json.loads(tidebreak("group", "show", args.group, "--json", "--db", db))
        decisions = [json.loads(x) for x in out.read_text().splitlines() if x.strip()]
        puids = {s["puid"] for f in sor.glob("*.json")
                 for s in json.loads(f.read_text())["statements"]}
    by_label: dict[str, Counter[str]] = defaultdict(Counter)
    misses: list[tuple[str, str, dict]] = []
    for d in decisions:
        lab = label[d["id"]]
        info_only = d["action"] == "label" and not d["categories"]
        if lab in BENIGN:
            ok = d["action"] == "none" or info_only
        else:
            ok = d["action"] in ENFORCEMENT and bool(d["categories"])
        by_label[lab]["n"] += 1
        by_label[lab]["ok"] += ok
        by_label[lab][d["action"] if not info_only else "info_label"] += 1
        if f"tb-{d['decision_id']}" in puids:
            by_label[lab]["statements"] += 1
        if not ok:
            misses.append((lab, d["id"], d))
    share = lambda labs: (sum(by_label[x]["ok"] for x in labs)  # noqa: E731
                          / max(1, sum(by_label[x]["n"] for x in labs)))
    report = {
        "data": os.path.relpath(args.data, ROOT), "posts": len(decisions),
        "left_alone_benign": round(share(BENIGN), 4),
        "actioned_harmful": round(share(HARMFUL), 4),
        "by_label": {k: dict(v) for k, v in sorted(by_label.items())},
        "statements_for_benign": sum(by_label[x]["statements"] for x in BENIGN),
        "group": {"id": args.group, "stage": group.get("stage"), "health": group.get("health")},
    }
    print(json.dumps(report, indent=2))
    if args.verbose:
        text = {r["id"]: r["text"] for r in rows}
        for lab, cid, d in sorted(misses):
            print(f"{lab:16s} {d['action']:7s} {','.join(d['rules'])[:40]:40s} {text[cid][:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
