"""THE RDF term layer: N-Triples terms written and read, prefixes, compaction.

Every stage that writes or reads an RDF term goes through this module: the map stage
(``nt_term``, ``nt_line``, ``text_token``, ``term_lines``), the exports (``split_line``,
``parse_object``, ``unescape``, ``IriCompactor``), the validation (``nt_term``,
``parse_object``) and the SPARQL output (``display_compactor``). The rules of the IRIs
themselves (``is_iri``, ``key_path``, ``slugify``…) are those of ``model/iri.py``, which this
module applies when it writes an IRI. It imports nothing above the model layer.

Design note: what the stages pass to each other
-----------------------------------------------
The map stage hands over **N-Triples lines in canonical form** (``<s> <p> o .``, one space,
escapes as ``nt_term`` writes them), not typed term objects, and the writers work on those
strings. Why:

- a canonical line is its own identity: set/sort/dedup/merge of millions of statements are
  plain ``str`` operations, and line order is ``LC_ALL=C sort`` order, so the build can merge
  sorted run files from disk and the store/cache keeps lines as they are, with no
  (de)serialisation at any stage boundary;
- every writer needs the N-Triples token anyway (``.nt.gz`` writes it as is, Turtle keeps
  literals as is and only compacts IRIs, the tables and JSON-LD decode only the objects they
  print); decoding is done lazily, per token, by ``parse_object`` (and can be cached by
  token), instead of once for every term of every triple;
- typed terms (rdflib) cost an object per term and a hash of that object for every
  comparison; the faster writers of the next issue can work on ``split_line`` slices and
  memoise per distinct token, which typed terms would prevent.

Inside the map stage the mapper builds no rdflib term on its hot path: its statements are
tuples of plain ``str`` (an IRI as its text, a literal as its N-Triples token, made by
``text_token``/``int_token``/``literal_term``; pipeline/map_terms.py), written as lines by
``term_lines`` with the bytes ``nt_line`` writes for the rdflib terms (tested). The rules'
values (rdflib terms read from the mapping) are turned into such terms when added;
nothing after the map stage builds rdflib terms.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from rdflib import Literal, URIRef

from tierslieux.model.iri import IRI_LIMIT, is_iri

#: root of the data IRIs when the configuration gives none
DEFAULT_BASE_IRI = "https://w3id.org/tierslieux/movilab/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDF_TYPE = RDF + "type"
RDF_LANGSTRING = RDF + "langString"
XSD = "http://www.w3.org/2001/XMLSchema#"
XSD_STRING = XSD + "string"

#: an rdflib term as the map stage builds it, and a statement of such terms
Node: TypeAlias = "URIRef | Literal"
Statement: TypeAlias = "tuple[URIRef, URIRef, URIRef | Literal]"
#: (subject IRI, predicate IRI, object as an N-Triples term): a canonical line split
Triple = tuple[str, str, str]


# --------------------------------------------------------------------------- writing terms

#: the characters escape_literal rewrites; most texts have none and are kept as they are
_NEEDS_ESCAPE = re.compile('[\\\\"\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]')
#: N-Triples form of the IRIs already checked (the map stage writes the same few thousand
#: IRIs over and over: predicates, classes, the page's own IRIs)
_IRI_TERMS: dict[str, str] = {}
_IRI_TERMS_LIMIT = 100_000


def escape_literal(text: str) -> str:
    if _NEEDS_ESCAPE.search(text) is None:
        return text
    return _NEEDS_ESCAPE.sub(_escape_char, text)


_ECHARS = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    ch = match.group()
    escaped = _ECHARS.get(ch)
    if escaped is not None:
        return escaped
    code = ord(ch)
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate cannot be written as UTF-8
        return "\\uFFFD"
    return f"\\u{code:04X}"  # other control characters, U+FFFE, U+FFFF


def nt_term(term: Node) -> str:
    """The N-Triples form of an rdflib IRI or literal (IRIs are checked with ``is_iri``)."""
    kind = type(term)
    if kind is Literal:  # the hot path: no isinstance (rdflib's terms are ABCs), no property
        language = term._language
        text = f'"{escape_literal(str.__str__(term))}"'
        if language:
            return f"{text}@{language}"
        datatype = term._datatype
        if datatype is not None and datatype != XSD_STRING:
            return f"{text}^^<{datatype}>"
        return text
    if kind is URIRef or isinstance(term, URIRef):
        return iri_ref(str.__str__(term))  # a plain str: hashed in C, not by rdflib's __hash__
    return literal_term(str(term), lang=term.language or "",
                        datatype="" if term.datatype is None else str(term.datatype))


def iri_ref(iri: str) -> str:
    """``<iri>``, the N-Triples form of an IRI given as a plain ``str`` (checked with
    ``is_iri`` once per distinct IRI; ValueError if it is none): what ``nt_term`` writes for
    ``URIRef(iri)``."""
    written = _IRI_TERMS.get(iri)
    if written is None:
        if not is_iri(iri) or len(iri) > 2 * IRI_LIMIT:
            raise ValueError(f"not an IRI: {iri[:200]!r}")
        if len(_IRI_TERMS) >= _IRI_TERMS_LIMIT:
            _IRI_TERMS.clear()
        written = _IRI_TERMS[iri] = f"<{iri}>"
    return written


# The fast terms of the map stage: plain strings, no rdflib object. An IRI is kept as the
# plain ``str`` of the IRI, a literal as its N-Triples token (it starts with '"', which no
# IRI does), so that a statement is a tuple of three ``str`` (hashed and compared in C) and
# its line is ``term_line``. Each gives the bytes ``nt_term`` gives for the rdflib term.


def text_token(text: str, lang: str = "") -> str:
    """The token of ``Literal(text)`` (or ``Literal(text, lang=lang)``, the tag already
    checked by the caller)."""
    if _NEEDS_ESCAPE.search(text) is not None:
        text = _NEEDS_ESCAPE.sub(_escape_char, text)
    if lang:
        return f'"{text}"@{lang}'
    return f'"{text}"'


_INTEGER_SUFFIX = f"^^<{XSD}integer>"
_BOOLEAN_TRUE = f'"true"^^<{XSD}boolean>'
_BOOLEAN_FALSE = f'"false"^^<{XSD}boolean>'


def int_token(number: int) -> str:
    """The token of ``Literal(number)`` of a Python int (a bool gives xsd:boolean)."""
    kind = type(number)
    if kind is bool:
        return _BOOLEAN_TRUE if number else _BOOLEAN_FALSE
    if kind is not int:
        return nt_term(Literal(number))
    return f'"{number}"{_INTEGER_SUFFIX}'


def term_line(s: str, p: str, o: str) -> str:
    """The canonical line of a statement of fast terms (subject and predicate IRIs, the
    object an IRI or a literal token), without the final newline; ValueError for an IRI
    that is none, as ``nt_line``."""
    if o[:1] == '"':
        return f"{iri_ref(s)} {iri_ref(p)} {o} ."
    return f"{iri_ref(s)} {iri_ref(p)} {iri_ref(o)} ."


class TermLines(tuple):
    """The lines of ``term_lines`` as a tuple (what ``MappedPage.triples`` holds after the
    map stage): distinct, in line order, and each ``<s> <p> o .`` by construction (its IRIs
    checked by ``iri_ref``, its literals written by the token functions above, which escape
    every newline), so ``lines.canonical_lines`` takes them as they are, without checking
    their order and form again."""

    __slots__ = ()


def term_lines(triples: Iterable[tuple[str, str, str]]) -> list[str]:
    """The distinct canonical lines of statements of fast terms, in line order (what
    ``sorted({term_line(*t) for t in triples})`` gives, with the IRI lookups inlined)."""
    known = _IRI_TERMS
    lines = set()
    add = lines.add
    for s, p, o in triples:
        ws = known.get(s) or iri_ref(s)
        wp = known.get(p) or iri_ref(p)
        if o[:1] != '"':
            o = known.get(o) or iri_ref(o)
        add(f"{ws} {wp} {o} .")
    return sorted(lines)


def literal_term(text: str, *, lang: str = "", datatype: str = "") -> str:
    """The N-Triples form of a literal given by its parts (no datatype, or xsd:string: a
    plain literal)."""
    written = f'"{escape_literal(text)}"'
    if lang:
        return f"{written}@{lang}"
    if datatype and datatype != XSD_STRING:
        return f"{written}^^<{datatype}>"
    return written


#: what an N-Triples IRIREF cannot hold: controls, space and <>"{}|^`\
_IRI_UNSAFE = {c: f"%{c:02X}" for c in [*range(0x21), *b'<>"{}|^`\\']}


def iri_term(iri: str) -> str:
    """The N-Triples form of an IRI given as text (a configured address, a file's URL), what
    an IRIREF cannot hold percent-encoded; ``nt_term`` refuses an rdflib IRI that is no IRI
    instead (the map stage checks what it mints)."""
    return "<" + iri.translate(_IRI_UNSAFE) + ">"


_XSD_INTEGER = URIRef(XSD + "integer")
_XSD_BOOLEAN = URIRef(XSD + "boolean")


def _literal(lexical: str, language: str | None, datatype: URIRef | None, value: object
             ) -> Literal:
    """An rdflib Literal in the state its constructor would give it, without the
    constructor's checks and casts (a tenth of its cost): for the map stage's hot path, where
    the lexical form, the language tag and the datatype are known to be right."""
    literal = str.__new__(Literal, lexical)
    literal._language = language
    literal._datatype = datatype
    literal._value = value
    literal._ill_typed = None
    return literal


def text_literal(text: str, language: str | None = None) -> Literal:
    """``Literal(text)`` or ``Literal(text, lang=language)`` (a tag ``Literal`` accepted
    once), built fast; anything but a ``str`` goes through ``Literal``."""
    if type(text) is not str:
        return Literal(text, lang=language or None)
    return _literal(text, language or None, None, text)


def int_literal(number: int) -> Literal:
    """``Literal(number)`` of a Python int (xsd:integer; bool gives xsd:boolean)."""
    kind = type(number)
    if kind is bool:
        return _literal("true" if number else "false", None, _XSD_BOOLEAN, number)
    if kind is not int:
        return Literal(number)
    return _literal(str(number), None, _XSD_INTEGER, number)


def nt_line(triple: Statement) -> str:
    """One N-Triples statement, without the final newline."""
    s, p, o = triple
    return f"{nt_term(s)} {nt_term(p)} {nt_term(o)} ."


# --------------------------------------------------------------------------- reading terms

#: the N-Triples grammar of an IRI token and of a literal token (regular expressions)
_UCHAR = r"\\u[0-9A-Fa-f]{4}|\\U[0-9A-Fa-f]{8}"
IRI_TOKEN = rf"<(?:[^\x00-\x20<>\"{{}}|^`\\]|{_UCHAR})*>"
LITERAL_TOKEN = (
    rf"\"(?:[^\"\\\n\r]|\\[tbnrf\"'\\]|{_UCHAR})*\""
    rf"(?:@[a-zA-Z]+(?:-[a-zA-Z0-9]+)*|\^\^{IRI_TOKEN})?"
)
_ESCAPE = re.compile(r"\\(?:u([0-9A-Fa-f]{4})|U([0-9A-Fa-f]{8})|(.))", re.S)
_ECHAR = {"t": "\t", "b": "\b", "n": "\n", "r": "\r", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def split_line(line: str) -> Triple:
    """``<s> <p> o .`` -> (s, p, o) with the brackets of s and p removed."""
    subject, predicate, rest = line.split(" ", 2)
    # a blank node subject (data validated from elsewhere) keeps its "_:" label whole
    return subject[1:-1] if subject[0] == "<" else subject, predicate[1:-1], rest[:-2]


def unescape(text: str) -> str:
    """Decode the ``\\uXXXX``, ``\\UXXXXXXXX`` and ``\\n``-style escapes of an N-Triples term."""
    if "\\" not in text:
        return text

    def _one(match: re.Match[str]) -> str:
        if match.group(3) is not None:
            return _ECHAR.get(match.group(3), match.group(0))
        return chr(int(match.group(1) or match.group(2), 16))

    return _ESCAPE.sub(_one, text)


@dataclass(frozen=True)
class Term:
    """An object term decoded: an IRI, or a literal with its language or datatype."""

    #: "iri" or "literal"
    kind: str
    #: the IRI or the literal's lexical form, escapes decoded
    value: str
    #: language tag as written (tags compare case-insensitively), "" if none
    language: str = ""
    #: datatype IRI ("" for a language-tagged literal, xsd:string for a plain one)
    datatype: str = ""


def parse_object(token: str) -> Term:
    """Decode an object as written in canonical N-Triples."""
    if token[0] == "<":
        return Term("iri", unescape(token[1:-1]))
    end = token.rindex('"')
    value = unescape(token[1:end])
    suffix = token[end + 1 :]
    if suffix.startswith("@"):
        return Term("literal", value, language=suffix[1:])
    if suffix.startswith("^^"):
        return Term("literal", value, datatype=unescape(suffix[3:-1]))
    return Term("literal", value, datatype=XSD_STRING)


# --------------------------------------------------------------------------- prefixes, compaction

#: prefixes every Turtle file of a release declares (a JSON-LD context may add more)
CORE_PREFIXES: dict[str, str] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dcterms": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "org": "http://www.w3.org/ns/org#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "pair": "http://virtual-assembly.org/ontologies/pair#",
    "prov": "http://www.w3.org/ns/prov#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "schema": "http://schema.org/",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "tl": "https://w3id.org/tierslieux/ontology#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}

# A conservative PN_LOCAL: letters, digits, "_", "-", and "." inside. Anything else keeps the
# full <IRI>, so no escaping rule of Turtle is ever needed.
_LOCAL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_PREFIX_NAME = re.compile(r"[A-Za-z](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?")
_CACHE_LIMIT = 200_000


class IriCompactor:
    """Shortens IRIs to ``prefix:local`` where the namespace is declared and the local part is
    a plain name; remembers its answers."""

    def __init__(self, prefixes: Mapping[str, str]) -> None:
        bad = [name for name in prefixes if not _PREFIX_NAME.fullmatch(name)]
        if bad:
            raise ValueError(f"not a Turtle prefix name: {bad[0]!r}")
        self.prefixes = dict(sorted(prefixes.items()))
        self._by_namespace = {ns: name for name, ns in sorted(self.prefixes.items(), reverse=True)}
        self._namespaces = tuple(sorted(set(self.prefixes.values())))
        self._cache: dict[str, str] = {}

    def term(self, iri: str) -> str:
        """The Turtle form of an IRI given without its brackets."""
        if not iri.startswith(self._namespaces):
            return f"<{iri}>"
        cached = self._cache.get(iri)
        if cached is not None:
            return cached
        result = f"<{iri}>"
        cut = max(iri.rfind("#"), iri.rfind("/"))
        if cut > 0:
            name = self._by_namespace.get(iri[: cut + 1])
            local = iri[cut + 1 :]
            if name is not None and _LOCAL.fullmatch(local):
                result = f"{name}:{local}"
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[iri] = result
        return result

    def object(self, token: str) -> str:
        """The Turtle form of an object given in N-Triples."""
        if token[0] == "<":
            return self.term(token[1:-1])
        if token[-1] == ">":  # a typed literal: "…"^^<datatype>
            cut = token.rindex("^^<")
            return token[:cut + 2] + self.term(token[cut + 3 : -1])
        return token

    def header(self) -> str:
        lines = [f"@prefix {name}: <{ns}> ." for name, ns in self.prefixes.items()]
        return "\n".join(lines) + "\n\n"


#: a local name the query output shortens to ``prefix:local`` (SPARQL's PN_LOCAL, roughly)
_DISPLAY_LOCAL = re.compile(
    r"^(?:[\w-]|%[0-9A-Fa-f]{2})(?:(?:[\w.:-]|%[0-9A-Fa-f]{2})*(?:[\w:-]|%[0-9A-Fa-f]{2}))?$")


def display_compactor(prefixes: dict[str, str]) -> Callable[[str], str]:
    """IRI -> ``prefix:local`` (longest namespace first) or ``<IRI>``, for the text output of
    SPARQL results; more lenient than ``IriCompactor`` (``%XX`` and ``:`` in local names)."""
    spaces = sorted(((ns, p) for p, ns in prefixes.items() if ns), key=lambda x: -len(x[0]))

    def compact(iri: str) -> str:
        for ns, prefix in spaces:
            if iri.startswith(ns):
                local = iri[len(ns):]
                if local == "" or _DISPLAY_LOCAL.match(local):
                    return f"{prefix}:{local}"
        return f"<{iri}>"

    return compact
