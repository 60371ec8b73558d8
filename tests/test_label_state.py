"""The kept label fold (pipeline/labelstate.py): a rebuild that decides again only for the
subjects its changed lines touch gives the bytes and the quality rows of the whole fold."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import pytest

from tierslieux.pipeline import keptmerge, labels, labelstate
from tierslieux.pipeline.cache import BuildCache, PageResult, pack_issues, pack_lines
from tierslieux.pipeline.labels import (
    ALT_LABEL,
    DERIVED_FROM,
    LABEL,
    NAME,
    OF_PAGE,
    OFFICIAL_NAME,
    TITLE,
    fold_labels,
    fold_lines,
)
from tierslieux.pipeline.runs import RunSet, materialize, run_paths, triple_key, write_run

I = "https://w3id.org/tierslieux/id/"


@pytest.fixture(autouse=True)
def always_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept merge is updated whatever share of the runs changed (the runs are small)."""
    monkeypatch.setattr(keptmerge, "WHOLE_FROM", 1.0)


@pytest.fixture
def whole_folds(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the folds made whole (a read of every watched statement)."""
    calls: list[int] = []
    whole = labels.plan_statements

    def counting(statements):  # type: ignore[no-untyped-def]
        calls.append(1)
        return whole(statements)

    monkeypatch.setattr(labels, "plan_statements", counting)
    return calls


def page(name: str, title: str, *statements: tuple[str, str, str]) -> list[str]:
    """The lines of a page: its revision, its title, and statements derived from it."""
    revision, iri = f"{I}rev/{name}", f"{I}page/{name}"
    out = [f"<{revision}> <{OF_PAGE}> <{iri}> .", f'<{iri}> <{TITLE}> "{title}" .']
    for subject, predicate, token in statements:
        out.append(f"<{I}{subject}> <{predicate}> {token} .")
        out.append(f"<{I}{subject}> <{DERIVED_FROM}> <{revision}> .")
    return out


def background(n: int) -> list[str]:
    """Pages whose subjects have one label each (most of a release)."""
    return page(f"bg{n}", f"Fond {n}", (f"thing{n}", LABEL, f'"Chose {n}"'),
                (f"thing{n}", NAME, f'"Chose {n}"'))


UNCHANGED = page("a", "Page A", ("ophelie", LABEL, '"Ophélie Deyrolle"'),
                 ("ophelie", NAME, '"Ophélie Deyrolle"'),
                 ("tilios", LABEL, '"tilios"@fr'), ("tilios", ALT_LABEL, '"Tilios"@fr'),
                 ("lyon", LABEL, '"Lyon"'))
BEFORE = page("b", "Page B", ("ophelie", LABEL, '"ophélie deyrolle"'),
              ("ophelie", NAME, '"ophélie deyrolle"'),
              ("cafe", LABEL, '"Le Café"'), ("cafe", LABEL, '"le cafe"'),
              ("lyon", LABEL, '"lyon"'))
#: what the changed page B becomes, case by case
AFTER = {
    "a label added beside an unchanged page's": BEFORE + page(
        "b", "Page B", ("tilios", LABEL, '"TILIOS"@fr'), ("tilios", NAME, '"Tilios"')),
    "a label removed: the subject folds no more": [
        line for line in BEFORE if '"ophélie deyrolle"' not in line],
    "a spelling removed: the other page's alone": [
        line for line in BEFORE if "cafe" not in line],
    "an official name arriving": BEFORE + page(
        "b", "Page B", ("lyon", OFFICIAL_NAME, '"lyon"')),
    "the page renamed": [line.replace('"Page B"', '"Page Bis"') for line in BEFORE],
    "a new page's subject": BEFORE + page("c", "Page C", ("new", LABEL, '"Nouveau"'),
                                          ("new", LABEL, '"nouveau"')),
    "nothing changed": list(BEFORE),
}


def merged_runs(folder: Path, runs: dict[str, list[str]]) -> RunSet:
    """The merge a build makes of the runs ``runs`` (one page each, its id from the run's
    name, its result in a page cache beside ``folder``, as a build keeps them, so that the
    kept merge is updated from the changed pages), not folded yet."""
    pages = {zlib.crc32(name.encode()): hashlib.sha256("\n".join(lines).encode()).hexdigest()
             for name, lines in runs.items()}
    with BuildCache(folder.with_name(folder.name + "-store.sqlite"), "v") as cache:
        known = cache.digests()
        cache.put([PageResult(page_id, digest, len(lines), pack_lines(sorted(set(lines))),
                              pack_issues([]), "[]")
                   for (name, lines), (page_id, digest) in zip(runs.items(), pages.items())
                   if known.get(page_id) != digest])
        cache.forget(set(pages))
        for name, lines in runs.items():
            if not run_paths(folder, name)[0].is_file():
                write_run(folder, name, [sorted(set(lines))])  # a page's lines are distinct
        merged = RunSet(folder, sorted(runs))
        merged.count = materialize(str(folder), merged.names, "lines", pages, str(cache.path))
        materialize(str(folder), merged.names, "triples", pages, str(cache.path))
        cache.forget_gone()
    return merged


def release(folder: Path, runs: dict[str, list[str]], tables_aside=None
            ) -> tuple[bytes, bytes, tuple]:
    """What the build makes of the runs ``runs`` (``merged_runs``): the folded merged files
    and the rows."""
    merged = merged_runs(folder, runs)
    rows = fold_labels(merged, tables_aside)
    lines_path, triples_path = merged.merged_paths()
    out = lines_path.read_bytes(), triples_path.read_bytes(), rows
    assert merged.count == out[0].count(b"\n")
    merged.forget_merged()
    return out


def expected(runs: dict[str, list[str]]) -> tuple[bytes, bytes, tuple]:
    lines, rows = fold_lines([line for lines in runs.values() for line in lines])
    return (("\n".join(lines) + "\n").encode(),
            ("\n".join(sorted(map(triple_key, lines))) + "\n").encode(), rows)


def first(folder: Path) -> dict[str, list[str]]:
    runs = {"a": UNCHANGED, "b": BEFORE}
    for n in range(6):
        runs[f"bg{n}"] = background(n)
    assert release(folder, runs) == expected(runs)
    return runs


@pytest.mark.parametrize("case", sorted(AFTER))
def test_a_rebuild_folds_as_the_whole_fold(tmp_path: Path, case: str,
                                           whole_folds: list[int]) -> None:
    runs = first(tmp_path)
    assert len(whole_folds) == 2  # the first build and its expectation (fold_lines)
    runs = {n: ls for n, ls in runs.items() if n != "b"} | {"b2": AFTER[case]}
    got = release(tmp_path, runs)
    assert len(whole_folds) == 2  # the rebuild decided from the kept fold
    assert got == expected(runs), case
    assert got[2]  # the rows name pages
    assert all(row.page_title for row in got[2])


def test_the_page_tables_made_aside_give_the_whole_fold(tmp_path: Path) -> None:
    """The build makes the fold's page tables in a worker beside the pass that decides
    (``tables_aside``): the same files, rows and kept fold as one pass, asked for once, when
    every subject is decided again and the fold is kept; a rebuild from the kept fold does
    not ask."""
    from concurrent.futures import Future

    asked: list[Path] = []

    def aside(path: Path) -> Future:
        asked.append(path)
        future: Future = Future()
        future.set_result(labels.file_page_tables(path))
        return future

    runs = {"a": UNCHANGED, "b": BEFORE} | {f"bg{n}": background(n) for n in range(6)}
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    assert release(one, runs) == release(two, runs, aside) == expected(runs)
    assert [(path.parent, path.suffix) for path in asked] == [(two, ".triples")]  # merged

    def kept_fold(folder: Path) -> dict:
        data = json.loads(labelstate._path(folder).read_text(encoding="utf-8"))
        return {key: data[key] for key in ("folds", "pages", "titles")}

    assert kept_fold(one) == kept_fold(two)
    assert kept_fold(two)["pages"] and kept_fold(two)["titles"] and kept_fold(two)["folds"]
    runs = {n: ls for n, ls in runs.items() if n != "b"} | {"b2": AFTER["the page renamed"]}
    assert release(two, runs, aside) == expected(runs)
    assert len(asked) == 1


def test_the_cases_change_the_rows(tmp_path: Path) -> None:
    """Each case changes the release or its rows (else it would test nothing)."""
    runs = first(tmp_path)
    before = expected(runs)
    for case, lines in AFTER.items():
        after = expected({n: ls for n, ls in runs.items() if n != "b"} | {"b2": lines})
        assert (after != before) == (case != "nothing changed"), case
    renamed = expected({n: ls for n, ls in runs.items() if n != "b"}
                       | {"b2": AFTER["the page renamed"]})[2]
    assert any("Page Bis" in row.message for row in renamed)


def test_successive_rebuilds(tmp_path: Path, whole_folds: list[int]) -> None:
    """Several changes in a row, each fold from the last."""
    runs = first(tmp_path)
    for number, case in enumerate(sorted(AFTER)):
        runs = {n: ls for n, ls in runs.items() if not n.startswith("b-")}
        runs[f"b-{number}"] = AFTER[case]
        runs.pop("b", None)
        assert release(tmp_path, runs) == expected(runs), case
    assert len(whole_folds) == 2 + len(AFTER)  # the first build and the expectations


@pytest.mark.parametrize("damage", ["no changes", "no state", "bad state", "stale state",
                                    "bad changes", "whole merge"])
def test_without_a_usable_state_the_fold_is_whole(tmp_path: Path, damage: str,
                                                  whole_folds: list[int],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    runs = first(tmp_path)
    state = tmp_path / labelstate.NAME
    changes = keptmerge.changes_path(tmp_path, "triples")
    if damage == "no state":
        state.unlink()
    elif damage == "bad state":
        state.write_text("{", encoding="utf-8")
    elif damage == "stale state":
        data = json.loads(state.read_text(encoding="utf-8"))
        data["kept"][1] -= 1
        state.write_text(json.dumps(data), encoding="utf-8")
    elif damage == "whole merge":
        monkeypatch.setattr(keptmerge, "WHOLE_FROM", 0.0)
    runs = {n: ls for n, ls in runs.items() if n != "b"} | {
        "b2": AFTER["a label added beside an unchanged page's"]}
    if damage in ("no changes", "bad changes"):
        real = keptmerge._update

        def damaging(*args, **kwargs):  # type: ignore[no-untyped-def]
            count = real(*args, **kwargs)
            if damage == "no changes":
                changes.unlink()
            else:
                with open(changes, "ab") as out:
                    out.write(b"? nothing\n")
            return count

        monkeypatch.setattr(keptmerge, "_update", damaging)
    got = release(tmp_path, runs)
    assert len(whole_folds) == 3  # the first build and its expectation, the rebuild
    assert got == expected(runs)
    assert state.is_file()
    if damage == "whole merge":
        assert not changes.exists()


def test_rebuilds_of_a_wiki_fold_as_builds_from_an_empty_cache(
        tmp_path: Path, sample_xml: Path, whole_folds: list[int],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Through the build: a page's spelling changed, then the page renamed; each rebuild folds
    from the last build's fold and is byte-identical to a build from an empty cache."""
    import dataclasses
    import shutil

    from test_build_cache import different_files
    from test_names import PAGES, three_pages_store

    from tierslieux.pipeline import runs as runs_module
    from tierslieux.pipeline.store import Store
    from tierslieux.runner.build import BuildOptions, build

    monkeypatch.setattr(runs_module, "RUN_PAGES", 4)  # a dozen runs
    one = BuildOptions(workers=1)
    store = three_pages_store(tmp_path / "store.sqlite", sample_xml)
    build(store, tmp_path / "cached", one)

    def change(old: str, **fields: str) -> None:
        with Store(store, create=False) as opened:
            page = opened.get(opened.page_id_of(0, old))
            fields.setdefault("text", page.revision.text)
            assert opened.upsert([dataclasses.replace(
                page.revision, rev_id=page.revision.rev_id + 1, **fields)]).changed

    steps = [lambda: change("La Forge du Port", text=PAGES["La Forge du Port"].replace(
                 "Ophélie Deyrolle", "ophélie deyrolle")),
             lambda: change("Atelier des Pentes", title="Atelier des Pentes (Lyon)")]
    for number, step in enumerate(steps):
        step()
        fresh = tmp_path / f"fresh{number}"
        shutil.copytree(tmp_path / "cached", fresh)
        whole_folds.clear()
        build(store, tmp_path / "cached", one)
        assert whole_folds == [], number  # the fold was made from the kept one
        build(store, fresh, dataclasses.replace(one, cache=False))
        assert different_files(tmp_path / "cached", fresh) == [], number
    quality = (tmp_path / "cached" / "quality.csv").read_text(encoding="utf-8")
    assert "Atelier des Pentes (Lyon)" in quality
