"""`ClaimIndex`: find the fact-checked claims a post repeats.

Three stages, all numpy/scipy on CPU:

1. Candidates. Lexical: BM25 (k1=1.2, b=0.75) over normalised tokens (NFKC, case-folded,
   English stop words dropped, a light suffix stemmer, numbers kept with separators removed,
   scripts without spaces (CJK, Thai, ...) cut into character bigrams), as a sparse term x claim
   matrix: a batch of queries is one sparse product. Dense: cosine with the shared ONNX MiniLM
   (`tidebreak.embed`), an exact matrix product over all claims; at <= 100k claims x 384 floats
   (150 MB) that is a few ms per query on CPU, so no ANN index is needed at this scale. The top
   `candidates` (30) of each list, united, go on.
2. Re-ranking: a logistic regression over features of each (query, claim) pair: BM25 scores
   (relative to the query's best, and absolute), cosines (claim text and, when the collection
   has them, review headlines), the margin to the best other claim, reciprocal ranks in both
   lists, idf-weighted token coverage both ways, overlap of numbers and capitalised names, and
   time: whether the post was made in a year or month the claim names (the post's `created_at`,
   else a quoted tweet's signature date).
   Its weights are fitted on CLEF CheckThat! 2020 train, checked on dev (training/eval_claims.py)
   and read from `models/factcheck/fusion.json`. There are two fitted variants: "titled" for
   collections whose claims mostly have a headline (CLEF's Snopes claims do) and "untitled".
3. Calibration: the same regression's output is the match probability in [0, 1]; it was fitted
   on candidates of train queries both with and without their true claim in the collection, so
   a post that matches nothing scores low rather than giving its nearest neighbour a high score.

Cascade (`gate_scores`, on by default, for callers that ignore matches under 0.35): before
stage 1, every post gets two cheap keys, its best cosine to a claim in a static embedding space
distilled from the encoder (`tidebreak.factcheck.static`) and the fusion model's probability
with those static cosines standing in for the encoder's. Only posts over either threshold
(chosen on CLEF train+dev so that every post with a true claim or a match >= 0.35 stays open;
models/factcheck/GATE.md) are encoded and scored; the others get no text match. Opened posts'
results are bit-identical to the ungated path (`gate=False`).

URL matching: a query URL equal, after `tidebreak.text.urls.canonical_url`, to a fact-check's review URL or one of
its appearance URLs matches with score 1.0 (`match="url"`), ahead of any text match.

Repeated claims: fact-checkers re-rate claims, and feeds repeat them, so a collection holds records
that state the same claim in the same words (differing only in quote marks, case or spacing),
by the same fact-checker with the same rating, under other ids. They form one group
(`claim_key`): the earliest record stands for it, so a match names the fact-check a label may
already cite, and the top k names k different claims; the others are listed in `same_claim`.

`save(dir)` writes the fact-checks and their vectors; `load(dir)` reads them back and rebuilds
the lexical side (tokenising is fast; encoding is what costs), checking the encoder is the same.
"""

from __future__ import annotations

from tidebreak.text.urls import canonical_or_none

from tidebreak.clock import parse_time

import functools
import hashlib
import json
import logging
import re
import time
import unicodedata
from datetime import date, datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, NamedTuple, Protocol, Sequence

import numpy as np
from scipy import sparse

from tidebreak.factcheck.claimreview import FactCheck, FactCheckError, dedupe, from_dict
from tidebreak.factcheck.static import GateThresholds, StaticEmbedder, get_static

log = logging.getLogger(__name__)

INDEX_FORMAT = 1
FUSION_FILE = "fusion.json"

# ------------------------------------------------------------------------------ text


class TextEncoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int = 64) -> np.ndarray: ...


_URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()\[\]]+|\bpic\.twitter\.com/\w+|\b[\w-]+\.(?:com|org|net|ly|co)/\S+",
    re.IGNORECASE,
)
_HANDLE_RE = re.compile(r"(?<![\w@])@(\w{1,30})")
_CAMEL_RE = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])")
_HASHTAG_RE = re.compile(r"#(\w+)")


# A tweet's trailing signature as quoted on the web: "— Name (@handle) January 6, 2020".
_SIGNATURE_RE = re.compile(
    r"\s*[—–-]\s*([^—–]{0,80}?)\(@\w+\)\s*([A-Z][a-z]+ \d{1,2}, \d{2,4})?\s*$"
)


_MONTHS = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MONTHS.update({m[:3]: i for m, i in list(_MONTHS.items())})
_MONTHS["sept"] = 9
_YEAR_RE = re.compile(r"(?<!\d)(19[5-9]\d|20[0-9]\d)(?!\d)")
_MONTH_YEAR_RE = re.compile(
    r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?,?\s+(?:\d{1,2},?\s+)?"
    r"(19[5-9]\d|20[0-9]\d)(?!\d)", re.IGNORECASE)

PostDate = date | datetime | str | None


def parse_post_date(value: object) -> datetime | None:
    """A query's optional `created_at`: an ISO 8601 date or datetime ("2019-06-04",
    "2019-06-04T10:00:00Z"), None if not given; ValueError if given but not one."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("not a string")
    return parse_time(value, "created_at")


def post_month(when: PostDate, text: str = "") -> tuple[int, int] | None:
    """(year, month) a post was made: from `when` (a date, datetime or ISO 8601 string), else
    from a quoted post's signature in the text ("— Name (@handle) January 6, 2020"), else None."""
    if isinstance(when, str):
        try:
            when = parse_post_date(when)
        except ValueError:
            when = None
    if isinstance(when, (date, datetime)):
        return when.year, when.month
    m = _SIGNATURE_RE.search(text) if text and "(@" in text else None  # "(@": needed to match
    if m and m.group(2):
        parts = m.group(2).replace(",", " ").split()
        mo = _MONTHS.get(parts[0].lower())
        if mo and parts[-1].isdigit():
            return int(parts[-1]), mo
    return None


def time_references(text: str) -> tuple[frozenset[int], frozenset[tuple[int, int]]]:
    """Years, and (year, month) pairs, a claim names: "in June 2019", "the 2020 election"."""
    years = frozenset(int(y) for y in _YEAR_RE.findall(text or ""))
    months = frozenset((int(y), _MONTHS[m.lower()]) for m, y in _MONTH_YEAR_RE.findall(text or ""))
    return years, months


def extract_urls(text: str) -> list[str]:
    return [m.group(0).rstrip(".,;:!?") for m in _URL_RE.finditer(text or "")]


def clean_text(text: str) -> str:
    """What both retrievers read: URLs dropped, hashtags and @handles split into words
    ("#DefundTheCBC" -> "Defund The CBC"), whitespace collapsed. Case is kept (names matter)."""
    t = _URL_RE.sub(" ", text or "")
    # each pattern needs its literal ("(@", "#", "@"): skip the scan when it is absent
    if "(@" in t:
        t = _SIGNATURE_RE.sub(lambda m: " " + m.group(1), t)
    if "#" in t:
        t = _HASHTAG_RE.sub(lambda m: _CAMEL_RE.sub(" ", m.group(1)), t)
    if "@" in t:
        t = _HANDLE_RE.sub(lambda m: _CAMEL_RE.sub(" ", m.group(1).replace("_", " ")), t)
    return " ".join(t.split())


STOPWORDS = frozenset(
    """a about above after again against all am an and any are aren't as at be because been
    before being below between both but by can could did didn't do does doesn't doing don't down
    during each few for from further had has have having he her here hers herself him himself his
    how i if in into is isn't it it's its itself just let's me more most my myself nor of off on
    once only or other our ours ourselves out over own same she should so some such than that
    that's the their theirs them themselves then there there's these they this those through to
    too under until up very was wasn't we were what when where which while who whom why will with
    would you your yours yourself yourselves rt amp via s t""".split()
)

_WORD_RE = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)
_NOSPACE_RE = re.compile(
    r"[\u0e00-\u0e7f\u0e80-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
    r"\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]"
)


@functools.lru_cache(maxsize=1 << 15)  # pure, and words repeat: a bounded memo
def stem(w: str) -> str:
    """A light English suffix stripper (plurals, -ing, -ed, -ly); not Porter, on purpose: it
    never merges words that mean different things more often than it helps BM25."""
    if len(w) <= 3 or not w.isascii():
        return w
    if w.endswith("'s"):
        w = w[:-2]
    if w.endswith("ies") and len(w) > 4:
        return w[:-3] + "y"
    if w.endswith("sses"):
        return w[:-2]
    if w.endswith("s") and not w.endswith(("ss", "us", "is")) and len(w) > 3:
        w = w[:-1]
    if w.endswith("ing") and len(w) > 5:
        w = w[:-3]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
        return w
    if w.endswith("ed") and len(w) > 4:
        w = w[:-2]
        if len(w) > 2 and w[-1] == w[-2] and w[-1] not in "lsz":
            w = w[:-1]
        return w
    if w.endswith("ly") and len(w) > 5:
        return w[:-2]
    return w


def _fold(text: str) -> str:
    t = unicodedata.normalize("NFKC", text).casefold().replace("’", "'")
    if not t.isascii():
        t = "".join(c for c in unicodedata.normalize("NFD", t) if unicodedata.category(c) != "Mn")
        t = unicodedata.normalize("NFC", t)
    return t


@dataclass(frozen=True, slots=True)
class Tokens:
    terms: tuple[str, ...]  # stemmed, stop words dropped, in order (repeats kept)
    numbers: frozenset[str]
    names: frozenset[str]  # stems of capitalised words (a cheap stand-in for named entities)


_CAPITAL_RE = re.compile(r"\b[A-Z][\w'-]*")


def tokenize(text: str) -> Tokens:
    raw = unicodedata.normalize("NFKC", text or "")
    names: set[str] = set()
    for m in _CAPITAL_RE.finditer(raw):
        # the last non-space character before the word (not `raw[:start].rstrip()`: quadratic)
        j = m.start()
        while j and raw[j - 1].isspace():
            j -= 1
        if not j or raw[j - 1] in ".!?:;\"'(":
            continue  # sentence-initial capitals say nothing about a name ("Lemon juice ...")
        w = _fold(m.group(0))
        if w not in STOPWORDS and len(w) > 1:
            names.add(stem(w))
    terms: list[str] = []
    numbers: set[str] = set()
    for w in _WORD_RE.findall(_fold(raw)):
        if w[0].isdigit():
            w = w.replace(",", "")
            numbers.add(w)
            terms.append(w)
            continue
        if not w.isascii() and _NOSPACE_RE.search(w):  # those scripts are never ASCII
            if len(w) == 1:
                terms.append(w)
            else:
                terms.extend(w[i : i + 2] for i in range(len(w) - 1))
            continue
        if w in STOPWORDS:
            continue
        terms.append(stem(w))
    return Tokens(tuple(terms), frozenset(numbers), frozenset(names))


def claim_key(text: str) -> str:
    """A claim's words with case, quote marks, punctuation and spacing folded away: two records
    with the same key state the same claim in the same words."""
    t = unicodedata.normalize("NFKC", text or "").casefold()
    return " ".join(re.sub(r"[\W_]+", " ", t).split())


# ------------------------------------------------------------------------------ fusion model

FEATURES = (
    "bm25_rel", "bm25_log", "bm25f_rel", "cos", "cos_title", "cos_max", "cos_margin",
    "rr_bm25", "rr_dense", "cov_claim", "cov_query", "cov_title", "num_cov", "num_miss",
    "name_cov", "cos_x_cov", "bigram_cov", "bigram_cov_title",
    # when the post was made against the time the claim names: the post's year is one the claim
    # names / the claim names only other years / the claim names the post's month and year
    "year_match", "year_other", "month_match",
)

COS_MAX = FEATURES.index("cos_max")
MARGIN_FLOOR = 0.4


@dataclass(frozen=True, slots=True)
class Fusion:
    """A fitted ranker and its calibration.

    Ranker: a linear score over standardised FEATURES, fitted listwise (softmax over each query's
    candidates, i.e. a conditional logit) so it orders candidates well. Calibration: the match
    probability of a candidate is sigmoid(a * s + b * (s - s_best_other) + c), with s its ranker
    score and s_best_other the best score among the query's other candidates (Platt scaling with
    a margin term), fitted on candidates of train queries with and without their true claim.
    """

    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    # (a, b, c) or (a, b, c, d): d weighs the candidate's cosine (`cos_max`) directly, so rank
    # features that saturate in a small collection (rank 1 of 100 claims) cannot make a match
    # of an unrelated post on their own.
    calib: tuple[float, ...] = (1.0, 0.0, 0.0)
    quadratic: bool = False  # also pairwise products of the standardised features

    def design(self, X: np.ndarray) -> np.ndarray:
        Z = (X - self.mean) / self.scale
        if self.quadratic:
            iu, ju = np.triu_indices(Z.shape[1])
            Z = np.hstack([Z, Z[:, iu] * Z[:, ju]])
        return Z

    def rank_score(self, X: np.ndarray) -> np.ndarray:
        return self.design(X) @ self.coef

    def probability(self, s: np.ndarray, qid: np.ndarray, cos: np.ndarray | None = None,
                    group: np.ndarray | None = None) -> np.ndarray:
        """Calibrated probabilities for ranker scores s of candidates grouped by qid (`cos`: the
        candidates' `cos_max`, needed by a 4-term calibration; `group`: each candidate's claim
        group, so a record's copy is not its rival)."""
        if len(s) == 0:
            return np.zeros(0)
        other = _best_other(s, qid, group)
        a, b, c = self.calib[:3]
        z = a * s + b * (s - other) + c
        if len(self.calib) > 3:
            if cos is None:
                raise ValueError("this calibration needs the candidates' cosine")
            z = z + self.calib[3] * cos
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))

    def predict(self, X: np.ndarray, qid: np.ndarray,
                group: np.ndarray | None = None) -> np.ndarray:
        return self.probability(self.rank_score(X), qid, X[:, COS_MAX], group)

    def to_json(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "coef": self.coef.tolist(), "calib": list(self.calib),
                "quadratic": self.quadratic}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> "Fusion":
        return cls(np.asarray(d["mean"], np.float64), np.asarray(d["scale"], np.float64),
                   np.asarray(d["coef"], np.float64), tuple(float(x) for x in d["calib"]),
                   bool(d.get("quadratic", False)))


def _best_other(s: np.ndarray, qid: np.ndarray, group: np.ndarray | None = None) -> np.ndarray:
    """For each element, the max of s over the other elements with the same qid that are not of
    its claim group (`group`: each element's group; None: every element its own). A lone
    candidate, or a lone group, has no other: it gets its own s (a neutral 0 margin)."""
    out = s.astype(np.float64).copy()
    n = len(s)
    if n == 0:
        return out
    qid = np.asarray(qid)
    g = np.arange(n) if group is None else np.asarray(group)
    # best first within each query (ties: input order); all queries at once, no per-query loop
    order = np.lexsort((-s, qid))
    qs = qid[order]
    new_query = np.concatenate(([True], qs[1:] != qs[:-1]))
    starts = np.flatnonzero(new_query)
    seg = np.cumsum(new_query) - 1  # each position's query segment
    top = order[starts]  # each query's best element
    in_top = g[order] == g[top][seg]
    # the first (so best) position of each segment outside the top element's group
    first_other = np.minimum.reduceat(np.where(in_top, n, np.arange(n)), starts)
    out[order[~in_top]] = s[top][seg[~in_top]]
    fill = in_top & (first_other[seg] < n)
    out[order[fill]] = s[order[first_other[seg[fill]]]]
    return out


@dataclass(frozen=True, slots=True)
class FusionModel:
    version: str
    variants: Mapping[str, Fusion]
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)  # variant -> name -> t
    candidates: int = 30
    raw: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path | None = None) -> "FusionModel":
        if path is None:
            from tidebreak.embed import models_root

            path = models_root() / "factcheck" / FUSION_FILE
        p = Path(path)
        if not p.is_file():
            raise FileNotFoundError(
                f"fact-check fusion model missing: {p} (run training/eval_claims.py)"
            )
        d = json.loads(p.read_text())
        if list(d.get("features", [])) != list(FEATURES):
            raise FactCheckError(f"{p}: features differ from this version's; refit it")
        return cls(
            version=str(d.get("version", "0")),
            variants={k: Fusion.from_json(v) for k, v in d["variants"].items()},
            thresholds={k: dict(v) for k, v in d.get("thresholds", {}).items()},
            candidates=int(d.get("candidates", 30)),
            raw=d,
        )


# ------------------------------------------------------------------------------ the index

class GateScores(NamedTuple):
    """`ClaimIndex.gate_scores`: one value per text."""

    cosine: np.ndarray  # best static cosine to a claim or headline
    probability: np.ndarray  # best fused probability with static cosines for the encoder's
    bm25: np.ndarray  # best BM25 / the collection's largest idf (0 unless a BM25 bar is set)
    opened: np.ndarray  # bool: the post goes on to the transformer


@dataclass(frozen=True, slots=True)
class Match:
    claim_id: str
    score: float  # calibrated match probability in [0, 1]; 1.0 for a URL match
    match: str  # "text" or "url"
    factcheck: FactCheck
    features: Mapping[str, float] = field(default_factory=dict)
    # other records of the same claim (same words, fact-checker and rating; see `claim_key`)
    same_claim: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"claim_id": self.claim_id, "score": round(float(self.score), 6)}
        if self.same_claim:
            d["same_claim"] = list(self.same_claim)
        return d


class _Lexical:
    """BM25 over one text field, plus the per-claim token sets the features need."""

    def __init__(self, docs: Sequence[Tokens], vocab: dict[str, int], k1: float = 1.2,
                 b: float = 0.75) -> None:
        n = len(docs)
        rows: list[int] = []
        cols: list[int] = []
        vals: list[float] = []
        lens = np.zeros(n, np.float64)
        for i, d in enumerate(docs):
            lens[i] = len(d.terms)
            counts: dict[int, int] = {}
            for t in d.terms:
                j = vocab.setdefault(t, len(vocab))
                counts[j] = counts.get(j, 0) + 1
            for j, c in counts.items():
                rows.append(i)
                cols.append(j)
                vals.append(c)
        self.n = n
        self.vocab = vocab
        V = len(vocab)
        tf = sparse.csr_matrix((np.asarray(vals, np.float64), (rows, cols)), shape=(n, V))
        df = np.bincount(np.asarray(cols, np.int64), minlength=V).astype(np.float64)
        self.df = df
        avgdl = float(lens.mean()) if n else 1.0
        idf = np.log(1.0 + (n - df + 0.5) / (df + 0.5))
        self.idf = idf
        norm = k1 * (1.0 - b + b * lens / max(avgdl, 1e-9))
        w = tf.tocoo()
        data = idf[w.col] * w.data * (k1 + 1.0) / (w.data + norm[w.row])
        # term x claim: a query batch (q x V) @ this (V x n) is the score matrix
        self.weights = sparse.csr_matrix((data, (w.col, w.row)), shape=(V, n))
        pres = sparse.csr_matrix((idf[w.col], (w.row, w.col)), shape=(n, V))
        self.presence = pres  # claim x term, idf where present
        self.presence_sum = np.asarray(pres.sum(axis=1)).ravel()

    def resize(self, V: int) -> None:
        """The vocabulary grew (another field added terms): pad the matrices to V terms."""
        if self.weights.shape[0] < V:
            self.weights = sparse.vstack(
                [self.weights, sparse.csr_matrix((V - self.weights.shape[0], self.n))]
            ).tocsr()
            self.presence = sparse.hstack(
                [self.presence, sparse.csr_matrix((self.n, V - self.presence.shape[1]))]
            ).tocsr()
            self.idf = np.concatenate([self.idf, np.zeros(V - len(self.idf))])


def _prepare(texts: Sequence[str]) -> tuple[list[str], list[Tokens]]:
    """What the retrievers read of each text: its `clean_text` and that text's tokens."""
    cleaned = [clean_text(t) for t in texts]
    return cleaned, [tokenize(t) for t in cleaned]


class _Rows(NamedTuple):
    """A canonical CSR matrix's arrays (sorted columns, no duplicates), for a query batch's
    rows: built per batch without scipy, whose constructors and products cost more Python
    than the work at this size."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    shape: tuple[int, int]


def _id_keys(sets: Iterable[Iterable[Any]], vocab: Mapping[Any, int]) -> np.ndarray:
    """Row i's items that `vocab` knows, as keys i * max(1, len(vocab)) + id, ascending, unique."""
    ncol = max(1, len(vocab))
    keys = [i * ncol + vocab[t] for i, st in enumerate(sets) for t in st if t in vocab]
    return np.unique(np.asarray(keys, np.int64))


def _query_rows(qtoks: Sequence[Tokens], vocab: Mapping[str, int]) -> _Rows:
    """`_query_matrix` as `_Rows`."""
    nq, ncol = len(qtoks), max(1, len(vocab))
    keys = _id_keys((q.terms for q in qtoks), vocab)
    indptr = np.searchsorted(keys, np.arange(nq + 1) * ncol)
    indices = keys - np.repeat(np.arange(nq) * ncol, np.diff(indptr))
    return _Rows(indptr, indices, np.ones(len(keys)), (nq, len(vocab)))


def _row_keys(B: sparse.csr_matrix | _Rows) -> np.ndarray:
    """B's entries as row * B.shape[1] + column (ascending for canonical B)."""
    return np.repeat(np.arange(B.shape[0]) * B.shape[1], np.diff(B.indptr)) + B.indices


def _ragged(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The entries of CSR rows `rows`, row after row: (which of `rows`, position in data)."""
    starts = indptr[rows]
    lens = indptr[rows + 1] - starts
    which = np.repeat(np.arange(len(rows)), lens)
    pos = np.arange(len(which)) + np.repeat(starts - (np.cumsum(lens) - lens), lens)
    return which, pos


def _row_sums(Q: _Rows) -> np.ndarray:
    """Each row's sum, as scipy's `sum(axis=1)` makes it (np.add.reduceat over non-empty rows)."""
    out = np.zeros(Q.shape[0])
    nonempty = np.flatnonzero(np.diff(Q.indptr))
    if len(nonempty):
        out[nonempty] = np.add.reduceat(Q.data, Q.indptr[nonempty])
    return out


def _dense_product(Q: _Rows, W: sparse.csr_matrix) -> np.ndarray:
    """(Q @ W).toarray(), bit for bit: each cell sums its products in Q's column order from 0,
    as scipy's sparse product does (np.bincount adds in input order)."""
    nq, n = Q.shape[0], W.shape[1]
    entry, pos = _ragged(W.indptr, Q.indices)
    row = np.repeat(np.arange(nq), np.diff(Q.indptr))[entry]
    flat = row * n + W.indices[pos]
    vals = Q.data[entry] * W.data[pos]
    return np.bincount(flat, weights=vals, minlength=nq * n).reshape(nq, n)


def _query_matrix(qtoks: Sequence[Tokens], vocab: Mapping[str, int]) -> sparse.csr_matrix:
    rows, cols = [], []
    for i, q in enumerate(qtoks):
        for j in {vocab[t] for t in q.terms if t in vocab}:
            rows.append(i)
            cols.append(j)
    return sparse.csr_matrix(
        (np.ones(len(rows), np.float64), (rows, cols)), shape=(len(qtoks), len(vocab))
    )


def _top(S: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n largest per row, unordered."""
    if S.shape[1] <= n:
        return np.tile(np.arange(S.shape[1]), (S.shape[0], 1))
    return np.argpartition(-S, n - 1, axis=1)[:, :n]


def _sorted_top(S: np.ndarray, n: int) -> np.ndarray:
    """Indices of the n largest per row, best first."""
    top = _top(S, n)
    order = np.argsort(-np.take_along_axis(S, top, 1), axis=1, kind="stable")
    return np.take_along_axis(top, order, 1)


def _ranks(top_sorted: np.ndarray, idx: np.ndarray, cap: int) -> np.ndarray:
    """Rank (0-based) of each idx[r, c] within row r's sorted top list, `cap` if not in it."""
    if top_sorted.shape[1] == 0:
        return np.full(idx.shape, cap, np.float64)
    # a top list names each claim at most once: its first (only) hit is its rank
    hit = idx[:, :, np.newaxis] == top_sorted[:, np.newaxis, :]
    return np.where(hit.any(axis=2), hit.argmax(axis=2), cap).astype(np.float64)


class _Incidence:
    """Claims' token sets (bigrams, numbers, names) as sparse 0/1 rows over their own
    vocabulary, so the overlaps of all (query, claim) pairs are sparse row products rather than
    a Python set intersection per pair. Counts of shared items are exact (sums of ones)."""

    def __init__(self, sets: Sequence[frozenset[Any]]) -> None:
        vocab: dict[Any, int] = {}
        rows: list[int] = []
        cols: list[int] = []
        for i, st in enumerate(sets):
            for t in st:
                rows.append(i)
                cols.append(vocab.setdefault(t, len(vocab)))
        self.vocab = vocab
        self.size = np.array([len(st) for st in sets], np.float64)
        self.m = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)),
                                   shape=(len(sets), max(1, len(vocab))))

    def shared(self, di: np.ndarray, qsets: Sequence[Iterable[Any]], qi: np.ndarray) -> np.ndarray:
        """|set of claim di[p] & qsets[qi[p]]| for every pair p."""
        # counts of shared items: exact in any order
        pair = _pair_entries(self.m, di, _id_keys(qsets, self.vocab), qi)[0]
        return np.bincount(pair, minlength=len(di)).astype(np.float64)

    def fraction(self, di: np.ndarray, hits: np.ndarray) -> np.ndarray:
        """hits / the claim's set size, 0 for an empty set."""
        size = self.size[di]
        out = np.zeros(len(di))
        nz = size > 0
        out[nz] = hits[nz] / size[nz]
        return out

    def cover(self, di: np.ndarray, qsets: Sequence[Iterable[Any]], qi: np.ndarray) -> np.ndarray:
        """The share of claim di[p]'s set that qsets[qi[p]] has, for every pair p."""
        return self.fraction(di, self.shared(di, qsets, qi))


class ClaimIndex:
    """Hybrid retrieval over fact-checked claims with a calibrated match probability."""

    def __init__(
        self,
        factchecks: Iterable[FactCheck],
        *,
        encoder: TextEncoder | None = None,
        fusion: FusionModel | None = None,
        vectors: np.ndarray | None = None,
        title_vectors: np.ndarray | None = None,
        encoder_id: str | None = None,
        gate: bool = True,
        static: StaticEmbedder | None = None,
    ) -> None:
        fcs, dups = dedupe(factchecks)
        if dups:
            raise FactCheckError(dups[0].message())
        self.factchecks: list[FactCheck] = fcs
        self._pos = {fc.claim_id: i for i, fc in enumerate(fcs)}
        self._encoder = encoder
        self.fusion = fusion if fusion is not None else FusionModel.load()
        self.encoder_id = encoder_id or _encoder_id(encoder)
        n = len(fcs)
        t0 = time.perf_counter()
        self.titled = n > 0 and sum(1 for f in fcs if f.title) >= 0.5 * n
        claim_texts = [clean_text(f.claim) for f in fcs]
        title_texts = [clean_text(f.title or f.claim) for f in fcs]
        if vectors is None:
            vectors = self.encoder.encode(claim_texts) if n else np.zeros((0, 384), np.float32)
        if self.titled and title_vectors is None:
            title_vectors = self.encoder.encode(title_texts)
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.title_vectors = (
            np.ascontiguousarray(title_vectors, dtype=np.float32) if self.titled else None
        )
        if self.vectors.shape[0] != n:
            raise FactCheckError("vectors do not match the fact-checks; rebuild the index")
        self.encode_seconds = time.perf_counter() - t0
        self._build_lexical(claim_texts, title_texts)
        self._build_urls()
        self._build_groups()
        self._build_gate(gate, static, claim_texts, title_texts)
        self.fingerprint = self._fingerprint()

    # -- building ----------------------------------------------------------------------------

    @property
    def encoder(self) -> TextEncoder:
        if self._encoder is None:
            from tidebreak.embed import get_encoder

            self._encoder = get_encoder()
        return self._encoder

    def _build_lexical(self, claim_texts: list[str], title_texts: list[str]) -> None:
        vocab: dict[str, int] = {}
        self.claim_tokens = [tokenize(t) for t in claim_texts]
        self.title_tokens = [tokenize(t) for t in title_texts] if self.titled else self.claim_tokens
        full = [
            Tokens(c.terms + (t.terms if self.titled else ()), c.numbers | t.numbers, c.names | t.names)
            for c, t in zip(self.claim_tokens, self.title_tokens)
        ]
        self.full_tokens = full
        self.bm25 = _Lexical(self.claim_tokens, vocab)
        self.bm25f = _Lexical(full, vocab) if self.titled else self.bm25
        self.bm25_title = _Lexical(self.title_tokens, vocab) if self.titled else self.bm25
        V = len(vocab)
        for lex in (self.bm25, self.bm25f, self.bm25_title):
            lex.resize(V)
        self.vocab = vocab
        self.claim_numbers = [f.numbers for f in full]
        self.claim_names = [f.names for f in full]
        self.claim_bigrams = [frozenset(zip(t.terms, t.terms[1:])) for t in self.claim_tokens]
        # from the claim and headline text only: a review's own date says when it was checked,
        # not what time the claim is about
        self.claim_times = [time_references(f"{fc.claim} {fc.title or ''}") for fc in self.factchecks]
        self.title_bigrams = (
            [frozenset(zip(t.terms, t.terms[1:])) for t in self.title_tokens]
            if self.titled else self.claim_bigrams
        )
        # per-claim constants of the features, built once here rather than per query batch
        presf_bin = self.bm25f.presence.copy()
        presf_bin.data[:] = 1.0
        self._presf_bin = presf_bin
        self._claim_bigrams_m = _Incidence(self.claim_bigrams)
        self._title_bigrams_m = (_Incidence(self.title_bigrams) if self.titled
                                 else self._claim_bigrams_m)
        self._claim_numbers_m = _Incidence(self.claim_numbers)
        self._claim_names_m = _Incidence(self.claim_names)

    def _build_gate(self, gate: bool, static: StaticEmbedder | None, claim_texts: list[str],
                    title_texts: list[str]) -> None:
        """The cascade's first stage (see `gate_scores`): the claims' (and headlines') static
        vectors. Without the static table the gate is off (every post goes to the encoder)."""
        self.gate = bool(gate)
        self.static: StaticEmbedder | None = None
        self.gate_thresholds: GateThresholds | None = None
        self.gate_stats = {"posts": 0, "opened": 0}
        if not self.gate:
            return
        if static is None:
            try:
                static = get_static()
            except (FileNotFoundError, ValueError) as e:
                log.warning("fact-check gate off: %s", e)
                self.gate = False
                return
        made_for = (static.meta.get("encoder"), static.meta.get("fusion_version"))
        if made_for != (self.encoder_id, self.fusion.version):
            # the thresholds were chosen for another encoder or fusion model: not safe
            log.warning("fact-check gate off: static table made for encoder %s / fusion %s, "
                        "this index uses %s / %s (rebuild: training/build_factcheck_gate.py)",
                        *made_for, self.encoder_id, self.fusion.version)
            self.gate = False
            return
        self.static = static
        self.gate_thresholds = static.thresholds
        self._static_claims = static.encode(claim_texts)
        self._static_titles = static.encode(title_texts) if self.titled else None
        n = len(self.factchecks)
        # BM25 in units of the collection's largest idf (a term no claim has; the idf of a term
        # one claim has is close to it): about "shares that many rare words with one claim"
        self._bm25_unit = float(np.log(1.0 + (n + 0.5) / 0.5)) if n else 1.0

    def _build_urls(self) -> None:
        self._by_url: dict[str, list[int]] = {}
        for i, fc in enumerate(self.factchecks):
            for u in (fc.url, *fc.appearances):
                c = canonical_or_none(u) if u else None
                if c:
                    lst = self._by_url.setdefault(c, [])
                    if i not in lst:
                        lst.append(i)

    def _build_groups(self) -> None:
        """`group[j]`: the position of the earliest record of claim j's group (j itself when the
        claim is stated once); `members[g]`: the later records of group g."""
        first: dict[tuple[str, str, str, str], int] = {}
        self.group = np.arange(len(self.factchecks))
        self.members: dict[int, list[int]] = {}
        for j, fc in enumerate(self.factchecks):
            k = (claim_key(fc.claim), fc.rating, (fc.publisher or "").casefold(),
                 (fc.language or "").casefold())
            g = first.setdefault(k, j)
            if g != j:
                self.group[j] = g
                self.members.setdefault(g, []).append(j)

    def rank(self, cand: np.ndarray, prob: np.ndarray,
             limit: int | None = None) -> list[tuple[int, int]]:
        """Candidates best first, one per claim group: (group position, index into cand of its
        best-scoring record). A group scores as its best record; ties keep collection order.
        `limit`: at most that many (the best)."""
        order = np.lexsort((cand, -prob))
        groups = self.group[cand[order]]
        _, first = np.unique(groups, return_index=True)  # each group's best position in order
        first.sort()
        if limit is not None:
            first = first[: max(0, limit)]
        return [(int(groups[i]), int(order[i])) for i in first]

    def _fingerprint(self) -> str:
        h = hashlib.sha256()
        h.update(f"{INDEX_FORMAT}|{self.encoder_id}|{self.fusion.version}".encode())
        for fc in self.factchecks:
            h.update(json.dumps(fc.to_dict(), sort_keys=True, ensure_ascii=False).encode())
        return h.hexdigest()[:12]

    def __len__(self) -> int:
        return len(self.factchecks)

    def get(self, claim_id: str) -> FactCheck:
        return self.factchecks[self._pos[claim_id]]

    # -- search ------------------------------------------------------------------------------

    def search(
        self,
        texts: Sequence[str],
        k: int = 5,
        *,
        urls: Sequence[Sequence[str]] | None = None,
        dates: Sequence[PostDate] | None = None,
        query_vectors: np.ndarray | None = None,
        with_features: bool = False,
        min_score: float | None = None,
        gate: bool | None = None,
    ) -> list[list[Match]]:
        """Top-k matches for each text, best first. URLs (given, and found in the text) that
        name a fact-check give it score 1.0 ahead of the text matches. `dates`: when each post
        was made (compared with the years and months a claim names; optional).

        `min_score`: the caller ignores text matches scoring under it (the detector's floor).
        When it is at least the floor the gate was chosen for (0.35), the index may skip posts
        the gate closes (see `score_candidates`): those get no text matches at all; opened posts
        get their full top k, exactly as without the gate. Without `min_score` (a top-k list of
        the nearest claims, whatever their score) nothing is skipped. `gate`: True / False
        forces the cascade on / off."""
        nq = len(texts)
        results: list[list[Match]] = [[] for _ in range(nq)]
        if nq == 0 or not self.factchecks or k <= 0:
            return results
        for i in range(nq):
            found: list[int] = []
            for u in [*(urls[i] if urls is not None else ()), *extract_urls(texts[i])]:
                c = canonical_or_none(u)
                for j in self._by_url.get(c or "", ()):
                    if j not in found:
                        found.append(j)
            results[i] = [
                Match(self.factchecks[j].claim_id, 1.0, "url", self.factchecks[j]) for j in found
            ][:k]
        scored = self.score_candidates(texts, dates=dates, query_vectors=query_vectors, gate=gate,
                                       min_score=min_score)
        for i, (cand, prob, feats) in enumerate(scored):
            have = {m.claim_id for m in results[i]}
            # k groups are always enough: each one is either added or skipped as a URL match
            for g, o in self.rank(cand, prob, limit=k):
                if len(results[i]) >= k:
                    break
                fc = self.factchecks[g]
                if fc.claim_id in have:
                    continue
                f = {n: round(float(v), 4) for n, v in zip(FEATURES, feats[o])} if with_features else {}
                same = tuple(self.factchecks[j].claim_id for j in self.members.get(g, ()))
                results[i].append(Match(fc.claim_id, float(prob[o]), "text", fc, f, same))
        return results

    def score_candidates(
        self, texts: Sequence[str], *, dates: Sequence[PostDate] | None = None,
        query_vectors: np.ndarray | None = None, exclude: Sequence[Sequence[int]] | None = None,
        gate: bool | None = None, min_score: float | None = None,
    ) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        """For each text: (candidate claim positions, match probabilities, feature rows).
        `exclude` (training only) hides given claims, as if they were not in the collection.

        `gate`: a retrieval cascade; None: on when the index's `gate` is and the caller only
        wants matches of at least `min_score` >= the floor the gate was chosen for (0.35). Only
        the posts `gate_scores` opens (a claim or headline close enough in the static embedding
        space, or a fused probability, with static cosines for the transformer's, over a low
        bar) are encoded by the transformer and scored by the fusion model; the others get no
        candidates. The thresholds keep every CLEF train+dev post whose true claim, or any claim
        it matches at >= 0.35, would be scored (models/factcheck/GATE.md). The opened posts'
        candidates, probabilities and features are exactly those of the ungated path: their
        dense cosines are computed in a matrix of the whole batch's shape (the rows of skipped
        posts zero), so not even the last bit depends on which posts were skipped."""
        if gate is None:
            gate = (self.gate and min_score is not None and self.gate_thresholds is not None
                    and min_score >= self.gate_thresholds.floor)
        use_gate = bool(gate) and self.static is not None
        nq = len(texts)
        if not use_gate or nq == 0 or not self.factchecks:
            X, cand, qid = self.features(texts, dates=dates, query_vectors=query_vectors,
                                         exclude=exclude)
            return self._split(X, cand, qid, nq)
        # each text cleaned and tokenised once, for the gate and again for the opened posts
        prepared = _prepare(texts)
        opened = self.gate_scores(texts, dates=dates, exclude=exclude, _prepared=prepared).opened
        self.gate_stats["posts"] += nq
        self.gate_stats["opened"] += int(opened.sum())
        empty = (np.zeros(0, np.int64), np.zeros(0), np.zeros((0, len(FEATURES))))
        out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = [empty] * nq
        if not opened.any():
            return out
        rows = np.flatnonzero(opened)
        sub = [texts[i] for i in rows]
        sub_prepared = ([prepared[0][i] for i in rows], [prepared[1][i] for i in rows])
        if query_vectors is None:
            qv_sub = self.encoder.encode(sub_prepared[0])
        else:
            qv_sub = np.asarray(query_vectors, np.float32)[rows]
        qv = np.zeros((nq, np.asarray(qv_sub).shape[1]), np.float32)
        qv[rows] = qv_sub
        X, cand, qid = self.features(
            sub, dates=None if dates is None else [dates[i] for i in rows],
            query_vectors=qv_sub, exclude=None if exclude is None else [exclude[i] for i in rows],
            _dense=self._dense(qv, rows), _prepared=sub_prepared)
        for i, r in zip(rows, self._split(X, cand, qid, len(rows))):
            out[i] = r
        return out

    def _split(self, X: np.ndarray, cand: np.ndarray, qid: np.ndarray,
               nq: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        variant = "titled" if self.titled else "untitled"
        prob = (self.fusion.variants[variant].predict(X, qid, self.group[cand])
                if len(X) else np.zeros(0))
        # pairs come query by query (features' row-major order): each query's rows are a slice
        bounds = np.searchsorted(qid, np.arange(nq + 1))
        return [(cand[a:b], prob[a:b], X[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]

    def _dense(self, qv: np.ndarray, rows: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
        """Cosines with the claims and headlines (rows: keep only those queries)."""
        C = qv @ self.vectors.T
        Ct = qv @ self.title_vectors.T if self.title_vectors is not None else C
        if rows is not None:
            C = C[rows]
            Ct = Ct[rows] if self.title_vectors is not None else C
        return C, Ct

    def gate_scores(
        self, texts: Sequence[str], *, dates: Sequence[PostDate] | None = None,
        exclude: Sequence[Sequence[int]] | None = None,
        _prepared: tuple[list[str], list[Tokens]] | None = None,
    ) -> GateScores:
        """The cascade's first stage, no transformer: for each text

        - `cosine`: its best static cosine to any claim (or headline), in the static space
          distilled from the encoder (`tidebreak.factcheck.static`);
        - `probability`: the best fused match probability the fusion model gives it when the
          static cosines stand in for the transformer's (the same features and candidates
          otherwise: BM25 and BM25F, coverage, numbers, names, time): this is what catches a
          post sharing one rare word with one claim of a small collection, which the fusion
          model can score high whatever the cosine;
        - `bm25`: its best BM25 score over the claims (claim + headline when titled) in units
          of the collection's largest idf (only computed when a BM25 threshold is set);
        - `opened`: any of them at or over its threshold (`gate_thresholds`).

        `_prepared` (internal): the texts' `_prepare`, computed by the caller.
        """
        if self.static is None or self.gate_thresholds is None:
            raise FactCheckError("this index has no gate (static table not loaded)")
        nq = len(texts)
        th = self.gate_thresholds
        if nq == 0 or not self.factchecks:
            z = np.zeros(nq)
            return GateScores(z, z, z, np.zeros(nq, bool))
        prepared = _prepared if _prepared is not None else _prepare(texts)
        cleaned, qtoks = prepared
        sv = self.static.encode(cleaned)
        S = sv @ self._static_claims.T
        St = sv @ self._static_titles.T if self._static_titles is not None else S
        X, cand, qid = self.features(texts, dates=dates, exclude=exclude, _dense=(S, St),
                                     _prepared=prepared)
        # features() hid excluded claims in S and St (in place), as in the ungated path
        smax = np.maximum(S, St).max(axis=1).astype(np.float64)
        pmax = np.zeros(nq)
        if len(X):
            variant = "titled" if self.titled else "untitled"
            prob = self.fusion.variants[variant].predict(X, qid, self.group[cand])
            np.maximum.at(pmax, qid, prob)
        opened = (smax >= th.cosine) | (pmax >= th.probability)
        bmax = np.zeros(nq)
        if th.bm25 is not None and np.isfinite(th.bm25):
            B = (_query_matrix(qtoks, self.vocab)
                 @ self.bm25f.weights).toarray()
            if exclude is not None:
                for i, ex in enumerate(exclude):
                    if len(ex):
                        B[i, ex] = -1.0
            bmax = B.max(axis=1) / self._bm25_unit
            opened |= bmax >= th.bm25
        return GateScores(smax, pmax, bmax, opened)

    def features(
        self, texts: Sequence[str], *, dates: Sequence[PostDate] | None = None,
        query_vectors: np.ndarray | None = None,
        exclude: Sequence[Sequence[int]] | None = None, n_candidates: int | None = None,
        _dense: tuple[np.ndarray, np.ndarray] | None = None,
        _prepared: tuple[list[str], list[Tokens]] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Feature matrix (pairs x FEATURES), the claim position and query number of each pair.
        `_dense` (internal): the queries' cosine matrices with claims and headlines, computed
        by the caller; `_prepared` (internal): the texts' `_prepare`, likewise."""
        N = n_candidates or self.fusion.candidates
        if dates is not None and len(dates) != len(texts):
            raise ValueError("dates must have one entry per text")
        cleaned, qtoks = _prepared if _prepared is not None else _prepare(texts)
        nq = len(texts)
        if _dense is not None:
            C, Ct = _dense
        else:
            if query_vectors is None:
                query_vectors = self.encoder.encode(cleaned)
            qv = np.asarray(query_vectors, np.float32)
            C, Ct = self._dense(qv)
        Q = _query_rows(qtoks, self.vocab)
        B = _dense_product(Q, self.bm25.weights)
        Bf = _dense_product(Q, self.bm25f.weights) if self.titled else B
        if exclude is not None:
            for i, ex in enumerate(exclude):
                if len(ex):
                    C[i, ex] = -2.0
                    Ct[i, ex] = -2.0
                    B[i, ex] = -1.0
                    Bf[i, ex] = -1.0
        D = np.maximum(C, Ct)
        n = len(self.factchecks)
        N = min(N, n)
        R = min(100, n)
        sorted_b = _sorted_top(Bf, R)
        sorted_d = _sorted_top(D, R)
        # candidates: the union of both top-N lists, each query's in claim order
        rows = np.arange(nq)[:, np.newaxis]
        is_cand = np.zeros((nq, n), bool)
        is_cand[rows, sorted_b[:, :N]] = True
        is_cand[rows, sorted_d[:, :N]] = True
        if exclude is not None:
            for i, ex in enumerate(exclude):
                if len(ex):
                    is_cand[i, ex] = False
        counts = is_cand.sum(axis=1)
        width = int(counts.max()) if nq else 0
        valid = np.arange(width)[np.newaxis, :] < counts[:, np.newaxis]
        idx = np.zeros((nq, width), np.int64)
        idx[valid] = np.nonzero(is_cand)[1]
        rb = _ranks(sorted_b, idx, 100)
        rd = _ranks(sorted_d, idx, 100)
        b = np.take_along_axis(B, idx, 1)
        bf = np.take_along_axis(Bf, idx, 1)
        c = np.take_along_axis(C, idx, 1)
        ct = np.take_along_axis(Ct, idx, 1)
        d = np.maximum(c, ct)
        bmax = np.maximum(B.max(axis=1, keepdims=True), 1e-9)
        bfmax = np.maximum(Bf.max(axis=1, keepdims=True), 1e-9)
        # best cosine among the OTHER claims, a record's copies (its claim group) not counted
        K = min(8, n)
        topk = sorted_d[:, :K]
        vals = np.take_along_axis(D, topk, 1)
        rival = self.group[topk][:, np.newaxis, :] != self.group[idx][:, :, np.newaxis]
        first = np.where(rival.any(axis=2), rival.argmax(axis=2), K - 1)
        other = np.take_along_axis(vals, first, 1) if n > 1 else d
        # Floored at what an unrelated claim typically reaches among thousands: in a collection
        # of three claims the runner-up is far away for any post, which says nothing.
        margin = d - np.maximum(other, MARGIN_FLOOR)

        qi, ci = np.nonzero(valid)
        di = idx[qi, ci]
        pres = self.bm25.presence
        qkeys = _row_keys(Q)
        shared_terms = _pair_entries(pres, di, qkeys, qi)
        cov_claim = (_rowdot(pres, di, Q, qi, shared_terms)
                     / np.maximum(self.bm25.presence_sum[di], 1e-9))
        if self.bm25_title is self.bm25:  # untitled: the same matrices, the same values
            cov_title = cov_claim
        else:
            prest = self.bm25_title.presence
            cov_title = (_rowdot(prest, di, Q, qi, _pair_entries(prest, di, qkeys, qi))
                         / np.maximum(self.bm25_title.presence_sum[di], 1e-9))
        qidf = Q._replace(data=Q.data * self.bm25f.idf[Q.indices])
        # The post's words the collection has never seen count too, at the idf of an unseen
        # term: otherwise, in a small collection, a post sharing one rare word with one claim
        # would look fully "covered" by it.
        idf_unseen = float(np.log(1.0 + (n + 0.5) / 0.5))
        unseen = np.array([len({t for t in q.terms if t not in self.vocab}) for q in qtoks],
                          np.float64)
        qsum = _row_sums(qidf) + unseen * idf_unseen
        # qidf has Q's columns; untitled, _presf_bin has the claims' (bm25f is bm25)
        shared_full = (shared_terms if self.bm25f is self.bm25
                       else _pair_entries(self._presf_bin, di, qkeys, qi))
        cov_query = (_rowdot(self._presf_bin, di, qidf, qi, shared_full)
                     / np.maximum(qsum[qi], 1e-9))
        # Overlaps of token sets as counts of shared items: sparse 0/1 rows, claims' built at load
        bigrams = [set(zip(q.terms, q.terms[1:])) for q in qtoks]
        bigram_cov = self._claim_bigrams_m.cover(di, bigrams, qi)
        bigram_cov_t = (bigram_cov if self._title_bigrams_m is self._claim_bigrams_m
                        else self._title_bigrams_m.cover(di, bigrams, qi))
        hits = self._claim_numbers_m.shared(di, [q.numbers for q in qtoks], qi)
        num_cov = self._claim_numbers_m.fraction(di, hits)
        num_miss = ((hits == 0) & (self._claim_numbers_m.size[di] > 0)).astype(np.float64)
        name_cov = self._claim_names_m.cover(
            di, [set(q.terms) | q.names | q.numbers for q in qtoks], qi)
        year_match = np.zeros(len(di))
        year_other = np.zeros(len(di))
        month_match = np.zeros(len(di))
        when = [post_month(dates[i] if dates is not None else None, t) for i, t in enumerate(texts)]
        dated = np.array([w is not None for w in when], bool)
        for p in np.flatnonzero(dated[qi]):  # only posts with a known time
            w = when[qi[p]]
            years, months = self.claim_times[di[p]]
            if w is not None and years:
                year_match[p] = 1.0 if w[0] in years else 0.0
                year_other[p] = 0.0 if w[0] in years else 1.0
                month_match[p] = 1.0 if w in months else 0.0
        X = np.column_stack([
            b[qi, ci] / bmax[qi, 0],
            np.log1p(np.maximum(b[qi, ci], 0)),
            bf[qi, ci] / bfmax[qi, 0],
            c[qi, ci],
            ct[qi, ci],
            d[qi, ci],
            margin[qi, ci],
            1.0 / (1.0 + rb[qi, ci]),
            1.0 / (1.0 + rd[qi, ci]),
            cov_claim,
            cov_query,
            cov_title,
            num_cov,
            num_miss,
            name_cov,
            d[qi, ci] * cov_claim,
            bigram_cov,
            bigram_cov_t,
            year_match,
            year_other,
            month_match,
        ]).astype(np.float64)
        return X, di, qi

    # -- persistence -------------------------------------------------------------------------

    def save(self, directory: str | Path) -> Path:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        with open(d / "factchecks.jsonl", "w", encoding="utf-8") as f:
            for fc in self.factchecks:
                f.write(json.dumps(fc.to_dict(), ensure_ascii=False) + "\n")
        np.save(d / "vectors.npy", self.vectors)
        if self.title_vectors is not None:
            np.save(d / "title_vectors.npy", self.title_vectors)
        meta = {
            "format": INDEX_FORMAT,
            "fingerprint": self.fingerprint,
            "encoder": self.encoder_id,
            "fusion_version": self.fusion.version,
            "claims": len(self),
            "titled": self.titled,
        }
        (d / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
        return d

    @classmethod
    def load(
        cls, directory: str | Path, *, encoder: TextEncoder | None = None,
        fusion: FusionModel | None = None, gate: bool = True,
    ) -> "ClaimIndex":
        d = Path(directory)
        try:
            meta = json.loads((d / "meta.json").read_text())
        except FileNotFoundError:
            raise FactCheckError(f"{d} is not a fact-check index (no meta.json)") from None
        if meta.get("format") != INDEX_FORMAT:
            raise FactCheckError(f"{d}: index format {meta.get('format')} is not {INDEX_FORMAT}; rebuild it")
        fcs = []
        with open(d / "factchecks.jsonl", encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    fcs.append(from_dict(json.loads(line)))
        vectors = np.load(d / "vectors.npy")
        tv = np.load(d / "title_vectors.npy") if (d / "title_vectors.npy").is_file() else None
        enc_id = _encoder_id(encoder) if encoder is not None else _default_encoder_id()
        if meta.get("encoder") != enc_id:
            raise FactCheckError(
                f"{d} was built with encoder {meta.get('encoder')}, this one is {enc_id}; rebuild it"
            )
        idx = cls(fcs, encoder=encoder, fusion=fusion, vectors=vectors, title_vectors=tv,
                  encoder_id=enc_id, gate=gate)
        return idx


def _pair_entries(A: sparse.csr_matrix, ai: np.ndarray, bkeys: np.ndarray,
                  bi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The columns rows A[ai[p]] and B[bi[p]] share, for every pair p: (pair, position in
    A.data, position in bkeys), pairs in order and each pair's columns ascending. A: canonical
    CSR (sorted, no duplicates), as everything built here is; bkeys: B's entries as
    row * A.shape[1] + column, ascending (`_row_keys`). Plain numpy: scipy's fancy indexing
    and `multiply` cost ~0.1 ms of Python each, whatever the size."""
    pair, pos = _ragged(A.indptr, ai)
    keys = bi[pair] * A.shape[1] + A.indices[pos]
    if len(bkeys) == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    k = np.minimum(np.searchsorted(bkeys, keys), len(bkeys) - 1)
    hit = bkeys[k] == keys
    return pair[hit], pos[hit], k[hit]


def _rowdot(A: sparse.csr_matrix, ai: np.ndarray, B: sparse.csr_matrix | _Rows,
            bi: np.ndarray,
            entries: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """sum_j A[ai[p], j] * B[bi[p], j] for every p (canonical CSR A and B). Bit for bit what
    `A[ai].multiply(B[bi]).sum(axis=1)` gives: the same products in the same (column) order,
    summed per pair by the same `np.add.reduceat`. `entries`: their `_pair_entries`, when the
    caller has them (matrices of the same structure share them)."""
    out = np.zeros(len(ai))
    if len(ai) == 0:
        return out
    pair, pa, pb = entries if entries is not None else _pair_entries(A, ai, _row_keys(B), bi)
    if len(pair):
        first = np.flatnonzero(np.concatenate(([True], pair[1:] != pair[:-1])))
        out[pair[first]] = np.add.reduceat(A.data[pa] * B.data[pb], first)
    return out


def _default_encoder_id() -> str:
    from tidebreak.embed import default_model_dir
    from tidebreak.embed.encoder import MODEL_FILE

    p = default_model_dir() / MODEL_FILE
    try:
        return f"minilm:{p.stat().st_size}"
    except OSError:
        return "minilm:missing"


def _encoder_id(encoder: Any) -> str:
    if encoder is None:
        return _default_encoder_id()
    ident = getattr(encoder, "encoder_id", None)
    if ident:
        return str(ident)
    model_dir = getattr(encoder, "model_dir", None)
    if model_dir is not None:
        from tidebreak.embed.encoder import MODEL_FILE

        try:
            return f"minilm:{(Path(model_dir) / MODEL_FILE).stat().st_size}"
        except OSError:
            pass
    return type(encoder).__name__
