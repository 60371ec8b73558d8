"""The kept selection (pipeline/keptselect.py): the lines of a few predicates of a rebuild's
release, from the last build's and the kept merge's changes, are those a byte search of the
whole merged file finds (``SortedLines.triples_with``), and the search is not made again."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pytest
from test_label_state import merged_runs

from tierslieux.model.lines import SortedLines
from tierslieux.pipeline import keptmerge, keptselect
from tierslieux.pipeline.labels import LABEL, NAME, fold_labels, fold_lines

I = "https://w3id.org/tierslieux/id/"
T = "https://w3id.org/tierslieux/ontology#"
LINKS = {f"{T}describes", f"{T}memberOf"}


@pytest.fixture(autouse=True)
def always_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kept merge is updated whatever share of the runs changed (the runs are small)."""
    monkeypatch.setattr(keptmerge, "WHOLE_FROM", 1.0)


@pytest.fixture
def searches(monkeypatch: pytest.MonkeyPatch) -> list[frozenset[str]]:
    """The byte searches of the merged lines made (the predicates of each)."""
    calls: list[frozenset[str]] = []
    search = SortedLines.triples_with

    def counting(self, predicates):  # type: ignore[no-untyped-def]
        calls.append(frozenset(predicates))
        return search(self, predicates)

    monkeypatch.setattr(SortedLines, "triples_with", counting)
    return calls


def page(n: int, *extra: str) -> list[str]:
    return [f'<{I}thing{n}> <{LABEL}> "Chose {n}" .', f'<{I}thing{n}> <{NAME}> "Chose {n}" .',
            f"<{I}page{n}> <{T}describes> <{I}thing{n}> .",
            f"<{I}thing{n}> <{T}memberOf> <{I}net{n % 3}> .", *extra]


def build(folder: Path, runs: dict[str, list[str]], predicates: set[str],
          fold: bool = True) -> list[tuple[str, str, str]]:
    """What a build's release answers for ``predicates`` after its merge and label fold (one
    page a run, its result in a cache beside ``folder``, so that the kept merge updates)."""
    merged = merged_runs(folder, runs)
    if fold:
        fold_labels(merged)
    try:
        return by_predicate(merged.triples_with(predicates))
    finally:
        merged.forget_merged()


def by_predicate(triples: Iterable[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """Triples grouped by predicate, each predicate's in the order given (``triples_with``
    keeps the line order of each predicate's triples, not their order across predicates)."""
    return sorted(triples, key=lambda triple: triple[1])


def expected(runs: dict[str, list[str]], predicates: set[str]) -> list[tuple[str, str, str]]:
    lines, _ = fold_lines([line for lines in runs.values() for line in lines])
    return by_predicate((s[1:-1], p[1:-1], rest[:-2]) for s, p, rest in
                        (line.split(" ", 2) for line in lines) if p[1:-1] in predicates)


def first(folder: Path) -> dict[str, list[str]]:
    runs = {f"p{n}": page(n) for n in range(8)}
    assert build(folder, runs, LINKS) == expected(runs, LINKS)
    return runs


def changed(runs: dict[str, list[str]], name: str, lines: list[str]) -> dict[str, list[str]]:
    """``runs`` with the page of run ``name`` changed to ``lines`` (a new run name: the runs
    are named by their pages' results)."""
    return {**{n: ls for n, ls in runs.items() if n != name}, name + "'": lines}


CHANGES = {
    "a link added": lambda runs: changed(runs, "p1", page(1, f"<{I}thing1> <{T}memberOf> "
                                                          f"<{I}x> .")),
    "a link removed": lambda runs: changed(runs, "p2", page(2)[:3]),
    "a page gone": lambda runs: {n: ls for n, ls in runs.items() if n != "p3"},
    "a page come": lambda runs: {**runs, "p9": page(9)},
    "only labels changed": lambda runs: changed(runs, "p4", [line.replace("Chose", "Truc")
                                                             for line in page(4)]),
    "nothing changed": dict,
}


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_a_rebuild_selects_from_the_kept_selection(tmp_path: Path, case: str,
                                                   searches: list[frozenset[str]]) -> None:
    runs = first(tmp_path)
    assert searches == [frozenset(LINKS)]
    runs = CHANGES[case](runs)
    assert build(tmp_path, runs, LINKS) == expected(runs, LINKS)
    assert searches == [frozenset(LINKS)]  # no search of the merged lines again
    again = changed(runs, "p6", page(6, f"<{I}thing6> <{T}describes> <{I}y> ."))
    assert build(tmp_path, again, LINKS) == expected(again, LINKS)  # twice in a row
    assert searches == [frozenset(LINKS)]


def test_another_set_of_predicates_is_searched_again(tmp_path: Path,
                                                     searches: list[frozenset[str]]) -> None:
    runs = first(tmp_path)
    fewer = {f"{T}describes"}
    assert build(tmp_path, runs, fewer) == expected(runs, fewer)
    assert searches == [frozenset(LINKS), frozenset(fewer)]


def test_a_predicate_the_label_fold_rewrites_is_searched_in_the_folded_file(
        tmp_path: Path, searches: list[frozenset[str]]) -> None:
    """The fold rewrites the merged files (labels.py): the kept merge then no longer holds
    the release's lines of the predicates it changed, so those are searched in the build's
    folded file, every time."""
    runs = first(tmp_path)
    runs = changed(runs, "p5", page(5) + [f'<{I}thing5> <{LABEL}> "chose 5" .'])  # folded
    wanted = LINKS | {LABEL}
    got = build(tmp_path, runs, wanted)
    assert got == expected(runs, wanted)
    assert (f"{I}thing5", LABEL, '"chose 5"') not in got  # folded away
    assert searches[-1] == frozenset(wanted)
    assert build(tmp_path, runs, wanted) == expected(runs, wanted)
    assert searches[-1] == frozenset(wanted) and len(searches) == 3


def test_a_whole_merge_in_between_is_searched_again(
        tmp_path: Path, searches: list[frozenset[str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    runs = first(tmp_path)
    monkeypatch.setattr(keptmerge, "WHOLE_FROM", 0.0)  # every update too big: merged whole
    runs = CHANGES["a link added"](runs)
    assert build(tmp_path, runs, LINKS) == expected(runs, LINKS)
    assert len(searches) == 2


@pytest.mark.parametrize("damage", ["truncated", "garbage head", "a line removed",
                                    "a line doubled", "another version"])
def test_a_damaged_selection_is_searched_again(tmp_path: Path, damage: str,
                                               searches: list[frozenset[str]]) -> None:
    runs = first(tmp_path)
    path = tmp_path / keptselect.NAME
    head, *lines = path.read_text(encoding="utf-8").split("\n")
    text = {"truncated": path.read_text(encoding="utf-8")[:-5],
            "garbage head": "{not json\n" + "\n".join(lines),
            "a line removed": "\n".join([head, *lines[1:]]),
            "a line doubled": "\n".join([head, lines[0], *lines]),
            "another version": "\n".join([head.replace('"version": "', '"version": "0'),
                                          *lines])}[damage]
    path.write_text(text, encoding="utf-8")
    runs = CHANGES["a link removed"](runs)
    assert build(tmp_path, runs, LINKS) == expected(runs, LINKS)
    assert len(searches) == 2
