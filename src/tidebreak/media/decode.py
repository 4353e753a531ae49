"""Bytes to a checked RGB image. Pillow reads only the header in `Image.open`, so the pixel
limit is enforced before any pixel is decoded (a 50 kB PNG can declare 100 000 x 100 000)."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass

from PIL import Image

from tidebreak.media.errors import MediaError, MediaTooLarge, UnsupportedMedia

# What platforms post as pictures; no SVG (a document, not an image), no TIFF/PSD/EPS (large
# parser surface, nobody posts them).
FORMATS = {"JPEG": "jpeg", "PNG": "png", "GIF": "gif", "WEBP": "webp", "BMP": "bmp"}


@dataclass(frozen=True)
class Decoded:
    image: Image.Image  # RGB, fully loaded
    format: str
    sha256: str


def decode_image(data: bytes, *, max_pixels: int, label: str = "image") -> Decoded:
    """Decode `data`; raise MediaError (corrupt, truncated), UnsupportedMedia or MediaTooLarge."""
    if not data:
        raise MediaError(f"{label}: empty file")
    try:
        with warnings.catch_warnings():
            # Pillow's own bomb check warns (then raises at 2x); ours is stricter and explicit
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data), formats=list(FORMATS))
    except Image.DecompressionBombError:
        raise MediaTooLarge(f"{label}: too many pixels (decompression bomb refused)") from None
    except Image.UnidentifiedImageError:
        raise UnsupportedMedia(f"{label}: not a supported image (JPEG, PNG, GIF, WebP or BMP)") \
            from None
    except (OSError, ValueError, SyntaxError) as e:
        raise MediaError(f"{label}: corrupt image ({_first_line(e)})") from None
    fmt = FORMATS.get(img.format or "")
    if fmt is None:  # pragma: no cover - formats= above already restricts
        raise UnsupportedMedia(f"{label}: unsupported image format {img.format!r}")
    w, h = img.size
    if w <= 0 or h <= 0:
        raise MediaError(f"{label}: image has no pixels")
    if w * h > max_pixels:
        raise MediaTooLarge(f"{label}: {w}x{h} is over the limit of {max_pixels} pixels "
                            "(decompression bomb refused)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img.seek(0)  # animated: the first frame
            img.load()
            rgb = img.convert("RGB")
    except Image.DecompressionBombError:
        raise MediaTooLarge(f"{label}: too many pixels (decompression bomb refused)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        # Pillow says "image file is truncated" for a cut-off JPEG/PNG: refuse, never pad
        raise MediaError(f"{label}: corrupt or truncated image ({_first_line(e)})") from None
    return Decoded(rgb, fmt, hashlib.sha256(data).hexdigest())


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:120]
