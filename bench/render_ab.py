"""A/B of the release's segment rendering: ``render_segment`` over the segments of a release.

    python bench/render_ab.py RELEASE_FOLDER --main CHECKOUT_OF_MAIN [--tree .] [--rounds 3]

Each side runs in a subprocess with its tree first on PYTHONPATH; prints CPU seconds of each,
the ratio, and whether the rendered parts are byte-identical (a SHA-256 over all of them).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import gzip, hashlib, json, sys, time
from pathlib import Path
from tierslieux.exports import segments
from tierslieux.exports.jsonld import Context
from tierslieux.exports.segcut import SUBJECTS, LINES, Segment
from tierslieux.model.rdf import split_line
folder, rounds = Path(sys.argv[1]), int(sys.argv[2])
context = Context.from_document(json.loads((folder / "context.jsonld").read_text()))
from tierslieux.model.rdf import CORE_PREFIXES
setup = segments.Setup({**CORE_PREFIXES, **context.prefixes}, context, "https://w3id.org/tierslieux/")
text = gzip.decompress((folder / "tierslieux.nt.gz").read_bytes()).decode("utf-8")
lines = text.splitlines()
segs, run, subject = [], [], None
def close():
    data = ("\n".join(run) + "\n").encode("utf-8")
    triples = sorted(split_line(line) for line in run)
    segs.append(Segment(SUBJECTS, data, len(run), triples))
    segs.append(Segment(LINES, data, len(run)))
for line in lines:
    s = line.split(" ", 1)[0]
    if s != subject and len(run) >= 2000:
        close(); run = []
    subject = s
    run.append(line)
if run: close()
digest = hashlib.sha256()
start = time.process_time()
for r in range(rounds):
    for seg in segs:
        done = segments.render_segment(setup, seg)
        assert not done.problems, done.problems
        if r == 0:
            for name in sorted(done.parts):
                digest.update(done.parts[name])
print(json.dumps({"cpu": time.process_time() - start, "sha": digest.hexdigest(),
                  "segments": len(segs), "triples": len(lines)}))
"""


def side(tree: str, folder: str, rounds: int) -> dict:
    env = {**os.environ, "PYTHONPATH": tree}
    out = subprocess.run([sys.executable, "-c", CHILD, folder, str(rounds)], env=env,
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("release")
    parser.add_argument("--main", required=True, help="the other tree (e.g. a checkout of main)")
    parser.add_argument("--tree", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    a = side(args.main, args.release, args.rounds)
    b = side(args.tree, args.release, args.rounds)
    print(f"segments {a['segments']}  triples {a['triples']}  rounds {args.rounds}")
    print(f"main  {a['cpu']:.2f} s CPU\ntree  {b['cpu']:.2f} s CPU\nratio {a['cpu'] / b['cpu']:.2f}x")
    print("byte-identical" if a["sha"] == b["sha"] else "OUTPUT DIFFERS")


if __name__ == "__main__":
    main()
