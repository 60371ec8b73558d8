"""Rebuilds measured again and again from one kept state (to see where a rebuild's time goes).

    python bench/run.py --sample 8000 --naive-max 0 --reference '' --keep
    python bench/rebuild.py /tmp/tierslieux-bench/run-sample-8000 --repeat 3
    python bench/rebuild.py RUN --py-spy /tmp/rebuild.raw   # py-spy installed by hand

``RUN`` is a run folder of ``bench/run.py --keep``: its store, the store's build caches and the
release ``--release`` (default ``incremental``, the last one built with those caches). Each
trial copies them to ``--work``, gives ``--changes`` pages a new revision
(``run.change_pages``, as the benchmark does; the release's site files are linked, not
copied: see ``copy_state``) and runs the build with its cache in a
subprocess (``run.measure``): wall and CPU seconds, peak RSS and the phases with their CPU use
are printed, one line a trial, then the best trial's phases. The copies are made before the
clock starts, so only the rebuild is timed. The page results are cached under a digest of the
code: to compare two trees, ``--prime`` first rebuilds the kept state with the code measured
(into ``<work>-primed``) and measures from that.

``--py-spy OUT`` runs the trial's build under ``py-spy record --subprocesses --format raw``
(py-spy is not a dependency of the project: ``pip install py-spy``); ``--py-spy-summary``
then prints the seconds of samples per function of the main process and of the workers
(folded stacks: a worker's stack goes through ``_call_shared``), the top entries by inclusive
and by own time.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (bench/run.py, beside this file)


def copy_state(run_folder: Path, release: str, work: Path, link_site: bool = False
               ) -> tuple[Path, Path]:
    """The store, its caches and the release of ``run_folder`` copied into ``work``.

    ``link_site``: the files of the release's ``site/`` are hard links instead of copies. A
    copy has new inodes, which the record of the site (tierslieux/site/record.py) does not
    describe: the rebuild would render the whole site, as after a release copied by hand.
    A build never writes into the release in place (it publishes a new folder), so the
    kept state stays as it is.
    """
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for path in sorted(run_folder.glob("store.sqlite*")):
        target = work / path.name
        shutil.copytree(path, target) if path.is_dir() else shutil.copy2(path, target)
    run.copy_release(run_folder / release, work / "release", link_site)
    return work / "store.sqlite", work / "release"


def summary(raw: Path, top: int = 25) -> str:
    """Seconds of samples per function (inclusive and own) in the main process and workers,
    from py-spy's raw (folded) output."""
    groups: dict[str, tuple[Counter, Counter]] = {}
    rate = 200
    for line in raw.read_text(encoding="utf-8", errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = [frame.split(" (")[0] for frame in stack.split(";")]
        group = "worker" if "_call_shared" in frames else "main"
        inclusive, own = groups.setdefault(group, (Counter(), Counter()))
        for frame in set(frames):
            inclusive[frame] += int(count)
        own[frames[-1]] += int(count)
    out = []
    for group, (inclusive, own) in sorted(groups.items()):
        for label, counter in (("inclusive", inclusive), ("own", own)):
            out.append(f"-- {group}, {label} (s of samples at {rate} Hz)")
            out += [f"{n / rate:8.2f}  {name}" for name, n in counter.most_common(top)]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("run_folder", type=Path)
    parser.add_argument("--release", default="incremental")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tierslieux-rebuild"))
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--py-spy", type=Path, dest="py_spy")
    parser.add_argument("--py-spy-summary", action="store_true", dest="py_spy_summary")
    parser.add_argument("--site", action="store_true",
                        help="the builds write the Linked Data site (as a default build does)")
    parser.add_argument("--prime", action="store_true",
                        help="first build the kept state once with the code measured (its "
                             "page results are cached under a digest of the code: another "
                             "tree's would all be parsed again), then measure from that")
    args = parser.parse_args(argv)
    site = "site" if args.site else "nosite"
    base, release_name = args.run_folder, args.release
    if args.prime:
        base = args.work.with_name(args.work.name + "-primed")
        store, release = copy_state(args.run_folder, args.release, base)
        primed = run.measure("build", str(store), str(release), "cache", "0", "-", site)
        print(f"primed: wall {primed['seconds']} s, pages parsed {primed['pages_parsed']}",
              flush=True)
        release_name = "release"
    results = []
    for trial in range(args.repeat):
        store, release = copy_state(base, release_name, args.work, link_site=True)
        run.change_pages(store, args.changes)
        if args.py_spy:
            out = args.py_spy.with_name(f"{args.py_spy.stem}-{trial}{args.py_spy.suffix}")
            subprocess.run(["py-spy", "record", "--subprocesses", "--format", "raw", "-r",
                            "200", "-o", str(out), "--", sys.executable,
                            str(HERE / "run.py"), "_child", "build", str(store), str(release),
                            "cache", "0", "-", site], check=True,
                           stdout=subprocess.DEVNULL)
            if args.py_spy_summary:
                print(summary(out))
            continue
        result = run.measure("build", str(store), str(release), "cache", "0", "-", site)
        results.append(result)
        print(f"trial {trial}: wall {result['seconds']} s, CPU {result['cpu_seconds']} s, "
              f"peak {result['process_peak_mb']:.0f} / {result['tree_peak_mb']:.0f} MB, "
              f"pages parsed {result['pages_parsed']}", flush=True)
    if results:
        best = min(results, key=lambda r: r["seconds"])
        print(f"best trial's phases (s): {run._phases(best)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
