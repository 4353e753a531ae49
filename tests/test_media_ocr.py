"""Text in images: OCR text is judged with the caption by the same detectors, says where it came
from, drops stray letters, and costs nothing for text-only items."""

from __future__ import annotations

import base64

from PIL import ImageDraw, ImageFont

from tidebreak.ingest import parse_event
from tidebreak.media import prepare
from tidebreak.media.ocr import OcrEngine
from tidebreak.media.prepare import detection_item, with_media_summary
from tidebreak.model import ActionType

from .test_media import encode, picture
from .test_pipeline import make_pipeline, post

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def meme(top: str, bottom: str = "", seed: int = 0) -> bytes:
    img = picture(seed)
    d = ImageDraw.Draw(img)
    font = ImageFont.truetype(FONT, 38)
    for text, y in ((top, 30), (bottom, 400)):
        if text:
            w = d.textlength(text, font=font)
            d.text(((640 - w) / 2, y), text, font=font, fill="white", stroke_width=3,
                   stroke_fill="black")
    return encode(img)


def item(id: str, data: bytes, text: str = ""):  # type: ignore[no-untyped-def]
    return parse_event({"id": id, "text": text, "author": "u1",
                        "media": [{"data": base64.b64encode(data).decode()}]})


def test_ocr_reads_meme_text() -> None:
    c = with_media_summary(item("m", meme("POLLS CLOSE AT NOON", "vote by text message")).content,
                           ocr=True, min_score=0.8)
    text = c.meta["media"][0]["ocr_text"].lower()
    assert "polls close at noon" in text and "vote by text message" in text
    it = detection_item(c)
    assert "polls close at noon" in it.norm.text.lower()


def test_a_picture_without_text_gives_no_text() -> None:
    c = with_media_summary(item("p", encode(picture(5))).content, ocr=True, min_score=0.8)
    assert c.meta["media"][0]["ocr_text"] == ""
    assert detection_item(c).norm.text == ""


def test_caption_and_image_text_are_judged_together(engine, clock) -> None:  # type: ignore[no-untyped-def]
    """The scripted test detector scores tags in the text it reads: the tag is in the image."""
    p = make_pipeline(engine, clock)
    out = p.process(item("m1", meme("[hate=0.99]"), text="just a joke, relax"))
    d = out.decision
    assert d.action == ActionType.REMOVE and "hate" in d.categories
    sig = next(s for s in d.signals if s.category == "hate")
    assert sig.evidence["source"] == "caption+ocr" and "0.99" in sig.evidence["ocr_text"]
    benign = p.process(item("m2", meme("HAPPY BIRTHDAY GRANDMA"), text=""))
    assert benign.decision.action == ActionType.NONE


def test_text_only_items_never_touch_media_code(engine, clock, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def boom(*_a, **_k):  # type: ignore[no-untyped-def]
        raise AssertionError("media preparation ran for a text-only item")

    monkeypatch.setattr(OcrEngine, "get", boom)
    monkeypatch.setattr(prepare, "with_media_summary", boom)
    monkeypatch.setattr(prepare, "detection_item", boom)
    p = make_pipeline(engine, clock)
    assert p.process(post("t1", "hello [hate=0.99]")).decision.action == ActionType.REMOVE


def test_real_harm_model_actions_a_hateful_meme_with_a_benign_caption(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tidebreak.runtime import build_pipeline, open_store

    p = build_pipeline(open_store(f"sqlite:///{tmp_path}/t.db"))
    hateful = p.process(item("h", meme("JEWS ARE RATS", "GET THEM OUT OF OUR COUNTRY"),
                             text="lol so true"))
    assert hateful.decision.action == ActionType.REMOVE
    assert any(s.evidence.get("source") == "caption+ocr" for s in hateful.decision.signals)
    kind = p.process(item("k", meme("MONDAYS AM I RIGHT", "need more coffee")))
    assert kind.decision.action == ActionType.NONE
