"""A/B of the per-page work of a build (parse, map, per-page checks): two trees side by side.

    python bench/pages.py --store STORE.sqlite \
        --a ../checkout-of-main --b .             # another checkout's code against this tree

The store is copied into ``--work`` (never written). Each round runs, in a fresh process of
its own and alternately (A, B, B, A…), ``runner.pages.page_result`` over every page the build
would parse, the pages read from the store beforehand (so only parse + map + checks are
timed), with the tree of that variant first on PYTHONPATH. It prints, per run, the CPU
seconds of the loop and its pages per CPU second, then the ratios A/B of the best runs, of the
medians and the median of the rounds' ratios (the machine may be shared: look at all three); and
checks that both trees give the same results (a digest of every page's lines, issues,
unresolved class checks and flags), which the per-page byte-identity of a build needs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def child(store_path: str) -> None:
    """Time page_result over every page of the store (run with the variant's tree first)."""
    import zlib

    from tierslieux.ontology import load_mapping
    from tierslieux.pipeline.map import Mapper
    from tierslieux.pipeline.store import Store
    from tierslieux.runner import pages as tasks
    from tierslieux.runner.build import BuildOptions, _plan
    from tierslieux.runner.shacl_check import checker as make_checker

    options = BuildOptions(cache=False)
    plan = _plan(store_path, options)
    mapper = Mapper(load_mapping(options.mapping_path), plan.site, options.base_iri,
                    smw_types=plan.smw_types)
    state = tasks.Shared(store_path, "", mapper, make_checker())
    with Store(store_path, create=False) as store:
        pages = [(store.get(pid), digest) for pid, _, digest in plan.listing]
    started = time.process_time()
    wall = time.perf_counter()
    results = [tasks.page_result(state, page, digest) for page, digest in pages]
    cpu = time.process_time() - started
    wall = time.perf_counter() - wall
    digest = hashlib.sha256()
    for r in results:
        digest.update(f"{r.page_id}|{r.triples}|{r.unresolved}|{r.flags}|".encode())
        digest.update(zlib.decompress(r.lines))
        digest.update(b"|")
        digest.update(zlib.decompress(r.issues))
        digest.update(b"\n")
    print(json.dumps({"pages": len(results), "cpu": round(cpu, 3), "wall": round(wall, 3),
                      "digest": digest.hexdigest()}))


def run(tree: Path, store: Path) -> dict:
    env = dict(os.environ, PYTHONPATH=str(tree))
    out = subprocess.run([sys.executable, __file__, "--child", str(store)], env=env,
                         check=True, capture_output=True, text=True, cwd=str(tree))
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":  # before the options the parent needs
        child(sys.argv[2])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, required=True,
                        help="a store, e.g. bench/run.py's store-sample-2000.sqlite (copied)")
    parser.add_argument("--a", type=Path, required=True, help="tree A (e.g. a checkout of main)")
    parser.add_argument("--b", type=Path, default=Path("."), help="tree B (this one)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/bench-pages"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    store = args.work / args.store.name
    if not store.exists():
        shutil.copyfile(args.store, store)
    trees = {"A": args.a.resolve(), "B": args.b.resolve()}
    cpu: dict[str, list[float]] = {"A": [], "B": []}
    digests: dict[str, set[str]] = {"A": set(), "B": set()}
    for round_ in range(args.rounds):
        order = ("A", "B") if round_ % 2 == 0 else ("B", "A")  # ABBA: drift cancels out
        for name in order:
            tree = trees[name]
            result = run(tree, store)
            digests[name].add(result["digest"])
            cpu[name].append(result["cpu"])
            print(f"round {round_ + 1} {name} ({tree}): {result['pages']} pages, "
                  f"cpu {result['cpu']:.2f} s ({result['pages'] / result['cpu']:.0f} pages/s), "
                  f"wall {result['wall']:.2f} s, load {os.getloadavg()[0]:.1f}", flush=True)
    ratios = sorted(a / b for a, b in zip(cpu["A"], cpu["B"]))
    same = digests["A"] == digests["B"] and len(digests["A"]) == 1
    print(f"cpu A/B: best {min(cpu['A']):.2f} s / {min(cpu['B']):.2f} s = "
          f"{min(cpu['A']) / min(cpu['B']):.2f}x, median {statistics.median(cpu['A']):.2f} s / "
          f"{statistics.median(cpu['B']):.2f} s = "
          f"{statistics.median(cpu['A']) / statistics.median(cpu['B']):.2f}x, "
          f"median of the rounds' ratios {statistics.median(ratios):.2f}x; "
          f"results {'identical' if same else 'DIFFERENT'}")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
