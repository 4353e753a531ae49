"""The pipeline's preparation step for content with images, before any detector runs.

1. `with_media_summary`: each image's hashes, OCR text and a small thumbnail (for reviewers)
   are kept in the content's `meta["media"]`, so they are stored with the content and reports,
   rescans and reviewers' removals later see the same images without the files.
2. `detection_item`: the text detectors read is the caption and the images' text together
   (a harmless caption on a hateful image is judged with the image's words), so every text
   detector (harm, fact-check, voting, text banks) scores image text unchanged.
3. `mark_sources`: signals on an item whose text came (partly) from its images say so in their
   evidence (`"source": "ocr"`, or `"caption+ocr"` when the post had its own words too).

Text-only items never come here (`has_media` is a tuple/dict check), so they pay nothing.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from PIL import Image

from tidebreak.config import Settings
from tidebreak.model import Content, Item, Signal
from tidebreak.text import normalise

THUMB_SIDE = 160
OCR_EXCERPT = 200


def _settings() -> Settings:
    return Settings.from_env()  # per item with images: cheap beside decoding and OCR


def has_media(c: Content) -> bool:
    return bool(c.media) or bool(c.meta and c.meta.get("media"))


def summaries(c: Content) -> list[Mapping[str, Any]]:
    """The stored view of a content's images (hashes and OCR text), or one built from
    `c.media` without OCR when the preparation step did not run (library callers)."""
    stored = c.meta.get("media") if c.meta else None
    if isinstance(stored, list) and stored:
        return [m for m in stored if isinstance(m, Mapping)]
    return [{"sha256": m.sha256, "pdq": m.pdq, "quality": m.quality,
             "variants": list(m.variants), "format": m.format, "width": m.width,
             "height": m.height} for m in c.media]


def _thumb(img: Image.Image) -> str:
    t = img.copy()
    t.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buf = io.BytesIO()
    t.save(buf, format="JPEG", quality=70)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def with_media_summary(c: Content, *, ocr: bool | None = None,
                       min_score: float | None = None) -> Content:
    if not c.media:
        return c
    settings = _settings()
    ocr = settings.ocr if ocr is None else ocr
    min_score = settings.ocr_min_score if min_score is None else min_score
    out: list[dict[str, Any]] = []
    for m in c.media:
        entry: dict[str, Any] = {"sha256": m.sha256, "pdq": m.pdq, "quality": m.quality,
                                 "variants": list(m.variants), "format": m.format,
                                 "width": m.width, "height": m.height, "source": m.source}
        if m.ref and m.source == "url":
            entry["url"] = m.ref
        if m.data:
            img = Image.open(io.BytesIO(m.data))  # decoded and checked at the boundary already
            img.seek(0)
            img = img.convert("RGB")
            entry["thumb"] = _thumb(img)
            if ocr:
                from tidebreak.media.ocr import OcrEngine

                engine = OcrEngine.get()
                entry["ocr_text"], _ = engine.read(img, min_score)
                entry["ocr_version"] = engine.version
        out.append(entry)
    return replace(c, meta={**dict(c.meta or {}), "media": out})


def ocr_text(c: Content) -> str:
    return "\n".join(str(m.get("ocr_text") or "") for m in summaries(c)
                     if m.get("ocr_text")).strip()


def detection_item(c: Content) -> Item:
    """What detectors read: the caption, then each image's text on its own line."""
    image_text = ocr_text(c)
    if not image_text:
        return Item(c, normalise(c.text))
    text = f"{c.text}\n{image_text}" if c.text.strip() else image_text
    return Item(replace(c, text=text), normalise(text))


def mark_sources(contents: Sequence[Content], signals: list[list[Signal]]) -> None:
    """Say in each text signal's evidence that it read image text (in place, per item)."""
    for i, c in enumerate(contents):
        if not has_media(c):
            continue
        image_text = ocr_text(c)
        if not image_text:
            continue
        source = "caption+ocr" if c.text.strip() else "ocr"
        signals[i] = [s if s.evidence.get("match") == "pdq" else
                      replace(s, evidence={**s.evidence, "source": source,
                                           "ocr_text": image_text[:OCR_EXCERPT]})
                      for s in signals[i]]
