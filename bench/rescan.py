"""The scan of a store-less rebuild (``runner/partitions.py``) with and without kept scans.

    python bench/rescan.py --pages 2000 --per-stream 100 --changed 1 [--repeat 3] [--before DIR]

Writes two multistream dumps of a generated wiki, the second with one page edited in each of
``--changed`` streams, fills a state's kept scans from the first, then times the phase "scan"
of the second dump: with the kept scans, and without them (every partition decompressed, as
before issue 19's partition skip). ``--before DIR`` also times the scan of a checkout of
tierslieux at DIR (e.g. the main branch) in a subprocess. Prints one line per case: the best
of ``--repeat`` runs, in seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import generate  # noqa: E402
from multistream import write_multistream  # noqa: E402

_TIMED = """
import json, sys, time
from pathlib import Path
from tierslieux.pipeline.dump import read_site_info
from tierslieux.runner import partitions as p
dump, workers, repeat = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
best = None
for _ in range(repeat):
    shared, parts = p.open_dump(dump, None)
    start = time.perf_counter()
    p.scan(dump, shared, parts, read_site_info(dump), (0,), "", workers)
    took = time.perf_counter() - start
    best = took if best is None else min(best, took)
print(json.dumps(best))
"""


def _dumps(folder: Path, count: int, per_stream: int, changed: int) -> tuple[Path, Path]:
    pages = list(generate.Wiki(count, 8).pages())
    streams = max(1, len(pages) // per_stream)
    middles = (((2 * k + 1) * streams // (2 * changed)) * per_stream + per_stream // 2
               for k in range(changed))
    edited = {pages[index].page_id for index in middles}
    second = [generate.changed_revision(page) if page.page_id in edited else page
              for page in pages]
    out = []
    for name, listed in (("one", pages), ("two", second)):
        (folder / name).mkdir()
        dump, _ = write_multistream(generate.write_pages(listed, folder / f"{name}.xml"), folder / name,
                                    pages_per_stream=per_stream)
        out.append(dump)
    return out[0], out[1]


def _scan_here(dump: Path, state: Path | None, workers: int, repeat: int) -> float:
    from tierslieux.pipeline.dump import read_site_info
    from tierslieux.runner import partitions as p
    from tierslieux.runner.partscans import STATE_SCANS, scan_setup

    best = None
    for _ in range(repeat):
        shared, parts = p.open_dump(dump, None)
        if state is not None:
            shared = replace(shared, scans=str(state / STATE_SCANS),
                             scan_setup=scan_setup(shared.root))
        start = time.perf_counter()
        p.scan(dump, shared, parts, read_site_info(dump), (0,), "", workers)
        took = time.perf_counter() - start
        best = took if best is None else min(best, took)
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--per-stream", type=int, default=100)
    parser.add_argument("--changed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="rescan-") as tmp:
        folder = Path(tmp)
        one, two = _dumps(folder, args.pages, args.per_stream, args.changed)
        state = folder / "state"
        state.mkdir()
        _scan_here(one, state, args.workers, 1)  # the first dump's scans kept
        # the first repeat of the second dump keeps the changed streams' scans: time the
        # reuse of the unchanged ones only
        kept_names = {path.name for path in (state / "scans.d").glob("*.json")}
        with_kept = []
        for _ in range(args.repeat):
            with_kept.append(_scan_here(two, state, args.workers, 1))
            for path in (state / "scans.d").glob("*.json"):
                if path.name not in kept_names:
                    path.unlink()
        print(f"rebuild scan, kept scans: {min(with_kept):.2f} s")
        without = _scan_here(two, None, args.workers, args.repeat)
        print(f"rebuild scan, no kept scan: {without:.2f} s")
        if args.before is not None:
            env = dict(os.environ, PYTHONPATH=str(args.before.resolve()))
            took = subprocess.run([sys.executable, "-c", _TIMED, str(two), str(args.workers),
                                   str(args.repeat)], env=env, capture_output=True, text=True,
                                  check=True)
            print(f"rebuild scan, {args.before}: {json.loads(took.stdout):.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
