"""One entity per real thing: persons and networks written several ways on a page are one
entity with one label and the other spellings as skos:altLabel; pages name the networks they
cite (pipeline/names.py, tl:mentions)."""

from __future__ import annotations

import dataclasses

import pytest
from rdflib import RDFS, SKOS, Graph, Literal, URIRef

from storedpage import graph_of, map_text
from tierslieux.ontology.namespace import TL
from tierslieux.model.rdf import DEFAULT_BASE_IRI
from tierslieux.pipeline.names import rank
from tierslieux.model.records import PageRevision

D = DEFAULT_BASE_IRI


def test_a_person_written_two_ways_has_one_label() -> None:
    graph = graph_of(map_text(
        "{{Tiers-lieu|contributeurs=ophélie Deyrolle|référent=ophélie deyrolle}}"))
    person = URIRef(D + "person/ophelie-deyrolle")
    assert set(graph.objects(person, RDFS.label)) == {Literal("ophélie Deyrolle")}
    assert set(graph.objects(person, SKOS.altLabel)) == {Literal("ophélie deyrolle")}


def test_a_network_written_with_and_without_accents() -> None:
    graph = graph_of(map_text(
        "{{Tiers-lieu|réseaux=Réseau des Tiers-Lieux, reseau des tiers-lieux}}"))
    network = URIRef(D + "network/reseau-des-tiers-lieux")
    assert set(graph.objects(network, TL.name)) == {Literal("Réseau des Tiers-Lieux")}
    assert set(graph.objects(network, RDFS.label)) == {Literal("Réseau des Tiers-Lieux")}
    assert set(graph.objects(network, SKOS.altLabel)) == {Literal("reseau des tiers-lieux")}
    assert set(graph.subjects(TL.mentions, network)) == {URIRef(D + "page/Un_lieu")}


def test_the_best_written_variant_comes_first() -> None:
    variants = ["ophélie deyrolle", "Ophelie Deyrolle", "Ophélie Deyrolle", "OPHÉLIE DEYROLLE"]
    assert sorted(variants, key=rank) == [
        "Ophélie Deyrolle", "Ophelie Deyrolle", "OPHÉLIE DEYROLLE", "ophélie deyrolle"]


# --------------------------------------------------------------------------- across pages
# pipeline/labels.py: the release keeps one rdfs:label per entity and language

from tierslieux.pipeline.labels import (  # noqa: E402
    ALT_LABEL, LABEL, NAME, choose, fold_lines, plan, rewrite)
from tierslieux.pipeline.runs import triple_key  # noqa: E402


def _token(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


#: (labels, official names, kept, rule): the golden cases of the choice rule
CHOICES = [
    # the most capitalised words (a word in capitals does not count), then the most accents
    (["ophélie deyrolle", "OPHÉLIE DEYROLLE", "Ophelie Deyrolle", "Ophélie Deyrolle"], [],
     "Ophélie Deyrolle", "spelling"),
    (["france tiers-lieux", "France Tiers-Lieux", "FRANCE TIERS-LIEUX"], [],
     "France Tiers-Lieux", "spelling"),
    # the same capitals and accents: code-point order
    (["Ophélie Deyrolle", "Ophelie Déyrolle"], [], "Ophelie Déyrolle", "spelling"),
    # extra spaces and hyphens fold to the same slug: still spellings of one name
    (["Saint-Denis Lab", "Saint Denis  Lab"], [], "Saint Denis  Lab", "spelling"),
    # an official name wins, even over a better-written one
    (["Ville d'Arles", "Arles"], ["Arles"], "Arles", "official"),
    (["ARLES", "Arles Centre"], ["ARLES"], "ARLES", "official"),
    # different names (not spellings of one): the same order, another rule
    (["La Myne", "la myne lyon"], [], "La Myne", "names"),
]


@pytest.mark.parametrize("labels, official, kept, rule", CHOICES)
def test_the_choice_rule(labels, official, kept, rule) -> None:
    chosen, others, why = choose([_token(t) for t in labels], [_token(t) for t in official])
    assert (chosen, why) == (_token(kept), rule)
    assert sorted(others) == sorted(_token(t) for t in labels if t != kept)
    # the choice depends only on the set of labels, not on their order
    again = choose([_token(t) for t in reversed(labels)], [_token(t) for t in official])
    assert again == (chosen, others, why)


def test_the_release_choice_is_the_one_a_page_makes() -> None:
    """A page that sees every spelling (names.py) keeps the label the release keeps."""
    spellings = ["ophélie deyrolle", "Ophelie Deyrolle", "OPHÉLIE DEYROLLE", "Ophélie Deyrolle"]
    assert choose([_token(t) for t in spellings])[0] == _token(sorted(spellings, key=rank)[0])


P = "https://w3id.org/tierslieux/movilab/person/"
TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
RELEASE = [
    # a person named three ways on three pages, one of them already an altLabel of a page
    f"<{P}ophelie-deyrolle> <{TYPE}> <https://w3id.org/tierslieux/ontology#Person> .",
    f'<{P}ophelie-deyrolle> <{LABEL}> "ophélie Deyrolle" .',
    f'<{P}ophelie-deyrolle> <{LABEL}> "Ophélie Deyrolle" .',
    f'<{P}ophelie-deyrolle> <{LABEL}> "OPHELIE DEYROLLE" .',
    f'<{P}ophelie-deyrolle> <{ALT_LABEL}> "ophélie deyrolle" .',
    f'<{P}ophelie-deyrolle> <{ALT_LABEL}> "Ophélie Deyrolle" .',
    # a subject whose IRI the other's is a prefix of (line and triple orders differ there)
    f'<{P}ophelie-deyrolle-2> <{LABEL}> "Ophélie Deyrolle 2" .',
    f'<{P}ophelie-deyrolle-2> <{NAME}> "Ophélie Deyrolle 2" .',
    # a section with one label per language: untouched
    f'<{P}s> <{LABEL}> "Enjeux"@fr .',
    f'<{P}s> <{LABEL}> "Stakes"@en .',
    # a network with two names that are spellings of one: tl:name follows the label
    f'<{P}tilios> <{LABEL}> "tilios"@fr .',
    f'<{P}tilios> <{LABEL}> "Tilios"@fr .',
    f'<{P}tilios> <{NAME}> "tilios" .',
    f'<{P}tilios> <{NAME}> "Tilios" .',
]
FOLDED = {
    f"<{P}ophelie-deyrolle> <{TYPE}> <https://w3id.org/tierslieux/ontology#Person> .",
    f'<{P}ophelie-deyrolle> <{LABEL}> "Ophélie Deyrolle" .',
    f'<{P}ophelie-deyrolle> <{ALT_LABEL}> "ophélie Deyrolle" .',
    f'<{P}ophelie-deyrolle> <{ALT_LABEL}> "OPHELIE DEYROLLE" .',
    f'<{P}ophelie-deyrolle> <{ALT_LABEL}> "ophélie deyrolle" .',
    f'<{P}tilios> <{LABEL}> "Tilios"@fr .',
    f'<{P}tilios> <{ALT_LABEL}> "tilios"@fr .',
    f'<{P}tilios> <{NAME}> "Tilios" .',
}


def test_the_pass_folds_in_both_orders() -> None:
    lines = sorted(RELEASE)
    keys = sorted(map(triple_key, RELEASE))
    assert lines != [k.replace("\x01", "> ", 2) for k in keys]  # the orders differ here
    folds = plan(keys)
    assert sorted(folds) == [f"{P}ophelie-deyrolle", f"{P}tilios"]
    expected = {line for line in RELEASE if f"{P}ophelie-deyrolle>" not in line
                and f"{P}tilios>" not in line} | FOLDED
    in_lines = list(rewrite(lines, folds, keys=False))
    in_keys = list(rewrite(keys, folds, keys=True))
    assert in_lines == sorted(expected)
    assert in_keys == sorted(map(triple_key, expected))
    # a second pass changes nothing (it still reports the folds: label and altLabels)
    again = plan(in_keys)
    assert sorted(again) == sorted(folds)
    assert all(not f.removed and not f.added for f in again.values())
    assert [c.alternatives for c in again[f"{P}ophelie-deyrolle"].choices] == [
        c.alternatives for c in folds[f"{P}ophelie-deyrolle"].choices]
    assert list(rewrite(in_lines, again, keys=False)) == in_lines


def test_the_pass_keeps_only_the_subjects_it_folds() -> None:
    """Subjects with one label and no alternative (most of a release) leave nothing behind."""
    def stream():
        for number in range(20_000):
            yield triple_key(f'<{P}p{number:05d}> <{LABEL}> "Personne {number}" .')
        yield from sorted(map(triple_key, RELEASE))

    assert sorted(plan(stream())) == [f"{P}ophelie-deyrolle", f"{P}tilios"]


# --------------------------------------------------------------------------- in a release

import csv  # noqa: E402
import gzip  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import shutil  # noqa: E402
from pathlib import Path  # noqa: E402

from click.testing import CliRunner  # noqa: E402

from tierslieux.cli import cli  # noqa: E402
from tierslieux.pipeline.harvest import harvest_dump  # noqa: E402
from tierslieux.pipeline.store import Store  # noqa: E402
from tierslieux.runner.build import BuildOptions, build  # noqa: E402
from test_build_cache import different_files  # noqa: E402

PERSON = URIRef(D + "person/ophelie-deyrolle")
NETWORK = URIRef(D + "network/france-tiers-lieux")
#: two pages that name Le WIP's referent (there "ophélie Deyrolle", "ophélie deyrolle") and its
#: network (there "France Tiers Lieux") other ways
PAGES = {
    "Atelier des Pentes": "{{Tiers-lieu|ville=Lyon|contributeurs=OPHELIE DEYROLLE"
                          "|réseaux=france tiers-lieux}}\nUn atelier.",
    "La Forge du Port": "{{Tiers-lieu|ville=Brest|référent=Ophélie Deyrolle"
                        "|réseaux=FRANCE TIERS LIEUX}}\nUne forge.",
}


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))


def _label_rows(release: Path) -> dict[str, dict[str, str]]:
    """The quality.csv rows of the label pass, by entity."""
    return {row["message"].split(" ", 1)[0]: row for row in _rows(release / "quality.csv")
            if row["champ"] == "label"}


def _check_release(release: Path, person_label: str, person_alternatives: set[str]) -> None:
    graph = Graph()
    graph.parse(release / "tierslieux.ttl", format="turtle")
    assert set(graph.objects(PERSON, RDFS.label)) == {Literal(person_label)}
    assert set(graph.objects(PERSON, SKOS.altLabel)) == {Literal(t) for t in person_alternatives}
    assert set(graph.objects(NETWORK, RDFS.label)) == {Literal("France Tiers Lieux")}
    assert set(graph.objects(NETWORK, TL.name)) == {Literal("France Tiers Lieux")}
    # the JSON-LD says the same
    jsonld = Graph()
    jsonld.parse(release / "tierslieux.jsonld", format="json-ld")
    assert set(jsonld.objects(PERSON, RDFS.label)) == {Literal(person_label)}
    # one row per network in the table, with the kept name
    networks = [r for r in _rows(release / "reseaux.csv") if r["id"] == str(NETWORK)]
    assert [r["nom"] for r in networks] == ["France Tiers Lieux"]


def three_pages_store(store: Path, sample_xml: Path) -> Path:
    """A store of the sample and the three pages of ``PAGES``."""
    with Store(store) as opened:
        harvest_dump(sample_xml, opened)
        opened.upsert([PageRevision(page_id=8000 + n, namespace=0, title=title, rev_id=80000 + n,
                                    parent_id=None, timestamp="2024-02-01T00:00:00Z", sha1=None,
                                    contributor="Camille Vidal", text=text)
                       for n, (title, text) in enumerate(sorted(PAGES.items()))])
    return store


def test_a_person_and_a_network_written_differently_on_three_pages(tmp_path: Path,
                                                                  sample_xml: Path) -> None:
    store = three_pages_store(tmp_path / "store.sqlite", sample_xml)
    result = build(store, tmp_path / "cached", BuildOptions(workers=1))
    alternatives = {"ophélie Deyrolle", "ophélie deyrolle", "OPHELIE DEYROLLE"}
    # "Ophélie Deyrolle" is the best written: the most capitalised words, then accents
    _check_release(tmp_path / "cached", "Ophélie Deyrolle", alternatives)
    rows = _label_rows(tmp_path / "cached")
    person, network = rows[str(PERSON)], rows[str(NETWORK)]
    assert (person["titre"], person["gravite"], person["valeur_retenue"]) == (
        "Atelier des Pentes", "warning", "Ophélie Deyrolle")
    assert sorted(person["valeur_originale"].split(" | ")) == sorted(alternatives)
    assert "on 3 page(s) (Atelier des Pentes, La Forge du Port, Le WIP)" in person["message"]
    assert (network["valeur_retenue"], sorted(network["valeur_originale"].split(" | "))) == (
        "France Tiers Lieux", ["FRANCE TIERS LIEUX", "france tiers-lieux"])
    # rows for the editors, not warnings of the build (the exit code does not change)
    assert not any(i.field == "label" for i in result.warnings)
    # the rows are a function of the published release: folding it again changes no line
    # and finds the same rows
    with gzip.open(tmp_path / "cached" / "tierslieux.nt.gz", "rt", encoding="utf-8") as fh:
        published = fh.read().splitlines()
    folded, again = fold_lines(published)
    assert folded == published
    assert sorted((i.page_title, i.original, i.kept, i.message) for i in again) == sorted(
        (r["titre"], r["valeur_originale"], r["valeur_retenue"], r["message"])
        for r in _rows(tmp_path / "cached" / "quality.csv") if r["champ"] == "label")

    # an incremental build (one page changed: the best spelling goes) equals a full build
    shutil.copytree(tmp_path / "cached", tmp_path / "fresh")
    with Store(store, create=False) as opened:
        page = opened.get(opened.page_id_of(0, "La Forge du Port"))
        assert opened.upsert([dataclasses.replace(
            page.revision, rev_id=page.revision.rev_id + 1,
            text=page.revision.text.replace("Ophélie Deyrolle", "ophélie deyrolle"))]).changed
    cached = build(store, tmp_path / "cached", BuildOptions(workers=1))
    fresh = build(store, tmp_path / "fresh", BuildOptions(workers=1, cache=False))
    assert cached.pages_parsed == 1 and fresh.pages_parsed == fresh.pages
    assert different_files(tmp_path / "cached", tmp_path / "fresh") == []
    _check_release(tmp_path / "cached", "ophélie Deyrolle", {"ophélie deyrolle", "OPHELIE DEYROLLE"})


@pytest.mark.integration
def test_a_wiki_that_names_a_person_three_ways(fresh_mediawiki, tmp_path: Path) -> None:
    """A real MediaWiki harvest: the sample plus two pages written through the API."""
    site = fresh_mediawiki.site()
    for title, text in PAGES.items():
        site.pages[title].edit(text, summary="test: another spelling")
    result = CliRunner().invoke(cli, [
        "--quiet", "run", "--wiki", fresh_mediawiki.base + "/", "--delay", "0",
        "--store", str(tmp_path / "s.sqlite"), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, (result.output, result.exception)
    release = tmp_path / "out"
    _check_release(release, "Ophélie Deyrolle",
                   {"ophélie Deyrolle", "ophélie deyrolle", "OPHELIE DEYROLLE"})
    rows = _label_rows(release)
    assert sorted(rows) == [D + "collectivity/commune/13004", str(NETWORK), str(PERSON)]
    assert rows[str(PERSON)]["adresse_page"].startswith(fresh_mediawiki.base)
    report = json.loads((release / "report.json").read_text(encoding="utf-8"))
    assert report["quality"]["rows"] == len(_rows(release / "quality.csv"))
    # the release satisfies its own shapes (one rdfs:label per entity and language)
    assert CliRunner().invoke(cli, ["validate", str(release)]).exit_code == 0


def test_the_shapes_say_one_label_per_language(sample_release: Path) -> None:
    """pyshacl (the reference) and the build's compiled shapes both reject a second label."""
    from tierslieux.model.rdf import RDF_TYPE
    from tierslieux.pipeline.runs import key_triple
    from tierslieux.validation.reference import validate_graph
    from tierslieux.validation.shacl import default_checker, ontology_lines
    from tierslieux.validation.shacl_stream import validate_triples

    with gzip.open(sample_release / "tierslieux.nt.gz", "rt", encoding="utf-8") as fh:
        lines = fh.read().splitlines()
    section = next(line.split(" ")[0] for line in lines
                   if f"<{RDF_TYPE}> <{TL.Section}>" in line)
    extra = [f'<{PERSON}> <{LABEL}> "Ophélie Deyrolle" .',
             f'{section} <{LABEL}> "Un autre titre"@fr .']
    one = "an entity named by the wiki has one rdfs:label (its other names are skos:altLabel)"
    per_language = ("an entity has at most one rdfs:label per language "
                    "(the others are skos:altLabel)")
    expected = {(str(PERSON), one), (section[1:-1], per_language)}

    def label_results(violations) -> set[tuple[str, str]]:
        return {(v.focus, v.message) for v in violations if v.path == str(RDFS.label)}

    graph = Graph().parse(data="\n".join(lines) + "\n", format="nt")
    assert validate_graph(graph).conforms
    graph.parse(data="\n".join(extra) + "\n", format="nt")
    assert label_results(validate_graph(graph).errors) == expected

    triples = sorted(map(triple_key, [*lines, *extra, *ontology_lines()]))
    report = validate_triples(default_checker(), lambda: map(key_triple, triples),
                              severities=frozenset({"violation"}))
    assert label_results(report.violations) == expected
