"""The vocabulary of ``catalog.ttl``: namespaces, the kinds of published files, known licences.

Everything the catalogue says that is not data: which DCAT-AP version it follows, the media
types (whole IANA addresses, ``https://www.iana.org/assignments/media-types/...``, the form
udata recognises), EU file types, titles and descriptions of each file, and, for licences
portals know, their SPDX identifier, their ADMS licence types and the address under which the
licence table of data.gouv.fr (udata) knows them.
"""

from __future__ import annotations

from dataclasses import dataclass

DCAT = "http://www.w3.org/ns/dcat#"
DCTERMS = "http://purl.org/dc/terms/"
DCATAP = "http://data.europa.eu/r5r/"
FOAF = "http://xmlns.com/foaf/0.1/"
VOID = "http://rdfs.org/ns/void#"
SPDX = "http://spdx.org/rdf/terms#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
VCARD = "http://www.w3.org/2006/vcard/ns#"
CC = "http://creativecommons.org/ns#"
EU = "http://publications.europa.eu/resource/authority/"
ADMS_LICENCE_TYPE = "http://purl.org/adms/licencetype/"
ADMS_PUBLISHER_TYPE = "http://purl.org/adms/publishertype/"
#: udata keeps a media type only when it starts with this (it strips the prefix)
IANA = "https://www.iana.org/assignments/media-types/"
FORMATS = "http://www.w3.org/ns/formats/"

#: the application profile the catalogue follows (the IRI of SEMIC's release)
DCAT_AP = "https://semiceu.github.io/DCAT-AP/releases/3.0.1"
DCAT_AP_NAME = "DCAT-AP 3.0.1"

#: skos:inScheme of the EU and ADMS concepts the catalogue uses (the schemes' own IRIs)
SCHEMES = {
    EU + "data-theme/": EU + "data-theme",
    EU + "file-type/": EU + "file-type",
    EU + "frequency/": EU + "frequency",
    EU + "language/": EU + "language",
    EU + "country/": EU + "country",
    EU + "planned-availability/": EU + "planned-availability",
    ADMS_LICENCE_TYPE: ADMS_LICENCE_TYPE + "1.0",
    ADMS_PUBLISHER_TYPE: ADMS_PUBLISHER_TYPE + "1.0",
}

#: English titles of the schemes and labels of the concepts the catalogue uses (the EU and
#: ADMS vocabularies' own labels; any other concept is labelled with its code)
SCHEME_TITLES = {
    EU + "data-theme": "Data theme",
    EU + "file-type": "File type",
    EU + "frequency": "Frequency",
    EU + "language": "Language",
    EU + "country": "Country",
    EU + "planned-availability": "Planned availability",
    ADMS_LICENCE_TYPE + "1.0": "Licence type",
    ADMS_PUBLISHER_TYPE + "1.0": "Publisher type",
}
CONCEPT_LABELS = {
    EU + "data-theme/SOCI": "Population and society",
    EU + "data-theme/GOVE": "Government and public sector",
    EU + "file-type/CSV": "CSV",
    EU + "file-type/JSON": "JSON",
    EU + "file-type/JSON_LD": "JSON-LD",
    EU + "file-type/RDF_TURTLE": "RDF Turtle",
    EU + "file-type/RDF_N_TRIPLES": "RDF N-Triples",
    EU + "language/FRA": "French",
    EU + "country/FRA": "France",
    EU + "frequency/DAILY": "daily",
    EU + "frequency/WEEKLY": "weekly",
    EU + "frequency/MONTHLY": "monthly",
    EU + "frequency/IRREG": "irregular",
    EU + "frequency/CONT": "continuous",
    EU + "frequency/UPDATE_CONT": "continuously updated",
    EU + "planned-availability/STABLE": "stable",
    ADMS_LICENCE_TYPE + "Attribution": "Attribution",
    ADMS_LICENCE_TYPE + "ViralEffect-ShareAlike": "Viral effect (a.k.a. Share-alike)",
    ADMS_LICENCE_TYPE + "PublicDomain": "Public domain",
    ADMS_PUBLISHER_TYPE + "NonProfitOrganisation": "Non-Profit Organisation",
    ADMS_PUBLISHER_TYPE + "LocalAuthority": "Local Authority",
}

#: what the catalogue says of each kind of file:
#: (media type, EU file type, title fr, title en, description fr, description en)
FILE_KINDS: dict[str, tuple[str, str, str, str, str, str]] = {
    "tierslieux.ttl": (
        "text/turtle", "RDF_TURTLE", "Le graphe complet, en Turtle", "The whole graph, Turtle",
        "Toutes les données de la publication en un graphe RDF, au format Turtle (UTF-8), "
        "sujets, prédicats et objets triés.",
        "All the data of the release as one RDF graph, in Turtle (UTF-8), subjects, "
        "predicates and objects sorted."),
    "tierslieux.nt.gz": (
        "application/n-triples", "RDF_N_TRIPLES",
        "Le graphe complet, en N-Triples triés, compressés gzip",
        "The whole graph, sorted N-Triples, gzip",
        "Le même graphe en N-Triples, une ligne par triplet, lignes triées, compressé gzip : "
        "pour le chargement en masse dans un triplestore.",
        "The same graph as N-Triples, one line per triple, lines sorted, gzip-compressed: "
        "for bulk loading into a triple store."),
    "tierslieux.jsonld": (
        "application/ld+json", "JSON_LD",
        "Le graphe complet, en JSON-LD compacté avec context.jsonld",
        "The whole graph, JSON-LD compacted with context.jsonld",
        "Le même graphe en JSON-LD, compacté avec le contexte context.jsonld (inclus), "
        "un objet par entité, triés par @id.",
        "The same graph as JSON-LD, compacted with the context context.jsonld (embedded), "
        "one object per entity, sorted by @id."),
    "ontology.ttl": (
        "text/turtle", "RDF_TURTLE", "L'ontologie (OWL, SKOS)", "The ontology (OWL, SKOS)",
        "Les classes, propriétés et schémas de concepts (thèmes, niveaux de collectivité…) "
        "qu'emploient les données, libellés en français et en anglais.",
        "The classes, properties and concept schemes (themes, government levels…) the data "
        "uses, labelled in French and English."),
    "shapes.ttl": (
        "text/turtle", "RDF_TURTLE", "Les formes SHACL qui valident le graphe",
        "The SHACL shapes that validate the graph",
        "Les contraintes SHACL que vérifie chaque publication avant d'être publiée.",
        "The SHACL constraints every release is checked against before it is published."),
    "context.jsonld": (
        "application/ld+json", "JSON_LD", "Le contexte JSON-LD", "The JSON-LD context",
        "Le contexte JSON-LD (préfixes et termes) de tierslieux.jsonld.",
        "The JSON-LD context (prefixes and terms) of tierslieux.jsonld."),
    "datapackage.json": (
        "application/json", "JSON",
        "Description Frictionless Data Package et Table Schema des tables CSV",
        "Frictionless Data Package and Table Schema of the CSV tables",
        "Le Data Package Frictionless des tables CSV : un Table Schema par table (colonnes, "
        "types, clés), tailles et empreintes.",
        "The Frictionless Data Package of the CSV tables: one Table Schema per table "
        "(columns, types, keys), sizes and digests."),
    "csv-metadata.json": (
        "application/csvm+json", "JSON",
        "Description CSV on the Web (CSVW) des tables CSV",
        "CSV on the Web (CSVW) metadata of the CSV tables",
        "Les métadonnées CSV on the Web (W3C) des tables CSV : colonnes, types, séparateurs des "
        "valeurs multiples.",
        "The CSV on the Web (W3C) metadata of the CSV tables: columns, datatypes, separators of "
        "multiple values."),
}
CSV_KIND = ("text/csv", "CSV")
CSV_DESCRIPTION = (
    "Table CSV (UTF-8, virgule, ligne d'en-tête, lignes triées par id, valeurs multiples "
    "séparées par |) : {title}. Colonnes décrites dans datapackage.json.",
    "CSV table (UTF-8, comma-separated, header row, rows sorted by id, multiple values "
    "joined with |): {title}. Columns described in datapackage.json.",
)
#: the RDF dumps, in the order of void:dataDump and void:feature
DUMPS = {
    "tierslieux.ttl": FORMATS + "Turtle",
    "tierslieux.nt.gz": FORMATS + "N-Triples",
    "tierslieux.jsonld": FORMATS + "JSON-LD",
}
GZIP = "application/gzip"

#: EU frequency codes (http://publications.europa.eu/resource/authority/frequency/CODE)
FREQUENCIES = (
    "UNKNOWN", "UPDATE_CONT", "1MIN", "5MIN", "10MIN", "15MIN", "30MIN", "HOURLY",
    "BIHOURLY", "TRIHOURLY", "12HRS", "CONT", "DAILY_3", "DAILY_2", "DAILY", "WEEKLY_5",
    "WEEKLY_3", "WEEKLY_2", "WEEKLY", "BIWEEKLY", "MONTHLY_3", "MONTHLY_2", "MONTHLY",
    "BIMONTHLY", "QUARTERLY", "ANNUAL_3", "ANNUAL_2", "ANNUAL", "BIENNIAL", "TRIENNIAL",
    "QUADRENNIAL", "QUINQUENNIAL", "DECENNIAL", "BIDECENNIAL", "TRIDECENNIAL", "AS_NEEDED",
    "IRREG", "NEVER", "NOT_PLANNED", "OTHER",
)
#: ADMS publisher types (http://purl.org/adms/publishertype/NAME)
PUBLISHER_TYPES = (
    "Academia-ScientificOrganisation", "Company", "IndustryConsortium", "LocalAuthority",
    "NationalAuthority", "NonGovernmentalOrganisation", "NonProfitOrganisation",
    "PrivateIndividual(s)", "RegionalAuthority", "StandardisationBody",
    "SupraNationalAuthority",
)
#: how spdx:checksumValue is typed (see the README, "DCAT-AP and data.gouv.fr")
CHECKSUM_DATATYPES = ("string", "hexBinary")


@dataclass(frozen=True)
class KnownLicence:
    """What the catalogue adds for a licence it knows."""

    #: SPDX licence identifier (dcterms:identifier of the licence document)
    spdx: str
    #: ADMS licence types (local names under ADMS_LICENCE_TYPE)
    types: tuple[str, ...]
    #: the address udata's licence table (data.gouv.fr) matches, when the licence's own
    #: address is not one it knows: the dataset names the licence by both
    portal_iri: str = ""


#: keyed by the licence address without scheme and trailing slash
LICENCES: dict[str, KnownLicence] = {
    "creativecommons.org/licenses/by-sa/4.0": KnownLicence(
        "CC-BY-SA-4.0", ("Attribution", "ViralEffect-ShareAlike"),
        "http://www.opendefinition.org/licenses/cc-by-sa"),
    "creativecommons.org/licenses/by/4.0": KnownLicence(
        "CC-BY-4.0", ("Attribution",), "http://www.opendefinition.org/licenses/cc-by"),
    "creativecommons.org/publicdomain/zero/1.0": KnownLicence(
        "CC0-1.0", ("PublicDomain",), "http://www.opendefinition.org/licenses/cc-zero"),
    "www.etalab.gouv.fr/licence-ouverte-open-licence": KnownLicence(
        "etalab-2.0", ("Attribution",), "https://www.etalab.gouv.fr/licence-ouverte-open-licence"),
    "opendatacommons.org/licenses/odbl/1-0": KnownLicence(
        "ODbL-1.0", ("Attribution", "ViralEffect-ShareAlike"),
        "http://opendatacommons.org/licenses/odbl/summary/"),
}


def known_licence(iri: str) -> KnownLicence | None:
    key = iri.split("://", 1)[-1].rstrip("/")
    return LICENCES.get(key)


def scheme_of(concept: str) -> str:
    """The concept scheme of an EU or ADMS concept IRI, "" for any other."""
    for namespace, scheme in SCHEMES.items():
        if concept.startswith(namespace):
            return scheme
    return ""
