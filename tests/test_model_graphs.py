"""The bundled ONNX graphs: their attention is fused (one QAttention node a layer, for speed) and
they give exactly the outputs the graphs had as exported.

`data/model_graph_reference.npz` holds each graph's outputs for 40 probe texts (empty, one
letter, emoji, hostile Unicode, other scripts, election and hate-speech sentences, texts past
the 128-token limit), computed with the graphs as exported, before `training/fuse_attention.py`
rewrote them (bit-for-bit the same on the machine that fused them). A graph that changes what it
computes fails here; a model retrained on purpose remakes the file (the test says how).
Outputs are kept per family of int8 kernels (`tidebreak.embed.runner.int8_kernels`): the same
int8 graph sums its products differently on CPUs with and without VNNI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tokenizers import Tokenizer

from tidebreak.embed.encoder import models_root
from tidebreak.embed.runner import PER_TEXT, GraphRunner, int8_kernels

REFERENCE = Path(__file__).parent / "data" / "model_graph_reference.npz"
GRAPHS = {"harm": "harm/harm.int8.onnx", "minilm": "minilm/encoder.int8.onnx",
          "voting": "voting/voting.int8.onnx"}


def outputs(graph: Path, texts: list[str]) -> np.ndarray:
    tok = Tokenizer.from_file(str(graph.with_name("tokenizer.json")))
    tok.no_padding()
    tok.enable_truncation(max_length=128)
    runner = GraphRunner(graph, threads=2, pad_id=tok.token_to_id("[PAD]") or 0)
    assert runner.mode == PER_TEXT
    return runner.run(tok.encode_batch(texts))


def reference(name: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """The probe texts and the graph's reference outputs, by int8 kernel family ("name@vnni",
    "name@plain"; see `int8_kernels`)."""
    with np.load(REFERENCE, allow_pickle=False) as ref:
        return ([str(t) for t in ref["texts"]],
                {k.split("@")[1]: ref[k] for k in ref.files if k.startswith(name + "@")})


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_a_bundled_graph_computes_exactly_what_it_did_as_exported(name: str) -> None:
    texts, refs = reference(name)
    assert refs, f"no reference outputs for {name}"
    got = outputs(models_root() / GRAPHS[name], texts)
    # After retraining a model on purpose, fuse its new graph with training/fuse_attention.py:
    # it requires bit-for-bit equality on this machine and remakes the graph's entry here from
    # the graph as exported (for this machine's kernel family), before fusing it.
    here = int8_kernels()
    if here in refs:
        # The tolerance is for float sums in another order on another CPU of the same family;
        # any change in what a graph computes is far larger.
        np.testing.assert_allclose(got, refs[here], rtol=0, atol=1e-5, err_msg=name)
    else:
        # Only the other family's outputs are known (the graph was fused on such a CPU): the
        # kernels differ in how they sum int8 products, so only the shape of the outputs can be
        # held to them. Another model, or a broken fusion, falls far below this.
        (other,) = refs.values()
        assert np.corrcoef(got.ravel(), other.ravel())[0, 1] >= 0.98, name



@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_a_bundled_graph_runs_its_attention_fused(name: str) -> None:
    import onnxruntime as ort

    meta = ort.InferenceSession(str(models_root() / GRAPHS[name]),
                                providers=["CPUExecutionProvider"]).get_modelmeta()
    assert meta.custom_metadata_map.get("tidebreak.attention") == "QAttention"
