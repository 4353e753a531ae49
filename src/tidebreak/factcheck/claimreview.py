"""Fact-checks: the `FactCheck` record, ClaimReview JSON-LD import/export, rating normalisation.

Input forms (`parse_record`, `load_factchecks`, `iter_factchecks`):

- schema.org ClaimReview JSON-LD as fact-checkers publish it: one object, a list of objects, or a
  document with `@graph`; objects whose `@type` is not ClaimReview are skipped.
- A simple flat form, one JSON object per line or one CSV row:
  `{"id", "text", "rating", "url", "publisher", "publisher_url", "date", "language",
  "appearances", "topics", "title", "rating_value", "best_rating", "worst_rating"}`.
  Only `text` is required (`id` is derived from the text when missing), so the claims input of
  `tidebreak factcheck match` (`{"id", "text", ...}`) loads as fact-checks with rating "unrated".

Ratings normalise to one of `RATINGS` (false, misleading, missing_context, true, unrated); the
original textual rating and the numeric scale are always kept. The rules, in order:

1. the textual rating (`alternateName`, else `name`) looked up in `RATING_TABLE` (PolitiFact's
   Truth-O-Meter incl. "Pants on Fire", Snopes, AFP/Reuters/AP/USA Today words, Full Fact's
   "Incorrect"/"Correct", and common Spanish, French, German, Portuguese and Italian words),
   case- and punctuation-insensitively, first on the whole text and then on its first sentence;
2. else free text ("Incorrect. You don't need your poll card to vote.", "There's no evidence
   that ...") by the ordered keyword patterns in `_TEXT_PATTERNS` (negated forms such as "not
   true" are checked before "true");
3. else a numeric `ratingValue` placed on its explicit `worstRating`..`bestRating` scale
   (schema.org: best is most true; inverted scales work): position p = (value - worst) /
   (best - worst), p < 0.125 -> false, < 0.375 -> misleading, < 0.625 -> missing_context, else
   true. A value without BOTH bounds is not guessed at (schema.org's 1..5 default is not what
   fact-checkers use: PolitiFact uses 1..6, Full Fact -2..2), nor is a value outside its bounds;
4. anything else is "unrated", with `rating_note` saying why and the original rating kept, so
   nothing is lost and an unknown scale never turns into a "false" label.

Topics: a record's own `topics` (flat form) or `keywords` mentioning voting is used when given.
Otherwise `derive_topics` adds "voting" when the claim names the act of voting (vote, ballot,
polls, polling place, absentee, mail-in, drop box, voter registration, precinct, election day,
...) AND a procedural cue - when (a weekday, a date, "deadline", "extended", "day"), where
("polling place", "location", "moved", "closed"), how ("by text", "online", "by phone", "mail",
"pencil", "ID", "sign"), or who ("citizens", "felon", "eligible", "register", "allowed", "can't").
So "You can vote by text" is about voting procedure; "the election was stolen" is not.

Non-English claims are kept as they are, with their `language` (from `inLanguage`, a string or a
Language object); the rating table knows the common words of a few languages, and unknown
words give "unrated" as above. Matching is lexical for every script (see `index.py`); the dense
encoder is English-trained, so matching across languages is weak and is not claimed.

Duplicates: `dedupe` keeps the first record of each claim id and reports every later one
(`Duplicate`), saying whether it was identical or conflicting; nothing is dropped silently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from tidebreak.errors import BadInput

RATINGS = ("false", "misleading", "missing_context", "true", "unrated")


class FactCheckError(BadInput):
    """A fact-check record that cannot be used. The message is one line."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True, slots=True)
class FactCheck:
    claim_id: str
    claim: str
    rating: str = "unrated"  # one of RATINGS
    original_rating: str | None = None  # the fact-checker's own words ("Pants on Fire")
    rating_value: float | None = None
    best_rating: float | None = None
    worst_rating: float | None = None
    rating_note: str | None = None  # why the rating is what it is when it is "unrated"
    publisher: str | None = None  # the fact-checker
    publisher_url: str | None = None
    url: str | None = None  # the fact-check article (review URL)
    date: str | None = None  # datePublished of the review, as given (ISO 8601)
    language: str | None = None  # BCP 47 code where known ("en", "es")
    appearances: tuple[str, ...] = ()  # URLs where the claim appeared
    topics: frozenset[str] = frozenset()
    title: str | None = None  # headline of the review, an extra text field for matching
    claim_author: str | None = None
    claim_date: str | None = None
    body: str | None = None  # reviewBody
    extra: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The flat form (round-trips through `parse_record`)."""
        d: dict[str, Any] = {
            "id": self.claim_id,
            "text": self.claim,
            "rating": self.rating,
            "original_rating": self.original_rating,
            "rating_value": self.rating_value,
            "best_rating": self.best_rating,
            "worst_rating": self.worst_rating,
            "rating_note": self.rating_note,
            "publisher": self.publisher,
            "publisher_url": self.publisher_url,
            "url": self.url,
            "date": self.date,
            "language": self.language,
            "appearances": list(self.appearances),
            "topics": sorted(self.topics),
            "title": self.title,
            "claim_author": self.claim_author,
            "claim_date": self.claim_date,
            "body": self.body,
        }
        return {k: v for k, v in d.items() if v not in (None, [], "")}


def from_dict(d: Mapping[str, Any]) -> FactCheck:
    """Exact inverse of `FactCheck.to_dict` (used by saved indexes; no re-normalisation)."""
    rating = d.get("rating", "unrated")
    if rating not in RATINGS:
        raise FactCheckError(f"claim {d.get('id')!r}: rating {rating!r} is not one of {RATINGS}")
    return FactCheck(
        claim_id=str(d["id"]),
        claim=d["text"],
        rating=rating,
        original_rating=d.get("original_rating"),
        rating_value=d.get("rating_value"),
        best_rating=d.get("best_rating"),
        worst_rating=d.get("worst_rating"),
        rating_note=d.get("rating_note"),
        publisher=d.get("publisher"),
        publisher_url=d.get("publisher_url"),
        url=d.get("url"),
        date=d.get("date"),
        language=d.get("language"),
        appearances=tuple(d.get("appearances", ())),
        topics=frozenset(d.get("topics", ())),
        title=d.get("title"),
        claim_author=d.get("claim_author"),
        claim_date=d.get("claim_date"),
        body=d.get("body"),
    )


# ------------------------------------------------------------------------------ ratings

def _key(s: str) -> str:
    s = s.lower().replace("’", "'").replace("_", " ").replace("-", " ")
    s = re.sub(r"[^\w' ]+", " ", s)
    return " ".join(s.split())


_TABLE_SRC: dict[str, tuple[str, ...]] = {
    "false": (
        # PolitiFact / Snopes / AFP / Reuters / AP / USA Today / Lead Stories
        "false", "pants on fire", "pants on fire!", "fake", "fake news", "hoax", "not true",
        "untrue", "fabricated", "fabricated content", "altered", "altered photo", "altered video",
        "altered image", "doctored", "manipulated", "manipulated media", "scam", "misattributed",
        "incorrect", "wrong", "baseless", "no evidence", "unfounded", "four pinocchios",
        "legend", "debunked", "totally false", "mostly fake",
        # es / pt / fr / de / it
        "falso", "bulo", "fake", "mentira", "engaño", "enganoso total", "faux", "infox", "intox",
        "falsch", "frei erfunden", "fälschung", "falsa", "inventato",
    ),
    "misleading": (
        "misleading", "mostly false", "partly false", "partially false", "mixture", "mixed",
        "exaggerated", "exaggeration", "distorts the facts", "distorted", "three pinocchios",
        "miscaptioned", "inaccurate", "unsupported", "unproven claim", "spins the facts",
        "cherry picks", "cherry picked", "half false",
        "engañoso", "enganoso", "trompeur", "trompeuse", "en partie faux", "partiellement faux",
        "irreführend", "teilweise falsch", "unbelegt", "fuorviante", "impreciso", "exagerado",
        "distorsionado",
    ),
    "missing_context": (
        "missing context", "needs context", "lacks context", "out of context", "half true",
        "half truth", "context", "outdated", "two pinocchios", "cherry picking",
        "sin contexto", "falta contexto", "fuera de contexto", "descontextualizado",
        "contexte manquant", "hors contexte", "fehlender kontext", "aus dem kontext gerissen",
        "fuori contesto", "sem contexto", "fora de contexto",
    ),
    "true": (
        "true", "mostly true", "correct", "accurate", "correct attribution", "one pinocchio",
        "verdadero", "cierto", "verdadeiro", "vrai", "wahr", "richtig", "vero", "correcto",
    ),
    "unrated": (
        "unproven", "unverified", "unverifiable", "research in progress", "satire",
        "labeled satire", "labelled satire", "full flop", "half flip", "no flip", "opinion",
        "no rating", "not rated",
    ),
}
RATING_TABLE: dict[str, str] = {
    _key(word): rating for rating, words in _TABLE_SRC.items() for word in words
}

# Ordered: first match wins. Applied to free text that the table does not know.
_TEXT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(p, re.IGNORECASE), r)
    for p, r in (
        (r"\bpants on fire\b", "false"),
        (r"\b(mostly|partly|partially) false\b", "misleading"),
        (r"\bhalf[- ]true\b", "missing_context"),
        (r"\b(missing|needs|lacks|without|out of) context\b", "missing_context"),
        (r"\bmislead", "misleading"),
        (r"\b(exaggerat|distort|inaccura|unsupported)", "misleading"),
        (r"\b(not|isn't|is not|wasn't|aren't) (true|correct|accurate)\b", "false"),
        (r"^\s*(incorrect|false|wrong|untrue|fake|hoax|no)\b", "false"),
        (r"\b(no evidence|baseless|unfounded|fabricated|doctored|altered|hoax|debunked)\b", "false"),
        (r"\bfalse\b", "false"),
        (r"\bincorrect\b", "false"),
        (r"^\s*(mostly true|true|correct|accurate)\b", "true"),
    )
)


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return None


def normalise_rating(
    text: str | None,
    value: Any = None,
    best: Any = None,
    worst: Any = None,
) -> tuple[str, str | None]:
    """(rating in RATINGS, note). The note says why a rating is "unrated" (else None)."""
    if text is not None and str(text).strip():
        t = str(text).strip()
        k = _key(t)
        if k in RATING_TABLE:
            return RATING_TABLE[k], None
        first = _key(re.split(r"(?<=[.!?;:])\s", t, maxsplit=1)[0])
        if first in RATING_TABLE:
            return RATING_TABLE[first], None
        for pat, rating in _TEXT_PATTERNS:
            if pat.search(t):
                return rating, None
    v, b, w = _num(value), _num(best), _num(worst)
    if v is not None:
        if b is None or w is None:
            return "unrated", (
                f"numeric rating {v:g} without both bestRating and worstRating: scale unknown"
            )
        if b == w or not (min(b, w) <= v <= max(b, w)):
            return "unrated", f"numeric rating {v:g} does not fit the scale {w:g}..{b:g}"
        p = (v - w) / (b - w)
        if p < 0.125:
            return "false", None
        if p < 0.375:
            return "misleading", None
        if p < 0.625:
            return "missing_context", None
        return "true", None
    if text is not None and str(text).strip():
        return "unrated", f"unknown textual rating {str(text).strip()!r}"
    return "unrated", "no rating given"


# ------------------------------------------------------------------------------ topics

_VOTE_ACT = re.compile(
    r"\b(vote[sd]?|voting|voters?|ballots?|polls?|polling|absentee|mail[- ]in|postal vot\w*|"
    r"drop ?box(es)?|precincts?|voter registration|register(ed)? to vote|election day|"
    r"poll cards?|electoral roll|votar|voto|elecciones|w\u00e4hlen|wahllokal|briefwahl|"
    r"stimmzettel|scrutin|bureau de vote)\b",
    re.IGNORECASE,
)
_VOTE_PROCEDURE = re.compile(
    r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday|tomorrow|deadlines?|extended|"
    r"postponed|moved|closed|cancel\w*|days?|dates?|hours?|by (text|sms|phone|mail|post|email|"
    r"internet)|text(ing)?|sms|online|apps?|phones?|twitter|facebook|hashtags?|pencils?|pens?|"
    r"sharpies?|ink|tick|mark(ed)?|sign(ature)?s?|ids?|identification|licen[cs]es?|passports?|"
    r"poll cards?|mailbox\w*|citizen\w*|non-?citizen\w*|immigra\w*|undocumented|papers|"
    r"felon\w*|convict\w*|eligib\w*|allowed|able|can(not|'t)?|won't|must|need|only|never|"
    r"registration|age|18|primary|police|ice|agents?|armed|guard\w*|stationed|"
    r"arrest\w*|fine[sd]?|warrants?|intimidat\w*|locations?|places?|stations?|where|when|how|"
    r"who|thrown out|rejected|destroyed|twice|every race|in person|early|whatsapp|internet|"
    r"bleistift|dni|darf|peut|puede|casa|maison)\b",
    re.IGNORECASE,
)


def derive_topics(claim: str) -> frozenset[str]:
    """{"voting"} for a claim about when, where, how or who may vote (see the module doc)."""
    if _VOTE_ACT.search(claim) and _VOTE_PROCEDURE.search(claim):
        return frozenset({"voting"})
    return frozenset()


# ------------------------------------------------------------------------------ parsing

def _text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, dict):
        v = v.get("name") or v.get("@value") or v.get("text")
    if isinstance(v, list):
        v = next((_text(x) for x in v if _text(x)), None)
    if v is None:
        return None
    s = " ".join(str(v).split())
    return s or None


def _language(v: Any) -> str | None:
    if isinstance(v, dict):
        v = v.get("alternateName") or v.get("name")
    if isinstance(v, list):
        v = v[0] if v else None
    if v is None:
        return None
    s = str(v).strip()
    names = {"english": "en", "spanish": "es", "español": "es", "french": "fr",
             "français": "fr", "german": "de", "deutsch": "de", "portuguese": "pt",
             "português": "pt", "italian": "it", "italiano": "it"}
    return names.get(s.lower(), s.lower() if len(s) <= 8 else s) or None


def _urls(v: Any) -> tuple[str, ...]:
    out: list[str] = []

    def walk(x: Any) -> None:
        if x is None:
            return
        if isinstance(x, str):
            out.extend(u for u in re.split(r"[\s|,]+", x) if u)
        elif isinstance(x, dict):
            walk(x.get("url") or x.get("@id"))
        elif isinstance(x, (list, tuple)):
            for y in x:
                walk(y)

    walk(v)
    return tuple(dict.fromkeys(out))


def _types(obj: Mapping[str, Any]) -> set[str]:
    t = obj.get("@type", obj.get("type"))
    ts = t if isinstance(t, list) else [t]
    return {str(x).rsplit("/", 1)[-1].rsplit(":", 1)[-1] for x in ts if x}


def _derived_id(claim: str, url: str | None) -> str:
    return "fc-" + hashlib.sha1(f"{url or ''}\n{claim}".encode()).hexdigest()[:12]


def _topics(explicit: Any, keywords: Any, claim: str) -> frozenset[str]:
    if explicit:
        items = explicit if isinstance(explicit, (list, tuple, set)) else re.split(r"[,;|]", str(explicit))
        return frozenset(str(x).strip().lower() for x in items if str(x).strip())
    if keywords:
        kws = keywords if isinstance(keywords, list) else re.split(r"[,;|]", str(keywords))
        if any(re.search(r"\bvot(e|ing|er)", str(k), re.IGNORECASE) for k in kws):
            return frozenset({"voting"})
    return derive_topics(claim)


def from_claimreview(obj: Mapping[str, Any]) -> FactCheck:
    """One ClaimReview object -> FactCheck. Raises FactCheckError if it has no claim text."""
    claim = _text(obj.get("claimReviewed"))
    item = obj.get("itemReviewed") or {}
    if isinstance(item, list):
        item = item[0] if item else {}
    if not claim and isinstance(item, dict):
        claim = _text(item.get("text") or item.get("name"))
    url = _text(obj.get("url"))
    ident = _text(obj.get("identifier")) or _text(obj.get("@id"))
    if not claim:
        where = ident or url or "record"
        raise FactCheckError(f"ClaimReview {where} has no claimReviewed text")
    rr = obj.get("reviewRating") or {}
    if isinstance(rr, list):
        rr = rr[0] if rr else {}
    if not isinstance(rr, dict):
        rr = {"alternateName": rr}
    original = _text(rr.get("alternateName")) or _text(rr.get("name"))
    rating, note = normalise_rating(
        original, rr.get("ratingValue"), rr.get("bestRating"), rr.get("worstRating")
    )
    author = obj.get("author") or {}
    if isinstance(author, list):
        author = author[0] if author else {}
    if isinstance(author, str):
        author = {"name": author}
    item_author = item.get("author") if isinstance(item, dict) else None
    appearances = _urls(item.get("appearance") if isinstance(item, dict) else None)
    if isinstance(item, dict):
        appearances += tuple(u for u in _urls(item.get("firstAppearance")) if u not in appearances)
    return FactCheck(
        claim_id=ident or _derived_id(claim, url),
        claim=claim,
        rating=rating,
        original_rating=original,
        rating_value=_num(rr.get("ratingValue")),
        best_rating=_num(rr.get("bestRating")),
        worst_rating=_num(rr.get("worstRating")),
        rating_note=note,
        publisher=_text(author.get("name")) if isinstance(author, dict) else None,
        publisher_url=_text(author.get("url")) if isinstance(author, dict) else None,
        url=url,
        date=_text(obj.get("datePublished")),
        language=_language(obj.get("inLanguage")),
        appearances=appearances,
        topics=_topics(obj.get("topics"), obj.get("keywords"), claim),
        title=_text(obj.get("headline")) or _text(obj.get("name")),
        claim_author=_text(item_author),
        claim_date=_text(item.get("datePublished")) if isinstance(item, dict) else None,
        body=_text(obj.get("reviewBody")),
    )


_FLAT_KEYS = {
    "id": ("id", "claim_id", "identifier"),
    "text": ("text", "claim", "claimReviewed", "claim_text"),
    "rating": ("original_rating", "textual_rating", "rating", "textualRating"),
    "url": ("url", "fact_check_url", "review_url"),
    "publisher": ("publisher", "fact_checker", "factchecker"),
}


def _first(rec: Mapping[str, Any], names: Iterable[str]) -> Any:
    for n in names:
        v = rec.get(n)
        if v not in (None, ""):
            return v
    return None


def from_flat(rec: Mapping[str, Any]) -> FactCheck:
    """The simple form `{"id", "text", "rating", "url", ...}` -> FactCheck."""
    claim = _text(_first(rec, _FLAT_KEYS["text"]))
    ident = _first(rec, _FLAT_KEYS["id"])
    if not claim:
        raise FactCheckError(
            f"claim {ident!r} has no text" if ident is not None else "claim record has no text"
        )
    url = _text(_first(rec, _FLAT_KEYS["url"]))
    original = _text(_first(rec, _FLAT_KEYS["rating"]))
    value, best, worst = rec.get("rating_value"), rec.get("best_rating"), rec.get("worst_rating")
    rating, note = normalise_rating(original, value, best, worst)
    if original is None and value is None:
        note = "no rating given"
    return FactCheck(
        claim_id=str(ident) if ident is not None else _derived_id(claim, url),
        claim=claim,
        rating=rating,
        original_rating=original,
        rating_value=_num(value),
        best_rating=_num(best),
        worst_rating=_num(worst),
        rating_note=note,
        publisher=_text(_first(rec, _FLAT_KEYS["publisher"])),
        publisher_url=_text(rec.get("publisher_url")),
        url=url,
        date=_text(rec.get("date") or rec.get("datePublished")),
        language=_language(rec.get("language") or rec.get("lang") or rec.get("inLanguage")),
        appearances=_urls(rec.get("appearances") or rec.get("appearance")),
        topics=_topics(rec.get("topics"), rec.get("keywords"), claim),
        title=_text(rec.get("title") or rec.get("headline")),
        claim_author=_text(rec.get("claim_author")),
        claim_date=_text(rec.get("claim_date")),
        body=_text(rec.get("body") or rec.get("reviewBody")),
    )


def parse_record(obj: Any) -> list[FactCheck]:
    """One parsed JSON value -> its fact-checks: a ClaimReview, a list, an `@graph` document,
    or the flat form. Raises FactCheckError for a record that cannot be used."""
    if isinstance(obj, list):
        out: list[FactCheck] = []
        for x in obj:
            out.extend(parse_record(x))
        return out
    if not isinstance(obj, dict):
        raise FactCheckError(f"expected a JSON object, got {type(obj).__name__}")
    if "@graph" in obj:
        graph = obj["@graph"]
        return parse_record([g for g in (graph if isinstance(graph, list) else [graph])
                             if isinstance(g, dict) and "ClaimReview" in _types(g)])
    if "ClaimReview" in _types(obj) or "claimReviewed" in obj:
        return [from_claimreview(obj)]
    if obj.get("@type") or obj.get("type"):
        if not any(k in obj for k in _FLAT_KEYS["text"]):
            return []  # some other schema.org object (WebPage, Organization, ...)
    return [from_flat(obj)]


def iter_factchecks(lines: Iterable[str]) -> Iterator[tuple[int, list[FactCheck] | FactCheckError]]:
    """JSON Lines -> (line number, fact-checks or the error for that line). Blank lines skip."""
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield n, FactCheckError(f"invalid JSON: {e.msg} at column {e.colno}")
            continue
        try:
            yield n, parse_record(obj)
        except FactCheckError as e:
            yield n, e


def _read_csv(text: str) -> Iterator[tuple[int, list[FactCheck] | FactCheckError]]:
    dialect = "excel-tab" if text.split("\n", 1)[0].count("\t") > text.split("\n", 1)[0].count(",") else "excel"
    for n, row in enumerate(csv.DictReader(io.StringIO(text), dialect=dialect), 2):
        rec = {k.strip(): v for k, v in row.items() if k}
        try:
            yield n, [from_flat(rec)]
        except FactCheckError as e:
            yield n, e


def read_factchecks(path: str | Path) -> Iterator[tuple[int, list[FactCheck] | FactCheckError]]:
    """A file (.jsonl/.ndjson, .json, .csv/.tsv) -> (line or row number, fact-checks or error)."""
    p = Path(path)
    text = p.read_text(encoding="utf-8-sig")
    suffix = p.suffix.lower()
    if suffix in (".csv", ".tsv"):
        yield from _read_csv(text)
    elif suffix == ".json" or (text.lstrip()[:1] == "[" ):
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            yield from iter_factchecks(text.splitlines())
            return
        if isinstance(obj, list):
            for i, x in enumerate(obj, 1):
                try:
                    yield i, parse_record(x)
                except FactCheckError as e:
                    yield i, e
        else:
            try:
                yield 1, parse_record(obj)
            except FactCheckError as e:
                yield 1, e
    else:
        yield from iter_factchecks(text.splitlines())


@dataclass(frozen=True, slots=True)
class Duplicate:
    claim_id: str
    kept: FactCheck
    dropped: FactCheck
    identical: bool

    def message(self) -> str:
        how = "identical copy" if self.identical else "conflicting record"
        return f"duplicate claim id {self.claim_id!r} ({how}); kept the first"


def dedupe(factchecks: Iterable[FactCheck]) -> tuple[list[FactCheck], list[Duplicate]]:
    """Keep the first fact-check of each claim id; report every later one."""
    seen: dict[str, FactCheck] = {}
    dups: list[Duplicate] = []
    for fc in factchecks:
        first = seen.get(fc.claim_id)
        if first is None:
            seen[fc.claim_id] = fc
        else:
            dups.append(Duplicate(fc.claim_id, first, fc, identical=(first == fc)))
    return list(seen.values()), dups


def load_factchecks(path: str | Path, *, strict: bool = True) -> list[FactCheck]:
    """Every fact-check in a file. strict: the first bad record or duplicate id raises
    FactCheckError naming its line; otherwise bad records and later duplicates are skipped
    (use `read_factchecks` and `dedupe` to see them)."""
    out: list[FactCheck] = []
    for n, res in read_factchecks(path):
        if isinstance(res, FactCheckError):
            if strict:
                raise FactCheckError(f"{path}: line {n}: {res}")
            continue
        out.extend(res)
    unique, dups = dedupe(out)
    if dups and strict:
        raise FactCheckError(f"{path}: {dups[0].message()}")
    return unique


# ------------------------------------------------------------------------------ export

def to_claimreview(fc: FactCheck) -> dict[str, Any]:
    """FactCheck -> schema.org ClaimReview JSON-LD (the original rating words and scale kept)."""
    rating: dict[str, Any] = {"@type": "Rating"}
    if fc.rating_value is not None:
        rating["ratingValue"] = _int_if_whole(fc.rating_value)
    if fc.best_rating is not None:
        rating["bestRating"] = _int_if_whole(fc.best_rating)
    if fc.worst_rating is not None:
        rating["worstRating"] = _int_if_whole(fc.worst_rating)
    rating["alternateName"] = fc.original_rating or fc.rating
    item: dict[str, Any] = {"@type": "Claim"}
    if fc.claim_author:
        item["author"] = {"@type": "Organization", "name": fc.claim_author}
    if fc.claim_date:
        item["datePublished"] = fc.claim_date
    if fc.appearances:
        item["appearance"] = [{"@type": "CreativeWork", "url": u} for u in fc.appearances]
    out: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "identifier": fc.claim_id,
        "claimReviewed": fc.claim,
        "itemReviewed": item,
        "reviewRating": rating,
    }
    if fc.url:
        out["url"] = fc.url
    if fc.publisher or fc.publisher_url:
        author: dict[str, Any] = {"@type": "Organization"}
        if fc.publisher:
            author["name"] = fc.publisher
        if fc.publisher_url:
            author["url"] = fc.publisher_url
        out["author"] = author
    if fc.date:
        out["datePublished"] = fc.date
    if fc.language:
        out["inLanguage"] = fc.language
    if fc.title:
        out["headline"] = fc.title
    if fc.body:
        out["reviewBody"] = fc.body
    if fc.topics:
        out["keywords"] = sorted(fc.topics)
    return out


def _int_if_whole(x: float) -> int | float:
    return int(x) if float(x).is_integer() else x


def with_topics(fc: FactCheck, topics: Iterable[str]) -> FactCheck:
    return replace(fc, topics=frozenset(topics))
