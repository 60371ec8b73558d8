"""The scalable build (issue 8): cache, parallel workers, sorted runs, streaming checks.

Every test compares with something that could differ: a build from an empty cache, a build in
one process, the set-based comparisons the streaming code replaces, frictionless.
"""

from __future__ import annotations

import dataclasses
import filecmp
import gzip
import shutil
from pathlib import Path

import pytest

from tierslieux.errors import ValidationError
from tierslieux.validation import release as checks
from tierslieux.model.lines import triple_order
from tierslieux.exports.diff import diff_release as _diff
from tierslieux.pipeline import parse as parse_module
from tierslieux.pipeline import runs as runs_module
from tierslieux.runner.build import BuildOptions, build
from tierslieux.pipeline.harvest import harvest_dump
from tierslieux.model.records import PageRevision
from tierslieux.pipeline.runs import RunSet, group_runs, triple_key, write_run
from tierslieux.pipeline.store import Store
from test_exports import case_lines, release  # noqa: E402 - helpers of the exports tests

#: files that hold the run's clock times
CLOCK = {"report.json"}
BASE = "https://w3id.org/tierslieux/movilab/"
TL = "https://w3id.org/tierslieux/ontology#"
EXTRA_PAGES = 30


def different_files(one: Path, two: Path) -> list[str]:
    names = sorted({p.relative_to(one).as_posix() for p in one.rglob("*") if p.is_file()}
                   | {p.relative_to(two).as_posix() for p in two.rglob("*") if p.is_file()})
    return [n for n in names if n not in CLOCK and not (
        (one / n).is_file() and (two / n).is_file()
        and filecmp.cmp(one / n, two / n, shallow=False))]


def extra_page(number: int, rev_id: int = 0, note: str = "") -> PageRevision:
    text = (f"Le lieu numéro {number}, '''ouvert''' à tous.{note}\n"
            f"== Enjeux ==\n* Un enjeu [[Page {number + 1}]]\n** Un détail\n"
            f"== Le lieu ==\nDu texte.\n[[Catégorie:Documentation]]\n")
    return PageRevision(
        page_id=9000 + number, namespace=0, title=f"Page {number}", rev_id=rev_id or 90000 + number,
        parent_id=None, timestamp=f"2024-01-{1 + number % 28:02d}T00:00:00Z", sha1=None,
        contributor=f"Contributeur {number % 4}", text=text,
    )


@pytest.fixture
def store(tmp_path: Path, sample_xml: Path) -> Path:
    """The sample wiki plus some pages, harvested into a store of its own."""
    path = tmp_path / "store.sqlite"
    with Store(path) as opened:
        harvest_dump(sample_xml, opened)
        opened.upsert([extra_page(n) for n in range(EXTRA_PAGES)])
    return path


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Titles of the pages parsed by one-process builds."""
    seen: list[str] = []
    original = parse_module.parse_page

    def counting(page, **options):
        seen.append(page.revision.title)
        return original(page, **options)

    monkeypatch.setattr(parse_module, "parse_page", counting)
    return seen


def edit(store: Path, title: str, note: str = " Modifié.") -> None:
    with Store(store, create=False) as opened:
        page = opened.get(opened.page_id_of(0, title))
        revision = dataclasses.replace(page.revision, rev_id=page.revision.rev_id + 1000,
                                       text=page.revision.text + note)
        assert opened.upsert([revision]).changed == 1


ONE = BuildOptions(workers=1)


def test_a_rebuild_parses_only_the_changed_pages(store: Path, tmp_path: Path,
                                                 parses: list[str]) -> None:
    first = build(store, tmp_path / "out", ONE)
    assert first.pages_parsed == first.pages == len(parses) > EXTRA_PAGES + 12
    assert Path(str(store) + ".buildcache.sqlite").is_file()
    parses.clear()
    again = build(store, tmp_path / "out", ONE)
    assert again.pages_parsed == 0 and parses == []
    edit(store, "Le WIP")
    edit(store, "Page 3")
    third = build(store, tmp_path / "out", ONE)
    assert third.pages_parsed == 2
    assert sorted(parses) == ["Le WIP", "Page 3"]


def test_a_cached_rebuild_equals_a_build_from_an_empty_cache(store: Path, tmp_path: Path) -> None:
    build(store, tmp_path / "cached", ONE)
    shutil.copytree(tmp_path / "cached", tmp_path / "fresh")  # the same previous release
    edit(store, "La Myne/2")  # a sub-page: its place is shared with another page
    with Store(store, create=False) as opened:
        opened.delete(opened.page_id_of(0, "Page 7"))
    cached = build(store, tmp_path / "cached", ONE)
    fresh = build(store, tmp_path / "fresh", dataclasses.replace(ONE, cache=False))
    assert cached.pages_parsed == 1 and fresh.pages_parsed == fresh.pages
    assert different_files(tmp_path / "cached", tmp_path / "fresh") == []
    added = gzip.decompress((tmp_path / "cached" / "diff-added.nt.gz").read_bytes()).decode()
    assert "La_Myne/2" in added  # the diff sees the edit: the comparison means something


def test_changing_the_mapping_or_the_base_iri_empties_the_cache(store: Path, tmp_path: Path,
                                                               parses: list[str]) -> None:
    from tierslieux.ontology import read_text

    pages = build(store, tmp_path / "out", ONE).pages
    mapping = tmp_path / "mapping.yaml"
    mapping.write_text(read_text("mapping.yaml").replace(
        "aliases: [Freins, Frein, Les freins]", "aliases: [Freins, Frein, Les freins, Blocages]"),
        encoding="utf-8")
    assert build(store, tmp_path / "out", dataclasses.replace(
        ONE, mapping_path=mapping)).pages_parsed == pages
    assert build(store, tmp_path / "out", dataclasses.replace(
        ONE, mapping_path=mapping)).pages_parsed == 0
    assert build(store, tmp_path / "other", dataclasses.replace(
        ONE, base_iri="https://example.org/data/")).pages_parsed == pages


def test_parallel_build_equals_one_process(store: Path, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runs_module, "RUN_PAGES", 4)  # several runs to merge
    one = build(store, tmp_path / "one", dataclasses.replace(ONE, cache=False))
    two = build(store, tmp_path / "two", BuildOptions(workers=2, cache=False))
    assert one.triples == two.triples > 0
    assert different_files(tmp_path / "one", tmp_path / "two") == []
    assert one.warnings == two.warnings


def test_class_checks_a_page_cannot_decide_are_decided_at_the_end(
        store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages leave every tl:inSection value undecided: the end of the stream types them."""
    from tierslieux.validation import shacl

    original = shacl.ShapeChecker.local_class_failures
    undecided: list[str] = []

    def unsure(self, lines):
        failures = original(self, lines)
        for line in lines:
            if "#inSection> " in line:
                failures.add((line.split(" ")[2][1:-1], f"{TL}Section"))
                undecided.append(line)
        return failures

    monkeypatch.setattr(shacl.ShapeChecker, "local_class_failures", unsure)
    assert build(store, tmp_path / "out", ONE).triples > 0
    assert undecided


def test_a_violation_found_streaming_is_left_out_and_reported(store: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    """A page's value that breaks a shape is no reason to withhold the release (issue 17):
    the value is left out, the page reported."""
    from tierslieux.pipeline.map import Mapper

    original = Mapper.map_page

    def broken(self, parsed):
        mapped = original(self, parsed)
        if parsed.page.revision.title == "Le WIP":
            bad = f'<{BASE}place/Le_WIP> <{TL}postalCode> "1446O" .'
            mapped = dataclasses.replace(mapped, triples=tuple(sorted(mapped.triples + (bad,))))
        return mapped

    monkeypatch.setattr(Mapper, "map_page", broken)
    result = build(store, tmp_path / "out", ONE)
    reported = [i for i in result.issues if i.field == "shape:postalCode"]
    assert [(i.page_title, i.original) for i in reported] == [("Le WIP", "1446O")]
    assert "five digits" in reported[0].message
    with gzip.open(tmp_path / "out" / "tierslieux.nt.gz", "rt", encoding="utf-8") as stream:
        published = stream.read()
    assert "1446O" not in published and f"<{BASE}place/Le_WIP> " in published


# --------------------------------------------------------------------------- runs


def test_runs_merge_to_the_sorted_union_in_both_orders(tmp_path: Path) -> None:
    lines = case_lines("third_place")
    pages = [lines[i::3] for i in range(3)] + [lines[:5]]  # overlapping pages
    write_run(tmp_path, "a", pages[:2])
    write_run(tmp_path, "b", pages[2:])
    merged = RunSet(tmp_path, ["a", "b"])
    assert list(merged) == sorted(set(lines))
    assert len(merged) == len(set(lines))
    expected = triple_order(sorted(set(lines)))
    assert list(merged.in_triple_order()) == expected
    assert merged.merged_paths()[1].is_file()  # the second pass reads the merged file
    assert list(merged.in_triple_order()) == expected
    merged.forget_merged()
    assert not merged.merged_paths()[0].exists()


def test_triple_key_orders_like_tuples() -> None:
    lines = ['<a/b> <p> "x" .', "<a> <p> <o> .", "<a> <p/q> <o> .", "<a> <p> <o/x> .",
             '<a> <p> "o"@fr .', '<a> <p> "o" .', "<a-b> <p> <o> ."]
    assert sorted(lines, key=triple_key) == [
        f"<{s}> <{p}> {o} ." for s, p, o in triple_order(lines)]
    assert sorted(lines) != sorted(lines, key=triple_key)  # the two orders do differ


def test_a_new_page_changes_only_its_run() -> None:
    keys = [f"Page_{n:05d}" for n in range(2000)]
    before = group_runs(keys, 16)
    after = group_runs(sorted(keys + ["Page_01000x"]), 16)
    runs_before = {tuple(keys[a:b]) for a, b in before}
    new_keys = sorted(keys + ["Page_01000x"])
    runs_after = {tuple(new_keys[a:b]) for a, b in after}
    assert len(runs_before - runs_after) <= 2
    assert 2000 / 16 / 2 < len(before) < 2000 / 16 * 2


# --------------------------------------------------------------------------- streaming exports


def test_streaming_diff_equals_the_set_diff(tmp_path: Path) -> None:
    old = case_lines("third_place")
    release(old, tmp_path / "out")
    new = [line for line in old if "collectivity/arles" not in line and '"14120"' not in line]
    new.append(f'<{BASE}place/Le_WIP> <{TL}postalCode> "14460" .')
    new.append(f'<{BASE}collectivity/caen> <{TL}name> "Caen" .')
    write_run(tmp_path, "run", [new])
    streamed = _diff(RunSet(tmp_path, ["run"]), tmp_path / "out")
    assert streamed == _diff(sorted(set(new)), tmp_path / "out")
    assert streamed[0].entities_removed == (f"{BASE}collectivity/arles",)
    assert streamed[0].entities_modified == (f"{BASE}place/Le_WIP",)
    assert streamed[0].entities_added == (f"{BASE}collectivity/caen",)
    # what a release does: the lines go straight to the two diff files
    from tierslieux.exports.ntriples import NTriplesGzWriter
    from tierslieux.model.lines import read_ntriples_gz

    with NTriplesGzWriter(tmp_path / "added.gz") as added, \
            NTriplesGzWriter(tmp_path / "removed.gz") as removed:
        sunk = _diff(RunSet(tmp_path, ["run"]), tmp_path / "out", (added, removed))
    assert sunk == (streamed[0], [], [], streamed[3])
    assert list(read_ntriples_gz(tmp_path / "added.gz")) == streamed[1] != []
    assert list(read_ntriples_gz(tmp_path / "removed.gz")) == streamed[2] != []


def test_streaming_rdf_check_passes_a_good_release_and_explains_a_bad_one(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "SET_COMPARE_LIMIT", 0)
    lines = case_lines("third_place")
    release(lines, tmp_path / "good", validators=[checks.check_rdf_files])
    folder = tmp_path / "good"
    staged = checks.StagedRelease(folder=folder, triples=len(set(lines)),
                                  files=tuple(sorted(p.name for p in folder.iterdir())))
    assert list(checks.check_rdf_files(staged)) == []
    path = folder / "tierslieux.ttl"  # a Turtle writer that lost a triple
    path.write_text(path.read_text(encoding="utf-8").replace(' tl:postalCode "14120" ;', "", 1),
                    encoding="utf-8")
    problems = list(checks.check_rdf_files(staged))
    assert len(problems) == 1
    assert problems[0].startswith("tierslieux.ttl differs from tierslieux.nt.gz: 1 triples "
                                  "missing, 0 extra")


@pytest.mark.parametrize("limit", [0, 10**12])  # tablecheck.py / frictionless
def test_both_table_checks_catch_a_broken_foreign_key(tmp_path: Path, limit: int,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checks, "FRICTIONLESS_LIMIT", limit)
    base = "https://w3id.org/tierslieux/movilab/"
    lines = [line for line in case_lines("third_place")
             if not line.startswith(f"<{base}page/Le_WIP> ")]
    with pytest.raises(ValidationError, match="check_tables: table schema \\(foreign-key\\)"):
        release(lines, tmp_path / "out")
    release(case_lines("third_place"), tmp_path / "ok")  # and pass a good release


def test_writers_in_worker_processes_write_the_same_bytes(store: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """The release's writers run side by side in forked processes above PARALLEL_TRIPLES
    (unless --workers 1), the site in one share per worker: the files are the bytes the
    one-process writers give."""
    import os

    from tierslieux.exports import writers

    monkeypatch.setattr(writers, "PARALLEL_TRIPLES", 10**12)
    build(store, tmp_path / "inline", ONE)
    pids = tmp_path / "pids"
    site = writers.FORMATS["site"]

    def recording(job: writers.WriterInput, *share: tuple[int, int]) -> None:
        with open(pids, "a") as out:
            out.write(f"{os.getpid()} {share}\n")
        return site.write(job, *share)

    monkeypatch.setitem(writers.FORMATS, "site", dataclasses.replace(site, write=recording))
    monkeypatch.setattr(writers, "PARALLEL_TRIPLES", 0)
    build(store, tmp_path / "forked", BuildOptions(workers=2, cache=False))
    calls = sorted(line.split(" ", 1) for line in pids.read_text().splitlines())
    assert sorted(share for _, share in calls) == ["((0, 2),)", "((1, 2),)"]
    assert str(os.getpid()) not in {pid for pid, _ in calls}
    assert different_files(tmp_path / "inline", tmp_path / "forked") == []


def test_a_big_build_says_what_it_does_after_the_pages(store: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    from tierslieux.runner import build as build_module

    monkeypatch.setattr(build_module, "TELL_FROM", 10**12)
    # with a publication URL: without one, the release warns about the catalogue's addresses
    options = dataclasses.replace(ONE, publication_url="https://data.example.org/tl/")
    with caplog.at_level("INFO", logger="tierslieux"):
        build(store, tmp_path / "small", options)
    assert not caplog.records
    monkeypatch.setattr(build_module, "TELL_FROM", 1)
    with caplog.at_level("INFO", logger="tierslieux"):
        result = build(store, tmp_path / "big", options)
    (record,) = caplog.records
    assert record.getMessage() == (
        f"Writing and validating the release: {result.triples} triples from {result.pages} pages "
        f"(0 parsed, {result.pages} from the cache)...")


def test_a_page_the_mapper_fails_on_is_reported_and_the_rest_goes_on(
        store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tierslieux.pipeline.map import Mapper

    original = Mapper.map_page

    def failing(self, parsed):
        if parsed.page.revision.title == "Page 3":
            raise ValueError("not an IRI: 'x y'")
        return original(self, parsed)

    monkeypatch.setattr(Mapper, "map_page", failing)
    result = build(store, tmp_path / "out", dataclasses.replace(ONE, cache=False))
    (issue,) = [i for i in result.warnings if i.page_title == "Page 3"]
    assert issue.message == "not mapped: ValueError: not an IRI: 'x y'"
    with gzip.open(tmp_path / "out" / "tierslieux.nt.gz", "rt", encoding="utf-8") as dump:
        text = dump.read()
    subjects = {line.split(" ", 1)[0] for line in text.splitlines()}
    assert f"<{BASE}page/Page_3>" not in subjects
    assert f"<{BASE}page/Page_4>" in subjects


def test_an_unsorted_previous_dump_is_compared_as_sets(tmp_path: Path) -> None:
    """A previous dump not written by tierslieux (lines out of order): the streaming diff
    notices half-way, starts its files again and compares sets."""
    from tierslieux.exports.ntriples import NTriplesGzWriter
    from tierslieux.model.lines import read_ntriples_gz

    old = sorted(set(case_lines("third_place")))
    (tmp_path / "out").mkdir()
    with gzip.open(tmp_path / "out" / "tierslieux.nt.gz", "wt", encoding="utf-8") as dump:
        dump.write("\n".join(reversed(old)) + "\n")
    new = old[: len(old) // 2] + [f'<{BASE}collectivity/caen> <{TL}name> "Caen" .']
    write_run(tmp_path, "run", [new])
    expected = _diff(sorted(set(new)), tmp_path / "out")
    with NTriplesGzWriter(tmp_path / "added.gz") as added, \
            NTriplesGzWriter(tmp_path / "removed.gz") as removed:
        sunk = _diff(RunSet(tmp_path, ["run"]), tmp_path / "out", (added, removed))
    assert sunk[0] == expected[0] and sunk[3] == expected[3]
    assert list(read_ntriples_gz(tmp_path / "added.gz")) == expected[1] != []
    assert list(read_ntriples_gz(tmp_path / "removed.gz")) == expected[2] != []


def test_the_streaming_diff_counts_every_entity_but_lists_a_few(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tierslieux.exports import diff as diff_module

    old = case_lines("third_place")
    release(old, tmp_path / "out")
    moved = sorted({line.replace(BASE, "https://elsewhere.example/") for line in old})
    write_run(tmp_path, "run", [moved])
    full = _diff(RunSet(tmp_path, ["run"]), tmp_path / "out")[0]
    assert full.entities_counts is None and len(full.entities_added) > 2
    monkeypatch.setattr(diff_module, "REPORT_LIST_LIMIT", 2)
    cut = _diff(RunSet(tmp_path, ["run"]), tmp_path / "out")[0]
    assert cut.entities_added == full.entities_added[:2]
    assert cut.count("added") == len(full.entities_added)
    assert cut.count("removed") == len(full.entities_removed)
    assert (cut.triples_added, cut.triples_removed) == (full.triples_added, full.triples_removed)
