"""The benchmark of issues 8 and 16: the project's build against the reference commit and a
naive rdflib pipeline.

    python bench/run.py --sample 500                              # a quick run (minutes)
    python bench/run.py --sample 2000 8000 --pages 10000 \
        --full-only-above 8000                                   # the README's figures

Wikis: ``--pages N`` generates a Movilab-style wiki of N pages (bench/generate.py, seeded, about
14 KB a page); ``--sample N`` makes one of N pages out of copies of the bundled sample's pages
(``generate.write_sample_export``: copy k of a page is titled "<title> (k)"). Each is imported
into a store, then, on that one store and each in a subprocess of its own (so that peak
memories do not mix):

0. **reference** — the full build of the commit ``--reference`` (default 27dac7b, the one
   issue 16 measures against), extracted once with ``git archive`` into the work folder and
   run with it first on PYTHONPATH (same dependencies), on a copy of the store;
1. **full build** — ``tierslieux.runner.build.build`` from an empty cache: parse, map,
   validate (SHACL, Table Schema, parse-back of every dump) and write every published file
   but the Linked Data site (``--no-site``: the reference commit had no site, so the ratio
   compares the same release); then one more full build **with the site**, whose line gives
   the site's cost (``--site`` makes every project build write the site instead);
2. **naive pipeline** — bench/naive.py: default mwparserfromhell parse, the project's mapping,
   one rdflib Graph filled with ``add()``, rdflib's Turtle and JSON-LD serializers (only up to
   ``--naive-max`` pages);
3. **rebuild** — ``--changes`` content pages spread over the wiki get a new revision in the
   store (what a nightly harvest brings), then the build runs again with its cache and the
   previous release;
4. **full build of the changed store** — from an empty cache, over the same previous release:
   its files must be byte-identical to the rebuild's (report.json excepted, it holds clock
   times).

Above ``--full-only-above`` pages only steps 0 and 1 run.

It prints, per build, wall time, CPU seconds (the process and its workers), pages/s,
triples/s, the peak RSS of the largest process and of the whole process tree, the CPU use
(share of all cores) of the whole build and of each phase, and the ratios in wall and in CPU
time (the machine may be shared: CPU time is the steadier figure); the peak memory at 4N
against N when both sizes ran; the figures go to ``<work>/results-<kind>-<N>.json`` (and
``--json``). ``--profile`` runs one more full build under cProfile (its main process) and keeps
the top entries in ``<work>/profile-full-<kind>-<N>.txt``.

Generated wikis, stores and the reference's code are kept in ``--work`` (default
/tmp/tierslieux-bench) and reused.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import os
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: files of a release that hold the run's clock times, so never equal between two builds
CLOCK_FILES = {"report.json"}


# --------------------------------------------------------------------------- measuring


def tree_pids(pid: int) -> list[int]:
    """A process and its live descendants, from /proc."""
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return found


def _tree_rss(pid: int) -> int:
    """Resident memory (kB) of a process and all its descendants, from /proc."""
    total = 0
    for current in tree_pids(pid):
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


_TICK = os.sysconf("SC_CLK_TCK")


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by a process, its live descendants and the
    descendants it has reaped, from /proc."""
    total = 0
    for current in tree_pids(pid):
        try:
            with open(f"/proc/{current}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            total += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
        except (FileNotFoundError, ProcessLookupError, PermissionError, IndexError):
            continue
    return total / _TICK


def _cpu_use(samples: list[tuple[float, float]], start: float, phases: dict) -> dict:
    """Per phase, the share of the machine's cores the build's processes used (1.0: every
    core busy all the time), from (epoch, CPU seconds) samples and the phases' durations."""
    cores = os.cpu_count() or 1
    use = {}
    begin = start
    top = [(k, v) for k, v in phases.items() if not k.startswith("release: ")]
    subs = [(k, v) for k, v in phases.items()
            if k.startswith("release: ") and not k.startswith("release: validator ")]
    release_start = start + sum(v for k, v in top if k != "release")
    for group, origin in ((top, start), (subs, release_start)):
        begin = origin
        for name, seconds in group:
            end = begin + seconds
            inside = [c for t, c in samples if begin <= t <= end]
            if seconds >= 0.5 and len(inside) >= 2:
                before = [c for t, c in samples if t <= begin] or inside[:1]
                after = [c for t, c in samples if t >= end] or inside[-1:]
                use[name] = round((after[0] - before[-1]) / (seconds * cores), 2)
            begin = end
    return use


def measure(*args: str, env: dict | None = None) -> dict:
    """Run ``bench/run.py _child ARGS`` in a subprocess; its JSON result, with the peak RSS of
    its largest process (getrusage, in the child) and of its whole tree (sampled here), and
    the CPU use of its phases (sampled here too)."""
    command = [sys.executable, str(Path(__file__).resolve()), "_child", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, **(env or {})})
    peak = [0]
    cpu: list[tuple[float, float]] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(process.pid))
            cpu.append((time.time(), _tree_cpu(process.pid)))
            done.wait(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"benchmark step failed ({' '.join(args)}): exit {process.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["tree_peak_mb"] = round(peak[0] / 1024, 1)
    if "phases" in result:
        result["cpu_use"] = _cpu_use(cpu, result["epoch"], result["phases"])
    if cpu and result.get("seconds"):
        result["cpu_use_total"] = round(cpu[-1][1] / result["seconds"] / (os.cpu_count() or 1), 2)
    return result


def warm_up(env: dict | None = None) -> None:
    """Compile the bytecode of the tierslieux that ``env`` imports (a clone's copy or the
    reference's extract has none) and read the imports of a build once, so that the first
    measured build of a fresh machine does not pay for it (seen: 15.4 against 10.5 CPU
    seconds for the same build, cold then warm)."""
    code = ("import compileall, pathlib, rdflib, pyoxigraph, mwparserfromhell, tierslieux\n"
            "try:\n    import tierslieux.runner.build\n"
            "except ImportError:  # the reference commit had it in pipeline/ (as child)\n"
            "    import tierslieux.pipeline.build\n"
            "compileall.compile_dir(pathlib.Path(tierslieux.__file__).parent, quiet=2)\n")
    subprocess.run([sys.executable, "-c", code], env={**os.environ, **(env or {})}, check=True)


def child(kind: str, *args: str) -> None:
    """The measured work, in its own process: prints one JSON line."""
    started = time.perf_counter()
    if kind == "build":
        store, out, cache, workers, profile, *site = args
        try:
            from tierslieux.runner.build import BuildOptions, build
        except ImportError:  # the reference commit had it in pipeline/
            from tierslieux.pipeline.build import BuildOptions, build
        import tierslieux

        epoch = time.time()

        options = BuildOptions(cache=cache == "cache", workers=int(workers) or None)
        if site and "site" in BuildOptions.__dataclass_fields__:  # not in the reference
            options = replace(options, site=site[0] == "site")
        if profile != "-":
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            result = profiler.runcall(build, store, out, options)
            with open(profile, "w") as stream:
                pstats.Stats(profiler, stream=stream).sort_stats("cumulative").print_stats(35)
                pstats.Stats(profiler, stream=stream).sort_stats("tottime").print_stats(25)
        else:
            result = build(store, out, options)
        figures = {"pages": result.pages, "triples": result.triples,
                   "pages_parsed": result.pages_parsed, "phases": dict(result.timings),
                   "epoch": epoch, "code": str(Path(tierslieux.__file__).parent)}
    elif kind == "naive":
        import naive

        figures = naive.run(*args)
    else:
        raise SystemExit(f"unknown step {kind}")
    figures["seconds"] = round(time.perf_counter() - started, 2)
    times = os.times()  # the workers have been waited for: their CPU time is in children_*
    figures["cpu_seconds"] = round(times.user + times.system + times.children_user
                                   + times.children_system, 2)
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures["process_peak_mb"] = round(max(self_kb, children_kb) / 1024, 1)
    print(json.dumps(figures))


# --------------------------------------------------------------------------- preparing


def prepare(kind: str, pages: int, seed: int, work: Path) -> Path:
    """The store of a wiki of ``pages`` pages (made once, then reused): ``kind`` "generated"
    (bench/generate.py, seeded) or "sample" (copies of the bundled sample's pages)."""
    import generate

    from tierslieux.pipeline.harvest import harvest_dump
    from tierslieux.pipeline.store import Store

    name = f"wiki-{pages}-s{seed}" if kind == "generated" else f"sample-{pages}"
    dump = work / f"{name}.xml"
    store = work / f"store-{name}.sqlite"
    if not dump.is_file():
        t0 = time.perf_counter()
        if kind == "generated":
            generate.write_export(pages, dump, seed)
        else:
            generate.write_sample_export(pages, dump)
        print(f"  made {dump.name} ({dump.stat().st_size / 1e6:.0f} MB) "
              f"in {time.perf_counter() - t0:.0f} s", flush=True)
    if not store.is_file():
        t0 = time.perf_counter()
        tmp = store.with_name(store.name + ".tmp")
        for path in work.glob(tmp.name + "*"):
            path.unlink()
        with Store(tmp) as opened:
            harvest_dump(dump, opened, namespaces=None)
        tmp.replace(store)
        print(f"  imported it into {store.name} in {time.perf_counter() - t0:.0f} s", flush=True)
    return store


def change_pages(store: Path, count: int) -> list[str]:
    """Give ``count`` content pages spread over the wiki a new revision with an added
    section, like a harvest after an edit would."""
    import generate

    from tierslieux.pipeline.store import Store

    with Store(store, create=False) as opened:
        ids = [pid for (pid,) in opened.db.execute(
            "SELECT page_id FROM page WHERE namespace = 0 AND redirect IS NULL "
            "ORDER BY key")]
        step = max(1, len(ids) // count)
        top = opened.db.execute("SELECT max(rev_id) FROM page").fetchone()[0]
        revisions = []
        for index, pid in enumerate(ids[step // 2::step][:count]):
            revision = opened.get(pid).revision
            text = revision.text + ("\n\n== Mise à jour ==\n* Nouvelle information ajoutée "
                                    "lors de la révision.\n** Un détail de plus.\n")
            revisions.append(replace(
                revision, rev_id=top + 1 + index, parent_id=revision.rev_id,
                timestamp="2026-11-30T12:00:00Z", comment="Mise à jour", text=text,
                sha1=generate.base36_sha1(text)))
        counts = opened.upsert(revisions)
    assert counts.changed == len(revisions), counts
    return [r.title for r in revisions]


def same_files(one: Path, two: Path) -> list[str]:
    """Paths (relative, sub-folders such as site/ walked) of the files that differ between two
    releases, or that only one has (clock files excepted)."""
    def files(root: Path) -> set[str]:
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    names = sorted(files(one) | files(two))
    return [n for n in names if n not in CLOCK_FILES
            and not ((one / n).is_file() and (two / n).is_file()
                     and filecmp.cmp(one / n, two / n, shallow=False))]


def reference_code(revision: str, work: Path) -> Path:
    """The package of the reference commit, extracted once from this clone (``git archive``):
    its builds run with it first on PYTHONPATH, with this environment's dependencies."""
    folder = work / f"ref-{revision}"
    if not (folder / "tierslieux").is_dir():
        tmp = work / f"ref-{revision}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", revision,
                                  "tierslieux"], check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tmp)], input=archive, check=True)
        tmp.rename(folder)
    return folder


# --------------------------------------------------------------------------- the run


def copy_release(source: Path, target: Path, link_site: bool) -> None:
    """A copy of the release ``source`` at ``target``; with ``link_site``, the files of its
    ``site/`` are hard links, not copies. A copy has new inodes, which the record of the site
    (tierslieux/site/record.py) does not describe: a rebuild over it would render the whole
    site, as after a release copied by hand. A build never writes into the release in place
    (it publishes a new folder), so ``source`` stays as it is."""
    site = str(source / "site") + "/"

    def copy(path: str, to: str) -> None:
        if link_site and path.startswith(site):
            os.link(path, to)
        else:
            shutil.copy2(path, to)

    shutil.copytree(source, target, copy_function=copy)


def bench(kind: str, pages: int, args: argparse.Namespace) -> dict:
    work = args.work
    print(f"\n== {kind} wiki, {pages} pages", flush=True)
    source = prepare(kind, pages, args.seed, work)
    folder = work / f"run-{kind}-{pages}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store = folder / "store.sqlite"
    shutil.copyfile(source, store)
    workers = str(args.workers)
    results: dict = {"kind": kind, "pages": pages, "seed": args.seed, "cpus": os.cpu_count(),
                     "site": args.site}

    warm_up()
    if args.reference:
        code = reference_code(args.reference, work)
        warm_up({"PYTHONPATH": str(code)})
        print(f"  full build of the reference commit {args.reference}...", flush=True)
        ref_store = folder / "ref-store.sqlite"
        shutil.copyfile(source, ref_store)
        results["reference"] = measure("build", str(ref_store), str(folder / "reference"),
                                       "cache", workers, "-", env={"PYTHONPATH": str(code)})
        assert results["reference"]["code"] == str(code / "tierslieux"), results["reference"]
        shutil.rmtree(folder / "reference", ignore_errors=True)
        for path in folder.glob("ref-store.sqlite*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    site = "site" if args.site else "nosite"
    print(f"  full build{' (with the site)' if args.site else ', without the site'}...",
          flush=True)
    results["full"] = measure("build", str(store), str(folder / "full"), "cache", workers, "-",
                              site)
    if not args.site:
        print("  full build with the site...", flush=True)
        results["with_site"] = measure("build", str(store), str(folder / "with-site"),
                                       "nocache", workers, "-", "site")
        shutil.rmtree(folder / "with-site", ignore_errors=True)
    if pages <= args.naive_max:
        print("  naive reference...", flush=True)
        results["naive"] = measure("naive", str(store), str(folder / "naive"))
        shutil.rmtree(folder / "naive", ignore_errors=True)

    if pages > args.full_only_above:
        (work / f"results-{kind}-{pages}.json").write_text(json.dumps(results, indent=2))
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        return results
    titles = change_pages(store, args.changes)
    results["changed_titles"] = titles
    copy_release(folder / "full", folder / "incremental", link_site=True)  # as if in place
    copy_release(folder / "full", folder / "rebuilt", link_site=False)
    print(f"  incremental build after {len(titles)} changed pages...", flush=True)
    results["incremental"] = measure("build", str(store), str(folder / "incremental"), "cache",
                                     workers, "-", site)
    print("  full build of the changed store (empty cache)...", flush=True)
    results["rebuilt"] = measure("build", str(store), str(folder / "rebuilt"), "nocache",
                                 workers, "-", site)
    differ = same_files(folder / "incremental", folder / "rebuilt")
    results["incremental_identical"] = not differ
    results["differing_files"] = differ
    if args.profile:  # apart from the measured builds: cProfile slows the main process down
        profile = work / f"profile-full-{kind}-{pages}.txt"
        print(f"  profiled full build (main process) -> {profile}...", flush=True)
        results["profiled"] = measure("build", str(store), str(folder / "profiled"), "nocache",
                                      workers, str(profile), site)
    (work / f"results-{kind}-{pages}.json").write_text(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def table(all_results: list[dict]) -> str:
    rows = [("wiki", "N", "build", "wall s", "CPU s", "pages/s", "triples/s",
             "peak RSS MB (largest / tree)", "CPU use", "ratio (wall; CPU time)")]
    for r in all_results:
        naive, reference = r.get("naive"), r.get("reference")
        for key, label in (("reference", f"reference {r.get('reference_rev', '')}, full"),
                           ("full", "project, full" + ("" if r.get("site") else
                                                       ", no site")),
                           ("with_site", "project, full, with the site"),
                           ("naive", "naive pipeline"),
                           ("incremental", "project, rebuild after "
                                           f"{len(r.get('changed_titles', ()))} changes"),
                           ("rebuilt", "project, full, changed store")):
            figures = r.get(key)
            if figures is None:
                continue
            seconds, cpu = figures["seconds"], figures.get("cpu_seconds", 0.0)
            ratio = []

            def faster(other: dict, name: str) -> str:
                return (f"{other['seconds'] / seconds:.2f}x faster than {name} "
                        f"({other.get('cpu_seconds', 0) / (cpu or 1):.2f}x in CPU time)")

            if key == "full" and reference:
                ratio.append(faster(reference, "the reference"))
            if key == "full" and naive:
                ratio.append(faster(naive, "naive"))
            if key == "with_site":
                full = r["full"]
                ratio.append(f"the site costs {seconds - full['seconds']:.1f} s "
                             f"({cpu - full.get('cpu_seconds', 0):.1f} CPU s)")
            if key == "incremental":
                full = r["full"]
                ratio.append(f"{100 * seconds / full['seconds']:.1f} % of full "
                             f"({100 * cpu / (full.get('cpu_seconds') or 1):.1f} % in CPU time)")
            rows.append((
                r["kind"], str(r["pages"]), label, f"{seconds:.1f}", f"{cpu:.1f}",
                f"{figures['pages'] / seconds:.0f}", f"{figures['triples'] / seconds:,.0f}",
                f"{figures['process_peak_mb']:.0f} / {figures['tree_peak_mb']:.0f}",
                f"{100 * figures.get('cpu_use_total', 0):.0f} %", "; ".join(ratio),
            ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def _phases(figures: dict) -> str:
    use = figures.get("cpu_use", {})
    return ", ".join(f"{name} {seconds:g}" + (f" ({100 * use[name]:.0f} % CPU)"
                                               if name in use else "")
                     for name, seconds in figures["phases"].items())


def report(all_results: list[dict]) -> None:
    print()
    print(table(all_results))
    for r in all_results:
        where = f"{r['kind']} N={r['pages']}"
        for key in ("reference", "full", "with_site", "incremental"):
            if key in r:
                print(f"\n{where}: phases (s) of the {key} build: {_phases(r[key])}")
        if "incremental" in r:
            print(f"{where}: rebuild output byte-identical to a full build: "
                  f"{r['incremental_identical']}" + (f" (differ: {r['differing_files']})"
                                                     if r["differing_files"] else "")
                  + f"; pages parsed by the rebuild: {r['incremental']['pages_parsed']}")
        if "naive" in r:
            print(f"{where}: naive stages (s): {r['naive']['stages']}; triples: naive "
                  f"{r['naive']['triples']}, project {r['full']['triples']}")
    by_size = {(r["kind"], r["pages"]): r for r in all_results}
    for (kind, pages), r in sorted(by_size.items()):
        big = by_size.get((kind, 4 * pages))
        if big is None:
            continue
        for key, label in (("process_peak_mb", "largest process"), ("tree_peak_mb", "all processes")):
            ratio = big["full"][key] / r["full"][key]
            print(f"\npeak memory ({label}) of the full build, {kind} wiki: "
                  f"{big['full'][key]:.0f} MB at {4 * pages} pages = {ratio:.2f}x the "
                  f"{r['full'][key]:.0f} MB at {pages}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        child(*argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="*", default=[],
                        help="sizes of generated wikis (bench/generate.py)")
    parser.add_argument("--sample", type=int, nargs="*", default=[],
                        help="sizes of wikis made of copies of the bundled sample's pages")
    parser.add_argument("--reference", default="27dac7b",
                        help="commit whose full build runs side by side ('' for none)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=0, help="0: the build decides")
    parser.add_argument("--naive-max", type=int, default=2_000,
                        help="no naive pipeline above this many pages")
    parser.add_argument("--full-only-above", type=int, default=10_000,
                        help="above this many pages, only the full builds (for peak memory)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tierslieux-bench"))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the releases")
    parser.add_argument("--site", action="store_true",
                        help="every project build writes the Linked Data site (default: the "
                             "measured builds do not, as the reference did not; one more full "
                             "build with the site gives its cost)")
    parser.add_argument("--json", type=Path, help="also write every result to this file")
    args = parser.parse_args(argv)
    if not args.pages and not args.sample:
        args.sample = [500]
    args.work.mkdir(parents=True, exist_ok=True)
    all_results = []
    for kind, sizes in (("sample", args.sample), ("generated", args.pages)):
        for n in sizes:
            result = bench(kind, n, args)
            result["reference_rev"] = args.reference
            all_results.append(result)
            if args.json:
                args.json.write_text(json.dumps(all_results, indent=2))
    report(all_results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
