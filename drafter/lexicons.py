"""Word lists kept as data (``drafter/lexicons/*.txt``) and the matcher that finds them in text.

File format: one entry per line, ``#`` comments, blank lines ignored. An entry is a word or a phrase
(compared after :func:`drafter.tokens.fold`, so accents, case and leetspeak do not matter); a trailing
``*`` matches any word starting with the entry; a line starting with ``!`` is an exception phrase: a
match that falls inside it is dropped ("nulle part" is not the insult "nulle").
"""

from __future__ import annotations

import re
from bisect import bisect_right
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
        for starts in self.phrases.values():
            starts.sort(key=len, reverse=True)   # longest phrase first
        self._hits: dict[str, str | None] = {}    # folded word -> entry, memoised
        self._positive: set[str] = set()          # the memoised words that are entries
        self._prefix_set = frozenset(self.prefixes)
        self._prefix_lengths = sorted({len(p) for p in self.prefixes}, reverse=True)
        self.exceptions = [tuple(fold(t.text) for t in tokenize(e)) for e in exceptions or []]

    def __len__(self) -> int:
        return len(self.words) + len(self.prefixes) + sum(len(v) for v in self.phrases.values())

    def _word_hit(self, folded: str) -> str | None:
        hits = self._hits
        if folded in hits:
            return hits[folded]
        hit = self._compute_hit(folded)
        if len(hits) < 100_000:  # bounded: a long-running server sees endless new words
            hits[folded] = hit
            if hit:
                self._positive.add(folded)
        return hit

    def _compute_hit(self, folded: str) -> str | None:
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
        for n in self._prefix_lengths:  # longest prefix first, one set lookup per length
            if len(folded) >= n and folded[:n] in self._prefix_set:
                return folded[:n] + "*"
        return None

    def find(self, text: str, tokens: list[Token] | None = None) -> list[Match]:
        """Every occurrence, left to right, without overlaps; spaced-out words included."""
        tokens = tokenize(text) if tokens is None else tokens
        hits: list[Match] = []
        taken: set[int] = set()
        phrases = self.phrases
        # fast path: most texts hold no entry at all; look each distinct word up once
        folded = [t.folded for t in tokens]
        distinct = set(folded)
        starts_phrase = not phrases.keys().isdisjoint(distinct)
        memo = self._hits
        for w in [w for w in distinct if w not in memo]:
            self._word_hit(w)
        hit_words = distinct & self._positive if len(self._hits) < 100_000 else \
            {w for w in distinct if self._word_hit(w)}
        if not starts_phrase and not hit_words:
            runs = spaced_runs(text, tokens)
            if not runs:
                return []
        for i, token in enumerate(tokens if starts_phrase else ()):
            starts = phrases.get(token.folded)
            if not starts:
                continue
            for phrase in starts:
                n = len(phrase)
                if tuple(folded[i:i + n]) == phrase:
                    hits.append(Match(text[token.start:tokens[i + n - 1].end], token.start,
                                      tokens[i + n - 1].end, " ".join(phrase)))
                    taken.update(range(i, i + n))
                    break
        for i, token in enumerate(tokens if hit_words else ()):
            if i in taken or token.folded not in hit_words:
                continue
            entry = self._word_hit(token.folded)
            if entry:
                hits.append(Match(token.text, token.start, token.end, entry))
        for run in spaced_runs(text, tokens):
            entry = self._word_hit(run.folded)
            if entry and not any(h.start < run.end and run.start < h.end for h in hits):
                hits.append(Match(run.text, run.start, run.end, entry))
        if self.exceptions and hits:
            starts = [t.start for t in tokens]
            hits = [h for h in hits if not self._excepted(h, tokens, starts)]
        return sorted(hits, key=lambda h: h.start)

    def _excepted(self, hit: Match, tokens: list[Token], starts: list[int]) -> bool:
        # an exception phrase covering the hit starts at most (longest phrase - 1) tokens before it
        first = bisect_right(starts, hit.start) - 1
        longest = max(len(p) for p in self.exceptions)
        for i in range(max(0, first - longest + 1), first + 1):
            for phrase in self.exceptions:
                n = len(phrase)
                if i + n <= len(tokens) and tokens[i].start <= hit.start and tokens[i + n - 1].end >= hit.end:
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
