"""Words with their spans, folded so that disguised spellings compare equal.

``fold("C0NNÂRD")`` gives ``"connard"``: lower case, accents stripped, leetspeak digits and symbols
mapped to letters (only inside words that also hold letters, so order numbers stay numbers), and
letters repeated three times or more squeezed. ``tokenize`` keeps each word's span in the original
text, and ``spaced_runs`` rebuilds words typed letter by letter ("i d i o t", "c.o.n").
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import NamedTuple

# a word: letters/digits, with disguise symbols allowed inside (f*ck, a**hole, $hit, @rnaque)
_WORD = re.compile(r"[\w*@$€]+(?:[*@$€]+[\w]*)*", re.UNICODE)
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s",
                       "€": "e", "!": "i", "|": "l", "8": "b"})
_REPEAT = re.compile(r"(\w)\1{2,}")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)


class Token(NamedTuple):
    """One word (a named tuple: tokenizing is on the hot path of every check)."""

    text: str       # as written
    folded: str     # compared form
    start: int
    end: int


@lru_cache(maxsize=65536)
def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("œ", "oe").replace("æ", "ae")


@lru_cache(maxsize=65536)
def fold(word: str) -> str:
    """The compared form of one word (see the module docstring)."""
    lowered = strip_accents(word.lower().replace("ß", "ss"))
    if _LETTER.search(lowered) and any(c in lowered for c in "0134578@$€!|"):
        lowered = lowered.translate(_LEET)
    return _REPEAT.sub(r"\1", lowered)


@lru_cache(maxsize=4096)
def _fold_char(c: str) -> str:
    base = strip_accents(c.lower())
    return base if len(base) == 1 else c.lower()[:1] or c


class _FoldTable(dict):
    """``str.translate`` table built on demand: each character folded once, then looked up."""

    def __missing__(self, code: int) -> str:
        value = self[code] = _fold_char(chr(code))
        return value


_FOLD_TABLE = _FoldTable({ord("’"): "'"})


def fold_text(text: str) -> str:
    """Lower case without accents, one character for one, so spans in it are spans in ``text``.

    Apostrophes are unified to ``'``.
    """
    return text.translate(_FOLD_TABLE)


_new_tuple = tuple.__new__


def tokenize(text: str) -> list[Token]:
    return [_new_tuple(Token, (m[0], fold(m[0]), m.start(), m.end())) for m in _WORD.finditer(text)]


_SEP = re.compile(r"^[ .\-_·]{1,2}$")


_SPACED_HINT = re.compile(r"(?<![\w*@$€])[\w*@$€][ .\-_·]{1,2}[\w*@$€][ .\-_·]{1,2}[\w*@$€](?![\w*@$€])")


def spaced_runs(text: str, tokens: list[Token]) -> list[Token]:
    """Words typed letter by letter: three or more one-character tokens joined by spaces or dots."""
    if not _SPACED_HINT.search(text):
        return []  # fast path: no three single characters in a row
    runs: list[Token] = []
    i = 0
    while i < len(tokens):
        j = i
        while (j + 1 < len(tokens) and len(tokens[j].text) == 1 and len(tokens[j + 1].text) == 1
               and _SEP.match(text[tokens[j].end:tokens[j + 1].start])):
            j += 1
        if j - i >= 2 and len(tokens[i].text) == 1:
            word = "".join(t.text for t in tokens[i:j + 1])
            runs.append(Token(text[tokens[i].start:tokens[j].end], fold(word), tokens[i].start, tokens[j].end))
            i = j + 1
        else:
            i += 1
    return runs
