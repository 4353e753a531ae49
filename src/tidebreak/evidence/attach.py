"""A decision as a person should see it: the deferred evidence stored beside it merged into its
signals. The stored payload is left as recorded; this works on a copy."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from tidebreak.detect.base import SPANS_PENDING, TEXT_DIGEST, spans_pending
from tidebreak.evidence.rows import Key, stored
from tidebreak.model import EVIDENCE_COMPLETE, EVIDENCE_PENDING
from tidebreak.store.schema import DecisionEvidenceRow

SPANS_OF = "normalised text"  # deferred spans are computed on the item's normalised text


def _merge(d: dict[str, Any], found: Mapping[Key, DecisionEvidenceRow]) -> dict[str, Any]:
    did = d.get("decision_id")
    sigs = list(d.get("signals") or [])
    for h in (*(d.get("reasons") or []), *(d.get("shadow") or [])):
        sigs.extend(h.get("signals") or [])
    left = False
    for sig in sigs:
        ev = sig.get("evidence")
        if not spans_pending(ev):
            continue
        row = found.get((str(did), sig.get("detector", ""), sig.get("category", "")))
        if row is None:
            left = True
            continue
        ev.pop(SPANS_PENDING, None)
        ev.pop(TEXT_DIGEST, None)
        ev["spans"] = copy.deepcopy(row.spans)
        ev["spans_of"] = SPANS_OF
    d["evidence"] = EVIDENCE_PENDING if left else EVIDENCE_COMPLETE
    return d


def attach_many(session: Session, tenant: str,
                decisions: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """`attach` for several decisions, with one read of the evidence table."""
    out = [copy.deepcopy(dict(d)) for d in decisions]
    ids = [str(d["decision_id"]) for d in out if d.get("evidence") == EVIDENCE_PENDING]
    found = stored(session, tenant, ids) if ids else {}
    for d in out:
        if d.get("evidence") == EVIDENCE_PENDING:
            _merge(d, found)
        else:  # payloads recorded before evidence could be deferred read as complete
            d.setdefault("evidence", EVIDENCE_COMPLETE)
    return out


def attach(session: Session, tenant: str, decision: Mapping[str, Any]) -> dict[str, Any]:
    """The decision (`Decision.to_dict()`, as stored) with its stored spans in each signal's
    evidence (`spans`, `spans_of`; `spans_pending` dropped), and `"evidence": "complete"` once
    every pending signal has them. Only `tenant`'s evidence is read."""
    return attach_many(session, tenant, [decision])[0]
