"""The kept merge (pipeline/keptmerge.py): a merge made from the last build's is the same bytes
as a merge of every run."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from tierslieux.pipeline import keptmerge
from tierslieux.pipeline.runs import _merge_bytes, run_paths, write_run


@pytest.fixture(autouse=True)
def always_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """The update is tried whatever share of the runs changed (these runs are small: the
    default share would send most cases to the whole merge; see test_the_share_...)."""
    monkeypatch.setattr(keptmerge, "WHOLE_FROM", 1.0)


@pytest.fixture
def wholes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the merges of every run the kept merge falls back to."""
    calls: list[int] = []
    whole = keptmerge.runs_module._merge_bytes

    def counting(paths, keep, block=None, multi=None):  # type: ignore[no-untyped-def]
        calls.append(len(paths))
        return whole(paths, keep, block, multi)

    monkeypatch.setattr(keptmerge.runs_module, "_merge_bytes", counting)
    return calls


def line(n: int, subject: str = "s") -> str:
    return f'<http://x.test/{subject}{n % 37}> <http://x.test/p{n % 5}> "v{n}"@fr .'


def write(folder: Path, runs: dict[str, list[str]]) -> None:
    for name, lines in runs.items():
        if not all(p.is_file() for p in run_paths(folder, name)):
            write_run(folder, name, [lines])


def full(folder: Path, names: list[str], order: str) -> bytes:
    index = 0 if order == "lines" else 1
    out = folder / f"full-{order}"
    _merge_bytes([run_paths(folder, n)[index] for n in names], out)
    return out.read_bytes()


def check(folder: Path, runs: dict[str, list[str]], names: list[str]) -> list[int]:
    """Merge ``names`` the kept way in both orders and compare with a whole merge; the
    line counts."""
    write(folder, runs)
    counts = []
    for order in ("lines", "triples"):
        out = folder / f"merged.{order}"
        count = keptmerge.merge(folder, names, order, out)
        expected = full(folder, names, order)
        assert out.read_bytes() == expected
        assert count == expected.count(b"\n")
        counts.append(count)
    return counts


def state_names(folder: Path) -> list[str]:
    return json.loads(keptmerge.kept_paths(folder, "lines")[2].read_text())["names"]


def test_removed_and_kept_runs_sharing_lines(tmp_path: Path, wholes: list[int]) -> None:
    runs = {f"r{i}": [line(n) for n in range(i * 40, i * 40 + 60)] for i in range(6)}
    runs["shared"] = [line(n) for n in range(0, 240, 3)]  # lines every other run has too
    names = sorted(runs)
    check(tmp_path, runs, names)
    assert keptmerge.kept_paths(tmp_path, "lines")[1].stat().st_size > 0  # multiplicities
    # a run leaves: its lines shared with a kept run stay, the others go
    check(tmp_path, runs, [n for n in names if n != "r2"])
    assert state_names(tmp_path) == [n for n in names if n != "r2"]
    # a run whose lines only it held leaves, and a new run comes
    runs["new"] = [line(n, "t") for n in range(50)] + [line(7)]
    check(tmp_path, runs, [n for n in names if n not in ("r2", "shared")] + ["new"])
    # the run that left comes back
    check(tmp_path, runs, sorted(runs))
    assert len(wholes) == 2  # the first merge only, in both orders


def test_the_share_of_changed_bytes_decides_the_way(tmp_path: Path, wholes: list[int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default share, a rebuild whose changed runs hold few of the bytes updates the
    kept merge; one whose changed runs (old and new) hold more merges every run again."""
    monkeypatch.setattr(keptmerge, "WHOLE_FROM", 0.25)
    small = {f"r{i}": [line(n, "a") for n in range(i * 30, i * 30 + 30)] for i in range(20)}
    big = {"big": [line(n, "b") for n in range(2000)]}
    runs = {**small, **big}
    names = sorted(runs)
    check(tmp_path, runs, names)
    runs["r3-new"] = runs["r3"] + [line(5000, "c")]
    names = sorted(set(names) - {"r3"} | {"r3-new"})
    check(tmp_path, runs, names)
    assert json.loads(keptmerge.kept_paths(tmp_path, "lines")[2].read_text())["made"] == "kept"
    runs["big-new"] = runs["big"] + [line(5001, "c")]
    names = sorted(set(names) - {"big"} | {"big-new"})
    check(tmp_path, runs, names)
    assert json.loads(keptmerge.kept_paths(tmp_path, "lines")[2].read_text())["made"] == "whole"
    assert len(wholes) == 4  # the first merge and the big change, in both orders


def test_a_line_only_in_removed_runs_goes(tmp_path: Path) -> None:
    runs = {"a": [line(1), line(2)], "b": [line(2), line(3)], "c": [line(2), line(4)]}
    check(tmp_path, runs, ["a", "b", "c"])
    check(tmp_path, runs, ["c"])  # line(2) was in three runs, line(1) and line(3) in one
    assert (tmp_path / "merged.lines").read_text().splitlines() == sorted([line(2), line(4)])
    check(tmp_path, runs, ["a", "b", "c"])


def test_a_changed_page_like_a_rebuild(tmp_path: Path, wholes: list[int]) -> None:
    """The run of a changed page is replaced by one with most of its lines."""
    rng = random.Random(7)
    base = {f"r{i}": sorted({line(rng.randrange(3000), rng.choice("abc"))
                             for _ in range(200)}) for i in range(20)}
    names = sorted(base)
    check(tmp_path, base, names)
    for step in range(5):
        victim = names[rng.randrange(len(names))]
        changed = base[victim][:] + [line(rng.randrange(9000), "z") for _ in range(5)]
        del changed[rng.randrange(len(changed))]
        name = f"{victim}-{step}"
        base[name] = changed
        names = sorted(set(names) - {victim} | {name})
        check(tmp_path, base, names)
        assert state_names(tmp_path) == names
    assert wholes == [20, 20]


def test_all_runs_changed_and_empty_runs(tmp_path: Path) -> None:
    runs = {"a": [line(1)], "b": [line(2)], "c": [], "d": [line(9), line(1)]}
    check(tmp_path, runs, ["a", "b"])
    check(tmp_path, runs, ["c", "d"])  # every run changed: a whole merge
    check(tmp_path, runs, ["c"])  # only an empty run
    check(tmp_path, runs, ["a", "c", "d"])


@pytest.mark.parametrize("damage", ["truncate", "edit", "state", "multi", "missing run"])
def test_a_damaged_or_stale_kept_merge_is_not_used(tmp_path: Path, damage: str,
                                                  wholes: list[int]) -> None:
    runs = {f"r{i}": [line(n) for n in range(i * 10, i * 10 + 30)] for i in range(8)}
    runs["new"] = [line(5, "q")]
    names = sorted(set(runs) - {"new"})
    check(tmp_path, runs, names)
    merged, multi, state = keptmerge.kept_paths(tmp_path, "lines")
    if damage == "truncate":
        merged.write_bytes(merged.read_bytes()[:-40])
    elif damage == "edit":  # same size, not the file the state recorded
        data = merged.read_bytes()
        merged.write_bytes(data[:10] + b"Z" + data[11:])
    elif damage == "state":
        state.write_text("{not json")
    elif damage == "multi":
        multi.write_bytes(b"")
    else:
        for path in run_paths(tmp_path, "r3"):
            path.unlink()
        runs.pop("r3")
        names.remove("r3")
        write(tmp_path, {"r3x": [line(n) for n in range(30, 60)]})
        runs["r3x"] = [line(n) for n in range(30, 60)]
        names.append("r3x")
    check(tmp_path, runs, names[1:] + ["new"])
    assert len(wholes) == (4 if damage == "missing run" else 3)  # "lines" merged whole again


def test_a_state_that_does_not_add_up_falls_back(tmp_path: Path, wholes: list[int]) -> None:
    """A state whose file stamps match but whose multiplicities were wrong (recorded by hand
    here) is noticed when a removed line is missing, and the runs are merged whole."""
    runs = {"a": [line(1), line(2)], "b": [line(3)], "c": [line(4)], "e": [line(5)],
            "f": [line(6)]}
    check(tmp_path, runs, ["a", "b", "c", "e", "f"])
    merged, multi, state = keptmerge.kept_paths(tmp_path, "lines")
    data = json.loads(state.read_text())
    multi.write_bytes(b"5 " + line(8).encode() + b"\n")  # a line the merge does not hold
    data["multi"] = [multi.stat().st_size, multi.stat().st_mtime_ns]
    state.write_text(json.dumps(data))
    runs["d"] = [line(8)]
    check(tmp_path, runs, ["a", "b", "d", "e", "f"])
    assert len(wholes) == 3  # "lines" merged whole again, "triples" from its kept merge


def test_find_gives_the_first_line_not_below(tmp_path: Path) -> None:
    data = b"b\nd\nf\n"
    assert [keptmerge.find(data, x) for x in (b"a", b"b", b"c", b"d", b"e", b"f", b"g")] \
        == [0, 0, 2, 2, 4, 4, 6]
    assert keptmerge.find(b"", b"a") == 0


def test_the_label_fold_of_the_merged_files_leaves_the_kept_merge_alone(tmp_path: Path) -> None:
    """The label fold (labels.py) rewrites the build's merged files, which are hard links to
    the kept merge, as new files: the kept merge stays the union of the runs, and the folded
    files are what ``fold_lines`` makes of the same lines."""
    from test_names import RELEASE

    from tierslieux.pipeline.labels import fold_labels, fold_lines
    from tierslieux.pipeline.runs import RunSet, materialize, triple_key

    other = [line(n) for n in range(30)]
    runs = {"a": RELEASE[:5] + other[:20], "b": RELEASE[3:] + other[10:]}
    write(tmp_path, runs)
    release = RunSet(tmp_path, ["a", "b"])
    counts = [materialize(str(tmp_path), release.names, order)
              for order in ("lines", "triples")]
    release.count = counts[0]
    kept = {order: keptmerge.kept_paths(tmp_path, order)[0].read_bytes()
            for order in ("lines", "triples")}
    rows = fold_labels(release)
    expected, expected_rows = fold_lines(RELEASE + other)
    lines_path, triples_path = release.merged_paths()
    assert lines_path.read_text(encoding="utf-8").splitlines() == expected
    assert triples_path.read_text(encoding="utf-8").splitlines() == sorted(
        map(triple_key, expected))
    assert rows == expected_rows and rows
    assert release.count == len(expected)
    for order in ("lines", "triples"):
        assert keptmerge.kept_paths(tmp_path, order)[0].read_bytes() == kept[order]
        assert kept[order] == full(tmp_path, ["a", "b"], order)


def test_successive_rebuilds_equal_builds_from_an_empty_cache(
        tmp_path: Path, sample_xml: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Changed, added and deleted pages, a page that shares lines with another, over several
    rebuilds: each is byte-identical to a build from an empty cache, and its merge was made
    from the kept one."""
    import dataclasses
    import shutil

    from test_build_cache import ONE, different_files, edit, extra_page

    from tierslieux.pipeline import runs as runs_module
    from tierslieux.pipeline.harvest import harvest_dump
    from tierslieux.pipeline.store import Store
    from tierslieux.runner.build import build

    monkeypatch.setattr(runs_module, "RUN_PAGES", 4)  # a dozen runs
    store = tmp_path / "store.sqlite"
    with Store(store) as opened:
        harvest_dump(sample_xml, opened)
        opened.upsert([extra_page(n) for n in range(30)])
    run_dir = tmp_path / "store.sqlite.buildcache.d"
    build(store, tmp_path / "cached", ONE)
    state = json.loads(keptmerge.kept_paths(run_dir, "lines")[2].read_text())
    assert state["made"] == "whole" and len(state["names"]) > 8

    def delete(title: str) -> None:
        with Store(store, create=False) as opened:
            opened.delete(opened.page_id_of(0, title))

    def add(*numbers: int) -> None:
        with Store(store, create=False) as opened:
            opened.upsert([extra_page(n) for n in numbers])

    steps = [
        lambda: (edit(store, "La Myne/2"), edit(store, "Page 3")),  # La Myne/2 shares its place
        lambda: (add(40, 41), delete("Page 7")),
        lambda: delete("La Myne/2"),  # the lines it shares with La Myne stay
        lambda: (edit(store, "Page 12", " Encore."), add(42)),
    ]
    for number, step in enumerate(steps):
        step()
        fresh = tmp_path / f"fresh{number}"
        shutil.copytree(tmp_path / "cached", fresh)  # the same previous release
        cached = build(store, tmp_path / "cached", ONE)
        made = [json.loads(keptmerge.kept_paths(run_dir, order)[2].read_text())["made"]
                for order in ("lines", "triples")]
        build(store, fresh, dataclasses.replace(ONE, cache=False))
        assert cached.pages_parsed <= 2
        assert made == ["kept", "kept"], number
        assert different_files(tmp_path / "cached", fresh) == [], number


def test_kept_property_types_follow_the_property_pages(tmp_path: Path) -> None:
    """The types the property pages declare are kept beside the store
    (``cache.kept_property_types``) and computed again when a property page changes."""
    from tierslieux.model.records import PageRevision
    from tierslieux.pipeline.cache import kept_property_types
    from tierslieux.pipeline.smw_types import PROPERTY_NAMESPACE, property_types
    from tierslieux.pipeline.store import Store
    from tierslieux.runner.build import _LISTING

    def prop(title: str, text: str, rev_id: int) -> PageRevision:
        return PageRevision(page_id=500 + len(title), namespace=PROPERTY_NAMESPACE,
                            title=f"Propriété:{title}", rev_id=rev_id, parent_id=None,
                            timestamp="2024-01-01T00:00:00Z", sha1=None, contributor="A",
                            text=text)

    path = tmp_path / "store.sqlite"
    calls: list[dict[str, str]] = []

    def kept(store: Store) -> dict[str, str]:
        def compute() -> dict[str, str]:
            calls.append(property_types(store))
            return calls[-1]
        return kept_property_types(path, store.db.execute(
            _LISTING + " WHERE namespace = ? ORDER BY key", (PROPERTY_NAMESPACE,)), compute)

    with Store(path) as store:
        store.upsert([prop("Nombre de participants", "[[A le type::Nombre]]", 1),
                      prop("A pour lieu", "Le lieu. [[Has type::Page]]", 2)])
        first = kept(store)
        assert first == property_types(store) and len(first) == 2 and len(calls) == 1
        assert kept(store) == first and len(calls) == 1  # from the kept file
        store.upsert([prop("A pour lieu", "Le lieu. [[Has type::Texte]]", 3)])
        changed = kept(store)
        assert len(calls) == 2 and changed == property_types(store) != first
    (tmp_path / "store.sqlite.buildcache.smwtypes.json").write_text("{broken")
    with Store(path) as store:
        assert kept(store) == changed and len(calls) == 3
