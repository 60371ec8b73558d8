"""The store lock, with real processes: a second run is refused, a killed run's lock is taken over."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tierslieux.errors import LockedError
from tierslieux.runner.lock import acquire_lock, lock_path

HOLDER = """
import sys, time
from tierslieux.runner.lock import acquire_lock
with acquire_lock(sys.argv[1], command="tierslieux run --test") as lock:
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
print("released", flush=True)
"""


def start_holder(store: Path, seconds: float = 60) -> subprocess.Popen:
    """A separate Python process that takes the lock and sleeps; returns once it holds it."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(store), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if line != "locked\n":
        stop(proc)
        pytest.fail(f"holder process did not take the lock: {line!r}")
    return proc


def stop(proc: subprocess.Popen) -> int:
    """Kill a process if still running, reap it, close its pipes; its exit status."""
    if proc.poll() is None:
        proc.kill()
    status = proc.wait()
    for pipe in (proc.stdin, proc.stdout):
        if pipe:
            pipe.close()
    return status


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "data" / "movilab.sqlite"


def test_lock_file_sits_beside_the_store(store: Path) -> None:
    assert lock_path(store) == store.parent / "movilab.sqlite.lock"


def test_second_process_is_refused_while_the_first_runs(store: Path) -> None:
    holder = start_holder(store)
    try:
        with pytest.raises(LockedError) as err:
            acquire_lock(store)
        message = str(err.value)
        assert f"pid {holder.pid} on {socket.gethostname()}" in message
        assert "(tierslieux run --test)" in message
        recorded = json.loads(lock_path(store).read_text())
        assert recorded["pid"] == holder.pid
        assert f"started {recorded['started']}" in message
        assert "\n" not in message
        assert err.value.exit_code == 7
    finally:
        stop(holder)


def test_a_second_acquire_in_the_same_process_is_refused_too(store: Path) -> None:
    with acquire_lock(store, command="first") as lock:
        assert lock.held and not lock.took_over_stale
        with pytest.raises(LockedError, match=rf"pid {os.getpid()} .*\(first\)"):
            acquire_lock(store)
    assert not lock.held


def test_clean_release_removes_the_file_and_frees_the_lock(store: Path) -> None:
    holder = start_holder(store, seconds=0.2)
    assert holder.stdout.read() == "released\n"
    assert stop(holder) == 0
    assert not lock_path(store).exists()
    with acquire_lock(store) as lock:
        assert not lock.took_over_stale and lock.stale is None
        assert json.loads(lock_path(store).read_text())["pid"] == os.getpid()
    assert not lock_path(store).exists()


def test_lock_of_a_killed_run_is_taken_over(store: Path) -> None:
    holder = start_holder(store)
    holder.send_signal(signal.SIGKILL)
    assert stop(holder) == -signal.SIGKILL
    assert lock_path(store).exists()  # the killed run could not clean up
    with acquire_lock(store, command="next run") as lock:
        assert lock.took_over_stale
        assert lock.stale.pid == holder.pid
        assert lock.stale.command == "tierslieux run --test"
        assert lock.stale.is_running() is False
        recorded = json.loads(lock_path(store).read_text())
        assert (recorded["pid"], recorded["command"]) == (os.getpid(), "next run")


def test_many_processes_race_for_one_lock(store: Path) -> None:
    """Of many processes started at once, exactly one gets the lock."""
    racer = """
import sys
from tierslieux.errors import LockedError
from tierslieux.runner.lock import acquire_lock
try:
    with acquire_lock(sys.argv[1]):
        print("won", flush=True)
        sys.stdin.read()  # hold the lock until the test has heard from every racer
except LockedError:
    print("locked", flush=True)
"""
    procs = [subprocess.Popen([sys.executable, "-c", racer, str(store)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True) for _ in range(8)]
    try:
        outputs = [p.stdout.readline().strip() for p in procs]
    finally:
        for p in procs:
            p.stdin.close()
        for p in procs:
            p.wait(timeout=60)
            p.stdout.close()
    assert outputs.count("won") == 1, outputs
    assert outputs.count("locked") == 7, outputs
    assert not lock_path(store).exists()


def test_a_forked_child_does_not_keep_the_lock(tmp_path):
    """Build workers are forked: when the run is killed, they must not keep the store locked."""
    import signal as _signal

    code = (
        "import os, sys, time\n"
        "from tierslieux.runner.lock import acquire_lock\n"
        f"lock = acquire_lock({str(tmp_path / 'store.sqlite')!r})\n"
        "ready, tell = os.pipe()\n"
        "child = os.fork()\n"
        "if child == 0:\n"  # its after-fork handlers have run once fork() returns here
        "    os.write(tell, b'.'); time.sleep(60); os._exit(0)\n"
        "os.read(ready, 1)\n"
        "print(child, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    child = int(parent.stdout.readline())
    try:
        parent.send_signal(_signal.SIGKILL)
        parent.wait()
        os.kill(child, 0)                      # the forked child is still alive...
        with acquire_lock(tmp_path / "store.sqlite") as lock:   # ...and holds no lock
            assert lock.took_over_stale
    finally:
        os.kill(child, _signal.SIGKILL)
        parent.stdout.close()
