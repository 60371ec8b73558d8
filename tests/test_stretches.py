"""The stretches of whole subjects a merged triple-order file is shared out in
(tierslieux/pipeline/stretches.py): together they are the file, in order, and no subject is cut.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tierslieux.pipeline.runs import TripleOrder, triple_key
from tierslieux.pipeline.stretches import boundary, stretch_bounds

BASE = "https://w3id.org/tierslieux/movilab/"


def merged(tmp_path: Path, lines: list[str]) -> TripleOrder:
    """A merged triple-order file of ``lines``, as the build keeps it."""
    path = tmp_path / "merged.triples"
    path.write_text("".join(sorted(triple_key(line) + "\n" for line in set(lines))),
                    encoding="utf-8")
    return TripleOrder([path], keep=path)


def lines_of(subjects: int, big: int = -1) -> list[str]:
    """A few statements per subject (one with accents), subject ``big`` with 500."""
    out = []
    for i in range(subjects):
        for j in range(500 if i == big else 1 + i % 4):
            out.append(f'<{BASE}place/P{i}> <{BASE}p{j}> "Été {i} {j}"@fr .')
    return out


@pytest.mark.parametrize("subjects,big", [(1, -1), (2, 0), (40, -1), (40, 17), (40, 39)])
@pytest.mark.parametrize("parts", [1, 2, 3, 5, 64])
def test_the_stretches_are_the_file_in_order_with_whole_subjects(
        tmp_path: Path, subjects: int, big: int, parts: int) -> None:
    ordered = merged(tmp_path, lines_of(subjects, big))
    whole = list(ordered)
    stretches = [list(ordered.part(k, parts)) for k in range(parts)]
    assert [t for part in stretches for t in part] == whole
    owners: dict[str, set[int]] = {}
    for k, part in enumerate(stretches):
        for subject, _, _ in part:
            owners.setdefault(subject, set()).add(k)
    assert all(len(found) == 1 for found in owners.values()), owners
    assert len(owners) == subjects
    # a stretch is read again the same (the site reads it once, but it is re-iterable)
    assert list(ordered.part(parts - 1, parts)) == stretches[-1]
    if parts == 2 and subjects == 40 and big == -1:  # nearly equal halves
        assert abs(len(stretches[0]) - len(stretches[1])) < len(whole) // 4


def test_a_boundary_moves_to_the_end_of_the_subject_it_falls_in(tmp_path: Path) -> None:
    ordered = merged(tmp_path, lines_of(3, big=1))
    data = ordered.keep.read_bytes()
    first = data.index(f"<{BASE}place/P1\x01".encode())
    after = data.index(f"<{BASE}place/P2\x01".encode())
    assert boundary(data, first + 1000) == after
    assert boundary(data, first) == after  # a subject's first byte: it stays behind
    assert boundary(data, 0) == 0 and boundary(data, len(data) + 5) == len(data)
    assert stretch_bounds(ordered.keep, 0, 1) == (0, len(data))


def test_no_stretch_before_the_merge(tmp_path: Path) -> None:
    assert TripleOrder([tmp_path / "run.triples.gz"], keep=tmp_path / "absent").part(0, 2) \
        is None
