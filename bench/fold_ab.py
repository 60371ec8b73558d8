"""A/B of a rebuild's label fold and Table Schema checks: from what changed, or whole.

    python bench/fold_ab.py --sample 4000            # about 10 minutes on 2 cores
    python bench/fold_ab.py --sample 4000 --reuse --whole-from 1.0 --workers 1

One full build of a sample wiki (bench/run.py's ``prepare``), then ``--changes`` pages get a
new revision (``change_pages``); that state is copied, and the rebuild runs on a fresh copy of
it, alternately (A, B, A, B…), each in a process of its own:

- **A**: as the build does: the fold decided again only for the subjects the changed lines
  touch (pipeline/labelstate.py) when the kept merge was updated (on the sample wikis the ten
  changed pages' runs hold more than ``keptmerge.WHOLE_FROM`` of the bytes, so the merge, and
  the fold, are whole unless ``--whole-from 1.0``), the tables checked across their pieces
  (validation/tablerows.py);
- **B**: the same rebuild, the fold made whole and the tables read whole (the kept fold and the
  pieces' checks ignored).

It prints, per rebuild, the seconds of ``fold_labels``, of the ``check_tables`` validator and of
the whole rebuild, and the load average beside; and checks that A and B publish the same bytes.
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
sys.path.insert(0, str(HERE))


def child(variant: str, store: str, out: str, whole_from: float | None, workers: int) -> None:
    from tierslieux.pipeline import keptmerge, labelstate
    from tierslieux.runner import build as build_module
    from tierslieux.validation import tables

    if whole_from is not None:  # both variants alike
        keptmerge.WHOLE_FROM = whole_from

    if variant == "B":
        def unusable(*args: object) -> None:
            raise labelstate.Unusable("B: the whole fold")

        labelstate.update = unusable  # type: ignore[assignment]
        tables.recalled = lambda *args: None  # type: ignore[assignment]
    seconds: dict[str, float] = {}
    fold = build_module.fold_labels

    def timed(release):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return fold(release)
        finally:
            seconds["fold"] = round(time.perf_counter() - started, 3)

    build_module.fold_labels = timed  # type: ignore[assignment]
    started = time.perf_counter()
    result = build_module.build(store, out, build_module.BuildOptions(workers=workers or None))
    phases = dict(result.timings)
    print(json.dumps({"variant": variant, "fold": seconds.get("fold"),
                      "check_tables": phases.get("release: validator check_tables"),
                      "merge": phases.get("merge"), "rebuild": round(
                          time.perf_counter() - started, 2), "parsed": result.pages_parsed,
                      "load": os.getloadavg()[0]}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=4000)
    parser.add_argument("--changes", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/tmp/tierslieux-bench"))
    parser.add_argument("--whole-from", type=float, default=None,
                        help="keptmerge.WHOLE_FROM in the rebuilds (1.0: the kept merge is "
                             "always updated, so the fold can use its changes)")
    parser.add_argument("--workers", type=int, default=0,
                        help="workers of the rebuilds (0: the build decides; 1 with --whole-from:"
                             " the merge runs in the process that set it)")
    parser.add_argument("--reuse", action="store_true",
                        help="reuse the state (full build, changed pages) of the last run")
    parser.add_argument("--child", nargs=3, metavar=("VARIANT", "STORE", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(*args.child, args.whole_from, args.workers)
        return
    from run import change_pages, prepare, same_files

    from tierslieux.runner.build import BuildOptions, build

    args.work.mkdir(parents=True, exist_ok=True)
    source = prepare("sample", args.sample, 8, args.work)
    base = args.work / f"fold-ab-{args.sample}"
    state = base / "state"
    reuse = args.reuse and (state / "ready").is_file()
    for folder in base.glob("*") if reuse else [base]:
        if folder != state:
            shutil.rmtree(folder, ignore_errors=True)
    if not reuse:
        state.mkdir(parents=True)
        shutil.copyfile(source, state / "store.sqlite")
        print(f"  full build of {args.sample} pages...", flush=True)
        build(state / "store.sqlite", state / "release", BuildOptions())
        change_pages(state / "store.sqlite", args.changes)
        (state / "ready").touch()
    releases = {}
    for number in range(args.rounds):
        for variant in ("A", "B"):
            folder = base / f"{variant}{number}"
            shutil.copytree(state, folder)
            env = dict(os.environ, PYTHONPATH=str(HERE.parent))
            extra = ["--workers", str(args.workers)] + (
                [] if args.whole_from is None else ["--whole-from", str(args.whole_from)])
            line = subprocess.run(
                [sys.executable, __file__, "--child", variant, str(folder / "store.sqlite"),
                 str(folder / "release"), *extra], check=True, capture_output=True, text=True,
                env=env).stdout.strip().splitlines()[-1]
            print("  " + line, flush=True)
            releases.setdefault(variant, folder / "release")
    differ = same_files(releases["A"], releases["B"])
    print(f"  A and B publish the same bytes: {'yes' if not differ else differ}")


if __name__ == "__main__":
    main()
