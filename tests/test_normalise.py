"""Normalisation: every evasion trick is undone, and ordinary text of any script is left alone."""

from __future__ import annotations

import pytest

from tidebreak.text import normalise
from tidebreak.text.normalise import FLAGS

# --- invisible characters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "hidden",
    [
        "\u200b",  # zero-width space
        "\u200c",  # zero-width non-joiner
        "\u200d",  # zero-width joiner
        "\u2060",  # word joiner
        "\ufeff",  # BOM / zero-width no-break space
        "\u00ad",  # soft hyphen
        "\ufe0f",  # variation selector after a letter
        "\U000e0041",  # tag character
        "\u034f",  # combining grapheme joiner
    ],
)
def test_invisible_characters_are_removed(hidden: str) -> None:
    n = normalise(f"I h{hidden}a{hidden}t{hidden}e them")
    assert n.text == "I hate them"
    assert n.key == "i hate them"
    assert "zero_width" in n.flags


def test_bidi_controls_are_removed_and_flagged() -> None:
    n = normalise("kill\u202e them\u202c all")
    assert n.text == "kill them all"
    assert n.flags == {"bidi"}


def test_control_characters_go_and_line_breaks_become_spaces() -> None:
    n = normalise("first line\nsecond\tline\r\n\x07bell\x1b")
    assert n.text == "first line second line bell"


def test_whitespace_is_collapsed() -> None:
    assert normalise("  lots \u00a0 of\u3000\u3000space  ").text == "lots of space"


# --- spacing tricks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spaced", ["h a t e", "h.a.t.e", "h-a-t-e", "h_a_t_e", "h*a*t*e", "h👏a👏t👏e", "H A T E"]
)
def test_spaced_out_letters_are_joined(spaced: str) -> None:
    n = normalise(f"I {spaced} you")
    assert n.key == "i hate you"
    assert "spacing" in n.flags


def test_spaced_letters_with_leet_digits_are_joined_then_folded() -> None:
    n = normalise("k 1 l l them")
    assert n.text == "k1ll them"
    assert n.key == "kill them"
    assert {"spacing", "leet"} <= n.flags


def test_letters_spaced_with_punctuation_and_spaces_join_in_the_key_only() -> None:
    n = normalise("you are a s. c. u. m. person")
    assert n.text == "you are a s. c. u. m. person"
    assert n.key == "you are a scum person"


@pytest.mark.parametrize(
    "ordinary",
    ["I'm a teacher", "we counted 1 2 3 4", "Plan A or B", "J. R. R. Tolkien", "a, b, c",
     "a U.S. citizen", "ping @T_S_P_O_O_K_Y", "#a_b_c"],
)
def test_ordinary_single_letters_are_not_joined_in_text(ordinary: str) -> None:
    assert normalise(ordinary).text == ordinary


def test_dotted_abbreviations_are_joined_but_not_flagged() -> None:
    n = normalise("the U.S.A. and R.I.P. everyone")
    assert n.text == "the USA. and RIP. everyone"
    assert "spacing" not in n.flags
    assert "spacing" in normalise("K.I.L.L them").flags  # no closing dot: not an abbreviation


# --- homoglyphs --------------------------------------------------------------------------------


def test_cyrillic_lookalikes_inside_latin_words_are_folded() -> None:
    n = normalise("Thе vаccinе chаngеs yоur DNA")  # Cyrillic е, а, о
    assert n.text == "The vaccine changes your DNA"
    assert "homoglyph" in n.flags


def test_greek_lookalikes_inside_latin_words_are_folded() -> None:
    assert normalise("ΚΙLL the ιnvaders").text == "KILL the invaders"


def test_a_word_made_only_of_lookalikes_is_folded_in_english_text() -> None:
    n = normalise("they are all ѕсum and should go")  # every letter of "ѕсum" but m is Cyrillic
    assert n.text == "they are all scum and should go"
    n = normalise("you are a соре and everyone knows it")  # entirely Cyrillic word
    assert n.text == "you are a cope and everyone knows it"


@pytest.mark.parametrize(
    "styled",
    [
        "ｈａｔｅ",  # fullwidth (NFKC)
        "𝐡𝐚𝐭𝐞",  # mathematical bold (NFKC)
        "𝓱𝓪𝓽𝓮",  # mathematical script (NFKC)
        "ʜᴀᴛᴇ",  # small capitals (table)
        "🅷🅰🆃🅴",  # negative squared letters (table)
        "ⓗⓐⓣⓔ",  # circled letters (NFKC)
    ],
)
def test_styled_letters_are_folded(styled: str) -> None:
    n = normalise(f"I {styled} them")
    assert n.key == "i hate them"
    assert "homoglyph" in n.flags


@pytest.mark.parametrize(
    "native",
    [
        "Это просто текст на русском языке",
        "Αυτό είναι ένα κείμενο στα ελληνικά",
        "Սա հայերեն տեքստ է",
        "Кот и собака",
    ],
)
def test_cyrillic_greek_and_armenian_text_is_left_alone(native: str) -> None:
    n = normalise(native)
    assert n.text == native
    assert "homoglyph" not in n.flags


def test_dotless_i_stays_in_turkish_text_and_folds_in_the_key() -> None:
    n = normalise("Kırmızı ışık")
    assert n.text == "Kırmızı ışık"
    assert n.key == "kirmizi isik"


# --- leetspeak ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("leet", "word"),
    [("h4te", "hate"), ("1d10t", "idiot"), ("$lut", "slut"), ("sh!t", "shit"), ("k1ll", "kill"),
     ("n4z1", "nazi"), ("b@stard", "bastard"), ("v0t3", "vote")],
)
def test_leetspeak_is_folded_in_mixed_tokens(leet: str, word: str) -> None:
    n = normalise(f"You {leet}!")
    assert n.key == f"you {word}"
    assert n.text == f"You {leet}!"  # classifiers see what was written
    assert "leet" in n.flags


@pytest.mark.parametrize(
    "plain",
    ["the 2020 election", "42 people", "covid19 cases", "on the 3rd at 10pm", "100 km",
     "hate!!!", "@someone hi", "mail me at ann@example.org now", "price $5", "2/3rds",
     "stole $161K", "commit c78f8c", "BREAKING!The news", "#2A rights", "read 4chan", "H2O"],
)
def test_numbers_and_ordinary_tokens_are_not_leet(plain: str) -> None:
    assert "leet" not in normalise(plain).flags


def test_numbers_survive_in_the_key() -> None:
    assert normalise("In 2020, 42 of 100 voted").key == "in 2020 42 of 100 voted"


# --- diacritics, repeats, punctuation -------------------------------------------------------------


def test_ordinary_accents_are_stripped_from_the_key_without_a_flag() -> None:
    n = normalise("Café naïve São Paulo Dvořák Łódź")
    assert n.text == "Café naïve São Paulo Dvořák Łódź"
    assert n.key == "cafe naive sao paulo dvorak lodz"
    assert "diacritics" not in n.flags


def test_accents_on_every_letter_are_a_trick() -> None:
    n = normalise("ḧäẗë them")
    assert n.key == "hate them"
    assert "diacritics" in n.flags


def test_decorative_combining_marks_are_removed_from_text() -> None:
    n = normalise("h̶a̶t̶e̶ them and Z̴̢̛a̸l̷g̶o̵")  # strike-through and Zalgo marks
    assert n.text == "hate them and Zalgo"
    assert "diacritics" in n.flags


def test_repeated_letters_are_squeezed_to_one() -> None:
    n = normalise("I haaaaate them sooooo much!!!!")
    assert n.key == "i hate them so much"
    assert "repeat" in n.flags
    assert normalise("good cool moon").key == "good cool moon"  # doubles are words, not tricks
    assert normalise("in 2000 and 1999").key == "in 2000 and 1999"  # digits are never squeezed


def test_key_drops_punctuation_and_emoji_but_keeps_word_boundaries() -> None:
    n = normalise("Don't—ever—say \"that\"... OK?! 😡😡")
    assert n.key == "dont ever say that ok"


# --- what must not change ------------------------------------------------------------------------


def test_urls_are_preserved_in_text_and_kept_whole_in_the_key() -> None:
    text = "Proof: https://www.Example.com/a.b.c/Vid?id=X1y2&t=3 and www.test.org/path."
    n = normalise(text)
    assert n.text == text
    assert n.key == "proof example.com/a.b.c/vid?id=x1y2&t=3 and test.org/path"
    assert "leet" not in n.flags and "spacing" not in n.flags


def test_lookalikes_inside_a_url_are_not_folded() -> None:
    n = normalise("log in at https://аpple.com/login now")  # Cyrillic а: a different host
    assert "https://аpple.com/login" in n.text


def test_emoji_are_kept_in_text() -> None:
    text = "Love this 😂🔥 ❤️ 👩‍💻 👍🏽 1️⃣ 🇫🇷 🏴󠁧󠁢󠁳󠁣󠁴󠁿"
    n = normalise(text)
    assert n.text == text  # including ZWJ sequences, skin tones, keycaps and tag flags
    assert "zero_width" not in n.flags
    assert n.key == "love this 1"


@pytest.mark.parametrize(
    "text",
    [
        "我们明天一起去投票吧",
        "今日は選挙の日です、投票に行きましょう",
        "오늘은 선거일입니다 투표하세요",
        "مرحبا بكم في الانتخابات",
        "می‌خواهم رأی بدهم",  # Persian, with a meaningful zero-width non-joiner
        "आज मतदान का दिन है",
        "วันนี้เป็นวันเลือกตั้ง",
        "שלום עולם",
    ],
)
def test_non_latin_scripts_are_not_mangled(text: str) -> None:
    n = normalise(text)
    assert n.text == text
    assert n.flags == frozenset()
    # the key keeps every letter: only punctuation, joiners and optional vowel marks may go
    assert sum(c.isalpha() for c in n.key) == sum(c.isalpha() for c in text)


def test_indic_vowel_signs_survive_in_the_key() -> None:
    assert normalise("आज मतदान का दिन है").key == "आज मतदान का दिन है"


def test_arabic_vowel_marks_and_tatweel_are_stripped_from_the_key() -> None:
    assert normalise("كـــتَبَ").key == normalise("كتب").key


def test_empty_and_blank_texts() -> None:
    for blank in ("", "   ", "\u200b\u200b", "\n\t"):
        n = normalise(blank)
        assert (n.text, n.key) == ("", "")
    assert normalise("").flags == frozenset()


def test_original_is_kept_and_flags_come_from_the_documented_set() -> None:
    raw = "1d10t  h.a.t.e  thеm\u200b ʜᴀᴛᴇ ḧäẗë!!! \u202ereversed"
    n = normalise(raw)
    assert n.original == raw
    assert n.flags <= FLAGS
    assert n.flags == FLAGS - {"repeat"}


@pytest.mark.parametrize(
    "raw",
    ["Y0u h.a.t.e thеm\u200b!!", "Café 😂 https://x.org/A.B", "I'm a teacher in 2020", "ⓗⓐⓣⓔ"],
)
def test_normalising_text_again_changes_nothing(raw: str) -> None:
    once = normalise(raw)
    assert normalise(once.text).text == once.text
    assert normalise(once.text).key == once.key
