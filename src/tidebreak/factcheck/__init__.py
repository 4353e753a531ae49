"""Fact-checks: ClaimReview import/export (`claimreview`), the claim matcher (`index`), and the
`tidebreak factcheck` commands (`cli`). The detector lives in `tidebreak.detect.factcheck`."""

from tidebreak.factcheck.claimreview import (
    RATINGS,
    Duplicate,
    FactCheck,
    FactCheckError,
    dedupe,
    derive_topics,
    load_factchecks,
    normalise_rating,
    parse_record,
    read_factchecks,
    to_claimreview,
)
from tidebreak.factcheck.index import ClaimIndex, FusionModel, Match

__all__ = [
    "RATINGS",
    "ClaimIndex",
    "Duplicate",
    "FactCheck",
    "FactCheckError",
    "FusionModel",
    "Match",
    "dedupe",
    "derive_topics",
    "load_factchecks",
    "normalise_rating",
    "parse_record",
    "read_factchecks",
    "to_claimreview",
]
