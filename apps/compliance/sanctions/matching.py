"""Matching a name against a sanctions list: normalisation and scoring, plain Python (rapidfuzz).

A name is normalised before it is compared: decomposed (NFKD) and stripped of diacritics, case
folded, apostrophes and dots dropped and other punctuation made spaces, the Arabic article
(Al-, El-) and legal forms (W.L.L., LLC, …) dropped, common transliteration variants brought to
one spelling (Mohammed, Muhammad, Mohamad → muhammad; Abdul, Abdel → abd), and the words sorted,
so that word order does not count.

The score (0-100) is ``TOKEN_SET_WEIGHT`` times rapidfuzz's token set ratio plus the rest times its
Jaro-Winkler similarity, both on the normalised names: the token set ratio forgives a missing or
extra word, Jaro-Winkler keeps one shared word from making a whole name match. An exact
identifier (a passport, national id or registration number, compared without spaces, dashes and
case) scores 100 whatever the names.

A ``ListIndex`` holds one list version's normalised names and, per distinct word, the names that
use it, with each word also filed under its spellings less one letter (the deletion neighbourhood
of SymSpell); it is built once per version (callers keep it while the version is current). A
screen scores only the names that share a word with the screened name, or a near spelling of one
(within about two edits: a letter missing, added, changed or two swapped); the words of three
letters or fewer must be equal. A name that shares no such word with the screened name cannot
reach a threshold worth alerting on (a token set ratio of 75 needs words in common), and skipping
it is what keeps one screen against 20,000 entries within a few milliseconds: the lookup costs a
dictionary read per variant of each word, whatever the list's size.
"""

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rapidfuzz import fuzz
from rapidfuzz.distance import JaroWinkler

TOKEN_SET_WEIGHT = 0.6
# Words this short are looked up as they are: their one-letter-less spellings are other names.
SHORT_WORD = 3

# One spelling per family of transliterations of the same Arabic name.
_VARIANTS = {
    **dict.fromkeys(("mohammed", "mohammad", "mohamad", "mohamed", "muhammed", "muhamad", "muhamed", "mohamud",
                     "mohd", "mohammod", "mouhamed", "mhd"), "muhammad"),
    **dict.fromkeys(("abdul", "abdel", "abdal", "abdol", "abdoul", "abdu"), "abd"),
    # "Servant of God": one name, not Abd followed by a name.
    **dict.fromkeys(("abdullah", "abdallah", "abdulla", "abdalla", "abdellah", "abdella"), "abdullah"),
    **dict.fromkeys(("ahmed", "ahmet", "ahmd"), "ahmad"),
    **dict.fromkeys(("hussein", "husain", "hussain", "husein", "hossein", "husayn"), "husayn"),
    **dict.fromkeys(("yousef", "youssef", "yusef", "yousif", "yousuf", "youssouf"), "yusuf"),
    **dict.fromkeys(("osama", "ousama", "usamah"), "usama"),
    **dict.fromkeys(("omar", "omer"), "umar"),
    **dict.fromkeys(("abu", "abou"), "abu"),
}
# Glued forms: "Abdulrahman", "Abdelkader" → "abd rahman", "abd kader".
_GLUED_PREFIXES = ("abdul", "abdel", "abdal")
# The Arabic article, written apart or hyphenated (al-Qaida, el-Masri): it carries no identity.
_ARTICLES = frozenset(("al", "el", "ul", "ad", "ar", "as", "ash", "at", "az", "ed", "er", "es"))
# Legal forms: "Acme Trading W.L.L." is "Acme Trading" on a list.
_LEGAL_FORMS = frozenset(("wll", "llc", "ltd", "limited", "inc", "co", "company", "corp", "corporation", "bsc",
                          "spc", "plc", "gmbh", "sa", "sarl", "fzco", "fze", "fzc", "est", "establishment"))
# Dots and apostrophes (straight, curly, modifier letters) join what they separate: W.L.L., O'Brien.
_DROPPED = re.compile("[.'`\u2018\u2019\u02bb\u02bc]")
_SEPARATORS = re.compile(r"[^0-9a-z]+")
_IDENTIFIER_NOISE = re.compile(r"[^0-9A-Z]")


def _ascii_folded(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def name_tokens(name: str) -> list[str]:
    """The normalised words of ``name``, sorted."""
    words = _SEPARATORS.split(_DROPPED.sub("", _ascii_folded(name)))
    tokens: list[str] = []
    for word in words:
        if not word or word in _ARTICLES or word in _LEGAL_FORMS:
            continue
        if word in _VARIANTS:
            tokens.append(_VARIANTS[word])
            continue
        for prefix in _GLUED_PREFIXES:
            if word.startswith(prefix) and len(word) > len(prefix) + 2:
                tokens.append("abd")
                word = word[len(prefix):]
                break
        tokens.append(word)
    if not tokens:  # a name made only of articles or legal forms: keep what it says
        tokens = [word for word in words if word]
    return sorted(tokens)


def name_normalise(name: str) -> str:
    """``name`` as it is compared: see the module's docstring."""
    return " ".join(name_tokens(name))


def identifier_normalise(number: str) -> str:
    """A document number as it is compared: letters and digits only, upper case."""
    return _IDENTIFIER_NOISE.sub("", _ascii_folded(number).upper())


@dataclass(frozen=True, slots=True)
class IndexedEntry:
    """What the index needs of one listed entry: its names (the first is its primary name) and
    its identifiers as (kind, number) pairs."""

    names: tuple[str, ...]
    identifiers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry scored at or above the threshold: ``entry`` is its position in the index;
    ``matched_fields`` says what matched, e.g. {"field": "alias", "listed": "Abu Ali",
    "screened": "Aboo Ali", "score": 91.2} or {"field": "passport", "listed": "N123"}."""

    entry: int
    score: float
    matched_fields: tuple[dict[str, object], ...]


class ListIndex:
    """One list version's names, normalised once; screening reads it and never changes it."""

    def __init__(self, entries: Sequence[IndexedEntry]) -> None:
        self.size = len(entries)
        self._normalised: list[str] = []
        self._owners: list[tuple[int, str, str]] = []  # per normalised name: entry, field, listed name
        self._identifiers: dict[str, list[tuple[int, str, str]]] = {}
        postings: dict[str, list[int]] = {}
        for position, entry in enumerate(entries):
            for rank, listed in enumerate(entry.names):
                tokens = name_tokens(listed)
                if tokens:
                    for token in set(tokens):
                        postings.setdefault(token, []).append(len(self._normalised))
                    self._normalised.append(" ".join(tokens))
                    self._owners.append((position, "name" if rank == 0 else "alias", listed))
            for kind, number in entry.identifiers:
                key = identifier_normalise(number)
                if key:
                    self._identifiers.setdefault(key, []).append((position, kind, number))
        self._postings = list(postings.values())
        self._spellings: dict[str, list[int]] = {}
        for word_id, word in enumerate(postings):
            for spelling in _spellings(word):
                self._spellings.setdefault(spelling, []).append(word_id)

    def screen(self, name: str, *, threshold: float, identifiers: Iterable[str] = ()) -> list[Candidate]:
        """The entries ``name`` (or one of ``identifiers``) matches at ``threshold`` or above, best
        first, each once with every field that matched."""
        found: dict[int, list[dict[str, object]]] = {}
        best: dict[int, float] = {}
        for number in identifiers:
            for position, kind, listed in self._identifiers.get(identifier_normalise(number), ()):
                found.setdefault(position, []).append({"field": kind, "listed": listed, "screened": number})
                best[position] = 100.0
        tokens = name_tokens(name)
        query = " ".join(tokens)
        # score >= threshold needs token_set >= (threshold - (1 - w) * 100) / w, since JW <= 1.
        cutoff = max(0.0, (threshold - (1 - TOKEN_SET_WEIGHT) * 100) / TOKEN_SET_WEIGHT)
        for index in sorted(self._names_sharing_words(tokens)):
            listed_normalised = self._normalised[index]
            token_set = fuzz.token_set_ratio(query, listed_normalised, score_cutoff=cutoff)
            if token_set:
                value = (TOKEN_SET_WEIGHT * token_set
                         + (1 - TOKEN_SET_WEIGHT) * 100 * JaroWinkler.similarity(query, listed_normalised))
                if value < threshold:
                    continue
                position, field_name, listed = self._owners[index]
                found.setdefault(position, []).append(
                    {"field": field_name, "listed": listed, "screened": name, "score": round(value, 1)})
                best[position] = max(best.get(position, 0.0), value)
        return sorted(
            (Candidate(position, round(best[position], 1), tuple(found[position])) for position in found),
            key=lambda candidate: (-candidate.score, candidate.entry),
        )

    def _names_sharing_words(self, tokens: Sequence[str]) -> set[int]:
        """The names using one of ``tokens`` or a near spelling of one."""
        words = {word_id for token in set(tokens) for spelling in _spellings(token)
                 for word_id in self._spellings.get(spelling, ())}
        return {name for word_id in words for name in self._postings[word_id]}


def _spellings(word: str) -> set[str]:
    """``word`` and, unless it is short, each spelling of it less one letter: two words within
    about two edits of each other share one of these."""
    if len(word) <= SHORT_WORD:
        return {word}
    return {word, *(word[:position] + word[position + 1:] for position in range(len(word)))}
