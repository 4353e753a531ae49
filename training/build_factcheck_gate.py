"""Build the fact-check gate (the retrieval cascade's cheap first stage) and measure it.

    B=".venv/bin/python training/build_factcheck_gate.py"
    $B build          # static table + thresholds (~4 min on 2 cores)
    $B thresholds     # thresholds only (table kept)
    $B clef [--test DIR]  # MAP@5 / P@1 with and without the gate
    $B holdout        # thresholds chosen on train only: dev cases they would close
    $B dynahate       # DynaHate dev: skip rate, fact-check signals kept
    $B sample         # bundled sample events: signals unchanged
    $B bench [--stream F] [--repeats N]  # detector CPU-ms per post, gate off / on

Writes models/factcheck/static.npz and models/factcheck/static.json (read by
`tidebreak.factcheck.static`); the model card is models/factcheck/GATE.md.

## The static table (`build`)
1. Distil (as model2vec does): every WordPiece of models/minilm/tokenizer.json is encoded alone,
   "[CLS] piece [SEP]", by the shared int8 MiniLM graph (`tidebreak.embed`; ~30k runs, ~25 s).
   Special tokens and [unusedN] get zero rows.
2. PCA to 256 dimensions (centred on the pieces' mean) and a Zipf/SIF weight per piece,
   w = 1e-4 / (1e-4 + p(rank)), p ~ 1 / (rank + 1) over the vocabulary order (BERT's WordPiece
   vocabulary is close to frequency order), so frequent pieces count less.
3. Pure distillation is a weak sentence encoder here (CLEF train+dev recall@1 of the true claim
   0.34 against MiniLM's 0.79), so the table is then fitted to MiniLM's own sentence vectors,
   as model2vec's "tokenlearn" does: on a fixed, seeded sample of 46,758 posts and claims that
   are neither CLEF nor DynaHate (Gab Hate Corpus train, Implicit Hate posts, Davidson et al.
   tweets, our written voting-claims and stance sets), MiniLM-encoded, (a) a ridge map from the
   normalised sum of a post's rows to its MiniLM vector, then (b) every piece's vector refitted
   by sparse ridge regression (regularised towards the mapped table, lambda 0.3) so that a
   post's (normalised) sum of rows predicts its MiniLM vector projected on the sample's 128
   principal directions. Block Jacobi-preconditioned conjugate gradients, fixed iterations.
4. int8 per row with one float32 scale per row: 30,522 x 128, 3.6 MB compressed.

## The gate and its thresholds (`build`, `thresholds`)
Keys, per post and collection (`ClaimIndex.gate_scores`): the best static cosine to a claim or
headline; the best fused probability the fusion model gives the post's candidates when static
cosines stand in for the transformer's (every other feature is cheap and exact: BM25/BM25F,
coverage, numbers, names, time); the best BM25 in units of the collection's largest idf.

Chosen ONLY on CLEF CheckThat! 2020 task 2 train+dev (997 tweets, 10,375 Snopes claims), with
the bundled fact-checks as one more collection. A post must keep the gate open ("required") in
a collection when its true claim is there, or when the current matcher (no gate) gives any claim
of it a fused probability >= 0.35 (the detector's floor). Because the best static cosine over a
collection depends on the collection, this is checked in many collections, not only CLEF's
10,375 claims: the full collection with and without headlines, the full collection with the
post's true claim and its near-duplicates hidden, random sub-collections of 3 to 3,000 claims
(two seeds, with and without headlines), the true claims plus 10 / 150 random others, and the
133 bundled fact-checks: 10,945 required (post, collection) cases. Rules compared, each at its
most selective setting that keeps every required case: cosine alone; cosine or BM25; cosine or
probability. For a two-key rule, each candidate threshold of the second key (just above a
required case's value, or none) fixes the cosine threshold (the lowest cosine of a required case
the second key does not open); the setting kept opens the fewest not-required cases of the
sub-collections and the bundled collection (CLEF tweets against claims they do not repeat). The
rule opening the fewest wins; then margins of 1e-4 (cosine) and 1e-5 (probability) for float
rounding. The test split is never read unless `clef --test DIR` is asked, and then only reported.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy: one thread, reproducible sums

import argparse  # noqa: E402
import csv  # noqa: E402
import glob  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import random  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy import sparse  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "training"))

from tidebreak.factcheck.index import clean_text  # noqa: E402
from tidebreak.factcheck.static import META_FILE, STATIC_FILE  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
HATE = SHARED / "hate"
CLEF = SHARED / "claims" / "clef2020-task2-en"
CACHE = ROOT / "training" / "cache"
OUT = ROOT / "models" / "factcheck"
DYNAHATE = HATE / "dynahate" / "dynahate_v0.2.3_reconstructed.csv"

PCA_DIM = 256
OUT_DIM = 128
SIF = 1e-4
MAP_L2 = 1e-2
TOKENLEARN_L2 = 0.3
CG_ITERS = 200
FLOOR = 0.35
MARGIN = 1e-4
PROB_MARGIN = 1e-5
SMALL_SIZES = (3, 10, 30, 50, 150, 400, 1000, 3000)
SEEDS = (7, 11)
N_SPECIAL = 999  # [PAD], [unusedN], [UNK], [CLS], [SEP], [MASK]: ids 0..998 of BERT's vocabulary


def log(msg: str) -> None:
    print(msg, flush=True)


# ------------------------------------------------------------------------------ the table

def encode_vocab(enc) -> np.ndarray:
    """Every piece alone through the graph: (vocab, 384), cached by the encoder's identity."""
    from tidebreak.factcheck.index import _encoder_id

    key = hashlib.sha1(_encoder_id(enc).encode()).hexdigest()[:10]
    path = CACHE / f"gate_vocab_{key}.npy"
    if path.is_file():
        return np.load(path)

    class _Enc:
        __slots__ = ("ids",)

        def __init__(self, ids: list[int]) -> None:
            self.ids = ids

    cls, sep = enc._tok.token_to_id("[CLS]"), enc._tok.token_to_id("[SEP]")
    V = enc._tok.get_vocab_size()
    t0 = time.time()
    raw = enc._runner.run([_Enc([cls, i, sep]) for i in range(V)])
    log(f"encoded {V} pieces alone in {time.time() - t0:.0f} s")
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, raw)
    return raw


def corpus_texts() -> list[str]:
    """The fitting sample: fixed sources, a seeded shuffle, cleaned as the matcher reads posts."""
    csv.field_size_limit(10**9)

    def tsv(p: Path, col: str) -> list[str]:
        with open(p, encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t"))
        i = rows[0].index(col)
        return [r[i] for r in rows[1:] if len(r) > i]

    with open(HATE / "davidson" / "labeled_data.csv", encoding="utf-8") as f:
        dav = [r["tweet"] for r in csv.DictReader(f)]
    vot = [json.loads(line)["text"]
           for p in sorted(glob.glob(str(ROOT / "training/data/voting_claims/*.jsonl")))
           for line in open(p, encoding="utf-8")]
    stance = [json.loads(line)["text"]
              for line in open(ROOT / "training/data/stance/stance_v1.jsonl", encoding="utf-8")]
    rng = random.Random(0)

    def pick(xs: list[str], n: int) -> list[str]:
        xs = list(dict.fromkeys(t for t in xs if t.strip()))
        rng.shuffle(xs)
        return xs[:n]

    texts = (pick(tsv(HATE / "gab_hate_corpus/ghc_train.tsv", "text"), 12000)
             + pick(tsv(HATE / "implicit_hate/implicit_hate_v1_stg1_posts.tsv", "post"), 10000)
             + pick(dav, 10000) + pick(vot, 14000) + pick(stance, 1000))
    texts = [clean_text(t) for t in texts]
    return list(dict.fromkeys(t for t in texts if t))


def encode_cached(enc, texts: list[str], name: str) -> np.ndarray:
    path = CACHE / f"gate_{name}.npz"
    have: dict[str, np.ndarray] = {}
    if path.is_file():
        z = np.load(path)
        have = dict(zip(z["keys"].tolist(), z["vecs"]))
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    todo = sorted({(k, t) for k, t in zip(keys, texts) if k not in have})
    if todo:
        t0 = time.time()
        vecs = enc.encode([t for _, t in todo])
        have.update(zip((k for k, _ in todo), vecs))
        log(f"encoded {len(todo)} texts with MiniLM in {time.time() - t0:.0f} s")
        CACHE.mkdir(parents=True, exist_ok=True)
        np.savez(path, keys=np.array(list(have)), vecs=np.stack(list(have.values())))
    return np.stack([have[k] for k in keys])


def piece_counts(tok, texts: list[str], V: int) -> sparse.csr_matrix:
    encs = tok.encode_batch(texts, add_special_tokens=False)
    indptr = np.zeros(len(texts) + 1, np.int64)
    np.cumsum([len(e.ids) for e in encs], out=indptr[1:])
    ids = np.fromiter((i for e in encs for i in e.ids), np.int64, count=int(indptr[-1]))
    return sparse.csr_matrix((np.ones(len(ids)), ids, indptr), shape=(len(texts), V))


def _normalise(A: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(A, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return A / n


def _signed(U: np.ndarray) -> np.ndarray:
    """Principal directions with a fixed sign (largest coordinate positive): deterministic."""
    s = np.sign(U[np.abs(U).argmax(axis=0), np.arange(U.shape[1])])
    s[s == 0] = 1.0
    return U * s


def pcg(A: sparse.csr_matrix, B: np.ndarray, X0: np.ndarray, iters: int) -> np.ndarray:
    """Block Jacobi-preconditioned conjugate gradients, each column its own CG, fixed count."""
    diag = A.diagonal()
    X = X0.copy()
    R = B - A @ X
    Z = R / diag[:, None]
    P = Z.copy()
    rz = (R * Z).sum(0)
    for _ in range(iters):
        AP = A @ P
        a = rz / np.maximum((P * AP).sum(0), 1e-300)
        X += P * a
        R -= AP * a
        Z = R / diag[:, None]
        rz2 = (R * Z).sum(0)
        P = Z + P * (rz2 / np.maximum(rz, 1e-300))
        rz = rz2
    return X


def _write_npz(path: Path, **arrays: np.ndarray) -> None:
    """np.savez_compressed, but byte for byte reproducible (numpy stamps the current time on
    each member; here every member has the same fixed date)."""
    import io
    import zipfile

    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, arr in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(arr), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, buf.getvalue())


def build_table() -> dict:
    from tokenizers import Tokenizer

    from tidebreak.embed import get_encoder
    from tidebreak.embed.encoder import TOKENIZER_FILE, default_model_dir

    t0 = time.time()
    enc = get_encoder()
    raw = encode_vocab(enc).astype(np.float64)
    V = raw.shape[0]
    keep = np.ones(V, bool)
    keep[:N_SPECIAL] = False
    # Zipf / SIF weights over the vocabulary order (rank 1 = the first real piece)
    rank = np.zeros(V)
    rank[keep] = np.arange(1, keep.sum() + 1)
    inv = np.where(keep, 1.0 / (rank + 1.0), 0.0)
    p = inv / inv.sum()
    w = np.where(keep, SIF / (SIF + p), 0.0)
    # 1-2: PCA of the distilled pieces, weighted
    mu = raw[keep].mean(0)
    Xc = raw - mu
    ev, U = np.linalg.eigh(Xc[keep].T @ Xc[keep] / keep.sum())
    U = _signed(U[:, ::-1][:, :PCA_DIM])
    T0 = (Xc @ U) * w[:, None]
    T0[~keep] = 0.0
    # 3: the fitting sample
    tok = Tokenizer.from_file(str(default_model_dir() / TOKENIZER_FILE))
    tok.no_padding()
    tok.no_truncation()
    texts = corpus_texts()
    Y = encode_cached(enc, texts, "corpus").astype(np.float64)
    M = piece_counts(tok, texts, V)
    log(f"fitting sample: {len(texts)} texts, {int((M.sum(0) > 0).sum())} pieces seen "
        f"({time.time() - t0:.0f} s)")
    # 3a: ridge map from the normalised distilled sum to MiniLM
    Xs = _normalise(np.asarray(M @ T0))
    Wm = np.linalg.solve(Xs.T @ Xs + MAP_L2 * np.eye(PCA_DIM), Xs.T @ Y)
    Tm = T0 @ Wm
    # 3b: refit every piece to MiniLM's sentence vectors on their top OUT_DIM directions
    Yc = Y - Y.mean(0)
    _, _, Vt = np.linalg.svd(Yc, full_matrices=False)
    P = _signed(Vt[:OUT_DIM].T)
    A = M.multiply(w[None, :]).tocsr()
    s = np.linalg.norm(np.asarray(A @ Tm), axis=1)
    s[s == 0] = 1.0
    A = (sparse.diags(1.0 / s) @ A).tocsr()
    U0 = (Tm @ P) / np.maximum(w, 1e-12)[:, None]
    U0[~keep] = 0.0
    H = ((A.T @ A) + TOKENLEARN_L2 * sparse.eye(V, format="csr")).tocsr()
    t1 = time.time()
    Uf = pcg(H, np.asarray(A.T @ (Y @ P)) + TOKENLEARN_L2 * U0, U0, CG_ITERS)
    log(f"refitted the pieces in {time.time() - t1:.0f} s")
    T = Uf * w[:, None]
    T[~keep] = 0.0
    # 4: int8 per row
    amax = np.abs(T).max(axis=1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.rint(T / scale[:, None].astype(np.float64)), -127, 127).astype(np.int8)
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / STATIC_FILE
    _write_npz(path, q=q, scale=scale)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    log(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, sha256 {sha[:12]}) "
        f"in {time.time() - t0:.0f} s")
    from tidebreak.factcheck.index import FusionModel, _encoder_id

    return {
        "format": 1,
        "sha256": sha,
        "encoder": _encoder_id(enc),
        "fusion_version": FusionModel.load().version,
        "vocabulary": V,
        "dim": OUT_DIM,
        "dtype": "int8, one float32 scale per row",
        "distilled_from": "models/minilm/encoder.int8.onnx, each piece alone as [CLS] piece [SEP]",
        "pca_dim": PCA_DIM,
        "sif": SIF,
        "fit": {
            "sample": {"texts": len(texts),
                       "sources": "ghc_train 12000, implicit_hate stg1 posts 10000, davidson "
                                  "10000, training/data/voting_claims 14000, stance_v1 1000 "
                                  "(seeded shuffle, cleaned, deduplicated)"},
            "map_l2": MAP_L2, "tokenlearn_l2": TOKENLEARN_L2, "cg_iterations": CG_ITERS,
            "target": f"MiniLM sentence vectors on the sample's top {OUT_DIM} principal directions",
        },
    }


# ------------------------------------------------------------------------------ CLEF worlds

class _NoEncoder:
    def __init__(self, encoder_id: str) -> None:
        self.encoder_id = encoder_id

    def encode(self, texts, batch_size: int = 64):  # pragma: no cover - never called
        raise RuntimeError("vectors are precomputed")


def clef_data(enc):
    """The CLEF collection as two ClaimIndexes (with and without headlines, gate off) and the
    train+dev tweets: texts, gold claim positions, MiniLM vectors."""
    import eval_claims as ec

    from tidebreak.factcheck.claimreview import FactCheck
    from tidebreak.factcheck.index import ClaimIndex, _encoder_id

    rows = ec.read_tsv(CLEF / "verified_claims.docs.tsv")
    fcs = [FactCheck(claim_id=r[0], claim=r[1], title=r[2] or None) for r in rows]
    eid = _encoder_id(enc)
    vec = encode_cached(enc, [clean_text(f.claim) for f in fcs], "clef_claims")
    tvec = encode_cached(enc, [clean_text(f.title or f.claim) for f in fcs], "clef_titles")
    noenc = _NoEncoder(eid)
    idx = ClaimIndex(fcs, encoder=noenc, vectors=vec, title_vectors=tvec, encoder_id=eid,
                     gate=False)
    idx_u = ClaimIndex([replace(f, title=None) for f in fcs], encoder=noenc, vectors=vec,
                       encoder_id=eid, gate=False)
    pos = {f.claim_id: i for i, f in enumerate(fcs)}
    texts: list[str] = []
    gold: list[set[int]] = []
    for split in ("train", "dev"):
        qids, t, qrels = ec.load_split(split)
        texts += t
        gold += [{pos[c] for c in qrels.get(q, ())} for q in qids]
    qv = encode_cached(enc, [clean_text(t) for t in texts], "clef_queries")
    return idx, idx_u, texts, gold, qv


def worlds(idx, idx_u, texts, gold, qv, bundled_index):
    """Yield (name, index, positions into the CLEF collection or None, exclude, required)."""
    import eval_claims as ec

    from tidebreak.factcheck.index import ClaimIndex

    nq = len(texts)

    def required_by_floor(ix, exclude=None):
        req = np.zeros(nq, bool)
        for i, (_, prob, _) in enumerate(ix.score_candidates(texts, query_vectors=qv,
                                                              exclude=exclude, gate=False)):
            req[i] = bool(len(prob)) and float(prob.max()) >= FLOOR
        return req

    has_gold = np.array([bool(g) for g in gold])
    for var, ix in (("titled", idx), ("untitled", idx_u)):
        yield f"full_{var}", ix, None, None, required_by_floor(ix) | has_gold
    near = [ec.near_dups(idx, g) for g in gold]
    for var, ix in (("titled", idx), ("untitled", idx_u)):
        yield f"open_{var}", ix, None, near, required_by_floor(ix, near)
    banned = set().union(*(set(e) for e in near))
    pool = np.array([j for j in range(len(idx.factchecks)) if j not in banned])
    all_gold = sorted(set().union(*gold))

    def sub(ix, pick):
        tv = None if ix.title_vectors is None else ix.title_vectors[pick]
        return ClaimIndex([ix.factchecks[j] for j in pick], encoder=ix._encoder,
                          fusion=ix.fusion, vectors=ix.vectors[pick], title_vectors=tv,
                          encoder_id=ix.encoder_id, gate=False)

    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        for size in SMALL_SIZES:
            pick = np.sort(rng.choice(pool, size=size, replace=False))
            for var, ix in (("titled", idx), ("untitled", idx_u)):
                s = sub(ix, pick)
                yield f"small{size}_{var}_s{seed}", s, pick, None, required_by_floor(s)
        for size in (10, 150):
            pick = np.sort(rng.choice(pool, size=size, replace=False))
            sel = np.array(sorted(set(pick.tolist()) | set(all_gold)))
            for var, ix in (("titled", idx), ("untitled", idx_u)):
                s = sub(ix, sel)
                yield (f"goldplus{size}_{var}_s{seed}", s, sel, None,
                       required_by_floor(s) | has_gold)
    yield "bundled", bundled_index, None, None, required_by_floor(bundled_index)


def _gate_scores(static, ix, texts, exclude=None):
    """Each text's gate keys over ix's claims (best static cosine, best fused probability with
    static cosines, best BM25 in largest-idf units), by the runtime's own code
    (`ClaimIndex.gate_scores`)."""
    from tidebreak.factcheck.static import GateThresholds

    ix._build_gate(True, static, [clean_text(f.claim) for f in ix.factchecks],
                   [clean_text(f.title or f.claim) for f in ix.factchecks])
    ix.gate_thresholds = GateThresholds(cosine=-9.0, probability=0.0, bm25=0.0)  # every key
    g = ix.gate_scores(texts, exclude=exclude)
    ix.gate = False
    return g.cosine, g.probability, g.bm25


def _frontier(main_req, other_req, main_free, other_free):
    """Two keys, `main` (the static cosine) and `other`: for each threshold on `other` (just
    above a required case's value, or none), the main threshold is the lowest main value of a
    required case `other` does not open; returns the pair opening the fewest free cases:
    (share opened, main threshold, other threshold)."""
    best = None
    for to in [np.inf] + sorted(set(np.round(other_req, 8).tolist())):
        below = other_req < to
        tm = float(main_req[below].min()) if below.any() else np.inf
        rate = float(((main_free >= tm) | (other_free >= to)).mean())
        if best is None or rate < best[0] - 1e-12:
            best = (rate, tm, to)
    return best


def choose_thresholds(static) -> dict:
    from tidebreak.embed import get_encoder
    from tidebreak.detect.factcheck import BUNDLED
    from tidebreak.factcheck.claimreview import load_factchecks
    from tidebreak.factcheck.index import ClaimIndex

    t0 = time.time()
    enc = get_encoder()
    idx, idx_u, texts, gold, qv = clef_data(enc)
    bundled = ClaimIndex(load_factchecks(BUNDLED, strict=False), encoder=enc, gate=False)
    log(f"CLEF: {len(texts)} train+dev tweets, {len(idx)} claims ({time.time() - t0:.0f} s)")
    req: list[np.ndarray] = []
    free: list[np.ndarray] = []
    req_w: list[str] = []
    free_w: list[str] = []
    per_world = {}
    for name, ix, _, exclude, required in worlds(idx, idx_u, texts, gold, qv, bundled):
        keys = np.column_stack(_gate_scores(static, ix, texts, exclude))
        req.append(keys[required])
        req_w += [name] * int(required.sum())
        if name.startswith(("small", "bundled")):
            free.append(keys[~required])
            free_w += [name] * int((~required).sum())
        per_world[name] = {"required": int(required.sum())}
    R, F = np.vstack(req), np.vstack(free)
    log(f"required (post, collection) cases: {len(R)}; not required (selectivity): {len(F)} "
        f"({time.time() - t0:.0f} s)")
    # the candidate rules, each the most selective that keeps every required case
    ts_alone = float(R[:, 0].min())
    options = {
        "cosine": (float((F[:, 0] >= ts_alone).mean()), ts_alone, np.inf, np.inf),
    }
    rate, ts, tb = _frontier(R[:, 0], R[:, 2], F[:, 0], F[:, 2])
    options["cosine or bm25"] = (rate, ts, np.inf, tb)
    rate, ts, tp = _frontier(R[:, 0], R[:, 1], F[:, 0], F[:, 1])
    options["cosine or probability"] = (rate, ts, tp, np.inf)
    chosen = min(options, key=lambda k: options[k][0])
    rate, ts, tp, tb = options[chosen]
    th = {"cosine": round(ts - MARGIN, 6),
          "probability": None if not np.isfinite(tp) else float(tp - PROB_MARGIN),
          "bm25": None if not np.isfinite(tb) else float(tb)}
    opened_req = ((R[:, 0] >= th["cosine"])
                  | (R[:, 1] >= (th["probability"] if th["probability"] is not None else 2.0))
                  | (R[:, 2] >= (th["bm25"] if th["bm25"] is not None else np.inf)))
    opened_free = ((F[:, 0] >= th["cosine"])
                   | (F[:, 1] >= (th["probability"] if th["probability"] is not None else 2.0))
                   | (F[:, 2] >= (th["bm25"] if th["bm25"] is not None else np.inf)))
    assert opened_req.all()
    worst = np.argsort(R[:, 0])[:5]
    for k, v in options.items():
        log(f"  rule {k!r}: not-required cases opened {v[0]:.3f} (cosine {v[1]:.4f}, "
            f"probability {v[2]}, bm25 {v[3]})")
    log(f"chose {chosen!r}: {th}")
    fw = np.array(free_w)
    return {
        "thresholds": th,
        "rule": "open when the best static cosine to a claim or headline >= cosine, or the "
                "best fused probability with static cosines in place of the encoder's >= "
                "probability, or (when not null) the best BM25 / the collection's largest idf "
                ">= bm25",
        "chosen_on": "CLEF 2020 task 2 train+dev (997 tweets) against the CLEF collection and "
                     "its sub-collections, and the bundled fact-checks; see "
                     "training/build_factcheck_gate.py",
        "floor": FLOOR,
        "margins": {"cosine": MARGIN, "probability": PROB_MARGIN},
        "required_cases": int(len(R)),
        "required_kept": int(opened_req.sum()),
        "not_required_cases": int(len(F)),
        "not_required_opened": round(float(opened_free.mean()), 4),
        "rules_compared": {k: {"not_required_opened": round(v[0], 4),
                               "cosine": round(v[1], 4),
                               "probability": None if not np.isfinite(v[2]) else round(v[2], 6),
                               "bm25": None if not np.isfinite(v[3]) else round(v[3], 4)}
                           for k, v in options.items()},
        "lowest_required_cosine": [{"collection": req_w[i], "cosine": round(float(R[i, 0]), 4),
                                    "probability": round(float(R[i, 1]), 4),
                                    "bm25": round(float(R[i, 2]), 3)} for i in worst],
        "not_required_opened_by_collection": {
            k: round(float(opened_free[fw == k].mean()), 4) for k in sorted(set(free_w))},
        "required_by_collection": per_world,
    }


def cmd_holdout(args) -> None:
    """Generalisation check without the test split: thresholds chosen as `thresholds` does but
    on the train tweets only, then the dev tweets' required cases they would close (report)."""
    from tidebreak.embed import get_encoder
    from tidebreak.detect.factcheck import BUNDLED
    from tidebreak.factcheck.claimreview import load_factchecks
    from tidebreak.factcheck.index import ClaimIndex
    from tidebreak.factcheck.static import StaticEmbedder

    static = StaticEmbedder(OUT)
    enc = get_encoder()
    idx, idx_u, texts, gold, qv = clef_data(enc)
    n_train = 800  # clef_data lists train then dev
    bundled = ClaimIndex(load_factchecks(BUNDLED, strict=False), encoder=enc, gate=False)
    rows = []
    for name, ix, _, exclude, required in worlds(idx, idx_u, texts, gold, qv, bundled):
        keys = np.column_stack(_gate_scores(static, ix, texts, exclude))
        free = name.startswith(("small", "bundled"))
        for q in range(len(texts)):
            if required[q] or free:
                rows.append((*keys[q], bool(required[q]), q < n_train, name))
    K = np.array([r[:3] for r in rows])
    req = np.array([r[3] for r in rows])
    train = np.array([r[4] for r in rows])
    names = np.array([r[5] for r in rows])
    R, F = K[req & train], K[~req & train]
    _, ts, tp = _frontier(R[:, 0], R[:, 1], F[:, 0], F[:, 1])
    ts, tp = ts - MARGIN, tp - PROB_MARGIN
    dev_req = req & ~train
    opened = (K[:, 0] >= ts) | (K[:, 1] >= tp)
    lost = dev_req & ~opened
    print(json.dumps({
        "chosen_on_train": {"cosine": round(ts, 6), "probability": round(tp, 6)},
        "dev_required_cases": int(dev_req.sum()),
        "dev_required_closed": int(lost.sum()),
        "dev_required_closed_by_collection": {k: int((lost & (names == k)).sum())
                                              for k in sorted(set(names[lost]))},
        "dev_not_required_opened": round(float(opened[~req & ~train].mean()), 4),
    }, indent=1))


def cmd_build(args) -> None:
    meta = build_table()
    meta["gate"] = {"thresholds": {"cosine": -1.0, "probability": None, "bm25": None}}
    (OUT / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")
    cmd_thresholds(args)


def cmd_thresholds(args) -> None:
    from tidebreak.factcheck.static import StaticEmbedder

    meta = json.loads((OUT / META_FILE).read_text())
    static = StaticEmbedder(OUT)
    meta["gate"] = choose_thresholds(static)
    (OUT / META_FILE).write_text(json.dumps(meta, indent=1) + "\n")
    log(f"wrote {OUT / META_FILE}")


# ------------------------------------------------------------------------------ measurements

def _metrics(ranked: list[list[str]], gold: list[set[str]]) -> dict[str, float]:
    import eval_claims as ec

    m = ec.metrics(ranked, gold)
    p1 = np.mean([1.0 if r[:1] and r[0] in g else 0.0 for r, g in zip(ranked, gold)])
    return {"MAP@5": round(float(m["MAP@5"]), 4), "P@1": round(float(p1), 4)}


def cmd_clef(args) -> None:
    """MAP@5 and P@1 with and without the gate (search, k=5), headlines off and on."""
    import eval_claims as ec

    from tidebreak.embed import get_encoder
    from tidebreak.factcheck.index import ClaimIndex

    enc = get_encoder()
    idx, idx_u, texts, gold, qv = clef_data(enc)
    ids = [f.claim_id for f in idx.factchecks]
    sets = {"train+dev": (texts, [{ids[j] for j in g} for g in gold], qv)}
    if args.test:
        d = Path(args.test)
        rows = ec.read_tsv(d / "tweets.queries.tsv")
        qrels: dict[str, set[str]] = {}
        for line in (d / "tweet-vclaim-pairs.qrels").read_text().splitlines():
            parts = line.split()
            if len(parts) == 4 and parts[3] != "0":
                qrels.setdefault(parts[0], set()).add(parts[2])
        keep = [r for r in rows if qrels.get(r[0])]
        tt = [r[1] for r in keep]
        sets["test"] = (tt, [qrels[r[0]] for r in keep], enc.encode([clean_text(t) for t in tt]))
    out = {}
    for var, ix in (("untitled", idx_u), ("titled", idx)):
        gated = ClaimIndex(ix.factchecks, encoder=ix._encoder, fusion=ix.fusion,
                           vectors=ix.vectors, title_vectors=ix.title_vectors,
                           encoder_id=ix.encoder_id, gate=True)
        for name, (tt, gg, vv) in sets.items():
            res = {}
            for label, g in (("without gate", False), ("with gate", True)):
                ranked = []
                for i in range(0, len(tt), 256):
                    for ms in gated.search(tt[i:i + 256], k=5, query_vectors=vv[i:i + 256], gate=g):
                        ranked.append([m.claim_id for m in ms])
                res[label] = _metrics(ranked, gg)
            opened = gated.gate_scores(tt).opened
            res["gate closed"] = round(float(1 - opened.mean()), 4)
            out[f"{var} {name}"] = res
            log(f"{var:8s} {name:9s} {res}")
    print(json.dumps(out, indent=1))


def _dynahate_items(split: str, n: int):
    from tidebreak.model import Content, ContentKind, Item
    from tidebreak.text import normalise

    with open(DYNAHATE, encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["split"] == split][:n]
    return [Item(Content(id=f"dh-{i}", kind=ContentKind("post"), text=r["text"].strip()),
                 normalise(r["text"].strip())) for i, r in enumerate(rows)]


def _detector(gate: bool):
    import tempfile

    from tidebreak.runtime import build_detectors, open_store

    engine = open_store(f"sqlite:///{tempfile.mkdtemp()}/gate.db")
    det = build_detectors(["factcheck"], engine, "default")[0][0]
    if not gate:
        det.index.gate = False
    return det


def _signals(det, items, batch: int = 64):
    out = []
    for i in range(0, len(items), batch):
        out += det.detect(items[i:i + batch])
    return out


def cmd_dynahate(args) -> None:
    items = _dynahate_items("dev", 3000)
    on, off = _detector(True), _detector(False)
    s_on, s_off = _signals(on, items), _signals(off, items)
    st = on.index.gate_stats
    with_sig = [i for i, s in enumerate(s_off) if s]
    lost = [i for i in with_sig if not s_on[i]]
    changed = [i for i in range(len(items)) if [x.to_dict() if hasattr(x, "to_dict") else x
                                                 for x in s_on[i]] !=
               [x.to_dict() if hasattr(x, "to_dict") else x for x in s_off[i]]]
    print(json.dumps({
        "posts": len(items),
        "skipped": round(1 - st["opened"] / max(1, st["posts"]), 4),
        "signals_without_gate": len(with_sig),
        "signals_lost": len(lost),
        "signals_changed": len(changed),
    }, indent=1))


def cmd_sample(args) -> None:
    """The bundled sample events (content creates and edits, parsed as the API does) through the
    bundled fact-checks, gated and not: every signal must be the same."""
    from tidebreak.ingest import parse_json_line
    from tidebreak.model import EventType, Item
    from tidebreak.text import normalise

    path = ROOT / "src" / "tidebreak" / "data" / "sample_events.jsonl"
    items = []
    for line in open(path, encoding="utf-8"):
        ev = parse_json_line(line)
        if ev.type in (EventType.CREATE, EventType.EDIT):
            items.append(Item(ev.content, normalise(ev.content.text)))
    on, off = _detector(True), _detector(False)
    s_on, s_off = _signals(on, items), _signals(off, items)
    n_sig = sum(1 for s in s_off if s)
    same = sum(1 for a, b in zip(s_on, s_off) if a == b)
    st = on.index.gate_stats
    print(json.dumps({"posts": len(items), "posts_with_signal_without_gate": n_sig,
                      "posts_with_signal_with_gate": sum(1 for s in s_on if s),
                      "identical_outputs": same, "different_outputs": len(items) - same,
                      "skipped": round(1 - st["opened"] / max(1, st["posts"]), 4)}, indent=1))


def cmd_bench(args) -> None:
    from tidebreak.model import Content, ContentKind, Item
    from tidebreak.text import normalise

    lines = [json.loads(line) for line in open(args.stream, encoding="utf-8")]
    items = [Item(Content(id=e["id"], kind=ContentKind("post"), text=e["text"]),
                  normalise(e["text"])) for e in lines]
    dets = {"gate off": _detector(False), "gate on": _detector(True)}
    for d in dets.values():
        d.detect(items[:64])
    res: dict[str, list[tuple[float, float]]] = {k: [] for k in dets}
    for _ in range(args.repeats):
        for name, d in dets.items():  # back to back, alternating
            t0, c0 = time.perf_counter(), time.process_time()
            for i in range(0, len(items), 64):
                d.detect(items[i:i + 64])
            res[name].append(((time.process_time() - c0) * 1000 / len(items),
                              (time.perf_counter() - t0) * 1000 / len(items)))
    st = dets["gate on"].index.gate_stats
    print(f"gate on: skipped {1 - st['opened'] / max(1, st['posts']):.4f} of {st['posts']} posts")
    for name, r in res.items():
        cpu = [c for c, _ in r]
        wall = [w for _, w in r]
        print(f"{name}: CPU-ms/post median {np.median(cpu):.3f} (min {min(cpu):.3f}, "
              f"runs {', '.join(f'{c:.2f}' for c in cpu)}); wall-ms/post median "
              f"{np.median(wall):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("build")
    sub.add_parser("thresholds")
    c = sub.add_parser("clef")
    c.add_argument("--test", help="a CLEF 2020 test split folder (tweets.queries.tsv, qrels): "
                                  "reported, never tuned on")
    sub.add_parser("holdout")
    sub.add_parser("dynahate")
    sub.add_parser("sample")
    b = sub.add_parser("bench")
    b.add_argument("--stream", default="/tmp/fp/stream.jsonl")
    b.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    {"build": cmd_build, "thresholds": cmd_thresholds, "clef": cmd_clef, "holdout": cmd_holdout,
     "dynahate": cmd_dynahate, "sample": cmd_sample, "bench": cmd_bench}[args.cmd](args)


if __name__ == "__main__":
    main()
