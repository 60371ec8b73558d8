"""The ontology, its generated namespace and JSON-LD context, the shapes, and package data."""

from __future__ import annotations

import fnmatch
import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from rdflib import OWL, RDF, RDFS, SKOS, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS

from tierslieux.ontology import (
    CONTEXT_FILE,
    MAPPING_FILE,
    ONTOLOGY_FILE,
    ONTOLOGY_IRI,
    ONTOLOGY_NS,
    SHAPES_FILE,
    load_context,
    load_ontology,
    load_shapes,
    resource,
)
from tierslieux.ontology import generate
from tierslieux.ontology.namespace import TL

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = "http://schema.org/"
SCHEMA_DOMAIN = URIRef(SCHEMA + "domainIncludes")
SCHEMA_RANGE = URIRef(SCHEMA + "rangeIncludes")

#: the vocabulary fixed in the project brief: map, CSV and queries rely on these names
CORE_CLASSES = ("ThirdPlace", "Collectivity", "CollectivityLevel", "Network", "Organisation",
                "Person", "WikiPage", "Section", "ListItem", "Statement", "Revision")
CORE_PROPERTIES = (
    "title", "pageId", "namespace", "pageType", "hasSection", "category", "linksTo",
    "alternativeTitle", "describes", "pageAddress", "revisionId", "contributorName", "ofPage",
    "heading", "level", "order", "parentSection", "text", "inPage", "hasItem", "depth",
    "parentItem", "inSection", "ordered", "statementKind", "concernsLevel", "partnershipType",
    "audience", "name", "shortName", "streetAddress", "postalCode", "town", "inseeCode",
    "website", "email", "phone", "theme", "memberOf", "contributor", "referent",
    "description", "status", "closedSince", "closureNote", "siren",
)
SCHEMES = {
    "CollectivityLevels": ("level-europe", "level-etat", "level-region", "level-parc",
                           "level-departement", "level-epci", "level-metropole",
                           "level-communaute-urbaine", "level-communaute-agglomeration",
                           "level-communaute-communes", "level-commune", "level-quartier"),
    "Themes": ("theme-gouvernance", "theme-animation", "theme-economique", "theme-autre",
               "theme-documentation"),
    "PartnershipTypes": ("partnership-prestation", "partnership-subvention",
                         "partnership-mission-interet-general",
                         "partnership-delegation-service-public",
                         "partnership-modele-economique"),
    "Audiences": ("audience-public", "audience-prive", "audience-personnel"),
    "StatementKinds": ("kind-enjeu", "kind-facteur", "kind-opportunite", "kind-objectif",
                       "kind-moyen-action", "kind-frein", "kind-avantage"),
    "PageTypes": ("pagetype-tiers-lieu", "pagetype-document", "pagetype-commun",
                  "pagetype-defi", "pagetype-explication"),
    "PlaceStatuses": ("status-open", "status-closed"),
    "PageStatuses": ("pagestatus-stub",),
}


@pytest.fixture(scope="module")
def onto() -> Graph:
    return load_ontology()


def tl_terms(graph: Graph) -> set[URIRef]:
    return {s for s in graph.subjects(RDF.type, None)
            if isinstance(s, URIRef) and str(s).startswith(ONTOLOGY_NS)}


def langs(graph: Graph, subject: URIRef, predicate: URIRef) -> set[str]:
    return {o.language for o in graph.objects(subject, predicate)
            if isinstance(o, Literal) and o.language}


def test_the_turtle_files_parse_and_the_context_is_json() -> None:
    assert len(load_ontology()) > 1000
    assert len(load_shapes()) > 100
    context = load_context()["@context"]
    assert context["tl"] == ONTOLOGY_NS
    for name in (ONTOLOGY_FILE, SHAPES_FILE, CONTEXT_FILE, MAPPING_FILE):
        assert resource(name).is_file(), name


def test_ontology_metadata(onto: Graph) -> None:
    ontology = URIRef(ONTOLOGY_IRI)
    assert (ontology, RDF.type, OWL.Ontology) in onto
    assert langs(onto, ontology, DCTERMS.title) == {"fr", "en"}
    assert onto.value(ontology, OWL.versionInfo) is not None
    assert onto.value(ontology, DCTERMS.license) is not None
    assert onto.value(ontology, DCTERMS.creator) is not None


def test_core_vocabulary_is_defined(onto: Graph) -> None:
    for name in CORE_CLASSES:
        assert (TL[name], RDF.type, OWL.Class) in onto, name
    properties = {s for t in (OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property)
                  for s in onto.subjects(RDF.type, t)}
    for name in CORE_PROPERTIES:
        assert TL[name] in properties, name
    assert (TL.CollectivityLevel, RDFS.subClassOf, SKOS.Concept) in onto


def test_every_term_has_french_and_english_label_and_comment(onto: Graph) -> None:
    terms = tl_terms(onto)
    assert len(terms) > 100
    for term in terms:
        assert langs(onto, term, RDFS.label) >= {"fr", "en"}, term
        assert langs(onto, term, RDFS.comment) >= {"fr", "en"}, term


def test_every_property_has_a_domain_and_a_range(onto: Graph) -> None:
    for rdf_type in (OWL.ObjectProperty, OWL.DatatypeProperty, RDF.Property):
        for prop in onto.subjects(RDF.type, rdf_type):
            if not str(prop).startswith(ONTOLOGY_NS):
                continue
            domains = set(onto.objects(prop, RDFS.domain)) | set(onto.objects(prop, SCHEMA_DOMAIN))
            ranges = set(onto.objects(prop, RDFS.range)) | set(onto.objects(prop, SCHEMA_RANGE))
            assert domains, f"{prop} has no domain"
            assert ranges, f"{prop} has no range"


def test_concept_schemes(onto: Graph) -> None:
    for scheme, concepts in SCHEMES.items():
        assert (TL[scheme], RDF.type, SKOS.ConceptScheme) in onto
        members = set(onto.subjects(SKOS.inScheme, TL[scheme]))
        for name in concepts:
            concept = TL[name]
            assert concept in members, name
            assert (concept, RDF.type, SKOS.Concept) in onto
            assert langs(onto, concept, SKOS.prefLabel) == {"fr", "en"}, name
    narrower = set(onto.objects(TL["level-epci"], SKOS.narrower))
    assert narrower == {TL["level-metropole"], TL["level-communaute-urbaine"],
                        TL["level-communaute-agglomeration"], TL["level-communaute-communes"]}
    for concept in narrower:
        assert (concept, SKOS.broader, TL["level-epci"]) in onto
    # every top concept is declared from both sides
    for scheme in SCHEMES:
        tops = set(onto.objects(TL[scheme], SKOS.hasTopConcept))
        assert tops == set(onto.subjects(SKOS.topConceptOf, TL[scheme])), scheme


@pytest.mark.parametrize("namespace", [
    "http://schema.org/", "http://www.w3.org/ns/org#", "http://xmlns.com/foaf/0.1/",
    "http://www.w3.org/ns/prov#", "http://purl.org/dc/terms/",
    "http://virtual-assembly.org/ontologies/pair#",
])
def test_aligned_with(onto: Graph, namespace: str) -> None:
    alignments = (RDFS.subClassOf, RDFS.subPropertyOf, OWL.equivalentProperty,
                  OWL.equivalentClass, SKOS.closeMatch)
    targets = {o for p in alignments for s, o in onto.subject_objects(p)
               if str(s).startswith(ONTOLOGY_NS)}
    assert any(str(t).startswith(namespace) for t in targets)


def test_key_alignments(onto: Graph) -> None:
    assert (TL.ThirdPlace, RDFS.subClassOf, URIRef(SCHEMA + "Place")) in onto
    org = URIRef("http://www.w3.org/ns/org#Organization")
    assert (TL.Organisation, RDFS.subClassOf, org) in onto
    assert (TL.postalCode, RDFS.subPropertyOf, URIRef(SCHEMA + "postalCode")) in onto
    assert not set(onto.subject_objects(OWL.equivalentProperty))  # see the header
    pair = "http://virtual-assembly.org/ontologies/pair#"
    assert (TL.Person, SKOS.closeMatch, URIRef(pair + "Person")) in onto
    assert (TL.WikiPage, SKOS.closeMatch, URIRef(pair + "Document")) in onto
    assert (TL.Theme, SKOS.closeMatch, URIRef(pair + "Topic")) in onto


def test_namespace_is_closed_and_matches_the_ontology(onto: Graph) -> None:
    with pytest.raises(AttributeError):
        TL.ThirdPlaec  # noqa: B018 - a typo must fail
    with pytest.raises(AttributeError):
        TL["level-mairie"]  # noqa: B018
    terms = tl_terms(onto)
    for term in terms:
        assert term in TL, term
    listed = set(dir(TL)) | {TL[name] for name in TL._extras}
    assert {str(t) for t in listed} == {str(t) for t in terms}


def test_generated_files_are_up_to_date() -> None:
    assert generate.main(["--check"]) == 0


def test_generate_check_detects_a_stale_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                             ) -> None:
    for name in (ONTOLOGY_FILE, "namespace.py", CONTEXT_FILE):
        shutil.copy(generate.HERE / name, tmp_path / name)
    monkeypatch.setattr(generate, "HERE", tmp_path)
    assert generate.main(["--check"]) == 0
    turtle = (tmp_path / ONTOLOGY_FILE).read_text(encoding="utf-8")
    (tmp_path / ONTOLOGY_FILE).write_text(turtle + """
tl:extraTerm a owl:DatatypeProperty ;
    rdfs:label "terme"@fr , "term"@en ; rdfs:comment "c"@fr , "c"@en ;
    rdfs:domain tl:WikiPage ; rdfs:range xsd:string .
""", encoding="utf-8")
    assert generate.main(["--check"]) == 1
    assert generate.main([]) == 0
    assert "extraTerm: URIRef" in (tmp_path / "namespace.py").read_text(encoding="utf-8")
    assert '"tl:extraTerm"' in (tmp_path / CONTEXT_FILE).read_text(encoding="utf-8")


def test_context_types_follow_the_ontology() -> None:
    context = load_context()["@context"]
    assert context["pageId"] == {"@id": "tl:pageId", "@type": "xsd:integer"}
    assert context["linksTo"] == {"@id": "tl:linksTo", "@type": "@id"}
    assert context["text"] == {"@id": "tl:text", "@language": "fr"}
    assert context["ordered"]["@type"] == "xsd:boolean"
    assert context["wasDerivedFrom"]["@type"] == "@id"
    assert context["ThirdPlace"] == "tl:ThirdPlace"


def test_context_reads_back_as_the_intended_triples() -> None:
    """A document written with the context means the triples the map stage emits."""
    context = load_context()["@context"]
    doc = {
        "@context": context,
        "@id": "https://example.org/page/X",
        "@type": "WikiPage",
        "pageId": 7,
        "text": "Bonjour",
        "linksTo": "https://example.org/page/Y",
        "pageType": "tl:pagetype-document",
    }
    quads = {(q.subject.value, q.predicate.value, str(q.object))
             for q in ox.parse(json.dumps(doc).encode(), format=ox.RdfFormat.JSON_LD)}
    page = "https://example.org/page/X"
    assert (page, str(RDF.type), f"<{TL.WikiPage}>") in quads
    assert (page, str(TL.pageId), '"7"^^<http://www.w3.org/2001/XMLSchema#integer>') in quads
    assert (page, str(TL.text), '"Bonjour"@fr') in quads
    assert (page, str(TL.linksTo), "<https://example.org/page/Y>") in quads
    assert (page, str(TL.pageType), f"<{TL['pagetype-document']}>") in quads


def test_shapes_cover_every_class_the_mapping_emits() -> None:
    shapes = load_shapes()
    targets = set(shapes.objects(None, URIRef("http://www.w3.org/ns/shacl#targetClass")))
    for cls in ("WikiPage", "Revision", "Section", "ListItem", "Statement", "ThirdPlace",
                "Collectivity", "Network", "Person", "TemplateCall", "TemplateParameter",
                "Theme"):
        assert TL[cls] in targets, cls


def test_package_data_globs_cover_the_ontology_files() -> None:
    """A non-editable install carries every data file of tierslieux/ontology: each one
    matches a [tool.setuptools.package-data] glob of pyproject.toml."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    globs = config["tool"]["setuptools"]["package-data"]["tierslieux"]
    folder = ROOT / "tierslieux" / "ontology"
    data_files = [p for p in folder.iterdir() if p.is_file() and p.suffix not in (".py", ".pyc")]
    assert {p.name for p in data_files} >= {ONTOLOGY_FILE, SHAPES_FILE, CONTEXT_FILE, MAPPING_FILE}
    for path in data_files:
        relative = path.relative_to(ROOT / "tierslieux").as_posix()
        assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


def test_yaml_is_read_as_safe_load_reads_it() -> None:
    """model/yamltext.py reads with libyaml where PyYAML has it: the same trees as
    ``yaml.safe_load`` for the bundled files, and the same error for a text it rejects."""
    from importlib import resources

    import yaml

    from tierslieux.model import yamltext

    for package, name in (("tierslieux.ontology", "mapping.yaml"),
                          ("tierslieux.ontology", "inline_templates.yaml"),
                          ("tierslieux.exports", "tables.yaml")):
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
        assert yamltext.safe_load(text) == yaml.safe_load(text) != None  # noqa: E711
    bad = "entities:\n  - a: [1, 2\n  b: c\n"
    with pytest.raises(yaml.YAMLError) as expected:
        yaml.safe_load(bad)
    with pytest.raises(yaml.YAMLError) as got:
        yamltext.safe_load(bad)
    assert str(got.value) == str(expected.value)
    with pytest.raises(yaml.constructor.ConstructorError):  # still a safe loader
        yamltext.safe_load("!!python/object/apply:os.system [echo]")
