"""Time the site of a release alone: the entity pages, the ontology page (tierslieux.site),
written from a published release's ``tierslieux.nt.gz`` into a scratch folder.

    python bench/site.py RELEASE_DIR [--work /tmp/tierslieux-site-bench]

For the figures of issue 18 (the site's build time at 2,000 and 10,000 generated pages): build
a generated wiki as bench/run.py does (``bench/generate.py --pages N``, ``tierslieux harvest
--dump``, ``tierslieux build``), then run this on its release. It prints the wall and CPU
seconds of the two passes, the pages and files written, and the peak memory of this process.
A build writes the same files in the writers' pool, beside the other formats (exports/writers.py).
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import time
from pathlib import Path

from tierslieux.exports.turtle import write_turtle
from tierslieux.model.lines import read_ntriples_gz, triple_order
from tierslieux.model.rdf import CORE_PREFIXES, DEFAULT_BASE_IRI
from tierslieux.site import write_site


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("release", type=Path)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tierslieux-site-bench"))
    parser.add_argument("--base-iri", default=DEFAULT_BASE_IRI)
    args = parser.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    ordered = triple_order(list(read_ntriples_gz(args.release / "tierslieux.nt.gz")))
    wall, cpu = time.perf_counter(), time.process_time()
    summary = write_site(ordered, args.work, args.base_iri, CORE_PREFIXES, write_turtle,
                         "Movilab")
    result = {
        "triples": len(ordered), "pages": summary.pages, "files": summary.files,
        "skipped": summary.skipped, "wall_s": round(time.perf_counter() - wall, 1),
        "cpu_s": round(time.process_time() - cpu, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
