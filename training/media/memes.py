"""Generate the project's own image evaluation set: photo-like pictures, memes, and copies.

Nothing is downloaded and nothing here is held-out data: backgrounds are synthetic (multi-scale
noise with shapes, flat colours, gradients, two panels), texts come from training/media/texts.py
(CC0). Fonts: only the DejaVu family is installed on the project's machines (fc-list), so the
styles vary DejaVu Sans / Serif / Mono / Condensed, bold and regular, sizes 24-52, colours,
outlines, and two layouts (classic top/bottom impact-style and a caption bar above the picture).

    .venv/bin/python training/media/memes.py OUT_DIR   # writes PNG/JPEG files + manifest.jsonl
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont

sys.path.insert(0, str(Path(__file__).parent))
from texts import HARMLESS, HATEFUL, THREATS, split  # noqa: E402

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONTS = ["DejaVuSans-Bold.ttf", "DejaVuSans.ttf", "DejaVuSerif-Bold.ttf", "DejaVuSansMono-Bold.ttf",
         "DejaVuSansCondensed-Bold.ttf", "DejaVuSerif.ttf"]
SIZE = (640, 480)


def photo(seed: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """A photo-like picture: 1/f-ish multi-scale colour noise plus a few solid shapes."""
    rng = np.random.default_rng(seed)
    w, h = size
    kind = seed % 4
    if kind == 1:  # flat colour with shapes
        img = Image.new("RGB", size, tuple(int(v) for v in rng.integers(0, 256, 3)))
    elif kind == 2:  # gradient
        a, b = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
        t = np.linspace(0, 1, w)[None, :, None] if seed % 8 < 4 else np.linspace(0, 1, h)[:, None, None]
        arr = np.broadcast_to(a * (1 - t) + b * t, (h, w, 3))
        img = Image.fromarray(arr.astype(np.uint8))
    else:
        acc = np.zeros((h, w, 3))
        for k, (gh, gw) in enumerate([(3, 4), (6, 8), (12, 16), (24, 32), (48, 64)]):
            small = (rng.random((gh, gw, 3)) * 255).astype(np.uint8)
            acc += np.asarray(Image.fromarray(small).resize(size, Image.BICUBIC), float) / 1.6 ** k
        acc = (acc - acc.min()) / (np.ptp(acc) or 1) * 255
        img = Image.fromarray(acc.astype(np.uint8))
    d = ImageDraw.Draw(img)
    for _ in range(int(rng.integers(4, 10))):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(15, 110))
        fill = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            d.ellipse((x - r, y - r, x + r, y + r), fill=fill)
        else:
            d.rectangle((x - r, y - r // 2, x + r, y + r // 2), fill=fill)
    if kind == 3:  # two panels side by side
        other = photo(seed * 4 + 100_000, (w // 2, h))  # kind 0: no recursion
        img.paste(other, (w // 2, 0))
    return img


def _wrap(d: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont, width: int) -> list[str]:
    lines, cur = [], ""
    for word in text.split():
        trial = f"{cur} {word}".strip()
        if d.textlength(trial, font=font) <= width or not cur:
            cur = trial
        else:
            lines.append(cur)
            cur = word
    return [*lines, cur] if cur else lines


def style_of(seed: int) -> dict[str, object]:
    """Font, size and layout a meme with this seed gets (recorded in the manifest)."""
    rng = np.random.default_rng(seed + 7)
    return {"font": FONTS[seed % len(FONTS)], "size": int(rng.integers(24, 53)),
            "layout": "caption_bar" if seed % 3 == 2 else "top_bottom"}


def meme(text: str, seed: int) -> Image.Image:
    """Render 'top|bottom' on a background, in one of several styles picked by `seed`."""
    rng = np.random.default_rng(seed + 7)
    top, bottom = split(text)
    font = ImageFont.truetype(str(FONT_DIR / FONTS[seed % len(FONTS)]), int(rng.integers(24, 53)))
    style = seed % 3
    if style == 2:  # caption bar above the picture, black on white
        pic = photo(seed)
        probe = ImageDraw.Draw(pic)
        lines = _wrap(probe, f"{top} {bottom}".strip().capitalize(), font, SIZE[0] - 40)
        lh = int(font.size * 1.25)
        bar = 20 + lh * len(lines)
        img = Image.new("RGB", (SIZE[0], SIZE[1] + bar), "white")
        img.paste(pic, (0, bar))
        d = ImageDraw.Draw(img)
        for i, ln in enumerate(lines):
            d.text((20, 10 + i * lh), ln, font=font, fill="black")
        return img
    img = photo(seed)
    d = ImageDraw.Draw(img)
    fill, stroke = [("white", "black"), ("yellow", "black"), ("black", "white")][int(rng.integers(3))]
    outline = 0 if rng.random() < 0.2 else max(2, font.size // 14)
    if outline == 0:  # no outline: a plain band behind the text keeps it legible
        fill, stroke = "black", "white"
    lh = int(font.size * 1.15)
    for block, anchor_top in ((top, True), (bottom, False)):
        if not block:
            continue
        lines = _wrap(d, block, font, SIZE[0] - 30)
        y0 = 12 if anchor_top else SIZE[1] - 12 - lh * len(lines)
        for i, ln in enumerate(lines):
            w = d.textlength(ln, font=font)
            x, y = (SIZE[0] - w) / 2, y0 + i * lh
            if outline == 0:
                d.rectangle((x - 6, y - 2, x + w + 6, y + lh), fill="white")
            d.text((x, y), ln, font=font, fill=fill, stroke_width=outline, stroke_fill=stroke)
    return img


def _jpeg(img: Image.Image, quality: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue()))


def copies(img: Image.Image, seed: int) -> dict[str, Image.Image]:
    """What re-uploads do to a picture."""
    rng = np.random.default_rng(seed)
    w, h = img.size
    f = float(rng.uniform(0.01, 0.04))  # "cropped a little": 1-4% off each edge
    wm = img.copy()
    d = ImageDraw.Draw(wm)
    d.text((w - 170, h - 28), "@repost_account", fill=(255, 255, 255),
           font=ImageFont.truetype(str(FONT_DIR / FONTS[1]), 16))
    return {
        "resize": img.resize((int(w * rng.uniform(0.4, 0.8)), int(h * rng.uniform(0.4, 0.8)))),
        "recompress": _jpeg(img, int(rng.integers(20, 50))),
        "crop": img.crop((int(w * f), int(h * f), int(w * (1 - f)), int(h * (1 - f)))),
        "watermark": wm,
        "greyscale": img.convert("L").convert("RGB"),
        "brighten": ImageEnhance.Brightness(img).enhance(float(rng.uniform(1.15, 1.4))),
    }


def build(out: Path, n_banked: int = 40, n_unrelated: int = 150) -> list[dict[str, object]]:
    """Write the set under `out`; returns the manifest (also written as manifest.jsonl)."""
    out.mkdir(parents=True, exist_ok=True)
    manifest: list[dict[str, object]] = []

    def save(img: Image.Image, name: str, **meta: object) -> None:
        fmt = "JPEG" if len(manifest) % 2 else "PNG"
        path = out / f"{name}.{fmt.lower()}"
        img.convert("RGB").save(path, format=fmt, quality=90)
        manifest.append({"path": str(path), "name": name, **meta})

    everything = [*HATEFUL, *THREATS, *HARMLESS]
    for i in range(n_banked):  # banked originals: half photos, half memes; then their copies
        img = photo(1000 + i) if i % 2 else meme(everything[i * 3 % len(everything)], 5000 + i)
        save(img, f"banked{i}", set="banked", original=f"banked{i}")
        for kind, c in copies(img, i).items():
            save(c, f"banked{i}_{kind}", set="copy", transform=kind, original=f"banked{i}")
    for j in range(n_unrelated):
        save(photo(20_000 + j), f"unrelated{j}", set="unrelated")
    for k, text in enumerate(HATEFUL):
        save(meme(text, 30_000 + k), f"hate{k}", set="hateful", label="hate", text=text,
             **style_of(30_000 + k))
    for k, text in enumerate(THREATS):
        save(meme(text, 31_000 + k), f"threat{k}", set="hateful", label="violence", text=text,
             **style_of(31_000 + k))
    for k, text in enumerate(HARMLESS):
        save(meme(text, 32_000 + k), f"harmless{k}", set="harmless", text=text,
             **style_of(32_000 + k))
    with (out / "manifest.jsonl").open("w") as f:
        for m in manifest:
            f.write(json.dumps(m) + "\n")
    return manifest


if __name__ == "__main__":
    print(len(build(Path(sys.argv[1]))), "images")
