"""The tone rules: small pure functions over (reply, message analysis, context).

Each rule has a stable id and a severity (DESIGN.md's table); ``TONE_RULES`` lists them in report
order. A rule returns the violations it finds, each with the words at fault and their span in the
reply. The patterns and word lists are data, in ``drafter/lexicons/``.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from importlib import resources

from .analysis import Analysis, fact_variants, find_insults
from .constants import LENGTH_BOUNDS
from .context import Context
from .language import foreign_sentences, language_scores
from .lexicons import load_lexicon, load_words
from .tokens import Token, fold, fold_text, tokenize
from .wordregex import TextWords, WordRegex, _cached_first_words, lazy_compile, save_index

HARD = "hard"
SOFT = "soft"


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: str
    message: str
    start: int = 0
    end: int = 0
    text: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "severity": self.severity, "message": self.message,
                "start": self.start, "end": self.end, "text": self.text}


@dataclass
class Reply:
    """A reply under review, with what the rules need precomputed once."""

    text: str
    language: str | None                 # the language the reply must be in
    channel: str
    context: Context
    message: str | None = None
    analysis: Analysis | None = None
    folded: str = field(init=False)
    tokens: list[Token] = field(init=False)
    words: TextWords = field(init=False)
    echo_cache: list[tuple[int, int, str]] | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        self.folded = fold_text(self.text)
        self.tokens = tokenize(self.text)
        self.words = TextWords(self.folded)   # for drafter.wordregex

    def names(self) -> set[str]:
        """Words of the names in the context (a company called "ZAP" is not shouting)."""
        words: set[str] = set()
        for name in (self.context.company, self.context.agent, self.context.customer_name):
            if name:
                words.update(t.text for t in tokenize(name))
        return words


@dataclass(frozen=True)
class ToneRule:
    id: str
    severity: str
    description: str
    check: Callable[[Reply], list[Violation]]


@cache
def _patterns() -> dict:
    raw = resources.files("drafter").joinpath("lexicons", "tone_patterns.toml").read_bytes()
    data = tomllib.loads(raw.decode("utf-8"))
    # [words]: named alternations (word classes) that patterns use as {{name}}
    words = {name: "(?:" + "|".join(items) + ")" for name, items in data.pop("words", {}).items()}

    def expand(pattern: str) -> str:
        return _MACRO.sub(lambda m: words[m.group(1)] if m.group(1) in words else m.group(), pattern)

    def comp(value: object) -> object:
        if isinstance(value, (str, list)):
            return _LazyRegex([expand(p) for p in ([value] if isinstance(value, str) else value)])
        return {k: comp(v) for k, v in value.items()}  # type: ignore[union-attr]

    compiled = {k: comp(v) for k, v in data.items()}
    for k, v in data.items():  # the two languages together, tried word by word (drafter.wordregex)
        if isinstance(v, dict) and isinstance(v.get("fr"), list) and isinstance(v.get("en"), list):
            compiled[k]["both"] = WordRegex([expand(p) for p in v["fr"] + v["en"]])
    compiled["overpromise"]["fast"] = {kind: WordRegex([expand(p) for p in data["overpromise"][kind]])
                                       for kind in _COMMITMENTS}
    save_index()
    return compiled


class _LazyRegex:
    """A compiled pattern made on first use: a CLI run checks one reply and needs only some rules'
    patterns, and compiling them all costs more than the rest of a draft."""

    __slots__ = ("patterns", "_compiled")

    def __init__(self, patterns: list[str]) -> None:
        self.patterns, self._compiled = patterns, None

    def __getattr__(self, name: str) -> object:
        if self._compiled is None:
            self._compiled = re.compile(_alternation(self.patterns), re.MULTILINE)
        return getattr(self._compiled, name)


_MACRO = lazy_compile(r"\{\{(\w+)\}\}")


def _alternation(patterns: list[str]) -> str:
    """One regex for a list of patterns, fast: the alternatives that begin at a word boundary share one
    word-start test, so the engine does not try each of them inside every word."""
    # only the alternatives known to start with a word character ("\b'll" does not)
    starts_word = [p.startswith(r"\b") and _cached_first_words(p) is not None for p in patterns]
    at_word = [p[2:] for p, w in zip(patterns, starts_word, strict=True) if w]
    others = [f"(?:{p})" for p, w in zip(patterns, starts_word, strict=True) if not w]
    parts = ([r"(?=\w)\b(?:" + "|".join(f"(?:{p})" for p in at_word) + ")"] if at_word else []) + others
    return "|".join(parts)


def _both(rule: str) -> list[WordRegex]:
    """A reply is checked with the patterns of both languages: a French reply may hold English."""
    return [_patterns()[rule]["both"]]


def _find(patterns: list[WordRegex], reply: Reply) -> list[re.Match[str]]:
    return [m for p in patterns for m in p.finditer(reply.folded, reply.words)]


def _violation(rule: ToneRuleSpec, message: str, reply: Reply | None = None, start: int = 0,
               end: int = 0) -> Violation:
    return Violation(rule.id, rule.severity, message, start, end, reply.text[start:end] if reply else "")


@dataclass(frozen=True)
class ToneRuleSpec:
    id: str
    severity: str


# --- hard rules ------------------------------------------------------------------------------------

# Before an echoed insult word, in the same sentence: the customer's words or view are reported ("you called
# us clowns", "you feel we're thieves", "vous nous traitez d'escrocs") or denied ("we're not scammers").
# Such a reply breaks echo_insult, not insult.
_SELF_APPLIED = lazy_compile(
    r"\b(?:je ne suis (?:pas|ni)|je suis pas|nous ne sommes (?:pas|ni)|on n'est (?:pas|ni)|on est pas|i'?m not|i am not|we'?re not|"
    r"we are not|we aren'?t|we'?re neither|we are neither|(?:our|nos|notre) \w+ (?:are not|aren'?t|is not|isn'?t|ne sont (?:pas|ni)|n'est (?:pas|ni)))"
    r"(?:\W+\w+){0,3}\W*$")
_CONCESSION_AFTER = lazy_compile(r"^\W{0,3}(?:maybe|perhaps|possibly|peut-etre|sans doute|admettons|soit)\b")
_REPORTING = lazy_compile(
    r"\b(trait\w*|qualifi\w*|call\w*|term\w*|describ\w*|said|says?|saying|dites|disiez|ecri\w*|wrote|written|parl\w*|"
    r"mot|mots|word|words|propos|remarks?|comments?|using|employ\w*|utilis\w*|feel\w*|felt|think\w*|thought|believ\w*|"
    r"consider\w*|see|seeing|seem\w*|view|find\w*|found|pens\w*|trouv\w*|estim\w*|jug\w*|voyez|voyiez|sembl\w*|"
    r"sentiment|impression|avis)\W+(\w+\W+){0,6}$"
    r"|\b(not|never|n't|no|ne sommes pas|ne suis pas|n'etes pas|ne sont pas|pas|jamais)\W+(\w+\W+){0,1}$")
_SENTENCE_START = lazy_compile(r"[.!?\n][^.!?\n]*$")


def _echoes(reply: Reply) -> list[tuple[int, int, str]]:
    """Spans of the reply that repeat an insult word of the customer's message (computed once per reply)."""
    if reply.echo_cache is None:
        reply.echo_cache = _find_echoes(reply)
    return reply.echo_cache


def _find_echoes(reply: Reply) -> list[tuple[int, int, str]]:
    if not reply.analysis or not reply.analysis.insults:
        return []
    generic = {"bande", "espece", "tas", "bunch", "pack", "you", "vous", "your", "votre", "the", "les", "des",
               "de", "of", "sale", "pauvre", "gros", "grosse", "are", "etes", "what", "such", "this", "that", "lot",
               "all", "une", "est", "sont", "pour", "qui", "absolute", "utter", "total", "complete", "real"}
    said: set[str] = set()
    for insult in reply.analysis.insults:
        if insult.target == "other":
            continue  # swearing at nothing ("bloody hell", "putain"): no insult word to echo
        words = [t.folded for t in tokenize(insult.text) if len(t.folded) >= 3 and t.folded not in generic]
        if len(words) <= 3:  # a demeaning sentence ("un enfant de six ans ferait mieux") has no word to echo
            said.update(words)
    hits = []
    for token in reply.tokens:
        word = token.folded
        if any(_same_word(word, insult) for insult in said):
            hits.append((token.start, token.end, token.text))
    return hits


_INFLECTIONS = ("s", "e", "es", "x", "ee", "ees", "ed", "ing")


def _same_word(a: str, b: str) -> bool:
    """One word in two forms: idiot/idiots, incompétent/incompétents/incompétence, voleur/voleurs — not pour/pourris."""
    if a == b:
        return True
    short, long_ = sorted((a, b), key=len)
    if long_.startswith(short) and long_[len(short):] in _INFLECTIONS:
        return True
    common = 0
    while common < len(short) and short[common] == long_[common]:
        common += 1
    return common >= 6 and len(long_) - common <= 3


_INSULT = ToneRuleSpec("insult", HARD)


def rule_insult(reply: Reply) -> list[Violation]:
    names = {fold(w) for w in reply.names()}
    echoed = {(s, e) for s, e, _ in _echoes(reply)}
    found: list[Violation] = []
    hits = [(i.start, i.end, i.text) for i in find_insults(reply.text, reply.tokens, reply.words)]
    hits += [(m.start, m.end, m.text) for m in load_lexicon("demeaning.fr.txt", "demeaning.en.txt").find(
        reply.text, reply.tokens)]
    hits += [(m.start(), m.end(), reply.text[m.start():m.end()]) for m in _find(_both("insult"), reply)]
    for start, end, text in sorted(set(hits)):
        if fold(text) in names:
            continue
        before = reply.folded[max(0, start - 80):start]
        cut = _SENTENCE_START.search(before)
        before = before[cut.start() + 1:] if cut else before
        if any(s < end and start < e for s, e in echoed) and (
                _REPORTING.search(before) or _SELF_APPLIED.search(before)
                or (not before.strip() and _CONCESSION_AFTER.search(reply.folded[end:end + 20]))):
            # "vous nous traitez d'escrocs", "je ne suis pas un bot débile", "Useless, maybe, but quick": the
            # customer's word quoted, denied or conceded (echo_insult), not an insult of ours
            continue
        found.append(_violation(_INSULT, f"insulting or demeaning words: \"{text}\"; remove them", reply, start, end))
    return found


_BLAME = ToneRuleSpec("blame", HARD)


def rule_blame(reply: Reply) -> list[Violation]:
    return [_violation(_BLAME, f"blames or lectures the customer (\"{reply.text[m.start():m.end()]}\"); "
                               "state the facts and what you do instead", reply, m.start(), m.end())
            for m in _find(_both("blame"), reply)]


_THREAT = ToneRuleSpec("threat", HARD)


# a closure the customer asked for ("if you wish, your account will be closed on the 30th") or a protection
# ("en cas de fraude, votre carte sera bloquée") is a service, not a sanction
_NOT_A_SANCTION = lazy_compile(
    r"\b(?:si vous (?:le )?(?:souhait|voul|desir|prefer)\w*|comme vous le (?:souhait|demand)\w*|a votre demande|comme demande|"
    r"selon votre (?:demande|souhait)|vous (?:souhaitez|voulez|desirez|avez demande)|if you (?:wish|want|would like|'d like|prefer)|"
    r"should you (?:wish|want)|as (?:you )?(?:requested|asked|instructed|wished)|at your request|you (?:asked|requested|wish|want)"
    r"|fraude|fraud\w*|stolen|lost|perte|vol de|pour vous proteger|to protect you|for your (?:security|protection)"
    r"|pour votre (?:securite|protection))\b")


def rule_threat(reply: Reply) -> list[Violation]:
    found = []
    for m in _find(_both("threat"), reply):
        sentence = _sentence_around(reply.folded, m.start(), m.end())
        if _NOT_A_SANCTION.search(sentence):
            continue
        found.append(_violation(_THREAT, f"threatens the customer (\"{reply.text[m.start():m.end()]}\"); never threaten",
                                reply, m.start(), m.end()))
    return found


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence that holds text[start:end]."""
    left = max(text.rfind(c, 0, start) for c in ".!?\n")
    rights = [i for i in (text.find(c, end) for c in ".!?\n") if i >= 0]
    return text[left + 1:min(rights) if rights else len(text)]


_PLACEHOLDER = lazy_compile(r"\{\{.*?\}\}|\{[A-Za-z_][\w ]{0,30}\}|\[[^\[\]\n]{2,40}\](?!\()|"
                          # <NAME>, <agent_name>, <nom du client>, but no HTML tag (<br>, <p>, <strong>)
                          r"<(?!(?:br|p|b|i|u|a|em|strong|div|span|li|ul|ol|hr|html|body|head|table|tr|td|th|img|small|sub|sup)\b)[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ_' ]{1,30}>|"
                          r"\bX{3,}\b|\b(?:NAME|NOM|PRENOM|PRÉNOM|AGENT_NAME|CUSTOMER_NAME)\b")
_CAPS = lazy_compile(r"(?<![\w-])[A-ZÀ-ÖØ-Þ][A-ZÀ-ÖØ-Þ'’-]*[A-ZÀ-ÖØ-Þ](?![\w-])")
_SHOUTING = ToneRuleSpec("shouting", HARD)


# how English and French words may begin: a short word in capitals that begins otherwise ("DVLA", "CPAM")
# or has no vowel ("PSG") cannot be read as a word, so it is an acronym
_ONSETS = frozenset("bl br ch cl cr dr fl fr gl gr pl pr sc sh sk sl sm sn sp st sw th tr tw wh wr ph qu kn gn ps "
                    "pn sq sv vr".split())
_VOWELS = frozenset("AEIOUYÀÂÄÆÉÈÊËÎÏÔÖŒÙÛÜ")


def _spelled_out(word: str) -> bool:
    letters = [c for c in word if c.isalpha()]
    if not any(c in _VOWELS for c in letters):
        return True
    return len(letters) <= 4 and letters[0] not in _VOWELS and letters[1] not in _VOWELS and \
        fold("".join(letters[:2])) not in _ONSETS


def rule_shouting(reply: Reply) -> list[Violation]:
    acronyms = load_words("acronyms.txt")
    names = reply.names()
    placeholders = [m.span() for m in _PLACEHOLDER.finditer(reply.text)]
    found = []
    for m in _CAPS.finditer(reply.text):
        word = m.group()
        letters = sum(c.isalpha() for c in word)
        if letters < 3 or word in acronyms or word in names or word.replace("-", "") in acronyms:
            continue
        if _spelled_out(word):
            continue  # an acronym read letter by letter (PSG, SNCF, DVLA), not a word
        if any(s <= m.start() and m.end() <= e for s, e in placeholders):
            continue  # XXX, <NAME>: a placeholder (leak), not shouting
        if re.search(r"\d", reply.text[max(0, m.start() - 1):m.end() + 1]):
            continue  # codes such as AB123
        found.append(_violation(_SHOUTING, f"word in capitals \"{word}\"; write it in lower case",
                                reply, m.start(), m.end()))
    bangs = [m.start() for m in re.finditer("!", reply.text)]
    if len(bangs) > 1:
        found.append(_violation(_SHOUTING, f"{len(bangs)} exclamation marks; use none", reply, bangs[0], bangs[0] + 1))
    return found


_TU_WORDS = {"tu", "toi", "te", "ta", "tes", "ton", "tien", "tienne", "tiens", "tiennes", "t"}
_TON_NOUN_BEFORE = {"un", "le", "ce", "du", "meme", "quel", "votre", "notre", "leur", "bon", "mauvais", "son",
                    "cet", "d", "au", "autre"}
_TON_NOUN_AFTER = lazy_compile(r"^\s*(courtois|calme|respectueux|cordial|poli|agressif|employe|utilise|correct|serein|"
                             r"plus|sec|froid|neutre|apaise|vif|monte|eleve|de la|de voix|des echanges|sur|empathique|formel|"
                             r"chaleureux|professionnel|bienveillant|amical|rassurant|ferme|pose|doux|ironique|familier|"
                             r"condescendant|adapte|approprie|juste|trop)")
_CLITICS = frozenset({"vous", "nous", "le", "la", "les", "l", "en", "y", "lui", "leur", "me", "m"})


def _first_person_before(tokens: list[Token], i: int) -> bool:
    """Is token i the verb of "je" ("je tiens", "je vous tiens", "je m'en tiens")?"""
    j = i - 1
    while j >= 0 and tokens[j].folded in _CLITICS:
        j -= 1
    return j >= 0 and tokens[j].folded in ("je", "j")


# before "-moi/-nous": vous forms (dites-moi), prepositions, and pronouns of a chain (envoyez-les-nous)
_NOT_TU_BEFORE_HYPHEN = frozenset({"vous", "chez", "entre", "peut", "vis", "avec", "apres", "pour", "dites", "faites",
                                   "le", "la", "les", "en", "y", "leur"})
_IMPERATIVE_HYPHEN = lazy_compile(r"\b([a-z]+)(?:-(?:le|la|les|en|y|leur))?-(moi|nous|lui|toi)\b")
_IMPERATIVE_START = lazy_compile(
    r"(?:^|[.!?:\n]\s*)(?:n'|ne )?(hesite|inquiete|"
    r"regarde|verifie|envoie|dis|attends|fais|essaie|essaye|redemarre|rappelle|clique|contacte|"
    r"patiente|sois|calme|ecoute|lis|relis|ouvre|note|va|viens|appelle|tape|debranche|rebranche|connecte|reessaie|"
    r"mets|prends|donne|pense|oublie|laisse|excuse|sache|vois|cherche|remplis|choisis|confirme|indique|precise)\s",
    re.MULTILINE)
_REGISTER = ToneRuleSpec("register", HARD)


def rule_register(reply: Reply) -> list[Violation]:
    if reply.language != "fr":
        return []
    found = []
    tokens = reply.tokens
    for i, token in enumerate(tokens):
        word = token.folded
        if word not in _TU_WORDS:
            continue
        if word == "t":
            after = reply.text[token.end:token.end + 1]
            if after not in ("'", "’"):
                continue
            before = reply.text[max(0, token.start - 1):token.start]
            if before == "-":  # a-t-il
                continue
        if word == "ton":
            prev = tokens[i - 1].folded if i else ""
            if prev in _TON_NOUN_BEFORE or _TON_NOUN_AFTER.match(reply.folded[token.end:token.end + 20]):
                continue
        if word in ("te", "ta") and reply.text[token.start:token.end] in ("TE", "TA"):
            continue
        if word == "tiens" and _first_person_before(tokens, i):
            continue  # "je tiens à", "je vous tiens informé": first person
        if word == "te" and i + 1 < len(tokens) and tokens[i + 1].folded == "deum":
            continue
        found.append(_violation(_REGISTER, f"tutoiement (\"{token.text}\"); always write vous", reply,
                                token.start, token.end))
    for m in _IMPERATIVE_HYPHEN.finditer(reply.folded):
        verb = m.group(1)
        if verb.endswith(("ez", "ons")) or verb in _NOT_TU_BEFORE_HYPHEN:
            continue
        found.append(_violation(_REGISTER, f"imperative with tu (\"{reply.text[m.start():m.end()]}\"); use the vous form",
                                reply, m.start(), m.end()))
    for m in _IMPERATIVE_START.finditer(reply.folded):
        found.append(_violation(_REGISTER, f"imperative with tu (\"{reply.text[m.start(1):m.end(1)]}\"); use the vous form",
                                reply, m.start(1), m.end(1)))
    return found


_LANGUAGE = ToneRuleSpec("language", HARD)
_LANGUAGE_NAMES = {"fr": "French", "en": "English"}


def rule_language(reply: Reply) -> list[Violation]:
    if reply.language not in ("fr", "en"):
        return []
    fr, en = language_scores(reply.text)
    expected, other = (fr, en) if reply.language == "fr" else (en, fr)
    if other >= 3 and other > 1.5 * expected:
        return [_violation(_LANGUAGE, f"not written in {_LANGUAGE_NAMES[reply.language]}, the customer's language",
                           reply, 0, min(len(reply.text), 60))]
    # a sentence in another language: a pasted macro, a model that switched, a reply in German or Spanish
    return [_violation(_LANGUAGE, f"a sentence not in {_LANGUAGE_NAMES[reply.language]}, the customer's language "
                       f"(\"{reply.text[start:end].strip()[:60]}\")", reply, start, end)
            for start, end in foreign_sentences(reply.text, reply.language, reply.folded)[:1]]


_OVERPROMISE = ToneRuleSpec("overpromise", HARD)
# what a reply may commit to only when policy.allowed says so (callbacks are not commitments: evals/README.md)
_COMMITMENTS = ("refund", "compensation", "voucher", "discount", "free_shipping", "replacement", "guarantee",
                "deadline")
_CLAUSE_BREAK = lazy_compile(r"[;:,]\s|\s(?:but|mais|however|cependant|toutefois|and|et)\s")
_SENTENCE = lazy_compile(r"[^.!?\n]+[.!?]?")
_TIME = lazy_compile(r"(\d+)\s*(h|heures?|hours?|hrs?|jours?|days?|business days|working days|jours ouvres)")


def _same_time(found: str, allowed: str | None) -> bool:
    if not allowed:
        return False
    a, b = _TIME.search(found), _TIME.search(fold_text(allowed))
    return bool(a and b and a.group(1) == b.group(1) and a.group(2)[0] == b.group(2)[0])


def rule_overpromise(reply: Reply) -> list[Violation]:
    patterns = _patterns()["overpromise"]
    policy = reply.context.policy
    found: list[Violation] = []
    fast = patterns["fast"]
    kinds = [kind for kind in _COMMITMENTS if fast[kind].search(reply.folded, reply.words)]
    if not kinds:
        return found
    for sentence in _SENTENCE.finditer(reply.folded):
        text = sentence.group()
        for kind in kinds:
            m = patterns[kind].search(text)
            if not m:
                continue
            before = text[:m.start()]
            breaks = list(_CLAUSE_BREAK.finditer(before))
            clause = before[breaks[-1].end():] if breaks else before
            if patterns["hedges"].search(clause):
                continue  # "I'm checking whether a refund is possible": a check, not a commitment
            if kind == "deadline" and (policy.allows("deadline") or _same_time(text[m.start():], policy.response_time)):
                continue
            if kind != "guarantee" and kind != "deadline" and policy.allows(kind):
                continue
            start, end = sentence.start() + m.start(), sentence.start() + m.end()
            what = kind.replace("_", " ")
            found.append(_violation(_OVERPROMISE, f"commits to a {what} that the policy does not allow "
                                    f"(\"{reply.text[start:end]}\"); promise only to check", reply, start, end))
            break
    return found


_LEAK = ToneRuleSpec("leak", HARD)


def rule_leak(reply: Reply) -> list[Violation]:
    found = [_violation(_LEAK, f"placeholder \"{m.group()}\" left in; write the real value or remove it",
                        reply, m.start(), m.end()) for m in _PLACEHOLDER.finditer(reply.text)]
    pats = _patterns()["leak"]
    found += [_violation(_LEAK, f"prompt text in the reply (\"{reply.text[m.start():m.end()].strip()}\")",
                         reply, m.start(), m.end()) for m in pats["prompt"].finditer(reply.folded)]
    found += [_violation(_LEAK, f"refers to an AI or a model (\"{reply.text[m.start():m.end()]}\"); write as the agent",
                         reply, m.start(), m.end()) for m in pats["ai"].finditer(reply.folded)]
    found += _personal_echoes(reply)
    return found


def _personal_echoes(reply: Reply) -> list[Violation]:
    """Card numbers, IBANs, e-mail addresses and phone numbers from the message, repeated in the reply."""
    if reply.analysis is None or not reply.analysis.personal_data:
        return []
    found = []
    lowered = reply.text.lower()
    digits_only = re.sub(r"\D", "", reply.text)
    for item in reply.analysis.personal_data:
        digits = re.sub(r"\D", "", item)
        where = lowered.find(item.lower())
        if where >= 0 or (len(digits) >= 8 and digits in digits_only):
            start, end = (where, where + len(item)) if where >= 0 else (0, 0)
            found.append(_violation(_LEAK, "repeats the customer's personal data (card, IBAN, e-mail or phone); "
                                    "never echo it", reply, start, end))
    return found


_ECHO = ToneRuleSpec("echo_insult", HARD)


def rule_echo_insult(reply: Reply) -> list[Violation]:
    return [_violation(_ECHO, f"repeats the customer's insult \"{text}\"; never quote it", reply, s, e)
            for s, e, text in _echoes(reply)]


# --- soft rules ------------------------------------------------------------------------------------

_ACK = ToneRuleSpec("acknowledge", SOFT)


def rule_acknowledge(reply: Reply) -> list[Violation]:
    if _patterns()["acknowledge"]["both"].search(reply.folded, reply.words):
        return []
    return [_violation(_ACK, "does not recognise the customer's feeling or situation; name it without judging")]


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


_STOP = frozenset("""
bonjour madame monsieur merci votre notre depuis toujours encore quand comment pourquoi avoir etre faire
cette votre vous nous avec pour dans plus tres rien jamais alors hello thanks thank please your their
there where about after before still would could should being have been since with from this that
these those what when which while will just very really order commande client service
""".split())


# numbers written in words: a reply may say "three weeks" for the customer's "3 weeks" ("un"/"a" are left out:
# they are articles far more often than numbers)
_NUMBER_WORDS = {w: str(n) for n, words in enumerate((
    (), (), ("two", "deux"), ("three", "trois"), ("four", "quatre"), ("five", "cinq"), ("six",), ("seven", "sept"),
    ("eight", "huit"), ("nine", "neuf"), ("ten", "dix"), ("eleven", "onze"), ("twelve", "douze"), ("thirteen", "treize"),
    ("fourteen", "quatorze"), ("fifteen", "quinze"), ("sixteen", "seize"), ("seventeen",), ("eighteen",), ("nineteen",),
    ("twenty", "vingt"))) for w in words}
_NUMBER_WORD = lazy_compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b")
_MONTH_WORDS = {m: i % 12 for i, m in enumerate(
    "janvier fevrier mars avril mai juin juillet aout septembre octobre novembre decembre "
    "january february march april may june july august september october november december".split())}
# an English month alone is written with a capital ("my May bill"); lower-case "may", "march" are verbs
_MONTH = lazy_compile(r"\b(?:(?i:janvier|f[ée]vrier|mars|avril|mai|juin|juillet|ao[uû]t|septembre|octobre|novembre|"
                    r"d[ée]cembre|january|february|april|june|july|august|september|october|november|december)"
                    r"|May|March)\b")


def _in_figures(folded: str) -> str:
    """The text with the small numbers written in words as figures ("three weeks" -> "3 weeks")."""
    return _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(1)], folded)


def _months(text: str) -> set[int]:
    """The months a text names (as 0-11), French or English."""
    return {_MONTH_WORDS[fold(m.group())] for m in _MONTH.finditer(text)}


@cache
def _product_groups() -> tuple[dict[str, int], re.Pattern[str]]:
    """products.txt: each folded word or phrase -> its concept, and one pattern that finds them all (with plurals)."""
    groups: dict[str, int] = {}
    for i, line in enumerate(sorted(load_words("products.txt"))):
        for word in line.split("|"):
            if word.strip():
                groups[fold_text(word.strip())] = i
    words = sorted(groups, key=len, reverse=True)
    return groups, re.compile(r"\b(" + "|".join(re.escape(w) for w in words) + r")(?:s|x|es)?\b")


def _products(folded: str) -> set[int]:
    groups, pattern = _product_groups()
    return {groups[m.group(1)] for m in pattern.finditer(folded)}


def rule_restate(reply: Reply) -> list[Violation]:
    analysis = reply.analysis
    if analysis is None or reply.message is None:
        return []
    facts = analysis.facts
    if facts:
        figures = _in_figures(reply.folded)
        reply_digits = re.findall(r"\d+(?:[.,]\d+)?", figures)
        reply_numbers = {_digits(n) for n in reply_digits}
        for fact in facts.all():
            key = _digits(_in_figures(fold_text(fact)))
            if key and (key in reply_numbers or key in _digits(figures)):
                return []
            if not key and any(re.search(rf"\b{re.escape(v)}\b", reply.folded) for v in fact_variants(fact)):
                return []
        # any other figure of the message repeated (40 employés, 12 salariés) restates it too
        message_numbers = {_digits(n) for n in re.findall(r"\d+(?:[.,]\d+)?", reply.message)}
        if any(len(n) >= 2 and n in message_numbers for n in reply_numbers):
            return []
        # the facts named otherwise: the month of the bill ("your May bill"), the product ("your fridge" for "my
        # fridge", "le réfrigérateur" for "mon frigo")
        if _months(reply.message) & _months(reply.text):
            return []
        if _products(fold_text(reply.message)) & _products(reply.folded):
            return []
        return [_violation(_RESTATE, "does not restate the customer's facts ("
                           + ", ".join(facts.all()[:3]) + "); name them")]
    message_words = {t.folded for t in tokenize(reply.message) if len(t.folded) >= 5 and t.folded not in _STOP}
    stems = {w[:5] for w in message_words}
    if any(len(t.folded) >= 5 and t.folded[:5] in stems for t in reply.tokens if t.folded not in _STOP):
        return []
    return [_violation(_RESTATE, "does not name the customer's problem; restate it in their words")]


_RESTATE = ToneRuleSpec("restate", SOFT)
_BOUNDARY = ToneRuleSpec("boundary", SOFT)


def rule_boundary(reply: Reply) -> list[Violation]:
    analysis = reply.analysis
    if analysis is None:
        return []
    limits = _find(_both("boundary"), reply)
    expected = analysis.insulted and not analysis.escalate
    if expected and not limits:
        return [_violation(_BOUNDARY, "the customer insulted: add one calm sentence asking to keep the exchange "
                           "courteous")]
    if not expected and limits:
        m = limits[0]
        why = "the customer is at risk: drop the courtesy reminder" if analysis.escalate else \
            "the customer did not insult: drop the courtesy reminder"
        return [_violation(_BOUNDARY, why, reply, m.start(), m.end())]
    return []


_NEXT = ToneRuleSpec("next_step", SOFT)


def rule_next_step(reply: Reply) -> list[Violation]:
    if _patterns()["next_step"]["both"].search(reply.folded, reply.words):
        return []
    return [_violation(_NEXT, "proposes no concrete next step; say what you do now or what you need")]


_YES_BUT = ToneRuleSpec("yes_but", SOFT)


def rule_yes_but(reply: Reply) -> list[Violation]:
    pats = _patterns()["yes_but"]
    contrast = pats["contrast"]
    empathy = [pats["empathy_fr"], pats["empathy_en"]]
    sentences = list(_SENTENCE.finditer(reply.folded))
    for i, sentence in enumerate(sentences):
        text = sentence.group()
        marks = [m for p in empathy for m in p.finditer(text)]
        if not marks:
            continue
        first = min(m.end() for m in marks)
        later = contrast.search(text, first)
        if later and later.start() - first < 200:
            s = sentence.start() + later.start()
            return [_violation(_YES_BUT, f"takes the empathy back with \"{reply.text[s:s + len(later.group())]}\"",
                               reply, s, s + len(later.group()))]
        if i + 1 < len(sentences):
            nxt = sentences[i + 1]
            body = nxt.group().lstrip()
            offset = nxt.start() + len(nxt.group()) - len(body)
            # "I understand. But…" at the head of the next sentence; an adverb ("Je vous demande toutefois de…")
            # within its first words
            head = contrast.match(body) or pats["contrast_adverb"].search(body, 0, 30)
            if head:
                s = offset + head.start()
                return [_violation(_YES_BUT, f"takes the empathy back with \"{reply.text[s:offset + head.end()]}\"",
                                   reply, s, offset + head.end())]
    return []


_MINIMIZE = ToneRuleSpec("minimize", SOFT)


# a minimiser denied or turned into a stress ("it's not just a small delay", "ce n'est pas qu'un petit retard",
# "même un petit retard est de trop"); "ce n'est qu'un petit retard" (ne… que) still minimises
_DENIED = lazy_compile(r"\b(?:not|n't|pas|never|jamais|even|meme|nothing like|loin d'etre|far from)[ ']+(?:\w+[ ']+){0,2}$")


def rule_minimize(reply: Reply) -> list[Violation]:
    return [_violation(_MINIMIZE, f"minimises the problem (\"{reply.text[m.start():m.end()]}\")", reply,
                       m.start(), m.end()) for m in _find(_both("minimize"), reply)
            if not _DENIED.search(reply.folded[max(0, m.start() - 30):m.start()])]


_SARCASM = ToneRuleSpec("sarcasm", SOFT)


def rule_sarcasm(reply: Reply) -> list[Violation]:
    return [_violation(_SARCASM, f"sounds ironic (\"{reply.text[m.start():m.end()].strip()}\")", reply,
                       m.start(), m.end()) for m in _find(_both("sarcasm"), reply)]


_EMOJI = lazy_compile(
    "[\U0001F300-\U0001FAFF\U00002600-\U000027BF\U0001F000-\U0001F2FF\U0001F900-\U0001F9FF\u2B50\u2B55\u203C\u2049"
    "\u2122\u2139\u231A-\u231B\u23E9-\u23FA\uFE0F\u200D]"
    r"|(?<![\w:/])[:;=][-'^]?[)(DPpOo3*|\]\[/\\](?![\w/])|(?<!\w)\^\^(?!\w)|(?<!\w)[xX]D(?!\w)|<3")
_EMOJI_RULE = ToneRuleSpec("emoji", SOFT)


def rule_emoji(reply: Reply) -> list[Violation]:
    return [_violation(_EMOJI_RULE, f"emoji or emoticon \"{m.group()}\"; remove it", reply, m.start(), m.end())
            for m in _EMOJI.finditer(reply.text)]


_LENGTH = ToneRuleSpec("length", SOFT)


def rule_length(reply: Reply) -> list[Violation]:
    low, high = LENGTH_BOUNDS.get(reply.channel, LENGTH_BOUNDS["email"])
    n = len(reply.text.strip())
    if n < low:
        return [_violation(_LENGTH, f"{n} characters, under the {low} a {reply.channel} reply needs")]
    if n > high:
        return [_violation(_LENGTH, f"{n} characters, over the {high} a {reply.channel} reply allows")]
    return []


# each rule's id and severity are stated once, in its spec above
TONE_RULES: tuple[ToneRule, ...] = tuple(ToneRule(spec.id, spec.severity, description, check) for spec, description, check in (
    (_INSULT, "insults, swears at or demeans anyone", rule_insult),
    (_BLAME, "blames, accuses or lectures the customer", rule_blame),
    (_THREAT, "threatens the customer", rule_threat),
    (_SHOUTING, "writes words in capitals or more than one '!'", rule_shouting),
    (_REGISTER, "(French) uses tu instead of vous", rule_register),
    (_LANGUAGE, "is not in the customer's language", rule_language),
    (_OVERPROMISE, "commits to what the policy does not allow", rule_overpromise),
    (_LEAK, "holds a placeholder, prompt text, an AI self-reference or the customer's personal data", rule_leak),
    (_ECHO, "repeats the customer's insult words", rule_echo_insult),
    (_ACK, "does not recognise the customer's feeling or situation", rule_acknowledge),
    (_RESTATE, "does not restate the customer's concrete problem", rule_restate),
    (_BOUNDARY, "lacks a calm limit after an insult, or sets one without", rule_boundary),
    (_NEXT, "proposes no concrete action or precise request", rule_next_step),
    (_YES_BUT, "takes empathy back with but/however", rule_yes_but),
    (_MINIMIZE, "minimises the problem", rule_minimize),
    (_SARCASM, "is ironic or sarcastic", rule_sarcasm),
    (_EMOJI_RULE, "contains emoji", rule_emoji),
    (_LENGTH, "is outside the channel's length bounds", rule_length),
))
RULE_IDS: tuple[str, ...] = tuple(rule.id for rule in TONE_RULES)
HARD_RULE_IDS: frozenset[str] = frozenset(rule.id for rule in TONE_RULES if rule.severity == HARD)
