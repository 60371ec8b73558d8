"""The build's SHACL results kept per group of subjects (validation/shacl_cache.py).

Each report from the cache is compared with the report of the same check without it, on the
sample wiki, on broken variants of it and with other undecided ``sh:class`` pairs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tierslieux.model.lines import triple_order
from tierslieux.model.records import MappedPage
from tierslieux.validation import shacl_cache, shacl_groups
from tierslieux.validation.shacl import default_checker, ontology_lines
from tierslieux.validation.shacl_cache import ShaclCache
from tierslieux.validation.shacl_stream import validate_triples

TL = "https://w3id.org/tierslieux/ontology#"


@pytest.fixture(autouse=True)
def small_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shacl_cache, "GROUP_SUBJECTS", 4)  # many groups on the sample


def release_of(pages: list[list[str]]) -> tuple[list, set]:
    """The triples the build validates (the pages and the ontology) and the undecided pairs."""
    checker = default_checker()
    everything = set(ontology_lines())
    unresolved = set(checker.local_class_failures(ontology_lines()))
    for lines in pages:
        unresolved |= checker.local_class_failures(lines)
        everything.update(lines)
    return triple_order(sorted(everything)), unresolved


def check(ordered, unresolved, cache=None, severities=None):
    return validate_triples(default_checker(), lambda: ordered, frozenset(unresolved),
                            severities, cache=cache)


def broken(pages: list[list[str]]) -> list[list[str]]:
    """The sample less every tl:postalCode and the rdf:type of the pages' first sections."""
    out = []
    for lines in pages:
        kept = [line for line in lines if f"<{TL}postalCode>" not in line]
        typed = [line for line in kept if f"<{TL}Section>" in line]
        out.append([line for line in kept if line not in typed[:1]])
    return out


def test_a_report_from_the_cache_is_the_report_without_it(
        sample_mapped: dict[str, MappedPage], tmp_path: Path) -> None:
    pages = [list(m.triples) for m in sample_mapped.values()]
    ordered, unresolved = release_of(pages)
    cache = ShaclCache(tmp_path, "setup")
    plain = check(ordered, unresolved)
    assert check(ordered, unresolved, cache) == plain
    groups = cache.checked
    assert groups > 20 and cache.reused == 0
    again = ShaclCache(tmp_path, "setup")
    assert check(ordered, unresolved, again) == plain
    assert (again.checked, again.reused) == (0, groups)
    # a broken variant: the groups of the subjects changed are checked, the others reused
    ordered2, unresolved2 = release_of(broken(pages))
    expected = check(ordered2, unresolved2)
    assert expected != plain and not expected.conforms
    third = ShaclCache(tmp_path, "setup")
    assert check(ordered2, unresolved2, third) == expected
    assert third.checked > 0 and third.reused > 0
    # only violations: another setup, its own entries
    only = frozenset({"violation"})
    fourth = ShaclCache(tmp_path, "violations")
    assert check(ordered2, unresolved2, fourth, only) == check(ordered2, unresolved2,
                                                               severities=only)
    assert fourth.reused == 0


def test_a_group_that_asked_about_a_pair_now_undecided_is_checked_again(
        sample_mapped: dict[str, MappedPage], tmp_path: Path) -> None:
    pages = [list(m.triples) for m in sample_mapped.values()]
    ordered, unresolved = release_of(pages)
    cache = ShaclCache(tmp_path, "setup")
    check(ordered, unresolved, cache)
    asked = {(v, c) for path in tmp_path.glob("*.json")
             for v, c, answer in json.loads(path.read_text())["asked"] if answer is True}
    assert asked
    # an untyped value makes these pairs undecided: the end of the stream decides them
    changed = set(unresolved) | set(sorted(asked)[:5])
    again = ShaclCache(tmp_path, "setup")
    assert check(ordered, changed, again) == check(ordered, changed)
    assert 0 < again.checked < cache.checked


def test_a_damaged_entry_is_checked_again_and_old_ones_are_pruned(
        sample_mapped: dict[str, MappedPage], tmp_path: Path) -> None:
    pages = [list(m.triples) for m in sample_mapped.values()]
    ordered, unresolved = release_of(pages)
    check(ordered, unresolved, ShaclCache(tmp_path, "setup"))
    entries = sorted(tmp_path.glob("*.json"))
    entries[0].write_text("{broken", encoding="utf-8")
    again = ShaclCache(tmp_path, "setup")
    assert check(ordered, unresolved, again) == check(ordered, unresolved)
    assert again.checked == 1
    # entries used by neither of the last two checks go
    ordered2, unresolved2 = release_of(broken(pages))
    check(ordered2, unresolved2, ShaclCache(tmp_path, "setup"))
    check(ordered2, unresolved2, ShaclCache(tmp_path, "setup"))
    assert set(tmp_path.glob("*.json")) < set(entries) | set(tmp_path.glob("*.json"))
    assert not all(path.is_file() for path in entries)


def key_files(pages: list[list[str]], folder: Path) -> tuple[Path, Path]:
    """The build's input of the check: the pages' triple keys, sorted (the merged file), and
    the ontology's (a gzip run)."""
    import gzip

    from tierslieux.pipeline.runs import triple_key

    folder.mkdir(parents=True, exist_ok=True)
    data, ontology = folder / "merged.triples", folder / "ontology.triples.gz"
    keys = sorted({triple_key(line) for lines in pages for line in lines})
    data.write_text("".join(f"{k}\n" for k in keys), encoding="utf-8")
    with gzip.open(ontology, "wt", encoding="utf-8") as out:
        out.write("".join(f"{k}\n" for k in sorted(set(map(triple_key, ontology_lines())))))
    return data, ontology


def test_groups_cut_from_the_bytes_hold_the_same_subjects_and_give_the_same_report(
        sample_mapped: dict[str, MappedPage], tmp_path: Path) -> None:
    from tierslieux.model.lines import subject_groups

    pages = [list(m.triples) for m in sample_mapped.values()]
    for variant, lines in (("sample", pages), ("broken", broken(pages))):
        ordered, unresolved = release_of(lines)
        data, ontology = key_files(lines, tmp_path / variant)
        named = list(shacl_groups.key_groups(data, [ontology]))
        assert len(named) > 20 and len({digest for digest, _ in named}) == len(named)
        # whole subjects, in order, the ontology's put where they sort
        loaded = [pair for _, load in named for pair in load()]
        assert loaded == list(subject_groups(ordered))
        plain = check(ordered, unresolved)
        for run in ("first", "again"):
            cache = ShaclCache(tmp_path / "cache", variant)
            found = validate_triples(default_checker(), lambda: ordered, frozenset(unresolved),
                                     cache=cache,
                                     keyed=lambda: shacl_groups.key_groups(data, [ontology]))
            assert found == plain
            assert (cache.checked, cache.reused) == ((len(named), 0) if run == "first"
                                                     else (0, len(named)))
        assert variant == "sample" or not plain.conforms


def _groups(data: Path, ontology: Path, kept: Path | None = None) -> list[tuple[str, list]]:
    return [(digest, load()) for digest, load in shacl_groups.key_groups(data, [ontology], kept)]


@pytest.fixture
def cuts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The groups cut subject by subject (not recognised from a kept cut)."""
    calls: list[int] = []
    cut = shacl_groups._Cutter.cut

    def counting(self, at):  # type: ignore[no-untyped-def]
        calls.append(at)
        return cut(self, at)

    monkeypatch.setattr(shacl_groups._Cutter, "cut", counting)
    return calls


def test_the_kept_cut_of_the_groups_finds_the_same_groups(
        sample_mapped: dict[str, MappedPage], tmp_path: Path, cuts: list[int]) -> None:
    """A rebuild recognises the unchanged groups by their bytes (shacl_groups.py) and cuts
    only those around a change: the same groups, digests and triples as a cut from scratch."""
    pages = [list(m.triples) for m in sample_mapped.values()]
    data, ontology = key_files(pages, tmp_path / "a")
    kept = tmp_path / shacl_groups.KEPT_FILE
    whole = _groups(data, ontology)
    everything = len(cuts)
    assert everything == len(whole) > 20
    assert _groups(data, ontology, kept) == whole and kept.is_file()
    assert _groups(data, ontology, kept) == whole
    assert len(cuts) == 2 * everything  # the second pass with the kept cut cut nothing
    changed = [lines if n != len(pages) // 2 else lines[: len(lines) // 2]
               for n, lines in enumerate(pages)]
    changed.append([f"<https://w3id.org/tierslieux/id/zz-new> <{TL}name> \"Nouveau\" ."])
    data2, _ = key_files(changed, tmp_path / "b")
    before = len(cuts)
    assert _groups(data2, ontology, kept) == _groups(data2, ontology)
    assert 0 < len(cuts) - before - everything < everything / 4  # only around the changes


@pytest.mark.parametrize("lie", ["lengths", "shifted", "damaged"])
def test_a_kept_cut_of_the_groups_that_lies_costs_time_not_results(
        sample_mapped: dict[str, MappedPage], tmp_path: Path, lie: str) -> None:
    pages = [list(m.triples) for m in sample_mapped.values()]
    data, ontology = key_files(pages, tmp_path / "a")
    kept = tmp_path / shacl_groups.KEPT_FILE
    whole = _groups(data, ontology, kept)
    made = shacl_groups.load_kept(kept)
    assert made
    if lie == "damaged":
        kept.write_text(kept.read_text(encoding="utf-8").replace('"k', '"j', 1)[:-10])
    else:
        firsts = list(made)
        wrong = {first: ((size * 2, sha) if lie == "lengths" else made[firsts[n - 1]])
                 for n, (first, (size, sha)) in enumerate(made.items())}
        shacl_groups.save_kept(kept, wrong)
    assert _groups(data, ontology, kept) == whole
    assert shacl_groups.load_kept(kept) == made  # and the true cut is kept again


def test_a_kept_group_is_not_taken_when_the_subject_after_it_no_longer_starts_one(
        sample_mapped: dict[str, MappedPage], tmp_path: Path) -> None:
    """A new subject that starts no group, right after a kept group: the same bytes, but the
    group now goes on past them (its range is not taken)."""
    pages = [list(m.triples) for m in sample_mapped.values()]
    data, ontology = key_files(pages, tmp_path / "a")
    kept = tmp_path / shacl_groups.KEPT_FILE
    whole = _groups(data, ontology, kept)
    firsts = [first.decode() for first in shacl_groups.load_kept(kept)]
    last, following = whole[1][1][-1][0], firsts[2]
    new = next(f"{last}-x{n}" for n in range(100)
               if shacl_groups._hash_bytes(f"{last}-x{n}".encode())
               % shacl_cache.GROUP_SUBJECTS
               and f"<{last}-x{n}\x01" < f"<{following}\x01")
    data2, _ = key_files(pages + [[f'<{new}> <{TL}name> "Nouveau" .']], tmp_path / "b")
    assert _groups(data2, ontology, kept) == _groups(data2, ontology)


def test_a_kept_group_is_not_taken_when_its_last_subject_goes_on_past_it(
        sample_mapped: dict[str, MappedPage], tmp_path: Path) -> None:
    """A line added at the end of a one-subject group's subject (which starts the group):
    the same bytes from there, then the same subject, whose lines stay in one group."""
    pages = [list(m.triples) for m in sample_mapped.values()]
    data, ontology = key_files(pages, tmp_path / "a")
    kept = tmp_path / shacl_groups.KEPT_FILE
    whole = _groups(data, ontology, kept)
    single = next(pairs[0][0] for _, pairs in whole[1:-1] if len(pairs) == 1)
    data2, _ = key_files(pages + [[f'<{single}> <{TL}zzz> "Plus" .']], tmp_path / "b")
    assert _groups(data2, ontology, kept) == _groups(data2, ontology)


def test_the_cut_of_the_groups_gives_the_pages_read_past_back(
        sample_mapped: dict[str, MappedPage], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The mapped file of triple keys does not stay resident behind the cut (it made a worker's
    peak 1.5x higher at 8,000 pages): its pages are given back as the groups are cut, with
    and without a kept cut, and the groups are the same."""
    import mmap

    from test_keptcut import released_ranges

    if not hasattr(mmap, "MADV_DONTNEED"):
        pytest.skip("no madvise(MADV_DONTNEED) on this system")
    pages = [list(m.triples) for m in sample_mapped.values()]
    data, ontology = key_files(pages, tmp_path / "a")
    kept = tmp_path / shacl_groups.KEPT_FILE
    whole = _groups(data, ontology)
    given = released_ranges(monkeypatch)
    for _ in ("cut subject by subject", "recognised from the kept cut"):
        given.clear()
        assert _groups(data, ontology, kept) == whole
        assert len(given) > 10 and given[-1][1] > data.stat().st_size // 2
        assert all(start % mmap.PAGESIZE == 0 and end > start for start, end in given)
