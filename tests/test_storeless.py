"""A build straight from a multistream dump's partitions, no store (issue 19, runner/partitions.py).

It must publish the bytes ``harvest --dump`` + ``build`` publish of the same dump (the local
pool and a real Dask cluster on loopback); a rebuild from the next dump parses only the pages
that changed and publishes the bytes a full build of that dump publishes; bad input is one line
and a documented exit code.
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from daskcluster import start_cluster
from multistream import write_multistream
from tierslieux.cli import cli
from tierslieux.runner.build import BuildOptions
from tierslieux.model.records import PageRevision
from tierslieux.pipeline.dump import read_site_info
from tierslieux.pipeline.store import Store
from tierslieux.runner.partitions import Scan, _Replay, build_from_dump, check_state, \
    open_dump, scan
from tierslieux.runner.partscans import scan_setup

ROOT = Path(__file__).resolve().parent.parent
TIERSLIEUX = Path(sys.executable).with_name("tierslieux")


def _generate():
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    return generate


def write_export(pages, out: Path) -> Path:
    return _generate().write_pages(pages, out)


def invoke(*args: str) -> None:
    result = CliRunner().invoke(cli, ["-q", *args])
    assert result.exit_code in (0, 3), result.output  # 3: the generated pages' warnings


def release_bytes(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "report.json"}


def with_store(dump: Path, tmp_path: Path, name: str) -> Path:
    """``harvest --dump`` + ``build``: the release to compare with."""
    invoke("harvest", "--dump", str(dump), "--store", str(tmp_path / f"{name}.sqlite"))
    invoke("build", "--store", str(tmp_path / f"{name}.sqlite"), "--out",
           str(tmp_path / f"{name}-out"))
    return tmp_path / f"{name}-out"


def test_the_sample_built_from_its_partitions_is_the_store_build(sample_xml, tmp_path):
    dump, _ = write_multistream(sample_xml, tmp_path, pages_per_stream=5)
    expected = with_store(dump, tmp_path, "store")
    invoke("build", "--dump", str(dump), "--state", str(tmp_path / "state"), "--out",
           str(tmp_path / "out"), "--workers", "2")
    assert release_bytes(tmp_path / "out") == release_bytes(expected)
    # report.json too, but for the run's times (neither build harvested)
    ours, theirs = (json.loads((folder / "report.json").read_text())
                    for folder in (tmp_path / "out", expected))
    assert ours["pages"]["pages_built"] > 10
    for report in (ours, theirs):
        del report["run"]["started"], report["run"]["finished"]
    assert ours == theirs
    assert sorted(p.name for p in (tmp_path / "state").iterdir()) == [
        "pages.buildcache.d", "pages.buildcache.segments.d", "pages.buildcache.shacl.d",
        "pages.buildcache.sqlite", "pages.buildcache.tables.d", "scans.d", "state.runs.jsonl",
        "wiki.json"]
    # the same dump again: every page from the state, the same bytes
    again = build_from_dump(dump, tmp_path / "state", tmp_path / "again", BuildOptions(),
                            namespaces=(0,))
    assert again.pages_parsed == 0 and again.pages == ours["pages"]["pages_built"]
    assert release_bytes(tmp_path / "again") == release_bytes(expected)


def _two_dumps(tmp_path: Path):
    """Two dumps of a generated wiki of 150 pages, 20 a stream; the second with two pages edited,
    one deleted and one added."""
    gen = _generate()
    pages = list(gen.Wiki(150, 8).pages())
    first = write_export(pages, tmp_path / "first.xml")
    edited = {pages[30].page_id, pages[31].page_id}
    deleted = pages[100]
    top_rev = max(p.rev_id for p in pages)
    second_pages = [replace(p, rev_id=top_rev + i + 1, parent_id=p.rev_id,
                            text=p.text + "\n\nUne ligne de plus.",
                            timestamp="2026-11-30T10:00:00Z")
                    if p.page_id in edited else p
                    for i, p in enumerate(pages) if p.page_id != deleted.page_id]
    added = replace(pages[10], page_id=max(p.page_id for p in pages) + 1,
                    title=pages[10].title + " (bis)", rev_id=top_rev + 1000, parent_id=None)
    second = write_export(second_pages + [added], tmp_path / "second.xml")
    (tmp_path / "d1").mkdir()
    (tmp_path / "d2").mkdir()
    one, _ = write_multistream(first, tmp_path / "d1", pages_per_stream=20)
    two, _ = write_multistream(second, tmp_path / "d2", pages_per_stream=20)
    return one, two, deleted


def _partitions(dump: Path) -> dict[int, bytes]:
    """Offset -> compressed bytes of each partition of ``dump``."""
    _, parts = open_dump(dump, None)
    data = dump.read_bytes()
    return {start: data[start:end] for start, end in parts}


def _read_again(caplog) -> list[int]:
    """The partitions each build's scan decompressed, as it logged them."""
    return [int(record.getMessage().split()[1]) for record in caplog.records
            if record.getMessage().startswith("Scan: ")]


def test_a_rebuild_from_the_next_dump_parses_only_what_changed(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tierslieux")
    one, two, deleted = _two_dumps(tmp_path)
    state = tmp_path / "state"
    first = build_from_dump(one, state, tmp_path / "out1", BuildOptions(workers=2),
                            namespaces=(0,))
    assert first.pages_parsed == first.pages > 120
    second = build_from_dump(two, state, tmp_path / "out2", BuildOptions(workers=2),
                             namespaces=(0,))
    assert second.pages == first.pages          # one deleted, one added
    assert second.pages_parsed == 3             # two edited, one added
    # the scan decompressed only the partitions whose bytes the first dump did not have;
    # some of the others moved (an earlier stream grew), and were not read again either
    old, new = _partitions(one), _partitions(two)
    changed = [start for start, data in new.items() if data not in old.values()]
    moved = [start for start, data in new.items() if data in old.values() and old.get(start)
             != data]
    assert 0 < len(changed) < len(new) and moved
    assert _read_again(caplog) == [len(old), len(changed)]
    full = build_from_dump(two, tmp_path / "fresh", tmp_path / "full", BuildOptions(),
                           namespaces=(0,))
    assert full.pages_parsed == full.pages and _read_again(caplog)[-1] == len(new)
    assert release_bytes(tmp_path / "out2") == release_bytes(tmp_path / "full")
    assert release_bytes(tmp_path / "out2") == release_bytes(with_store(two, tmp_path, "two"))
    assert release_bytes(tmp_path / "out2") != release_bytes(tmp_path / "out1")
    # the deleted page left the release
    def titles(folder: Path) -> set[str]:
        with open(folder / "pages.csv", encoding="utf-8", newline="") as fh:
            return {cell for row in csv.reader(fh) for cell in row}
    assert deleted.title in titles(tmp_path / "out1")
    assert deleted.title not in titles(tmp_path / "out2")


def _entries(state: Path) -> list[Path]:
    return sorted((state / "scans.d").glob("*.json"))


def test_a_damaged_kept_scan_is_not_used(sample_xml, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="tierslieux")
    dump, _ = write_multistream(sample_xml, tmp_path, pages_per_stream=5)
    state = tmp_path / "state"
    check_state(state, read_site_info(dump))

    def scanned() -> Scan:
        shared, parts = open_dump(dump, None)
        shared = replace(shared, scans=str(state / "scans.d"), scan_setup=scan_setup(shared.root))
        return scan(dump, shared, parts, read_site_info(dump), None, "", 2)

    fresh = scanned()
    entries = [path for path in _entries(state)
               if json.loads(path.read_text())["items"][0][0] == "page"]
    kept = {path: path.read_bytes() for path in _entries(state)}
    assert _read_again(caplog) == [len(kept)] and len(entries) > 3
    assert scanned().rows == fresh.rows and _read_again(caplog)[-1] == 0
    # three entries damaged: cut short, a title changed (its digest no longer matches), a
    # page id turned into a string (with a digest that matches)
    entries[0].write_text(entries[0].read_text()[:-40])
    text = entries[1].read_text()
    title = json.loads(text)["items"][0][3]
    entries[1].write_text(text.replace(json.dumps(title, ensure_ascii=False),
                                       json.dumps(title + " (autre)", ensure_ascii=False), 1))
    assert entries[1].read_text() != text
    data = json.loads(entries[2].read_text())
    data["items"][0][1] = str(data["items"][0][1])
    data["sha256"] = hashlib.sha256(json.dumps(data["items"], ensure_ascii=False,
                                               separators=(",", ":")).encode()).hexdigest()
    entries[2].write_text(json.dumps(data))
    again = scanned()
    assert _read_again(caplog)[-1] == 3
    assert again.rows == fresh.rows and again.problems == fresh.problems
    assert {path: path.read_bytes() for path in _entries(state)} == kept  # made again
    assert scanned().rows == fresh.rows and _read_again(caplog)[-1] == 0


def test_a_build_from_the_partitions_on_a_dask_cluster(tmp_path):
    one, two, _ = _two_dumps(tmp_path)
    expected = with_store(one, tmp_path, "store")
    cluster = start_cluster(tmp_path / "cluster")
    try:
        runs = []
        for dump, out in ((one, "out1"), (two, "out2")):
            runs.append(subprocess.run(
                [str(TIERSLIEUX), "build", "--dump", str(dump), "--state",
                 str(tmp_path / "state"), "--out", str(tmp_path / out), "--cluster",
                 cluster.address], capture_output=True, text=True, timeout=600))
            assert runs[-1].returncode in (0, 3), runs[-1].stderr
    finally:
        cluster.stop()
    assert release_bytes(tmp_path / "out1") == release_bytes(expected)
    assert release_bytes(tmp_path / "out2") == release_bytes(with_store(two, tmp_path, "two"))
    # the pages were listed and parsed on the workers: the scan (every page), then the
    # pages of the first build, then only the three of the rebuild
    def parsed(stderr: str) -> list[int]:
        return [int(line.split(": ", 1)[1].split()[0]) for line in stderr.splitlines()
                if line.startswith("Dask worker tcp://")]
    first, second = (parsed(run.stderr) for run in runs)
    built = json.loads((tmp_path / "out1" / "report.json").read_text())["pages"]["pages_built"]
    assert built > 120
    assert sum(first) == 150 + built and sum(second) == 150 + 3, (runs[0].stderr,
                                                                   runs[1].stderr)


def _fails(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["build", *args])
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, \
        result.output
    return result.exit_code, result.output


def test_bad_input_is_one_line(sample_xml, tmp_path):
    dump, index = write_multistream(sample_xml, tmp_path, pages_per_stream=5)
    state = ["--state", str(tmp_path / "state"), "--out", str(tmp_path / "out")]
    # a plain export has no partitions
    code, output = _fails("--dump", str(sample_xml), *state)
    assert code == 1 and "not a multistream dump with its index" in output
    assert not (tmp_path / "state").exists()  # no new state folder left behind
    # an index that is not there
    code, output = _fails("--dump", str(dump), "--dump-index", str(tmp_path / "no.bz2"), *state)
    assert code == 6 and "no such file (--dump-index)" in output
    assert not (tmp_path / "state").exists()
    # a damaged stream of pages
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    bad, _ = write_multistream(sample_xml, damaged, pages_per_stream=5)
    data = bytearray(bad.read_bytes())
    data[-200] ^= 0xFF
    bad.write_bytes(bytes(data))
    code, output = _fails("--dump", str(bad), *state)
    assert code == 1 and "damaged dump" in output
    # a state folder of another wiki
    (tmp_path / "state").mkdir(exist_ok=True)  # the failed builds' lock and history
    (tmp_path / "state" / "wiki.json").write_text(json.dumps(
        {"article_path": "https://other.example/wiki/$1", "dbname": "other", "sitename": "O"}))
    code, output = _fails("--dump", str(dump), *state)
    assert code == 1 and "holds the build state of https://other.example/wiki/" in output
    # --dump without --state is a usage error
    result = CliRunner().invoke(cli, ["build", "--dump", str(dump)])
    assert result.exit_code == 2 and "need --state" in result.output


def test_config_says_what_the_build_reads(tmp_path):
    result = CliRunner().invoke(cli, ["config"])
    assert "# build reads: the store tierslieux.sqlite" in result.output
    (tmp_path / "tierslieux.toml").write_text('dump = "w.xml.bz2"\nstate = "st"\n')
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "tierslieux.toml"), "config"])
    assert result.exit_code == 0, result.output
    assert f"# build reads: the partitions of {tmp_path / 'w.xml.bz2'}, state in " \
           f"{tmp_path / 'st'}" in result.output



def test_the_replay_applies_the_store_s_upsert_rules(tmp_path):
    """Moves, a new page at a moved page's title, a title taken over, a revision id held by
    another page, older and same revisions: the replay holds what the store holds."""
    def rev(page_id, title, rev_id, *contributors):
        return PageRevision(page_id, 0, title, rev_id, None, "2026-01-01T00:00:00Z", None,
                            None, "", contributors=contributors)

    revisions = [rev(1, "A", 10, "u"), rev(2, "B", 20, "u"), rev(1, "C", 11, "v"),
                 rev(3, "A", 30), rev(4, "C", 40), rev(5, "D", 20), rev(2, "B", 20, "w"),
                 rev(2, "B", 19, "x"), rev(3, "E", 31), rev(3, "A", 32), rev(1, "F", 12)]
    replay = _Replay()
    for revision in revisions:
        replay.add(revision, (0, 0))
    with Store(tmp_path / "s.sqlite") as store:
        store.upsert(revisions)
        held = store.db.execute("SELECT page_id, key, title, rev_id, contributors, alt_titles "
                                "FROM page ORDER BY page_id").fetchall()
        problems = store.db.execute("SELECT title, field, original, kept, message FROM problem"
                                    ).fetchall()
    assert [(row.rev.page_id, row.key, row.rev.title, row.rev.rev_id,
             json.dumps(row.contributors), json.dumps(row.alt))
            for _, row in sorted(replay.live.items())] == held
    by_id = {row[0]: row for row in held}  # the rules were exercised:
    assert by_id[3][1:3] == ("A~3", "A") and by_id[3][5] == '["E"]'  # key taken, moves
    assert by_id[1][1:3] == ("F", "F") and by_id[4][1] == "C"  # 1 lost "C" to 4, came back
    assert json.loads(by_id[2][4]) == ["u", "w"]  # same revision, a new contributor
    assert [(i.page_title, i.field, i.original, i.kept, i.message)
            for i in replay.problems] == problems != []
