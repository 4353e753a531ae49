"""The fact-check detector: does this post repeat (or link to) a claim fact-checkers rated?

For each item it emits at most one Signal, for its best match over `floor`:

- category "voting_misinformation" when the matched fact-check has topic "voting" and a false or
  misleading rating, else "misinformation";
- score: the calibrated match probability (`ClaimIndex`), 1.0 for a URL match;
- evidence: claim_id, claim, rating, original_rating, fact_check_url, publisher, match
  ("text" | "url"), language, topics, and the match's feature values (`rank_scores`).

Counter-speech. A post that quotes a false claim in order to refute it ("No, you can't vote by
text - that's a hoax") matches that claim well, but must not be labelled, demoted or removed for
repeating it. The stance of a text match comes from the election-claims model's stance head
(`tidebreak.detect.voting.ClaimsModel.stance`, trained and measured on our own stance set: see
models/voting/README.md), the same component the voting detector uses: when it reads the post as
refuting (`tidebreak.detect.voting.refutes`), evidence gets {"stance": "refutes", "stance_probabilities": ...} and
the score is capped at `refute_cap` (0.1: under every review, label and removal bar of the
default policy), so the match alone does nothing to the post. A lexical refutation cue
(`REFUTATION_CUES`: "hoax", "not true", "debunked", ...) that the claim itself does not contain is
kept as evidence for reviewers (`refutation_cue`), and decides only where the model is not
installed; "The fake news won't tell you <claim>" carries a cue yet repeats the claim, which the
cue list cannot tell and the model can. A post that states the accurate rule on a voting lie's
point ("If you're in line when the polls close, STAY IN LINE") matches the lie as well as a repeat
does; where the same model reads it as correcting the lie (`tidebreak.detect.voting.corrects`),
evidence gets {"stance": "corrects"} and the same cap. A post that links to the fact-check article itself (its
review URL, not one of the claim's appearances) cites the debunk ("PSA: you cannot vote by text
<politifact link>"): it is treated the same way, with refutation_cue "links to the fact-check" (a
link to an appearance is a share of the claim and keeps its 1.0).

Topic is not assertion. A post on a voting lie's topic that neither refutes nor corrects it can
still not assert it ("You don't have to vote every race; the rest of your ballot still counts"
matches "a ballot with a skipped race is void"). Where the claims model's claim-type head reads
no false claim in it (`tidebreak.detect.voting.unasserted`: P(false) + P(fraud) under 0.45, voting-v1.7's
review bar), evidence gets {"stance": "unasserted"} and the score is capped at `doubt_cap` (0.6:
over the review bars, 0.42, under every label and removal bar, 0.75-0.90): a person looks, the
post is not removed on the match alone.

Cascade. The detector asks its index only for matches of at least `floor`, so the index's gate
(`ClaimIndex.gate_scores`; on by default, off with `gate=False` here, TIDEBREAK_FACTCHECK_GATE=0
or `index.gate = False`) sends to the transformer encoder and the fusion model only posts near a
claim in a static embedding space distilled from the encoder, or that the fusion model, given
static cosines, scores over a low bar; the others get no text match (URL matches are
unaffected). Its thresholds keep every CLEF train+dev post that is, or could be, scored over
0.35 (models/factcheck/GATE.md); a floor under 0.35 turns the gate off.

Store. Bound to a store (`bind_store`, called by `runtime.build_detectors`), the detector
matches against the tenant's imported fact-checks (`tidebreak factcheck import`, table
`factchecks`) when there are any, and the bundled set otherwise. Like `runtime.BankSync` for the
bank detector, it checks a cheap fingerprint of the table (count, latest import) at most every
`sync_seconds` and rebuilds its index when it moved; claims already indexed keep their vectors,
so only new or changed claims are encoded.
"""

from __future__ import annotations

from tidebreak.text.urls import canonical_or_none

import logging
import os
import re
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from tidebreak.factcheck.index import extract_urls
from tidebreak.detect.base import warm_up_item
from tidebreak.detect.voting import answer_stance, unasserted
from tidebreak.model import Item, Signal

log = logging.getLogger(__name__)

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "factchecks.jsonl"
# The bundled claims' encoder vectors, so every process that builds this detector (API,
# workers, each detector process) does not spend half a second encoding the same 133 claims.
# Used only when they were made by the installed encoder from exactly these claim texts;
# otherwise the claims are encoded as before. `write_bundled_vectors()` remakes the file.
BUNDLED_VECTORS = BUNDLED.with_name("factchecks.vectors.npz")
DETECTOR_VERSION = "1"

CITES_FACT_CHECK = "links to the fact-check"

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


def cites_review(item: Item, review_url: str | None) -> bool:
    """Whether the item links to the fact-check article itself (tracking parameters ignored)."""
    target = canonical_or_none(review_url)
    if not target:
        return False
    links = [*item.content.urls, *extract_urls(item.content.text)]
    return any(canonical_or_none(u) == target for u in links)


def _vectors_key(fcs: Sequence[Any]) -> str:
    """What the vectors depend on: the encoder and the exact texts it encodes."""
    import hashlib

    from tidebreak.factcheck.index import _default_encoder_id, clean_text

    h = hashlib.sha256(_default_encoder_id().encode())
    for fc in fcs:
        for t in (fc.claim, fc.title or fc.claim):
            b = clean_text(t).encode("utf-8")
            h.update(len(b).to_bytes(8, "big"))
            h.update(b)
    return h.hexdigest()


def cached_vectors(fcs: Sequence[Any], path: Path = BUNDLED_VECTORS
                   ) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(claim vectors, headline vectors or None) from `path` when they were made for these
    claims by the installed encoder, else (None, None): the index then encodes them."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != _vectors_key(fcs):
                return None, None
            titles = z["title_vectors"]
            return z["vectors"], (titles if len(titles) else None)
    except (OSError, KeyError, ValueError):
        return None, None


def write_bundled_vectors(path: Path = BUNDLED_VECTORS) -> Path:
    """Encode the bundled claims (and headlines, for a titled set) and save them for
    `cached_vectors`. Run after changing `factchecks.jsonl` or the encoder."""
    from tidebreak.factcheck.claimreview import load_factchecks
    from tidebreak.factcheck.index import ClaimIndex

    fcs = load_factchecks(BUNDLED, strict=False)
    index = ClaimIndex(fcs)
    titles = index.title_vectors if index.title_vectors is not None else np.zeros((0, 384), np.float32)
    np.savez_compressed(path, vectors=index.vectors, title_vectors=titles,
                        key=np.array(_vectors_key(fcs)))
    return path


class FactCheckDetector:
    name = "factcheck"

    def __init__(
        self,
        index: object | None = None,
        *,
        path: str | Path | None = None,
        index_dir: str | Path | None = None,
        floor: float = 0.35,
        refute_cap: float = 0.1,
        doubt_cap: float = 0.6,
        encoder: object | None = None,
        sync_seconds: float = 5.0,
        gate: bool | None = None,
    ) -> None:
        from tidebreak.factcheck.claimreview import load_factchecks
        from tidebreak.factcheck.index import ClaimIndex

        if gate is None:  # the setting: TIDEBREAK_FACTCHECK_GATE=0 turns the cascade off
            gate = os.environ.get("TIDEBREAK_FACTCHECK_GATE", "1").strip().lower() not in (
                "0", "off", "false", "no")
        self.floor = float(floor)
        self.refute_cap = float(refute_cap)
        self.doubt_cap = float(doubt_cap)
        if index is None:
            if index_dir is not None:
                index = ClaimIndex.load(index_dir, encoder=encoder, gate=gate)
            else:
                p = Path(path) if path is not None else BUNDLED
                fcs = []
                if p.is_file():
                    fcs = load_factchecks(p, strict=False)
                else:
                    log.warning("fact-check file %s not found: the factcheck detector matches nothing", p)
                vectors, titles = (cached_vectors(fcs) if p == BUNDLED and encoder is None
                                   else (None, None))
                index = ClaimIndex(fcs, encoder=encoder, gate=gate, vectors=vectors,
                                   title_vectors=titles)
        self.index: ClaimIndex = index  # type: ignore[assignment]
        self.version = f"{DETECTOR_VERSION}+{self.index.fingerprint}"
        self._fallback = self.index  # the bundled (or given) set, used while the store is empty
        self._encoder = encoder
        self._stance_model: Any = None  # tidebreak.detect.voting.ClaimsModel, loaded on first match
        self.engine: Any = None
        self.tenant = "default"
        self.sync_seconds = float(sync_seconds)
        self._seen: object = None
        self._checked = 0.0

    # -- store ---------------------------------------------------------------------------------

    def bind_store(self, engine: Any, tenant: str) -> None:
        self.engine, self.tenant = engine, tenant
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        """Rebuild the index if the tenant's stored fact-checks changed (throttled)."""
        if self.engine is None:
            return
        now = time.monotonic()
        if not force and now - self._checked < self.sync_seconds:
            return
        self._checked = now
        from sqlalchemy.orm import Session

        from tidebreak.factcheck import store

        with Session(self.engine) as s:
            version = store.store_version(s, self.tenant)
            if version == self._seen:
                return
            fcs = store.load_factchecks(s, self.tenant) if version[0] else []
        self.index = self._rebuild(fcs) if fcs else self._fallback
        self.version = f"{DETECTOR_VERSION}+{self.index.fingerprint}"
        self._seen = version

    def _rebuild(self, fcs: list[Any]) -> Any:
        """A new index over fcs, reusing the vectors of claims the current index already holds."""
        from tidebreak.factcheck.index import ClaimIndex, clean_text

        old = self.index
        titled = sum(1 for f in fcs if f.title) >= 0.5 * len(fcs)
        reuse_titles = titled and old.title_vectors is not None
        vecs = np.zeros((len(fcs), old.vectors.shape[1] if old.vectors.size else 384), np.float32)
        tvecs = np.zeros_like(vecs) if titled else None
        todo: list[int] = []
        for i, fc in enumerate(fcs):
            j = old._pos.get(fc.claim_id)
            if j is not None and old.factchecks[j] == fc and (not titled or reuse_titles):
                vecs[i] = old.vectors[j]
                if tvecs is not None:
                    tvecs[i] = old.title_vectors[j]
            else:
                todo.append(i)
        if todo:
            enc = old.encoder
            vecs[todo] = enc.encode([clean_text(fcs[i].claim) for i in todo])
            if tvecs is not None:
                tvecs[todo] = enc.encode([clean_text(fcs[i].title or fcs[i].claim) for i in todo])
        return ClaimIndex(fcs, encoder=old.encoder, fusion=old.fusion, vectors=vecs,
                          title_vectors=tvecs, encoder_id=old.encoder_id,
                          gate=getattr(old, "gate", True), static=getattr(old, "static", None))

    # -- detect --------------------------------------------------------------------------------

    def _stance(self, text: str) -> dict[str, float] | None:
        """The claims model's stance probabilities for a matched post (None: not installed)."""
        if self._stance_model is False:
            return None
        if self._stance_model is None:
            from tidebreak.detect.voting import default_model_dir, get_claims_model

            if not (default_model_dir() / "gate.npz").is_file():
                self._stance_model = False
                return None
            self._stance_model = get_claims_model()
        return self._stance_model.stance([text])[0]

    def warm_up(self) -> None:
        """Do now what the first post near a claim would (load the claims model, run the
        encoder and the matcher once), so it does not stall a served batch."""
        if len(self.index):
            self.detect([warm_up_item(self.index.factchecks[0].claim)])

    def detect(self, items: Sequence[Item]) -> list[list[Signal]]:
        if not items:
            return []
        self.refresh()
        if len(self.index) == 0:
            return [[] for _ in items]
        texts = [it.norm.text for it in items]
        urls = [tuple(it.content.urls) for it in items]
        dates = [it.content.created_at for it in items]
        results = self.index.search(texts, k=1, urls=urls, dates=dates, with_features=True,
                                    min_score=self.floor)
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
            if m.same_claim:  # other records of the same claim by the same fact-checker
                evidence["same_claim"] = list(m.same_claim)
            voting = "voting" in fc.topics and fc.rating in ("false", "misleading")
            answer: str | None = None  # "refutes" | "corrects": the post answers the claim
            stance: dict[str, float] | None = None
            if m.match == "text":
                cue = refutation_cue(text, fc.claim)
                stance = self._stance(text)
                if stance is not None:
                    evidence["stance_probabilities"] = stance
                    answer = answer_stance(stance, about_voting=voting)
                else:  # no stance model installed: the cue decides
                    answer = "refutes" if cue is not None else None
            else:  # a URL match: only a link to the review itself is counter-speech
                cue = CITES_FACT_CHECK if cites_review(item, fc.url) else None
                answer = "refutes" if cue is not None else None
            if cue is not None:
                evidence["refutation_cue"] = cue
            if answer is not None:
                evidence["stance"] = answer
                score = min(score, self.refute_cap)
            elif m.match == "text" and stance is not None and unasserted(stance, voting):
                evidence["stance"] = "unasserted"
                score = min(score, self.doubt_cap)
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
