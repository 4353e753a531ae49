"""The EU DSA Transparency Database statement-of-reasons schema, in one place.

Fields, enumerations (the API's keys), conditional rules and length limits follow the
Commission's `StatementStoreRequest` as summarised in shared/reference/accountability.md §2.1
(schema v1 of 2023-08-16 with the 2025-02-26 categories). When the Commission changes the schema,
change it here and bump `SCHEMA_VERSION`: every stored statement records the version it was
built and validated against.

`validate(statement)` returns every problem (field: reason), as the API's 422 answer would list
them; an empty list means the statement would be accepted. `personal_data(text)` finds what may
not be sent (Art. 24(5)): e-mail addresses, phone numbers, @handles and links to user profiles.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Mapping

SCHEMA_VERSION = "dsa-tdb-v1/2025-02-26"
BATCH_MAX = 100  # POST /api/v1/statements takes 1-100 statements

DECISION_VISIBILITY = frozenset({
    "DECISION_VISIBILITY_CONTENT_REMOVED",
    "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED",
    "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
})
DECISION_MONETARY = frozenset({
    "DECISION_MONETARY_SUSPENSION", "DECISION_MONETARY_TERMINATION", "DECISION_MONETARY_OTHER",
})
DECISION_PROVISION = frozenset({
    "DECISION_PROVISION_PARTIAL_SUSPENSION", "DECISION_PROVISION_TOTAL_SUSPENSION",
    "DECISION_PROVISION_PARTIAL_TERMINATION", "DECISION_PROVISION_TOTAL_TERMINATION",
})
DECISION_ACCOUNT = frozenset({"DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"})
ACCOUNT_TYPE = frozenset({"ACCOUNT_TYPE_BUSINESS", "ACCOUNT_TYPE_PRIVATE"})
DECISION_GROUND = frozenset({"DECISION_GROUND_ILLEGAL_CONTENT",
                             "DECISION_GROUND_INCOMPATIBLE_CONTENT"})
CONTENT_TYPE = frozenset({
    "CONTENT_TYPE_APP", "CONTENT_TYPE_AUDIO", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_PRODUCT",
    "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_TEXT", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_OTHER",
})
CATEGORY = frozenset("STATEMENT_CATEGORY_" + c for c in (
    "ANIMAL_WELFARE", "CONSUMER_INFORMATION", "CYBER_VIOLENCE", "CYBER_VIOLENCE_AGAINST_WOMEN",
    "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS", "ILLEGAL_OR_HARMFUL_SPEECH",
    "INTELLECTUAL_PROPERTY_INFRINGEMENTS", "NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
    "NOT_SPECIFIED_NOTICE", "OTHER_VIOLATION_TC", "PROTECTION_OF_MINORS",
    "RISK_FOR_PUBLIC_SECURITY", "SCAMS_AND_FRAUD", "SELF_HARM", "UNSAFE_AND_PROHIBITED_PRODUCTS",
    "VIOLENCE",
))
# The keywords tidebreak emits or may be asked to validate. The Commission's list has 69; the
# ones not listed here (minors, IP, consumer, products, animals, self-harm, NCII) are never
# produced by tidebreak's categories, so a statement carrying one is refused rather than guessed.
KEYWORDS = frozenset("KEYWORD_" + k for k in (
    "HATE_SPEECH", "INCITEMENT_VIOLENCE_HATRED", "CYBER_INCITEMENT", "DISCRIMINATION",
    "MISINFORMATION_DISINFORMATION", "FEMALE_GENDERED_DISINFORMATION", "COORDINATED_HARM",
    "INAUTHENTIC_ACCOUNTS", "IMPERSONATION_ACCOUNT_HIJACKING", "ILLEGAL_ORGANIZATIONS",
    "TERRORIST_CONTENT", "VIOLATION_EU_LAW", "VIOLATION_NATIONAL_LAW", "RISK_PUBLIC_HEALTH",
    "CYBER_HARASSMENT", "CYBER_STALKING", "DEFAMATION", "HIDDEN_ADVERTISEMENT", "OTHER",
))
SOURCE_TYPE = frozenset({"SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER",
                         "SOURCE_TYPE_OTHER_NOTIFICATION", "SOURCE_VOLUNTARY"})
YES_NO = frozenset({"Yes", "No"})
AUTOMATED_DECISION = frozenset({"AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY",
                                "AUTOMATED_DECISION_NOT_AUTOMATED"})
EU = ("AT BE BG CY CZ DE DK EE ES FI FR GR HR HU IE IT LT LU LV MT NL PL PT RO SE SI SK").split()
EEA = tuple(sorted(EU + ["IS", "LI", "NO"]))
TERRITORIES = frozenset(EEA)

# Free-text fields and their limits; these are also the fields checked for personal data.
TEXT_LIMITS: dict[str, int] = {
    "decision_visibility_other": 500,
    "decision_monetary_other": 500,
    "decision_facts": 5000,
    "illegal_content_legal_ground": 500,
    "illegal_content_explanation": 2000,
    "incompatible_content_ground": 500,
    "incompatible_content_explanation": 2000,
    "content_type_other": 500,
    "category_specification_other": 500,
    "source_identity": 500,
}
URL_LIMIT = 500
PUID_RE = re.compile(r"^[A-Za-z0-9_-]{1,500}$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CONTENT_DATE_MIN, DATE_MAX = date(2000, 1, 1), date(2038, 1, 1)
APPLICATION_DATE_MIN = date(2020, 1, 1)
END_DATES = ("end_date_visibility_restriction", "end_date_monetary_restriction",
             "end_date_service_restriction", "end_date_account_restriction")

FIELDS = frozenset({
    "decision_visibility", "decision_visibility_other", "end_date_visibility_restriction",
    "decision_monetary", "decision_monetary_other", "end_date_monetary_restriction",
    "decision_provision", "end_date_service_restriction", "decision_account",
    "end_date_account_restriction", "account_type", "decision_facts", "decision_ground",
    "decision_ground_reference_url", "illegal_content_legal_ground", "illegal_content_explanation",
    "incompatible_content_ground", "incompatible_content_explanation",
    "incompatible_content_illegal", "content_type", "content_type_other", "category",
    "category_addition", "category_specification", "category_specification_other", "content_id",
    "territorial_scope", "content_language", "content_date", "application_date", "source_type",
    "source_identity", "automated_detection", "automated_decision", "puid",
})
# Column order of the CSV export (the public dumps' columns, less what the database adds).
CSV_COLUMNS = (
    "puid", "decision_visibility", "decision_visibility_other", "end_date_visibility_restriction",
    "decision_monetary", "decision_monetary_other", "end_date_monetary_restriction",
    "decision_provision", "end_date_service_restriction", "decision_account",
    "end_date_account_restriction", "account_type", "decision_ground",
    "decision_ground_reference_url", "illegal_content_legal_ground", "illegal_content_explanation",
    "incompatible_content_ground", "incompatible_content_explanation",
    "incompatible_content_illegal", "category", "category_addition", "category_specification",
    "category_specification_other", "content_type", "content_type_other", "content_language",
    "content_date", "territorial_scope", "application_date", "decision_facts", "source_type",
    "source_identity", "automated_detection", "automated_decision", "content_id",
)

# -- personal data -------------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
# International or grouped national numbers: at least 8 digits, allowing spaces, dots, dashes
# and brackets between them. Dates (2026-11-03) and scores (0.97) have fewer digits or no groups.
_PHONE = re.compile(r"(?<![\w.-])(?:\+|00)?\(?\d[\d ().-]{6,}\d(?![\w.])")
# Calendar versions (policy 2026.12.10, 2026.12.7.1) have eight digits in dotted groups, as some
# phone numbers do; a year, month and day first tells them apart.
_CALENDAR_VERSION = re.compile(
    r"(?<![\w.])(?:19|20)\d{2}\.(?:0?[1-9]|1[0-2])\.(?:0?[1-9]|[12]\d|3[01])(?:\.\d{1,3})?(?![\w.]*\d)")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?")
_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{2,30}\b")
_PROFILE_URL = re.compile(r"https?://\S*/(?:u|user|users|profile|profiles|@)[/\w.-]*", re.I)
_URL = re.compile(r"https?://\S+", re.I)


def personal_data(text: str) -> list[str]:
    """What kinds of personal data `text` contains (empty when none)."""
    found = []
    if _EMAIL.search(text):
        found.append("an e-mail address")
    # 2026-11-03 has eight digits too, and so have links (a fact-check's URL often carries
    # /20210702/); links to people are caught by _PROFILE_URL below.
    undated = _CALENDAR_VERSION.sub(" ", _ISO_DATE.sub(" ", _URL.sub(" ", text)))
    if any(sum(ch.isdigit() for ch in m.group()) >= 8 for m in _PHONE.finditer(undated)):
        found.append("a phone number")
    if _PROFILE_URL.search(text):
        found.append("a link to a user profile")
    elif _HANDLE.search(_EMAIL.sub("", text)):
        found.append("a user handle")
    return found


# -- validation ----------------------------------------------------------------------------------


def _date(stmt: Mapping[str, Any], name: str, problems: list[str], lo: date | None = None,
          hi: date | None = DATE_MAX) -> date | None:
    raw = stmt.get(name)
    if raw in (None, ""):
        return None
    if not isinstance(raw, str) or not DATE_RE.match(raw):
        problems.append(f"{name}: must be a date YYYY-MM-DD, got {raw!r}")
        return None
    try:
        d = date.fromisoformat(raw)
    except ValueError:
        problems.append(f"{name}: {raw!r} is not a valid date")
        return None
    if lo is not None and d < lo:
        problems.append(f"{name}: must be on or after {lo.isoformat()}")
    if hi is not None and d > hi:
        problems.append(f"{name}: must be on or before {hi.isoformat()}")
    return d


def _one_of(stmt: Mapping[str, Any], name: str, allowed: frozenset[str],
            problems: list[str]) -> str | None:
    v = stmt.get(name)
    if v in (None, ""):
        return None
    if not isinstance(v, str) or v not in allowed:
        problems.append(f"{name}: {v!r} is not one of the allowed values")
        return None
    return v


def _array_of(stmt: Mapping[str, Any], name: str, allowed: frozenset[str],
              problems: list[str]) -> list[str]:
    v = stmt.get(name)
    if v is None:
        return []
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        problems.append(f"{name}: must be an array of strings")
        return []
    bad = [x for x in v if x not in allowed]
    if bad:
        problems.append(f"{name}: not allowed: {', '.join(map(repr, bad))}")
    if len(set(v)) != len(v):
        problems.append(f"{name}: repeated values")
    return [x for x in v if x in allowed]


def _filled(stmt: Mapping[str, Any], name: str) -> bool:
    v = stmt.get(name)
    return v not in (None, "", [])


def validate(stmt: Mapping[str, Any]) -> list[str]:
    """Every rule the Transparency Database applies; [] when the statement is valid."""
    p: list[str] = []
    if not isinstance(stmt, Mapping):
        return ["statement: must be a JSON object"]
    unknown = sorted(set(stmt) - FIELDS)
    if unknown:
        p.append(f"unknown fields: {', '.join(unknown)}")

    # At least one of the four decision kinds; OTHER needs its explanation.
    vis = _array_of(stmt, "decision_visibility", DECISION_VISIBILITY, p)
    mon = _one_of(stmt, "decision_monetary", DECISION_MONETARY, p)
    prov = _one_of(stmt, "decision_provision", DECISION_PROVISION, p)
    acct = _one_of(stmt, "decision_account", DECISION_ACCOUNT, p)
    if not any(_filled(stmt, f) for f in ("decision_visibility", "decision_monetary",
                                          "decision_provision", "decision_account")):
        p.append("decision_visibility: required unless decision_monetary, decision_provision or "
                 "decision_account is given")
    if "DECISION_VISIBILITY_OTHER" in vis and not _filled(stmt, "decision_visibility_other"):
        p.append("decision_visibility_other: required when decision_visibility includes "
                 "DECISION_VISIBILITY_OTHER")
    if mon == "DECISION_MONETARY_OTHER" and not _filled(stmt, "decision_monetary_other"):
        p.append("decision_monetary_other: required when decision_monetary is "
                 "DECISION_MONETARY_OTHER")
    del prov, acct
    _one_of(stmt, "account_type", ACCOUNT_TYPE, p)

    # Ground, and the explanation that goes with it.
    if not _filled(stmt, "decision_facts"):
        p.append("decision_facts: required")
    ground = _one_of(stmt, "decision_ground", DECISION_GROUND, p)
    if not _filled(stmt, "decision_ground"):
        p.append("decision_ground: required")
    if ground == "DECISION_GROUND_ILLEGAL_CONTENT":
        for f in ("illegal_content_legal_ground", "illegal_content_explanation"):
            if not _filled(stmt, f):
                p.append(f"{f}: required when decision_ground is DECISION_GROUND_ILLEGAL_CONTENT")
    if ground == "DECISION_GROUND_INCOMPATIBLE_CONTENT":
        for f in ("incompatible_content_ground", "incompatible_content_explanation"):
            if not _filled(stmt, f):
                p.append(f"{f}: required when decision_ground is "
                         "DECISION_GROUND_INCOMPATIBLE_CONTENT")
    if _filled(stmt, "incompatible_content_illegal"):
        _one_of(stmt, "incompatible_content_illegal", YES_NO, p)
        if ground != "DECISION_GROUND_INCOMPATIBLE_CONTENT":
            p.append("incompatible_content_illegal: only with DECISION_GROUND_INCOMPATIBLE_CONTENT")
    url = stmt.get("decision_ground_reference_url")
    if url not in (None, ""):
        if not isinstance(url, str) or not re.match(r"^https?://[^\s/$.?#].\S*$", url):
            p.append("decision_ground_reference_url: must be an http(s) URL")
        elif len(url) > URL_LIMIT:
            p.append(f"decision_ground_reference_url: at most {URL_LIMIT} characters")

    # What the content is.
    ctypes = _array_of(stmt, "content_type", CONTENT_TYPE, p)
    if not _filled(stmt, "content_type"):
        p.append("content_type: required")
    if "CONTENT_TYPE_OTHER" in ctypes and not _filled(stmt, "content_type_other"):
        p.append("content_type_other: required when content_type includes CONTENT_TYPE_OTHER")
    _one_of(stmt, "category", CATEGORY, p)
    if not _filled(stmt, "category"):
        p.append("category: required")
    _array_of(stmt, "category_addition", CATEGORY, p)
    _array_of(stmt, "category_specification", KEYWORDS, p)
    cid = stmt.get("content_id")
    if cid is not None:
        if (not isinstance(cid, Mapping) or set(cid) - {"EAN-13"}
                or not re.fullmatch(r"\d{13}", str(cid.get("EAN-13", "")))):
            p.append("content_id: only the key 'EAN-13' with 13 digits is allowed")
    if stmt.get("territorial_scope") is not None:
        _array_of(stmt, "territorial_scope", TERRITORIES, p)
    lang = stmt.get("content_language")
    if lang not in (None, "") and not (isinstance(lang, str) and re.fullmatch(r"[A-Z]{2}", lang)):
        p.append("content_language: must be an ISO 639-1 code in upper case")

    # Dates.
    for f in ("content_date", "application_date"):
        if not _filled(stmt, f):
            p.append(f"{f}: required")
    _date(stmt, "content_date", p, lo=CONTENT_DATE_MIN)
    applied = _date(stmt, "application_date", p, lo=APPLICATION_DATE_MIN, hi=None)
    for f in END_DATES:
        end = _date(stmt, f, p)
        if end is not None and applied is not None and end < applied:
            p.append(f"{f}: must not be before application_date")

    # Source and automation.
    _one_of(stmt, "source_type", SOURCE_TYPE, p)
    if not _filled(stmt, "source_type"):
        p.append("source_type: required")
    _one_of(stmt, "automated_detection", YES_NO, p)
    if not _filled(stmt, "automated_detection"):
        p.append("automated_detection: required")
    _one_of(stmt, "automated_decision", AUTOMATED_DECISION, p)
    if not _filled(stmt, "automated_decision"):
        p.append("automated_decision: required")

    puid = stmt.get("puid")
    if not _filled(stmt, "puid"):
        p.append("puid: required")
    elif not isinstance(puid, str) or not PUID_RE.match(puid):
        p.append("puid: at most 500 characters of A-Z a-z 0-9 _ -")

    # Lengths and personal data in free text.
    for f, limit in TEXT_LIMITS.items():
        v = stmt.get(f)
        if v in (None, ""):
            continue
        if not isinstance(v, str):
            p.append(f"{f}: must be a string")
            continue
        if len(v) > limit:
            p.append(f"{f}: at most {limit} characters, got {len(v)}")
        pd = personal_data(v)
        if pd:
            p.append(f"{f}: contains {' and '.join(pd)}; statements of reasons may not carry "
                     "personal data (DSA Art. 24(5))")
    return p


def validate_batch(statements: list[Mapping[str, Any]]) -> list[str]:
    """A batch for POST /api/v1/statements: 1-100 valid statements with distinct puids."""
    p: list[str] = []
    if not 1 <= len(statements) <= BATCH_MAX:
        p.append(f"statements: between 1 and {BATCH_MAX} per batch, got {len(statements)}")
    seen: set[str] = set()
    for i, s in enumerate(statements):
        p.extend(f"statements.{i}.{err}" for err in validate(s))
        puid = s.get("puid") if isinstance(s, Mapping) else None
        if isinstance(puid, str):
            if puid in seen:
                p.append(f"statements.{i}.puid: repeated in the batch")
            seen.add(puid)
    return p
