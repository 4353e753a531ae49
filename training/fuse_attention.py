"""Fuse the self-attention of tidebreak's int8 BERT graphs into onnxruntime's QAttention operator.

    .venv-train/bin/python training/fuse_attention.py [GRAPH.onnx ...]

With no argument: the harm model, the fact-check encoder and the claims model under models/.
Each graph is rewritten in place, and only if the rewritten graph gives exactly the same outputs
as the original (one text at a time, as `tidebreak.embed.runner` runs them) on the DynaHate
test texts in ../shared/data (when present) and a set of probes; otherwise it is left as it is.

Why: as exported (`export_encoder.py`, `finetune_harm.py`, `train_voting.py`), each layer's
attention is about 70 small nodes: three int8 products for query, key and value, then reshapes,
transposes, a scaled product, the mask, a softmax, a product and a transpose back, with the shape
arithmetic for every reshape. One QAttention node per layer does the same work: it takes the
layer's already-quantised input and the three weight matrices side by side (their per-column
scales and zero points kept, so every int32 accumulation is the one the three products made),
adds the biases and runs the attention itself. 667 nodes become about 227, and a text costs
about 8% less CPU (measured by `bench/bench_fastpath.py`'s machine line and the README).

The rewrite needs nothing the export did not already decide: weights, scales, zero points,
biases and the number of heads come from the graph. A graph whose attention does not have the
exported pattern is refused with a message, not half-rewritten.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper

ROOT = Path(__file__).resolve().parents[1]
MODELS = ROOT / "models"
DEFAULT_GRAPHS = [MODELS / "harm" / "harm.int8.onnx", MODELS / "minilm" / "encoder.int8.onnx",
                  MODELS / "voting" / "voting.int8.onnx"]
DATA = Path(os.environ.get("TIDEBREAK_DATA_DIR", ROOT.parent / "shared" / "data"))
DYNAHATE = DATA / "hate" / "dynahate" / "dynahate_v0.2.3_reconstructed.csv"
FUSED_KEY = "tidebreak.attention"
PROBES = ["", "a", "hi there", "WHAT A GAME!!! 🔥", "people like you should be driven out",
          "Polls close at 8pm on election day; you can vote by mail.",
          "Los colegios electorales abren a las 8.", "Привет, как дела?", "これは日本語です。",
          "the quick brown fox jumps over the lazy dog " * 20]


class NotFusable(Exception):
    pass


def _layers(nodes: list[onnx.NodeProto]) -> list[str]:
    """The attention blocks' name prefixes, e.g. /bert/encoder/layer.0/attention/self."""
    out = []
    for n in nodes:
        if n.op_type == "MatMulInteger" and n.name.endswith("/query/MatMul_quant"):
            out.append(n.name[: -len("/query/MatMul_quant")])
    return out


def fuse(model: onnx.ModelProto, num_heads: int) -> onnx.ModelProto:
    g = model.graph
    nodes = list(g.node)
    init = {i.name: i for i in g.initializer}
    by_out = {o: n for n in nodes for o in n.output}
    by_name = {n.name: n for n in nodes}

    def array(name: str) -> np.ndarray:
        if name in init:
            return numpy_helper.to_array(init[name])
        node = by_out.get(name)
        if node is None or node.op_type != "Constant":
            raise NotFusable(f"{name} is neither an initializer nor a constant")
        return numpy_helper.to_array(node.attribute[0].t)

    prefixes = _layers(nodes)
    if not prefixes:
        raise NotFusable("no int8 query/key/value products: not an exported int8 BERT graph")
    replaced: dict[str, onnx.NodeProto] = {}
    for i, pre in enumerate(prefixes):
        mm = {k: by_name.get(f"{pre}/{k}/MatMul_quant") for k in ("query", "key", "value")}
        if any(n is None for n in mm.values()):
            raise NotFusable(f"{pre}: query, key and value products not all found")
        x_q, x_zp = mm["query"].input[0], mm["query"].input[2]  # type: ignore[union-attr]
        if any(n.input[0] != x_q or n.input[2] != x_zp for n in mm.values()):  # type: ignore[union-attr]
            raise NotFusable(f"{pre}: query, key and value do not share one quantised input")
        dql = by_out.get(x_q)
        if dql is None or dql.op_type != "DynamicQuantizeLinear":
            raise NotFusable(f"{pre}: the input is not dynamically quantised")
        w = [array(n.input[1]) for n in mm.values()]  # type: ignore[union-attr]
        scale = [array(n.input[1].replace("_quantized", "_scale")) for n in mm.values()]  # type: ignore[union-attr]
        zero = [array(n.input[3]) for n in mm.values()]  # type: ignore[union-attr]
        bias_of = {k: f"{pre}/{k}/Add" for k in mm}
        bias = []
        for k, add in bias_of.items():
            node = by_name.get(add)
            if node is None:
                raise NotFusable(f"{pre}: no bias for {k}")
            bias.append(array(next(x for x in node.input if x in init)))
        hidden = w[0].shape[0]
        if any(x.shape != (hidden, hidden) for x in w) or hidden % num_heads:
            raise NotFusable(f"{pre}: weights are not {hidden}x{hidden} in {num_heads} heads")
        out = f"{pre}/Reshape_3_output_0"  # the heads put back together: the output dense's input
        if out not in by_out:
            raise NotFusable(f"{pre}: no {out}")
        names = {k: f"tidebreak_qkv_{i}_{k}" for k in ("weight", "scale", "zero", "bias")}
        g.initializer.extend([
            numpy_helper.from_array(np.concatenate(w, axis=1), names["weight"]),
            numpy_helper.from_array(np.concatenate(
                [np.broadcast_to(s, (hidden,)) for s in scale]).astype(np.float32), names["scale"]),
            numpy_helper.from_array(np.concatenate(
                [np.broadcast_to(z, (hidden,)) for z in zero]).astype(zero[0].dtype), names["zero"]),
            numpy_helper.from_array(np.concatenate(bias).astype(np.float32), names["bias"]),
        ])
        # no mask input: tidebreak runs these graphs one text at a time, unpadded, where the
        # exported mask adds the same constant to every score of a row (softmax ignores it)
        replaced[by_out[out].name] = helper.make_node(
            "QAttention", [x_q, names["weight"], names["bias"], dql.output[1], names["scale"], "",
                           x_zp, names["zero"]],
            [out], name=f"{pre}/QAttention", domain="com.microsoft", num_heads=num_heads)
    kept = [replaced.get(n.name, n) for n in nodes]
    outputs = {o.name for o in g.output}
    while True:  # drop what fed only the replaced nodes
        used = {x for n in kept for x in n.input} | outputs
        alive = [n for n in kept if any(o in used for o in n.output)]
        if len(alive) == len(kept):
            break
        kept = alive
    del g.node[:]
    g.node.extend(kept)
    used = {x for n in kept for x in n.input}
    live_init = [x for x in g.initializer if x.name in used]
    del g.initializer[:]
    g.initializer.extend(live_init)
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    model.metadata_props.append(onnx.StringStringEntryProto(key=FUSED_KEY, value="QAttention"))
    return model


def _texts() -> list[str]:
    texts = list(PROBES)
    if DYNAHATE.is_file():
        with DYNAHATE.open(encoding="utf-8") as f:
            texts += [r["text"] for r in csv.DictReader(f) if r["split"] == "test"]
    return texts


def _outputs(path: Path, tokenizer: Path, texts: list[str]) -> np.ndarray:
    sys.path.insert(0, str(ROOT / "src"))
    from tokenizers import Tokenizer

    from tidebreak.embed.runner import GraphRunner

    tok = Tokenizer.from_file(str(tokenizer))
    tok.no_padding()
    tok.enable_truncation(max_length=128)
    runner = GraphRunner(path, threads=2, pad_id=tok.token_to_id("[PAD]") or 0)
    return runner.run(tok.encode_batch(texts))


# tests/test_model_graphs.py checks each bundled graph against its outputs as exported, on the
# probe texts stored in this file. A graph fused here was just exported (a fused one is skipped),
# so its entry is remade from the exported graph before it is replaced: retraining a model on
# purpose then needs no hand step, and a graph that changes by accident still fails the test.
REFERENCE = ROOT / "tests" / "data" / "model_graph_reference.npz"
REFERENCE_NAMES = {"harm", "minilm", "voting"}  # models/<name>/, the test's GRAPHS


def _remake_reference(graph: Path) -> None:
    name = graph.resolve().parent.name
    if graph.resolve().parent.parent != MODELS.resolve() or name not in REFERENCE_NAMES:
        return
    with np.load(REFERENCE, allow_pickle=False) as ref:
        entries = {k: ref[k] for k in ref.files}
    # GraphRunner sums int8 products exactly on every CPU (tidebreak.embed.int8), so one
    # reference holds everywhere.
    entries[name] = _outputs(graph, graph.with_name("tokenizer.json"),
                             [str(t) for t in entries["texts"]])
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=REFERENCE.parent)
    os.close(fd)
    try:
        np.savez(tmp, **entries)
        os.replace(tmp, REFERENCE)
    finally:
        Path(tmp).unlink(missing_ok=True)
    print(f"{REFERENCE.relative_to(ROOT)}: {name} remade from the exported graph")


def _update_card_hash(graph: Path, old_sha: str) -> None:
    """metadata.json beside the graph records its sha256: keep it true (only that string is
    replaced, so the file keeps its layout)."""
    meta = graph.with_name("metadata.json")
    if not meta.is_file():
        return
    text = meta.read_text(encoding="utf-8")
    if old_sha in text:
        new_sha = hashlib.sha256(graph.read_bytes()).hexdigest()
        meta.write_text(text.replace(old_sha, new_sha), encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("graphs", nargs="*", type=Path, default=DEFAULT_GRAPHS)
    ap.add_argument("--heads", type=int, default=12)
    args = ap.parse_args()
    texts = _texts()
    for path in args.graphs:
        model = onnx.load(str(path))
        if any(n.op_type == "QAttention" for n in model.graph.node):
            print(f"{path}: already fused")
            continue
        before = len(model.graph.node)  # fuse() rewrites the model in place
        try:
            fused = fuse(model, args.heads)
        except NotFusable as err:
            print(f"{path}: left as it is ({err})", file=sys.stderr)
            continue
        old_sha = hashlib.sha256(path.read_bytes()).hexdigest()
        # beside the graph, so the final rename stays on one file system
        fd, name = tempfile.mkstemp(suffix=".onnx", dir=path.parent)
        os.close(fd)
        candidate = Path(name)
        try:
            onnx.save(fused, str(candidate))
            tokenizer = path.with_name("tokenizer.json")
            old, new = _outputs(path, tokenizer, texts), _outputs(candidate, tokenizer, texts)
            diff = float(np.abs(old - new).max())
            if diff != 0.0:
                print(f"{path}: left as it is (outputs differ by up to {diff:g} on "
                      f"{len(texts)} texts)", file=sys.stderr)
                continue
            _remake_reference(path)
            os.chmod(candidate, path.stat().st_mode)  # mkstemp made it private
            os.replace(candidate, path)
        finally:
            candidate.unlink(missing_ok=True)
        _update_card_hash(path, old_sha)
        print(f"{path}: {before} -> {len(fused.graph.node)} nodes, outputs "
              f"identical on {len(texts)} texts")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
