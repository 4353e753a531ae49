"""Turn a raw post into the forms detectors need, undoing the usual filter-evasion tricks.

`normalise(text)` returns a `NormalisedText` with:

- `text`: NFKC; invisible, bidi and control characters removed (except where a script or an emoji
  sequence needs a joiner); decorative combining marks on Latin letters dropped; homoglyphs
  folded to Latin; spaced-out letters joined ("h a t e", "h.a.t.e" -> "hate"); whitespace
  collapsed. Case, punctuation, URLs, emoji and non-Latin scripts are kept: classifiers read this.
- `key`: `text` case-folded, diacritics stripped, leetspeak folded inside mixed tokens
  ("h4te" -> "hate", but "2020" stays), runs of 3+ identical letters squeezed to one,
  punctuation and symbols (emoji included) dropped, whitespace collapsed. Links stay whole,
  without scheme and "www." ("youtube.com/watch?v=abc"). Exact and near-duplicate matching hash
  this.
- `flags`: the evasion tricks seen, from {"zero_width", "bidi", "homoglyph", "leet", "spacing",
  "repeat", "diacritics"}. Benign look-alikes of tricks are not flagged: accented words, dotted
  abbreviations ("U.S.A."), numbers with units ("10pm", "$5k").

Word-level steps never run inside links: folding "а" or joining "a.b.c" in a URL would change
where it points.

Repeats squeeze to ONE letter, not two: stretching usually lengthens a single letter
("haaate", "nooo", "fuuuck", "yesss"), so squeezing to one maps those back onto the word, while
squeezing to two would not. Words with a real double letter only lose it when stretched
("killlll" -> "kil"), a rarer case. The key is only ever compared with other keys, so the
occasional non-word it produces costs nothing.

Speed matters (every post passes here): all regexes are compiled once, pure-ASCII text skips the
Unicode-only steps, and each optional step first checks cheaply whether it has anything to do.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable

from tidebreak.model import NormalisedText
from tidebreak.text.charclass import (
    BIDI,
    CONTROLS,
    INVISIBLE,
    PUNCT_SYMBOL_CODEPOINTS,
    PUNCT_SYMBOLS_BMP,
)
from tidebreak.text.confusables import (
    SCRIPT_CONFUSABLES,
    SCRIPT_TABLE,
    STYLE_CONFUSABLES,
    STYLE_TABLE,
)

# Bump when a change here changes keys: stored key hashes must then be recomputed.
NORMALISE_VERSION = "1"

FLAGS = frozenset({"zero_width", "bidi", "homoglyph", "leet", "spacing", "repeat", "diacritics"})

# --- invisible and control characters --------------------------------------------------------

_ASCII_CONTROL_RE = re.compile("[\x00-\x08\x0e-\x1b\x7f]")
_CONTROL_RE = re.compile(f"[{CONTROLS}]")
_INVISIBLE_RE = re.compile(f"[{INVISIBLE}]")
_BIDI_RE = re.compile(f"[{BIDI}]")

# Roughly Extended_Pictographic: the code points emoji sequences are built from.
_EMOJI = (
    "\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u25fe"
    "\u2600-\u27bf\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff"
)
# Scripts where ZWNJ/ZWJ change the rendered word (Persian, Urdu, Indic, Myanmar, Khmer...).
_JOINING_SCRIPTS = (
    "\u0600-\u08ff\u0900-\u0dff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\ua8e0-\ua8ff"
    "\ufb50-\ufdff\ufe70-\ufefc"
)
# Invisible characters that are legitimate where they are: kept in `text`, dropped in `key`.
_LEGIT_INVISIBLE = "|".join(
    (
        f"(?<=[{_EMOJI}])[\ufe0e\ufe0f]",  # emoji/text presentation selector: ❤️
        "[\ufe0e\ufe0f](?=\u20e3)",  # keycap: 1️⃣
        f"(?<=[{_EMOJI}\ufe0f])\u200d(?=[{_EMOJI}])",  # ZWJ sequence: 👩‍💻
        f"(?<=[{_JOINING_SCRIPTS}])[\u200c\u200d](?=[{_JOINING_SCRIPTS}])",  # می‌خواهم
        "(?<=[\U0001f3f4\U000e0020-\U000e007e])[\U000e0020-\U000e007f]",  # subdivision flags
    )
)
_STRIP_INVISIBLE_RE = re.compile(f"(?!{_LEGIT_INVISIBLE})[{INVISIBLE}]")

# --- links --------------------------------------------------------------------------------

_LINK_RE = re.compile(r"((?:https?://|www\.)\S+)", re.IGNORECASE)  # split() keeps the links
_LINK_SCHEME_RE = re.compile(r"^(?:https?://)?(?:www\.)?")
_LINK_TRAILING = ".,;:!?)]}>'\"\u00bb\u201d\u2019"  # sentence punctuation after a link

# --- homoglyphs and decoration ---------------------------------------------------------------

# Letters that only NFKC undoes (fullwidth, mathematical, circled, squared) or that the style
# table folds: seeing them means someone dressed up their letters.
# (Few, whole ranges beyond the BMP: re tests those one by one for every character.)
_STYLED_RE = re.compile(
    "[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u24b6-\u24e9"
    + "".join(ch for ch in STYLE_CONFUSABLES if ch <= "\uffff")
    + "\U0001d400-\U0001d7ff\U0001f130-\U0001f189]"
)
_SCRIPT_CONFUSABLE_RE = re.compile("[" + "".join(SCRIPT_CONFUSABLES) + "]")
_SCRIPT_CONFUSABLE_SET = frozenset(SCRIPT_CONFUSABLES)
_LATIN_LETTER_RE = re.compile("[A-Za-z\u00c0-\u024f]")
_LETTER_RE = re.compile(r"[^\W\d_]")
_TOKEN_RE = re.compile(r"[^\W_]+")

# Combining marks in these blocks are diacritics. After NFKC, any still following a Latin letter
# had no precomposed form with it: decoration (strike-through, Zalgo), not spelling. (Marks after
# a space are left: NFKC makes them from spacing accents such as "¯" and "´".)
_DIACRITICS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
_DIACRITIC_RE = re.compile(f"[{_DIACRITICS}]")
_DECORATIVE_MARKS_RE = re.compile(f"([A-Za-z\u00c0-\u024f])[{_DIACRITICS}]+")

# --- spacing tricks --------------------------------------------------------------------------

# Letters (and digits, for "h 4 t e") of the alphabets spacing tricks are used with. Not CJK or
# Hangul, where single-character words separated by spaces are ordinary.
_SPACED_CHAR = "[0-9A-Za-z\u00c0-\u024f\u0370-\u03ff\u0400-\u04ff]"
# A run is joined when its separators are all single spaces ("h a t e") or all single
# punctuation/symbol characters ("h.a.t.e", "h-a.t-e", "h_a_t_e", "h👏a👏t👏e", an emoji maybe
# with a skin tone). Never mixed: "b/c i d" is two things. Apostrophes are not separators
# ("I'm a"), and a run may not start inside a word, a mention or a hashtag ("@T_S_P").
_PUNCT_SEP = "(?:[^\\w\\s'\u2019]|_)[\U0001f3fb-\U0001f3ff\ufe0f]?"
_SPACED_RE = re.compile(
    f"\\b{_SPACED_CHAR}(?=(?: |{_PUNCT_SEP}){_SPACED_CHAR})(?<![\\w'\u2019@#].)"
    f"(?:(?: {_SPACED_CHAR}){{2,}}|(?:{_PUNCT_SEP}{_SPACED_CHAR}){{2,}})"
    f"(?![\\w]|['\u2019]\\w)"
)
_SPACED_CHAR_RE = re.compile(_SPACED_CHAR)
# English one-letter words: at the head of a spaced run they are usually a word of their own
# ("I h a t e you", "a l o s e r").
_SINGLE_LETTER_WORDS = frozenset("aAiI")
# Dotted capitals ("U.S.A.", "R.I.P.") are abbreviations: joined, but not flagged as a trick.
_ACRONYM_RE = re.compile(r"[A-Z](?:\.[A-Z])+")
# In the key punctuation is already gone: join runs of 3+ single letters between spaces.
_KEY_LETTER = "[a-z\u00df-\u024f\u03b1-\u03c9\u0430-\u045f]"
_KEY_SPACED_RE = re.compile(
    f"{_KEY_LETTER}(?= {_KEY_LETTER} )(?<!\\S.)(?: {_KEY_LETTER}){{2,}}(?!\\S)"
)

# --- key-only folding ------------------------------------------------------------------------

# Arabic harakat and tatweel, Hebrew points: optional marks, stripped like Latin diacritics.
_KEY_DIACRITICS_RE = re.compile(
    f"[{_DIACRITICS}\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u064b-\u065f\u0670\u0640]"
)
_MARKED_LATIN_RE = re.compile(f"[a-z][{_DIACRITICS}]+")
_ASCII_LETTER_RE = re.compile("[a-z]")
# Letters with no decomposition that readers still see as the plain letter.
_KEY_LETTER_TABLE = str.maketrans(
    {"ø": "o", "đ": "d", "ł": "l", "ı": "i", "ħ": "h", "ŧ": "t", "ð": "d", "æ": "ae", "œ": "oe",
     "þ": "th"}
)
_KEY_LETTER_FOLD_RE = re.compile("[" + "".join(map(chr, _KEY_LETTER_TABLE)) + "]")

_LEET_TABLE = str.maketrans(
    {"0": "o", "1": "i", "2": "z", "3": "e", "4": "a", "5": "s", "6": "g", "7": "t", "8": "b",
     "9": "g", "@": "a", "$": "s", "!": "i", "€": "e"}
)
_LEET_ANY_RE = re.compile("[0-9@$!€]")
# A token mixing letters and leetspeak characters, found without calling back for plain words or
# plain numbers (possessive quantifiers: no backtracking).
_LEET_TOKEN_RE = re.compile(
    "(?<![\\w@$!€])(?:[^\\W\\d_]++[0-9@$!€]|[0-9@$!€]++[^\\W\\d_])[\\w@$!€]*"
)
# Mixed tokens that are not leetspeak: short codes ("2a", "h2o", "4c5"), ordinals ("3rds"),
# amounts and numbers with units ("$161k", "10pm", "45m45"), names starting with a number
# ("4chan", "23andme") or ending in one ("user1", "covid19"; a trailing swap like "hat3" is the
# rarer case) and hex ids ("c78f8c").
_LEET_EXEMPT_RE = re.compile(
    r".{1,3}"
    r"|(?:[$€]?\d+(?:st|nd|rd|th|s|am|pm|k|m|b|bn|g|x|p|d|h|km|kg|mb|gb|tb|ml|cm|mm|hz|mph|fps)"
    r"s?)+\d*"
    r"|\d+[a-z]{3,}"
    r"|[a-z]+\d+"
    r"|[0-9a-f]{6,}"
)
# "!" before a capital is a missing space ("BREAKING!The"), not a letter: split there before
# case folding hides the capital.
_BANG_BEFORE_CAPITAL_RE = re.compile(r"!(?=[A-Z])")

# Punctuation and symbols become spaces; apostrophes vanish ("don't" -> "dont", not "don t").
# ASCII text goes through str.translate (a C fast path); other text through a BMP regex (a bitmap)
# and, for the rare runs of astral characters (emoji), the translate table.
_APOSTROPHES = "'\u2019\u02bc`\u00b4"
_PUNCT_TABLE: dict[int, str | None] = dict.fromkeys(PUNCT_SYMBOL_CODEPOINTS, " ")
_PUNCT_TABLE[ord("_")] = " "
_PUNCT_TABLE.update(dict.fromkeys(map(ord, _APOSTROPHES), None))
_APOSTROPHE_RE = re.compile(f"[{_APOSTROPHES}]")
_PUNCT_BMP_RE = re.compile(f"[{PUNCT_SYMBOLS_BMP}_]+")
_ASTRAL_RE = re.compile("[\U00010000-\U0010ffff]+")

_TRIPLE_RE = re.compile(r"(.)\1\1")  # cheap pre-check for the squeeze below
_REPEAT_ASCII_RE = re.compile(r"([a-z])\1\1+")
_REPEAT_RE = re.compile(r"([^\W\d_])\1{2,}")


def normalise(text: str) -> NormalisedText:
    """Normalise one text (see the module docstring for what each form holds)."""
    flags: set[str] = set()
    clean = _clean_text(text, flags)
    key = _make_key(clean, flags)
    return NormalisedText(original=text, text=clean, key=key, flags=frozenset(flags))


def _has_link(s: str) -> bool:
    # plain substring tests: several times faster than a case-insensitive regex search
    return "://" in s or "www." in s or "WWW." in s or "Www." in s


def _outside_links(s: str, fn: Callable[[str], str]) -> str:
    """Apply a word-level step to the text between links only: folding look-alikes or joining
    "a.b.c" inside a URL would change where it points."""
    if not _has_link(s):
        return fn(s)
    parts = _LINK_RE.split(s)
    parts[::2] = [fn(p) for p in parts[::2]]
    return "".join(parts)


# --- the `text` form -------------------------------------------------------------------------


def _clean_text(s: str, flags: set[str]) -> str:
    if s.isascii():
        if _ASCII_CONTROL_RE.search(s):
            s = _ASCII_CONTROL_RE.sub("", s)
        s = " ".join(s.split())
        return _outside_links(s, lambda part: _join_spaced(part, flags))
    s = _strip_invisible(s, flags)
    s = _fold_styled(s, flags)
    s = unicodedata.normalize("NFKC", s)
    if "\u2800" in s:  # Braille blank: an "empty-looking" filler that is not whitespace
        s = s.replace("\u2800", " ")
    s = " ".join(s.split())
    return _outside_links(s, lambda part: _clean_words(part, flags))


def _clean_words(s: str, flags: set[str]) -> str:
    if _DIACRITIC_RE.search(s) and _DECORATIVE_MARKS_RE.search(s):
        s = _DECORATIVE_MARKS_RE.sub(r"\1", s)
        flags.add("diacritics")
    s = _fold_script_confusables(s, flags)
    return _join_spaced(s, flags)


def _strip_invisible(s: str, flags: set[str]) -> str:
    if _INVISIBLE_RE.search(s):
        s, n = _BIDI_RE.subn("", s)
        if n:
            flags.add("bidi")
        s, n = _STRIP_INVISIBLE_RE.subn("", s)
        if n:
            flags.add("zero_width")
    if _CONTROL_RE.search(s):
        s = _CONTROL_RE.sub("", s)
    return s


def _fold_styled(s: str, flags: set[str]) -> str:
    if _STYLED_RE.search(s):
        flags.add("homoglyph")
        s = s.translate(STYLE_TABLE)  # NFKC, run next, handles the rest
    return s


def _fold_script_confusables(s: str, flags: set[str]) -> str:
    """Fold Cyrillic/Greek/Armenian look-alikes in words that are otherwise Latin, and in words
    made only of look-alikes when the text as a whole is mostly Latin ("the соре" in English);
    leave Russian, Greek and Armenian text alone."""
    if not _SCRIPT_CONFUSABLE_RE.search(s):
        return s
    latin = len(_LATIN_LETTER_RE.findall(s))
    mostly_latin = latin > len(_LETTER_RE.findall(s)) - latin

    def fold(m: re.Match[str]) -> str:
        tok = m.group()
        if not _SCRIPT_CONFUSABLE_RE.search(tok):
            return tok
        if _LATIN_LETTER_RE.search(tok) or (
            mostly_latin
            and all(ch in _SCRIPT_CONFUSABLE_SET or not ch.isalpha() for ch in tok)
        ):
            return tok.translate(SCRIPT_TABLE)
        return tok

    out = _TOKEN_RE.sub(fold, s)
    if out != s:
        flags.add("homoglyph")
    return out


def _join_spaced(s: str, flags: set[str]) -> str:
    if not _SPACED_RE.search(s):
        return s
    tricks = False

    def join(m: re.Match[str]) -> str:
        nonlocal tricks
        run = m.group()
        chars = _SPACED_CHAR_RE.findall(run)
        lead = ""
        if len(chars) >= 4 and run[1] == " " and chars[0] in _SINGLE_LETTER_WORDS:
            lead, chars = run[:2], chars[1:]
        # at least three letters: "1 2 3" and "Room 4 B" are not a trick
        if sum(ch.isalpha() for ch in chars) < 3:
            return run
        if not (_ACRONYM_RE.fullmatch(run) and m.string.startswith(".", m.end())):
            tricks = True
        return lead + "".join(chars)

    out = _SPACED_RE.sub(join, s)
    if tricks:
        flags.add("spacing")
    return out


# --- the `key` form --------------------------------------------------------------------------


def _make_key(s: str, flags: set[str]) -> str:
    if "!" in s:
        s = _BANG_BEFORE_CAPITAL_RE.sub("! ", s)
    s = s.casefold()
    if not s.isascii():
        s = _strip_diacritics(s, flags)
        if _INVISIBLE_RE.search(s):  # the joiners and selectors `text` kept on purpose
            s = _INVISIBLE_RE.sub("", s)
    if not _has_link(s):
        return _key_words(s, flags)
    parts = _LINK_RE.split(s)
    parts = [_key_link(p) if i % 2 else _key_words(p, flags) for i, p in enumerate(parts)]
    return " ".join(" ".join(parts).split())


def _key_link(url: str) -> str:
    """A link stays one token ("youtube.com/watch?v=abc"): split into words, every YouTube link
    would look like every other, and link-only posts would seem long enough to near-match."""
    return _LINK_SCHEME_RE.sub("", url).rstrip(_LINK_TRAILING)


def _key_words(s: str, flags: set[str]) -> str:
    if _LEET_ANY_RE.search(s):
        s = _fold_leet(s, flags)
    s = " ".join(_drop_punctuation(s).split())
    if _KEY_SPACED_RE.search(s):  # "h. a. t. e." only becomes "h a t e" here
        joined = _KEY_SPACED_RE.sub(_join_key_run, s)
        if joined != s:
            s = joined
            flags.add("spacing")
    if _TRIPLE_RE.search(s):
        s, n = (_REPEAT_ASCII_RE if s.isascii() else _REPEAT_RE).subn(r"\1", s)
        if n:
            flags.add("repeat")
    return s


def _join_key_run(m: re.Match[str]) -> str:
    run = m.group()
    if run[0] in _SINGLE_LETTER_WORDS:  # "a h a t e" -> "a hate", but "a u s" stays
        return run if len(run) < 7 else run[:2] + run[2:].replace(" ", "")
    return run.replace(" ", "")


def _drop_punctuation(s: str) -> str:
    if s.isascii():
        return s.translate(_PUNCT_TABLE)
    s = _PUNCT_BMP_RE.sub(" ", _APOSTROPHE_RE.sub("", s))
    if _ASTRAL_RE.search(s):
        s = _ASTRAL_RE.sub(lambda m: m.group().translate(_PUNCT_TABLE), s)
    return s


def _strip_diacritics(s: str, flags: set[str]) -> str:
    nfd = unicodedata.normalize("NFD", s)
    if _KEY_DIACRITICS_RE.search(nfd):
        if "diacritics" not in flags and _heavily_accented(nfd):
            flags.add("diacritics")
        s = unicodedata.normalize("NFC", _KEY_DIACRITICS_RE.sub("", nfd))
    if _KEY_LETTER_FOLD_RE.search(s):
        s = s.translate(_KEY_LETTER_TABLE)
    return s


def _heavily_accented(nfd: str) -> bool:
    """A word with accents on 3+ letters and on most of its letters ("ḧäẗë") is decoration:
    ordinary spelling (French "préféré", Vietnamese "người") stays below that."""
    for word in nfd.split():
        marked = len(_MARKED_LATIN_RE.findall(word))
        if marked >= 3 and marked > 0.6 * len(_ASCII_LETTER_RE.findall(word)):
            return True
    return False


def _fold_leet(s: str, flags: set[str]) -> str:
    def fold(m: re.Match[str]) -> str:
        tok = m.group()
        # a trailing "!" is punctuation, a leading "@" a mention, "name@host." an e-mail address
        core = tok.rstrip("!").lstrip("!@")
        if (
            not _ASCII_LETTER_RE.search(core)
            or not _LEET_ANY_RE.search(core)
            or _LEET_EXEMPT_RE.fullmatch(core)
            or ("@" in core and m.string.startswith(".", m.end()))
        ):
            return tok
        flags.add("leet")
        start = tok.index(core)
        return tok[:start] + core.translate(_LEET_TABLE) + tok[start + len(core) :]

    return _LEET_TOKEN_RE.sub(fold, s)
