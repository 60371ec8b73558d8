"""Tests of the exports stage (tierslieux.exports): writers, tables, catalogue, atomic publish.

Golden cases live in ``tests/cases/exports/<name>/``: ``input.nt`` (the triples the map stage
would hand over) and ``expected/`` (published files to compare byte for byte). One
parametrized test runs them all, through the loader every stage's cases share
(tests/golden.py); it also checks that every RDF file parses back, with rdflib,
into a graph isomorphic to ``input.nt``.

Most tests use the small stand-in ontology files of ``tests/cases/exports/resources/`` so that
they do not move with the real ontology; ``test_release_with_package_resources`` uses the
package's own files, as a build does.

To regenerate the expected files after a deliberate change of behaviour::

    UPDATE_GOLDEN=1 pytest tests/test_exports.py

then read the diff of every rewritten file before keeping it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import re
import warnings
from pathlib import Path

import pytest
import rdflib
from rdflib.compare import isomorphic

from golden import Case, cases

from tierslieux.errors import PublishError, ValidationError
from tierslieux.exports import ReleaseMeta, write_release
from tierslieux.validation.release import check_tables
from tierslieux.exports.jsonld import Context, write_jsonld
from tierslieux.model.lines import canonical_lines, triple_order
from tierslieux.exports.publish import _exchange
from tierslieux.exports.tables import neutralise
from tierslieux.model.records import HarvestCounts, Issue, RunCounts, SiteInfo
from tierslieux.pipeline.labels import fold_lines

CASES = Path(__file__).parent / "cases" / "exports"
RESOURCES = CASES / "resources"
BASE = "https://w3id.org/tierslieux/movilab/"
TL = "https://w3id.org/tierslieux/ontology#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
XSD = "http://www.w3.org/2001/XMLSchema#"
SITE = SiteInfo(
    sitename="Movilab", article_path="https://movilab.org/wiki/$1",
    script_url="https://movilab.org/index.php", lang="fr",
)
META = ReleaseMeta(site=SITE, started="2024-06-01T00:00:00Z", finished="2024-06-01T00:01:00Z")
RUN_FILES = {"report.json", "diff-added.nt.gz", "diff-removed.nt.gz"}
#: what the catalogue must describe (for the tables of tables.yaml, and the quality report)
DESCRIBED = {
    "tierslieux.ttl", "tierslieux.nt.gz", "tierslieux.jsonld", "ontology.ttl", "shapes.ttl",
    "context.jsonld", "datapackage.json", "tiers_lieux.csv", "collectivites.csv",
    "reseaux.csv", "organisations.csv", "pages.csv", "sections.csv", "elements_liste.csv",
    "quality.csv", "lieux_mediation_numerique.csv", "csv-metadata.json",
}


def release(lines, out: Path, meta: ReleaseMeta = META, **kwargs):
    kwargs.setdefault("resources_dir", RESOURCES)
    kwargs.setdefault("validators", [check_tables])
    return write_release(lines, out, meta, **kwargs)


def case_lines(name: str) -> list[str]:
    return Case("exports", name, CASES / name).text("input.nt").splitlines()


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file of a release, those of its site/ folder included, by relative path."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def parse_jsonld(**kwargs) -> rdflib.Graph:
    """rdflib's JSON-LD parser, minus the deprecation warning it raises about its own internals
    (rdflib 7.x builds a ConjunctiveGraph inside the parser)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "ConjunctiveGraph is deprecated", DeprecationWarning)
        return rdflib.Graph().parse(format="json-ld", **kwargs)


def reference_graph(lines) -> rdflib.Graph:
    return rdflib.Graph().parse(data="\n".join(lines) + "\n", format="nt")


def synthetic(n: int, seed: int = 0) -> list[str]:
    """n distinct triples, about 6 per subject, of the kinds a wiki gives."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        s = f"<{BASE}page/P{i // 30}/section/{(i // 6) % 5}>"
        k = i % 6
        if k == 0:
            out.append(f"{s} <{RDF_TYPE}> <{TL}Section> .")
        elif k == 1:
            out.append(f'{s} <{TL}order> "{i}"^^<{XSD}integer> .')
        elif k == 2:
            out.append(f'{s} <http://www.w3.org/2000/01/rdf-schema#label> "Section {i} été"@fr .')
        elif k == 3:
            out.append(f'{s} <{TL}level> "{i % 4}"^^<{XSD}integer> .')
        elif k == 4:
            out.append(f'{s} <{TL}text> "texte {rng.random()} \\"cité\\"\\n" .')
        else:
            out.append(f"{s} <{TL}heading> \"Titre {i}\"@fr .")
    return out


# --------------------------------------------------------------------------- golden cases


@pytest.mark.parametrize("case", cases("exports", "input.nt"))
def test_case(case: Case, tmp_path: Path) -> None:
    lines = case.text("input.nt").splitlines()
    out = tmp_path / "exports"
    release(lines, out)
    expected_graph = reference_graph(lines)
    with gzip.open(out / "tierslieux.nt.gz", "rb") as stream:
        dumped = {
            "tierslieux.ttl": rdflib.Graph().parse(out / "tierslieux.ttl", format="turtle"),
            "tierslieux.nt.gz": rdflib.Graph().parse(stream, format="nt"),
            "tierslieux.jsonld": parse_jsonld(source=out / "tierslieux.jsonld"),
        }
    for file_name, graph in dumped.items():
        assert len(graph) == len(expected_graph), file_name
        assert isomorphic(graph, expected_graph), file_name

    # expected/ holds the chosen files, compared byte for byte (as UTF-8 text)
    compared = sorted((case.folder / "expected").iterdir())
    assert compared, f"{case.folder / 'expected'} holds no expected file"
    case.check({f"expected/{path.name}": (out / path.name).read_bytes().decode("utf-8")
                for path in compared})


# --------------------------------------------------------------------------- determinism


def test_two_builds_are_byte_identical(tmp_path: Path) -> None:
    lines = case_lines("third_place") + case_lines("tricky_literals")
    release(lines, tmp_path / "a" / "exports")
    later = ReleaseMeta(site=SITE, started="2025-01-01T00:00:00Z", finished="2025-01-01T00:00:09Z")
    release(lines, tmp_path / "b" / "exports", later)
    a, b = snapshot(tmp_path / "a" / "exports"), snapshot(tmp_path / "b" / "exports")
    assert a.keys() == b.keys()
    differing = {name for name in a if a[name] != b[name]}
    assert differing == {"report.json"}


def test_shuffled_duplicated_respaced_input_gives_same_bytes(tmp_path: Path) -> None:
    lines = case_lines("third_place") + case_lines("tricky_literals")
    messy = lines + lines[:10] + ["", "# a comment"]
    messy[3] = messy[3].replace(" ", "\t", 1).replace(" .", "  .  ")
    random.Random(7).shuffle(messy)
    release(lines, tmp_path / "a" / "exports")
    release(messy, tmp_path / "b" / "exports")
    a, b = snapshot(tmp_path / "a" / "exports"), snapshot(tmp_path / "b" / "exports")
    assert {n for n in a if a[n] != b[n]} <= {"report.json"}


def test_nt_dump_is_sorted_gzip_without_name_or_time(tmp_path: Path) -> None:
    lines = case_lines("third_place")
    release(lines, tmp_path / "exports")
    raw = (tmp_path / "exports" / "tierslieux.nt.gz").read_bytes()
    assert raw[:3] == b"\x1f\x8b\x08"
    assert raw[3] & 0x08 == 0  # FNAME flag: no file name stored
    assert raw[4:8] == b"\0\0\0\0"  # MTIME 0
    text = gzip.decompress(raw).decode("utf-8")
    assert text.endswith(" .\n")
    dumped = text.splitlines()
    assert dumped == sorted(set(lines))


def test_blank_nodes_and_garbage_are_refused(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    with pytest.raises(ValidationError, match="blank nodes"):
        release([f"<{BASE}a> <{TL}p> _:b1 ."], out)
    with pytest.raises(ValidationError, match="not an N-Triples statement"):
        release([f"<{BASE}a> <{TL}p> oops"], out)
    assert not out.exists()
    assert not list(tmp_path.iterdir()), "staging folder left behind"


def test_parse_back_always_runs(tmp_path: Path) -> None:
    """A line in the one-space form but with a bad term passes the quick check on input; the
    parse-back of the written files catches it, even with no validator asked for."""
    lines = case_lines("third_place") + [f"<{BASE}a> <{TL}p> <{BASE}b> <{BASE}c> ."]
    with pytest.raises(ValidationError, match="check_rdf_files: tierslieux.nt.gz does not parse"):
        release(lines, tmp_path / "exports", validators=[])
    assert not (tmp_path / "exports").exists()


def test_one_triple_spelt_two_ways_is_caught_by_the_parse_back(tmp_path: Path) -> None:
    lines = [f'<{BASE}a> <{TL}name> "é" .', f'<{BASE}a> <{TL}name> "\\u00E9" .']
    with pytest.raises(ValidationError, match="1 distinct triples, 2 were written"):
        release(lines, tmp_path / "exports")


# --------------------------------------------------------------------------- tables


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\tindent", "'\tindent"),
        ("\rcr", "'\rcr"),
        ("-", "'-"),
        ("+33 2 31 00 00 00", "+33 2 31 00 00 00"),
        ("+33 (0)2 31 00 00 00", "+33 (0)2 31 00 00 00"),
        ("-4.5", "-4.5"),
        ("+33231000000|+442079460958", "+33231000000|+442079460958"),
        ("+33231000000|+44 cmd", "'+33231000000|+44 cmd"),
        ("+3|=1", "'+3|=1"),
        ("Le WIP", "Le WIP"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(value: str, expected: str) -> None:
    assert neutralise(value) == expected


def test_tables_pass_frictionless_and_hold_the_rows(tmp_path: Path) -> None:
    import frictionless

    out = tmp_path / "exports"
    result = release(case_lines("third_place"), out)
    report = frictionless.validate(str(out / "datapackage.json"))
    assert report.valid, report.flatten(["type", "message"])
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert [r["path"] for r in package["resources"]] == [
        "tiers_lieux.csv", "collectivites.csv", "reseaux.csv", "organisations.csv", "pages.csv",
        "sections.csv", "elements_liste.csv", "lieux_mediation_numerique.csv", "quality.csv",
    ]
    sections = next(r for r in package["resources"] if r["name"] == "sections")
    assert sections["schema"]["primaryKey"] == ["id"]
    assert {"fields": ["page"], "reference": {"resource": "pages", "fields": ["id"]}} in sections["schema"]["foreignKeys"]
    assert package["licenses"][0]["name"] == "CC-BY-SA-4.0"
    assert dict(result.tables) == {
        "tiers_lieux": 1, "collectivites": 1, "reseaux": 1, "organisations": 0, "pages": 1,
        "sections": 2, "elements_liste": 2, "lieux_mediation_numerique": 1,
    }
    header = (out / "tiers_lieux.csv").read_text(encoding="utf-8").splitlines()[0].split(",")
    assert header[:15] == [
        "id", "nom", "adresse", "code_postal", "commune", "code_insee", "latitude", "longitude",
        "typologie", "telephone", "courriels", "site_web", "presentation_detail", "date_maj",
        "source",
    ]


def test_frictionless_catches_a_broken_table(tmp_path: Path) -> None:
    """The Table Schema check can fail: a section whose page is not in pages.csv."""
    lines = [
        line for line in case_lines("third_place")
        if not line.startswith(f"<{BASE}page/Le_WIP> ")
    ]
    out = tmp_path / "exports"
    with pytest.raises(ValidationError, match="check_tables: table schema \\(foreign-key\\)"):
        release(lines, out)
    assert not out.exists()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("prefixes: {tl: 'https://w3id.org/tierslieux/ontology#'}\ntables:\n"
         "  - {name: t, classes: [tl:X], columns: [{name: nom, path: tl:name}]}\n",
         "the first column must be 'id'"),
        ("tables:\n  - {name: t, classes: [zz:X], columns: [{name: id, path: '@id'}]}\n",
         "unknown prefix in 'zz:X'"),
        ("prefixes: {tl: 'https://w3id.org/tierslieux/ontology#'}\ntables:\n"
         "  - {name: t, classes: [tl:X], columns: [{name: id, path: '@id'},"
         " {name: a, path: tl:a, type: text}]}\n",
         "type must be one of"),
        ("prefixes: {tl: 'https://w3id.org/tierslieux/ontology#'}\ntables:\n"
         "  - {name: t, classes: [tl:X], columns: [{name: id, path: '@id'},"
         " {name: a, path: tl:a, references: nowhere}]}\n",
         "references unknown nowhere.id"),
        ("tables: [oops\n", "not valid YAML"),
    ],
)
def test_bad_tables_file_is_a_mapping_error(tmp_path: Path, spec: str, message: str) -> None:
    from tierslieux.errors import MappingError
    from tierslieux.exports.tables import load_tables

    path = tmp_path / "tables.yaml"
    path.write_text(spec, encoding="utf-8")
    with pytest.raises(MappingError, match=re.escape(message)):
        load_tables(path)


def test_single_value_column_with_two_values_warns(tmp_path: Path) -> None:
    lines = case_lines("third_place") + [f'<{BASE}place/Le_WIP> <{TL}postalCode> "14000" .']
    result = release(lines, tmp_path / "exports")
    assert result.warnings == (
        f"tiers_lieux.csv: {BASE}place/Le_WIP has 2 values for code_postal; kept '14000'",
    )
    report = json.loads((tmp_path / "exports" / "report.json").read_text(encoding="utf-8"))
    assert report["warnings"] == list(result.warnings)


# --------------------------------------------------------------------------- catalogue


def _catalogue(folder: Path, publication_url: str) -> dict[str, dict]:
    # no base IRI: every address of the catalogue is absolute
    graph = rdflib.Graph().parse(folder / "catalog.ttl", format="turtle",
                                 publicID="urn:x-no-base:")
    q = """
    PREFIX dcat: <http://www.w3.org/ns/dcat#>
    PREFIX dcterms: <http://purl.org/dc/terms/>
    PREFIX spdx: <http://spdx.org/rdf/terms#>
    SELECT ?url ?size ?sum ?media ?licence ?modified WHERE {
      ?cat a dcat:Catalog ; dcat:dataset ?ds .
      ?ds dcat:distribution ?d .
      ?d dcat:downloadURL ?url ; dcat:accessURL ?url ; dcat:byteSize ?size ; dcat:mediaType ?media ;
         dcterms:license ?licence ; dcterms:modified ?modified ;
         spdx:checksum [ spdx:algorithm spdx:checksumAlgorithm_sha256 ; spdx:checksumValue ?sum ] .
    }"""
    return {
        str(row.url): {
            "size": int(row.size), "sum": str(row.sum), "media": str(row.media),
            "licence": str(row.licence), "modified": str(row.modified),
        }
        for row in graph.query(q)
    }


@pytest.mark.parametrize("publication_url", ["", "https://data.example.org/tierslieux"])
def test_catalogue_sizes_and_checksums_are_real(tmp_path: Path, publication_url: str) -> None:
    out = tmp_path / "exports"
    meta = ReleaseMeta(site=SITE, publication_url=publication_url)
    release(case_lines("third_place"), out, meta)
    entries = _catalogue(out, publication_url)
    prefix = (publication_url + "/") if publication_url else BASE + "release/"
    assert {url.removeprefix(prefix) for url in entries} == DESCRIBED
    for url, entry in entries.items():
        path = out / url.removeprefix(prefix)
        data = path.read_bytes()
        assert entry["size"] == len(data), path.name
        assert entry["sum"] == hashlib.sha256(data).hexdigest(), path.name
        assert entry["licence"] == "https://creativecommons.org/licenses/by-sa/4.0/"
        # the newest revision of the data, not the clock
        assert entry["modified"] == "2023-11-02T09:30:00+00:00"
    assert entries[prefix + "tierslieux.nt.gz"]["media"].endswith("/application/n-triples")
    text = (out / "catalog.ttl").read_text(encoding="utf-8")
    assert "urn:x-no-base:" not in json.dumps(entries)
    if not publication_url:
        assert f"dcat:downloadURL <{BASE}release/tierslieux.ttl>" in text


def test_catalogue_void_counts(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    lines = case_lines("third_place")
    release(lines, out)
    graph = rdflib.Graph().parse(out / "catalog.ttl", format="turtle")
    void = rdflib.Namespace("http://rdfs.org/ns/void#")
    dataset = rdflib.URIRef(BASE + "dataset")
    assert int(graph.value(dataset, void.triples)) == len(set(lines))
    subjects = {line.split(" ", 1)[0] for line in lines}
    assert int(graph.value(dataset, void.entities)) == len(subjects)
    assert str(graph.value(dataset, void.uriSpace)) == BASE
    dumps = {str(o).rsplit("/", 1)[-1] for o in graph.objects(dataset, void.dataDump)}
    assert dumps == {"tierslieux.ttl", "tierslieux.nt.gz", "tierslieux.jsonld"}
    partitions = {
        str(graph.value(p, void["class"])): int(graph.value(p, void.entities))
        for p in graph.objects(dataset, void.classPartition)
    }
    assert partitions[TL + "Section"] == 2
    assert partitions[TL + "ListItem"] == 2
    assert partitions[TL + "Statement"] == 1
    assert rdflib.URIRef(TL) in set(graph.objects(dataset, void.vocabulary))


def test_sha256sums_cover_every_file_but_the_report(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    release(case_lines("third_place"), out)
    lines = (out / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    names = [line.split("  ", 1)[1] for line in lines]
    assert names == sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()
                           and p.name not in ("SHA256SUMS", "report.json"))
    assert "index.html" in names and "site/ontology.html" in names
    assert "diff-added.nt.gz" in names and "catalog.ttl" in names
    for line in lines:
        digest, name = line.split("  ", 1)
        assert digest == hashlib.sha256((out / name).read_bytes()).hexdigest(), name


# --------------------------------------------------------------------------- atomic publish


def test_failing_validator_leaves_release_untouched(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    release(case_lines("third_place"), out)
    before = snapshot(out)

    def always_fails(staged):
        assert staged.folder != out and staged.folder.parent == out.parent
        assert (staged.folder / "tierslieux.ttl").is_file()
        return ["Le WIP has no address"]

    with pytest.raises(ValidationError, match="always_fails: Le WIP has no address"):
        release(case_lines("third_place") + case_lines("tricky_literals"), out,
                validators=[always_fails])
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]


def test_exception_during_build_leaves_release_untouched(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    release(case_lines("third_place"), out)
    before = snapshot(out)

    def crashes(staged):
        raise RuntimeError("disk on fire")

    with pytest.raises(PublishError, match="RuntimeError: disk on fire"):
        release(case_lines("third_place") + case_lines("tricky_literals"), out, validators=[crashes])
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]


def test_error_issues_block_the_release_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    bad = Issue("Le WIP", "error", "template:Tiers-lieu/code postal", "ABC", "", "not a postal code")
    meta = ReleaseMeta(site=SITE, issues=(bad,))
    with pytest.raises(ValidationError, match="1 mapping errors, the first on page 'Le WIP'"):
        release(case_lines("third_place"), out, meta)
    assert not out.exists()
    release(case_lines("third_place"), out, ReleaseMeta(site=SITE, issues=(bad,), force=True))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["issues"]["count"]["error"] == 1
    assert report["issues"]["list"][0]["message"] == "not a postal code"


def test_previous_release_is_kept_beside(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    first = release(case_lines("third_place"), out)
    assert first.previous_dir is None
    before = snapshot(out)
    second = release(case_lines("third_place") + case_lines("tricky_literals"), out)
    assert second.previous_dir == tmp_path / "exports.previous"
    assert snapshot(tmp_path / "exports.previous") == before
    assert snapshot(out) != before
    third = release(case_lines("third_place") + case_lines("tricky_literals"), out)
    assert third.previous_dir == tmp_path / "exports.previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports", "exports.previous"]
    assert oct(out.stat().st_mode & 0o777) != oct(0o700), "the release must be readable by a web server"


def test_refuses_to_replace_a_folder_that_is_not_a_release(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(PublishError, match="is not a tierslieux release"):
        release(case_lines("third_place"), out)
    assert (out / "notes.txt").read_text(encoding="utf-8") == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]


def test_empty_target_folder_is_used(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    result = release(case_lines("third_place"), out)
    assert result.previous_dir is None
    assert (out / "SHA256SUMS").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exports"]


def test_rename_exchange_swaps_two_folders(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "x").write_text("from a", encoding="utf-8")
    (b / "y").write_text("from b", encoding="utf-8")
    if not _exchange(a, b):
        pytest.skip("renameat2(RENAME_EXCHANGE) is not available here")
    assert [p.name for p in a.iterdir()] == ["y"]
    assert [p.name for p in b.iterdir()] == ["x"]


# --------------------------------------------------------------------------- release diff


def test_diff_after_a_change(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    old = case_lines("third_place")
    release(old, out)
    place = f"<{BASE}place/Le_WIP>"
    changed_old = f'{place} <{TL}postalCode> "14120" .'
    changed_new = f'{place} <{TL}postalCode> "14460" .'
    removed_entity = [line for line in old if line.startswith(f"<{BASE}collectivity/arles> ")]
    added_entity = [
        f"<{BASE}collectivity/caen> <{RDF_TYPE}> <{TL}Collectivity> .",
        f'<{BASE}collectivity/caen> <http://www.w3.org/2000/01/rdf-schema#label> "Caen"@fr .',
    ]
    new = [line for line in old if line != changed_old and line not in removed_entity]
    new += [changed_new] + added_entity
    result = release(new, out)

    assert result.diff.previous_triples == len(old)
    assert result.diff.triples_added == 3
    assert result.diff.triples_removed == 1 + len(removed_entity)
    assert result.diff.entities_added == (f"{BASE}collectivity/caen",)
    assert result.diff.entities_removed == (f"{BASE}collectivity/arles",)
    assert result.diff.entities_modified == (f"{BASE}place/Le_WIP",)
    added = gzip.decompress((out / "diff-added.nt.gz").read_bytes()).decode().splitlines()
    removed = gzip.decompress((out / "diff-removed.nt.gz").read_bytes()).decode().splitlines()
    assert added == sorted([changed_new] + added_entity)
    assert removed == sorted([changed_old] + removed_entity)
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["diff"]["entities_modified"] == {"count": 1, "iris": [f"{BASE}place/Le_WIP"]}
    assert report["diff"]["triples_added"] == 3
    assert report["graph"]["triples"] == len(new)


def test_first_release_has_no_diff(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    result = release(case_lines("third_place"), out)
    assert result.diff.previous_triples is None
    assert gzip.decompress((out / "diff-added.nt.gz").read_bytes()) == b""
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["diff"]["previous_release"] is False
    assert report["run"] == {"started": "2024-06-01T00:00:00Z", "finished": "2024-06-01T00:01:00Z"}


def test_big_drop_is_refused_unless_forced_or_explained(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    full = synthetic(3000)
    release(full, out)
    before = snapshot(out)
    smaller = full[:2400]  # 20 % fewer triples
    with pytest.raises(ValidationError, match="20.0% fewer than the previous one"):
        release(smaller, out)
    assert snapshot(out) == before
    with pytest.raises(ValidationError):
        release(smaller, out, ReleaseMeta(site=SITE, diff_threshold=0.15))
    assert snapshot(out) == before
    release(full[:2800], out)  # 6.7 % fewer: within the default 10 %
    result = release(smaller, out, ReleaseMeta(site=SITE, force=True))
    assert result.triples == 2400
    assert result.diff.triples_removed == 400


def test_deleted_pages_excuse_a_proportional_drop(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    pages = [
        line
        for i in range(10)
        for line in (
            f"<{BASE}page/P{i}> <{RDF_TYPE}> <{TL}WikiPage> .",
            f'<{BASE}page/P{i}> <{TL}title> "P{i}" .',
            f'<{BASE}page/P{i}> <{TL}pageId> "{i}"^^<{XSD}integer> .',
        )
    ]
    release(pages, out)
    remaining = pages[12:]  # 4 of 10 pages gone: 40 % fewer triples
    with pytest.raises(ValidationError, match="40.0% fewer .* plus 20.0% for 2 deleted pages"):
        release(remaining, out,
                ReleaseMeta(site=SITE, counts=RunCounts(HarvestCounts(pages_deleted=2))))
    result = release(remaining, out,
                     ReleaseMeta(site=SITE, counts=RunCounts(HarvestCounts(pages_deleted=4))))
    assert result.diff.entities_removed == tuple(f"{BASE}page/P{i}" for i in range(4))
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["pages"]["pages_deleted"] == 4
    assert "pages_built" not in report["pages"]  # write_release alone builds no page


# --------------------------------------------------------------------------- JSON-LD details


def test_jsonld_uses_terms_only_where_they_fit() -> None:
    context = Context.from_document(json.loads((RESOURCES / "context.jsonld").read_text(encoding="utf-8")))
    lines = [
        f'<{BASE}a> <http://www.w3.org/2000/01/rdf-schema#label> "fr label"@fr .',
        f'<{BASE}a> <http://www.w3.org/2000/01/rdf-schema#label> "en label"@en .',
        f'<{BASE}a> <http://www.w3.org/2000/01/rdf-schema#label> "no language" .',
        f'<{BASE}a> <{TL}order> "3"^^<{XSD}integer> .',
        f'<{BASE}a> <{TL}order> "3.5"^^<{XSD}decimal> .',
        f"<{BASE}a> <{TL}theme> <{TL}theme-animation> .",
        f'<{BASE}a> <{TL}theme> "not an IRI" .',
        f"<{BASE}a> <{RDF_TYPE}> <{TL}ThirdPlace> .",
    ]
    out = io.StringIO()
    write_jsonld(triple_order(canonical_lines(lines)), out, context)
    document = json.loads(out.getvalue())
    assert document["@context"] == context.raw
    node = document["@graph"][0]
    assert node == {
        "@id": f"{BASE}a",
        "@type": "ThirdPlace",
        "label": "fr label",
        "order": "3",
        "rdfs:label": [{"@value": "en label", "@language": "en"}, "no language"],
        "theme": "tl:theme-animation",
        "tl:order": {"@value": "3.5", "@type": "xsd:decimal"},
        "tl:theme": "not an IRI",
    }
    graph = parse_jsonld(data=out.getvalue())
    assert isomorphic(graph, reference_graph(lines))


def test_jsonld_layout_is_json_dumps_indent_2() -> None:
    """The node objects are written piece by piece (values as JSON text, value objects in and
    out of arrays, one or several types): the document is laid out as ``json.dumps`` would."""
    context = Context.from_document(json.loads((RESOURCES / "context.jsonld").read_text(encoding="utf-8")))
    lines = [
        f'<{BASE}a> <http://www.w3.org/2000/01/rdf-schema#label> "fr \\"label\\""@fr .',
        f'<{BASE}a> <http://www.w3.org/2000/01/rdf-schema#label> "en label"@en .',
        f'<{BASE}a> <http://www.w3.org/2000/01/rdf-schema#label> "de label"@de .',
        f'<{BASE}a> <{TL}order> "3.5"^^<{XSD}decimal> .',
        f"<{BASE}a> <{TL}theme> <{TL}theme-animation> .",
        f"<{BASE}a> <{TL}theme> <{TL}theme-fablab> .",
        f"<{BASE}a> <{RDF_TYPE}> <{TL}ThirdPlace> .",
        f"<{BASE}a> <{RDF_TYPE}> <{TL}Other> .",
        f"<{BASE}b> <{TL}other> <{BASE}a> .",
        f'<{BASE}b> <{TL}note> "caf\\u00E9"@fr .',
        f"<{BASE}b> <{RDF_TYPE}> <{TL}ThirdPlace> .",
    ]
    out = io.StringIO()
    write_jsonld(triple_order(canonical_lines(lines)), out, context)
    text = out.getvalue()
    assert text == json.dumps(json.loads(text), ensure_ascii=False, indent=2) + "\n"
    node = json.loads(text)["@graph"][0]
    assert isinstance(node["@type"], list) and isinstance(node["rdfs:label"], list)
    assert isomorphic(parse_jsonld(data=text), reference_graph(lines))


# --------------------------------------------------------------------------- real resources


def test_sample_release(sample_release: Path, tmp_path: Path) -> None:
    """The release ``tierslieux run`` makes of the bundled sample (package ontology files,
    default validators, SHACL included) parses back, validates, and is rebuilt byte for byte."""
    from importlib import resources

    import frictionless

    report = json.loads((sample_release / "report.json").read_text(encoding="utf-8"))
    assert report["validation"] == ["check_rdf_files", "check_tables", "check_shacl"]
    ontology = resources.files("tierslieux.ontology")
    for name in ("ontology.ttl", "shapes.ttl", "context.jsonld"):
        assert (sample_release / name).read_bytes() == ontology.joinpath(name).read_bytes()
    with gzip.open(sample_release / "tierslieux.nt.gz", "rt", encoding="utf-8") as stream:
        lines = stream.read().splitlines()
    assert len(lines) == report["graph"]["triples"] > 1000
    expected = reference_graph(lines)
    assert isomorphic(rdflib.Graph().parse(sample_release / "tierslieux.ttl", format="turtle"), expected)
    assert isomorphic(parse_jsonld(source=sample_release / "tierslieux.jsonld"), expected)
    assert frictionless.validate(str(sample_release / "datapackage.json")).valid
    entries = _catalogue(sample_release, "")
    assert {url.rsplit("/", 1)[-1] for url in entries} == DESCRIBED
    for url, entry in entries.items():
        data = (sample_release / url.rsplit("/", 1)[-1]).read_bytes()
        assert (entry["size"], entry["sum"]) == (len(data), hashlib.sha256(data).hexdigest())

    # the same triples and meta, shuffled, through write_release with the package resources
    catalog = rdflib.Graph().parse(sample_release / "catalog.ttl", format="turtle")
    attribution = catalog.value(rdflib.URIRef(BASE + "dataset"),
                                rdflib.URIRef("http://creativecommons.org/ns#attributionName"))
    random.Random(3).shuffle(lines)
    # the rows of quality.csv the build's label pass added (pipeline/labels.py): folding the
    # folded release again changes no line and finds them again
    folded, label_rows = fold_lines(lines)
    assert folded == sorted(lines) and label_rows
    meta = ReleaseMeta(site=SITE, newest_revision=report["newest_revision"],
                       attribution=str(attribution), issues=label_rows)
    out = tmp_path / "exports"
    rebuilt = write_release(lines, out, meta)
    assert rebuilt.validators == ("check_rdf_files", "check_tables", "check_shacl")
    a, b = snapshot(sample_release), snapshot(out)
    assert {n for n in a if a[n] != b[n]} <= RUN_FILES


def test_shacl_violation_blocks_the_release(tmp_path: Path) -> None:
    from tierslieux.validation.release import check_shacl, default_validators

    assert check_shacl in default_validators()

    out = tmp_path / "exports"
    # a third place with no name and no label at all
    lines = [f"<{BASE}place/Sans_nom> <{RDF_TYPE}> <{TL}ThirdPlace> ."]
    with pytest.raises(ValidationError, match="check_shacl: SHACL violation: .*Sans_nom"):
        write_release(lines, out, META, validators=[check_shacl])
    assert not out.exists()
