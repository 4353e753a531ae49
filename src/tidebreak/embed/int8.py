"""Int8 graphs that compute the same numbers on every CPU.

tidebreak's graphs are dynamically quantised: activations u8, weights s8 (`MatMulInteger`,
`QAttention`). onnxruntime sums u8 x s8 products exactly in 32 bits where the CPU has VNNI (or
AMX, or ARM dot products), but on AVX2-only CPUs it adds pairs of products in saturating 16 bits
first, so the same graph gave other scores there (harm logits up to 1.8 apart; every calibration
and policy bar was fitted on exact sums). Weights stored as u8 with zero point 128 are the same
numbers, and onnxruntime multiplies u8 x u8 without saturating anywhere, but about 40% slower on
VNNI. So the graphs ship with s8 weights, and a CPU whose sums saturate gets them re-stored as u8
when a session is made. On an emulated AVX2 CPU the outputs are then those of a VNNI CPU to
float rounding: of the 40 probe texts of tests/test_model_graphs.py (one reference for every
CPU) 1 to 3 a graph moved, by at most 0.01; of 150 DynaHate posts 17 harm scores moved, by at
most 0.014 (all 150, by up to 0.097, with 7 decisions flipped, without this): float sums in
another order (AVX2 against AVX-512 kernels) flipped one quantised activation of the text.

Whether sums saturate is asked of onnxruntime itself, with a one-node probe graph
(`int8_probe.onnx`, made by `build_probe`), not read from CPU flags: it is the kernels that
onnxruntime picks that matter, and they change between its versions.
"""

from __future__ import annotations

import functools
import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np

PROBE = Path(__file__).with_name("int8_probe.onnx")
# Wide enough that pairs of 255 x 127 products overflow 16 bits in any kernel that pairs them.
_K, _M, _N = 64, 4, 16


def build_probe() -> bytes:
    """The probe graph: Y = MatMulInteger(A: u8 [M, K] input, B: s8 [K, N] constant), B held as
    an initializer as the real graphs hold their weights. Needs the `onnx` package; the result
    is shipped as `int8_probe.onnx` (a test checks it is current)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = np.full((_K, _N), 127, dtype=np.int8)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "tidebreak_int8_probe",
        [helper.make_tensor_value_info("a", TensorProto.UINT8, [_M, _K])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [_M, _N])],
        initializer=[numpy_helper.from_array(weights, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="tidebreak")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


@functools.cache
def int8_sums_saturate() -> bool:
    """True where this onnxruntime, on this CPU, sums u8 x s8 products in saturating 16 bits."""
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    sess = ort.InferenceSession(PROBE.read_bytes(), sess_options=so,
                                providers=["CPUExecutionProvider"])
    (y,) = sess.run(None, {"a": np.full((_M, _K), 255, dtype=np.uint8)})
    return bool((y != _K * 255 * 127).any())


def unsigned_weights(model: bytes) -> bytes:
    """The same graph with every s8 weight of its integer products (and that weight's zero
    point) re-stored as u8 + 128: identical numbers, multiplied without saturation. A weight
    or zero point that anything else also reads is left as it is."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load_from_string(model)
    inits = {i.name: i for i in m.graph.initializer}
    # (node, weight slot, zero-point slot) of every integer product: MatMulInteger reads
    # A, B, A's zero point, B's; QAttention reads its weight second and its zero point eighth.
    slots = [(n, 1, 3) for n in m.graph.node if n.op_type == "MatMulInteger"]
    slots += [(n, 1, 7) for n in m.graph.node if n.op_type == "QAttention"]
    readers: dict[str, int] = {}
    for n in m.graph.node:
        for name in n.input:
            readers[name] = readers.get(name, 0) + 1
    product_reads: dict[str, int] = {}
    for n, w, z in slots:
        for i in (w, z):
            if i < len(n.input) and n.input[i]:
                product_reads[n.input[i]] = product_reads.get(n.input[i], 0) + 1

    def convertible(name: str) -> bool:
        init = inits.get(name)
        return (init is not None and init.data_type == onnx.TensorProto.INT8
                and readers.get(name) == product_reads.get(name))

    shifted: set[str] = set()
    zero_128 = "tidebreak_u8_zero_point_128"
    for n, w, z in slots:
        weight = n.input[w]
        zp = n.input[z] if z < len(n.input) else ""
        if not convertible(weight) or (zp and not convertible(zp) and zp not in shifted):
            continue
        for name in (weight, zp):
            if name and name not in shifted:
                init = inits[name]
                u8 = (numpy_helper.to_array(init).astype(np.int16) + 128).astype(np.uint8)
                init.CopyFrom(numpy_helper.from_array(u8, name))
                shifted.add(name)
        if not zp:  # an absent zero point is 0; the shifted weight needs 128
            if zero_128 not in inits:
                inits[zero_128] = numpy_helper.from_array(np.array(128, dtype=np.uint8), zero_128)
                m.graph.initializer.append(inits[zero_128])
            while len(n.input) <= z:
                n.input.append("")
            n.input[z] = zero_128
    return m.SerializeToString()


def session_source(model_path: str | Path) -> str | bytes:
    """The path to give `onnxruntime.InferenceSession` for a graph: the graph itself where int8
    sums are exact here, else the same graph with unsigned weights, made once per machine and
    kept beside the language identifier's cache (`TIDEBREAK_CACHE_DIR`, named by the graph's
    sha256): the rewrite costs about a second and the onnx import, which every process that
    loads a model would otherwise pay. Where the cache cannot be written, the rewritten bytes."""
    path = Path(model_path)
    if not int8_sums_saturate():
        return str(path)
    from tidebreak.text.language import cache_dir

    st = path.stat()
    cached = cache_dir() / f"{path.stem}-u8-{_digest(str(path.resolve()), st.st_mtime_ns, st.st_size)}.onnx"
    if cached.is_file():
        return str(cached)
    restored = unsigned_weights(path.read_bytes())
    try:
        _write_whole(cached, restored)
    except OSError:  # a read-only home: the cache is an optimisation
        return restored
    return str(cached)


@functools.lru_cache(maxsize=16)
def _digest(path: str, mtime_ns: int, size: int) -> str:
    """The graph's sha256 (16 hex digits), read once per process for each version of the file:
    a model loads one session per core."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def _write_whole(path: Path, data: bytes) -> None:
    """Written under a temporary name and renamed, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
