"""Int8 graphs give the same numbers on every CPU (`tidebreak.embed.int8`).

On AVX2 CPUs without VNNI, onnxruntime sums u8 x s8 products in saturating 16 bits; tidebreak
then runs its graphs with their weights re-stored as u8 + 128, which no kernel saturates. The
last test runs the bundled graphs on such a CPU, emulated by qemu, where qemu is installed
(`make test` installs it where it may).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from tidebreak.embed.int8 import PROBE, build_probe, int8_sums_saturate, unsigned_weights

ROOT = Path(__file__).resolve().parents[1]


def product_graph(weights: np.ndarray, with_zero_points: bool) -> bytes:
    """Y = MatMulInteger(A u8 input, W s8 constant), with explicit zero points or without."""
    m, k = 3, weights.shape[0]
    inputs = ["a", "w"] + (["a_zero", "w_zero"] if with_zero_points else [])
    inits = [numpy_helper.from_array(weights, "w")]
    if with_zero_points:
        inits += [numpy_helper.from_array(np.array(0, dtype=np.uint8), "a_zero"),
                  numpy_helper.from_array(np.zeros(weights.shape[1], dtype=np.int8), "w_zero")]
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", inputs, ["y"])], "g",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [m, k])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [m, weights.shape[1]])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model.SerializeToString()


def run(model: bytes, a: np.ndarray) -> np.ndarray:
    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(model, sess_options=so, providers=["CPUExecutionProvider"])
    return sess.run(None, {"a": a})[0]


def test_the_shipped_probe_graph_is_current() -> None:
    assert PROBE.read_bytes() == build_probe()


@pytest.mark.parametrize("with_zero_points", [True, False])
def test_unsigned_weights_give_the_exact_integer_products_on_this_cpu(with_zero_points: bool) -> None:
    rng = np.random.default_rng(7)
    weights = rng.integers(-128, 128, size=(64, 24), dtype=np.int8)
    weights[:, 0] = 127  # a column whose pairs of products overflow 16 bits against 255s
    a = rng.integers(0, 256, size=(3, 64), dtype=np.uint8)
    a[0] = 255
    exact = a.astype(np.int64) @ weights.astype(np.int64)

    graph = product_graph(weights, with_zero_points)
    converted = unsigned_weights(graph)
    stored = {i.name: i.data_type for i in onnx.load_from_string(converted).graph.initializer}
    assert stored["w"] == TensorProto.UINT8
    np.testing.assert_array_equal(run(converted, a), exact)
    # The s8 graph as shipped is exact here exactly when the probe says so.
    assert (run(graph, a) == exact).all() == (not int8_sums_saturate())


def test_a_weight_something_else_reads_is_left_signed() -> None:
    weights = np.ones((8, 4), dtype=np.int8)
    model = onnx.load_from_string(product_graph(weights, with_zero_points=True))
    model.graph.node.append(helper.make_node("Cast", ["w"], ["w_float"], to=TensorProto.FLOAT))
    model.graph.output.append(helper.make_tensor_value_info("w_float", TensorProto.FLOAT, [8, 4]))
    converted = onnx.load_from_string(unsigned_weights(model.SerializeToString()))
    assert {i.name: i.data_type for i in converted.graph.initializer}["w"] == TensorProto.INT8


def test_a_cpu_whose_sums_saturate_rewrites_each_graph_once_into_the_cache(  # type: ignore[no-untyped-def]
        tmp_path, monkeypatch) -> None:
    import tidebreak.embed.int8 as int8

    monkeypatch.setenv("TIDEBREAK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(int8, "int8_sums_saturate", lambda: True)
    weights = np.full((64, 8), 127, dtype=np.int8)
    graph = tmp_path / "g.onnx"
    graph.write_bytes(product_graph(weights, with_zero_points=True))
    first = Path(int8.session_source(graph))
    assert first.parent == tmp_path / "cache" and first.name.startswith("g-u8-")
    written = first.stat().st_mtime_ns
    assert Path(int8.session_source(graph)) == first and first.stat().st_mtime_ns == written
    a = np.full((3, 64), 255, dtype=np.uint8)
    np.testing.assert_array_equal(run(first.read_bytes(), a), np.full((3, 8), 64 * 255 * 127))
    # an edited graph is rewritten under its own name; the graph itself is never touched
    graph.write_bytes(product_graph(weights // 2, with_zero_points=True))
    assert Path(int8.session_source(graph)) != first
    assert onnx.load(str(graph)).graph.initializer[0].data_type == TensorProto.INT8
    # where the cache cannot be written, the rewritten graph is handed over in memory
    monkeypatch.setenv("TIDEBREAK_CACHE_DIR", "/proc/tidebreak-cannot-write-here")
    assert isinstance(int8.session_source(graph), bytes)


EMULATED = """
import sys
sys.path.insert(0, "tests")
from test_model_graphs import GRAPHS, assert_same_outputs, outputs, reference
from tidebreak.embed.encoder import models_root
from tidebreak.embed.int8 import int8_sums_saturate
assert int8_sums_saturate(), "the emulated CPU was expected to saturate"
for name in sorted(GRAPHS):
    texts, ref = reference(name)
    assert_same_outputs(name, outputs(models_root() / GRAPHS[name], texts[:6]), ref[:6])
    # ... and again from the rewritten graphs the first load left in the cache
    assert_same_outputs(name, outputs(models_root() / GRAPHS[name], texts[:6]), ref[:6])
print("same outputs")
"""


@pytest.mark.skipif(shutil.which("qemu-x86_64") is None or os.uname().machine != "x86_64",
                    reason="needs qemu-x86_64 (Debian: qemu-user) on an x86-64 machine")
def test_on_an_avx2_cpu_without_vnni_the_graphs_give_the_reference_outputs(tmp_path: Path) -> None:
    # qemu's Haswell has AVX2 and no VNNI: onnxruntime picks its saturating u8 x s8 kernels there.
    # Six probe texts of each graph (emulation is slow); saturating sums move every one of them.
    done = subprocess.run(["qemu-x86_64", "-cpu", "Haswell", sys.executable, "-c", EMULATED],
                          cwd=ROOT, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TIDEBREAK_CACHE_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert "same outputs" in done.stdout
