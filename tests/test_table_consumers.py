"""The CSV tables as their consumers read them, with the real consumer software: frictionless
(the data package, its dialect, and the national schema "Lieux de médiation numérique"), the
PyPI ``csvw`` reader (``datapackage.json`` and ``csv-metadata.json``). The two table checks of
a build (frictionless below ``FRICTIONLESS_LIMIT``, ``tables.py`` above) run over the case
files of ``tests/cases/tables/`` (made from this module's release) in
``tests/test_validation_cases.py``.

The release read here is built by the real pipeline from an XML export whose sections hold
prose that looks like CSV (``|"oui"|"non"|``, ``;``, tabs, quotes, line breaks) and whose places
cover the national table's cases (complete, closed, without an address, a foreign telephone).
"""

from __future__ import annotations

import csv
import io
import json
import pathlib
import shutil
import warnings
from pathlib import Path

import frictionless
import pytest

from exportxml import Page, Rev, export
from tierslieux.exports import mediation
from tierslieux.runner.build import BuildOptions, build
from tierslieux.pipeline.harvest import harvest_dump
from tierslieux.pipeline.store import Store

OFFICIAL_SCHEMA = Path(__file__).parent / "data" / "mediation-numerique" / "schema.json"
PLACE = "https://w3id.org/tierslieux/movilab/place/"
#: the prose of issue 17: without a declared dialect, frictionless guesses "|" as the delimiter
PROSE = 'Réponses : |"oui"|"non"|'
#: more text that looks like CSV of another dialect (the parser turns tabs into spaces: tabs
#: are tried on hand-made triples, ``triples_release``)
TRICKY_PROSE = [
    PROSE,
    'Choix : |"a"|"b"|"c"| puis |"d"|',
    "un;deux;trois;quatre et cinq;six",
    'Il a dit "bonjour", puis \'au revoir\' ; fin',
]
TABBED = ["colonne 1\tcolonne 2\tcolonne 3", 'a\t"b"\t|c|\n;d;', PROSE + "\r\nfin"]
PLACE_RECORD = """{{Tiers-lieu
|adresse=12 rue des Ateliers
|code postal=14460
|ville=Colombelles
|téléphone=02 31 00 00 00 ; +44 20 7946 0958
|courriel=bonjour@atelier.example
|site=https://atelier.example/
|description=Un atelier partagé.
}}
"""
COMPLETE = PLACE_RECORD + """== Questions ==
""" + "\n\n".join(TRICKY_PROSE) + """

== Suite ==
Rien ;-) | "rien" |
[[Catégorie:Tiers-lieux]]"""
CLOSED = """{{Tiers-lieu
|adresse=1 place de la Gare
|code postal=42000
|ville=Saint-Étienne
|fermeture=2016
}}
[[Catégorie:Tiers-lieux]]"""
NO_ADDRESS = "{{Tiers-lieu|ville=Lyon}}\n[[Catégorie:Tiers-lieux]]"


def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


def _build(folder: Path, pages: list[Page]) -> Path:
    dump = folder / "wiki.xml"
    dump.write_text(export(pages), encoding="utf-8")
    with Store(folder / "store.sqlite") as opened:
        harvest_dump(dump, opened)
    build(folder / "store.sqlite", folder / "exports",
          BuildOptions(started="2025-01-01T00:00:00Z"))
    return folder / "exports"


@pytest.fixture(scope="module")
def tricky_release(tmp_path_factory) -> Path:
    """A release of three places and the tricky prose, built as ``tierslieux build`` does."""
    return _build(tmp_path_factory.mktemp("tricky"), [
        Page(1, "L'Atelier", [Rev(10, COMPLETE, timestamp="2025-03-04T05:06:07Z")]),
        Page(2, "La Gare", [Rev(11, CLOSED)]),
        Page(3, "Lieu sans adresse", [Rev(12, NO_ADDRESS)]),
    ])


@pytest.fixture(scope="module")
def issue_release(tmp_path_factory) -> Path:
    """The case of issue 17: one page whose section holds ``|"oui"|"non"|``."""
    return _build(tmp_path_factory.mktemp("issue"), [
        Page(1, "L'Atelier", [Rev(10, PLACE_RECORD + "== Questions ==\n" + PROSE + "\n")]),
    ])


@pytest.fixture(scope="module")
def triples_release(tmp_path_factory) -> Path:
    """Sections whose text holds tabs, quotes, line breaks (hand-made triples)."""
    from test_exports import BASE, TL, case_lines, release

    def literal(text: str) -> str:
        return json.dumps(text, ensure_ascii=False).replace("\\t", "\\t")

    lines = case_lines("third_place") + [
        f"<{BASE}page/Le_WIP/section/{slug}> <{TL}text> {literal(text)}@fr ."
        for slug, text in zip(("0", "enjeux"), ("\n".join(TABBED[:2]), TABBED[2]))
    ]
    out = tmp_path_factory.mktemp("triples") / "exports"
    release(lines, out)
    return out


def _package(folder: Path) -> dict:
    return json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- the dialect


def test_every_resource_declares_its_dialect_and_scheme(tricky_release: Path) -> None:
    for resource in _package(tricky_release)["resources"]:
        assert resource["scheme"] == "file"
        assert resource["encoding"] == "utf-8"
        assert resource["dialect"] == {
            "delimiter": ",", "lineTerminator": "\n", "quoteChar": '"', "doubleQuote": True,
            "skipInitialSpace": False, "header": True,
        }, resource["name"]


@pytest.mark.parametrize("which", ["tricky", "triples", "issue"])
def test_frictionless_reads_prose_that_looks_like_csv(which: str,
                                                      request: pytest.FixtureRequest) -> None:
    folder = request.getfixturevalue(f"{which}_release")
    wanted = {"tricky": TRICKY_PROSE, "triples": TABBED, "issue": [PROSE]}[which]
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert report.valid, report.flatten(["type", "message"])
    assert report.stats["errors"] == 0
    package = frictionless.Package(str(folder / "datapackage.json"))
    for resource in package.resources:
        rows = read_csv(folder / resource.path)
        with resource:
            read = resource.read_rows()
            assert resource.header == rows[0], resource.name
        assert len(read) == len(rows) - 1, resource.name
    texts = [r["texte"] or "" for r in package.get_resource("sections").read_rows()]
    assert [t for t in wanted if any(t in text for text in texts)] == wanted


def test_without_the_dialect_frictionless_misreads_the_prose(issue_release: Path,
                                                             tmp_path: Path) -> None:
    """The defect the dialect fixes: on the same files, without it, frictionless guesses
    ``|`` as the delimiter of sections.csv and reports its rows as broken."""
    folder = tmp_path / "release"
    shutil.copytree(issue_release, folder)
    package = _package(folder)
    for resource in package["resources"]:
        del resource["dialect"]
    (folder / "datapackage.json").write_text(json.dumps(package), encoding="utf-8")
    report = frictionless.validate(str(folder / "datapackage.json"))
    assert not report.valid
    (task,) = [t for t in report.tasks if not t.valid]
    assert task.name == "sections"
    assert {"incorrect-label", "missing-label"} <= {e.type for e in task.errors}
    assert frictionless.validate(str(issue_release / "datapackage.json")).stats["errors"] == 0


# --------------------------------------------------------------------------- CSV on the Web


def _row_counts(folder: Path) -> dict[str, int]:
    return {r["path"]: len(read_csv(folder / r["path"])) - 1
            for r in _package(folder)["resources"]}


@pytest.mark.parametrize("which", ["tricky", "sample"])
def test_csvw_reads_every_table_of_the_data_package(which: str, tricky_release: Path,
                                                    request: pytest.FixtureRequest) -> None:
    import csvw

    folder = tricky_release if which == "tricky" else request.getfixturevalue("sample_release")
    with warnings.catch_warnings():
        # csvw's own converter copies Table Schema's "required" into the CSVW datatype, where
        # CSVW does not define it, and warns about what it wrote
        warnings.filterwarnings("ignore", "Invalid property required for Datatype", UserWarning)
        group = csvw.TableGroup.from_frictionless_datapackage(
            pathlib.Path(folder / "datapackage.json"))
        read = {t.url.string: sum(1 for _ in t.iterdicts()) for t in group.tables}
    assert read == _row_counts(folder)
    assert len(read) == len(_package(folder)["resources"]) == 9


@pytest.mark.parametrize("which", ["tricky", "sample"])
def test_csvw_metadata_gives_lists_for_multi_valued_cells(which: str, tricky_release: Path,
                                                          request: pytest.FixtureRequest) -> None:
    import csvw

    folder = tricky_release if which == "tricky" else request.getfixturevalue("sample_release")
    group = csvw.TableGroup.from_file(folder / "csv-metadata.json")
    tables = {t.url.string: list(t.iterdicts()) for t in group.tables}
    assert {name: len(rows) for name, rows in tables.items()} == _row_counts(folder)
    assert group.check_referential_integrity()
    package = _package(folder)
    for resource in package["resources"]:
        lists = {f["name"] for f in resource["schema"]["fields"] if f["type"] == "list"}
        for row in tables[resource["path"]]:
            for name in lists:
                assert row[name] is None or isinstance(row[name], list), (resource["name"], name)
    if which == "sample":
        myne = next(r for r in tables["tiers_lieux.csv"] if r["id"] == PLACE + "La_Myne")
        assert myne["page_wiki"] == ["https://movilab.org/wiki/La_Myne",
                                     "https://movilab.org/wiki/La_Myne/2"]
    else:
        (row,) = tables["lieux_mediation_numerique.csv"]
        assert row["courriels"] == ["bonjour@atelier.example"]
        assert row["typologie"] == ["TIERS_LIEUX"]
        place = next(r for r in tables["tiers_lieux.csv"] if r["nom"] == "L'Atelier")
        assert place["telephone"] == ["+33231000000", "+442079460958"]
        sections = [r["texte"] or "" for r in tables["sections.csv"]]
        assert any(PROSE in t for t in sections)


# --------------------------------------------------------------------------- the national schema


def test_the_package_ships_the_official_schema_unchanged() -> None:
    from importlib import resources

    shipped = resources.files("tierslieux.exports").joinpath(mediation.SCHEMA_FILE)
    assert shipped.read_bytes() == OFFICIAL_SCHEMA.read_bytes()
    assert json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))["version"] == "v1.0.2"


def _validate_national(folder: Path) -> frictionless.Report:
    schema = frictionless.Schema.from_descriptor(json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8")))
    resource = frictionless.Resource(path=mediation.FILE, basepath=str(folder), schema=schema)
    return frictionless.validate(resource)


def test_national_table_is_valid_under_the_official_schema(tricky_release: Path,
                                                           sample_release: Path) -> None:
    report = _validate_national(tricky_release)
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "message"])
    rows = read_csv(tricky_release / mediation.FILE)
    official = json.loads(OFFICIAL_SCHEMA.read_text(encoding="utf-8"))
    assert rows[0] == [f["name"] for f in official["fields"]]
    (row,) = [dict(zip(rows[0], r)) for r in rows[1:]]
    assert {k: v for k, v in row.items() if v} == {
        "id": PLACE + "L'Atelier", "pivot": mediation.NO_PIVOT, "nom": "L'Atelier",
        "commune": "Colombelles", "code_postal": "14460", "adresse": "12 rue des Ateliers",
        "code_insee": "14167",  # resolved from the postcode and town (tierslieux/geography)
        "typologie": "TIERS_LIEUX", "telephone": "+33231000000",
        "courriels": "bonjour@atelier.example",
        "site_web": "https://atelier.example/", "presentation_detail": "Un atelier partagé.",
        "source": "Wiki Test", "date_maj": "2025-03-04",
    }
    sample = _validate_national(sample_release)
    assert sample.valid and sample.stats["errors"] == 0


def test_places_left_out_are_in_the_quality_report(tricky_release: Path) -> None:
    rows = [r for r in read_csv(tricky_release / "quality.csv")[1:]
            if r[2] == mediation.FIELD]
    assert [(r[0], r[5], r[7], r[8]) for r in rows] == [
        ("L'Atelier", "+442079460958", "warning",
         "telephone +442079460958 not in lieux_mediation_numerique.csv: the national schema "
         "holds one French number (+33XXXXXXXXX)"),
        ("La Gare", "", "warning",
         f"{PLACE}La_Gare left out of lieux_mediation_numerique.csv: the place is closed (the "
         "national schema lists places that receive the public)"),
        ("Lieu sans adresse", "", "warning",
         f"{PLACE}Lieu_sans_adresse left out of lieux_mediation_numerique.csv: no code_postal; "
         "no adresse"),
    ]
    report = json.loads((tricky_release / "report.json").read_text(encoding="utf-8"))
    assert report["tables"][mediation.FILE] == {"rows": 1, "left_out": 2}


def test_siret_and_insee_code_reach_the_national_table(tmp_path: Path) -> None:
    """The pivot is the place's SIRET when the graph has one; code_insee is filled from
    tiers_lieux.csv's column when the graph has the code (the official geography's job)."""
    from test_exports import BASE, TL, case_lines, release

    lines = case_lines("third_place") + [
        f'<{BASE}place/Le_WIP> <{TL}siret> "12345678900012" .',
        f'<{BASE}place/Le_WIP> <{TL}inseeCode> "14167" .',
    ]
    release(lines, tmp_path / "out")
    report = _validate_national(tmp_path / "out")
    assert report.valid, report.flatten(["type", "message"])
    header, row = read_csv(tmp_path / "out" / mediation.FILE)
    cells = dict(zip(header, row))
    assert (cells["pivot"], cells["code_insee"]) == ("12345678900012", "14167")


# --------------------------------------------------------------------------- the producers' command


def _national_cell(column: str, value: str):
    def edit(folder: Path) -> None:
        path = folder / mediation.FILE
        rows = read_csv(path)
        rows[1][rows[0].index(column)] = value
        with open(path, "w", encoding="utf-8", newline="") as out:
            csv.writer(out, lineterminator="\n").writerows(rows)
    return edit


def test_frictionless_validate_command_with_the_official_schema(tricky_release: Path,
                                                                tmp_path: Path) -> None:
    """``frictionless validate --schema schema.json lieux_mediation_numerique.csv``, the
    command a producer runs, on the published file and on a copy with a telephone with
    spaces (``--trusted``: the official schema is outside the release folder)."""
    import subprocess
    import sys

    def validate(path: Path) -> tuple[int, dict]:
        done = subprocess.run(
            [sys.executable, "-m", "frictionless", "validate", "--trusted", "--json",
             "--schema", str(OFFICIAL_SCHEMA), str(path)],
            capture_output=True, text=True, timeout=300)
        return done.returncode, json.loads(done.stdout)

    code, report = validate(tricky_release / mediation.FILE)
    assert (code, report["valid"], report["tasks"][0]["stats"]["rows"]) == (0, True, 1)
    broken = tmp_path / mediation.FILE
    shutil.copyfile(tricky_release / mediation.FILE, broken)
    _national_cell("telephone", "+33 2 31 00 00 00")(tmp_path)
    code, report = validate(broken)
    assert code != 0 and not report["valid"]
    assert [e["type"] for e in report["tasks"][0]["errors"]] == ["constraint-error"]


def test_a_page_title_that_looks_like_a_formula_is_reported_as_written(tmp_path: Path) -> None:
    """quality.csv neutralises its cells itself: the title it gets from the national table
    is the page's own (tables.csv cells are neutralised once, not twice)."""
    out = _build(tmp_path, [Page(1, "+Lieu=1", [Rev(10, NO_ADDRESS)])])
    pages = read_csv(out / "pages.csv")
    assert pages[1][pages[0].index("titre")] == "'+Lieu=1"
    (row,) = [r for r in read_csv(out / "quality.csv")[1:] if r[2] == mediation.FIELD]
    assert row[:2] == ["'+Lieu=1", "https://wiki.example.org/wiki/%2BLieu%3D1"]
