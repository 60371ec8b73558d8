"""A streaming JSON-LD writer over triples in triple order (see ntriples.py).

The document embeds the ``@context`` of ``context.jsonld`` (so that it reads offline, without
fetching anything) and holds a ``@graph`` of node objects sorted by ``@id``. Each node object
has ``@id``, then ``@type``, then its properties sorted by key.

It is not a general JSON-LD compaction algorithm but gives the same kind of output, and never a
wrong one: a term of the context is used as the key of a value only when expanding that value
with the term gives back exactly the triple; every other value is written under a compact IRI
(``tl:name``) or the full IRI, as an explicit value object (``{"@id": …}``,
``{"@value": …, "@language": …}``, ``{"@value": …, "@type": …}``). Terms that change how their
values are read beyond a type or language (scoped contexts, ``@reverse``, ``@nest``, containers
other than ``@set``) are never used.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from tierslieux.errors import MappingError
from tierslieux.model.rdf import (
    RDF_TYPE,
    XSD_STRING,
    Term,
    Triple,
    parse_object,
    unescape,
)

#: json.dumps of one string with ensure_ascii=False (the C encoder)
_string = json.encoder.encode_basestring
_GEN_DELIMS = (":", "/", "?", "#", "[", "]", "@")


@dataclass(frozen=True)
class TermDefinition:
    """One term of a context, expanded."""

    name: str
    iri: str
    #: "@id", "@vocab", a datatype IRI, or "" when the term sets no type
    type: str
    #: the language its string values get: a tag, "" for none
    language: str
    #: a simple term usable as the prefix of a compact IRI
    prefix: bool
    #: the term may be used as a key or a @type value by this writer
    usable: bool
    container_set: bool


class Context:
    """The parts of a JSON-LD context that the writer needs."""

    def __init__(self, context: Mapping[str, Any]) -> None:
        if not isinstance(context, Mapping):
            raise MappingError(
                "context.jsonld: @context must be one JSON object (not a list or a URL)"
            )
        self.raw = context
        self.vocab = context.get("@vocab") or ""
        language = context.get("@language")
        self.language = language if isinstance(language, str) else ""
        #: with a default direction, plain strings would not be plain: always write value objects
        self.plain_strings_ok = not context.get("@direction")
        self.terms: dict[str, TermDefinition] = {}
        for name in context:
            if not name.startswith("@"):
                definition = self._define(name, set())
                if definition is not None:
                    self.terms[name] = definition
        self.prefixes = {t.name: t.iri for t in self.terms.values() if t.prefix}
        self._by_iri: dict[str, list[TermDefinition]] = {}
        for term in sorted(self.terms.values(), key=lambda t: (len(t.name), t.name)):
            if term.usable:
                self._by_iri.setdefault(term.iri, []).append(term)
        # Several prefixes for one namespace: the shortest name wins, then the first in order.
        self._prefix_by_ns: dict[str, str] = {}
        by_length = sorted(self.prefixes.items(), key=lambda kv: (len(kv[0]), kv[0]))
        for name, iri in reversed(by_length):
            self._prefix_by_ns[iri] = name
        self._namespaces = tuple(sorted(self._prefix_by_ns))
        self._iri_cache: dict[tuple[str, bool], str] = {}
        self._shapes: dict[tuple[str, str], tuple[str, str, str, bool]] = {}
        self._encoded_iris: dict[tuple[str, bool], str] = {}
        #: key -> the text before its value in a node object
        self._key_lines: dict[str, str] = {}

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Context:
        """Read the context of a ``context.jsonld`` document (``{"@context": {...}}``)."""
        if not isinstance(document, Mapping) or "@context" not in document:
            raise MappingError("context.jsonld has no @context")
        return cls(document["@context"])

    # -------------------------------------------------------------- reading the context

    def _define(self, name: str, seen: set[str]) -> TermDefinition | None:
        value = self.raw[name]
        if value is None:
            return None
        if isinstance(value, str):
            iri = self._expand(value, seen | {name})
            simple = ":" not in name
            return TermDefinition(
                name=name, iri=iri, type="", language=self.language,
                prefix=simple and iri.endswith(_GEN_DELIMS), usable=bool(iri), container_set=False,
            )
        if not isinstance(value, Mapping):
            raise MappingError(f"context.jsonld: term {name!r} is neither a string nor an object")
        if "@reverse" in value:
            return None
        iri_value = value.get("@id")
        if iri_value is None:
            if ":" in name:
                iri = self._expand(name, seen | {name})
            else:
                iri = self.vocab + name if self.vocab else ""
        else:
            iri = self._expand(iri_value, seen | {name})
        type_value = value.get("@type", "")
        if type_value in ("@id", "@vocab", ""):
            type_ = type_value
        elif isinstance(type_value, str) and not type_value.startswith("@"):
            type_ = self._expand(type_value, seen | {name}, vocab=True)
        else:
            type_ = "@unsupported"
        if "@language" in value:
            lang = value["@language"]
            language = lang if isinstance(lang, str) else ""
        else:
            language = self.language
        container = value.get("@container")
        if isinstance(container, list) and len(container) == 1:
            container = container[0]
        usable = (
            bool(iri)
            and type_ != "@unsupported"
            and container in (None, "@set")
            and not {"@context", "@nest", "@direction", "@index"} & set(value)
        )
        prefix = bool(value.get("@prefix", False)) and ":" not in name
        return TermDefinition(
            name=name, iri=iri, type=type_, language=language, prefix=prefix,
            usable=usable, container_set=container == "@set",
        )

    def _expand(self, value: str, seen: set[str], vocab: bool = True) -> str:
        """Expand an IRI written in the context itself (terms may use one another)."""
        if value.startswith("@"):
            return ""
        if ":" in value:
            prefix, suffix = value.split(":", 1)
            if suffix.startswith("//"):
                return value
            if prefix in self.raw and prefix not in seen:
                definition = self._define(prefix, seen)
                if definition is not None and definition.iri:
                    return definition.iri + suffix
            return value
        if vocab and value in self.raw and value not in seen:
            definition = self._define(value, seen)
            return definition.iri if definition else ""
        return self.vocab + value if vocab and self.vocab else value

    # -------------------------------------------------------------- writing with it

    def compact_iri(self, iri: str, *, vocab: bool, terms: bool = True) -> str:
        """The shortest form of ``iri`` that expands back to it.

        ``vocab`` is True for keys, @type values and @vocab-typed values (where terms count),
        False for @id values. ``terms=False`` gives a compact IRI even where a term exists.
        """
        if vocab and terms:
            # A term's type and language do not matter here: keys carry explicit value objects
            # when the term's coercion does not fit, and @type values are plain IRIs.
            found = self._by_iri.get(iri)
            if found:
                return found[0].name
        if iri.startswith(self._namespaces):
            cut = max(iri.rfind("#"), iri.rfind("/"), iri.rfind(":"))
            while cut > 0:
                name = self._prefix_by_ns.get(iri[: cut + 1])
                if name is not None:
                    suffix = iri[cut + 1 :]
                    candidate = f"{name}:{suffix}"
                    if not suffix.startswith("//") and (not vocab or candidate not in self.terms):
                        return candidate
                    break
                cut = max(iri.rfind("#", 0, cut), iri.rfind("/", 0, cut), iri.rfind(":", 0, cut))
        # A full IRI is read as such unless its scheme is also a term of the context.
        if iri[: iri.find(":")] in self.terms or (vocab and iri in self.terms):
            raise MappingError(f"context.jsonld: a term hides the IRI {iri}")
        return iri

    def _cached_iri(self, iri: str, vocab: bool) -> str:
        cache = self._iri_cache
        key = (iri, vocab)
        found = cache.get(key)
        if found is None:
            if len(cache) > 100_000:
                cache.clear()
            found = cache[key] = self.compact_iri(iri, vocab=vocab)
        return found

    def _shape(self, predicate: str, token: str) -> tuple[str, str, str, bool]:
        """How to write objects of one predicate and one kind: (key, mode, extra, always array).

        The kind is the object's form without its value: an IRI, or a literal's language tag or
        datatype. Modes: "text" (the lexical form as a string), "iri" / "vocab" (the compacted
        IRI as a string), "id" ({"@id": …}), "lang", "plain", "typed" (value objects).
        """
        term_value = parse_object(token)
        for term in self._by_iri.get(predicate, ()):
            mode = self._term_mode(term, term_value)
            if mode:
                return term.name, mode, "", term.container_set
        # No term fits: a compact IRI key (never a term, whose type or language would apply).
        key = self.compact_iri(predicate, vocab=True, terms=False)
        if term_value.kind == "iri":
            return key, "id", "", False
        if term_value.language:
            return key, "lang", term_value.language, False
        if term_value.datatype == XSD_STRING:
            if not self.language and self.plain_strings_ok:
                return key, "text", "", False
            return key, "plain", "", False
        return key, "typed", self.compact_iri(term_value.datatype, vocab=True), False

    def _term_mode(self, term: TermDefinition, value: Term) -> str:
        if value.kind == "iri":
            return {"@id": "iri", "@vocab": "vocab"}.get(term.type, "")
        if term.type in ("@id", "@vocab"):
            return ""
        if term.type:
            return "text" if value.datatype == term.type and not value.language else ""
        if not self.plain_strings_ok:
            return ""
        if value.language:
            # Exact case: rdflib keeps the case of tags, so "FR" and "fr" would not round-trip.
            return "text" if value.language == term.language else ""
        if value.datatype == XSD_STRING and not term.language:
            return "text"
        return ""

    def encoded_value(self, predicate: str, token: str) -> tuple[str, str | tuple[str, ...], bool]:
        """The key, the JSON value and whether the key's values are always arrays, for the
        predicate ``predicate`` (as in a triple: escaped) and the object ``token``. The value
        is JSON text already: a string, or the members of a value object (``"@id": …``)."""
        if token[0] == "<":
            shape_key = (predicate, "<")
        else:
            shape_key = (predicate, token[token.rindex('"') + 1 :])
        shape = self._shapes.get(shape_key)
        if shape is None:
            key, mode, extra, always = self._shape(unescape(predicate), token)
            shape = self._shapes[shape_key] = (key, mode, _string(extra), always)
        key, mode, extra, always = shape
        if mode == "iri" or mode == "vocab" or mode == "id":
            vocab = mode == "vocab"
            cache = self._encoded_iris
            found = cache.get((token, vocab))
            if found is None:
                if len(cache) > 100_000:
                    cache.clear()
                found = cache[(token, vocab)] = _string(self._cached_iri(unescape(token[1:-1]),
                                                                         vocab))
            return key, (('"@id": ' + found,) if mode == "id" else found), always
        value = _string(unescape(token[1 : token.rindex('"')]))
        if mode == "text":
            return key, value, always
        if mode == "lang":
            return key, ('"@value": ' + value, '"@language": ' + extra), always
        if mode == "plain":
            return key, ('"@value": ' + value,), always
        return key, ('"@value": ' + value, '"@type": ' + extra), always


def write_jsonld(triples: Iterable[Triple], out: TextIO, context: Context) -> int:
    """Write triples (in triple order, without duplicates) as compacted JSON-LD; return how many."""
    out.write(jsonld_head(context))
    count = 0
    first = True
    for text, counted in jsonld_chunks(triples, context):
        out.write(text[1:] if first else text)  # the first node has no comma before it
        first = False
        count += counted
    out.write(jsonld_tail(count))
    return count


def jsonld_head(context: Context) -> str:
    """The document up to the ``@graph`` array's opening bracket."""
    return ('{\n  "@context": '
            + _indent(json.dumps(context.raw, ensure_ascii=False, indent=2), "  ")
            + ',\n  "@graph": [')


def jsonld_tail(count: int) -> str:
    """The end of a document of ``count`` triples."""
    return "\n  ]\n}\n" if count else "]\n}\n"


def jsonld_nodes(triples: Iterable[Triple], context: Context) -> str:
    """The node objects of ``triples`` (whole subjects), each preceded by ``,\\n``: a document
    is the head, the nodes of every subject with the very first comma left out, and the tail
    (a segment of the release, segments.py, is rendered so)."""
    return "".join(text for text, _ in jsonld_chunks(triples, context))


def jsonld_chunks(triples: Iterable[Triple], context: Context) -> Iterator[tuple[str, int]]:
    """``jsonld_nodes`` a few thousand nodes at a time, each text with its number of triples."""
    count = 0
    chunk: list[str] = []
    subject = None
    node: list[tuple[str, str]] = []
    for s, p, o in triples:
        if s != subject:
            if node:
                chunk.append(",\n")
                _node(chunk, subject, node, context)
                node.clear()
                if len(chunk) > 20_000:
                    yield "".join(chunk), count
                    chunk.clear()
                    count = 0
            subject = s
        node.append((p, o))
        count += 1
    if node:
        chunk.append(",\n")
        _node(chunk, subject, node, context)
    if chunk:
        yield "".join(chunk), count


def _node(chunk: list[str], subject: str, pairs: list[tuple[str, str]], context: Context) -> None:
    """Append one node object, laid out as ``json.dumps(indent=2)`` would, indented by 4."""
    types = []
    values: dict[str, list[Any]] = {}
    always_array: set[str] = set()
    encoded = context.encoded_value
    for p, o in pairs:
        if p == RDF_TYPE and o[0] == "<":
            types.append(_string(context._cached_iri(unescape(o[1:-1]), True)))
            continue
        key, value, container_set = encoded(p, o)
        found = values.get(key)
        if found is None:
            values[key] = [value]
        else:
            found.append(value)
        if container_set:
            always_array.add(key)
    append = chunk.append
    append('    {\n      "@id": ')
    append(_string(context.compact_iri(unescape(subject), vocab=False)))
    if types:
        append(',\n      "@type": ')
        _member(append, types, len(types) > 1)
    key_lines = context._key_lines
    for key in sorted(values):
        line = key_lines.get(key)
        if line is None:
            line = key_lines[key] = f",\n      {_string(key)}: "
        append(line)
        items = values[key]
        _member(append, items, len(items) > 1 or key in always_array)
    append("\n    }")


def _member(append: Callable[[str], Any], items: list[Any], array: bool) -> None:
    """A member's value (JSON text, or the members of a value object), or an array of them."""
    if not array:
        value = items[0]
        if isinstance(value, str):
            append(value)
        else:
            append("{\n        " + ",\n        ".join(value) + "\n      }")
        return
    append("[")
    end = len(items) - 1
    for position, value in enumerate(items):
        if isinstance(value, str):
            append("\n        " + value)
        else:
            append("\n        {\n          " + ",\n          ".join(value) + "\n        }")
        if position != end:
            append(",")
    append("\n      ]")


def _indent(text: str, pad: str) -> str:
    return text.replace("\n", "\n" + pad)
