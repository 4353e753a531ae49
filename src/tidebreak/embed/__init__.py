"""Sentence embeddings shared by the model detectors (harm heads, fact-check matching).

`get_encoder()` returns a process-wide `Encoder` over the bundled int8 ONNX all-MiniLM-L6-v2
(`models/minilm`); vectors are 384-d, float32, L2-normalised, so a dot product is a cosine.
"""

from tidebreak.embed.encoder import (
    DIM,
    Encoder,
    Encoding,
    default_model_dir,
    get_encoder,
    models_root,
)

__all__ = ["DIM", "Encoder", "Encoding", "default_model_dir", "get_encoder", "models_root"]
