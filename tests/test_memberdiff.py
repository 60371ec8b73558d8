"""The diff of the members of two dumps by set operations (exports/memberdiff.py).

Every case is compared with ``diff.merge_sorted`` over the same lines (the merge line by line
of the whole-dump diff): the added and removed lines in their order, the counts and the
entity lists, cut or not; each side's lines cut into members of whole subjects at other
places than the other side's.
"""

from __future__ import annotations

import random
from itertools import groupby

import pytest

from tierslieux.exports.diff import merge_sorted
from tierslieux.exports.memberdiff import Unsorted, diff_members

P = "<http://example.org/p>"
Q = "<http://example.org/q>"


def line(subject: str, predicate: str = P, value: str = "v") -> str:
    return f'<{subject}> {predicate} "{value}" .'


def members(lines: list[str], cuts: list[int]) -> list[list[bytes]]:
    """The sorted lines cut into members of whole subjects, after the subjects ``cuts``."""
    groups = [list(group) for _, group in groupby(sorted(lines), key=lambda x: x[: x.index("> ")])]
    out, start = [], 0
    for end in sorted(set(cuts)) + [len(groups)]:
        if end > start:
            out.append([x.encode() for group in groups[start:end] for x in group])
            start = end
    return out


def by_members(new: list[str], old: list[str], limit: int = 10_000,
               new_cuts: list[int] = (), old_cuts: list[int] = ()):
    added: list[str] = []
    removed: list[str] = []
    found = diff_members(members(new, list(new_cuts)), members(old, list(old_cuts)),
                         added.append, removed.append, limit)
    return found, added, removed


def assert_as_merge(new: list[str], old: list[str], limit: int = 10_000,
                    monkeypatch: pytest.MonkeyPatch | None = None, **cuts) -> None:
    found, added, removed = by_members(new, old, limit, **cuts)
    if monkeypatch is not None:
        from tierslieux.exports import diff as diff_module

        monkeypatch.setattr(diff_module, "REPORT_LIST_LIMIT", limit)
    diff, want_added, want_removed = merge_sorted(sorted(new), sorted(old), check_new=True)
    assert (added, removed) == (want_added, want_removed)
    assert (found.old_lines, found.triples_added, found.triples_removed) == (
        diff.previous_triples, diff.triples_added, diff.triples_removed)
    assert tuple(tuple(sorted(kind)) for kind in found.kept) == (
        diff.entities_added, diff.entities_removed, diff.entities_modified)
    assert found.totals == tuple(diff.count(kind) for kind in ("added", "removed", "modified"))


def test_added_removed_and_modified_subjects() -> None:
    old = [line("a"), line("a", Q), line("b"), line("c"), line("d", Q)]
    new = [line("a"), line("a", Q, "w"), line("c"), line("d"), line("d", Q), line("e")]
    found, added, removed = by_members(new, old)
    assert added == [line("a", Q, "w"), line("d"), line("e")]
    assert removed == [line("a", Q), line("b")]
    assert found.kept == (("e",), ("b",), ("a", "d"))
    assert found.totals == (1, 1, 2)
    assert_as_merge(new, old)


def test_a_subject_whose_lines_move_between_added_and_removed_is_modified() -> None:
    old = [line("s", P, "1"), line("s", Q, "2"), line("t")]
    new = [line("s", P, "2"), line("s", Q, "1"), line("t")]
    found, added, removed = by_members(new, old)
    assert found.kept == ((), (), ("s",)) and len(added) == len(removed) == 2
    assert_as_merge(new, old)


def test_entities_are_cut_in_the_order_of_their_prefixes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``<a-b> `` comes before ``<a> `` in line order, though ``a`` comes before ``a-b``."""
    subjects = ["a", "a-b", "a-b-c", "a/", "a0", "ab", "b"]
    new = [line(s) for s in subjects]
    found, _, _ = by_members(new, [], limit=2)
    assert found.kept[0] == ("a-b-c", "a-b")  # in line order ("-" < ">"), not sorted yet
    assert found.totals == (7, 0, 0)
    for limit in (1, 2, 3, 7, 8):
        assert_as_merge(new, [], limit, monkeypatch)
        assert_as_merge([], new, limit, monkeypatch)
        assert_as_merge(new[::2] + [line("a-b", Q)], new, limit, monkeypatch)


def test_empty_sides() -> None:
    some = [line("a"), line("b", Q)]
    for new, old in (([], []), (some, []), ([], some), (some, some)):
        assert_as_merge(new, old)
    found, added, removed = by_members([], some)
    assert (found.kept, added, removed) == (((), ("a", "b"), ()), [], sorted(some))
    # members without lines are skipped
    assert diff_members([[], [line("a").encode()], []], [[]], list().append,
                        list().append, 10).totals == (1, 0, 0)


@pytest.mark.parametrize("seed", range(40))
def test_as_the_merge_for_members_cut_anywhere(
        seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rand = random.Random(seed)
    names = [rand.choice(["x", "x-", "x-y", "x/", "y", "é", "z"]) + str(rand.randrange(30))
             for _ in range(rand.randrange(1, 60))]
    old = sorted({line(s, rand.choice([P, Q]), str(rand.randrange(4))) for s in names})
    new = sorted({x for x in old if rand.random() > 0.2}
                 | {line(rand.choice(names) + rand.choice(["", "n"]), P, str(rand.randrange(6)))
                    for _ in range(rand.randrange(20))})
    new_subjects = len({x[: x.index("> ")] for x in new})
    old_subjects = len({x[: x.index("> ")] for x in old})
    cuts = {"new_cuts": [rand.randrange(new_subjects + 1) for _ in range(rand.randrange(8))],
            "old_cuts": [rand.randrange(old_subjects + 1) for _ in range(rand.randrange(8))]}
    assert_as_merge(new, old, rand.choice([1, 3, 10_000]), monkeypatch, **cuts)


@pytest.mark.parametrize("side", ["new", "old"])
@pytest.mark.parametrize("case", ["out of order", "duplicate", "between members",
                                  "subject goes on", "not an IRI"])
def test_lines_that_are_not_sorted_whole_subjects_raise(side: str, case: str) -> None:
    good = [[line("a").encode(), line("b").encode()], [line("c").encode()]]
    bad = {
        "out of order": [[line("b").encode(), line("a").encode()]],
        "duplicate": [[line("a").encode(), line("a").encode()]],
        "between members": [[line("b").encode()], [line("a").encode()]],
        "subject goes on": [[line("a").encode()], [line("a", Q).encode()]],
        "not an IRI": [[b'_:b <http://example.org/p> "v" .', line("a").encode()]],
    }[case]
    sides = (bad, good) if side == "new" else (good, bad)
    with pytest.raises(Unsorted):
        diff_members(*sides, list().append, list().append, 10)


@pytest.mark.parametrize("where", ["first", "last", "both ends", "longer", "shorter"])
def test_changes_at_the_ends_of_a_member(where: str) -> None:
    """The lines both sides begin and end with are left out of the sets: not those that
    differ."""
    old = [line(f"s{index:02d}") for index in range(20)]
    new = {"first": [line("s00", Q)] + old[1:],
           "last": old[:-1] + [line("s19", Q)],
           "both ends": [line("r")] + old[1:-1] + [line("t")],
           "longer": old + [line("s20")],
           "shorter": old[:-1]}[where]
    found, added, removed = by_members(new, old)
    assert added == sorted(set(new) - set(old)) and removed == sorted(set(old) - set(new))
    assert_as_merge(new, old)
    assert_as_merge(old, new)
