"""The benchmark of issue 8: the project's build against a naive rdflib pipeline.

    python bench/run.py --pages 500                  # a quick run (a few minutes)
    python bench/run.py --pages 10000 50000          # the figures of the README (~80 min)

For each N it generates a Movilab-style wiki of N pages (bench/generate.py, seeded), imports
it into a store, then, on that one store and each in a subprocess of its own (so that peak
memories do not mix):

1. **full build** — ``tierslieux.runner.build.build`` from an empty cache: parse, map,
   validate (SHACL, Table Schema, parse-back of every dump) and write every published file;
2. **naive reference** — bench/naive.py: default mwparserfromhell parse, the project's mapping,
   one rdflib Graph filled with ``add()``, rdflib's Turtle and JSON-LD serializers (skipped
   above ``--naive-max`` pages: its graph alone would not fit in memory);
3. **incremental build** — ``--changes`` pages get a new revision in the store (what a nightly
   harvest brings), then the build runs again with its cache and the previous release;
4. **full build of the changed store** — from an empty cache, over the same previous release:
   its files must be byte-identical to the incremental build's (report.json excepted, it holds
   clock times).

Above ``--full-only-above`` pages (default 10,000) only step 1 runs: at 50,000 pages what is
measured is the peak memory of the full build against the one at 10,000.

It prints, per build, wall time, pages/s, triples/s, the peak RSS of the largest process and of
the whole process tree (workers included), the ratio to the naive reference and the share of
the incremental build; the figures go to ``<work>/results-<N>.json`` too. ``--profile`` runs
one more full build under cProfile (its main process) and keeps the top entries in
``<work>/profile-full-<N>.txt``.

Generated wikis and stores are kept in ``--work`` (default /tmp/tierslieux-bench) and reused.
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
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: files of a release that hold the run's clock times, so never equal between two builds
CLOCK_FILES = {"report.json"}


# --------------------------------------------------------------------------- measuring


def _tree_rss(pid: int) -> int:
    """Resident memory (kB) of a process and all its descendants, from /proc."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/status") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    todo.extend(int(c) for c in children.read().split())
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
    return total


def measure(*args: str) -> dict:
    """Run ``bench/run.py _child ARGS`` in a subprocess; its JSON result, with the peak RSS of
    its largest process (getrusage, in the child) and of its whole tree (sampled here)."""
    command = [sys.executable, str(Path(__file__).resolve()), "_child", *args]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    peak = [0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], _tree_rss(process.pid))
            done.wait(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = process.communicate()
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"benchmark step failed ({' '.join(args)}): exit {process.returncode}")
    result = json.loads(out.strip().splitlines()[-1])
    result["tree_peak_mb"] = round(peak[0] / 1024, 1)
    return result


def child(kind: str, *args: str) -> None:
    """The measured work, in its own process: prints one JSON line."""
    started = time.perf_counter()
    if kind == "build":
        store, out, cache, workers, profile = args
        from tierslieux.runner.build import BuildOptions, build

        options = BuildOptions(cache=cache == "cache", workers=int(workers) or None)
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
                   "pages_parsed": result.pages_parsed, "phases": dict(result.timings)}
    elif kind == "naive":
        import naive

        figures = naive.run(*args)
    else:
        raise SystemExit(f"unknown step {kind}")
    figures["seconds"] = round(time.perf_counter() - started, 2)
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures["process_peak_mb"] = round(max(self_kb, children_kb) / 1024, 1)
    print(json.dumps(figures))


# --------------------------------------------------------------------------- preparing


def prepare(pages: int, seed: int, work: Path) -> Path:
    """The store of a generated wiki of ``pages`` pages (made once, then reused)."""
    import generate

    from tierslieux.pipeline.harvest import harvest_dump
    from tierslieux.pipeline.store import Store

    dump = work / f"wiki-{pages}-s{seed}.xml"
    store = work / f"store-{pages}-s{seed}.sqlite"
    if not dump.is_file():
        t0 = time.perf_counter()
        generate.write_export(pages, dump, seed)
        print(f"  generated {dump.name} ({dump.stat().st_size / 1e6:.0f} MB) "
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


def change_pages(store: Path, pages: int, seed: int, count: int) -> list[str]:
    """Give ``count`` pages spread over the wiki a new revision, like a harvest would."""
    import generate

    from tierslieux.model.records import PageRevision
    from tierslieux.pipeline.store import Store

    wiki = generate.Wiki(pages, seed)
    step = max(1, pages // count)
    spread = [(i + offset) % pages for i in range(0, pages, step) for offset in range(step)]
    indexes: list[int] = []
    for index in sorted(spread, key=lambda i: (i % step, i)):
        if len(indexes) < count and wiki.plan[index][0] != "redirect" and index not in indexes:
            indexes.append(index)
    revisions = []
    with Store(store, create=False) as opened:
        for index in indexes:
            page = generate.changed_revision(wiki.page(index))
            stored = opened.get(page.page_id)
            revisions.append(PageRevision(
                page_id=page.page_id, namespace=page.ns, title=page.title, rev_id=page.rev_id,
                parent_id=page.parent_id, timestamp=page.timestamp,
                sha1=generate.base36_sha1(page.text), contributor=page.contributor,
                text=page.text, comment=page.comment,
                contributors=tuple(sorted(set(stored.revision.contributors if stored else ())
                                          | {page.contributor})),
            ))
        counts = opened.upsert(revisions)
    assert counts.changed == len(revisions), counts
    return [r.title for r in revisions]


def same_files(one: Path, two: Path) -> list[str]:
    """Names of the files that differ between two releases (clock files excepted)."""
    names = sorted({p.name for p in one.iterdir()} | {p.name for p in two.iterdir()})
    return [n for n in names if n not in CLOCK_FILES
            and not ((one / n).is_file() and (two / n).is_file()
                     and filecmp.cmp(one / n, two / n, shallow=False))]


# --------------------------------------------------------------------------- the run


def bench(pages: int, args: argparse.Namespace) -> dict:
    work = args.work
    print(f"\n== {pages} pages", flush=True)
    source = prepare(pages, args.seed, work)
    folder = work / f"run-{pages}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    store = folder / "store.sqlite"
    shutil.copyfile(source, store)
    workers = str(args.workers)
    results: dict = {"pages": pages, "seed": args.seed, "cpus": os.cpu_count()}

    print("  full build...", flush=True)
    results["full"] = measure("build", str(store), str(folder / "full"), "cache", workers, "-")
    if pages <= args.naive_max:
        print("  naive reference...", flush=True)
        results["naive"] = measure("naive", str(store), str(folder / "naive"))
        shutil.rmtree(folder / "naive", ignore_errors=True)

    if pages > args.full_only_above:
        (work / f"results-{pages}.json").write_text(json.dumps(results, indent=2))
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
        return results
    titles = change_pages(store, pages, args.seed, args.changes)
    results["changed_titles"] = titles
    for name in ("incremental", "rebuilt"):
        shutil.copytree(folder / "full", folder / name)
    print(f"  incremental build after {len(titles)} changed pages...", flush=True)
    results["incremental"] = measure("build", str(store), str(folder / "incremental"), "cache",
                                     workers, "-")
    print("  full build of the changed store (empty cache)...", flush=True)
    results["rebuilt"] = measure("build", str(store), str(folder / "rebuilt"), "nocache",
                                 workers, "-")
    differ = same_files(folder / "incremental", folder / "rebuilt")
    results["incremental_identical"] = not differ
    results["differing_files"] = differ
    if args.profile:  # apart from the measured builds: cProfile slows the main process down
        profile = work / f"profile-full-{pages}.txt"
        print(f"  profiled full build (main process) -> {profile}...", flush=True)
        results["profiled"] = measure("build", str(store), str(folder / "profiled"), "nocache",
                                      workers, str(profile))
    (work / f"results-{pages}.json").write_text(json.dumps(results, indent=2))
    if not args.keep:
        shutil.rmtree(folder, ignore_errors=True)
    return results


def table(all_results: list[dict]) -> str:
    rows = [("N", "build", "wall s", "pages/s", "triples/s", "peak RSS MB (largest / tree)",
             "vs naive")]
    for r in all_results:
        naive = r.get("naive")
        for key, label in (("full", "project, full"), ("naive", "naive reference"),
                           ("incremental", "project, incremental "
                                           f"({len(r.get('changed_titles', ()))} pages)"),
                           ("rebuilt", "project, full, changed store")):
            figures = r.get(key)
            if figures is None:
                continue
            seconds = figures["seconds"]
            ratio = ""
            if key == "full" and naive:
                ratio = f"{naive['seconds'] / seconds:.1f}x faster"
            if key == "incremental":
                ratio = f"{100 * seconds / r['full']['seconds']:.1f} % of full"
            rows.append((
                str(r["pages"]), label, f"{seconds:.1f}", f"{figures['pages'] / seconds:.0f}",
                f"{figures['triples'] / seconds:,.0f}",
                f"{figures['process_peak_mb']:.0f} / {figures['tree_peak_mb']:.0f}", ratio,
            ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(row, widths)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        child(*argv[1:])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, nargs="+", default=[500])
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=0, help="0: the build decides")
    parser.add_argument("--naive-max", type=int, default=10_000,
                        help="no naive reference above this many pages (its graph would not fit)")
    parser.add_argument("--full-only-above", type=int, default=10_000,
                        help="above this many pages, only the full build (for its peak memory)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tierslieux-bench"))
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the releases")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    all_results = [bench(n, args) for n in args.pages]
    print()
    print(table(all_results))
    for r in all_results:
        if "incremental" not in r:
            print(f"\nN={r['pages']}: phases (s) of the full build: {r['full']['phases']}")
            continue
        print(f"\nN={r['pages']}: incremental output byte-identical to a full build: "
              f"{r['incremental_identical']}" + (f" (differ: {r['differing_files']})"
                                                 if r["differing_files"] else "")
              + f"; pages parsed by the incremental build: {r['incremental']['pages_parsed']}")
        print(f"  phases (s): full {r['full']['phases']}, incremental "
              f"{r['incremental']['phases']}")
        if "naive" in r:
            print(f"  naive stages (s): {r['naive']['stages']}; triples: naive "
                  f"{r['naive']['triples']}, project {r['full']['triples']}")
    sizes = {r["pages"]: r["full"] for r in all_results}
    if 10_000 in sizes and 50_000 in sizes:
        for key in ("process_peak_mb", "tree_peak_mb"):
            ratio = sizes[50_000][key] / sizes[10_000][key]
            print(f"\npeak memory ({key}) at 50,000 pages: {ratio:.2f}x the peak at 10,000")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
