"""Hand-written homoglyph tables: look-alike letters that evaders swap into Latin words.

A compact subset of Unicode's confusables (UTS #39) covering what is actually used to dodge word
filters. Two tables, because the rules differ:

- `SCRIPT_CONFUSABLES`: letters of real alphabets (Cyrillic, Greek, Armenian). "о" is ordinary in
  Russian, so these are folded only inside otherwise-Latin words or in mostly-Latin text
  (`tidebreak.text.normalise` decides).
- `STYLE_CONFUSABLES`: decorative letters no running text needs (small capitals, IPA look-alikes,
  negative circled/squared and parenthesised letters). Always folded.

Fullwidth forms, mathematical alphanumerics, circled letters and super/subscripts are left to NFKC.
"""

from __future__ import annotations

import unicodedata

# Cyrillic, Greek and Armenian letters whose usual glyph is (near) identical to a Latin one.
_SCRIPT_PAIRS: dict[str, str] = {
    # Cyrillic lower case
    "а": "a", "с": "c", "е": "e", "о": "o", "р": "p", "х": "x", "у": "y", "і": "i", "ј": "j",
    "ѕ": "s", "һ": "h", "ԁ": "d", "ԛ": "q", "ԝ": "w", "ӏ": "l", "ү": "y", "к": "k", "ё": "ë",
    "ї": "ï", "ѵ": "v",
    # Cyrillic upper case (several upper-case letters look Latin where the lower case does not)
    "А": "A", "В": "B", "С": "C", "Е": "E", "Н": "H", "І": "I", "Ј": "J", "К": "K", "М": "M",
    "О": "O", "Р": "P", "Ѕ": "S", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y", "Ԝ": "W", "Ԛ": "Q",
    "Ӏ": "I", "Ё": "Ë", "Ї": "Ï",
    # Greek lower case
    "α": "a", "ε": "e", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t", "υ": "u",
    "χ": "x", "γ": "y", "ϳ": "j",
    # Greek upper case
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    # Armenian
    "օ": "o", "ս": "u", "ց": "g", "հ": "h", "ո": "n", "զ": "q",
}

# Decorative Latin look-alikes (dotless ı is Turkish, not decoration: the key folds it instead).
_STYLE_PAIRS: dict[str, str] = {
    "ȷ": "j", "ɑ": "a", "ɡ": "g", "ɩ": "i",
    # small capitals, as produced by "fancy font" generators
    "ᴀ": "a", "ʙ": "b", "ᴄ": "c", "ᴅ": "d", "ᴇ": "e", "ꜰ": "f", "ɢ": "g", "ʜ": "h", "ɪ": "i",
    "ᴊ": "j", "ᴋ": "k", "ʟ": "l", "ᴍ": "m", "ɴ": "n", "ᴏ": "o", "ᴘ": "p", "ʀ": "r", "ꜱ": "s",
    "ᴛ": "t", "ᴜ": "u", "ᴠ": "v", "ᴡ": "w", "ʏ": "y", "ᴢ": "z",
}


def _lettered_block(start: int, end: int, lower: bool) -> dict[str, str]:
    """Map a block of A-Z styled letters to plain letters (their names end in 'LETTER X')."""
    out: dict[str, str] = {}
    for cp in range(start, end + 1):
        name = unicodedata.name(chr(cp), "")
        if name[-2:-1] == " " and name[-1].isalpha():
            out[chr(cp)] = name[-1].lower() if lower else name[-1]
    return out


# NFKC turns these into "(a)" or leaves them alone, so fold them to the bare letter first.
_STYLE_PAIRS.update(_lettered_block(0x249C, 0x24B5, lower=True))  # ⒜ parenthesised small
_STYLE_PAIRS.update(_lettered_block(0x1F150, 0x1F169, lower=False))  # 🅐 negative circled
_STYLE_PAIRS.update(_lettered_block(0x1F170, 0x1F189, lower=False))  # 🅰 negative squared

SCRIPT_CONFUSABLES: dict[str, str] = dict(_SCRIPT_PAIRS)
STYLE_CONFUSABLES: dict[str, str] = dict(_STYLE_PAIRS)

# str.translate tables
SCRIPT_TABLE: dict[int, str] = str.maketrans(SCRIPT_CONFUSABLES)
STYLE_TABLE: dict[int, str] = str.maketrans(STYLE_CONFUSABLES)
