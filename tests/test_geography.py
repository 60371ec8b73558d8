"""The official geography: the golden cases of the resolver (tests/cases/geography/*.yaml)
against the vendored data, what the map stage makes of a record, and the refresh script on a
small extract of the npm package (tests/data/geography-package/)."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml
from rdflib import Graph, Literal, URIRef

from storedpage import graph_of, map_text
from tierslieux import geography
from tierslieux.errors import GeographyError
from tierslieux.geography import Geography
from tierslieux.geography.derive import read_package, refresh
from tierslieux.geography.resolve import identify, locate, name_key
from tierslieux.ontology.namespace import TL
from tierslieux.model.rdf import DEFAULT_BASE_IRI

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).parent / "cases" / "geography"
EXTRACT = Path(__file__).parent / "data" / "geography-package"
D = DEFAULT_BASE_IRI


def _cases(name: str) -> list[dict]:
    return yaml.safe_load((CASES / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def geo() -> Geography:
    return geography.geography()


@pytest.mark.parametrize("case", _cases("locate.yaml"), ids=lambda c: c["name"])
def test_locate(case: dict, geo: Geography) -> None:
    found = locate(geo, **case["given"])
    assert (found.commune, found.arrondissement) == (case["commune"], case.get("arrondissement", ""))
    assert len(found.notes) == len(case["notes"]), found.notes
    for note, expected in zip(found.notes, case["notes"]):
        assert expected in note.message, note.message
        assert note.severity == "warning"


@pytest.mark.parametrize("case", _cases("identify.yaml"), ids=lambda c: c["name"])
def test_identify(case: dict, geo: Geography) -> None:
    found = identify(geo, **case["given"])
    assert ([found.unit.level, found.unit.code] if found.unit else None) == case["unit"]
    assert [n.message for n in found.notes if not any(e in n.message for e in case["notes"])] == []
    assert len(found.notes) == len(case["notes"])


def test_name_keys() -> None:
    assert name_key("Saint-Étienne") == name_key("ST ETIENNE") == name_key("st-étienne")
    assert name_key("Sainte-Foy") == name_key("Ste Foy")
    assert name_key("Marseille 4e Arrondissement") == name_key("marseille 4ème") == "marseille 4"
    assert name_key("Lyon 1er Arrondissement") == "lyon 1"
    assert name_key("Caen Cedex 9") == name_key("Caen cedex") == "caen"


def test_the_vendored_data_and_its_source(geo: Geography) -> None:
    source = geography.SOURCE
    assert source["package"] == "@etalab/decoupage-administratif"
    assert source["url"] == f"https://www.npmjs.com/package/{source['package']}/v/{source['version']}"
    raw = (ROOT / "tierslieux" / "geography" / "cog.json.gz").read_bytes()
    import hashlib
    assert hashlib.sha256(raw).hexdigest() == source["sha256"]
    assert len([u for u in geo.communes.values() if u.level == "commune"]) > 34_000
    assert {u.code for u in geo.communes.values() if u.level == "arrondissement"} >= {
        "75101", "69381", "13201"}
    assert geo.epcis["200065597"].name == "CU Caen la Mer"
    assert [u.code for u in geo.chain("14167")] == ["14167", "200065597", "14", "28"]


# --------------------------------------------------------------------------- the map stage

def _map(text: str, title: str = "Un lieu") -> Graph:
    mapped = map_text(text, title)
    graph = graph_of(mapped)
    graph.issues = mapped.issues  # type: ignore[attr-defined]
    return graph


def test_a_place_in_an_arrondissement_is_linked_to_every_level() -> None:
    graph = _map("{{Tiers-lieu|code postal=13004|ville=Marseille}}")
    place = URIRef(D + "place/Un_lieu")
    arrondissement = URIRef(D + "collectivity/arrondissement-municipal/13204")
    marseille = URIRef(D + "collectivity/commune/13055")
    assert graph.value(place, TL.inArrondissement) == arrondissement
    assert graph.value(place, TL.inCommune) == marseille
    assert graph.value(place, TL.inEpci) == URIRef(D + "collectivity/epci/200054807")
    assert graph.value(place, TL.inDepartement) == URIRef(D + "collectivity/departement/13")
    assert graph.value(arrondissement, TL.inCommune) == marseille
    assert graph.value(arrondissement, TL.level) == TL["level-arrondissement-municipal"]
    assert graph.value(arrondissement, TL.inseeTerritory) == URIRef(
        "http://id.insee.fr/geo/arrondissementMunicipal/13204")
    assert graph.value(URIRef(D + "collectivity/epci/200054807"), TL.level) == TL["level-metropole"]
    assert [i for i in graph.issues if i.severity != "info"] == []


def test_a_contradiction_is_reported_and_nothing_linked() -> None:
    graph = _map("{{Tiers-lieu|code insee=13004|ville=Marseille}}")
    assert graph.value(URIRef(D + "place/Un_lieu"), TL.inCommune) is None
    assert not list(graph.subjects(TL.officialName, None))
    [issue] = [i for i in graph.issues if i.severity != "info"]
    assert (issue.field, issue.original, issue.kept) == ("commune", "insee=13004 | town=Marseille", "")
    assert "a postal code in the INSEE code field?" in issue.message


def test_an_old_commune_resolves_to_its_current_commune_and_says_so() -> None:
    graph = _map("{{Tiers-lieu|code postal=01300|ville=Arbignieu}}")
    assert graph.value(URIRef(D + "place/Un_lieu"), TL.inCommune) == URIRef(
        D + "collectivity/commune/01015")
    [issue] = [i for i in graph.issues if i.severity != "info"]
    assert (issue.severity, issue.kept) == ("warning", "Arboys en Bugey (01015)")
    assert "commune déléguée" in issue.message


def test_a_collectivity_page_and_a_place_meet_on_one_iri() -> None:
    page = _map("{{Collectivité|niveau=Région}}", title="Région Normandie")
    place = _map("{{Tiers-lieu|code postal=14460|ville=Colombelles}}")
    region = URIRef(D + "collectivity/region/28")
    assert URIRef(D + "page/Région_Normandie") in set(page.subjects(TL.describes, region))
    assert place.value(URIRef(D + "place/Un_lieu"), TL.inRegion) == region
    assert set(page.objects(region, TL.officialName)) == {Literal("Normandie")}


# --------------------------------------------------------------------------- the refresh script

def test_refresh_script_on_a_small_extract(tmp_path: Path) -> None:
    tarball = tmp_path / "etalab-decoupage-administratif-9.9.9.tgz"
    with tarfile.open(tarball, "w:gz") as tar:
        for path in sorted(EXTRACT.rglob("*")):
            tar.add(path, arcname="package/" + path.relative_to(EXTRACT).as_posix(),
                    recursive=False)
    out = tmp_path / "geography"
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "refresh_geography.py"),
                             str(tarball), "--out", str(out)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "9.9.9" in result.stdout
    source = json.loads((out / "source.json").read_text(encoding="utf-8"))
    assert source["version"] == "9.9.9"
    data = json.loads(gzip.decompress((out / "cog.json.gz").read_bytes()))
    assert [r[0] for r in data["regions"]] == ["28", "84", "93"]
    geo = geography.geography(out / "cog.json.gz")
    assert [u.code for u in geo.chain("14167")] == ["14167", "200065597", "14", "28"]
    assert locate(geo, postcode="13001").arrondissement == "13201"
    assert locate(geo, town="Arbignieu").commune == "01015"
    # the folder form gives the same bytes, and so does a second run
    again = tmp_path / "again"
    refresh(EXTRACT, again)
    assert (again / "cog.json.gz").read_bytes() == (out / "cog.json.gz").read_bytes()


def test_refresh_refuses_another_package(tmp_path: Path) -> None:
    folder = tmp_path / "package"
    (folder / "data").mkdir(parents=True)
    (folder / "package.json").write_text('{"name": "left-pad", "version": "1.0.0"}')
    with pytest.raises(GeographyError, match="not a @etalab/decoupage-administratif package"):
        read_package(folder)
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "refresh_geography.py"),
                             str(folder), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ") and len(result.stderr.strip().splitlines()) == 1


def test_an_organisation_with_an_address_is_in_its_commune() -> None:
    graph = _map("{{Organisation|nom=La Coop|code postal=69100|ville=Villeurbanne}}")
    coop = URIRef(D + "organisation/la-coop")
    assert graph.value(coop, TL.inCommune) == URIRef(D + "collectivity/commune/69266")
    assert graph.value(coop, TL.inEpci) == URIRef(D + "collectivity/epci/200046977")
    assert graph.value(URIRef(D + "collectivity/epci/200046977"), TL.officialName) == Literal(
        "Métropole de Lyon")
