"""Word lists kept as data (``drafter/lexicons/*.txt``) and the matcher that finds them in text.

File format: one entry per line, ``#`` comments, blank lines ignored. An entry is a word or a phrase
(compared after :func:`drafter.tokens.fold`, so accents, case and leetspeak do not matter); a trailing
``*`` matches any word starting with the entry; a line starting with ``!`` is an exception phrase: a
match that falls inside it is dropped ("nulle part" is not the insult "nulle").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

from .tokens import Token, fold, spaced_runs, tokenize


@dataclass(frozen=True, slots=True)
class Match:
    text: str
    start: int
    end: int
    entry: str


class Lexicon:
    """A set of words, prefixes and phrases, matched on folded tokens with spans."""

    def __init__(self, entries: list[str], exceptions: list[str] | None = None) -> None:
        self.words: set[str] = set()
        self.prefixes: list[str] = []
        self.phrases: dict[str, list[tuple[str, ...]]] = {}
        for entry in entries:
            parts = tuple(fold(t.text) for t in tokenize(entry.rstrip("*")))
            if not parts:
                continue
            if entry.endswith("*") and len(parts) == 1:
                self.prefixes.append(parts[0])
            elif len(parts) == 1:
                self.words.add(parts[0])
            else:
                self.phrases.setdefault(parts[0], []).append(parts)
        self.prefixes.sort(key=len, reverse=True)
        self.exceptions = [tuple(fold(t.text) for t in tokenize(e)) for e in exceptions or []]

    def __len__(self) -> int:
        return len(self.words) + len(self.prefixes) + sum(len(v) for v in self.phrases.values())

    def _word_hit(self, folded: str) -> str | None:
        if folded in self.words:
            return folded
        if "*" in folded or "#" in folded:
            pattern = re.compile("^" + re.escape(folded).replace(r"\*", "[a-z]").replace(r"\#", "[a-z]") + "$")
            stem = folded.strip("*#")
            if len(stem) >= 1 and sum(c.isalpha() for c in folded) >= 1:
                for word in self.words:
                    if len(word) == len(folded) and pattern.match(word):
                        return word
            return None
        for prefix in self.prefixes:
            if folded.startswith(prefix):
                return prefix + "*"
        return None

    def find(self, text: str, tokens: list[Token] | None = None) -> list[Match]:
        """Every occurrence, left to right, without overlaps; spaced-out words included."""
        tokens = tokenize(text) if tokens is None else tokens
        hits: list[Match] = []
        taken: set[int] = set()
        for i, token in enumerate(tokens):
            for phrase in sorted(self.phrases.get(token.folded, ()), key=len, reverse=True):
                n = len(phrase)
                if tuple(t.folded for t in tokens[i:i + n]) == phrase:
                    hits.append(Match(text[token.start:tokens[i + n - 1].end], token.start,
                                      tokens[i + n - 1].end, " ".join(phrase)))
                    taken.update(range(i, i + n))
                    break
        for i, token in enumerate(tokens):
            if i in taken:
                continue
            entry = self._word_hit(token.folded)
            if entry:
                hits.append(Match(token.text, token.start, token.end, entry))
        for run in spaced_runs(text, tokens):
            entry = self._word_hit(run.folded)
            if entry and not any(h.start < run.end and run.start < h.end for h in hits):
                hits.append(Match(run.text, run.start, run.end, entry))
        if self.exceptions and hits:
            hits = [h for h in hits if not self._excepted(h, tokens)]
        return sorted(hits, key=lambda h: h.start)

    def _excepted(self, hit: Match, tokens: list[Token]) -> bool:
        for phrase in self.exceptions:
            n = len(phrase)
            for i in range(len(tokens) - n + 1):
                if tokens[i].start <= hit.start and tokens[i + n - 1].end >= hit.end:
                    if tuple(t.folded for t in tokens[i:i + n]) == phrase:
                        return True
        return False


def _read_lines(name: str) -> list[str]:
    try:
        text = resources.files("drafter").joinpath("lexicons", name).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


@cache
def load_lexicon(*names: str) -> Lexicon:
    """The union of the named lexicon files (missing files count as empty)."""
    entries: list[str] = []
    exceptions: list[str] = []
    for name in names:
        for line in _read_lines(name):
            (exceptions if line.startswith("!") else entries).append(line.lstrip("!").strip())
    return Lexicon(entries, exceptions)


@cache
def load_words(name: str) -> frozenset[str]:
    """A plain word list (no matching rules), e.g. ``acronyms.txt``."""
    return frozenset(_read_lines(name))
