"""What a customer's message says, read offline: language, insults, anger, threats, facts, topic.

``analyze_message`` is pure and fast (no network, no model); every later step (prompts, the offline
composer, the tone rules) reads its ``Analysis``.
"""

from __future__ import annotations

import re
import tomllib
from bisect import bisect_left, bisect_right
from dataclasses import asdict, dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from .constants import DEFAULT_LANGUAGE
from .language import detect_language
from .lexicons import Match, load_lexicon, load_words
from .tokens import Token, fold_text, tokenize
from .wordregex import TextWords, WordRegex, lazy_compile

THREAT_KINDS = ("legal", "review", "churn", "violence", "self_harm")
ESCALATING_THREATS = frozenset({"violence", "self_harm"})
TOPICS = ("delivery", "billing", "defect", "outage", "support", "account", "other")
TARGETS = ("agent", "company", "product", "other")


@dataclass(frozen=True)
class Insult:
    text: str
    start: int
    end: int
    target: str          # agent, company, product or other (swearing at nothing in particular)


@dataclass(frozen=True)
class Facts:
    order_ids: tuple[str, ...] = ()
    amounts: tuple[str, ...] = ()
    durations: tuple[str, ...] = ()
    dates: tuple[str, ...] = ()
    references: tuple[str, ...] = ()     # codes, versions, error numbers, counts, times of day

    def all(self) -> tuple[str, ...]:
        return self.order_ids + self.amounts + self.durations + self.dates + self.references

    def __bool__(self) -> bool:
        return bool(self.all())


@dataclass(frozen=True)
class Analysis:
    """The reading of one message. ``to_dict`` gives the ``analyze --json`` shape."""

    language: str
    language_confidence: float = 0.0
    insults: tuple[Insult, ...] = ()
    anger: int = 0
    shouting: bool = False
    threats: tuple[str, ...] = ()
    injection: bool = False
    facts: Facts = field(default_factory=Facts)
    topic: str = "other"
    personal_data: tuple[str, ...] = ()     # card numbers, IBANs, e-mails, phones: never echoed
    length: int = 0

    @property
    def insulted(self) -> bool:
        return bool(self.insults)

    @property
    def escalate(self) -> bool:
        """Threats of violence or self-harm: a person must take over."""
        return bool(ESCALATING_THREATS & set(self.threats))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["insults"] = [asdict(i) for i in self.insults]
        data["threats"] = list(self.threats)
        data["facts"] = {k: list(v) for k, v in asdict(self.facts).items()}
        data["personal_data"] = list(self.personal_data)
        data["escalate"] = self.escalate
        return data


@cache
def _patterns() -> dict[str, Any]:
    raw = resources.files("drafter").joinpath("lexicons", "message_patterns.toml").read_bytes()
    data = tomllib.loads(raw.decode("utf-8"))

    def compile_all(items: list[str]) -> list[re.Pattern[str]]:
        return [re.compile(p, re.MULTILINE) for p in items]

    def compile_one(items: list[str]) -> list[WordRegex]:
        return [WordRegex(items)]

    return {
        "threats": {k: compile_one(v) for k, v in data["threats"].items()},
        "injection": compile_one(data["injection"]["patterns"]),
        "topics": {k: (compile_all(data["topics"]["strong"].get(k, [])), compile_all(v))
                   for k, v in data["topics"]["weak"].items()},
        "heat": compile_all(data["anger"]["heat"]),
        "insults": _combined_insults(data["insults"]["fr"] + data["insults"]["en"]),
    }


def _combined_insults(patterns: list[str]) -> WordRegex:
    """The [insults] constructions searched together; pattern i's insulting words are group ``w<i>``."""
    return WordRegex([p.replace("(?P<w>", f"(?P<w{i}>") for i, p in enumerate(patterns)])


def insult_lexicon():
    return load_lexicon("insults.fr.txt", "insults.en.txt")


def profanity_lexicon():
    return load_lexicon("profanity.fr.txt", "profanity.en.txt")


# --- facts -----------------------------------------------------------------------------------------

_MONTHS = ("janvier|fevrier|février|mars|avril|mai|juin|juillet|aout|août|septembre|octobre|novembre|"
           "decembre|décembre|january|february|march|april|may|june|july|august|september|october|"
           "november|december|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_NUMBER_WORDS = ("un|une|deux|trois|quatre|cinq|six|sept|huit|neuf|dix|onze|douze|quinze|vingt|trente|"
                 "quarante|cinquante|plusieurs|quelques|a|an|one|two|three|four|five|six|seven|eight|nine|"
                 "ten|eleven|twelve|fifteen|twenty|thirty|forty|fifty|several|a few")
_UNITS = ("semaines?|jours?|mois|heures?|h|minutes?|min|mn|ans?|années?|annees?|weeks?|days?|months?|"
          "hours?|hrs?|mins?|years?")
_CARD = lazy_compile(r"\b(?:\d[ -]?){13,19}\b")
_IBAN = lazy_compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){3,7}(?:[ ]?[A-Z0-9]{1,3})?\b")
_EMAIL = lazy_compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_PHONE = lazy_compile(r"(?:\+\d{1,3}[ .-]?)?(?:\(?\d{1,4}\)?[ .-]?){2,5}\d{2,4}")
_AMOUNT = lazy_compile(
    r"(?:[€$£]\s?\d+(?:[ ,.]\d{3})*(?:[.,]\d{1,2})?"
    r"|\b\d+(?:[ ,.]\d{3})*(?:[.,]\d{1,2})?\s?(?:€|euros?\b|eur\b|e\b|\$|dollars?\b|usd\b|£|pounds?\b|gbp\b|balles\b))"
    r"(?:\s?/\s?(?:month|mois|an|year|yr|mo|mth)\b)?",
    re.IGNORECASE)
# other facts a reply should repeat: codes (ZX4PLM, 7f3a-22c1), versions (4.2.1), error numbers,
# counts ("11 times", "3 fois"), times of day ("6pm", "14h30"), frequencies, hyphenated durations
_REFERENCE = lazy_compile(
    r"(?<![\w.,/-])(?:"
    r"(?=[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9]{2,}(?:-[A-Z0-9]+)*"
    r"|[0-9a-f]{4,}(?:-[0-9a-f]{4,})+"
    r"|\d+\.\d+(?:\.\d+)*"
    r"|(?:every|toutes les|tous les)\s+\d+\s+\w+"
    r"|\d+-(?:hour|day|week|month|minute|year)s?"
    r"|\d{1,2}(?::\d\d)?\s?(?:am|pm)|\d{1,2}h\d{0,2}"
    r"|\d+\s+(?:times|fois|different\s+\w+|différent\w*\s+\w+)"
    r"|\d{1,3}(?:,\d{3})+"
    r"|(?<=error )\d{3}|(?<=erreur )\d{3}|(?<=code )\d{3,6}"
    r")(?![\w-])")
_DAYS = "lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
# "since 6pm", "depuis hier soir", "depuis lundi": a duration the customer counts from a point in time
_SINCE = lazy_compile(
    rf"\b(?:since|depuis)\s+(?:\d{{1,2}}(?::\d\d)?\s?(?:am|pm)|\d{{1,2}}\s?h(?:\d\d)?|hier(?: soir| matin)?|avant-hier"
    rf"|ce matin|cette nuit|this morning|yesterday(?: morning| evening)?|last (?:night|week|month)|{_DAYS}"
    rf"|(?:le |the )?\d{{1,2}}(?:er|st|nd|rd|th)?\s+(?:{_MONTHS})|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?)\b",
    re.IGNORECASE)
_DURATION = lazy_compile(rf"(?=\w)\b(?:\d+(?:[.,]\d+)?|{_NUMBER_WORDS})\s*(?:{_UNITS})\b", re.IGNORECASE)
_DATE = lazy_compile(
    rf"(?=\w)\b(?:\d{{1,2}}(?:er|st|nd|rd|th)?\s+(?:{_MONTHS})\b(?:\s+\d{{4}})?"
    rf"|(?:{_MONTHS})\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?"
    r"|\d{1,2}/\d{1,2}(?:/\d{2,4})?\b)",
    re.IGNORECASE)
# days named without a number: "depuis dimanche", "since this morning", "hier soir"
_DAY_WORDS = {
    "lundi": "monday", "mardi": "tuesday", "mercredi": "wednesday", "jeudi": "thursday", "vendredi": "friday",
    "samedi": "saturday", "dimanche": "sunday", "ce matin": "this morning", "hier soir": "last night",
    "hier": "yesterday", "avant-hier": "the day before yesterday",
}  # not "today"/"ce soir": in a complaint they are demands ("I want it back TODAY"), not facts
_DAY_EQUIVALENTS: dict[str, tuple[str, ...]] = {}
for _fr, _en in _DAY_WORDS.items():
    _DAY_EQUIVALENTS[_fr] = _DAY_EQUIVALENTS[_en] = (_fr, _en)
_RELATIVE_DATE = lazy_compile(
    r"\b(?:" + "|".join(sorted((re.escape(w) for w in _DAY_EQUIVALENTS), key=len, reverse=True)) + r")\b")


def _calm_day(word: str) -> str:
    """A day as a reply should write it: "FRIDAY" -> "Friday", "DIMANCHE" -> "dimanche"."""
    if not word.isupper():
        return word
    return word.capitalize() if fold_text(word) in _DAY_WORDS.values() else word.lower()


def fact_variants(fact: str) -> tuple[str, ...]:
    """Folded forms under which a reply may name a fact ("dimanche" or "Sunday" for a French "dimanche")."""
    folded = fold_text(fact).strip()
    return _DAY_EQUIVALENTS.get(folded, (folded,))


_ORDER_KEYWORD = lazy_compile(
    r"(?=\w)\b(?:commande|cmd|colis|dossier|ticket|r[ée]f[ée]rence|ref|n°|no\.|numéro|numero|order|case|claim|"
    r"contrat|contract|facture|invoice|booking|r[ée]servation|vol|flight|sinistre|client|account|compte|card|carte|"
    r"policy|police|membership|adh[ée]sion|line|ligne|number)"
    r"\s*(?:n°|no\.?|number|numéro|num|#|:|ending(?: in| with)?|se terminant par|finissant par"
    r"|(?:qui )?(?:finit|se termine) par)?\s*"
    r"([A-Z0-9][A-Z0-9-]{2,20}\d)\b", re.IGNORECASE)
_ORDER_CODE = lazy_compile(r"(?<![\w.,])(?:#\s?\d{3,}|[A-Z]{2,5}-?\d{3,}[A-Z0-9-]*|\d{5,12})(?![\w.,]\d)")


def _unique(items: list[str]) -> tuple[str, ...]:
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.strip().lower(), item.strip())
    return tuple(seen.values())


def _personal_spans(text: str) -> tuple[list[tuple[int, int]], list[str]]:
    spans: list[tuple[int, int]] = []
    found: list[str] = []
    for pattern in (_EMAIL, _IBAN, _CARD):
        for m in pattern.finditer(text):
            digits = sum(c.isdigit() for c in m.group())
            if pattern is _CARD and digits < 13:
                continue
            spans.append(m.span())
            found.append(m.group())
    for m in _PHONE.finditer(text):
        digits = sum(c.isdigit() for c in m.group())
        plus = m.group().lstrip().startswith("+") or m.group().lstrip().startswith("0")
        separators = len(re.findall(r"[ .-]", m.group().strip()))
        separated = separators >= 2 or (separators == 1 and digits >= 10)   # 07700 900814
        if 9 <= digits <= 15 and plus and separated and not any(s <= m.start() < e for s, e in spans):
            spans.append(m.span())
            found.append(m.group().strip())
    return spans, found


def extract_facts(text: str, exclude: list[tuple[int, int]] | None = None) -> tuple[Facts, tuple[str, ...]]:
    """Order/ticket ids, amounts, durations and dates, plus the personal data to keep out of replies.

    ``exclude``: spans that hold no facts (the insults: "un enfant de six ans ferait mieux").
    """
    personal, personal_found = _personal_spans(text)
    personal = personal + list(exclude or [])

    def free(m: re.Match[str]) -> bool:
        return not any(s < m.end() and m.start() < e for s, e in personal)

    amounts = [m for m in _AMOUNT.finditer(text) if free(m)]
    durations = [m for m in _DURATION.finditer(text) if free(m)]
    durations += [m for m in _SINCE.finditer(text)
                  if free(m) and not any(d.start() <= m.start() < d.end() for d in durations)]
    durations.sort(key=lambda m: m.start())
    dates = [m for m in _DATE.finditer(text) if free(m)]
    folded = fold_text(text)
    relative = [m for m in _RELATIVE_DATE.finditer(folded)
                if free(m) and not any(d.start() <= m.start() < d.end() for d in dates)]
    used = [m.span() for m in amounts + durations + dates]
    references = [m for m in _REFERENCE.finditer(text) if free(m)
                  and not any(s < m.end() and m.start() < e for s, e in used)
                  and not re.fullmatch(r"(19|20)\d\d", m.group())]

    def unused(start: int, end: int) -> bool:
        return not any(s < end and start < e for s, e in used + personal)

    orders: list[str] = []
    for m in _ORDER_KEYWORD.finditer(text):
        if unused(*m.span(1)) and any(c.isdigit() for c in m.group(1)) and sum(c.isdigit() for c in m.group(1)) >= 3:
            orders.append(m.group(1))
    for m in _ORDER_CODE.finditer(text):
        value = m.group().lstrip("#").strip()
        if unused(*m.span()) and not re.fullmatch(r"(19|20)\d\d", value) and value not in orders:
            if not any(value in o or o in value for o in orders):
                orders.append(value)
    return Facts(
        order_ids=_unique(orders),
        amounts=_unique([m.group() for m in amounts]),
        durations=_unique([m.group() for m in durations
                           if not re.fullmatch(r"(?i)(a|an|un|une)\s*(min|h|mn)", m.group().strip())]),
        dates=_unique([m.group() for m in dates] + [_calm_day(text[m.start():m.end()]) for m in relative]),
        references=_unique([m.group() for m in references
                            if m.group() not in orders and not any(m.group() in o for o in orders)]),
    ), _unique(personal_found)


# --- insults and their targets ---------------------------------------------------------------------

_PRODUCT_WORDS = frozenset("""
produit produits box appli application app site logiciel telephone portable tel mobile forfait
service offre machine colis article commande carte livebox freebox bbox compteur voiture vol
product products device phone software website platform package parcel item router modem plan card
update system tool thing
""".split())
_COMPANY_WORDS = frozenset("""
entreprise societe boite boutique magasin banque compagnie operateur assurance assureur agence
marque groupe direction service equipe equipes gens vous-autres mecs
company business firm store shop bank airline carrier insurer brand team staff guys people folks
management corporation outfit lot
""".split())
_AGENT_CUES = lazy_compile(
    r"\b(vous etes|vous etes vraiment|t'es|tu es|espece d[e']|pauvre|sale|toi|tu|you are|you're|youre|ur|"
    r"u r|you|your such an?|what an?|you absolute|you stupid)\b")
_COMPANY_CUES = lazy_compile(r"\b(bande d[e']|tas d[e']|ramassis d[e']|bunch of|pack of|load of|you guys|you people|"
                           r"vous tous|all of you|your company|votre (entreprise|societe|boite|banque|compagnie))\b")


def _target(folded: str, match: Match, tokens: list[Token], is_profanity: bool,
            bounds: tuple[list[int], list[int]]) -> str:
    """``bounds``: the tokens' start and end offsets (sorted), to find a match's neighbours by bisection."""
    starts, ends = bounds
    before = bisect_right(ends, match.start)             # tokens[:before] end at or before the match
    after = bisect_left(starts, match.end)               # tokens[after:] start at or after its end
    before_tokens, after_tokens = tokens[max(0, before - 5):before], tokens[after:after + 2]
    window_before = folded[max(0, match.start - 40):match.start]
    near = {t.folded for t in before_tokens}
    if near & _PRODUCT_WORDS or ({t.folded for t in after_tokens} & _PRODUCT_WORDS and not is_profanity):
        if not _COMPANY_CUES.search(window_before):
            return "product"
    if _COMPANY_CUES.search(window_before) or near & _COMPANY_WORDS:
        return "company"
    if is_profanity and not _AGENT_CUES.search(window_before[-20:]):
        # "de merde" after a product word was handled above; plain swearing has no target
        return "other"
    if _AGENT_CUES.search(window_before[-25:]):
        return "agent"
    entry = match.entry.rstrip("*")
    if entry.endswith("s") and len(entry) > 4:      # plural insults aim at the company's people
        return "company"
    return "agent"


# "he called me a liar", "il m'a traité de menteur": an insult the customer reports, not one they make
_REPORTED = lazy_compile(r"\b(?:called|calling|call|calls) (?:me|us|my \w+) (?:an? )?$"
                       r"|\bm'(?:a|ont) (?:traite|traitee|insulte\w*) d[e']\s*$")


def _construction_insults(text: str, folded: str, words: TextWords | None = None) -> list[Match]:
    """Insults made of innocent words ("your rubbish courier", "bande de rapaces"): message_patterns [insults]."""
    found = []
    for m in _patterns()["insults"].finditer(folded, words):
        groups = [name for name, value in m.groupdict().items() if value is not None]
        start, end = m.span(groups[0]) if groups else m.span()
        found.append(Match(text[start:end], start, end, ""))
    return found


def find_insults(text: str, tokens: list[Token] | None = None, words: TextWords | None = None) -> tuple[Insult, ...]:
    """Insults and swearing in ``text``. ``tokens``, ``words``: its tokens and ``TextWords(fold_text(text))``."""
    tokens = tokenize(text) if tokens is None else tokens
    folded = fold_text(text) if words is None else words.text
    insults = [m for m in insult_lexicon().find(text, tokens)
               if not _REPORTED.search(folded[max(0, m.start - 30):m.start])]
    for m in _construction_insults(text, folded, words):
        if not any(i.start < m.end and m.start < i.end for i in insults):
            insults.append(m)
    profanity = [m for m in profanity_lexicon().find(text, tokens)
                 if not any(i.start < m.end and m.start < i.end for i in insults)]
    bounds = ([t.start for t in tokens], [t.end for t in tokens])
    found = [Insult(m.text, m.start, m.end, _target(folded, m, tokens, False, bounds)) for m in insults]
    found += [Insult(m.text, m.start, m.end, _target(folded, m, tokens, True, bounds)) for m in profanity]
    return tuple(sorted(found, key=lambda i: i.start))


# --- shouting, anger, threats, injection, topic ----------------------------------------------------

_CAPS_WORD = lazy_compile(r"\b[A-ZÀ-ÖØ-Þ]{3,}\b")


def shouted_words(text: str) -> list[re.Match[str]]:
    """Words of three or more capitals that are not known acronyms."""
    acronyms = load_words("acronyms.txt")
    return [m for m in _CAPS_WORD.finditer(text) if m.group() not in acronyms]


def _is_shouting(text: str) -> bool:
    caps = shouted_words(text)
    words = re.findall(r"[^\W\d_]{3,}", text)
    return len(caps) >= 2 or (bool(words) and len(caps) / len(words) > 0.3) or "!!" in text.replace(" ", "")


def find_threats(folded: str, words: TextWords | None = None) -> tuple[str, ...]:
    kinds = _patterns()["threats"]
    words = TextWords(folded) if words is None else words
    return tuple(k for k in THREAT_KINDS if any(p.search(folded, words) for p in kinds[k]))


def has_injection(folded: str, words: TextWords | None = None) -> bool:
    return any(p.search(folded, words) for p in _patterns()["injection"])


def find_topic(folded: str) -> str:
    """The customer's main problem. "support" (nobody answers, on hold for an hour) is what angry
    messages add to a problem more often than the problem itself: it wins only when no other topic
    has any evidence."""
    scores = {topic: 3 * sum(len(p.findall(folded)) for p in strong) + sum(len(p.findall(folded)) for p in weak)
              for topic, (strong, weak) in _patterns()["topics"].items()}
    problems = {t: v for t, v in scores.items() if t != "support"}
    best = max(problems, key=lambda t: problems[t])
    if problems[best]:
        return best
    return "support" if scores.get("support") else "other"


def _anger(folded: str, text: str, insults: tuple[Insult, ...], shouting: bool, threats: tuple[str, ...]) -> int:
    heat = sum(len(p.findall(folded)) for p in _patterns()["heat"])
    real_insults = sum(1 for i in insults if i.target != "other")
    score = 2 * real_insults + (len(insults) - real_insults) + 2 * shouting + heat
    score += text.count("!") // 3 + 2 * len(threats) + 3 * bool(ESCALATING_THREATS & set(threats))
    if score == 0:
        return 0
    if score <= 2 and not real_insults:
        return 1
    return 2 if score <= 5 else 3


def analyze_message(text: str, *, default_language: str | None = None) -> Analysis:
    """Read a customer's message. Never raises on any string."""
    if not isinstance(text, str):
        raise TypeError(f"analyze_message expects a str, got {type(text).__name__}")
    tokens = tokenize(text)
    folded = fold_text(text)
    words = TextWords(folded)
    language, confidence = detect_language(text, default=None)
    insults = find_insults(text, tokens, words)
    shouting = _is_shouting(text)
    threats = find_threats(folded, words)
    facts, personal = extract_facts(text, [(i.start, i.end) for i in insults])
    return Analysis(
        language=language or default_language or DEFAULT_LANGUAGE,
        language_confidence=confidence,
        insults=insults,
        anger=_anger(folded, text, insults, shouting, threats),
        shouting=shouting,
        threats=threats,
        injection=has_injection(folded, words),
        facts=facts,
        topic=find_topic(folded),
        personal_data=personal,
        length=len(text),
    )
