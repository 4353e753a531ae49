"""Coordinated behaviour detection: accounts acting on the same objects within seconds, again
and again (the QUT toolkit's, CooRnet's and CooRTweet's common model), found with a sliding
window, scored, and turned into review cases with their evidence, never into automatic action.

Modules, in pipeline order: `events` (validation, JSONL/CSV, pipeline content), `urls`
(canonical links), `textmatch` (near-duplicate text via the shared MinHash/LSH, in compact
arrays), `objects` (columns), `pairs` (sliding-window co-actions), `edges` (directed weights,
symmetry, association), `significance` (each edge against the accounts' own co-action volume),
`window` (data-driven W), `grouping` (components + Louvain), `scoring`, `evidence`, `detect`
(all of it, at every pace by default), `outofcore` (the same on DuckDB), `live` (co-actions
recorded from pipeline content), `sweep` (stored co-actions -> one review case per network),
`review` (cases and decision inputs), `simulate`, `evaluate`, `cli`.
"""

from tidebreak.coordination.detect import DetectedGroup, DetectionParams, DetectionResult, detect
from tidebreak.coordination.events import CoordEvent, InputReport, ObjectType, read_events

__all__ = ["CoordEvent", "DetectedGroup", "DetectionParams", "DetectionResult", "InputReport",
           "ObjectType", "detect", "read_events"]
