"""The build's per-page work on a real Dask cluster (issue 19).

A scheduler and two workers are started as a user would start them (the ``dask scheduler`` and
``dask worker`` commands, on loopback, free ports, one process and one thread each, in folders
of their own); builds on it must publish the same bytes as the local pool (every file but
report.json, which holds the run's times), also when a worker is killed in the middle.
Without Dask the tests skip, except under CI=true where they fail.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from daskcluster import Cluster, free_port, need_dask, start_cluster
from tierslieux.cli import cli
from tierslieux.runner.build import BuildOptions, build

ROOT = Path(__file__).resolve().parent.parent
TIERSLIEUX = Path(sys.executable).with_name("tierslieux")
#: generated pages of the bigger builds (bench/generate.py)
GENERATED = 200


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Cluster:
    started = start_cluster(tmp_path_factory.mktemp("cluster"))
    yield started
    started.stop()


def release_bytes(folder: Path) -> dict[str, bytes]:
    """Every file of a release but report.json (it holds the run's times)."""
    return {str(path.relative_to(folder)): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file()
            and path.name != "report.json"}


def harvested(dump: Path, folder: Path) -> Path:
    store = folder / "harvested.sqlite"
    result = CliRunner().invoke(cli, ["-q", "harvest", "--dump", str(dump), "--store",
                                      str(store)])
    assert result.exit_code == 0, result.output
    return store


def fresh_store(store: Path, folder: Path) -> Path:
    """A copy of ``store`` without any build cache beside it (every page is parsed again)."""
    folder.mkdir(parents=True)
    copy = folder / "store.sqlite"
    shutil.copyfile(store, copy)
    return copy


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """A store of generated pages and its release built by the local pool."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    folder = tmp_path_factory.mktemp("generated")
    store = harvested(generate.write_export(GENERATED, folder / "wiki.xml"), folder)
    local = fresh_store(store, folder / "local")
    build(local, folder / "local" / "out", BuildOptions(workers=2))
    return store, release_bytes(folder / "local" / "out")


def test_sample_built_on_the_cluster_is_the_local_release(cluster, sample_xml, tmp_path):
    store = harvested(sample_xml, tmp_path)
    releases = {}
    for engine, extra in (("local", []), ("dask", ["--cluster", cluster.address])):
        copy = fresh_store(store, tmp_path / engine)
        done = subprocess.run([str(TIERSLIEUX), "build", "--store", str(copy), "--out",
                               str(tmp_path / engine / "out"), *extra],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        releases[engine] = release_bytes(tmp_path / engine / "out")
        if engine == "dask":
            assert f"Engine: dask {cluster.address} (2 worker threads)" in done.stderr
            # per-worker throughput at the end: the 16 pages were parsed on the workers
            lines = [line for line in done.stderr.splitlines()
                     if line.startswith("Dask worker tcp://")]
            counts = [int(line.split(": ", 1)[1].split()[0]) for line in lines]
            assert sum(counts) == 16, done.stderr
            # and the release's segments were rendered there: one cache entry each
            rendered = [int(line.split(" segments, ")[0].rsplit(" ", 1)[1]) for line in lines]
            entries = [p for p in Path(f"{copy}.buildcache.segments.d").iterdir()
                       if p.is_dir()]
            assert sum(rendered) == len(entries) >= 2, done.stderr
    assert releases["dask"] == releases["local"]
    assert "tierslieux.ttl" in releases["dask"] and len(releases["dask"]) > 10


def test_generated_pages_built_on_the_cluster_are_the_local_release(cluster, generated,
                                                                     tmp_path):
    store, local = generated
    copy = fresh_store(store, tmp_path / "dask")
    seen: list[tuple[int, int]] = []
    result = build(copy, tmp_path / "out", BuildOptions(workers=2, cluster=cluster.address),
                   progress=lambda done, total: seen.append((done, total)))
    assert result.pages_parsed == result.pages > 100
    assert release_bytes(tmp_path / "out") == local
    # progress over the cluster: pages done / total, up to every page
    assert seen[-1][0] == result.pages and all(b >= a for (a, _), (b, _) in zip(seen, seen[1:]))


def _kill_busiest(cluster: Cluster, client) -> str:
    """SIGKILL the worker (its nanny and its process) that has the most tasks running."""
    import psutil

    processing = client.processing()
    busiest = max(processing, key=lambda worker: len(processing[worker]))
    assert processing[busiest], processing  # it had tasks: they must be run again elsewhere
    pid = client.run(os.getpid, workers=[busiest])[busiest]
    nanny = psutil.Process(pid).ppid()
    victim = next(p for p in cluster.workers if p.pid in (pid, nanny))
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    return busiest


def test_a_worker_killed_in_the_middle_of_a_build_changes_nothing(generated, tmp_path):
    store, local = generated
    own = start_cluster(tmp_path / "cluster")
    killed: list[str] = []
    try:
        with own.client() as client:

            def progress(done: int, total: int) -> None:
                if done and not killed:  # the first results are in: the others are running
                    killed.append(_kill_busiest(own, client))

            copy = fresh_store(store, tmp_path / "dask")
            result = build(copy, tmp_path / "out",
                           BuildOptions(workers=2, cluster=own.address), progress=progress)
            assert killed and killed[0] not in client.nthreads()
            assert len(client.nthreads()) == 1
    finally:
        own.stop()
    assert result.pages_parsed == result.pages
    assert release_bytes(tmp_path / "out") == local


def test_ctrl_c_cancels_the_tasks_on_the_cluster(cluster, generated, tmp_path):
    store, _ = generated
    copy = fresh_store(store, tmp_path / "dask")
    with subprocess.Popen(
            [str(TIERSLIEUX), "--progress", "build", "--store", str(copy), "--out",
             str(tmp_path / "out"), "--cluster", cluster.address],
            stderr=subprocess.PIPE, text=True) as build_process:
        for line in build_process.stderr:
            if line.startswith("pages built: "):  # the first results are in
                break
        build_process.send_signal(signal.SIGINT)
        rest = build_process.stderr.read()
        assert build_process.wait(timeout=120) == 130, rest
    assert "Interrupted" in rest
    assert not (tmp_path / "out" / "tierslieux.ttl").exists()
    with cluster.client() as client:
        # the build's tasks are gone from the scheduler (the client cancelled them, then left)
        deadline = time.monotonic() + 60
        # (a lambda: the workers cannot import this test module, cloudpickle sends its code)
        tasks = lambda: client.run_on_scheduler(  # noqa: E731
            lambda dask_scheduler: len(dask_scheduler.tasks))
        while tasks() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert tasks() == 0


def test_an_unreachable_scheduler_is_one_line_and_exit_4(sample_run, tmp_path):
    need_dask()
    address = f"tcp://127.0.0.1:{free_port()}"  # nothing listens there
    done = subprocess.run([str(TIERSLIEUX), "build", "--store",
                           str(sample_run / "store.sqlite"), "--out", str(tmp_path / "out"),
                           "--cluster", address], capture_output=True, text=True, timeout=120)
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith(f"Error: no Dask scheduler answered at {address}")
    assert done.stderr.count("\n") == 1
    assert not (tmp_path / "out").exists()


def test_a_scheduler_address_that_is_not_one_is_a_config_error(tmp_path):
    (tmp_path / "tierslieux.toml").write_text('cluster = "localhost:8786"\n')
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "tierslieux.toml"), "config"])
    assert result.exit_code == 6
    assert "'cluster' must be a Dask scheduler address" in result.output


def test_config_shows_the_engine(tmp_path):
    result = CliRunner().invoke(cli, ["config"])
    assert result.exit_code == 0
    assert f"# engine: local ({os.cpu_count()} worker" in result.output
    (tmp_path / "tierslieux.toml").write_text('cluster = "tcp://10.0.0.5:8786"\nworkers = 3\n')
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "tierslieux.toml"), "config"])
    assert result.exit_code == 0
    assert 'cluster = "tcp://10.0.0.5:8786"' in result.output
    assert "# engine: dask tcp://10.0.0.5:8786\n" in result.output


def test_no_dask_import_without_a_cluster(tmp_path):
    script = (
        "import sys\n"
        "from tierslieux.cli import main\n"
        "try:\n"
        f"    main(['-q', 'run', '--workers', '2', '--store', {str(tmp_path / 's.sqlite')!r},"
        f" '--out', {str(tmp_path / 'out')!r}])\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (None, 0, 3), exc.code\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=600, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    assert (tmp_path / "out" / "tierslieux.ttl").is_file()
