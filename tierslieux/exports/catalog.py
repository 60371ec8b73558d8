"""``catalog.ttl``: a DCAT-AP 3.0.1 catalogue of the release and a VoID description of its graph.

catalogue -> dataset (also a ``void:Dataset``) -> one ``dcat:Distribution`` per published data
file, with its download address, media type, format, size in bytes, SHA-256 checksum, licence,
description and availability. The dataset's ``dcat:landingPage`` is the release's
``index.html`` when the release publishes the Linked Data site, else the wiki; the wiki is its
``prov:wasDerivedFrom`` either way. Every address is absolute: under the publication URL, or, when
none is set, under ``{base IRI}release/`` (``default_publication_url``; the build says so).

The catalogue describes the files whose bytes depend on the data alone. It does not describe
itself, ``SHA256SUMS``, nor the files that describe one run rather than the data —
``report.json`` (it holds the run's clock times) and ``diff-added.nt.gz`` /
``diff-removed.nt.gz`` (they depend on the previous release) — so that the same data always
gives the same catalogue, byte for byte. ``SHA256SUMS`` covers the diff files as well.

``dcterms:issued`` and ``dcterms:modified`` are the newest revision timestamp found in the data,
and ``dcterms:temporal`` runs from the oldest to the newest: never the clock. Every node has an
IRI (no blank nodes): under the base IRI, except the period of ``dcterms:temporal``,
``{publication URL}catalog.ttl#temporal``, since udata fetches a period given by IRI.
Objects the DCAT-AP range shapes constrain are typed in the catalogue itself
(``dcterms:MediaType``, ``skos:Concept`` with its ``skos:inScheme``…), since a harvester cannot
be expected to fetch every vocabulary.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TextIO
from urllib.parse import urlsplit

from tierslieux.errors import PublishError
from tierslieux.ontology.catalog_terms import (
    ADMS_LICENCE_TYPE,
    ADMS_PUBLISHER_TYPE,
    CC,
    CONCEPT_LABELS,
    CSV_DESCRIPTION,
    CSV_KIND,
    DCAT,
    DCAT_AP,
    DCAT_AP_NAME,
    DCATAP,
    DCTERMS,
    DUMPS,
    EU,
    FILE_KINDS,
    FOAF,
    GZIP,
    IANA,
    RDFS,
    SCHEME_TITLES,
    SKOS,
    SPDX,
    VCARD,
    VOID,
    known_licence,
    scheme_of,
)
from tierslieux.exports.turtle import write_turtle
from tierslieux.geography import SOURCE as GEOGRAPHY_SOURCE
from tierslieux.model.rdf import (
    RDF_TYPE,
    XSD,
    IriCompactor,
    Triple,
    iri_term,
    literal_term,
    parse_object,
)

OWL = "http://www.w3.org/2002/07/owl#"
PROV = "http://www.w3.org/ns/prov#"
CATALOG_PREFIXES = {
    "cc": CC, "dcat": DCAT, "dcatap": DCATAP, "dcterms": DCTERMS, "foaf": FOAF,
    "owl": OWL, "prov": PROV, "rdf": RDF_TYPE[:-4], "rdfs": RDFS, "skos": SKOS, "spdx": SPDX,
    "vcard": VCARD, "void": VOID, "xsd": XSD,
}


def default_publication_url(base_iri: str) -> str:
    """Where the catalogue says the files are when no publication URL is set."""
    root = base_iri.rstrip("#")
    return (root if root.endswith("/") else root + "/") + "release/"


@dataclass(frozen=True)
class CatalogSettings:
    """What a publisher configures about the catalogue (tierslieux.toml, see config.py)."""

    #: dcat:contactPoint: an email address or an http(s) URL; "" = none
    contact_point: str = ""
    #: dcterms:accrualPeriodicity, an EU frequency code (catalog_terms.FREQUENCIES)
    accrual_periodicity: str = "IRREG"
    #: dcterms:type of the publisher, an ADMS publisher type (catalog_terms.PUBLISHER_TYPES)
    publisher_type: str = "NonProfitOrganisation"
    #: "string" (what udata stores) or "hexBinary" (what DCAT-AP 3.0.1 requires)
    checksum_datatype: str = "string"


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
    #: the least dcterms:created or dcterms:modified xsd:dateTime in the data, "" if none
    oldest_date: str = ""


DCTERMS_MODIFIED = DCTERMS + "modified"
DCTERMS_CREATED = DCTERMS + "created"


def graph_stats(triples: Iterable[Triple], uri_space: str) -> GraphStats:
    """One pass over triples in triple order."""
    count = subjects = entities = 0
    classes: Counter[str] = Counter()
    properties: Counter[str] = Counter()
    newest = oldest = ""
    previous = None
    datetime_suffix = f"^^<{XSD}dateTime>"
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
        elif (p == DCTERMS_MODIFIED or p == DCTERMS_CREATED) and o.endswith(datetime_suffix):
            value = parse_object(o).value
            if p == DCTERMS_MODIFIED and value > newest:
                newest = value
            if not oldest or value < oldest:
                oldest = value
    return GraphStats(
        triples=count, distinct_subjects=subjects, entities=entities,
        classes=tuple(sorted(classes.items())), properties=tuple(sorted(properties.items())),
        newest_modified=newest, oldest_date=oldest,
    )


def combine_stats(parts: Iterable[GraphStats]) -> GraphStats:
    """The statistics of a graph from those of its segments (which share no subject)."""
    triples = subjects = entities = 0
    classes: Counter[str] = Counter()
    properties: Counter[str] = Counter()
    newest = oldest = ""
    for stats in parts:
        triples += stats.triples
        subjects += stats.distinct_subjects
        entities += stats.entities
        classes.update(dict(stats.classes))
        properties.update(dict(stats.properties))
        newest = max(newest, stats.newest_modified)
        if stats.oldest_date and (not oldest or stats.oldest_date < oldest):
            oldest = stats.oldest_date
    return GraphStats(triples=triples, distinct_subjects=subjects, entities=entities,
                      classes=tuple(sorted(classes.items())),
                      properties=tuple(sorted(properties.items())),
                      newest_modified=newest, oldest_date=oldest)


@dataclass(frozen=True)
class CatalogInfo:
    """What the catalogue says besides the files (taken from ReleaseMeta by the caller)."""

    base_iri: str
    #: where the files are served (ends with "/"); "" = default_publication_url(base_iri)
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
    #: the oldest revision date of the data (start of dcterms:temporal), "" if unknown
    oldest: str = ""
    settings: CatalogSettings = CatalogSettings()
    #: the release publishes the Linked Data site (``index.html``, ``site/``): the dataset's
    #: landing page is then ``index.html``, else the wiki
    site: bool = False


def catalog_triples(info: CatalogInfo, files: Mapping[str, tuple[int, str]],
                    stats: GraphStats, prefixes: Mapping[str, str],
                    csv_titles: Mapping[str, tuple[str, str]]) -> list[Triple]:
    """The catalogue as triples, in triple order.

    ``files`` maps each described file name to (size in bytes, SHA-256 hex); ``csv_titles``
    maps a CSV file name to its (French, English) title. Raises PublishError when an address
    of the catalogue would not be an absolute IRI.
    """
    out: set[Triple] = set()
    base = info.base_iri
    settings = info.settings
    catalog, dataset, publisher = base + "catalog", base + "dataset", base + "publisher"
    publication = info.publication_url or default_publication_url(base)
    _require_absolute(publication, "the publication URL")
    _require_absolute(info.licence_iri, "the licence")

    def add(s: str, p: str, o: str) -> None:
        out.add((s, p, o))

    def typed(node: str, cls: str) -> str:
        """``node`` as an object, stating its class (what the range shapes check)."""
        add(node, RDF_TYPE, iri_term(cls))
        return iri_term(node)

    def concept(node: str, cls: str = "") -> str:
        """A concept of an EU or ADMS vocabulary, with its label and scheme (and ``cls``)."""
        add(node, RDF_TYPE, iri_term(SKOS + "Concept"))
        if cls:
            add(node, RDF_TYPE, iri_term(cls))
        label = CONCEPT_LABELS.get(node) or node.rsplit("/", 1)[-1]
        add(node, SKOS + "prefLabel", literal_term(label, lang="en"))
        scheme = scheme_of(node)
        if scheme:
            add(node, SKOS + "inScheme", typed(scheme, SKOS + "ConceptScheme"))
            add(scheme, DCTERMS + "title", literal_term(SCHEME_TITLES[scheme], lang="en"))
        return iri_term(node)

    def url(name: str) -> str:
        return publication + name

    modified = [(literal_term(info.modified, datatype=XSD + "dateTime"))] if info.modified else []
    language = concept(EU + "language/FRA", DCTERMS + "LinguisticSystem")
    country = concept(EU + "country/FRA", DCTERMS + "Location")
    for node in (catalog, dataset):
        for lang in ("fr", "en"):
            add(node, DCTERMS + "title", literal_term(info.title[lang], lang=lang))
            add(node, DCTERMS + "description", literal_term(info.description[lang], lang=lang))
        add(node, DCTERMS + "publisher", iri_term(publisher))
        add(node, DCTERMS + "language", language)
        add(node, DCTERMS + "spatial", country)
        for value in modified:
            add(node, DCTERMS + "issued", value)
            add(node, DCTERMS + "modified", value)
    licence = _licence(info, add, typed, concept)
    add(catalog, DCTERMS + "license", licence)
    add(catalog, RDF_TYPE, iri_term(DCAT + "Catalog"))
    add(catalog, DCAT + "dataset", iri_term(dataset))
    add(catalog, DCTERMS + "conformsTo", typed(DCAT_AP, DCTERMS + "Standard"))
    add(DCAT_AP, RDFS + "label", literal_term(DCAT_AP_NAME))
    add(catalog, DCAT + "themeTaxonomy", typed(EU + "data-theme", SKOS + "ConceptScheme"))
    add(EU + "data-theme", DCTERMS + "title",
        literal_term(SCHEME_TITLES[EU + "data-theme"], lang="en"))
    add(catalog, FOAF + "homepage", typed(publication, FOAF + "Document"))
    add(publisher, RDF_TYPE, iri_term(FOAF + "Agent"))
    add(publisher, FOAF + "name", literal_term(info.publisher_name))
    add(publisher, DCTERMS + "type",
        concept(ADMS_PUBLISHER_TYPE + settings.publisher_type))

    add(dataset, RDF_TYPE, iri_term(DCAT + "Dataset"))
    add(dataset, RDF_TYPE, iri_term(VOID + "Dataset"))
    # udata keys a harvested dataset on its dcterms:identifier (it skips one without)
    add(dataset, DCTERMS + "identifier", literal_term(dataset))
    add(dataset, CC + "attributionName", literal_term(info.attribution))
    for theme in ("SOCI", "GOVE"):
        add(dataset, DCAT + "theme", concept(EU + "data-theme/" + theme))
    add(dataset, DCTERMS + "conformsTo", typed(info.ontology_iri, DCTERMS + "Standard"))
    add(dataset, DCTERMS + "accrualPeriodicity",
        concept(EU + "frequency/" + settings.accrual_periodicity, DCTERMS + "Frequency"))
    add(dataset, DCTERMS + "license", licence)
    known = known_licence(info.licence_iri)
    if known and known.portal_iri and known.portal_iri != info.licence_iri:
        # the address data.gouv.fr's licence table knows this licence by (see catalog_terms)
        add(dataset, DCTERMS + "license", _licence_document(known.portal_iri, known, typed,
                                                            concept, add))
    for keyword in info.keywords:
        add(dataset, DCAT + "keyword", literal_term(keyword, lang="fr"))
    if info.source_url:
        _require_absolute(info.source_url, "the wiki's address")
        add(dataset, PROV + "wasDerivedFrom", iri_term(info.source_url))
    # one landing page, so that a harvester that keeps one (udata: the dataset's remote_url)
    # keeps the same: the release's index.html, the page that gives access to the dataset and
    # its files at its publisher (DCAT-AP's usage note), when there is one; else the wiki
    landing = url("index.html") if info.site else info.source_url
    if landing:
        add(dataset, DCAT + "landingPage", typed(landing, FOAF + "Document"))
    _geography_source(dataset, add)
    if info.oldest or info.modified:
        # udata dereferences a period given by IRI: this one is described in this very file
        period = url("catalog.ttl#temporal")
        add(dataset, DCTERMS + "temporal", typed(period, DCTERMS + "PeriodOfTime"))
        if info.oldest:
            add(period, DCAT + "startDate", literal_term(info.oldest, datatype=XSD + "dateTime"))
        if info.modified:
            add(period, DCAT + "endDate", literal_term(info.modified, datatype=XSD + "dateTime"))
    if settings.contact_point:
        contact = base + "contact"
        add(dataset, DCAT + "contactPoint", typed(contact, VCARD + "Organization"))
        add(contact, RDF_TYPE, iri_term(VCARD + "Kind"))
        add(contact, VCARD + "fn", literal_term(info.publisher_name))
        if "@" in settings.contact_point and "://" not in settings.contact_point:
            add(contact, VCARD + "hasEmail", iri_term("mailto:" + settings.contact_point))
        else:
            add(contact, VCARD + "hasURL", iri_term(settings.contact_point))

    stable = concept(EU + "planned-availability/STABLE")
    for name, (size, digest) in sorted(files.items()):
        dist = base + "distribution/" + name
        if name.endswith(".csv"):
            media, filetype = CSV_KIND
            title_fr, title_en = csv_titles.get(name, (name, name))
            text_fr, text_en = (text.format(title=title)
                                for text, title in zip(CSV_DESCRIPTION, (title_fr, title_en)))
        else:
            media, filetype, title_fr, title_en, text_fr, text_en = FILE_KINDS[name]
        add(dataset, DCAT + "distribution", iri_term(dist))
        add(dist, RDF_TYPE, iri_term(DCAT + "Distribution"))
        add(dist, DCTERMS + "identifier", literal_term(dist))
        add(dist, DCTERMS + "title", literal_term(f"{name} : {title_fr}", lang="fr"))
        add(dist, DCTERMS + "title", literal_term(f"{name}: {title_en}", lang="en"))
        add(dist, DCTERMS + "description", literal_term(text_fr, lang="fr"))
        add(dist, DCTERMS + "description", literal_term(text_en, lang="en"))
        add(dist, DCAT + "accessURL", iri_term(url(name)))
        add(dist, DCAT + "downloadURL", iri_term(url(name)))
        add(dist, DCAT + "mediaType", typed(IANA + media, DCTERMS + "MediaType"))
        add(dist, DCTERMS + "format",
            concept(EU + "file-type/" + filetype, DCTERMS + "MediaTypeOrExtent"))
        if name.endswith(".gz"):
            add(dist, DCAT + "compressFormat", typed(IANA + GZIP, DCTERMS + "MediaType"))
        add(dist, DCAT + "byteSize", literal_term(str(size), datatype=XSD + "nonNegativeInteger"))
        add(dist, DCTERMS + "license", licence)
        add(dist, DCATAP + "availability", stable)
        for value in modified:
            add(dist, DCTERMS + "issued", value)
            add(dist, DCTERMS + "modified", value)
        checksum = dist + "/checksum"
        add(dist, SPDX + "checksum", typed(checksum, SPDX + "Checksum"))
        add(checksum, SPDX + "algorithm",
            typed(SPDX + "checksumAlgorithm_sha256", SPDX + "ChecksumAlgorithm"))
        datatype = XSD + ("hexBinary" if settings.checksum_datatype == "hexBinary" else "string")
        add(checksum, SPDX + "checksumValue",
            literal_term(digest, datatype=datatype) if datatype.endswith("hexBinary")
            else literal_term(digest))

    # VoID
    add(dataset, VOID + "triples", literal_term(str(stats.triples), datatype=XSD + "integer"))
    add(dataset, VOID + "entities", literal_term(str(stats.entities), datatype=XSD + "integer"))
    add(dataset, VOID + "distinctSubjects",
        literal_term(str(stats.distinct_subjects), datatype=XSD + "integer"))
    add(dataset, VOID + "uriSpace", literal_term(base))
    for name, feature in DUMPS.items():
        if name in files:
            add(dataset, VOID + "dataDump", iri_term(url(name)))
            add(dataset, VOID + "feature", iri_term(feature))
    vocabularies = {_namespace(iri) for iri, _ in stats.classes + stats.properties}
    for vocabulary in sorted(v for v in vocabularies if v):
        add(dataset, VOID + "vocabulary", iri_term(vocabulary))
    compactor = IriCompactor(prefixes)
    for kind, rows, prop, count_prop in (
        ("class", stats.classes, VOID + "class", VOID + "entities"),
        ("property", stats.properties, VOID + "property", VOID + "triples"),
    ):
        for iri, count in rows:
            part = f"{dataset}/{kind}/{_slug(iri, compactor)}"
            add(dataset, VOID + f"{kind}Partition", iri_term(part))
            add(part, RDF_TYPE, iri_term(VOID + "Dataset"))
            add(part, prop, iri_term(iri))
            add(part, count_prop, literal_term(str(count), datatype=XSD + "integer"))
    return sorted(out)


def _geography_source(dataset: str, add) -> None:
    """The official geography the places were resolved with (tierslieux/geography/source.json).

    Stated with ``prov:wasDerivedFrom``, not ``dcterms:source``: DCAT-AP 3 wants a
    ``dcat:Dataset`` there, and a second ``dcat:Dataset`` in the catalogue would be harvested by
    udata as a dataset of ours.
    """
    source = GEOGRAPHY_SOURCE["url"]
    add(dataset, PROV + "wasDerivedFrom", iri_term(source))
    add(source, RDF_TYPE, iri_term(PROV + "Entity"))
    add(source, DCTERMS + "title", literal_term(GEOGRAPHY_SOURCE["title"], lang="fr"))
    add(source, DCTERMS + "title", literal_term(GEOGRAPHY_SOURCE["title_en"], lang="en"))
    add(source, DCTERMS + "creator", literal_term(GEOGRAPHY_SOURCE["publisher"], lang="fr"))
    add(source, DCTERMS + "rights", literal_term(GEOGRAPHY_SOURCE["licence_name"]))
    add(source, OWL + "versionInfo", literal_term(GEOGRAPHY_SOURCE["version"]))
    add(source, RDFS + "seeAlso", iri_term(GEOGRAPHY_SOURCE["repository"]))


def _licence(info: CatalogInfo, add, typed, concept) -> str:
    """The licence document (with its name, SPDX identifier and ADMS types when known)."""
    known = known_licence(info.licence_iri)
    node = _licence_document(info.licence_iri, known, typed, concept, add)
    add(info.licence_iri, RDFS + "label", literal_term(info.licence_name))
    if known:
        add(info.licence_iri, DCTERMS + "identifier", literal_term(known.spdx))
    return node


def _licence_document(iri: str, known, typed, concept, add) -> str:
    # DCAT-AP recommends a dcterms:type; an unknown licence is at least attribution-requiring
    # (the release always names its attribution, cc:attributionName)
    for name in known.types if known else ("Attribution",):
        add(iri, DCTERMS + "type", concept(ADMS_LICENCE_TYPE + name))
    return typed(iri, DCTERMS + "LicenseDocument")


def _require_absolute(iri: str, what: str) -> None:
    parts = urlsplit(iri)
    if not parts.scheme or not (parts.netloc or parts.scheme in ("mailto", "urn")):
        raise PublishError(f"{what} {iri!r} is not an absolute IRI (scheme://host/...): "
                           "the catalogue cannot use it; check tierslieux.toml")


def write_catalog(triples: Iterable[Triple], out: TextIO) -> int:
    out.write(
        "# DCAT-AP 3.0.1 catalogue and VoID description of this release. Not described\n"
        "# here: this file, SHA256SUMS, report.json, diff-added.nt.gz, diff-removed.nt.gz\n"
        "# (see SHA256SUMS).\n"
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
