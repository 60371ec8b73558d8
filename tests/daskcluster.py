"""A real Dask cluster on loopback for the tests: ``dask scheduler`` and ``dask worker``
started as a user would (free ports, one process and one thread per worker, each in a folder
of its own). Without Dask the tests skip, except under CI=true where they fail."""

from __future__ import annotations

import importlib.util
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

DASK = Path(sys.executable).with_name("dask")


def need_dask() -> None:
    if importlib.util.find_spec("distributed") is None or not DASK.exists():
        message = "Dask is not installed (pip install -e '.[test,cluster]')"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen]

    def client(self):
        from distributed import Client

        return Client(self.address, timeout=30, set_as_default=False)

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def start_cluster(folder: Path, workers: int = 2) -> Cluster:
    """``dask scheduler`` and ``workers`` × ``dask worker``, each in a folder of its own (the
    build must not depend on the workers' working folder)."""
    need_dask()
    folder.mkdir(parents=True, exist_ok=True)
    address = f"tcp://127.0.0.1:{free_port()}"

    def start(name: str, *args: str) -> subprocess.Popen:
        cwd = folder / name
        cwd.mkdir()
        with open(cwd / "log.txt", "wb") as log:  # the process has its own copy of it
            return subprocess.Popen([str(DASK), *args, "--no-dashboard"], cwd=cwd, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    scheduler = start("scheduler", "scheduler", "--host", "127.0.0.1", "--port",
                      address.rsplit(":", 1)[1])
    started = Cluster(address, scheduler, [])
    try:
        for index in range(workers):
            started.workers.append(start(f"worker{index}", "worker", address, "--host",
                                         "127.0.0.1", "--nworkers", "1", "--nthreads", "1"))
        with started.client() as client:
            client.wait_for_workers(workers, timeout=120)
    except BaseException:
        started.stop()
        raise
    return started
