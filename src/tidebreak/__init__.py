"""tidebreak: an open-source trust & safety engine."""

import os

# numpy's OpenBLAS keeps its worker threads busy-waiting for ~0.1 s after every matrix product
# big enough to thread, on the cores the models' onnxruntime sessions need: measured on 2 cores,
# the fact-check detector spent ~0.7 ms per post more than its parts cost apart. tidebreak's
# products are small, so one BLAS thread (results are bit-identical). Read when numpy loads:
# it holds for the CLI, the server and the workers; an explicit setting wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

__version__ = "0.1.0"
