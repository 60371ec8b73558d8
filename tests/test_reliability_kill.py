"""kill -9 at random points of ``harvest --dump`` and ``build`` (real subprocesses), then the
same command again: the store and the release must be byte-identical to those of a run that
was never interrupted, and ``exports/`` must always be a whole release (or absent).

A handful of trials in CI; ``TIERSLIEUX_KILL_TRIALS`` sets more (e.g. 30).
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from exportxml import Page, Rev, export
from tierslieux.validation.release import check_checksums

TRIALS = int(os.environ.get("TIERSLIEUX_KILL_TRIALS", "3"))
#: where to append what each trial did (JSON lines), for the README's figures
FIGURES = os.environ.get("TIERSLIEUX_RELIABILITY_FIGURES")


def record(**facts) -> None:
    if FIGURES:
        import json

        with open(FIGURES, "a", encoding="utf-8") as out:
            out.write(json.dumps(facts) + "\n")
TOOL = str(Path(sys.executable).parent / "tierslieux")
#: pages of the generated wiki: more than one store transaction of a dump import (500)
PAGES = 700


def wiki_pages() -> list[Page]:
    rnd = random.Random(17)
    pages = []
    for i in range(1, PAGES + 1):
        body = "\n".join(
            f"== Partie {j} ==\nTexte {rnd.random():.6f} de la page {i}.\n* élément {j}\n"
            f"* [[Page {rnd.randint(1, PAGES)}]]" for j in range(rnd.randint(1, 3)))
        pages.append(Page(i, f"Page {i}", [Rev(10_000 + i, body, user=f"U{i % 7}")]))
    return pages


def run(args: list[str], cwd: Path) -> int:
    return subprocess.run([TOOL, "-q", *args], cwd=cwd).returncode


def killed(args: list[str], cwd: Path, after: float) -> bool:
    """Start the command, SIGKILL it after ``after`` seconds; False if it ended first."""
    process = subprocess.Popen([TOOL, "-q", *args], cwd=cwd)
    try:
        process.wait(after)
        return False
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGKILL)
        process.wait()
        return True


def store_rows(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT page_id, namespace, title, key, rev_id, parent_id, timestamp, "
                          "sha1, contributor, text, contributors, alt_titles FROM page "
                          "ORDER BY page_id").fetchall()
    finally:
        db.close()


def release_bytes(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name != "report.json"}


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict:
    """An uninterrupted harvest and build, timed."""
    folder = tmp_path_factory.mktemp("reference")
    dump = folder / "wiki.xml"
    dump.write_text(export(wiki_pages()), encoding="utf-8")
    start = time.monotonic()
    assert run(["harvest", "--dump", str(dump), "--store", "s.sqlite"], folder) == 0
    harvest_s = time.monotonic() - start
    start = time.monotonic()
    assert run(["build", "--store", "s.sqlite", "--out", "exports"], folder) == 0
    build_s = time.monotonic() - start
    return {"folder": folder, "dump": dump, "harvest_s": harvest_s, "build_s": build_s,
            "rows": store_rows(folder / "s.sqlite"),
            "release": release_bytes(folder / "exports")}


@pytest.mark.parametrize("trial", range(TRIALS))
def test_harvest_killed_anywhere_resumes_to_the_same_store(reference, tmp_path, trial):
    rnd = random.Random(1000 + trial)
    args = ["harvest", "--dump", str(reference["dump"]), "--store", "s.sqlite"]
    kills = 0
    for _ in range(rnd.randint(1, 3)):
        kills += killed(args, tmp_path, rnd.uniform(0.1, 0.9) * reference["harvest_s"])
    assert run(args, tmp_path) == 0
    rows = store_rows(tmp_path / "s.sqlite")
    assert rows == reference["rows"]
    record(kind="harvest", kills=kills, pages=len(rows), expected=len(reference["rows"]))


@pytest.mark.parametrize("trial", range(TRIALS))
def test_build_killed_anywhere_leaves_a_whole_release_and_resumes_to_the_same_bytes(
        reference, tmp_path, trial):
    rnd = random.Random(2000 + trial)
    shutil.copyfile(reference["folder"] / "s.sqlite", tmp_path / "s.sqlite")
    args = ["build", "--store", "s.sqlite", "--out", "exports"]
    kills = 0
    for _ in range(rnd.randint(1, 2)):
        kills += killed(args, tmp_path, rnd.uniform(0.05, 0.9) * reference["build_s"])
        exports = tmp_path / "exports"
        if exports.exists():  # never half a release
            assert list(check_checksums(exports)) == []
    assert run(args, tmp_path) in (0, 3)
    assert release_bytes(tmp_path / "exports") == reference["release"]
    assert not list(tmp_path.glob(".exports.staging-*"))
    record(kind="build", kills=kills, files=len(reference["release"]))
