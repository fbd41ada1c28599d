"""The bilingual paperwork lexicon (evaluator/data/lexicon.yaml) and how its terms are matched.

Chinese has no word boundaries, so zh terms match as substrings. English terms match whole
words only ("like" must not fire on "likely"), with a plural suffix allowed and spaces/hyphens
inside a term interchangeable ("check in" = "check-in" = "checkin").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ruamel.yaml import YAML

from evaluator.errors import EvaluatorError
from evaluator.scheme.models import Text


@dataclass(frozen=True)
class Term:
    category: str
    label: Text
    lang: str  # "zh" | "en"
    term: str
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class Hit:
    """One lexicon term found in a text."""

    category: str
    label: Text
    term: str
    matched: str


class LexiconError(EvaluatorError):
    """The lexicon file itself is malformed (a packaging bug, not a user error)."""


def english_pattern(term: str) -> re.Pattern[str]:
    words = [re.escape(w) for w in re.split(r"[\s\-]+", term.strip()) if w]
    body = r"[\s\-]*".join(words)
    return re.compile(rf"(?<![A-Za-z0-9]){body}(?:s|es)?(?![A-Za-z0-9])", re.IGNORECASE)


def chinese_pattern(term: str) -> re.Pattern[str]:
    return re.compile(re.escape(term.strip()))


class Lexicon:
    """All terms, matched against indicator names and descriptions."""

    def __init__(self, terms: list[Term]):
        self.terms = terms

    @classmethod
    def from_file(cls, path: Path | str) -> Lexicon:
        data = YAML(typ="safe").load(Path(path).read_text(encoding="utf-8"))
        return cls.from_data(data, str(path))

    @classmethod
    def from_data(cls, data: object, source: str = "lexicon") -> Lexicon:
        if not isinstance(data, dict) or not isinstance(data.get("categories"), list):
            raise LexiconError(f"{source}: expected a mapping with a `categories` list")
        terms: list[Term] = []
        for i, cat in enumerate(data["categories"]):
            try:
                cid = str(cat["id"])
                label = Text.model_validate(cat["label"])
                for lang, make in (("zh", chinese_pattern), ("en", english_pattern)):
                    words = [str(t) for t in cat.get(lang) or []]
                    terms += [Term(cid, label, lang, t, make(t)) for t in words]
            except (KeyError, TypeError, ValueError) as exc:
                raise LexiconError(f"{source}: categories[{i}] is malformed: {exc}") from None
        return cls(terms)

    def find(self, text: str) -> list[Hit]:
        """Every category that matches, with the first term that matched it."""
        hits: dict[str, Hit] = {}
        for t in self.terms:
            if t.category in hits:
                continue
            m = t.pattern.search(text)
            if m:
                hits[t.category] = Hit(t.category, t.label, t.term, m.group(0))
        return list(hits.values())


@lru_cache(maxsize=1)
def default_lexicon() -> Lexicon:
    """The lexicon shipped in the package."""
    ref = resources.files("evaluator") / "data" / "lexicon.yaml"
    return Lexicon.from_data(YAML(typ="safe").load(ref.read_text(encoding="utf-8")), str(ref))
