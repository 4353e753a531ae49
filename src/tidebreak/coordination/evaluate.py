"""Scoring detections against a simulator's truth: account-level precision, recall and F1, the
share of hard-negative accounts flagged (per kind), and how well each planted group was found
(best-match Jaccard)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def evaluate(groups: Iterable[Mapping[str, Any]], truth: Mapping[str, Any]) -> dict[str, Any]:
    """`groups`: detector output lines ({"accounts": [...], ...}); `truth`: simulate's JSON.
    An account is flagged when it is in any reported group."""
    found: list[set[str]] = [set(g["accounts"]) for g in groups]
    flagged = set().union(*found) if found else set()
    positives = set(truth["coordinated_accounts"])
    tp = len(flagged & positives)
    precision = tp / len(flagged) if flagged else 1.0
    recall = tp / len(positives) if positives else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    hard: dict[str, Sequence[str]] = truth.get("hard_negatives", {})
    all_hard = set().union(*map(set, hard.values())) - positives if hard else set()
    per_kind = {kind: _share(flagged, set(accs)) for kind, accs in hard.items()}
    best_match = {
        gid: round(max((_jaccard(set(g["accounts"]), f) for f in found), default=0.0), 4)
        for gid, g in truth.get("groups", {}).items()
    }
    return {
        "precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4),
        "flagged": len(flagged), "true_positives": tp, "coordinated": len(positives),
        "groups_reported": len(found),
        "hard_negative_flagged_share": _share(flagged, all_hard),
        "hard_negative_flagged": len(flagged & all_hard), "hard_negatives": len(all_hard),
        "hard_negative_flagged_share_by_kind": per_kind,
        "planted_group_best_jaccard": best_match,
    }


def _share(flagged: set[str], accounts: set[str]) -> float:
    return round(len(flagged & accounts) / len(accounts), 6) if accounts else 0.0


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 0.0
