"""Golden cases of the map stage: ``tests/cases/map/<name>/``, one per feature of the mapping.

A case holds ``page.wiki`` (the wikitext), an optional ``revision.json`` (PageRevision fields
to override: ``title``, ``namespace``, ``redirect``…) and what the bundled mapping makes of
it, through the real parse and map stages:

- ``expected.nt``: the page's N-Triples lines, compared as text and as a graph (rdflib);
- ``issues.json``: what the page reports;
- ``<table>.csv``: the rows of every table of tables.yaml the page fills (the CSV writer of
  the exports, on the page's triples alone).

The cases share the loader of the parse and exports cases (tests/golden.py); regenerate with
``UPDATE_GOLDEN=1 pytest tests/test_map_cases.py`` and read the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from golden import Case, case_folders, cases
from storedpage import MOVILAB, case_page
from tierslieux.exports.tables import build_tables, load_tables, write_table
from tierslieux.model.lines import triple_order
from tierslieux.model.records import MappedPage
from tierslieux.ontology.mapping import load_mapping
from tierslieux.pipeline.map import Mapper
from tierslieux.pipeline.parse import parse_page

#: the features of mapping.yaml, each shown by at least one case (folder names)
FEATURES = {
    "literal parameters, cleaners, separators": "template_literals",
    "concept parameters, unknown values minted": "template_concepts",
    "IRI parameters (valid and not)": "template_iris",
    "entity parameters (networks, persons, IP addresses)": "template_entities",
    "closure parameter": "template_closure",
    "named_by (several records on a page), concepts kept unknown": "template_named_by",
    "entity partners, organisations": "template_organisation",
    "templates and parameters without rules, a parameter given twice": "template_unmapped",
    "ignored templates (page type, page status)": "ignored_templates",
    "category rules (set), a category without rule": "categories",
    "defaults of a template": "default_values",
    "text rules (closure found in the lead)": "text_rule_closure",
    "heading rules (statement kinds), nested lists": "headings_statements",
    "subheading rules (levels, partnerships)": "headings_nested",
    "item prefixes (audiences)": "item_prefixes",
    "links, external links (valid and not)": "links",
    "namespace rules": "namespace_discussion",
    "redirects (redirect page type)": "redirect",
    "sub-pages (one record for the root page)": "subpage",
    "SMW properties mapped (dates, concepts, IRIs), unmapped ones as tl:Annotation, queries":
        "smw_annotations",
    "SMW subobjects as entities (named, anonymous, a name given twice)": "smw_subobjects",
}


@pytest.fixture(scope="module")
def mapper() -> Mapper:
    return Mapper(load_mapping(), MOVILAB)


def outputs(mapped: MappedPage, folder: Path) -> dict[str, str]:
    """What a case compares: the lines, the issues, the tables the page fills."""
    got = {
        "expected.nt": "".join(line + "\n" for line in mapped.triples),
        "issues.json": json.dumps([dataclasses.asdict(i) for i in mapped.issues],
                                  ensure_ascii=False, indent=2) + "\n",
    }
    folder.mkdir()
    for result in build_tables(triple_order(list(mapped.triples)), load_tables(),
                               MOVILAB.sitename):
        if len(result.rows):
            got[result.spec.file] = write_table(result, folder).read_bytes().decode("utf-8")
    return got


def test_every_feature_has_a_case() -> None:
    names = {folder.name for folder in case_folders("map", "page.wiki")}
    assert set(FEATURES.values()) <= names
    assert len(names) >= len(FEATURES)


@pytest.mark.parametrize("case", cases("map", "page.wiki"))
def test_map_case(case: Case, mapper: Mapper, tmp_path: Path) -> None:
    mapped = mapper.map_page(parse_page(case_page(case)))
    got = outputs(mapped, tmp_path / "tables")
    stale = sorted({p.name for p in case.folder.glob("*.csv")} - set(got))
    if os.environ.get("UPDATE_GOLDEN"):
        for name in stale:
            (case.folder / name).unlink()
    else:
        # as a graph first: a difference of meaning, not of spelling, says so
        graph = rdflib.Graph().parse(data=got["expected.nt"], format="nt")
        expected = rdflib.Graph().parse(case.folder / "expected.nt", format="nt")
        assert isomorphic(graph, expected), f"{case.name}: not the expected graph"
        assert not stale, f"{case.name}: tables no longer filled: {stale}"
    case.check(got)
