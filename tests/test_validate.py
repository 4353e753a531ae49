"""Boundary validation: hostile or broken text is refused with a one-line reason, and ordinary
text in any language is accepted."""

from __future__ import annotations

import pytest

from tidebreak.text import TextRejected, check_text, decode_utf8


@pytest.mark.parametrize(
    "text",
    [
        "",  # an image post with no caption
        "Hello world! 👋 Привет, мир! 你好，世界！ مرحبا بالعالم 🌍 שלום नमस्ते",
        "こんにちは 안녕하세요 Γειά σου Κόσμε ¡Hola, señor! Grüße 😀",
        "Family: 👨‍👩‍👧‍👦, flags: 🇺🇦 🏴󠁧󠁢󠁳󠁣󠁴󠁿, skin tones: 👍🏿, keycap: 1️⃣",
        "Tiếng Việt có dấu: người, những, thương",
        "می‌خواهم",  # Persian with a zero-width non-joiner
        "Z" + "\u0301" * 8,  # eight stacked marks: the most allowed
        "\u200b" * 20,  # short: invisible-heavy but under the length where the share counts
        "Line one\nLine two\tTabbed\r\n",
    ],
)
def test_ordinary_text_passes(text: str) -> None:
    check_text(text)  # raises TextRejected otherwise


def test_a_text_exactly_at_the_byte_limit_passes() -> None:
    check_text("é" * 50, max_bytes=100)
    check_text("a" * 65536)


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (None, "text must be a string, not NoneType"),
        (b"bytes", "text must be a string, not bytes"),
        (42, "text must be a string, not int"),
    ],
)
def test_non_strings_are_rejected(value: object, reason: str) -> None:
    with pytest.raises(TextRejected) as err:
        check_text(value)  # type: ignore[arg-type]
    assert err.value.reason == reason


def test_oversized_text_is_rejected_by_utf8_size_not_length() -> None:
    with pytest.raises(TextRejected, match="over the limit of 65536 bytes"):
        check_text("a" * 65537)
    # 60 characters but 120 bytes
    with pytest.raises(TextRejected) as err:
        check_text("é" * 60, max_bytes=100)
    assert err.value.reason == "text is 120 bytes, over the limit of 100"


def test_lone_surrogates_are_rejected() -> None:
    with pytest.raises(TextRejected) as err:
        check_text("abc\ud83d")  # half of an emoji, as broken JSON decoders produce
    assert err.value.reason == "lone surrogate U+D83D at position 3"


def test_nul_is_rejected() -> None:
    with pytest.raises(TextRejected, match="NUL character at position 5"):
        check_text("hello\x00world")


@pytest.mark.parametrize(("char", "name"), [("\ufdd0", "U+FDD0"), ("\ufffe", "U+FFFE"),
                                             ("\U0001ffff", "U+1FFFF"), ("\U0010fffe", "U+10FFFE")])
def test_noncharacters_are_rejected(char: str, name: str) -> None:
    with pytest.raises(TextRejected) as err:
        check_text(f"ok{char}")
    assert err.value.reason == f"Unicode noncharacter {name} at position 2"


def test_zalgo_is_rejected() -> None:
    zalgo = "H" + "\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308" + "ello"
    with pytest.raises(TextRejected) as err:
        check_text(zalgo)
    assert err.value.reason == "9 combining marks on one character at position 0 (at most 8)"


def test_text_mostly_made_of_invisible_characters_is_rejected() -> None:
    stuffed = "\u200b".join("spam spam") + "\u2060" * 20
    with pytest.raises(TextRejected, match="mostly invisible characters"):
        check_text(stuffed)
    check_text("\u200b".join("a normal sentence"))  # under half invisible: normalise's job


def test_rejection_is_a_value_error_with_a_one_line_reason() -> None:
    with pytest.raises(ValueError) as err:
        check_text("\x00")
    assert isinstance(err.value, TextRejected)
    assert "\n" not in str(err.value) and str(err.value) == err.value.reason


def test_decode_utf8_accepts_valid_bytes() -> None:
    assert decode_utf8("Grüße 👋".encode()) == "Grüße 👋"
    assert decode_utf8(bytearray(b"plain")) == "plain"
    assert decode_utf8(b"") == ""


@pytest.mark.parametrize(
    ("data", "at"),
    [
        (b"ok \xff", 3),  # never valid in UTF-8
        (b"caf\xc3", 3),  # truncated sequence
        (b"\xc0\xaf", 0),  # overlong encoding of '/'
        (b"ab\xed\xa0\x80", 2),  # encoded surrogate (CESU-8)
    ],
)
def test_decode_utf8_rejects_invalid_bytes_with_the_offset(data: bytes, at: int) -> None:
    with pytest.raises(TextRejected) as err:
        decode_utf8(data)
    assert err.value.reason == f"invalid UTF-8 at byte {at}"


def test_decode_utf8_rejects_non_bytes() -> None:
    with pytest.raises(TextRejected, match="expected bytes, not str"):
        decode_utf8("already text")  # type: ignore[arg-type]
