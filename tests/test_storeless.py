"""A build straight from a multistream dump's partitions, no store (issue 19, runner/partitions.py).

It must publish the bytes ``harvest --dump`` + ``build`` publish of the same dump (the local
pool and a real Dask cluster on loopback); a rebuild from the next dump parses only the pages
that changed and publishes the bytes a full build of that dump publishes; bad input is one line
and a documented exit code.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from click.testing import CliRunner

from daskcluster import start_cluster
from multistream import write_multistream
from tierslieux.cli import cli
from tierslieux.runner.build import BuildOptions
from tierslieux.runner.partitions import build_from_dump

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
    gen = _generate()
    with open(out, "w", encoding="utf-8", newline="\n") as stream:
        stream.write(gen.HEADER)
        stream.write(gen.SITEINFO)
        for page in pages:
            stream.write(gen.page_xml(page))
        stream.write("</mediawiki>\n")
    return out


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
        "pages.buildcache.sqlite", "pages.buildcache.tables.d", "state.runs.jsonl", "wiki.json"]
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


def test_a_rebuild_from_the_next_dump_parses_only_what_changed(tmp_path):
    one, two, deleted = _two_dumps(tmp_path)
    state = tmp_path / "state"
    first = build_from_dump(one, state, tmp_path / "out1", BuildOptions(workers=2),
                            namespaces=(0,))
    assert first.pages_parsed == first.pages > 120
    second = build_from_dump(two, state, tmp_path / "out2", BuildOptions(workers=2),
                             namespaces=(0,))
    assert second.pages == first.pages          # one deleted, one added
    assert second.pages_parsed == 3             # two edited, one added
    full = build_from_dump(two, tmp_path / "fresh", tmp_path / "full", BuildOptions(),
                           namespaces=(0,))
    assert full.pages_parsed == full.pages
    assert release_bytes(tmp_path / "out2") == release_bytes(tmp_path / "full")
    assert release_bytes(tmp_path / "out2") == release_bytes(with_store(two, tmp_path, "two"))
    assert release_bytes(tmp_path / "out2") != release_bytes(tmp_path / "out1")
    # the deleted page left the release
    def titles(folder: Path) -> set[str]:
        with open(folder / "pages.csv", encoding="utf-8", newline="") as fh:
            return {cell for row in csv.reader(fh) for cell in row}
    assert deleted.title in titles(tmp_path / "out1")
    assert deleted.title not in titles(tmp_path / "out2")


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
    # an index that is not there
    code, output = _fails("--dump", str(dump), "--dump-index", str(tmp_path / "no.bz2"), *state)
    assert code == 6 and "no such file (--dump-index)" in output
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

