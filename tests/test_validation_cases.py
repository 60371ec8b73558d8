"""Each validation engine beside its reference, over the same case files (tests/golden.py).

SHACL, ``tests/cases/shacl/<name>/``: a ``case.json`` (what the case is about; ``base``:
``"sample"`` for the bundled sample as mapped, each page as the build validates it;
``remove``: (subject, predicate) pairs taken out of every page; ``shapes``: a shapes file of
the case instead of the bundled one; ``ontology``: ``"none"`` for none), an optional
``data.nt`` (triples added as a page of their own, as written: ``"02"`` stays ``"02"``) and
``expected.json``, the report. Every engine must give that report:

- ``pyshacl``, the reference (``engine.validate_graph(..., engine="pyshacl")``);
- ``compiled``, the compiled shapes on the same graph (``engine="compiled"``);
- ``compiled-dump``, the compiled shapes streaming over the sorted lines, as ``tierslieux
  validate`` reads a published dump (``shacl.validate_lines``);
- ``compiled-pages``, page by page with each page's ``sh:class`` checks resolved where the page
  mints its values, as the build validates (``shacl.validate_pages``; bundled shapes only).

Tables, ``tests/cases/tables/<name>/``: a data package (``datapackage.json`` and its CSV
files), a ``case.json`` and ``expected.json``, the problems as (type, resource, row), which the
``builtin`` checks (tables.py) and ``frictionless`` must both find.

An engine that knowingly answers otherwise says why in ``case.json`` (``differs``) and has an
expected file of its own. ``UPDATE_GOLDEN=1`` rewrites the expected files: read the diff.
"""

from __future__ import annotations

import dataclasses
import json
import os

import pytest
from rdflib import XSD, BNode, Graph, Literal, Node, URIRef

from golden import Case, case_folders, cases
from tierslieux.model.rdf import nt_line, parse_object, split_line, unescape
from tierslieux.model.records import MappedPage
from tierslieux.validation.engine import SHACL_ENGINES, TABLE_ENGINES, validate_graph, \
    validate_tables
from tierslieux.validation.report import TableReport, ValidationReport
from tierslieux.validation.shacl_stream import validate_lines, validate_pages

#: the SHACL engines the cases run through: the interface's, and the two streaming forms
SHACL_RUNS = (*SHACL_ENGINES, "compiled-dump", "compiled-pages")


def shacl_params() -> list:
    """(case, engine) pairs: ``compiled-pages`` runs the bundled shapes only."""
    params = []
    for case in cases("shacl", "case.json"):
        (value,) = case.values
        for engine in SHACL_RUNS:
            if engine == "compiled-pages" and value.json("case.json").get("shapes"):
                continue
            params.append(pytest.param(value, engine, id=f"{value.name}-{engine}"))
    return params


def pages_of(case: Case, sample_mapped: dict[str, MappedPage]) -> list[list[str]]:
    """The N-Triples lines of the case's pages: the sample's, less ``remove``, if the case
    is based on it; then ``data.nt`` as a page of its own."""
    spec = case.json("case.json")
    pages = []
    if spec.get("base") == "sample":
        removed = [(URIRef(s), URIRef(p), None) for s, p in spec.get("remove", [])]
        for mapped in sample_mapped.values():
            graph = Graph().parse(data="\n".join(mapped.triples) + "\n", format="nt")
            for pattern in removed:
                graph.remove(pattern)
            pages.append(sorted(nt_line(t) for t in graph))
    added = case.text("data.nt").splitlines() if (case.folder / "data.nt").is_file() else []
    pages.append(sorted(line for line in added if line.strip()))
    return pages


def shapes_of(case: Case) -> tuple[Graph | None, Graph | None]:
    spec = case.json("case.json")
    shapes = ontology = None
    if spec.get("shapes"):
        shapes = Graph().parse(data=case.text(spec["shapes"]), format="turtle")
    if spec.get("ontology") == "none":
        ontology = Graph()
    return shapes, ontology


def run_shacl(case: Case, engine: str, pages: list[list[str]]) -> ValidationReport:
    shapes, ontology = shapes_of(case)
    lines = sorted({line for page in pages for line in page})
    if engine == "compiled-pages":
        return validate_pages(pages)
    if engine == "compiled-dump":
        return validate_lines(lambda: iter(lines), shapes=shapes, ontology=ontology)
    return validate_graph(graph_of(lines), shapes=shapes, ontology=ontology, engine=engine)


def graph_of(lines: list[str]) -> Graph:
    """The lines as an rdflib graph, blank nodes keeping their labels (rdflib's parsers give
    them fresh ones, and the expected reports name them)."""
    graph = Graph()
    for line in lines:
        subject, predicate, token = split_line(line)
        graph.add((BNode(subject[2:]) if subject.startswith("_:") else URIRef(unescape(subject)),
                   URIRef(unescape(predicate)), term_of(token)))
    return graph


def term_of(token: str) -> Node:
    if token.startswith("_:"):
        return BNode(token[2:])
    term = parse_object(token)
    if term.kind == "iri":
        return URIRef(term.value)
    if term.language:
        return Literal(term.value, lang=term.language)
    return Literal(term.value, datatype=None if term.datatype == str(XSD.string)
                   else URIRef(term.datatype))


def shacl_text(report: ValidationReport) -> str:
    return json.dumps({"conforms": report.conforms,
                       "violations": [dataclasses.asdict(v) for v in report.violations]},
                      ensure_ascii=False, indent=1) + "\n"


@pytest.mark.parametrize(("case", "engine"), shacl_params())
def test_shacl_case(case: Case, engine: str, sample_mapped: dict[str, MappedPage]) -> None:
    report = run_shacl(case, engine, pages_of(case, sample_mapped))
    case.check({case.expected("expected.json", engine): shacl_text(report)})


def test_the_shacl_cases_mean_something() -> None:
    """Some case conforms with warnings, some does not conform, some differs across pages."""
    reports = [json.loads((f / "expected.json").read_text(encoding="utf-8"))
               for f in case_folders("shacl", "case.json")]
    assert any(r["conforms"] and r["violations"] for r in reports)
    assert sum(not r["conforms"] for r in reports) >= 20
    assert any(v["pages"] and v["addresses"] for r in reports for v in r["violations"])


# --------------------------------------------------------------------------- tables


def table_text(report: TableReport) -> str:
    problems = sorted({(p.kind, p.resource, p.row or 0) for p in report.problems})
    return json.dumps([{"type": k, "resource": r, "row": n or None} for k, r, n in problems],
                      ensure_ascii=False, indent=1) + "\n"


@pytest.mark.parametrize("engine", TABLE_ENGINES)
@pytest.mark.parametrize("case", cases("tables", "datapackage.json"))
def test_table_case(case: Case, engine: str) -> None:
    report = validate_tables(case.folder / "datapackage.json", engine=engine)
    for problem in report.problems:
        assert problem.describe().startswith(f"table schema ({problem.kind}): ")
    case.check({case.expected("expected.json", engine): table_text(report)})


@pytest.mark.parametrize("stage", ["shacl", "tables"])
def test_documented_differences_are_real(stage: str) -> None:
    """A case that says an engine differs holds that engine's own expected file, and it is
    not the shared one (else the note is stale: remove it)."""
    if os.environ.get("UPDATE_GOLDEN"):
        pytest.skip("expected files being rewritten")
    for folder in case_folders(stage, "case.json"):
        case = Case(stage, folder.name, folder)
        for engine, why in case.differs().items():
            assert why.strip(), f"{folder.name}: say why {engine} differs"
            own = case.expected("expected.json", engine)
            assert case.text(own) != case.text("expected.json"), f"{folder.name}: {engine}"


def test_the_table_cases_mean_something() -> None:
    kinds = set()
    for folder in case_folders("tables", "datapackage.json"):
        kinds.update(p["type"] for p in json.loads(
            (folder / "expected.json").read_text(encoding="utf-8")))
    assert {"type-error", "constraint-error", "foreign-key", "hash-count", "byte-count",
            "extra-cell"} <= kinds
