"""A/B of the build's SHACL check and CSV table pieces: this tree against another, in CPU time.

    python bench/pieces_ab.py [--store /tmp/tierslieux-bench/store-sample-2000.sqlite]
                              [--against main] [--repeat 5] [--work /tmp/tl-pieces-ab]

The store is copied into ``--work`` (never modified) and built once by this tree (with its
cache), for its release's ``tierslieux.nt.gz`` and its cached pages' lines. Then each tree, in
a subprocess of its own (``--against``: a revision, extracted with ``git archive``), the two
taking turns ``--repeat`` times, times in CPU seconds (one process, no pool):

- ``validate_triples``: the streaming SHACL check as ``runner/pages.py validate_runs`` runs
  it over the release and the ontology (violations only, a results cache in an empty folder:
  a full build's, whose file writes weigh); ``validate_triples_nocache``: the same without
  the cache (the checks alone);
- ``local_class_failures``: the per-page ``sh:class`` look-ups, over every cached page;
- ``make_piece``: the table pieces of every subject segment of the release (segcut.cut).

The smallest time of each step is kept, and the ratio printed; the SHACL reports and every
piece (its CSV bytes, counts, checks) of both trees must be equal, which the last line says.
"""

from __future__ import annotations

import argparse
import hashlib
import heapq
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def measure(store: Path, release: Path, repeat: int) -> dict:
    """The timings of the tierslieux found on sys.path, and digests of what it made."""
    import sqlite3

    from tierslieux.exports.segcut import SUBJECTS, cut
    from tierslieux.exports.tablepieces import TablesSetup, collect_index, make_piece
    from tierslieux.exports.tables import load_tables
    from tierslieux.model.lines import read_ntriples_gz, triple_order
    from tierslieux.pipeline.cache import unpack_line_bytes
    from tierslieux.validation.shacl import default_checker, ontology_lines
    from tierslieux.validation.shacl_cache import ShaclCache
    from tierslieux.validation.shacl_stream import validate_triples

    lines = sorted(read_ntriples_gz(release / "tierslieux.nt.gz"))
    checker = default_checker()
    merged, previous = [], None
    for line in heapq.merge(lines, ontology_lines()):
        if line != previous:
            merged.append(line)
            previous = line
    with_ontology = triple_order(merged)
    db = sqlite3.connect(f"{store}.buildcache.sqlite")
    pages = [[line.decode("utf-8") for line in unpack_line_bytes(blob)]
             for (blob,) in db.execute("SELECT lines FROM page ORDER BY page_id")]
    unresolved = set(checker.local_class_failures(ontology_lines()))
    for row in db.execute("SELECT unresolved FROM page"):
        unresolved |= {tuple(pair) for pair in json.loads(row[0])}
    db.close()
    specs = load_tables()
    setup = TablesSetup(tuple(specs), "Movilab", collect_index(lines, specs))
    segments = [s for s in cut(triple_order(lines)) if s.kind == SUBJECTS]
    figures: dict = {"triples": len(with_ontology), "pages": len(pages),
                     "segments": len(segments)}

    def timed(name, step):
        best = None
        for _ in range(repeat):
            before = time.process_time()
            result = step()
            spent = time.process_time() - before
            best = spent if best is None else min(best, spent)
        figures[name] = round(best, 4)
        return result

    def shacl():
        folder = tempfile.mkdtemp(prefix="shacl-", dir=os.environ.get("TMPDIR"))
        try:
            return validate_triples(checker, lambda: with_ontology, frozenset(unresolved),
                                    severities=frozenset({"violation"}),
                                    cache=ShaclCache(Path(folder), "ab"))
        finally:
            shutil.rmtree(folder)

    report = timed("validate_triples", shacl)
    plain = timed("validate_triples_nocache", lambda: validate_triples(
        checker, lambda: with_ontology, frozenset(unresolved),
        severities=frozenset({"violation"})))
    assert plain == report
    failures = timed("local_class_failures",
                     lambda: [sorted(checker.local_class_failures(p)) for p in pages])
    pieces = timed("make_piece", lambda: [make_piece(setup, s.triples) for s in segments])
    figures["same"] = [hashlib.sha256(repr(x).encode("utf-8")).hexdigest()
                       for x in (report, failures, pieces)]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path,
                        default=Path("/tmp/tierslieux-bench/store-sample-2000.sqlite"))
    parser.add_argument("--against", default="main")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tl-pieces-ab"))
    parser.add_argument("--child", nargs=3, metavar=("CODE", "STORE", "RELEASE"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        sys.path.insert(0, args.child[0])
        print(json.dumps(measure(Path(args.child[1]), Path(args.child[2]), args.repeat)))
        return
    args.work.mkdir(parents=True, exist_ok=True)
    store, release = args.work / "store.sqlite", args.work / "release"
    if not (release / "tierslieux.nt.gz").is_file():
        shutil.copy(args.store, store)
        subprocess.run([sys.executable, "-c",
                        "import sys; from tierslieux.runner.build import BuildOptions, build; "
                        "build(sys.argv[1], sys.argv[2], BuildOptions(cache=True, site=False))",
                        str(store), str(release)], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(HERE.parent)})
    other = args.work / "code-against"
    shutil.rmtree(other, ignore_errors=True)
    other.mkdir()
    archive = subprocess.run(["git", "-C", str(HERE.parent), "archive", args.against,
                              "tierslieux"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(other)], input=archive, check=True)
    results: dict[str, dict] = {}
    for _ in range(args.repeat):  # the trees take turns: the machine's load falls on both
        for name, code in ((args.against, other), ("this tree", HERE.parent)):
            child = subprocess.run(
                [sys.executable, __file__, "--repeat", "2", "--child", str(code), str(store),
                 str(release)], check=True, capture_output=True, text=True, cwd=args.work,
                env={**os.environ, "PYTHONPATH": str(code), "TMPDIR": str(args.work),
                     "PYTHONHASHSEED": "0"})  # the reprs of the frozensets compared
            figures = json.loads(child.stdout.strip().splitlines()[-1])
            best = results.setdefault(name, figures)
            for key, value in figures.items():
                if isinstance(value, float):
                    best[key] = min(best[key], value)
    before, after = results[args.against], results["this tree"]
    print(f"{before['triples']} triples with the ontology, {before['pages']} pages, "
          f"{before['segments']} subject segments; CPU s, best of {args.repeat} turns")
    print(f"{'step':26} {args.against:>10} {'this tree':>10} {'ratio':>7}")
    for key in ("validate_triples", "validate_triples_nocache", "local_class_failures",
                "make_piece"):
        print(f"{key:26} {before[key]:10.3f} {after[key]:10.3f} {before[key] / after[key]:6.2f}x")
    differ = [what for what, one, two in zip(("SHACL report", "look-ups", "pieces"),
                                             before["same"], after["same"]) if one != two]
    print("same SHACL report, look-ups and pieces" if not differ else
          f"RESULTS DIFFER: {', '.join(differ)}")


if __name__ == "__main__":
    main()
