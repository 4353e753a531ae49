"""Which language a post is in, so that text a model was not trained on is not scored as if it were.

`detect_language(text)` returns a `LanguageGuess`: a language `code` (ISO 639-1 where the language
has one, else ISO 639-3 such as "yue"; "und" when there is too little text to tell), a
`confidence` in [0, 1] and `reliable`, whether the guess is good enough to act on.
`covered(guess, languages)` says whether a model trained on `languages` may score the text:
a covered language, and anything undetermined or unreliable, is covered, so a three-word English
post, an emoji, a link or a slangy tweet is always scored; only a reliable guess of another
language is not.

The identifier is py3langid (a maintained fork of langid.py: naive Bayes over byte n-grams, 140
classes, BSD-3-Clause). Its model ships inside the wheel (`py3langid/data/model.npz.xz`, 4.6 MB,
read with numpy, no pickle); nothing is downloaded, ever. It is loaded on first use and shared
by the process; a typical post then costs about 0.15-0.2 ms on the 2-core development machine
under load, 0.3 ms for a 600-character one (the most it reads).

Loading it means decompressing 68 MB of LZMA (0.55 CPU-s), once in every process that reads
languages: a `moderate` run starts three. So the first load also writes the decompressed arrays
to a cache file (`langid-<sha256 of the model file>.npz` under `TIDEBREAK_CACHE_DIR`, else
`$XDG_CACHE_HOME/tidebreak` or `~/.cache/tidebreak`), and later loads read that file (about 0.1
CPU-s). The cache is only ever an optimisation: an unwritable or damaged one, or another
py3langid layout, falls back to the packaged file.

Rules, in order:

1. Links, @handles, #hashtags, HTML entities, digits, emoji, punctuation and other symbols are
   dropped: they say nothing about the language (a hashtag or a handle is often English in any
   language). Only the first `MAX_CHARS` characters left are read (the harm model reads ~250).
2. Fewer than `MIN_SCRIPT_LETTERS` letters: undetermined.
3. Mostly non-Latin letters (Cyrillic, Greek, Arabic, Hebrew, Devanagari, CJK...): not English
   whatever the length, so reliable even when short ("你们这些垃圾都该死"); the code is the
   identifier's best guess. English dressed in look-alike letters ("Кіll аll ...") is folded back
   to Latin by `tidebreak.text.normalise` when the text is mostly Latin; a text written wholly in
   look-alikes stays Cyrillic, is not covered, and so goes to people rather than being scored.
4. Latin letters: fewer than `MIN_LETTERS` letters is undetermined. Otherwise the identifier
   reads the lower-cased text (it mistakes SHOUTED and Title Case English for other languages);
   a covered language (or an English-based variety, `VARIETIES`) as its best guess is covered,
   and another language is reliable only when the identifier gives all uncovered languages
   together at least `MIN_CONFIDENCE`.

The cut-offs were chosen on 4,000 English posts (DynaHate dev, Gab Hate Corpus train, Davidson
and Implicit Hate tweets) and 60 short sentences in 30 other languages; `bench/bench_language.py`
measures them on the test splits.

Never raises: any input (None, bytes, lone surrogates, control characters, mixed scripts) gives a
guess.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import threading
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tidebreak.text.charclass import MARKS_BMP

UNDETERMINED = "und"  # the BCP 47 / ISO 639-2 code for "undetermined"
DEFAULT_COVERED: tuple[str, ...] = ("en",)

MAX_CHARS = 600  # read at most this many characters of the cleaned text
MIN_LETTERS = 15  # Latin-script texts with fewer letters are undetermined
MIN_SCRIPT_LETTERS = 2  # a text mostly in a non-Latin script needs only this many letters
NON_LATIN_SHARE = 0.6  # share of letters outside Latin script that makes a text "non-Latin"
MIN_CONFIDENCE = 0.99  # probability of uncovered languages needed to route a text away
NO_LANGUAGE = "zxx"  # the identifier's "no linguistic content" class: treated as undetermined
# Varieties counted as the language they are based on: Nigerian Pidgin is English-lexified, and
# the identifier calls much African-American and internet English "pcm"; routing it away would
# be a dialect bias, not a language decision.
VARIETIES: dict[str, str] = {"pcm": "en"}

_NOISE_RE = re.compile(
    r"(?:https?://|www\.)\S+"  # links
    r"|[@#]\w+"  # handles and hashtags
    r"|&(?:[a-zA-Z]+|#\d+|#x[0-9a-fA-F]+);"  # HTML entities (&amp; in scraped tweets)
    r"|\bRT\b",  # retweet marker
    re.IGNORECASE,
)
# Digits, underscores, and characters that are neither letters, combining marks, spaces nor
# apostrophes (emoji, symbols, punctuation) become spaces. Marks stay: Indic vowel signs and
# Arabic harakat are marks.
_NON_TEXT_RE = re.compile(f"[\\d_]|(?![{MARKS_BMP}])[^\\w\\s'\u2019]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_LATIN_LETTER_RE = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff]")


@dataclass(frozen=True, slots=True)
class LanguageGuess:
    """`code`: ISO 639-1 (639-3 where there is none; "und" when undetermined); `confidence`: the
    identifier's probability of the covered languages when `code` is one of them, else of all
    uncovered languages together; `reliable`: good enough to act on."""

    code: str
    confidence: float
    reliable: bool

    def to_dict(self) -> dict[str, Any]:
        return {"language": self.code, "language_confidence": round(self.confidence, 4),
                "language_reliable": self.reliable}

    def covered(self, languages: Collection[str] = DEFAULT_COVERED) -> bool:
        """See `covered`."""
        return covered(self, languages)


UNDETERMINED_GUESS = LanguageGuess(UNDETERMINED, 0.0, False)

_IDENTIFIER: Any = None
_LOCK = threading.Lock()


def _identifier() -> Any:
    global _IDENTIFIER
    if _IDENTIFIER is None:
        with _LOCK:
            if _IDENTIFIER is None:
                _IDENTIFIER = load_identifier()
    return _IDENTIFIER


_CACHE_KEYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def cache_dir() -> Path:
    """Where decompressed model arrays are kept between processes (see the module docstring)."""
    explicit = os.environ.get("TIDEBREAK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "tidebreak"


def load_identifier(cache: Path | None = None) -> Any:
    """py3langid's identifier, from the decompressed cache when there is one (else made now)."""
    import numpy as np
    from py3langid import modelio
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    packaged = MODEL_DIR / MODEL_FILE
    path: Path | None = None
    try:
        digest = hashlib.sha256(packaged.read_bytes()).hexdigest()[:16]
        path = (cache or cache_dir()) / f"langid-{digest}.npz"
        if not path.is_file():
            _write_cache(packaged, path)
        with np.load(path, allow_pickle=False) as data:
            a = {k: data[k] for k in _CACHE_KEYS}
        return LanguageIdentifier(np.asarray(a["ptc"]), np.asarray(a["pc"]), a["classes"].tolist(),
                                  modelio._to_array(a["nextmove"]), a["out_feat"].tolist(),
                                  norm_probs=True, tk_row=modelio._to_array(a["nextmove_row"]))
    except Exception:  # noqa: BLE001 - the cache is an optimisation; the packaged model is the truth
        if path is not None:  # a damaged cache file is dropped, so the next load writes it again
            with contextlib.suppress(OSError):
                path.unlink(missing_ok=True)
        return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _write_cache(packaged: Path, path: Path) -> None:
    """The packaged npz, decompressed, written whole under a temporary name and then renamed, so
    a reader never sees half a file."""
    import lzma
    import shutil
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name, suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out, lzma.open(packaged) as src:
            shutil.copyfileobj(src, out, length=1 << 20)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def clean(text: str) -> str:
    """The letters-and-words part of `text` that the identifier reads (see rule 1)."""
    s = _NOISE_RE.sub(" ", text[: MAX_CHARS * 4])
    s = _NON_TEXT_RE.sub(" ", s)
    return " ".join(s.split())[:MAX_CHARS]


def detect_language(text: Any, languages: Collection[str] = DEFAULT_COVERED) -> LanguageGuess:
    """Guess the language of one text (see the module docstring). `languages`, the ones the
    caller's model covers, only changes how confidence is measured: against all of them at once.
    The first call loads the model (and raises if py3langid is missing: never a silent "und")."""
    ident = _identifier()
    try:
        return _detect(ident, text, languages)
    except Exception:  # noqa: BLE001 - a language guess must never take the pipeline down
        return UNDETERMINED_GUESS


def _detect(ident: Any, text: Any, languages: Collection[str]) -> LanguageGuess:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    elif not isinstance(text, str):
        text = "" if text is None else str(text)
    s = clean(text)
    letters = len(_LETTER_RE.findall(s))
    if letters < MIN_SCRIPT_LETTERS:
        return UNDETERMINED_GUESS
    non_latin = letters - len(_LATIN_LETTER_RE.findall(s))
    script = non_latin >= NON_LATIN_SHARE * letters
    if not script and letters < MIN_LETTERS:
        return UNDETERMINED_GUESS
    low = s.lower()
    if (not script and "en" in languages and low.isascii()
            and len(ENGLISH_MARKERS.intersection(low.split())) >= ENGLISH_MARKERS_NEEDED):
        return ENGLISH_BY_MARKERS
    # Lower case: the identifier mistakes SHOUTED or Title Case English for other languages.
    ranked = ident.rank(low)
    best = ranked[0][0]
    if best == NO_LANGUAGE:
        return UNDETERMINED_GUESS
    cover = set(languages) | {v for v, base in VARIETIES.items() if base in languages}
    p_covered = min(sum(p for lang, p in ranked if lang in cover), 1.0)
    if best in cover:
        code = VARIETIES.get(best, best)
        return LanguageGuess(code, p_covered, script or p_covered >= MIN_CONFIDENCE)
    p_other = max(1.0 - p_covered, 0.0)
    # A mostly non-Latin text is not in a Latin-script language whatever the identifier's doubts
    # between, say, two Cyrillic languages: reliable even when short.
    return LanguageGuess(best, p_other, script or p_other >= MIN_CONFIDENCE)


# English-only function words (none is a common word of another Latin-script language: no
# "was", "will", "die", "for", "are"). ASCII text using ENGLISH_MARKERS_NEEDED distinct ones is
# English, or English mixed with something else, and is scored: the identifier is not asked
# (it is a tenth of `classify`'s time, and this settles most posts).
ENGLISH_MARKERS = frozenset(
    """the you that this with what they your there their about because people would and have
    just don't it's i'm these those been which when were should could""".split()
)
ENGLISH_MARKERS_NEEDED = 3
ENGLISH_BY_MARKERS = LanguageGuess("en", 1.0, True)


def covered(guess: LanguageGuess, languages: Collection[str] = DEFAULT_COVERED) -> bool:
    """Whether a model trained on `languages` may score text with this guess: yes for a covered
    language and for anything undetermined or unreliable."""
    return not guess.reliable or guess.code in languages
