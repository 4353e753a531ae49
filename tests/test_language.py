"""Language identification (tidebreak.text.language) and what follows from it: text the harm model
does not cover is not scored as English, gets a `language_not_covered` signal, and the default
policy sends it to human review."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tidebreak.model import CATEGORIES, ROUTING_CATEGORIES, ActionType, Context, ContentKind, Signal
from tidebreak.policy import load_default_policy, parse_policy
from tidebreak.text import language
from tidebreak.text.language import UNDETERMINED, LanguageGuess, covered, detect_language

ENGLISH = [
    "you are trash",
    "lol",
    "I will find you and kill you",
    "Honestly the refs were awful tonight, we deserved that win.",
    "RT @mayasolovely: As a woman you shouldn't complain about cleaning up your house. &amp; as a "
    "man you should always take the trash out...",
    "U keepin dat shiet real in da field",
    "BREAKING: MCCABE SEEKS IMMUNITY FOR TESTIMONY AGAINST CLINTON",
    "Muslims are vermin and should be driven out of this country. " * 20,
    "Muslіms аre vermin and should be driven out.",  # Cyrillic і, а folded back by normalise
]

NOT_ENGLISH = [
    ("es", "Todos los inmigrantes son unos delincuentes y deberían largarse de nuestro país."),
    ("es", "Ojalá se mueran todos esos maricones de mierda."),
    ("de", "Geh zurück in dein Land, du dreckiger Kanake!"),
    ("de", "Wir werden euch alle finden und umbringen."),
    ("fr", "Les musulmans n'ont rien à faire en France, dehors !"),
    ("pt", "Vou te encontrar e te matar, seu desgraçado."),
    ("ar", "سأجدك وأقتلك يا حقير"),
    ("hi", "मैं तुम्हें ढूंढकर मार दूंगा।"),
    ("ru", "Я тебя найду и убью, урод."),
    ("zh", "你们这些垃圾都该死"),
    ("tr", "Bu göçmenlerin hepsi suçlu, ülkemizden defolup gitsinler."),
]


def lang(text: str) -> LanguageGuess:
    from tidebreak.text.normalise import normalise

    return detect_language(normalise(text).text)  # what the harm detector reads


# ------------------------------------------------------------------ detect_language

@pytest.mark.parametrize("text", ENGLISH)
def test_english_short_and_long_is_covered(text: str) -> None:
    g = lang(text)
    assert covered(g), (text, g)
    assert g.code in ("en", UNDETERMINED)


def test_long_english_is_reliably_english() -> None:
    g = lang("Can anyone recommend a good plumber in the north end? Our sink has been leaking.")
    assert g.code == "en" and g.reliable and g.confidence >= 0.99


def test_english_function_words_settle_english_without_the_identifier(
        monkeypatch: pytest.MonkeyPatch) -> None:
    post = "I think you should read the report before they vote on this"
    assert detect_language(post) is language.ENGLISH_BY_MARKERS
    # German and Dutch share "was", "will", "die", "for" with English: not markers, so the
    # identifier still decides these
    assert detect_language("Was die Leute sagen, will ich nicht hören, das ist mir egal.").code == "de"
    assert detect_language("Ik weet niet wat ik moet doen met al die mensen hier.").code == "nl"
    # the identifier is not asked at all for a marked English post
    monkeypatch.setattr(language, "_IDENTIFIER", object())  # would fail if called
    assert detect_language(post).code == "en"


@pytest.mark.parametrize("code, text", NOT_ENGLISH)
def test_other_languages_are_not_covered(code: str, text: str) -> None:
    g = lang(text)
    assert g.code == code and g.reliable and not covered(g), (text, g)
    assert language.MIN_CONFIDENCE <= g.confidence <= 1.0
    assert covered(g, ("en", code))  # a model that lists the language covers it


@pytest.mark.parametrize("text", [
    "", "   ", "🔥🔥🔥", "🤬🤬🤬🤬🤬🤬🤬🤬🤬🤬🤬🤬🤬🤬🤬", "12345 678 90", "https://example.com/a/b?c=d",
    "@someone @someone_else #hashtag #another", "ok", "Qué asco",  # too short to tell
    "!!!???...", "\u200b\u200b\u200b", "x" * 10,
])
def test_too_little_text_is_undetermined_and_covered(text: str) -> None:
    g = detect_language(text)
    assert g == LanguageGuess(UNDETERMINED, 0.0, False)
    assert covered(g)


def test_links_handles_and_hashtags_do_not_make_english() -> None:
    g = detect_language("@elonmusk #freedom https://t.co/abc Todos los inmigrantes son unos "
                        "delincuentes y deberían largarse de nuestro país.")
    assert g.code == "es" and not covered(g)


def test_a_short_non_latin_text_is_reliable_whatever_its_length() -> None:
    for text in ("你好", "Привет", "مرحبا بكم"):
        g = detect_language(text)
        assert g.reliable and not covered(g), (text, g)


SAMPLES = ("hello there my friend, how are you doing today", "bonjour mes amis, comment allez-vous",
           "ich bin müde und das Wetter ist schlecht", "Здравствуйте, как у вас дела сегодня")


def test_the_identifier_is_decompressed_once_and_then_read_from_the_cache(tmp_path: Path) -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    packaged = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    first = language.load_identifier(tmp_path)  # decompresses and writes the cache
    cached = list(tmp_path.glob("langid-*.npz"))
    assert len(cached) == 1 and not list(tmp_path.glob("*.tmp"))
    stamp = cached[0].stat().st_mtime_ns
    second = language.load_identifier(tmp_path)  # reads it
    assert cached[0].stat().st_mtime_ns == stamp
    for text in SAMPLES:
        assert first.classify(text) == second.classify(text) == packaged.classify(text)


def test_a_damaged_or_unwritable_cache_falls_back_to_the_packaged_model(tmp_path: Path) -> None:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    packaged = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    language.load_identifier(tmp_path)
    cached = next(tmp_path.glob("langid-*.npz"))
    cached.write_bytes(b"not an npz at all")
    blocked = tmp_path / "a-file-not-a-directory"
    blocked.write_text("x")
    for ident in (language.load_identifier(tmp_path), language.load_identifier(blocked)):
        assert [ident.classify(t) for t in SAMPLES] == [packaged.classify(t) for t in SAMPLES]
    # the damaged file was dropped, and the next load writes a good one again
    language.load_identifier(tmp_path)
    assert next(tmp_path.glob("langid-*.npz")).stat().st_size > 1_000_000


def test_the_cache_lives_where_the_operator_says(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIDEBREAK_CACHE_DIR", str(tmp_path / "tb"))
    assert language.cache_dir() == tmp_path / "tb"
    monkeypatch.delenv("TIDEBREAK_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert language.cache_dir() == tmp_path / "xdg" / "tidebreak"


@pytest.mark.parametrize("junk", [
    None, 42, b"\xff\xfe\x00binary", bytes(range(256)), bytes(range(256)).decode("latin-1"),
    "\x00\x01\x02\ufffd" * 50, "\ud800 lone surrogate in some english words here", "🔥" * 5000,
    "a" * 100_000, "Привет мир hello 你好 مرحبا שלום Γειά σου", "\u202eevil bidi text here ok",
    "Z̸̢̛̛a̶l̷g̴o̵ ̸t̷e̴x̵t̶ ̸i̵s̶ ̷h̴e̵r̶e̸ ̵a̶n̷d̴ ̵h̵e̷r̴e",
])
def test_hostile_input_never_crashes(junk: object) -> None:
    g = detect_language(junk)
    assert isinstance(g, LanguageGuess) and 0.0 <= g.confidence <= 1.0
    assert isinstance(g.code, str) and g.code


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_a_guess(text: str) -> None:
    g = detect_language(text)
    assert 0.0 <= g.confidence <= 1.0
    assert g.code == UNDETERMINED or g.confidence > 0.0


def test_mixed_script_follows_the_majority() -> None:
    # English with a few foreign words stays English; mostly Cyrillic is not covered.
    assert covered(detect_language("I went to Moscow and everyone said привет to me all day long"))
    assert not covered(detect_language("Привет всем, сегодня мы идём в кино, hello"))


def test_look_alike_letters() -> None:
    # English with Cyrillic look-alikes is folded back to Latin by normalise: English, scored.
    g = lang("Аll іmmіgrаnts аrе сrіmіnаls аnd shоuld bе kіckеd оut")
    assert g.code == "en" and covered(g)
    # Written wholly in look-alikes it stays Cyrillic (it could be Russian): not covered, so a
    # person looks; never scored as if it were English, nor waved through.
    assert not covered(lang("ѕсоре асе еуе рорс сосоа ѕоар"))


def test_only_the_start_of_a_long_text_is_read() -> None:
    import time

    text = "Todos los inmigrantes son unos delincuentes. " * 5000
    t0 = time.perf_counter()
    g = detect_language(text)
    assert g.code == "es"
    assert time.perf_counter() - t0 < 0.5


# ------------------------------------------------------------------ policy

POLICY = load_default_policy()


def decide(*signals: Signal, surface: str = "post"):  # type: ignore[no-untyped-def]
    out = POLICY.evaluate(list(signals), Context(surface=ContentKind(surface)))
    return out.hits


def not_covered(code: str = "es", conf: float = 0.999) -> Signal:
    return Signal("harm", "language_not_covered", conf,
                  {"language": code, "language_confidence": conf, "not_covered": True})


@pytest.mark.parametrize("surface", ["post", "comment", "ad"])
def test_default_policy_sends_uncovered_language_to_review(surface: str) -> None:
    (hit,) = decide(not_covered(), surface=surface)
    assert hit.rule_id == "language-not-covered-review" and hit.category == "language_not_covered"
    (action,) = hit.actions
    assert action.type is ActionType.REVIEW and action.queue == "general"


def test_covered_text_is_not_routed() -> None:
    assert decide(Signal("harm", "hate", 0.1, {"language": "en"})) == ()


def test_routing_categories_are_known_and_cannot_restrict() -> None:
    assert ROUTING_CATEGORIES <= set(CATEGORIES)
    for action in ("remove", "{reduce: 0.3}", '{label: "x"}', "warn"):
        with pytest.raises(Exception, match="only routes items"):
            parse_policy(f"""
policy: t
version: "1"
rules:
  - id: lang
    category: language_not_covered
    severity: low
    description: no
    when: has("language_not_covered")
    actions: [{action}]
    ground: "CS 8.2 x"
    notice: "Not allowed."
""")


# ------------------------------------------------------------------ end to end

runner = CliRunner()


def test_classify_cli_marks_uncovered_text(tmp_path: Path) -> None:
    from tidebreak.cli import app

    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in [
        {"id": "en", "text": "I will find you and kill you"},
        {"id": "es", "text": NOT_ENGLISH[0][1]},
        {"id": "short", "text": "lol"},
    ]) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["classify", "-i", str(src)])
    assert r.exit_code == 0, r.output
    out = {x["id"]: x for x in map(json.loads, r.stdout.splitlines())}
    assert out["en"]["not_covered"] is False and out["en"]["language"] == "en"
    assert "violence" in out["en"]["labels"]
    assert out["es"]["not_covered"] is True and out["es"]["language"] == "es"
    assert out["es"]["labels"] == [] and set(out["es"]["scores"]) >= {"hate", "violence"}
    assert out["short"]["not_covered"] is False and out["short"]["language"] == UNDETERMINED


def test_moderate_routes_uncovered_language_to_the_general_review_queue(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tidebreak.cli import app
    from tidebreak.store.db import open_store
    from tidebreak.store.schema import ReviewTaskRow

    monkeypatch.setenv("TIDEBREAK_DETECTORS", "harm")
    monkeypatch.delenv("TIDEBREAK_DATABASE_URL", raising=False)
    db = f"sqlite:///{tmp_path}/t.db"
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(json.dumps(x) for x in [
        {"id": "de", "text": NOT_ENGLISH[3][1]},
        {"id": "en", "text": "see you at the market on saturday, bring the kids"},
        {"id": "en-short", "text": "you are trash"},
    ]) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["moderate", "-i", str(src), "--db", db])
    assert r.exit_code == 0, r.output
    out = {x["id"]: x for x in map(json.loads, r.stdout.splitlines())}
    assert out["de"]["action"] == "review"
    # a routing, not a finding: the category is the review's, not a violation found
    assert out["de"]["categories"] == [] and out["de"]["outcome"] == "routing"
    assert out["de"]["review_categories"] == ["language_not_covered"]
    assert out["de"]["rules"] == ["language-not-covered-review"]
    assert out["en"]["action"] == "none"
    assert "language-not-covered-review" not in out["en-short"]["rules"]
    with Session(open_store(db)) as s:
        tasks = s.execute(select(ReviewTaskRow.content_id, ReviewTaskRow.queue)).all()
    assert ("de", "general") in tasks
    assert not any(cid.startswith("en") for cid, _ in tasks if _ == "general")
