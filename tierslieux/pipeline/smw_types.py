"""Semantic MediaWiki property pages (namespace 102): declared types and allowed values.

A property page says ``[[A le type::Page]]`` / ``[[Has type::Date]]`` and may list its
allowed values, ``[[Allows value::…]]``; on the fabmob wiki the values form a tree written
as paths (``Compétences véhicule / Véhicule motorisé / Véhicule motorisé aérien``).

* ``read_property`` turns one parsed property page into a :class:`PropertyDecl`.
* ``type_value`` types one annotation value as its property's type says: a Page value is the
  IRI of that page's entity, a date an ``xsd:date``/``gYearMonth``/``gYear``, a number an
  ``xsd:decimal``, a URL an IRI, a boolean an ``xsd:boolean``; a value the type refuses gives
  None and a reason (a row of ``quality.csv``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rdflib import XSD, Literal, URIRef

from tierslieux.model.clean import clean_date, clean_email, clean_phone, fold
from tierslieux.model.iri import is_iri
from tierslieux.errors import ParseError
from tierslieux.model.records import ParsedPage
from tierslieux.pipeline.parse import parse_page

__all__ = ["PropertyDecl", "SMW_TYPES", "read_property", "type_value", "canonical_type",
           "property_types", "PROPERTY_NAMESPACE"]

#: the namespace of SMW property pages
PROPERTY_NAMESPACE = 102

#: canonical SMW type -> its names (English and French SMW type labels)
SMW_TYPES: dict[str, tuple[str, ...]] = {
    "Page": ("Page",),
    "Text": ("Text", "Texte"),
    "Code": ("Code",),
    "Date": ("Date",),
    "Number": ("Number", "Nombre"),
    "Quantity": ("Quantity", "Quantité"),
    "URL": ("URL", "URI", "Adresse URL"),
    "Email": ("Email", "Courriel", "Adresse électronique", "Adresse courriel"),
    "Telephone number": ("Telephone number", "Numéro de téléphone", "Téléphone"),
    "Geographic coordinate": ("Geographic coordinate", "Geographic coordinates",
                              "Coordonnées géographiques", "Coordonnées"),
    "Boolean": ("Boolean", "Booléen"),
    "Temperature": ("Temperature", "Température"),
    "External identifier": ("External identifier", "Identifiant externe"),
    "Monolingual text": ("Monolingual text", "Texte monolingue"),
    "Record": ("Record", "Enregistrement"),
    "Reference": ("Reference", "Référence"),
    "Annotation URI": ("Annotation URI", "URI d'annotation"),
    "Keyword": ("Keyword", "Mot-clé"),
}
_TYPE_INDEX = {fold(name): canonical for canonical, names in SMW_TYPES.items()
               for name in names}
#: the properties a property page declares itself with (folded)
TYPE_PROPERTIES = frozenset({"a le type", "has type", "type"})
ALLOWS_PROPERTIES = frozenset({"allows value", "allows values", "valeur autorisee",
                               "valeurs autorisees", "autorise la valeur"})
_TREE_SEP = re.compile(r"\s+/\s+")
_NUMBER = re.compile(r"[+-]?\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?")
_COORDINATE = re.compile(r"\s*([+-]?\d+(?:\.\d+)?)\s*[,;]\s*([+-]?\d+(?:\.\d+)?)\s*")
_TRUE = frozenset({"true", "yes", "oui", "vrai", "1", "t", "y"})
_FALSE = frozenset({"false", "no", "non", "faux", "0", "f", "n"})


@dataclass(frozen=True)
class PropertyDecl:
    """What a property page declares."""

    name: str
    #: the canonical type ("Page", "Date"…), "" when none is declared
    type: str = ""
    #: the type as written when it is not one SMW knows
    unknown_type: str = ""
    #: allowed values as written, in page order
    allowed: tuple[str, ...] = ()


def canonical_type(written: str) -> str | None:
    return _TYPE_INDEX.get(fold(written))


def property_title(title: str) -> str:
    """The property name of a property page title (``Propriété:Skills`` -> ``Skills``)."""
    return title.partition(":")[2].strip() if ":" in title else title.strip()


def read_property(parsed: ParsedPage) -> PropertyDecl:
    """The declaration of one property page."""
    name = property_title(parsed.page.revision.title)
    declared = ""
    unknown = ""
    allowed: list[str] = []
    for annotation in parsed.annotations:
        key = fold(annotation.property)
        if key in TYPE_PROPERTIES and not declared and not unknown:
            declared = canonical_type(annotation.value) or ""
            if not declared:
                unknown = annotation.value
        elif key in ALLOWS_PROPERTIES:
            allowed.append(annotation.value)
    return PropertyDecl(name=name, type=declared, unknown_type=unknown,
                        allowed=tuple(dict.fromkeys(allowed)))


def property_types(store: object) -> dict[str, str]:
    """Folded property name -> declared type, from the property pages of ``store`` (a
    pipeline Store); a page that cannot be parsed declares nothing (the build reports it).
    The build runs it before the pages, every time: property pages are few and small."""
    types: dict[str, str] = {}
    for page in store.pages([PROPERTY_NAMESPACE]):  # type: ignore[attr-defined]
        try:
            decl = read_property(parse_page(page))
        except ParseError:
            continue
        if decl.type:
            types[fold(decl.name)] = decl.type
    return dict(sorted(types.items()))


def is_declaration(property_name: str) -> bool:
    """Whether an annotation of a property page declares the property (type, values)."""
    key = fold(property_name)
    return key in TYPE_PROPERTIES or key in ALLOWS_PROPERTIES


def tree_path(value: str) -> tuple[str, ...]:
    """The path of an allowed value in its tree (``A / B / C`` -> ``(A, B, C)``)."""
    return tuple(part.strip() for part in _TREE_SEP.split(value.strip()) if part.strip())


def type_value(kind: str, value: str, page_iri: object = None
               ) -> tuple[URIRef | Literal | None, str]:
    """(the typed node, "") or (None, why the type refuses the value). ``page_iri`` makes the
    IRI of a Page value's page."""
    text = value.strip()
    if kind == "Page":
        assert callable(page_iri)
        iri = page_iri(text)
        return (iri, "") if iri is not None else (None, "not a page title")
    if kind == "Date":
        cleaned = clean_date(text)
        if cleaned.value is None:
            return None, "not a date"
        return Literal(cleaned.value.lexical, datatype=XSD[cleaned.value.datatype],
                       normalize=False), ""
    if kind in ("Number", "Quantity", "Temperature"):
        match = _NUMBER.match(text.replace("\u202f", "").replace("\xa0", "").replace(" ", ""))
        if match is None or (kind == "Number" and match.end() != len(
                text.replace("\u202f", "").replace("\xa0", "").replace(" ", ""))):
            return None, "not a number"
        return Literal(match.group().replace(",", "."), datatype=XSD.decimal,
                       normalize=False), ""
    if kind in ("URL", "Annotation URI"):
        return (URIRef(text), "") if is_iri(text) else (None, "not a URL")
    if kind == "Email":
        cleaned = clean_email(text)
        if cleaned.value is None:
            return None, "not an e-mail address"
        return Literal(str(cleaned.value)), ""
    if kind == "Telephone number":
        cleaned = clean_phone(text)
        if cleaned.value is None:
            return None, "not a telephone number"
        return Literal(str(cleaned.value)), ""
    if kind == "Boolean":
        word = fold(text)
        if word in _TRUE:
            return Literal(True), ""
        if word in _FALSE:
            return Literal(False), ""
        return None, "not a boolean"
    if kind == "Geographic coordinate":
        match = _COORDINATE.fullmatch(text)
        if match is None or abs(float(match.group(1))) > 90 or abs(float(match.group(2))) > 180:
            return None, "not a geographic coordinate (latitude, longitude)"
        return Literal(f"{match.group(1)}, {match.group(2)}"), ""
    return Literal(text), ""
