"""catalog.ttl against the official DCAT-AP 3.0.1 SHACL shapes (SEMIC), with pyshacl.

The shape files (tests/data/dcat-ap/, see ATTRIBUTION.md) are used one by one as SEMIC
publishes them, without inference and without their imports (the EU vocabularies are on the
web): the mandatory shapes, the range shapes, both in one (``3.0.1-full.ttl``) and the
recommended ones. The figures are in the README ("DCAT-AP 3.0.1").
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from pyshacl import validate

from tierslieux.cli import cli

SHAPES = Path(__file__).parent / "data" / "dcat-ap"
SH = rdflib.Namespace("http://www.w3.org/ns/shacl#")
DCT = rdflib.Namespace("http://purl.org/dc/terms/")
PUBLICATION = "https://data.example.org/tierslieux/"


def build(sample_run: Path, folder: Path, settings: str) -> Path:
    config = folder / "tierslieux.toml"
    config.write_text(settings + 'contact-point = "open-data@example.org"\n', encoding="utf-8")
    out = folder / "exports"
    result = CliRunner().invoke(cli, [
        "--quiet", "--config", str(config), "build", "--store",
        str(sample_run / "store.sqlite"), "--out", str(out), "--publication-url", PUBLICATION])
    assert result.exit_code == 0, (result.output, result.exception)
    return out / "catalog.ttl"


@pytest.fixture(scope="module")
def catalogues(sample_run: Path, tmp_path_factory) -> dict[str, rdflib.Graph]:
    """The sample's catalogue with the default settings and with hexBinary checksums."""
    return {
        name: rdflib.Graph().parse(build(sample_run, tmp_path_factory.mktemp(name), settings),
                                   format="turtle")
        for name, settings in (("default", ""), ("strict", 'checksum-datatype = "hexBinary"\n'))
    }


def results(data: rdflib.Graph, shape_file: str) -> list[tuple[str, str, str, str]]:
    """(severity, focus node, path, constraint component) of every result of one shape file."""
    shapes = rdflib.Graph().parse(SHAPES / shape_file, format="turtle")
    _, report, _ = validate(data, shacl_graph=shapes, inference="none", allow_warnings=True)
    return sorted(
        (str(report.value(r, SH.resultSeverity)).rsplit("#", 1)[-1],
         str(report.value(r, SH.focusNode)), str(report.value(r, SH.resultPath)),
         str(report.value(r, SH.sourceConstraintComponent)).rsplit("#", 1)[-1])
        for r in report.subjects(SH.resultSeverity, None))


def distributions(graph: rdflib.Graph) -> int:
    return len(set(graph.subjects(rdflib.RDF.type,
                                  rdflib.URIRef("http://www.w3.org/ns/dcat#Distribution"))))


def test_the_catalogue_states_dcat_ap_3_0_1(catalogues) -> None:
    graph = catalogues["default"]
    catalog = rdflib.URIRef("https://w3id.org/tierslieux/movilab/catalog")
    standard = rdflib.URIRef("https://semiceu.github.io/DCAT-AP/releases/3.0.1")
    assert (catalog, DCT.conformsTo, standard) in graph
    assert (standard, rdflib.RDFS.label, rdflib.Literal("DCAT-AP 3.0.1")) in graph


@pytest.mark.parametrize("shape_file", ["3.0.1-shapes.ttl", "3.0.1-range.ttl", "3.0.1-full.ttl"])
def test_strict_catalogue_has_no_violation(catalogues, shape_file: str) -> None:
    assert results(catalogues["strict"], shape_file) == []


def test_default_catalogue_breaks_only_the_checksum_datatype(catalogues) -> None:
    # the one disagreement between DCAT-AP and udata (README: "The checksum")
    found = results(catalogues["default"], "3.0.1-shapes.ttl")
    assert len(found) == distributions(catalogues["default"]) == 17
    assert {(severity, path, component) for severity, _, path, component in found} == {
        ("Violation", "http://spdx.org/rdf/terms#checksumValue", "DatatypeConstraintComponent")}
    assert results(catalogues["default"], "3.0.1-range.ttl") == []


@pytest.mark.parametrize("name", ["default", "strict"])
def test_recommended_shapes_only_ask_what_the_wiki_cannot_give(catalogues, name: str) -> None:
    found = results(catalogues[name], "3.0.1-shapes_recommended.ttl")
    france = "http://publications.europa.eu/resource/authority/country/FRA"
    assert found == [("Warning", france, "http://www.w3.org/ns/dcat#bbox",
                      "MinCountConstraintComponent"),
                     ("Warning", france, "http://www.w3.org/ns/dcat#centroid",
                      "MinCountConstraintComponent")]


def test_without_contact_point_the_recommended_shapes_say_so(sample_run, tmp_path) -> None:
    out = tmp_path / "exports"
    result = CliRunner().invoke(cli, ["--quiet", "build", "--store",
                                      str(sample_run / "store.sqlite"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    found = results(rdflib.Graph().parse(out / "catalog.ttl", format="turtle"),
                    "3.0.1-shapes_recommended.ttl")
    assert ("Warning", "https://w3id.org/tierslieux/movilab/dataset",
            "http://www.w3.org/ns/dcat#contactPoint", "MinCountConstraintComponent") in found
    assert len(found) == 3


def test_vocabulary_shapes_figures(catalogues) -> None:
    """The controlled-vocabulary shapes: what is left (see the README for why)."""
    found = results(catalogues["strict"], "3.0.1-mdr-vocabularies.shape.ttl")
    counts = Counter((severity, path.replace("#", "/").rsplit("/", 1)[-1])
                     for severity, _, path, _ in found)
    n = distributions(catalogues["strict"])
    assert sum(counts.values()) == 2 * n + 6
    # two per checksum algorithm (they want https://spdx.org/…), the rest on the publisher
    assert counts[("Violation", "algorithm")] + counts[("Violation", "None")] == 2 * n
    assert {path for _, path in counts} <= {"algorithm", "None", "inScheme", "publisher"}
