"""Regex character classes derived once from `unicodedata`, so they follow Python's Unicode version
instead of a hand-kept list. Shared by normalisation and validation; built at import (~30 ms)."""

from __future__ import annotations

import unicodedata
from itertools import groupby

# Planes that hold every mark, symbol, punctuation and format character we care about: the BMP,
# the SMP (emoji, maths, historic scripts) and plane 14's tags and variation selectors.
_SCAN = (range(0x0000, 0x20000), range(0xE0000, 0xE0200))


def _runs() -> list[tuple[int, int, str]]:
    """(first, last, category) for each run of consecutive code points sharing a category."""
    out: list[tuple[int, int, str]] = []
    for block in _SCAN:
        cps = iter(block)
        for cat, group in groupby(cps, key=lambda cp: unicodedata.category(chr(cp))):
            members = list(group)
            out.append((members[0], members[-1], cat))
    return out


_RUNS = _runs()


def _esc(cp: int) -> str:
    return f"\\U{cp:08x}"


def _span(a: int, b: int) -> str:
    return _esc(a) if a == b else f"{_esc(a)}-{_esc(b)}"


def _class(
    categories: set[str], exclude: frozenset[int] = frozenset(), bmp_only: bool = False
) -> str:
    """Body of a regex character class (no brackets) for code points in the given categories."""
    parts: list[str] = []
    for first, last, cat in _RUNS:
        if cat not in categories or (bmp_only and first > 0xFFFF):
            continue
        start = first
        for cp in sorted(c for c in exclude if first <= c <= last):
            if cp > start:
                parts.append(_span(start, cp - 1))
            start = cp + 1
        if start <= last:
            parts.append(_span(start, last))
    return "".join(parts)


# All combining marks (Mn, Mc, Me): what "Zalgo" text stacks. BMP and beyond kept apart (see
# PUNCT_SYMBOLS_BMP for why).
MARKS_BMP = _class({"Mn", "Mc", "Me"}, bmp_only=True)
MARKS = _class({"Mn", "Mc", "Me"})

# Punctuation and symbols (P*, S*), as code points for str.translate: dropped from the matching
# key. Marks are deliberately not in here so Indic vowel signs survive (re's \W would treat them
# as non-word characters).
PUNCT_SYMBOL_CODEPOINTS: tuple[int, ...] = tuple(
    cp for first, last, cat in _RUNS if cat[0] in "PS" for cp in range(first, last + 1)
)
# The same, BMP part only, as a regex class body. re compiles a BMP-only class to a bitmap; ranges
# beyond the BMP are tested one by one for every character, which is slow for big classes.
PUNCT_SYMBOLS_BMP = _class({"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So"},
                           bmp_only=True)

# Bidirectional controls: they reorder text on screen so that a filter reads something else.
BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"

# Format characters that render visibly (Arabic number signs and the like): not invisible.
_VISIBLE_CF = frozenset(
    {0x0600, 0x0601, 0x0602, 0x0603, 0x0604, 0x0605, 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2,
     0x110BD, 0x110CD}
)

# Invisible characters: format characters (Cf: zero-width space and joiners, word joiner, BOM,
# soft hyphen, bidi controls, tag characters...) plus invisibles of other categories: combining
# grapheme joiner, variation selectors, Hangul fillers, Mongolian and Khmer invisible signs.
INVISIBLE = _class({"Cf"}, _VISIBLE_CF) + (
    "\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u3164\uffa0\ufe00-\ufe0f\U000e0100-\U000e01ef"
)

# Unicode noncharacters: U+FDD0..U+FDEF and the last two code points of every plane.
NONCHARACTERS = "\ufdd0-\ufdef" + "".join(
    _span((p << 16) | 0xFFFE, (p << 16) | 0xFFFF) for p in range(17)
)

# C0/C1 controls other than the whitespace ones (tab, newlines, form feed, NEL, information
# separators), which str.split() already treats as spaces.
CONTROLS = "\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f"
