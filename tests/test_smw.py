"""Semantic MediaWiki markup and what a reader sees, through the real stages.

- a real MediaWiki (tests/fixtures) with the property namespace (102): property pages and
  annotated pages harvested, built, typed, the fabmob property page as a SKOS tree;
- the shapes accept what the SMW map cases make, and refuse a broken annotation;
- the shown text of list items on the real Wikipedia pages (numbers, foreign names kept,
  no markup debris), and the mapping's ``inline_templates`` section over the bundled set.

The golden cases of every form are in tests/cases/parse/smw_* and inline_templates, and
tests/cases/map/smw_*.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from pathlib import Path

import pytest
import rdflib
from rdflib import RDF, SKOS, Literal, URIRef

from golden import Case, cases
from storedpage import MOVILAB, case_page, graph_of, stored_page
from tierslieux.errors import MappingError
from tierslieux.model.records import ParsedPage
from tierslieux.ontology.mapping import load_mapping, parse_mapping
from tierslieux.ontology import read_text
from tierslieux.ontology.namespace import TL
from tierslieux.pipeline.harvest import harvest_wiki
from tierslieux.pipeline.map import Mapper
from tierslieux.pipeline.parse import parse_page
from tierslieux.pipeline.smw_types import type_value
from tierslieux.pipeline.store import Store
from tierslieux.runner.build import BuildOptions, build
from tierslieux.validation.reference import validate_graph

REFERENCE = Path(__file__).parent / "data" / "wikipedia"
FABMOB_CASE = Path(__file__).parent / "cases" / "map" / "smw_property_page" / "page.wiki"
BASE = "https://w3id.org/tierslieux/movilab/"

#: what a reader may never see: italics/bold markup, empty brackets left by a template
_DEBRIS = re.compile(r"''|\(\s*\)|\[\s*\]|\{\{|\}\}|\x00")


# --------------------------------------------------------------------------- shapes


@pytest.mark.parametrize("case", [c for c in cases("map", "page.wiki")
                                  if c.values[0].name.startswith("smw_")])
def test_smw_map_cases_conform_to_the_shapes(case: pytest.param) -> None:
    folder: Case = case
    mapped = Mapper(load_mapping(), MOVILAB).map_page(parse_page(case_page(folder)))
    report = validate_graph(graph_of(mapped))
    assert report.conforms, report.text()


def test_an_annotation_without_value_breaks_the_shapes() -> None:
    mapped = Mapper(load_mapping(), MOVILAB).map_page(parse_page(stored_page(
        "[[A pour acteur::La Myne]]")))
    graph = graph_of(mapped)
    annotation = next(graph.subjects(RDF.type, TL.Annotation))
    graph.remove((annotation, TL.annotationValue, None))
    report = validate_graph(graph)
    assert not report.conforms
    assert any("annotationValue" in v.message for v in report.violations)


# --------------------------------------------------------------------------- typing


@pytest.mark.parametrize(("kind", "value", "expected"), [
    ("Date", "2021-06-12", Literal("2021-06-12", datatype=rdflib.XSD.date)),
    ("Date", "juin 2021", Literal("2021-06", datatype=rdflib.XSD.gYearMonth)),
    ("Number", "1 250,5", Literal("1250.5", datatype=rdflib.XSD.decimal)),
    ("Number", "beaucoup", None),
    ("URL", "https://movilab.org/", URIRef("https://movilab.org/")),
    ("URL", "pas une adresse", None),
    ("Boolean", "Oui", Literal(True)),
    ("Geographic coordinate", "49.18, -0.36", Literal("49.18, -0.36")),
    ("Geographic coordinate", "91, 0", None),
    ("Text", "n'importe quoi", Literal("n'importe quoi")),
])
def test_type_value(kind: str, value: str, expected: object) -> None:
    node, reason = type_value(kind, value, lambda t: URIRef(BASE + t))
    assert node == expected
    assert bool(reason) == (expected is None)


# --------------------------------------------------------------------------- a real wiki


PROPERTY_SETTINGS = ("$wgExtraNamespaces[102] = 'Propriété';\n"
                     "$wgExtraNamespaces[103] = 'Discussion_Propriété';\n")
EVENT = """La [[A pour thème::Mobilité]] en fête à [[A pour lieu::La Myne]], le
[[Date de début::2021-06-12|12 juin]], avec [[Nombre de participants::beaucoup]] de monde
et [[Nombre d'ateliers::12]] ateliers sur [[Skills::Compétences véhicule / Véhicule motorisé / Véhicule motorisé routier|les véhicules]].
{{#subobject:Atelier du matin|A pour lieu=Le WIP|Date de début=2021-06-12}}
{{#ask: [[Category:Commun]] |?A pour lieu}}
"""


def test_property_pages_and_annotated_pages_from_a_real_wiki(make_mediawiki, tmp_path: Path
                                                            ) -> None:
    wiki = make_mediawiki(settings=PROPERTY_SETTINGS)
    site = wiki.site()
    site.pages["Propriété:Skills"].edit(FABMOB_CASE.read_text(encoding="utf-8"), summary="t")
    site.pages["Propriété:A pour lieu"].edit("Le lieu. [[Has type::Page]]", summary="t")
    site.pages["Propriété:Nombre de participants"].edit("[[A le type::Nombre]]", summary="t")
    site.pages["Propriété:Nombre d'ateliers"].edit("[[A le type::Nombre]]", summary="t")
    site.pages["Propriété:Bizarre"].edit("[[A le type::Truc]]", summary="t")
    site.pages["Rencontre des fabriques 2021"].edit(EVENT, summary="t")

    store = tmp_path / "store.sqlite"
    with Store(store) as opened:
        harvest_wiki(wiki.base + "/", opened, delay=0)  # namespaces: the default (0,)
        namespaces = {p.revision.namespace for p in opened.pages()}
        titles = {p.revision.title for p in opened.pages([102])}
    assert namespaces == {0, 102}
    assert titles == {"Propriété:Skills", "Propriété:A pour lieu", "Propriété:Bizarre",
                      "Propriété:Nombre de participants", "Propriété:Nombre d'ateliers",
                      # the sample's own, imported into the seeded wiki
                      "Propriété:A pour acteur", "Propriété:Compétences"}
    out = tmp_path / "exports"
    build(store, out, BuildOptions(started="2025-01-01T00:00:00Z"))

    with gzip.open(out / "tierslieux.nt.gz", "rt", encoding="utf-8") as fh:
        graph = rdflib.Graph().parse(data=fh.read(), format="nt")
    skills = URIRef(BASE + "property/Skills")
    assert (skills, RDF.type, TL.SemanticProperty) in graph
    assert (skills, TL.declaredType, Literal("Page")) in graph
    scheme = graph.value(skills, TL.allowedValues)
    concepts = set(graph.subjects(SKOS.inScheme, scheme))
    written = FABMOB_CASE.read_text(encoding="utf-8").count("[[Allows value::")
    assert len(concepts) > written  # the allowed values and the inner nodes of their tree
    tops = {str(graph.value(c, SKOS.prefLabel)) for c in graph.objects(scheme,
                                                                         SKOS.hasTopConcept)}
    assert "Compétences véhicule" in tops
    road = next(c for c in concepts
                if str(graph.value(c, SKOS.prefLabel)) == "Véhicule motorisé routier")
    assert str(graph.value(graph.value(road, SKOS.broader), SKOS.prefLabel)) == \
        "Véhicule motorisé"

    page = URIRef(BASE + "page/Rencontre_des_fabriques_2021")
    typed = {str(graph.value(a, TL.propertyName)): graph.value(a, TL.typedValue)
             for a in graph.subjects(TL.annotates, page)}
    assert typed["A pour lieu"] == URIRef(BASE + "page/La_Myne")
    assert typed["Nombre d'ateliers"] == Literal("12", datatype=rdflib.XSD.decimal)
    assert typed["Nombre de participants"] is None  # refused: reported below
    assert (page, TL.linksTo, URIRef(BASE + "page/La_Myne")) in graph
    assert (page, TL.startDate, Literal("2021-06-12", datatype=rdflib.XSD.date)) in graph
    sub = URIRef(BASE + "page/Rencontre_des_fabriques_2021/subobject/atelier-du-matin")
    assert (sub, TL.subobjectOf, page) in graph
    assert (None, TL.typedValue, URIRef(BASE + "page/Le_WIP")) in graph
    assert len(set(graph.subjects(RDF.type, TL.Query))) == 1

    rows = list(csv.reader(io.StringIO((out / "quality.csv").read_text(encoding="utf-8"))))
    messages = {(r[0], r[5], r[8]) for r in rows[1:]}
    assert ("Rencontre des fabriques 2021", "beaucoup",
            "not a number, as the property's type Number wants: kept as text") in messages
    assert ("Propriété:Bizarre", "Truc", "a type Semantic MediaWiki does not know: the "
            "property's values stay text") in messages
    text = (out / "tierslieux.ttl").read_text(encoding="utf-8")
    assert "les véhicules" in text  # the shown text of the annotation, in its section


# --------------------------------------------------------------------------- shown text


def _items(name: str) -> list[str]:
    text = (REFERENCE / name).read_text(encoding="utf-8")
    parsed: ParsedPage = parse_page(stored_page(text, title=name))
    return [item.text for section in parsed.sections for item in section.items]


def test_wikipedia_list_items_keep_numbers_and_foreign_names() -> None:
    items = _items("frwiki_Autriche.wiki")
    assert "25000 km de routes régionales (Landesstraßen) ;" in items
    assert any(i.startswith("la superficie totale est de 12874 km², ce qui représente 15,4 %")
               for i in items)
    assert "Utilisateurs d'Internet : 6953400 (en 2016) ;" in items
    # a list inside a footnote (<ref>) is not a list of the page: footnotes give no text
    germany = _items("enwiki_Germany.wiki")
    assert not any("Nimska" in item for item in germany)


@pytest.mark.parametrize("name", ["frwiki_Autriche.wiki", "frwiki_Berlin.wiki",
                                  "enwiki_Germany.wiki"])
def test_no_markup_debris_in_list_items(name: str) -> None:
    debris = [item for item in _items(name) if _DEBRIS.search(item)]
    assert debris == []


def test_the_mapping_section_adds_to_the_bundled_set() -> None:
    text = read_text("mapping.yaml") + """
  Nombre de lieux:
    aliases: [Nb lieux]
    show: ["{1} lieux", ""]
  Unité:
    show: "{1} (unité)"
""".replace("inline_templates: {}", "inline_templates:")
    mapping = parse_mapping(text.replace("inline_templates: {}\n", "inline_templates:\n"))
    parsed = parse_page(stored_page("* {{nb lieux|12}} et {{unité|3 km}} ; {{langue|de|Haus}}"),
                        shown=mapping.inline_templates)
    assert parsed.sections[0].items[0].text == "12 lieux et 3 km (unité) ; Haus"
    assert parsed.silent_templates == ()


@pytest.mark.parametrize(("section", "message"), [
    ("  X: {show: [1, 2]}", "expected a text pattern"),
    ("  X: {montre: '{1}'}", "unknown key"),
    ("  X: '{1'", "unbalanced brackets"),
    ("  X: '{1}'\n  x: '{2}'", "names both"),
])
def test_a_bad_inline_templates_section_names_the_key(section: str, message: str) -> None:
    text = read_text("mapping.yaml").replace("inline_templates: {}\n",
                                            "inline_templates:\n" + section + "\n")
    with pytest.raises(MappingError, match=message) as info:
        parse_mapping(text)
    assert "inline_templates" in str(info.value)


def test_survey_lists_smw_markup_and_dropped_inline_templates() -> None:
    from tierslieux.pipeline.survey import survey_pages

    mapping = load_mapping()
    pages = [parse_page(stored_page(
        "[[Date de début::2021-06-12]] [[A pour acteur::La Myne]] [[A pour acteur::Le WIP]]\n"
        "{{#subobject:Atelier|A pour lieu=Caen}}{{#ask: [[Catégorie:Communs]] |?A pour acteur}}\n"
        "* un modèle inconnu {{Inconnu en ligne|x}} et {{unité|3 km}}\n", title="P1"))]
    report = survey_pages(pages, mapping)
    rows = {(r.kind, r.name, r.status): r.occurrences for r in report.rows}
    assert rows[("smw-property", "Date de début", "mapped")] == 1
    assert rows[("smw-property", "A pour acteur", "unmapped")] == 2
    assert rows[("smw-property", "A pour lieu", "unmapped")] == 1
    assert rows[("subobject", "Atelier", "mapped")] == 1
    assert rows[("query", "#ask: [[Catégorie:Communs]]", "unmapped")] == 1
    assert rows[("inline-template", "Inconnu en ligne", "unmapped")] == 1
    assert not any(r.kind == "inline-template" and r.name == "Unité" for r in report.rows)
    assert report.summary()["smw-property"] == {"unmapped": 2, "mapped": 1, "ignored": 0}


def test_survey_counts_a_property_page_declaration_as_mapped() -> None:
    """What a property page declares itself with is read as its type and allowed values (not
    published as a tl:Annotation): the survey says so; the same words on an article are
    annotations like any other."""
    from tierslieux.pipeline.survey import survey_pages

    text = "[[A le type::Page]] [[Allows value::Vélo]] [[Allows value::Voiture]]"
    declared = parse_page(stored_page(text, title="Propriété:Véhicule", namespace=102))
    article = parse_page(stored_page(text, title="Un article", page_id=2))
    rows = {(r.kind, r.name, r.status): (r.occurrences, r.pages)
            for r in survey_pages([declared, article], load_mapping()).rows}
    assert rows[("smw-property", "A le type", "mapped")] == (1, 1)
    assert rows[("smw-property", "Allows value", "mapped")] == (2, 1)
    assert rows[("smw-property", "A le type", "unmapped")] == (1, 1)
    assert rows[("smw-property", "Allows value", "unmapped")] == (2, 1)
