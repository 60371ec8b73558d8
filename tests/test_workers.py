"""Worker processes that behave (tierslieux/workers.py): Ctrl-C, a killed build, a failing task.

Real processes throughout: a build runs in a child Python of its own session, which the test
interrupts or kills the way a terminal or an operator would, then looks at what is left in /proc.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_build_cache import extra_page

from tierslieux.pipeline.harvest import harvest_dump
from tierslieux.pipeline.store import Store
from tierslieux.workers import InlineExecutor, process_pool

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="reads /proc; PR_SET_PDEATHSIG is Linux's")

#: A two-worker build of the store in argv[1] into argv[2]. Each page costs 20 ms more, so that
#: the parallel phase lasts a few seconds (a worker says so if a Ctrl-C reaches it there);
#: every progress call prints the pages done, the total and the pids of the worker processes.
BUILD = """
import multiprocessing, signal, sys, time
from tierslieux.runner import pages
from tierslieux.runner.build import BuildOptions, build

map_one = pages._map_one

def slow_map_one(mapper, page):
    try:
        time.sleep(0.02)
    except KeyboardInterrupt:
        print("worker interrupted", file=sys.stderr, flush=True)
        raise
    return map_one(mapper, page)

def progress(done, total):
    pids = [child.pid for child in multiprocessing.active_children()]
    print("progress", done, total, *pids, flush=True)

signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
pages._map_one = slow_map_one
build(sys.argv[1], sys.argv[2], BuildOptions(workers=2, cache=False),
      progress=progress)
print("built", flush=True)
"""

PAGES = 200


@pytest.fixture(scope="module")
def big_store(tmp_path_factory: pytest.TempPathFactory, sample_xml: Path) -> Path:
    """The sample wiki plus enough pages for a parallel build that lasts."""
    path = tmp_path_factory.mktemp("workers") / "store.sqlite"
    with Store(path) as opened:
        harvest_dump(sample_xml, opened)
        opened.upsert([extra_page(n) for n in range(PAGES)])
    return path


def stat(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (state, ppid, pgrp, ...)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2:].split()


def group(pgid: int) -> list[tuple[int, str]]:
    """(pid, state) of every process of a process group, zombies included."""
    members = []
    for entry in Path("/proc").iterdir():
        fields = stat(int(entry.name)) if entry.name.isdigit() else None
        if fields is not None and int(fields[2]) == pgid:
            members.append((int(entry.name), fields[0]))
    return members


def running(pid: int) -> bool:
    fields = stat(pid)
    return fields is not None and fields[0] != "Z"


def start_build(store: Path, out: Path) -> tuple[subprocess.Popen, int, list[int]]:
    """The build, in a session of its own, once it has parsed its first pages: the process,
    the number of pages to build and the worker pids it printed."""
    child = subprocess.Popen([sys.executable, "-c", BUILD, str(store), str(out)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    line = child.stdout.readline().split()
    assert line[:1] == ["progress"], (line, child.communicate(timeout=60))
    done, total, *workers = map(int, line[1:])
    assert 0 < done < total
    return child, total, workers


def kill_group(child: subprocess.Popen) -> None:
    """Leave nothing behind, whatever the test found."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait(timeout=30)
    for stream in (child.stdout, child.stderr):
        stream.close()


def test_ctrl_c_during_the_parallel_build_stops_every_process(big_store: Path,
                                                             tmp_path: Path) -> None:
    child, total, workers = start_build(big_store, tmp_path / "out")
    try:
        assert len(workers) == 2 and all(int(stat(pid)[1]) == child.pid for pid in workers)
        started = time.monotonic()
        os.killpg(child.pid, signal.SIGINT)      # what Ctrl-C in a terminal does
        out, err = child.communicate(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        kill_group(child)
    assert child.returncode != 0 and "KeyboardInterrupt" in err, (child.returncode, err)
    assert "built" not in out
    assert all(int(line.split()[1]) < total for line in out.splitlines()), out  # while parsing
    assert "worker interrupted" not in err and "ForkProcess" not in err  # (nor died of it)
    assert elapsed < 10, elapsed
    assert group(child.pid) == []        # every worker was reaped before the build exited


def test_the_workers_of_a_killed_build_exit(big_store: Path, tmp_path: Path) -> None:
    child, _, workers = start_build(big_store, tmp_path / "out")
    try:
        assert len(workers) == 2 and all(running(pid) for pid in workers)
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
        deadline = time.monotonic() + 5
        while any(map(running, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        left = [pid for pid in workers if running(pid)]
    finally:
        kill_group(child)
    assert left == [], group(child.pid)


def test_a_failing_task_propagates_and_kills_the_busy_workers() -> None:
    started = time.monotonic()
    with pytest.raises(ZeroDivisionError), process_pool(2) as pool:
        sleeping = pool.submit(time.sleep, 60)
        failing = pool.submit(divmod, 1, 0)
        workers = multiprocessing.active_children()
        failing.result()
    assert time.monotonic() - started < 20    # the sleeping task was not waited for
    assert len(workers) == 2
    assert all(worker.exitcode is not None for worker in workers)
    assert multiprocessing.active_children() == []
    assert sleeping.done()


#: tasks whose results (4 MB each) take several writes through the pool's pipe: the with-block
#: raises while a worker is half-way through one, and the worker is killed there
HALF_SENT = """
import threading
from tierslieux.workers import process_pool

DATA = b"x" * (4 << 20)

def result():
    return DATA

try:
    with process_pool(2) as pool:
        futures = [pool.submit(result) for _ in range(200)]
        futures[2].result()
        raise RuntimeError("stop")
except RuntimeError:
    print(sorted(thread.name for thread in threading.enumerate()), flush=True)
"""


def test_a_worker_killed_half_way_through_a_result_does_not_hang_the_exit() -> None:
    done = subprocess.run([sys.executable, "-c", HALF_SENT], capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n")[0] == "['MainThread']"   # the pool's threads are gone


def test_a_normal_exit_waits_for_the_tasks_and_the_inline_executor_runs_at_once() -> None:
    with process_pool(2) as pool:
        futures = [pool.submit(divmod, n, 3) for n in range(10)]
        workers = multiprocessing.active_children()
    assert [f.result() for f in futures] == [divmod(n, 3) for n in range(10)]
    assert len(workers) == 2 and all(worker.exitcode == 0 for worker in workers)
    with InlineExecutor() as inline:
        assert inline.submit(os.getpid).result() == os.getpid()
        assert isinstance(inline.submit(divmod, 1, 0).exception(), ZeroDivisionError)
