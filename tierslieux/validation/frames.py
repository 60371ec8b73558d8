"""How a dump assembled from segments was put together, and the check that it still is.

``exports.segwrite.write_segments`` writes each RDF dump as its head, the parts of every segment
(each parsed back when it was rendered) and its tail, hashing them as they are written; the
``Manifest`` it returns is what ``validation.release.check_rdf_files`` then checks instead of
parsing the whole files again: each file is read once, and every part, and the whole file,
must have the SHA-256 computed from the bytes that were parsed back.
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class FileFrame:
    """How one file was assembled: what the release's parse-back checks."""

    name: str
    head: bytes
    tail: bytes
    skip: int
    #: (SHA-256, size) of each part as written (the first without its ``skip`` bytes), in
    #: order: they were computed from the bytes the parse-back checked
    parts: tuple[tuple[str, int], ...]
    sha256: str
    size: int


@dataclass(frozen=True)
class Manifest:
    """The RDF dumps written from segments."""

    files: tuple[FileFrame, ...]
    triples: int
    #: the parse-back problems of the segments (the release fails on any)
    problems: tuple[str, ...]

    def digests(self) -> dict[str, tuple[int, str]]:
        """file name -> (size, SHA-256), computed while writing."""
        return {f.name: (f.size, f.sha256) for f in self.files}


def check_frames(folder: Path, manifest: Manifest, written: int) -> list[str]:
    """The parse-back of dumps assembled from segments: the segments' own verdicts, the
    triple count, and that each file is its head, the verified parts in order and its tail
    (read once, every part and the whole file hashed)."""
    problems = list(manifest.problems[:20])
    if len(manifest.problems) > 20:
        problems.append(f"and {len(manifest.problems) - 20} more segments")
    if manifest.triples != written:
        problems.append(f"the segments hold {manifest.triples} triples, {written} were written")
    # the files side by side: their reads and hashes let other threads run
    with ThreadPoolExecutor(max(1, min(len(manifest.files), os.cpu_count() or 1))) as threads:
        found = list(threads.map(lambda frame: _frame_problem(folder / frame.name, frame),
                                 manifest.files))
    for frame, why in zip(manifest.files, found):
        if why:
            problems.append(f"{frame.name} is not the segments it was assembled from: {why}")
    return problems


def _frame_problem(path: Path, frame: FileFrame) -> str:
    whole = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            def read(size: int) -> bytes:
                data = stream.read(size)
                whole.update(data)
                return data

            if read(len(frame.head)) != frame.head:
                return "its head differs"
            for index, (sha, size) in enumerate(frame.parts):
                if hashlib.sha256(read(size)).hexdigest() != sha:
                    return f"part {index + 1} of {len(frame.parts)} differs"
            if read(len(frame.tail)) != frame.tail:
                return "its tail differs"
            if read(1):
                return "it has bytes after its tail"
    except OSError as exc:
        return str(exc)
    if whole.hexdigest() != frame.sha256:
        return "its SHA-256 differs from the one computed while writing it"
    return ""
