"""Value cleaners: turn the wikitext of a template parameter into a clean value.

Each cleaner is a pure function ``raw wikitext -> Cleaned``. ``Cleaned.value`` is None when
the value was rejected; ``Cleaned.issue`` says what was rejected or corrected. The issue's
``page_title`` and ``field`` are left empty: the map stage, which knows them, fills them in
(and decides the final severity from the mapping's ``required`` flag).

Normalising the form of a valid value (``02 52 56 98 07`` -> ``+33 2 52 56 98 07``) is not an
issue; guessing (adding ``https://``, dropping a stray space from a postcode) is a
``warning``; a value that cannot be used is an ``error`` (downgraded to a warning by the map
stage when the field is optional).
"""

from __future__ import annotations

import calendar
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tierslieux.model.records import Issue
from tierslieux.model.wikitree import parse_tree

# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class DateValue:
    """A date as precise as the source: ``datatype`` is ``gYear``, ``gYearMonth`` or ``date``
    (XML Schema local names) and ``lexical`` its lexical form (``2016``, ``2023-07``,
    ``2020-03-01``)."""

    lexical: str
    datatype: str


@dataclass(frozen=True)
class Closure:
    """What a closure statement says: closed or not, since when, and the statement itself."""

    closed: bool
    since: DateValue | None = None
    note: str | None = None


@dataclass(frozen=True)
class Cleaned:
    value: Any = None
    issue: Issue | None = None

    @property
    def rejected(self) -> bool:
        return self.value is None


def _issue(severity: str, original: str, kept: str, message: str) -> Issue:
    return Issue(page_title="", severity=severity, field="", original=original, kept=kept,
                 message=message)


def _ok(value: Any) -> Cleaned:
    return Cleaned(value)


def _corrected(value: str, original: str, message: str) -> Cleaned:
    return Cleaned(value, _issue("warning", original, value, message))


def _rejected(original: str, message: str) -> Cleaned:
    return Cleaned(None, _issue("error", original, "", message))


# --------------------------------------------------------------------------- wikitext -> text

_BRACKET_URL = re.compile(r"\[((?:https?://|//|mailto:)[^\s\]]+)(?:\s[^\]]*)?\]", re.IGNORECASE)
_SPACES = re.compile(r"\s+")


def plain_text(raw: str, *, urls: bool = False) -> str:
    """The text of a wikitext value: markup removed, links as their text, whitespace collapsed.

    With ``urls=True`` a bracketed external link ``[https://x label]`` becomes its address,
    not its label (for URL and e-mail fields).
    """
    if urls:
        raw = _BRACKET_URL.sub(lambda m: m.group(1), raw)
    code = parse_tree(raw)
    text = code.strip_code(normalize=True, collapse=True)
    text = text.replace("'''", "").replace("''", "")
    return _SPACES.sub(" ", text.replace("\u00a0", " ").replace("\u202f", " ")).strip()


def split_values(text: str, separators: str = ",;") -> tuple[str, ...]:
    """Split a multi-valued field on any of ``separators``; blanks are dropped."""
    if not separators:
        return (text.strip(),) if text.strip() else ()
    pattern = "|".join(re.escape(s) for s in separators)
    return tuple(part.strip() for part in re.split(pattern, text) if part.strip())


@functools.lru_cache(maxsize=1 << 16)
def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key: ``"Moyens d'actions"`` ->
    ``"moyens d actions"`` (remembered: the map stage folds the same headings, prefixes and
    names page after page)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    bare = bare.casefold().replace("œ", "oe").replace("æ", "ae").replace("ß", "ss")
    return " ".join(re.sub(r"[\W_]+", " ", bare).split())


# --------------------------------------------------------------------------- cleaners


def clean_text(raw: str) -> Cleaned:
    text = plain_text(raw)
    if not text:
        return _rejected(raw, "no text left once the markup is removed")
    return _ok(text)


def clean_postcode(raw: str) -> Cleaned:
    """A French postal code: five digits. ``14 460`` is corrected to ``14460``."""
    text = plain_text(raw)
    compact = re.sub(r"[\s.]", "", text)
    if not re.fullmatch(r"\d{5}", compact):
        return _rejected(raw, "not a French postal code (five digits)")
    if compact != text:
        return _corrected(compact, raw, "postal code written with separators")
    return _ok(compact)


def clean_phone(raw: str) -> Cleaned:
    """A phone number. French numbers become ``+33 2 52 56 98 07``; other international
    numbers keep their ``+`` and digits; anything with letters or too few digits is rejected."""
    text = plain_text(raw)
    if re.search(r"[^\d\s.+()/-]", text):
        return _rejected(raw, "not a phone number (unexpected characters)")
    digits = re.sub(r"\D", "", text.replace("(0)", ""))
    international = text.lstrip().startswith("+") or digits.startswith("00")
    if digits.startswith("00"):
        digits = digits[2:]
    if international and digits.startswith("33") and len(digits) == 11:
        national = digits[2:]
    elif not international and len(digits) == 10 and digits[0] == "0" and digits[1] != "0":
        national = digits[1:]
    elif international and 8 <= len(digits) <= 15:
        return _ok("+" + digits)
    else:
        return _rejected(raw, "not a phone number (wrong number of digits)")
    pairs = " ".join(national[i:i + 2] for i in range(1, 9, 2))
    return _ok(f"+33 {national[0]} {pairs}")


_EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_AT_WORDS = re.compile(r"\s*(?:\[at\]|\(at\)|\{at\}| at | arobase |\[arobase\]|\(arobase\))\s*",
                       re.IGNORECASE)
_DOT_WORDS = re.compile(r"\s*(?:\[dot\]|\(dot\)|\[point\]|\(point\))\s*", re.IGNORECASE)


def clean_email(raw: str) -> Cleaned:
    """An e-mail address; ``mailto:`` is dropped, ``x [at] y.fr`` is corrected, the domain is
    lower-cased."""
    text = plain_text(raw, urls=True)
    text = re.sub(r"^mailto:", "", text.strip(), flags=re.IGNORECASE)
    candidate = _DOT_WORDS.sub(".", _AT_WORDS.sub("@", text)).strip()
    if not _EMAIL.fullmatch(candidate):
        return _rejected(raw, "not an e-mail address")
    local, domain = candidate.rsplit("@", 1)
    value = f"{local}@{domain.lower()}"
    if candidate != text:
        return _corrected(value, raw, "e-mail address written in an obfuscated form")
    return _ok(value)


_IRI_FORBIDDEN = re.compile(r'[\s<>"{}|\\^`\x00-\x1f\x7f]')


def clean_url(raw: str) -> Cleaned:
    """A web address. ``www.example.org`` gets ``https://`` (a correction, reported)."""
    text = plain_text(raw, urls=True)
    if text.startswith("//"):
        text = "https:" + text
    corrected = False
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", text):
        if re.fullmatch(r"[\w-]+(\.[\w-]+)+(:\d+)?(/\S*)?", text):
            text, corrected = "https://" + text, True
        else:
            return _rejected(raw, "not a web address")
    if _IRI_FORBIDDEN.search(text):
        return _rejected(raw, "not a web address (spaces or forbidden characters)")
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return _rejected(raw, "not a web address")
    host = parts.hostname or ""
    if parts.scheme.lower() not in ("http", "https") or "." not in host:
        return _rejected(raw, "not an http(s) web address")
    if corrected:
        return _corrected(text, raw, "web address without a scheme: https:// added")
    return _ok(text)


def clean_insee(raw: str) -> Cleaned:
    """An INSEE municipality code: five characters, digits or 2A/2B for Corsica."""
    text = re.sub(r"\s", "", plain_text(raw)).upper()
    if not re.fullmatch(r"\d{5}|2[AB]\d{3}", text):
        return _rejected(raw, "not an INSEE code (five digits, or 2A/2B and three digits)")
    return _ok(text)


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch) * (2 if i % 2 else 1)
        total += n - 9 if n > 9 else n
    return total % 10 == 0


def clean_siren(raw: str) -> Cleaned:
    """A SIREN number: nine digits passing the Luhn check. A SIRET (14 digits) gives its
    SIREN, reported as a correction."""
    text = plain_text(raw)
    digits = re.sub(r"[\s.]", "", text)
    if re.fullmatch(r"\d{14}", digits) and _luhn(digits[:9]):
        return _corrected(digits[:9], raw, "SIRET number given: its SIREN (first nine digits) kept")
    if not re.fullmatch(r"\d{9}", digits) or not _luhn(digits):
        return _rejected(raw, "not a SIREN number (nine digits with a valid check digit)")
    if digits != text:
        return _corrected(digits, raw, "SIREN number written with separators")
    return _ok(digits)


#: La Poste's SIREN: its SIRET numbers follow another check (digit sum a multiple of 5)
_LA_POSTE = "356000000"


def clean_siret(raw: str) -> Cleaned:
    """A SIRET number: fourteen digits, the SIREN (Luhn-valid) then the establishment number,
    the whole passing the Luhn check (for La Poste, whose SIRETs do not, a digit sum that is a
    multiple of 5). Spaces or dots between the digits are a correction, as for a SIREN."""
    text = plain_text(raw)
    digits = re.sub(r"[\s.]", "", text)
    if not re.fullmatch(r"\d{14}", digits) or not _luhn(digits[:9]):
        return _rejected(raw, "not a SIRET number (fourteen digits, a valid SIREN first)")
    if digits[:9] == _LA_POSTE:
        valid = sum(map(int, digits)) % 5 == 0
    else:
        valid = _luhn(digits)
    if not valid:
        return _rejected(raw, "not a SIRET number (wrong check digit)")
    if digits != text:
        return _corrected(digits, raw, "SIRET number written with separators")
    return _ok(digits)


# --------------------------------------------------------------------------- dates

MONTHS = {
    "janvier": 1, "janv": 1, "jan": 1,
    "fevrier": 2, "fevr": 2, "fev": 2,
    "mars": 3,
    "avril": 4, "avr": 4,
    "mai": 5,
    "juin": 6,
    "juillet": 7, "juil": 7,
    "aout": 8,
    "septembre": 9, "sept": 9, "sep": 9,
    "octobre": 10, "oct": 10,
    "novembre": 11, "nov": 11,
    "decembre": 12, "dec": 12,
}
_MONTH = "|".join(sorted(MONTHS, key=len, reverse=True))
_YEAR = r"(?:1[89]|20)\d\d"
_DATE_PATTERNS = (
    # 1er mars 2020, 12 mars 2020
    ("date", re.compile(rf"\b(?P<d>\d{{1,2}})(?:er)?\s+(?P<m>{_MONTH})\.?\s+(?P<y>{_YEAR})\b")),
    # 2020-03-01
    ("date", re.compile(rf"\b(?P<y>{_YEAR})-(?P<m>\d\d)-(?P<d>\d\d)\b")),
    # 01/03/2020
    ("date", re.compile(rf"\b(?P<d>\d{{1,2}})/(?P<m>\d{{1,2}})/(?P<y>{_YEAR})\b")),
    # juillet 2023
    ("gYearMonth", re.compile(rf"\b(?P<m>{_MONTH})\.?\s+(?P<y>{_YEAR})\b")),
    # 2023-07, 07/2023
    ("gYearMonth", re.compile(rf"\b(?P<y>{_YEAR})-(?P<m>\d\d)\b")),
    ("gYearMonth", re.compile(rf"(?<!\d/)\b(?P<m>\d{{1,2}})/(?P<y>{_YEAR})\b")),
    # 2016
    ("gYear", re.compile(rf"\b(?P<y>{_YEAR})\b")),
)


def _date_from(kind: str, match: re.Match[str]) -> DateValue | None:
    year = int(match.group("y"))
    if kind == "gYear":
        return DateValue(f"{year:04d}", "gYear")
    month_text = match.group("m")
    month = int(month_text) if month_text.isdigit() else MONTHS[month_text]
    if not 1 <= month <= 12:
        return None
    if kind == "gYearMonth":
        return DateValue(f"{year:04d}-{month:02d}", "gYearMonth")
    day = int(match.group("d"))
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return DateValue(f"{year:04d}-{month:02d}-{day:02d}", "date")


def find_date(text: str) -> tuple[DateValue, tuple[int, int]] | None:
    """The first date in ``text`` (in accent-folded, lower-case form), as precise as written,
    with its span in the folded text."""
    folded = _fold_keep_length(text)
    best: tuple[DateValue, tuple[int, int]] | None = None
    for kind, pattern in _DATE_PATTERNS:
        for match in pattern.finditer(folded):
            value = _date_from(kind, match)
            if value is None:
                # "31 février 2020" is a wrong date, not the year 2020
                return None
            if best is None or match.start() < best[1][0]:
                best = (value, match.span())
            break
    return best


class _KeepLengthTable(dict):
    """``str.translate`` table of ``_fold_keep_length``: each character's fold, computed on
    first sight (per character, so the same as a loop over the text)."""

    def __missing__(self, code: int) -> str:
        ch = chr(code)
        base = unicodedata.normalize("NFKD", ch)
        base = "".join(c for c in base if not unicodedata.combining(c)) or ch
        folded = base[0].lower() if len(base[0].lower()) == 1 else ch
        if len(self) < 100_000:
            self[code] = folded
        return folded


_KEEP_LENGTH = _KeepLengthTable()


def _fold_keep_length(text: str) -> str:
    """Lower-case, accent-free text with the same length as ``text`` (so spans line up)."""
    if text.isascii():  # each ASCII character is its own NFKD form: only the case changes
        return text.lower()
    return text.translate(_KEEP_LENGTH)


def clean_date(raw: str) -> Cleaned:
    """A French date: ``2016`` (gYear), ``juillet 2023`` (gYearMonth), ``1er mars 2020`` (date),
    or the ISO / dd/mm/yyyy forms. The whole value must be the date."""
    text = plain_text(raw)
    found = find_date(text)
    if found is None:
        return _rejected(raw, "not a date")
    value, (start, end) = found
    rest = (text[:start] + text[end:]).strip(" ,.")
    if rest and fold(rest) not in ("le", "en", "depuis", "depuis le", "depuis l"):
        return _rejected(raw, "not a valid date, or more than a date")
    return _ok(value)


# --------------------------------------------------------------------------- closures

_CLOSED = re.compile(r"\bferm(?:e|ee|es|ees|eture)\b")
_OPEN = re.compile(r"^(?:ouvert|ouverte|en activite|actif|active|non|aucune)$")


def find_closure(text: str) -> Closure | None:
    """The closure statement inside free text (one sentence mentioning ``fermé``), or None."""
    for sentence in re.split(r"(?<=[.!?])\s+|\n+", text):
        folded = _fold_keep_length(sentence)
        if _CLOSED.search(folded):
            return _closure_of(sentence.strip())
    return None


def _closure_of(sentence: str) -> Closure:
    """Closed, since the first date after the word ``fermé`` (else any date in the sentence)."""
    folded = _fold_keep_length(sentence)
    word = _CLOSED.search(folded)
    found = find_date(sentence[word.end():]) if word else None
    if found is None:
        found = find_date(sentence)
    return Closure(closed=True, since=found[0] if found else None, note=sentence)


def clean_closure(raw: str) -> Cleaned:
    """A closure field: ``Espace physique fermé depuis juillet 2023`` -> closed since 2023-07,
    the statement kept as the note; ``ouvert`` -> open; a bare date -> closed since then."""
    text = plain_text(raw)
    folded = fold(text)
    if _OPEN.match(folded):
        return _ok(Closure(closed=False))
    if _CLOSED.search(_fold_keep_length(text)):
        closure = _closure_of(text)
        if closure.since is None and re.search(r"\d", text):
            return Cleaned(closure, _issue("warning", raw, "closed",
                                           "closure date not understood; kept as a note"))
        return _ok(closure)
    date = clean_date(raw)
    if not date.rejected:
        return _ok(Closure(closed=True, since=date.value, note=text))
    return _rejected(raw, "not a closure statement (expected e.g. 'fermé depuis juillet 2023')")


#: cleaner name (as written in mapping.yaml) -> function
CLEANERS: dict[str, Callable[[str], Cleaned]] = {
    "text": clean_text,
    "postcode": clean_postcode,
    "phone": clean_phone,
    "email": clean_email,
    "url": clean_url,
    "insee": clean_insee,
    "siren": clean_siren,
    "siret": clean_siret,
    "date": clean_date,
    "closure": clean_closure,
}
