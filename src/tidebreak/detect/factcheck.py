"""The fact-check detector: does this post repeat (or link to) a claim fact-checkers rated?

For each item it emits at most one Signal, for its best match over `floor`:

- category "voting_misinformation" when the matched fact-check has topic "voting" and a false or
  misleading rating, else "misinformation";
- score: the calibrated match probability (`ClaimIndex`), 1.0 for a URL match;
- evidence: claim_id, claim, rating, original_rating, fact_check_url, publisher, match
  ("text" | "url"), language, topics, and the match's feature values (`rank_scores`).

Counter-speech. A post that quotes a false claim in order to refute it ("No, you can't vote by
text - that's a hoax") matches that claim well, but must not be labelled as repeating it. When
the post carries a refutation cue (`REFUTATION_CUES`: "hoax", "not true", "debunked", "fake",
"myth", "don't fall for", "fact check", "no, ...", ...) that the matched claim itself does not
contain (so "COVID is a hoax" repeating the claim "COVID is a hoax" is not counter-speech),
evidence gets {"stance": "refutes", "refutation_cue": ...} and the score is capped at
`refute_cap` (0.6: over the policy's review thresholds, under its auto-label and removal ones),
so such a post goes to human review at most. The cue list is deliberately small and lexical; a
reviewer, not the cue, makes the final call.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Sequence

from tidebreak.detect.base import register
from tidebreak.model import Item, Signal

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "factchecks.jsonl"
DETECTOR_VERSION = "1"

REFUTATION_CUES = re.compile(
    r"(\bhoax(es)?\b|\bnot true\b|\bisn['\u2019]?t true\b|\buntrue\b|\bdebunk\w*|\bfake news\b|"
    r"\b(is|it['\u2019]?s|that['\u2019]?s|this is|totally|completely|100%) (fake|false|wrong|a lie)\b|"
    r"\brated false\b|\bmyths?\b|\bmisinformation\b|\bdisinformation\b|\bmisleading\b|"
    r"\bdon['\u2019]?t fall for\b|\bdo not fall for\b|\bdon['\u2019]?t believe\b|\bdo not believe\b|"
    r"\bfact[- ]?check\w*|\bno evidence\b|\bscam\b|\brumou?rs?\b|\bnonsense\b|"
    r"\bdon['\u2019]?t share\b|\bstop sharing\b|^\s*no[,.!:\s\u2014\u2013-])",
    re.IGNORECASE,
)


def refutation_cue(text: str, claim: str) -> str | None:
    """The first refutation cue in text that the claim itself does not contain, else None."""
    claim_l = claim.lower()
    for m in REFUTATION_CUES.finditer(text):
        cue = m.group(0).strip(" ,.!:\u2014\u2013-").lower() or "no"
        if cue == "no" or cue not in claim_l:
            return cue
    return None


@register("factcheck")
class FactCheckDetector:
    name = "factcheck"

    def __init__(
        self,
        index: object | None = None,
        *,
        path: str | Path | None = None,
        index_dir: str | Path | None = None,
        floor: float = 0.35,
        refute_cap: float = 0.6,
        encoder: object | None = None,
    ) -> None:
        from tidebreak.factcheck.claimreview import load_factchecks
        from tidebreak.factcheck.index import ClaimIndex

        self.floor = float(floor)
        self.refute_cap = float(refute_cap)
        if index is None:
            if index_dir is not None:
                index = ClaimIndex.load(index_dir, encoder=encoder)
            else:
                p = Path(path) if path is not None else BUNDLED
                fcs = []
                if p.is_file():
                    fcs = load_factchecks(p, strict=False)
                else:
                    log.warning("fact-check file %s not found: the factcheck detector matches nothing", p)
                index = ClaimIndex(fcs, encoder=encoder)
        self.index: ClaimIndex = index  # type: ignore[assignment]
        self.version = f"{DETECTOR_VERSION}+{self.index.fingerprint}"

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        if not items:
            return []
        if len(self.index) == 0:
            return [[] for _ in items]
        texts = [it.norm.text for it in items]
        urls = [tuple(it.content.urls) for it in items]
        results = self.index.search(texts, k=1, urls=urls, with_features=True)
        out: list[list[Signal]] = []
        for item, text, matches in zip(items, texts, results):
            if not matches or matches[0].score < self.floor:
                out.append([])
                continue
            m = matches[0]
            fc = m.factcheck
            score = float(m.score)
            evidence: dict[str, object] = {
                "claim_id": fc.claim_id,
                "claim": fc.claim,
                "rating": fc.rating,
                "original_rating": fc.original_rating,
                "fact_check_url": fc.url,
                "publisher": fc.publisher,
                "match": m.match,
                "language": fc.language,
                "topics": sorted(fc.topics),
                "match_probability": round(score, 6),
            }
            if m.features:
                evidence["rank_scores"] = dict(m.features)
            cue = refutation_cue(text, fc.claim) if m.match == "text" else None
            if cue is not None:
                evidence["stance"] = "refutes"
                evidence["refutation_cue"] = cue
                score = min(score, self.refute_cap)
            voting = "voting" in fc.topics and fc.rating in ("false", "misleading")
            out.append([
                Signal(
                    detector=self.name,
                    category="voting_misinformation" if voting else "misinformation",
                    score=score,
                    evidence=evidence,
                    detector_version=self.version,
                )
            ])
        return out
