"""Golden test of the seed page: every heading and every list item of the rendered page
"Développer des Tiers Lieux dans les collectivités" is in tierslieux.ttl, as a section or a list
item with its text, in the rendered order."""

from __future__ import annotations

from pathlib import Path

import pytest
import rdflib

TL = "https://w3id.org/tierslieux/ontology#"
SEED = "Développer des Tiers Lieux dans les collectivités"
RENDERED = Path(__file__).resolve().parent.parent / "sample-src" / "rendered"
EDIT = "[modifier | modifier le wikicode]"


def _norm(text: str) -> str:
    # MediaWiki renders French typography with no-break spaces; the wikitext has plain ones.
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def rendered_outline() -> tuple[list[str], list[str]]:
    source = next(RENDERED.glob("seed_*.txt"))
    headings, items = [], []
    for line in source.read_text(encoding="utf-8").splitlines():
        stripped = line.strip()
        if stripped.endswith(EDIT):
            headings.append(_norm(stripped[: -len(EDIT)]))
        elif stripped.startswith("•"):
            items.append(_norm(stripped[1:]))
    return headings, items


@pytest.fixture(scope="module")
def graph(sample_release) -> rdflib.Graph:
    g = rdflib.Graph()
    g.parse(sample_release / "tierslieux.ttl", format="turtle")
    return g


def _page(graph: rdflib.Graph) -> rdflib.URIRef:
    pages = list(graph.subjects(rdflib.URIRef(TL + "title"), rdflib.Literal(SEED, lang="fr")))
    pages += list(graph.subjects(rdflib.URIRef(TL + "title"), rdflib.Literal(SEED)))
    assert len(pages) == 1, pages
    return pages[0]


def test_every_heading_is_a_section_in_order(graph):
    headings, _ = rendered_outline()
    assert len(headings) == 31
    rows = graph.query(
        """SELECT ?heading ?order WHERE {
             ?page tl:hasSection ?s . ?s tl:heading ?heading ; tl:order ?order .
           } ORDER BY ?order""",
        initNs={"tl": TL}, initBindings={"page": _page(graph)},
    )
    found = [_norm(str(r.heading)) for r in rows if str(r.heading)]
    assert found == headings


def test_every_list_item_is_in_the_graph_in_order(graph):
    _, items = rendered_outline()
    assert len(items) == 35
    rows = graph.query(
        """SELECT ?text ?sorder ?iorder WHERE {
             ?page tl:hasSection ?s . ?s tl:order ?sorder ; tl:hasItem ?i .
             ?i tl:text ?text ; tl:order ?iorder .
           } ORDER BY ?sorder ?iorder""",
        initNs={"tl": TL}, initBindings={"page": _page(graph)},
    )
    found = [_norm(str(r.text)) for r in rows]
    assert found == items


def test_empty_sections_are_kept(graph):
    rows = graph.query(
        """SELECT ?heading WHERE {
             ?page tl:hasSection ?s . ?s tl:heading ?heading .
             FILTER NOT EXISTS { ?s tl:hasItem ?i }
             FILTER NOT EXISTS { ?s tl:text ?t }
           }""",
        initNs={"tl": TL}, initBindings={"page": _page(graph)},
    )
    empty = {_norm(str(r.heading)) for r in rows}
    assert {"Europe", "État", "Région", "Prestations", "Subventions", "Exemples documentés",
            "Ressources complémentaires"} <= empty
