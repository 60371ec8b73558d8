"""The multistream benchmark of issue 19: the local pool against a Dask cluster of 1 and of 2
workers, on a generated Wikimedia multistream dump.

    python bench/cluster.py                 # 20,000 pages (the README's figures)
    python bench/cluster.py --pages 500     # a quick run (a couple of minutes)

The wiki: ``--pages N`` pages copied from the bundled sample (``--kind sample``, the default,
as ``bench/run.py --sample`` makes them: ``generate.write_sample_export``) or generated
(``--kind generated``, bench/generate.py, seeded), written as a MediaWiki XML export, then as a
multistream dump and its index the way Wikimedia writes them (bench/multistream.py, the writer
the tests use). Both are made once and kept in ``--work``.

Each configuration runs what a user runs, the two commands ``tierslieux harvest --dump DUMP``
(the index found beside the dump) then ``tierslieux build``, into a store, a build cache and a
release of its own (an empty cache: every page is parsed; with the Linked Data site, as by
default, or without it with ``--no-site``):

- **local**: the local pool (``--workers``, default 0: one process per core);
- **dask-1**, **dask-2**: ``--cluster tcp://127.0.0.1:PORT``, a cluster started for the
  configuration with Dask's own commands, ``dask scheduler`` and 1 or 2 ``dask worker
  --nworkers 1 --nthreads 1`` on free loopback ports, each in a folder and a process group of
  its own, stopped afterwards (their start is not timed);
- **nostore-local**, **nostore-dask-2**: no harvest and no store, one command, ``tierslieux
  build --dump DUMP --state DIR`` straight from the dump's partitions (runner/partitions.py;
  its "prepare" phase holds the scan of every partition), on the local pool or on 2 workers.

Measured for each: wall time of the two commands; CPU seconds of the commands' process trees
(``wait4``: the processes they waited for are included) and of the scheduler's and workers'
trees (from /proc, over the configuration's commands only); peak RSS of the largest process
(the kernel's high-water marks: ``wait4`` for the commands, VmHWM for the Dask processes), of
all the processes involved together and of each worker's tree (nanny + worker; sampled every
0.1 s); the build's phases from its log (``-v``: prepare, pages, runs, merge, release and the
release's steps), the harvest's wall time, each Dask worker's throughput line, pages/s, and the
ratios against the local pool. The load average before and after each configuration is kept
(the machine may be shared: say so with the figures). Then the three releases are compared
file by file (every file but report.json): they must be byte-identical.

The table is printed; ``--json FILE`` also writes every figure (and
``<work>/results-cluster-<kind>-<N>.json`` always).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from multistream import write_multistream  # noqa: E402
from run import _tree_cpu, _tree_rss, same_files, tree_pids  # noqa: E402  (bench/run.py's measures)

BIN = Path(sys.executable).parent
TIERSLIEUX = BIN / "tierslieux"
DASK = BIN / "dask"
#: "nostore-…": ``build --dump --state`` straight from the partitions, no harvest, no store
CONFIGS = ("local", "dask-1", "dask-2", "nostore-local", "nostore-dask-2")
_PHASES = re.compile(r"Build phases \(s\): (.*?); (\d+) of (\d+) pages parsed")
_PUBLISHED = re.compile(r"Published (\d+) triples from (\d+) pages")
_HARVESTED = re.compile(r"Harvested .*?: (\d+) pages fetched")
#: a worker's line at the end of a build; since cb7cc0c its work includes the segments it rendered
_WORKER = re.compile(r"Dask worker (tcp://\S+): (\d+) pages in ([\d.]+) s of work"
                     r"(?: \(\d+ pages/s\), (\d+) segments)?")


# --------------------------------------------------------------------------- the wiki


def prepare(kind: str, pages: int, seed: int, per_stream: int, work: Path) -> Path:
    """The multistream dump of the wiki (its index beside it), made once and reused."""
    import generate

    name = f"sample-{pages}" if kind == "sample" else f"wiki-{pages}-s{seed}"
    export = work / f"{name}.xml"
    if not export.is_file():
        t0 = time.perf_counter()
        if kind == "sample":
            generate.write_sample_export(pages, export)
        else:
            generate.write_export(pages, export, seed)
        print(f"  made {export.name} ({export.stat().st_size / 1e6:.0f} MB) in "
              f"{time.perf_counter() - t0:.0f} s", flush=True)
    folder = work / f"multistream-{name}-{per_stream}"
    dump = folder / f"{name}-pages-articles-multistream.xml.bz2"
    if not dump.is_file():
        t0 = time.perf_counter()
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        write_multistream(export, tmp, name=name, pages_per_stream=per_stream)
        shutil.rmtree(folder, ignore_errors=True)
        tmp.rename(folder)
        print(f"  wrote {dump.name} ({dump.stat().st_size / 1e6:.1f} MB, streams of "
              f"{per_stream} pages) and its index in {time.perf_counter() - t0:.0f} s",
              flush=True)
    return dump


def dump_pages(dump: Path) -> int:
    """Pages in a multistream dump: the lines of its index."""
    import bz2

    index = dump.with_name(dump.name.removesuffix(".xml.bz2") + "-index.txt.bz2")
    with bz2.open(index, "rt", encoding="utf-8") as lines:
        return sum(1 for _ in lines)


# --------------------------------------------------------------------------- a cluster


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """``dask scheduler`` and ``workers`` × ``dask worker --nworkers 1 --nthreads 1`` on
    loopback, each in a folder and a process group of its own."""

    def __init__(self, folder: Path, workers: int) -> None:
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        self.folder = folder
        self.scheduler = self._start("scheduler", "scheduler", "--host", "127.0.0.1",
                                     "--port", self.address.rsplit(":", 1)[1])
        self.workers: list[subprocess.Popen] = []
        try:
            for index in range(workers):
                self.workers.append(self._start(
                    f"worker{index}", "worker", self.address, "--host", "127.0.0.1",
                    "--nworkers", "1", "--nthreads", "1"))
            from distributed import Client

            with Client(self.address, timeout=60, set_as_default=False) as client:
                client.wait_for_workers(workers, timeout=180)
        except BaseException:
            self.stop()
            raise

    def _start(self, name: str, *args: str) -> subprocess.Popen:
        cwd = self.folder / name
        cwd.mkdir(parents=True)
        with open(cwd / "log.txt", "wb") as log:
            return subprocess.Popen([str(DASK), *args, "--no-dashboard"], cwd=cwd, stdout=log,
                                    stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def processes(self) -> dict[str, subprocess.Popen]:
        return {"scheduler": self.scheduler,
                **{f"worker{i}": p for i, p in enumerate(self.workers)}}

    def stop(self) -> None:
        started = [*self.workers, self.scheduler]
        for process in started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in started:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# --------------------------------------------------------------------------- measuring


def _hwm_mb(pid: int) -> float:
    """The largest peak resident memory (VmHWM, MB) of a process and its live descendants."""
    peak = 0
    for current in tree_pids(pid):
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak = max(peak, int(line.split()[1]))
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return round(peak / 1024, 1)


def command(args: list[str], log: Path, others: dict[str, subprocess.Popen]) -> dict:
    """Run one tierslieux command (its log into ``log``); its wall time, its tree's CPU and
    peak RSS, and the peak RSS of it and ``others`` (the Dask processes) together and of each
    of those, sampled every 0.1 s."""
    started = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen([str(TIERSLIEUX), *args], stdout=out,
                                   stderr=subprocess.STDOUT)
    peaks = {"all": 0, **{name: 0 for name in others}}
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            each = {name: _tree_rss(p.pid) for name, p in others.items()}
            for name, kb in each.items():
                peaks[name] = max(peaks[name], kb)
            peaks["all"] = max(peaks["all"], _tree_rss(process.pid) + sum(each.values()))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if process.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-5:]
        raise SystemExit(f"tierslieux {args[1]} failed (exit {process.returncode}):\n  "
                         + "\n  ".join(tail))
    return {"seconds": round(seconds, 2),
            "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 2),
            "process_peak_mb": round(usage.ru_maxrss / 1024, 1),
            "tree_peak_mb": {k: round(v / 1024, 1) for k, v in peaks.items()}}


def configuration(name: str, dump: Path, folder: Path, args: argparse.Namespace) -> dict:
    """Harvest then build with one engine; every figure of it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store, out = folder / "store.sqlite", folder / "exports"
    storeless = name.startswith("nostore-")
    engine_name = name.removeprefix("nostore-")
    cluster = (Cluster(folder / "cluster", int(engine_name.split("-")[1]))
               if engine_name != "local" else None)
    try:
        engine = ["--cluster", cluster.address] if cluster else ["--workers", str(args.workers)]
        others = cluster.processes if cluster else {}
        dask_cpu = {k: _tree_cpu(p.pid) for k, p in others.items()}
        load = os.getloadavg()
        if storeless:  # no harvest: the build reads the dump's partitions
            harvest = {"seconds": 0.0, "cpu_seconds": 0.0, "process_peak_mb": 0.0,
                       "tree_peak_mb": {"all": 0.0, **{k: 0.0 for k in others}}}
            (folder / "harvest.log").write_text("")
            source = ["--dump", str(dump), "--state", str(folder / "state")]
        else:
            harvest = command(["-v", "harvest", "--dump", str(dump), "--store", str(store),
                               *engine], folder / "harvest.log", others)
            source = ["--store", str(store)]
        build = command(["-v", "build", *source, "--out", str(out), *engine,
                         *(["--no-site"] if args.no_site else [])], folder / "build.log", others)
        dask_cpu = {k: round(_tree_cpu(p.pid) - dask_cpu[k], 2) for k, p in others.items()}
        dask_hwm = {k: _hwm_mb(p.pid) for k, p in others.items()}
        load_after = os.getloadavg()
    finally:
        if cluster:
            cluster.stop()
    text = (folder / "build.log").read_text(errors="replace")
    stored = _HARVESTED.search((folder / "harvest.log").read_text(errors="replace"))
    phases_line = _PHASES.search(text)
    published = _PUBLISHED.search(text)
    if not phases_line or not published or not (stored or storeless):
        raise SystemExit(f"{name}: no 'Harvested', 'Build phases' or 'Published' line in "
                         f"{folder}/harvest.log, build.log")
    phases = {"harvest": harvest["seconds"]}
    for item in phases_line.group(1).split(", "):
        step, seconds = item.rsplit(" ", 1)
        phases[step] = float(seconds)
    throughput = {}
    for stage in ("harvest", "build"):
        for address, pages, seconds, segments in _WORKER.findall(
                (folder / f"{stage}.log").read_text(errors="replace")):
            throughput.setdefault(stage, []).append(
                {"worker": address, "pages": int(pages), "seconds": float(seconds),
                 "segments": int(segments) if segments else None})
    command_cpu = harvest["cpu_seconds"] + build["cpu_seconds"]
    return {
        "engine": name, "address": cluster.address if cluster else None,
        "seconds": round(harvest["seconds"] + build["seconds"], 2),
        "stored": int(stored.group(1)) if stored else int(published.group(2)),
        "pages": int(published.group(2)),
        "triples": int(published.group(1)),
        "pages_parsed": int(phases_line.group(2)), "phases": phases,
        "cpu_seconds": {"commands": round(command_cpu, 2), **dask_cpu,
                        "total": round(command_cpu + sum(dask_cpu.values()), 2)},
        "peak_mb": {
            "largest_process": max([harvest["process_peak_mb"], build["process_peak_mb"],
                                    *dask_hwm.values()]),
            "command": max(harvest["process_peak_mb"], build["process_peak_mb"]),
            "all_processes": max(harvest["tree_peak_mb"]["all"], build["tree_peak_mb"]["all"]),
            **{k: max(harvest["tree_peak_mb"][k], build["tree_peak_mb"][k]) for k in others},
            **{f"{k} largest process": v for k, v in dask_hwm.items()}},
        "harvest": harvest, "build": build, "worker_throughput": throughput,
        "load_before": [round(x, 2) for x in load],
        "load_after": [round(x, 2) for x in load_after],
    }


# --------------------------------------------------------------------------- the report


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in
                  Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    memory = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    commit = subprocess.run(["git", "-C", str(HERE.parent), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(HERE.parent), "status", "--porcelain",
                            "--untracked-files=no"], capture_output=True, text=True).stdout
    from importlib.metadata import version

    return {"cpus": os.cpu_count(), "cpu": model, "memory_gb": round(memory / 1024 ** 2, 1),
            "python": platform.python_version(), "distributed": version("distributed"),
            "commit": commit + ("+changes" if dirty.strip() else "")}


def table(results: dict) -> str:
    local = results["runs"].get("local")
    head = ("engine", "wall s", "harvest", "prepare", "pages", "runs", "merge", "release",
            "pages/s (all; pages phase)",
            "CPU s (cmds + dask = all)", "peak RSS MB (largest / all / per worker)",
            "vs local (wall; CPU)")
    rows = [head]
    for name, r in results["runs"].items():
        p, cpu, mem = r["phases"], r["cpu_seconds"], r["peak_mb"]
        dask = cpu["total"] - cpu["commands"]
        workers = " + ".join(f"{mem[k]:.0f}" for k in sorted(mem) if re.fullmatch(r"worker\d+", k))
        ratio = (f"{r['seconds'] / local['seconds']:.2f}x; "
                 f"{cpu['total'] / local['cpu_seconds']['total']:.2f}x"
                 if local and name != "local" else "")
        rows.append((name, f"{r['seconds']:.1f}",
                     *(f"{p.get(k, 0):.1f}" for k in ("harvest", "prepare", "pages", "runs",
                                                        "merge", "release")),
                     f"{r['pages'] / r['seconds']:.1f}; "
                     f"{r['pages'] / p['pages']:.0f}" if p.get("pages") else "",
                     f"{cpu['commands']:.0f} + {dask:.0f} = {cpu['total']:.0f}",
                     f"{mem['largest_process']:.0f} / {mem['all_processes']:.0f}"
                     + (f" / {workers}" if workers else ""), ratio))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def report(results: dict) -> None:
    m = results["machine"]
    stored = {r["stored"] for r in results["runs"].values()}
    built = {r["pages"] for r in results["runs"].values()}
    print(f"\n{results['kind']} wiki, multistream dump of {results['dump_pages']} pages "
          f"({'/'.join(map(str, sorted(stored)))} kept by the harvest's default namespaces, "
          f"{'/'.join(map(str, sorted(built)))} built), "
          f"{results['dump_mb']} MB (streams of {results['pages_per_stream']} pages), "
          f"{'with' if results['site'] else 'without'} the site; "
          f"{m['cpus']} CPUs ({m['cpu']}), {m['memory_gb']} GB, Python {m['python']}, "
          f"distributed {m['distributed']}, commit {m['commit']}")
    print(table(results))
    for name, r in results["runs"].items():
        steps = ", ".join(f"{k} {v:g}" for k, v in r["phases"].items())
        print(f"\n{name}: phases (s): {steps}")
        print(f"{name}: {r['triples']} triples, {r['pages_parsed']} of {r['pages']} pages "
              f"parsed; CPU s {r['cpu_seconds']}; peak MB {r['peak_mb']}; load average "
              f"{r['load_before']} before, {r['load_after']} after")
        for stage, lines in r["worker_throughput"].items():
            print(f"{name}: {stage} on the workers: " + "; ".join(
                f"{w['worker']} {w['pages']} pages"
                + (f" and {w['segments']} segments" if w.get("segments") else "")
                + f" in {w['seconds']:g} s of work" if w["seconds"] else
                f"{w['worker']} {w['pages']} pages" for w in lines))
    print(f"\nload average before the benchmark {results['load_before']}, after "
          f"{results['load_after']}")
    differ = results["differing_files"]
    print("releases byte-identical (every file but report.json): "
          + ("yes" if results["identical"] else f"NO, {differ}")
          + f" ({results['files_compared']} files)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--kind", choices=("sample", "generated"), default="sample")
    parser.add_argument("--seed", type=int, default=8, help="of --kind generated")
    parser.add_argument("--pages-per-stream", type=int, default=100)
    parser.add_argument("--workers", type=int, default=0,
                        help="processes of the local pool (0: one per core)")
    parser.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    parser.add_argument("--work", type=Path, default=Path("/tmp/tierslieux-bench"))
    parser.add_argument("--no-site", action="store_true",
                        help="build without the Linked Data site (build --no-site)")
    parser.add_argument("--keep", action="store_true", help="keep the stores and releases")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    for tool in (TIERSLIEUX, DASK):
        if not tool.exists():
            raise SystemExit(f"{tool} not found: pip install -e '.[cluster]' in this venv")
    args.work.mkdir(parents=True, exist_ok=True)
    print(f"== multistream benchmark, {args.kind} wiki of {args.pages} pages", flush=True)
    dump = prepare(args.kind, args.pages, args.seed, args.pages_per_stream, args.work)
    base = args.work / f"cluster-{args.kind}-{args.pages}{'-nosite' if args.no_site else ''}"
    results = {"kind": args.kind, "pages": args.pages, "pages_per_stream": args.pages_per_stream,
               "site": not args.no_site,
               "dump": str(dump), "dump_pages": dump_pages(dump),
               "dump_mb": round(dump.stat().st_size / 1e6, 1),
               "machine": machine(), "local_workers": args.workers,
               "load_before": [round(x, 2) for x in os.getloadavg()], "runs": {}}
    for name in args.configs:
        print(f"  {name}: " + ("build --dump --state..." if name.startswith("nostore-")
                                else "harvest --dump, then build..."), flush=True)
        results["runs"][name] = configuration(name, dump, base / name, args)
        print(f"  {name}: {results['runs'][name]['seconds']:.1f} s", flush=True)
    results["load_after"] = [round(x, 2) for x in os.getloadavg()]
    outs = [base / name / "exports" for name in args.configs]
    differ = sorted({f for other in outs[1:] for f in same_files(outs[0], other)})
    results["identical"] = not differ
    results["differing_files"] = differ
    results["files_compared"] = sum(1 for p in outs[0].rglob("*") if p.is_file())
    for path in (base.with_name(f"results-{base.name}.json"), args.json):
        if path:
            path.write_text(json.dumps(results, indent=2) + "\n")
    report(results)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    return 0 if results["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
