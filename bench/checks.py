"""Time the release's whole-release Python passes of issue 16 target 1 alone: the CSV tables
(``build_tables``, ``write_table``, the national table), the streaming Table Schema check
(``validation.tables.check_package``), the compiled SHACL check (``validate_triples``, as the
build runs it over the merged runs and the ontology) and the Linked Data site (``write_site``),
on a published release's ``tierslieux.nt.gz``, for this tree and for another commit side by
side.

    python bench/checks.py RELEASE_DIR [--against main] [--repeat 3] [--work /tmp/tl-checks]

RELEASE_DIR is a release built by ``tierslieux build`` (for instance of a wiki of 1,000 pages
made by ``generate.write_sample_export``, as bench/run.py makes it). Each tree runs in a
subprocess of its own (``--against``: a revision, extracted with ``git archive``), the two
taking turns ``--repeat`` times so that the load of a shared machine falls on both; the
smallest CPU time of each step is kept: its user time, and its system time (the kernel's work:
file creation) on a line of its own when it is not negligible.
The outputs of both trees are compared byte for byte (``cmp -r``), and the SHACL reports too.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def _cpu() -> tuple[float, float]:
    times = os.times()
    return times.user, times.system


def measure(release: Path, out: Path, repeat: int) -> dict:
    """The timings of one tree (the tierslieux found on sys.path)."""
    import heapq

    from tierslieux.exports import mediation
    from tierslieux.exports.tables import build_tables, load_tables, write_table
    from tierslieux.exports.turtle import write_turtle
    from tierslieux.model.lines import read_ntriples_gz, triple_order
    from tierslieux.model.rdf import CORE_PREFIXES, DEFAULT_BASE_IRI
    from tierslieux.site import write_site
    from tierslieux.validation.shacl import default_checker, ontology_lines, validate_triples
    from tierslieux.validation.tables import check_package

    lines = sorted(read_ntriples_gz(release / "tierslieux.nt.gz"))
    ordered = triple_order(lines)
    specs = load_tables()
    checker = default_checker()
    merged = []
    previous = None
    for line in heapq.merge(lines, ontology_lines()):
        if line != previous:
            merged.append(line)
            previous = line
    with_ontology = triple_order(merged)
    unresolved = frozenset(checker.local_class_failures(merged))
    figures: dict = {"triples": len(ordered)}

    def timed(name, step):
        best = None
        for _ in range(repeat):
            user, system = _cpu()
            result = step()
            user_after, system_after = _cpu()
            spent = (user_after - user, system_after - system)
            best = spent if best is None or sum(spent) < sum(best) else best
        figures[name] = round(best[0], 3)
        if best[1] >= 0.05:
            figures[name + " (system)"] = round(best[1], 3)
        return result

    tables_dir = out / "tables"
    tables_dir.mkdir(parents=True, exist_ok=True)
    tables = timed("build_tables", lambda: build_tables(ordered, specs, sitename="Movilab"))

    def write_all():
        for table in tables:
            write_table(table, tables_dir)

    timed("write_table", write_all)
    national = timed("national_table", lambda: mediation.national_table(tables))
    mediation.write_national(national, tables_dir)
    timed("check_package", lambda: list(check_package(release / "datapackage.json")))
    report = timed("validate_triples", lambda: validate_triples(
        checker, lambda: with_ontology, unresolved, severities=frozenset({"violation"})))
    full = timed("validate_triples_all", lambda: validate_triples(
        checker, lambda: with_ontology, unresolved))
    (out / "shacl.txt").write_text(repr(report) + "\n" + repr(full) + "\n", encoding="utf-8")

    def site():
        shutil.rmtree(out / "site-release", ignore_errors=True)
        (out / "site-release").mkdir()
        return write_site(ordered, out / "site-release", DEFAULT_BASE_IRI, CORE_PREFIXES,
                          write_turtle, "Movilab")

    summary = timed("write_site", site)
    figures["site_pages"] = summary.pages
    figures["site_files"] = summary.files
    figures["table_rows"] = sum(len(t.rows) for t in tables)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("release", type=Path)
    parser.add_argument("--against", default="main")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tl-checks"))
    parser.add_argument("--child", nargs=2, metavar=("CODE", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, args.child[0])
        print(json.dumps(measure(args.release.resolve(), Path(args.child[1]), args.repeat)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    other = args.work / "code-against"
    shutil.rmtree(other, ignore_errors=True)
    other.mkdir()
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", args.against,
                              "tierslieux"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(other)], input=archive, check=True)
    results: dict[str, dict] = {}
    for _ in range(args.repeat):  # the trees take turns: the machine's load falls on both
        for name, code in ((args.against, other), ("this tree", HERE.parent)):
            out = args.work / ("out-against" if code == other else "out-this")
            shutil.rmtree(out, ignore_errors=True)
            out.mkdir()
            child = subprocess.run(
                [sys.executable, __file__, str(args.release), "--repeat", "1",
                 "--child", str(code), str(out)],
                check=True, capture_output=True, text=True, cwd=args.work,
                env={**os.environ, "PYTHONPATH": str(code)})
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            best = results.setdefault(name, figures)
            for key, value in figures.items():
                if isinstance(value, float):
                    best[key] = min(best.get(key, value), value)
    diff = subprocess.run(["diff", "-r", "-q", str(args.work / "out-against"),
                           str(args.work / "out-this")], capture_output=True, text=True)
    before, after = results[args.against], results["this tree"]
    print(f"{before['triples']} triples, {before['site_pages']} site pages, "
          f"{before['table_rows']} table rows; CPU s, best of {args.repeat}")
    print(f"{'step':28} {args.against:>10} {'this tree':>10} {'ratio':>7}")
    for key in dict.fromkeys([*before, *after]):
        if key in ("triples", "site_pages", "site_files", "table_rows", "wall_s"):
            continue
        first, second = before.get(key, 0.0), after.get(key, 0.0)
        ratio = f"{first / second:6.2f}x" if second else "      -"
        print(f"{key:28} {first:10.3f} {second:10.3f} {ratio:>7}")
    print("outputs identical (diff -r)" if diff.returncode == 0 else
          "OUTPUTS DIFFER:\n" + diff.stdout)


if __name__ == "__main__":
    main()
