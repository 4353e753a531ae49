"""How tidebreak's categories map onto the outside world's: DSA statement categories and
keywords, and GARM brand-safety categories.

Every internal category maps to exactly one DSA category and to exactly one GARM category or an
explicit `None` ("n/a": e.g. a re-upload of removed content has no GARM category of its own).
Categories other parts register later fall back to "other violation of terms" and n/a, and say
so in the statement, rather than being guessed.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DsaCategory:
    category: str
    keywords: tuple[str, ...]
    keyword_other: str | None = None  # category_specification_other, when KEYWORD_OTHER


DSA: dict[str, DsaCategory] = {
    "hate": DsaCategory("STATEMENT_CATEGORY_ILLEGAL_OR_HARMFUL_SPEECH", ("KEYWORD_HATE_SPEECH",)),
    "violence": DsaCategory("STATEMENT_CATEGORY_VIOLENCE", ("KEYWORD_INCITEMENT_VIOLENCE_HATRED",)),
    "harassment": DsaCategory("STATEMENT_CATEGORY_CYBER_VIOLENCE", ("KEYWORD_CYBER_HARASSMENT",)),
    "misinformation": DsaCategory("STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
                                  ("KEYWORD_MISINFORMATION_DISINFORMATION",)),
    "voting_misinformation": DsaCategory(
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        ("KEYWORD_MISINFORMATION_DISINFORMATION",)),
    "known_violating": DsaCategory("STATEMENT_CATEGORY_OTHER_VIOLATION_TC", ("KEYWORD_OTHER",),
                                   "Copy of content already removed for breaking the terms"),
    "spam": DsaCategory("STATEMENT_CATEGORY_SCAMS_AND_FRAUD", ("KEYWORD_OTHER",),
                        "Spam or scam"),
    "coordination": DsaCategory("STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
                                ("KEYWORD_COORDINATED_HARM", "KEYWORD_INAUTHENTIC_ACCOUNTS")),
    "unauthorised_political_ad": DsaCategory(
        "STATEMENT_CATEGORY_NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS",
        ("KEYWORD_OTHER",), "Political or issue ad without authorisation or 'paid for by' line"),
}


def dsa_category(category: str) -> DsaCategory:
    return DSA.get(category) or DsaCategory("STATEMENT_CATEGORY_OTHER_VIOLATION_TC",
                                            ("KEYWORD_OTHER",), f"Terms violation: {category}"[:500])


# GARM Brand Safety Floor + Suitability Framework (2022: 12 categories).
GARM_CATEGORIES = (
    "Adult & Explicit Sexual Content",
    "Arms & Ammunition",
    "Crime & Harmful Acts to Individuals and Society, Human Rights Violations",
    "Death, Injury or Military Conflict",
    "Online Piracy",
    "Hate Speech & Acts of Aggression",
    "Obscenity and Profanity",
    "Illegal Drugs / Tobacco / e-cigarettes / Vaping / Alcohol",
    "Spam or Harmful Content",
    "Terrorism",
    "Debated Sensitive Social Issues",
    "Misinformation",
)
GARM_RISK_LEVELS = ("floor", "high", "medium", "low")

GARM: dict[str, str | None] = {
    "hate": "Hate Speech & Acts of Aggression",
    "violence": "Hate Speech & Acts of Aggression",  # threats and incitement are aggression
    "harassment": "Hate Speech & Acts of Aggression",
    "misinformation": "Misinformation",
    "voting_misinformation": "Misinformation",
    "spam": "Spam or Harmful Content",
    "coordination": "Spam or Harmful Content",
    "known_violating": None,  # n/a: the original's category is not known here
    "unauthorised_political_ad": None,  # n/a: a rule about ads, not about adjacent content
}


def garm_category(category: str) -> str | None:
    return GARM.get(category)
