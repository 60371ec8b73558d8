"""``catalog.ttl``: a DCAT-AP catalogue of the release and a VoID description of its graph.

catalogue -> dataset (also a ``void:Dataset``) -> one ``dcat:Distribution`` per published data
file, with its download address under the publication URL (relative addresses when no
publication URL is set: they resolve against the address of ``catalog.ttl`` itself), media type,
format, size in bytes, SHA-256 checksum and licence.

The catalogue describes the files whose bytes depend on the data alone. It does not describe
itself, ``SHA256SUMS``, nor the files that describe one run rather than the data —
``report.json`` (it holds the run's clock times) and ``diff-added.nt.gz`` /
``diff-removed.nt.gz`` (they depend on the previous release) — so that the same data always
gives the same catalogue, byte for byte. ``SHA256SUMS`` covers the diff files as well.

``dcterms:issued`` and ``dcterms:modified`` are the newest revision timestamp found in the data,
never the clock. Every node has an IRI under the data's base IRI (no blank nodes).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO

from tierslieux.exports.ntriples import RDF_TYPE, XSD, Triple, parse_object
from tierslieux.exports.turtle import IriCompactor, write_turtle

DCAT = "http://www.w3.org/ns/dcat#"
DCTERMS = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
VOID = "http://rdfs.org/ns/void#"
SPDX = "http://spdx.org/rdf/terms#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
CC = "http://creativecommons.org/ns#"
EU = "http://publications.europa.eu/resource/authority/"
IANA = "http://www.iana.org/assignments/media-types/"
FORMATS = "http://www.w3.org/ns/formats/"

CATALOG_PREFIXES = {
    "cc": CC, "dcat": DCAT, "dcterms": DCTERMS, "foaf": FOAF, "rdf": RDF_TYPE[:-4],
    "rdfs": RDFS, "spdx": SPDX, "void": VOID, "xsd": XSD,
}

#: what the catalogue says of each kind of file: (media type, EU file type, title fr, title en)
FILE_KINDS: dict[str, tuple[str, str, str, str]] = {
    "tierslieux.ttl": ("text/turtle", "RDF_TURTLE", "Le graphe complet, en Turtle",
                       "The whole graph, Turtle"),
    "tierslieux.nt.gz": ("application/n-triples", "RDF_N_TRIPLES",
                         "Le graphe complet, en N-Triples triés, compressés gzip",
                         "The whole graph, sorted N-Triples, gzip"),
    "tierslieux.jsonld": ("application/ld+json", "JSON_LD",
                          "Le graphe complet, en JSON-LD compacté avec context.jsonld",
                          "The whole graph, JSON-LD compacted with context.jsonld"),
    "ontology.ttl": ("text/turtle", "RDF_TURTLE", "L'ontologie (OWL, SKOS)",
                     "The ontology (OWL, SKOS)"),
    "shapes.ttl": ("text/turtle", "RDF_TURTLE", "Les formes SHACL qui valident le graphe",
                   "The SHACL shapes that validate the graph"),
    "context.jsonld": ("application/ld+json", "JSON_LD", "Le contexte JSON-LD",
                       "The JSON-LD context"),
    "datapackage.json": ("application/json", "JSON",
                         "Description Frictionless Data Package et Table Schema des tables CSV",
                         "Frictionless Data Package and Table Schema of the CSV tables"),
    "csv-metadata.json": ("application/csvm+json", "JSON",
                          "Description CSV on the Web (CSVW) des tables CSV",
                          "CSV on the Web (CSVW) metadata of the CSV tables"),
}
CSV_KIND = ("text/csv", "CSV")
#: the RDF dumps, in the order of void:dataDump and void:feature
DUMPS = {
    "tierslieux.ttl": FORMATS + "Turtle",
    "tierslieux.nt.gz": FORMATS + "N-Triples",
    "tierslieux.jsonld": FORMATS + "JSON-LD",
}


@dataclass(frozen=True)
class GraphStats:
    """Counts of a graph, for VoID and report.json."""

    triples: int
    distinct_subjects: int
    #: distinct subjects inside the URI space (the base IRI): void:entities
    entities: int
    #: class IRI -> number of subjects of that type
    classes: tuple[tuple[str, int], ...]
    #: property IRI -> number of triples
    properties: tuple[tuple[str, int], ...]
    #: the greatest dcterms:modified xsd:dateTime in the data, "" if none
    newest_modified: str


DCTERMS_MODIFIED = DCTERMS + "modified"


def graph_stats(triples: Iterable[Triple], uri_space: str) -> GraphStats:
    """One pass over triples in triple order."""
    count = subjects = entities = 0
    classes: Counter[str] = Counter()
    properties: Counter[str] = Counter()
    newest = ""
    previous = None
    for s, p, o in triples:
        count += 1
        properties[p] += 1
        if s != previous:
            previous = s
            subjects += 1
            if s.startswith(uri_space):
                entities += 1
        if p == RDF_TYPE and o[0] == "<":
            classes[o[1:-1]] += 1
        elif p == DCTERMS_MODIFIED and o.endswith(f"^^<{XSD}dateTime>"):
            value = parse_object(o).value
            if value > newest:
                newest = value
    return GraphStats(
        triples=count, distinct_subjects=subjects, entities=entities,
        classes=tuple(sorted(classes.items())), properties=tuple(sorted(properties.items())),
        newest_modified=newest,
    )


@dataclass(frozen=True)
class CatalogInfo:
    """What the catalogue says besides the files (taken from ReleaseMeta by the caller)."""

    base_iri: str
    publication_url: str
    title: Mapping[str, str]
    description: Mapping[str, str]
    keywords: Sequence[str]
    publisher_name: str
    licence_iri: str
    licence_name: str
    attribution: str
    source_url: str
    modified: str
    ontology_iri: str = "https://w3id.org/tierslieux/ontology"


def catalog_triples(info: CatalogInfo, files: Mapping[str, tuple[int, str]],
                    stats: GraphStats, prefixes: Mapping[str, str],
                    csv_titles: Mapping[str, tuple[str, str]]) -> list[Triple]:
    """The catalogue as triples, in triple order.

    ``files`` maps each described file name to (size in bytes, SHA-256 hex); ``csv_titles``
    maps a CSV file name to its (French, English) title.
    """
    out: set[Triple] = set()
    base = info.base_iri
    catalog, dataset, publisher = base + "catalog", base + "dataset", base + "publisher"

    def add(s: str, p: str, o: str) -> None:
        out.add((s, p, o))

    def url(name: str) -> str:
        return info.publication_url + name

    modified = [(_lit(info.modified, datatype=XSD + "dateTime"))] if info.modified else []
    for node in (catalog, dataset):
        for lang in ("fr", "en"):
            add(node, DCTERMS + "title", _lit(info.title[lang], lang=lang))
            add(node, DCTERMS + "description", _lit(info.description[lang], lang=lang))
        add(node, DCTERMS + "publisher", _iri(publisher))
        add(node, DCTERMS + "license", _iri(info.licence_iri))
        add(node, DCTERMS + "language", _iri(EU + "language/FRA"))
        for value in modified:
            add(node, DCTERMS + "issued", value)
            add(node, DCTERMS + "modified", value)
    add(catalog, RDF_TYPE, _iri(DCAT + "Catalog"))
    add(catalog, DCAT + "dataset", _iri(dataset))
    if info.publication_url:
        add(catalog, FOAF + "homepage", _iri(info.publication_url))
    add(publisher, RDF_TYPE, _iri(FOAF + "Agent"))
    add(publisher, FOAF + "name", _lit(info.publisher_name))
    add(info.licence_iri, RDF_TYPE, _iri(DCTERMS + "LicenseDocument"))
    add(info.licence_iri, RDFS + "label", _lit(info.licence_name))

    add(dataset, RDF_TYPE, _iri(DCAT + "Dataset"))
    add(dataset, RDF_TYPE, _iri(VOID + "Dataset"))
    add(dataset, CC + "attributionName", _lit(info.attribution))
    add(dataset, DCTERMS + "spatial", _iri(EU + "country/FRA"))
    add(dataset, DCAT + "theme", _iri(EU + "data-theme/SOCI"))
    add(dataset, DCAT + "theme", _iri(EU + "data-theme/GOVE"))
    add(dataset, DCTERMS + "conformsTo", _iri(info.ontology_iri))
    for keyword in info.keywords:
        add(dataset, DCAT + "keyword", _lit(keyword, lang="fr"))
    if info.source_url:
        add(dataset, DCTERMS + "source", _iri(info.source_url))
        add(dataset, DCAT + "landingPage", _iri(info.source_url))

    for name, (size, digest) in sorted(files.items()):
        dist = base + "distribution/" + name
        if name.endswith(".csv"):
            media, filetype = CSV_KIND
            title_fr, title_en = csv_titles.get(name, (name, name))
        else:
            media, filetype, title_fr, title_en = FILE_KINDS[name]
        add(dataset, DCAT + "distribution", _iri(dist))
        add(dist, RDF_TYPE, _iri(DCAT + "Distribution"))
        add(dist, DCTERMS + "title", _lit(f"{name} : {title_fr}", lang="fr"))
        add(dist, DCTERMS + "title", _lit(f"{name}: {title_en}", lang="en"))
        add(dist, DCAT + "accessURL", _iri(url(name)))
        add(dist, DCAT + "downloadURL", _iri(url(name)))
        add(dist, DCAT + "mediaType", _iri(IANA + media))
        add(dist, DCTERMS + "format", _iri(EU + "file-type/" + filetype))
        if name.endswith(".gz"):
            add(dist, DCAT + "compressFormat", _iri(IANA + "application/gzip"))
        add(dist, DCAT + "byteSize", _lit(str(size), datatype=XSD + "nonNegativeInteger"))
        add(dist, DCTERMS + "license", _iri(info.licence_iri))
        for value in modified:
            add(dist, DCTERMS + "issued", value)
            add(dist, DCTERMS + "modified", value)
        checksum = dist + "/checksum"
        add(dist, SPDX + "checksum", _iri(checksum))
        add(checksum, RDF_TYPE, _iri(SPDX + "Checksum"))
        add(checksum, SPDX + "algorithm", _iri(SPDX + "checksumAlgorithm_sha256"))
        add(checksum, SPDX + "checksumValue", _lit(digest, datatype=XSD + "hexBinary"))

    # VoID
    add(dataset, VOID + "triples", _lit(str(stats.triples), datatype=XSD + "integer"))
    add(dataset, VOID + "entities", _lit(str(stats.entities), datatype=XSD + "integer"))
    add(dataset, VOID + "distinctSubjects",
        _lit(str(stats.distinct_subjects), datatype=XSD + "integer"))
    add(dataset, VOID + "uriSpace", _lit(base))
    for name, feature in DUMPS.items():
        if name in files:
            add(dataset, VOID + "dataDump", _iri(url(name)))
            add(dataset, VOID + "feature", _iri(feature))
    vocabularies = {_namespace(iri) for iri, _ in stats.classes + stats.properties}
    for vocabulary in sorted(v for v in vocabularies if v):
        add(dataset, VOID + "vocabulary", _iri(vocabulary))
    compactor = IriCompactor(prefixes)
    for kind, rows, prop, count_prop in (
        ("class", stats.classes, VOID + "class", VOID + "entities"),
        ("property", stats.properties, VOID + "property", VOID + "triples"),
    ):
        for iri, count in rows:
            part = f"{dataset}/{kind}/{_slug(iri, compactor)}"
            add(dataset, VOID + f"{kind}Partition", _iri(part))
            add(part, RDF_TYPE, _iri(VOID + "Dataset"))
            add(part, prop, _iri(iri))
            add(part, count_prop, _lit(str(count), datatype=XSD + "integer"))
    return sorted(out)


def write_catalog(triples: Iterable[Triple], out: TextIO) -> int:
    out.write(
        "# DCAT-AP catalogue and VoID description of this release. Not described here: this\n"
        "# file, SHA256SUMS, report.json, diff-added.nt.gz, diff-removed.nt.gz (see SHA256SUMS).\n"
    )
    return write_turtle(triples, out, CATALOG_PREFIXES)


def _slug(iri: str, compactor: IriCompactor) -> str:
    term = compactor.term(iri)
    if not term.startswith("<"):
        return term.replace(":", "-")
    return "h" + hashlib.sha1(iri.encode("utf-8")).hexdigest()[:16]


def _namespace(iri: str) -> str:
    cut = max(iri.rfind("#"), iri.rfind("/"))
    return iri[: cut + 1] if cut > 0 else ""


# --------------------------------------------------------------------------- N-Triples terms

_IRI_UNSAFE = {c: f"%{c:02X}" for c in b'\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r'
               b'\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f'
               b' <>"{}|^`\\'}


def _iri(value: str) -> str:
    return "<" + value.translate(_IRI_UNSAFE) + ">"


_LITERAL_ESCAPES = {ord("\\"): "\\\\", ord('"'): '\\"', ord("\n"): "\\n", ord("\r"): "\\r"}


def _lit(value: str, *, lang: str = "", datatype: str = "") -> str:
    text = '"' + value.translate(_LITERAL_ESCAPES) + '"'
    if lang:
        return f"{text}@{lang}"
    if datatype:
        return f"{text}^^<{datatype}>"
    return text
