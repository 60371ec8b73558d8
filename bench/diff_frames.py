"""CPU time of the diff of a release from its dump's gzip members (``diff_from_frames``).

    PYTHONPATH=TREE python bench/diff_frames.py OLD_RELEASE NEW_RELEASE [--repeat 5]
    PYTHONPATH=TREE python bench/diff_frames.py SNAP/incremental.previous SNAP/incremental

The records of both dumps (``DumpRecord``) are made here from the files themselves (each gzip
member's SHA-256 and size, as the build's segments are), so that any two releases written by
the build can be compared. The diff is run ``--repeat`` times by the tierslieux found on
``PYTHONPATH``, the two diff files written in a temporary folder; the smallest CPU time is
printed with a digest of the diff and of both files (equal digests: the same diff).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
import time
import zlib
from pathlib import Path

from tierslieux.exports.diff import DIFF_ADDED, DIFF_REMOVED, DUMP, PAGE_MARKER, DumpRecord
from tierslieux.exports.diff import diff_from_frames
from tierslieux.exports.ntriples import NTriplesGzWriter


def record_of(path: Path) -> DumpRecord:
    """The record of a dump made of whole gzip members (no head, no tail)."""
    data = path.read_bytes()
    parts, offset, triples, pages = [], 0, 0, 0
    while offset < len(data):
        inflate = zlib.decompressobj(wbits=31)
        text = inflate.decompress(data[offset:]) + inflate.flush()
        size = len(data) - offset - len(inflate.unused_data)
        parts.append((hashlib.sha256(data[offset:offset + size]).hexdigest(), size))
        lines = text.decode("utf-8").splitlines()
        triples += len(lines)
        pages += sum(1 for line in lines if line.endswith(PAGE_MARKER))
        offset += size
    return DumpRecord(hashlib.sha256(data).hexdigest(), len(data), 0, 0, tuple(parts),
                      triples, pages)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    old, new = record_of(args.old / DUMP), record_of(args.new / DUMP)
    common = len(set(old.parts) & set(new.parts))
    print(f"members: old {len(old.parts)}, new {len(new.parts)}, common {common}")
    best = float("inf")
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            start = time.process_time()
            with NTriplesGzWriter(Path(tmp) / DIFF_ADDED) as added, \
                    NTriplesGzWriter(Path(tmp) / DIFF_REMOVED) as removed:
                diff, pages = diff_from_frames(args.old / DUMP, old, args.new / DUMP, new,
                                               (added, removed))
            best = min(best, time.process_time() - start)
        files = hashlib.sha256(b"".join((Path(tmp) / name).read_bytes()
                                        for name in (DIFF_ADDED, DIFF_REMOVED))).hexdigest()
    print(f"diff_from_frames: {best:.3f} s CPU (best of {args.repeat})")
    print(f"triples +{diff.triples_added} -{diff.triples_removed}, entities "
          f"+{diff.count('added')} -{diff.count('removed')} ~{diff.count('modified')}, "
          f"previous pages {pages}")
    print(f"digest diff {hashlib.sha256(repr(diff).encode()).hexdigest()[:16]} "
          f"files {files[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
