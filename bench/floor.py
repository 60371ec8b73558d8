"""What issue 16's first target asks, against the floor of the work it keeps: how fast the
libraries the build must use do that work alone, side by side with the reference build.

    python bench/floor.py --sample 2000                  # a few minutes
    python bench/floor.py --pages 10000                  # generated pages (about 15 minutes)

Target 1 of issue 16 asks for a full build 4× faster than the reference commit, "with the
whole release (every file, SHACL, Table Schema, parse-back) as today", mwparserfromhell staying
the parser. This measures, on one store and in one run, each in a fresh process of its own
(bench/run.py's ``measure``):

- the **reference** full build (27dac7b) and the **project**'s full build without the site,
  whose release gives the dumps below;
- the floor of each part of the work a build cannot do without, with the fastest library at
  hand and nothing else: starting Python with the two native libraries imported (once per
  process the build starts: the main one and one worker a core); mwparserfromhell's **C
  tokenizer** alone over every page the build parses (no node tree, which the mapping
  needs: the parse's floor); **pyoxigraph** parsing the three dumps the release publishes
  (Turtle, JSON-LD, N-Triples; the parse-back), then serialising the same triples in those
  three formats; the gzip of the N-Triples at the build's level; a SHA-256 of every
  published file.

It prints each part's CPU seconds, their sum, the budget target 1 leaves (the reference's
CPU seconds and wall time divided by 4) and the wall time the floor would take if every core
were busy all the time. The mapping, SHACL, the CSV tables and their Table Schema checks, the
merge and the diff are not in the floor: a build needs them too, so a floor above the budget
means the target cannot be met with these libraries, whatever the rest costs.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import run  # noqa: E402  (bench/run.py: prepare, measure, reference_code)

#: the dumps of a release and the pyoxigraph format each is parsed and serialised in
DUMPS = (("tierslieux.ttl", "text/turtle"), ("tierslieux.jsonld", "application/ld+json"),
         ("tierslieux.nt.gz", "application/n-triples"))


def _cpu() -> float:
    times = os.times()
    return times.user + times.system


def _dump_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data


def child(step: str, *args: str) -> dict:
    """One part of the floor, in this process: its CPU seconds (``cpu``) and what it did."""
    if step == "start":  # the interpreter's start and the two native libraries' import
        import mwparserfromhell  # noqa: F401
        import pyoxigraph  # noqa: F401

        return {"cpu": round(_cpu(), 3)}
    if step == "tokenize":
        from mwparserfromhell.parser import Parser

        from tierslieux.pipeline.store import Store
        from tierslieux.runner.build import BuildOptions, _plan

        store_path = args[0]
        plan = _plan(store_path, BuildOptions(cache=False))
        with Store(store_path, create=False) as store:
            texts = [store.get(pid).revision.text for pid, _, _ in plan.listing]
        tokenizer = Parser()._tokenizer
        started = _cpu()
        tokens = sum(len(tokenizer.tokenize(text, 0, True)) for text in texts)
        return {"cpu": round(_cpu() - started, 3), "pages": len(texts), "tokens": tokens,
                "megabytes": round(sum(len(t.encode()) for t in texts) / 1e6, 1)}
    release = Path(args[0])
    import pyoxigraph

    if step == "parse":  # the parse-back of the three dumps
        data = {name: _dump_bytes(release / name) for name, _ in DUMPS}
        started = _cpu()
        counts = {name: sum(1 for _ in pyoxigraph.parse(data[name], mime))
                  for name, mime in DUMPS}
        return {"cpu": round(_cpu() - started, 3), "triples": counts}
    if step == "serialise":
        triples = list(pyoxigraph.parse(_dump_bytes(release / "tierslieux.nt.gz"),
                                        "application/n-triples"))
        started = _cpu()
        sizes = {mime: len(pyoxigraph.serialize(triples, format=mime)) for _, mime in DUMPS}
        return {"cpu": round(_cpu() - started, 3), "bytes": sizes}
    if step == "gzip":
        from tierslieux.exports.ntriples import GZIP_LEVEL

        data = _dump_bytes(release / "tierslieux.nt.gz")
        started = _cpu()
        size = len(gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0))
        return {"cpu": round(_cpu() - started, 3), "bytes": size}
    if step == "sha256":
        files = sorted(p for p in release.rglob("*") if p.is_file())
        started = _cpu()
        for path in files:
            with open(path, "rb") as stream:
                hashlib.file_digest(stream, "sha256")
        return {"cpu": round(_cpu() - started, 3), "files": len(files)}
    raise SystemExit(f"unknown step {step}")


def measure_step(step: str, *args: str) -> dict:
    """``child`` in a fresh process (bench/floor.py _child STEP ARGS)."""
    import subprocess

    command = [sys.executable, str(Path(__file__).resolve()), "_child", step, *args]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


PARTS = (("start", "Python started with mwparserfromhell and pyoxigraph imported, per process"),
         ("tokenize", "mwparserfromhell's C tokenizer over every page (no tree)"),
         ("parse", "pyoxigraph parses the three dumps (the parse-back)"),
         ("serialise", "pyoxigraph serialises the triples as Turtle, JSON-LD, N-Triples"),
         ("gzip", "gzip of the N-Triples"),
         ("sha256", "SHA-256 of every published file"))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "_child":
        print(json.dumps(child(*argv[1:])))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, help="N pages copied from the bundled sample")
    parser.add_argument("--pages", type=int, help="N generated pages (bench/generate.py)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--reference", default="27dac7b")
    parser.add_argument("--target", type=float, default=4.0, help="the speed-up asked for")
    parser.add_argument("--work", type=Path, default=Path("/tmp/tierslieux-bench"))
    args = parser.parse_args(argv)
    if (args.sample is None) == (args.pages is None):
        parser.error("give one of --sample N or --pages N")
    kind, pages = ("sample", args.sample) if args.sample else ("generated", args.pages)
    args.work.mkdir(parents=True, exist_ok=True)
    source = run.prepare(kind, pages, args.seed, args.work)
    folder = args.work / f"floor-{kind}-{pages}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    results: dict = {"kind": kind, "pages": pages, "cpus": os.cpu_count()}
    for name, env in (("reference", {"PYTHONPATH": str(run.reference_code(args.reference,
                                                                          args.work))}),
                      ("project", None)):
        run.warm_up(env)
        store = folder / f"{name}-store.sqlite"
        shutil.copyfile(source, store)
        print(f"  full build, {name}...", flush=True)
        extra = () if name == "reference" else ("nosite",)
        results[name] = run.measure("build", str(store), str(folder / name), "cache", "0",
                                    "-", *extra, env=env)
    store, release = folder / "project-store.sqlite", folder / "project"
    processes = 1 + (os.cpu_count() or 1)  # the main process and one worker a core
    floor = {}
    for step, _ in PARTS:
        print(f"  floor: {step}...", flush=True)
        floor[step] = measure_step(step, str(store) if step == "tokenize" else str(release))
    floor["start"]["cpu"] = round(floor["start"]["cpu"] * processes, 3)
    results["floor"] = floor
    (args.work / f"floor-{kind}-{pages}.json").write_text(json.dumps(results, indent=2))

    reference, project = results["reference"], results["project"]
    total = sum(part["cpu"] for part in floor.values())
    cores = os.cpu_count() or 1
    budget_cpu = reference["cpu_seconds"] / args.target
    budget_wall = reference["seconds"] / args.target
    print(f"\n{kind} wiki, {pages} pages, {project['triples']:,} triples, {cores} cores\n")
    print("| | CPU s | wall s |\n|---|---|---|")
    print(f"| reference {args.reference}, full build | {reference['cpu_seconds']:.2f} | "
          f"{reference['seconds']:.2f} |")
    print(f"| project, full build without the site | {project['cpu_seconds']:.2f} | "
          f"{project['seconds']:.2f} |")
    print(f"| **target: {args.target:g}× the reference** | **{budget_cpu:.2f}** | "
          f"**{budget_wall:.2f}** |")
    for step, label in PARTS:
        detail = " (×%d processes)" % processes if step == "start" else ""
        print(f"| floor: {label}{detail} | {floor[step]['cpu']:.2f} | |")
    print(f"| **floor, sum** (wall: every core busy all the time) | **{total:.2f}** | "
          f"**{total / cores:.2f}** |")
    print(f"\nthe floor is {100 * total / budget_cpu:.0f} % of the target's CPU budget and "
          f"{100 * total / cores / budget_wall:.0f} % of its wall budget; the project's build "
          f"is {reference['seconds'] / project['seconds']:.2f}× the reference "
          f"({reference['cpu_seconds'] / project['cpu_seconds']:.2f}× in CPU time), the floor "
          f"{reference['cpu_seconds'] / total:.2f}× in CPU time")
    print(f"parse-back triples: {floor['parse']['triples']}; pages tokenized: "
          f"{floor['tokenize']['pages']} ({floor['tokenize']['megabytes']} MB)")
    if total > budget_cpu:
        print(f"the floor alone is above the target: a build that keeps this work cannot be "
              f"{args.target:g}× the reference on this machine")
    shutil.rmtree(folder, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
