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
from tierslieux.validation import shacl_cache
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
        named = list(shacl_cache.key_groups(data, [ontology]))
        assert len(named) > 20 and len({digest for digest, _ in named}) == len(named)
        # whole subjects, in order, the ontology's put where they sort
        loaded = [pair for _, load in named for pair in load()]
        assert loaded == list(subject_groups(ordered))
        plain = check(ordered, unresolved)
        for run in ("first", "again"):
            cache = ShaclCache(tmp_path / "cache", variant)
            found = validate_triples(default_checker(), lambda: ordered, frozenset(unresolved),
                                     cache=cache,
                                     keyed=lambda: shacl_cache.key_groups(data, [ontology]))
            assert found == plain
            assert (cache.checked, cache.reused) == ((len(named), 0) if run == "first"
                                                     else (0, len(named)))
        assert variant == "sample" or not plain.conforms
