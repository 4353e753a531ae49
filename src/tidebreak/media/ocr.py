"""Text in images: rapidocr's PP-OCR detection and recognition models, the ONNX files shipped
inside the rapidocr wheel, run with onnxruntime. Loaded lazily, once per process (about a second);
nothing is ever downloaded: the model paths are given explicitly and rapidocr's downloader is
disabled before the engine is built, so a missing model is an error, not a fetch.

Fragments the recogniser is unsure of, and fragments of fewer than 2 letters or digits, are
dropped; if what is left has fewer than 4 letters or digits in all, the image is read as having
no text (the stray letters OCR finds in photographs are not a text to judge).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"
MAX_SIDE = 1280  # larger images are scaled down first: meme text stays legible, cost bounded
MIN_FRAGMENT_ALNUM = 2
MIN_TEXT_ALNUM = 4
MAX_CHARS = 2000  # per image: enough for any meme, bounded for storage


@dataclass(frozen=True)
class Fragment:
    text: str
    score: float


def _alnum(s: str) -> int:
    return sum(ch.isalnum() for ch in s)


def models_dir() -> Path:
    import rapidocr

    return Path(rapidocr.__file__).with_name("models")


class OcrEngine:
    _instance: OcrEngine | None = None
    _lock = threading.Lock()

    def __init__(self) -> None:
        d = models_dir()
        paths = {name: d / name for name in (DET_MODEL, REC_MODEL, CLS_MODEL)}
        missing = [str(p) for p in paths.values() if not p.is_file()]
        if missing:
            raise RuntimeError(f"rapidocr's bundled models are missing: {', '.join(missing)}")
        from rapidocr.utils import download_file

        def _no_download(*_a: Any, **_k: Any) -> None:
            raise RuntimeError("tidebreak never downloads OCR models at run time")

        download_file.DownloadFile.run = staticmethod(_no_download)  # type: ignore[method-assign]
        from rapidocr import RapidOCR

        threads = int(os.environ.get("TIDEBREAK_OCR_THREADS", "0") or 0) or -1
        self.version = "rapidocr-" + _rapidocr_version() + "+PP-OCRv6-small"
        self._engine = RapidOCR(params={
            "Global.log_level": "error",
            "Global.use_cls": False,  # memes are upright; the angle classifier costs time
            "Det.model_path": str(paths[DET_MODEL]),
            "Rec.model_path": str(paths[REC_MODEL]),
            "Cls.model_path": str(paths[CLS_MODEL]),
            "EngineConfig.onnxruntime.intra_op_num_threads": threads,
            "EngineConfig.onnxruntime.inter_op_num_threads": 1,
        })
        self._run = threading.Lock()  # one inference at a time per process

    @classmethod
    def get(cls) -> OcrEngine:
        if cls._instance is None:
            with cls._lock:
                if cls._instance is None:
                    cls._instance = cls()
        return cls._instance

    def fragments(self, img: Image.Image) -> list[Fragment]:
        img = img.convert("RGB")
        if max(img.size) > MAX_SIDE:
            img = img.copy()
            img.thumbnail((MAX_SIDE, MAX_SIDE))
        with self._run:
            result = self._engine(np.asarray(img))
        txts = getattr(result, "txts", None) or ()
        scores = getattr(result, "scores", None) or ()
        return [Fragment(str(t), float(s)) for t, s in zip(txts, scores)]

    def read(self, img: Image.Image, min_score: float) -> tuple[str, list[Fragment]]:
        """(the text kept, every fragment with its score) for one image."""
        frags = self.fragments(img)
        kept = [f for f in frags if f.score >= min_score and _alnum(f.text) >= MIN_FRAGMENT_ALNUM]
        if sum(_alnum(f.text) for f in kept) < MIN_TEXT_ALNUM:
            return "", frags
        return "\n".join(f.text.strip() for f in kept)[:MAX_CHARS], frags


def _rapidocr_version() -> str:
    try:
        from importlib.metadata import version

        return version("rapidocr")
    except Exception:  # noqa: BLE001 - version is informational
        return "?"
