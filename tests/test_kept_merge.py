"""The kept merge (pipeline/keptmerge.py): a merge updated from the last build's and the changed
pages is the same bytes as a merge of every run."""

from __future__ import annotations

import json
import random
import sqlite3
from pathlib import Path

import pytest

from tierslieux.pipeline import keptmerge
from tierslieux.pipeline.cache import BuildCache, PageResult, pack_issues, pack_lines
from tierslieux.pipeline.runs import (
    _merge_bytes,
    read_multi,
    run_files,
    run_id,
    run_paths,
    triple_key_bytes,
    write_run,
)


@pytest.fixture(autouse=True)
def always_update(monkeypatch: pytest.MonkeyPatch) -> None:
    """The update is tried whatever share of the lines changed (these wikis are small: the
    default share would send most cases to the whole merge; see test_the_share_...)."""
    monkeypatch.setattr(keptmerge, "WHOLE_FROM", float("inf"))


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


class Wiki:
    """A page cache and its runs of ``per_run`` pages, as a build keeps them."""

    def __init__(self, folder: Path, per_run: int = 3) -> None:
        self.cache = BuildCache(folder / "store.sqlite", "v")
        self.folder = self.cache.run_dir
        self.per_run = per_run
        self.pages: dict[int, list[str]] = {}
        self.digests: dict[int, str] = {}
        self.edits = 0

    def set(self, page_id: int, lines: list[str]) -> None:
        """Store a new result of the page (a new digest even when the lines are the same)."""
        self.edits += 1
        lines = sorted(set(lines))
        self.pages[page_id] = lines
        self.digests[page_id] = f"d{page_id}-{self.edits}"
        self.cache.put([PageResult(page_id, self.digests[page_id], len(lines),
                                   pack_lines(lines), pack_issues([]), "[]")])

    def delete(self, page_id: int) -> None:
        del self.pages[page_id], self.digests[page_id]
        self.cache.forget(set(self.pages))

    def runs(self) -> list[tuple[str, list[int]]]:
        ids = sorted(self.pages)
        return [(run_id("v", (f"{p}:{self.digests[p]}" for p in chunk)), chunk)
                for chunk in (ids[i:i + self.per_run] for i in range(0, len(ids), self.per_run))]

    def write_runs(self) -> None:
        for name, chunk in self.runs():
            if not all(p.is_file() for p in run_files(self.folder, name)):
                write_run(self.folder, name, [self.pages[p] for p in chunk])

    def merge(self, *, runs: bool = True, forget_gone: bool = True) -> list[int]:
        """Merge the kept way in both orders, as a build does, and compare with the sorted
        union of the pages' lines and with a whole merge of the runs; the line counts."""
        if runs:
            self.write_runs()
        names = [name for name, _ in self.runs()]
        counts = []
        for order in ("lines", "triples"):
            out = self.folder / f"merged.{order}"
            count = keptmerge.merge(self.folder, names, order, out, self.digests,
                                    self.cache.path)
            assert out.read_bytes() == expected(self.pages, order)
            assert count == len(set().union(*self.pages.values()))
            assert read_multi(keptmerge.kept_paths(self.folder, order)[1]) == \
                expected_multi(self.pages, order)
            counts.append(count)
        if forget_gone:
            self.cache.forget_gone()
        self.write_runs()
        for order in ("lines", "triples"):
            assert expected(self.pages, order) == full(self.folder, names, order)
        return counts

    def made(self) -> list[str]:
        return [json.loads(keptmerge.kept_paths(self.folder, order)[2].read_text())["made"]
                for order in ("lines", "triples")]


def _in_order(lines: list[str], order: str) -> list[bytes]:
    raw = [x.encode("utf-8") for x in lines]
    return sorted(raw if order == "lines" else map(triple_key_bytes, raw))


def expected(pages: dict[int, list[str]], order: str) -> bytes:
    return b"".join(x + b"\n" for x in _in_order(sorted(set().union(*pages.values())), order))


def expected_multi(pages: dict[int, list[str]], order: str) -> dict[bytes, int]:
    from collections import Counter

    counts = Counter(x for lines in pages.values() for x in _in_order(lines, order))
    return {x: n for x, n in counts.items() if n > 1}


def full(folder: Path, names: list[str], order: str) -> bytes:
    out = folder / f"full-{order}"
    _merge_bytes([run_paths(folder, n)[0 if order == "lines" else 1] for n in names], out)
    return out.read_bytes()


@pytest.fixture
def wiki(tmp_path: Path) -> Wiki:
    made = Wiki(tmp_path)
    yield made
    made.cache.close()


def test_pages_sharing_lines_change(wiki: Wiki, wholes: list[int]) -> None:
    for i in range(12):
        wiki.set(i, [line(n) for n in range(i * 40, i * 40 + 60)])  # 20 lines shared
    wiki.set(12, [line(n) for n in range(0, 480, 3)])  # lines other pages have too
    wiki.merge()
    assert wiki.made() == ["whole", "whole"]
    # a page leaves: its lines shared with a kept page stay, the others go
    wiki.delete(4)
    wiki.merge()
    # a page whose lines only it held changes, and a new page comes
    wiki.set(2, [line(n, "t") for n in range(50)] + [line(7)])
    wiki.set(40, [line(n) for n in range(200, 230)] + [line(9, "u")])
    wiki.merge()
    # the page that left comes back, with its old lines
    wiki.set(4, [line(n) for n in range(160, 220)])
    wiki.merge()
    assert wiki.made() == ["kept", "kept"]
    assert len(wholes) == 2  # the first merge only, in both orders


def test_the_share_of_changed_lines_decides_the_way(wiki: Wiki, wholes: list[int],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """With the default share, a rebuild whose changed pages hold few of the lines updates the
    kept merge, however big their runs; one whose changed pages hold more merges every run."""
    monkeypatch.setattr(keptmerge, "WHOLE_FROM", 0.25)
    wiki.per_run = 100  # one run: any change is in a run holding all the lines
    for i in range(20):
        wiki.set(i, [line(n, "a") for n in range(i * 30, i * 30 + 30)])
    wiki.set(20, [line(n, "b") for n in range(2000)])
    wiki.merge()
    wiki.set(3, wiki.pages[3] + [line(5000, "c")])
    wiki.merge()
    assert wiki.made() == ["kept", "kept"]
    wiki.set(20, wiki.pages[20] + [line(5001, "c")])
    wiki.merge()
    assert wiki.made() == ["whole", "whole"]
    assert len(wholes) == 4  # the first merge and the big change, in both orders


def test_a_line_only_in_removed_pages_goes(wiki: Wiki) -> None:
    wiki.set(1, [line(1), line(2)])
    wiki.set(2, [line(2), line(3)])
    wiki.set(3, [line(2), line(4)])
    wiki.merge()
    wiki.delete(1)
    wiki.delete(2)  # line(2) was in three pages, line(1) and line(3) in one
    wiki.merge()
    assert (wiki.folder / "merged.lines").read_text().splitlines() == sorted([line(2), line(4)])
    wiki.delete(3)
    wiki.set(5, [line(2)])
    wiki.merge()
    wiki.set(1, [line(1), line(2)])
    wiki.set(2, [line(2), line(3)])
    wiki.merge()
    assert wiki.made() == ["kept", "kept"]


def test_lines_that_move_between_pages(wiki: Wiki, wholes: list[int]) -> None:
    """A line that leaves a page for another (in another run) counts -1 and +1: it stays;
    the changes file lists what the update added and removed, in triple order."""
    wiki.set(1, [line(1), line(2), line(3)])
    wiki.set(2, [line(4)])
    wiki.set(9, [line(5)])
    wiki.merge()
    wiki.set(1, [line(1), line(2)])
    wiki.set(9, [line(5), line(3), line(6)])
    wiki.delete(2)
    wiki.merge()
    assert wiki.made() == ["kept", "kept"] and len(wholes) == 2
    changes = keptmerge.changes_path(wiki.folder, "triples").read_bytes().splitlines()
    assert changes[0].startswith(b"= ")
    assert changes[1:] == sorted(
        [b"+ " + triple_key_bytes(line(6).encode()), b"- " + triple_key_bytes(line(4).encode())],
        key=lambda row: row[2:])


def test_a_changed_page_like_a_rebuild(wiki: Wiki, wholes: list[int]) -> None:
    """Four successive rebuilds of a few changed, added and deleted pages."""
    rng = random.Random(7)
    for i in range(40):
        wiki.set(i, [line(rng.randrange(3000), rng.choice("abc")) for _ in range(50)])
    wiki.merge()
    for step in range(4):
        victim = rng.choice(sorted(wiki.pages))
        changed = wiki.pages[victim][:] + [line(rng.randrange(9000), "z") for _ in range(5)]
        del changed[rng.randrange(len(changed))]
        wiki.set(victim, changed)
        wiki.delete(rng.choice(sorted(set(wiki.pages) - {victim})))
        wiki.set(100 + step, rng.sample(sorted(set().union(*wiki.pages.values())), 10))
        wiki.merge(runs=step % 2 == 0)
        assert wiki.made() == ["kept", "kept"], step
    assert wholes == [14, 14]


def test_all_pages_changed_and_empty_pages(wiki: Wiki) -> None:
    wiki.set(1, [line(1)])
    wiki.set(2, [line(2)])
    wiki.merge()
    wiki.delete(1)
    wiki.delete(2)
    wiki.set(3, [])
    wiki.set(4, [line(9), line(1)])
    wiki.merge()  # every page changed
    wiki.delete(4)
    wiki.merge()  # only an empty page
    wiki.set(1, [line(1)])
    wiki.set(4, [line(9), line(1)])
    wiki.merge()
    assert wiki.made() == ["kept", "kept"]


@pytest.mark.parametrize("damage", ["truncate", "edit", "state", "multi", "result gone",
                                    "old state"])
def test_a_damaged_or_stale_kept_merge_is_not_used(wiki: Wiki, damage: str,
                                                  wholes: list[int]) -> None:
    for i in range(8):
        wiki.set(i, [line(n) for n in range(i * 10, i * 10 + 30)])
    wiki.merge()
    merged, multi, state = keptmerge.kept_paths(wiki.folder, "lines")
    if damage == "truncate":
        merged.write_bytes(merged.read_bytes()[:-40])
    elif damage == "edit":  # same size, not the file the state recorded
        data = merged.read_bytes()
        merged.write_bytes(data[:10] + b"Z" + data[11:])
    elif damage == "state":
        state.write_text("{not json")
    elif damage == "multi":
        multi.write_bytes(b"")
    elif damage == "old state":  # as the build before the page-level merge recorded it
        data = json.loads(state.read_text())
        del data["pages"]
        state.write_text(json.dumps(data))
    wiki.set(3, [line(n) for n in range(30, 60)])
    wiki.set(9, [line(5, "q")])
    if damage == "result gone":  # page 3's old result left the cache
        wiki.cache.forget_gone()
    wiki.merge()
    if damage == "result gone":  # both orders need it
        assert wiki.made() == ["whole", "whole"] and len(wholes) == 4
    else:
        assert wiki.made() == ["whole", "kept"]
        assert len(wholes) == 3  # "lines" merged whole again
        # the label fold reads the changes of an update, and finds none after a whole merge
        assert keptmerge.changes_path(wiki.folder, "triples").is_file()
    assert not keptmerge.changes_path(wiki.folder, "lines").exists()


def test_a_state_that_does_not_add_up_falls_back(wiki: Wiki, wholes: list[int]) -> None:
    """A state whose file stamps match but whose multiplicities were wrong (recorded by hand
    here) is noticed when a removed line is missing, and the runs are merged whole."""
    for i, n in enumerate([1, 3, 4, 5, 6]):
        wiki.set(i, [line(n)] + ([line(2)] if n == 1 else []))
    wiki.merge()
    merged, multi, state = keptmerge.kept_paths(wiki.folder, "lines")
    data = json.loads(state.read_text())
    multi.write_bytes(b"5 " + line(8).encode() + b"\n")  # a line the merge does not hold
    data["multi"] = [multi.stat().st_size, multi.stat().st_mtime_ns]
    state.write_text(json.dumps(data))
    wiki.set(2, [line(8)])
    wiki.merge()
    assert len(wholes) == 3  # "lines" merged whole again, "triples" from its kept merge


def test_a_whole_merge_without_its_runs_says_so(wiki: Wiki) -> None:
    """The build writes no run while the kept merge can be updated; when it cannot, the whole
    merge asks for the runs (RunsMissing) instead of merging what is there."""
    for i in range(6):
        wiki.set(i, [line(n) for n in range(i * 5, i * 5 + 8)])
    wiki.merge()
    assert keptmerge.updatable(wiki.folder)
    wiki.set(2, [line(99)])
    wiki.merge(runs=False)
    keptmerge.kept_paths(wiki.folder, "triples")[2].unlink()
    assert not keptmerge.updatable(wiki.folder)
    wiki.set(3, [line(98)])
    names = [name for name, _ in wiki.runs()]
    with pytest.raises(keptmerge.RunsMissing):
        keptmerge.merge(wiki.folder, names, "triples", wiki.folder / "out", wiki.digests,
                        wiki.cache.path)
    wiki.merge()
    assert wiki.made() == ["kept", "whole"]


def test_a_run_keeps_the_lines_several_of_its_pages_hold(tmp_path: Path) -> None:
    write_run(tmp_path, "r", [[line(1), line(2)], [line(2), line(3)], [line(2)], [line(3)]])
    assert read_multi(run_files(tmp_path, "r")[2]) == {line(2).encode(): 3,
                                                       line(3).encode(): 2}
    write_run(tmp_path, "s", [[line(1)], [line(2)]])
    assert run_files(tmp_path, "s")[2].read_bytes() == b""


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
    for name, lines in runs.items():
        write_run(tmp_path, name, [lines])
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
    """Changed, added and deleted pages, a page that shares lines with another, a build that
    stopped, a kept state naming a result the cache lost, over successive rebuilds: each is
    byte-identical to a build from an empty cache, and its merge was made from the kept one
    without the runs of the changed pages (or whole, from runs written then)."""
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

    def a_build_stops_in_its_merge() -> None:
        """A build stops after its pages are in the cache (killed in its merge): the next
        one finds the old result of the page in the cache's table ``gone``."""
        def stop(*args: object) -> None:
            raise RuntimeError("stopped")

        edit(store, "Page 9")
        with monkeypatch.context() as patch:
            patch.setattr(keptmerge, "merge", stop)
            with pytest.raises(RuntimeError):
                build(store, tmp_path / "cached", ONE)
        with sqlite3.connect(tmp_path / "store.sqlite.buildcache.sqlite") as db:
            assert db.execute("SELECT count(*) FROM gone").fetchone() == (1,)
        edit(store, "Page 10")

    def unknown_result() -> None:
        """The lines order's state names a page result the cache never had: its update
        fails, and its whole merge needs the runs the rebuilds did not write."""
        path = keptmerge.kept_paths(run_dir, "lines")[2]
        data = json.loads(path.read_text())
        data["pages"][next(iter(data["pages"]))] = "unknown"
        path.write_text(json.dumps(data))
        edit(store, "Page 5")

    steps = [
        lambda: (edit(store, "La Myne/2"), edit(store, "Page 3")),  # La Myne/2 shares its place
        lambda: (add(40, 41), delete("Page 7")),
        lambda: delete("La Myne/2"),  # the lines it shares with La Myne stay
        lambda: (edit(store, "Page 12", " Encore."), add(42)),
        a_build_stops_in_its_merge,
        unknown_result,
    ]
    for number, step in enumerate(steps):
        step()
        fresh = tmp_path / f"fresh{number}"
        shutil.copytree(tmp_path / "cached", fresh)  # the same previous release
        cached = build(store, tmp_path / "cached", ONE)
        made = [json.loads(keptmerge.kept_paths(run_dir, order)[2].read_text())["made"]
                for order in ("lines", "triples")]
        names = json.loads(keptmerge.kept_paths(run_dir, "triples")[2].read_text())["names"]
        written = [all(p.is_file() for p in run_files(run_dir, name)) for name in names]
        build(store, fresh, dataclasses.replace(ONE, cache=False))
        assert cached.pages_parsed <= 2
        assert different_files(tmp_path / "cached", fresh) == [], number
        if step is unknown_result:
            assert made == ["whole", "kept"] and all(written)
        else:
            # the runs of the changed pages were not written: the update does not read them
            assert made == ["kept", "kept"] and not all(written), number
        with sqlite3.connect(tmp_path / "store.sqlite.buildcache.sqlite") as db:
            assert db.execute("SELECT count(*) FROM gone").fetchone() == (0,)  # merged


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


def test_a_merge_of_more_runs_than_the_soft_limit_of_open_files(tmp_path: Path) -> None:
    """A merge opens every run at once (a wiki of 130,000 pages: a thousand runs), and raises
    the soft limit of open files of the process it runs in: a worker forked before the merge,
    here a process whose soft limit is 64, merges 150 runs."""
    import subprocess
    import sys

    names = [f"r{n:03d}" for n in range(150)]
    for n, name in enumerate(names):
        write_run(tmp_path, name, [[line(n), line(n + 1)]])
    script = (
        "import resource, sys\n"
        "soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))\n"
        "from tierslieux.pipeline.runs import materialize\n"
        "names = sys.argv[2].split(',')\n"
        "print(*(materialize(sys.argv[1], names, order) for order in ('lines', 'triples')))\n")
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path), ",".join(names)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["151", "151"]
    assert (keptmerge.kept_paths(tmp_path, "lines")[0].read_bytes()
            == full(tmp_path, names, "lines"))
