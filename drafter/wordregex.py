"""Many regular expressions over one text, fast: each is tried only where its first word occurs.

The tone rules run a few hundred patterns over every reply. Python's ``re`` tries every alternative of
a big alternation at every word start, which costs far more than the few matches found. Most patterns
begin with a known word ("you should have", "je vous garantis", "(we|i) reserve the right"), so
``WordRegex`` reads that first word from each pattern's syntax tree and, for a text, looks its words
up in a dictionary and tries only the patterns that can start there (``pattern.match`` at that
position, so lookbehinds still see the text before it). Patterns whose first word cannot be told
(they start with a class such as ``\\w+``) are scanned the ordinary way.

The result is the same set of match positions as ``re.finditer`` over the alternation of the
patterns, leftmost first, without overlaps.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

try:  # the parser is private; without it every pattern is simply scanned the ordinary way
    from re import _constants as _C  # type: ignore[attr-defined]
    from re import _parser as _P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    _P = _C = None

_WORDS = re.compile(r"\w+")
_Prefixes = set[tuple[str, bool]]   # (first word or its beginning, True when the word is complete)
_MAX_PREFIXES = 5000


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def first_words(pattern: str) -> _Prefixes | None:
    """The words a match of ``pattern`` can begin with, or None when that cannot be told."""
    if _P is None:
        return None
    try:
        items = list(_P.parse(pattern, re.MULTILINE))
    except Exception:  # noqa: BLE001 - anything unusual: scan it the ordinary way
        return None
    try:
        found = _walk(items, 0, "", lambda acc: {(acc, False)} if acc else None)
    except _Unknown:
        return None
    if not found or any(not word for word, _ in found) or len(found) > _MAX_PREFIXES:
        return None
    return found


class _Unknown(Exception):
    pass


def _walk(items: list, i: int, acc: str, cont: Callable[[str], _Prefixes | None]) -> _Prefixes | None:
    """Continuation-passing walk of a parsed sequence, collecting the possible first words."""
    if i == len(items):
        return cont(acc)
    op, av = items[i]
    rest = lambda a: _walk(items, i + 1, a, cont)  # noqa: E731
    if op is _C.LITERAL:
        ch = chr(av)
        if _is_word_char(ch):
            return _walk(items, i + 1, acc + ch, cont)
        if not acc:
            raise _Unknown  # the match starts with punctuation
        return {(acc, True)}
    if op is _C.AT:
        if av is _C.AT_BOUNDARY and acc:
            return {(acc, True)}
        return rest(acc)  # ^, \b before the word: zero width
    if op in (_C.ASSERT, _C.ASSERT_NOT):
        return rest(acc)  # lookarounds: zero width; the full pattern checks them
    if op is _C.SUBPATTERN:
        return _walk(list(av[-1]), 0, acc, rest)
    if op is _C.BRANCH:
        return _union(_walk(list(branch), 0, acc, rest) for branch in av[1])
    if op is _C.IN and all(o is _C.LITERAL for o, _ in av) and len(av) <= 12:
        return _union(_walk([(_C.LITERAL, code)], 0, acc, rest) for _, code in av)
    if op in (_C.MAX_REPEAT, _C.MIN_REPEAT, getattr(_C, "POSSESSIVE_REPEAT", None)):
        low, high, sub = av
        once_then_unknown = _walk(list(sub), 0, acc, lambda a: {(a, False)} if a else None) if high > 1 else None
        once = _walk(list(sub), 0, acc, rest) if high == 1 else once_then_unknown
        return _union([once, rest(acc)]) if low == 0 else once
    # a class, any character, a back-reference…: the word goes on in a way we cannot list
    if acc:
        return {(acc, False)}
    raise _Unknown


def _union(parts: Iterable[_Prefixes | None]) -> _Prefixes | None:
    out: _Prefixes = set()
    for part in parts:
        if part is None:
            raise _Unknown
        out |= part
        if len(out) > _MAX_PREFIXES:
            raise _Unknown
    return out


class TextWords:
    """Where each word of a text starts: computed once per text, shared by every ``WordRegex``."""

    __slots__ = ("text", "positions", "_heads")

    def __init__(self, text: str) -> None:
        self.text = text
        self.positions: dict[str, list[int]] = {}
        for m in _WORDS.finditer(text):
            self.positions.setdefault(m.group(), []).append(m.start())
        self._heads: dict[str, list[str]] | None = None

    def heads(self) -> dict[str, list[str]]:
        """The words by their first letter and by their first two letters."""
        if self._heads is None:
            self._heads = {}
            for w in self.positions:
                self._heads.setdefault(w[:1], []).append(w)
                if len(w) > 1:
                    self._heads.setdefault(w[:2], []).append(w)
        return self._heads

    def starting_with(self, head: str) -> list[int]:
        """Start positions of the words that begin with ``head``."""
        return [p for w in self.heads().get(head[:2], ()) if w.startswith(head) for p in self.positions[w]]


class LazyRegex:
    """``re.compile`` deferred to first use: a module's patterns cost nothing until a text needs them
    (the CLI starts in a few hundred milliseconds, and a run uses only some of them)."""

    __slots__ = ("_args", "_compiled")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._args, self._compiled = (pattern, flags), None

    def __getattr__(self, name: str) -> object:
        if self._compiled is None:
            self._compiled = re.compile(*self._args)
        return getattr(self._compiled, name)


def lazy_compile(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return LazyRegex(pattern, flags)  # type: ignore[return-value]


class _LazyPattern:
    """A pattern compiled the first time it is tried: a CLI run checks one reply and needs few."""

    __slots__ = ("source", "flags", "_compiled")

    def __init__(self, source: str, flags: int) -> None:
        self.source, self.flags, self._compiled = source, flags, None

    def match(self, text: str, pos: int) -> re.Match[str] | None:
        if self._compiled is None:
            self._compiled = re.compile(self.source, self.flags)
        return self._compiled.match(text, pos)


# first_words() parses each pattern (as costly as compiling it); its answers are kept on disk, keyed
# by the pattern text, so a new process only reads them.
_INDEX: dict[str, list[list[object]] | None] | None = None
_INDEX_DIRTY = False


def _index_path() -> Path:
    from .settings import cache_dir

    return cache_dir(f"wordregex-index-{sys.version_info[0]}{sys.version_info[1]}.json")


def _cached_first_words(pattern: str) -> _Prefixes | None:
    global _INDEX, _INDEX_DIRTY
    if _INDEX is None:
        try:
            _INDEX = json.loads(_index_path().read_text(encoding="utf-8"))
        except (OSError, ValueError):
            _INDEX = {}
    if pattern in _INDEX:
        found = _INDEX[pattern]
        return None if found is None else {(str(w), bool(c)) for w, c in found}
    first = first_words(pattern)
    _INDEX[pattern] = None if first is None else sorted([w, c] for w, c in first)
    _INDEX_DIRTY = True
    return first


def save_index() -> None:
    """Write the first-word index if this process learned new patterns (best effort)."""
    global _INDEX_DIRTY
    if not _INDEX_DIRTY or _INDEX is None:
        return
    path = _index_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, delete=False) as tmp:
            json.dump(_INDEX, tmp)
        os.replace(tmp.name, path)
        _INDEX_DIRTY = False
    except OSError:
        pass


class WordRegex:
    """A list of patterns searched together; see the module docstring."""

    def __init__(self, patterns: list[str], flags: int = re.MULTILINE) -> None:
        self.words: dict[str, list[_LazyPattern]] = {}
        self.prefixes: dict[str, list[_LazyPattern]] = {}
        generic: list[str] = []
        for pattern in patterns:
            # only patterns that begin at a word boundary: then every match starts at the start of a word
            first = _cached_first_words(pattern) if pattern.startswith(r"\b") else None
            if first is None:
                generic.append(pattern)
                continue
            lazy = _LazyPattern(pattern, flags)
            for word, complete in sorted(first):
                (self.words if complete else self.prefixes).setdefault(word, []).append(lazy)
        self.prefix_heads: dict[str, list[str]] = {}   # first two letters -> prefixes
        for prefix in self.prefixes:
            self.prefix_heads.setdefault(prefix[:2], []).append(prefix)
        self._generic_source = "|".join(f"(?:{p})" for p in generic) if generic else None
        self._generic: re.Pattern[str] | None = None
        self._flags = flags

    @property
    def generic(self) -> re.Pattern[str] | None:
        if self._generic is None and self._generic_source is not None:
            self._generic = re.compile(self._generic_source, self._flags)
        return self._generic

    def _candidates(self, index: TextWords) -> dict[int, list[_LazyPattern]]:
        """Start position -> the patterns that may match there."""
        at: dict[int, list[_LazyPattern]] = {}
        positions = index.positions
        for word in self.words.keys() & positions.keys():
            for pos in positions[word]:
                at.setdefault(pos, []).extend(self.words[word])
        for head in self.prefix_heads.keys() & index.heads().keys() if self.prefix_heads else ():
            for key in self.prefix_heads[head]:
                for pos in index.starting_with(key):
                    at.setdefault(pos, []).extend(self.prefixes[key])
        return at

    def finditer(self, text: str, index: TextWords | None = None) -> list[re.Match[str]]:
        """Matches in ``text``, leftmost first, without overlaps. ``index``: ``TextWords(text)``, if at hand."""
        index = TextWords(text) if index is None else index
        found: list[re.Match[str]] = []
        for pos, patterns in sorted(self._candidates(index).items()):
            for pattern in patterns:
                m = pattern.match(text, pos)
                if m:
                    found.append(m)
                    break
        generic = self.generic
        if generic is not None:
            found.extend(generic.finditer(text))
            found.sort(key=lambda m: m.start())
        out: list[re.Match[str]] = []
        end = -1
        for m in found:
            if m.start() >= end:
                out.append(m)
                end = max(m.end(), m.start() + 1)
        return out

    def search(self, text: str, index: TextWords | None = None) -> re.Match[str] | None:
        """A match, not necessarily the leftmost: the word-dispatched patterns are tried first, and the
        ordinary scan only when they find nothing."""
        index = TextWords(text) if index is None else index
        for pos, patterns in self._candidates(index).items():
            for pattern in patterns:
                m = pattern.match(text, pos)
                if m:
                    return m
        return self.generic.search(text) if self.generic is not None else None
