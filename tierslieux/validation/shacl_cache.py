"""The build's SHACL results kept per group of subjects, so that a rebuild checks what changed.

``ShapeChecker.check_subject`` decides a subject from its own triples and from the answers of
``class_ok(value, cls)`` for its ``sh:class`` checks; nothing else of the release enters it. So
``shacl_stream.validate_triples`` can cut the stream into groups of whole subjects (a subject
whose hash is a multiple of ``GROUP_SUBJECTS`` starts one: content-defined, an edit changes
the groups of the subjects it touches) and keep, for each group named by the SHA-256 of its
triples, what the check found: the results, the pending ``sh:class`` checks, every
``(value, class)`` pair it asked ``class_ok`` about with the answer it got, the rdf:types of
its subjects (the end of the stream types the values no page could) and its ``sh:targetNode``
foci. A group is reused only when each pair it asked about still gets the same answer (the
pairs the pages could not decide change from one build to the next); otherwise it is checked
again. Which subjects make a group does not matter for the results: any cut of whole subjects
gives the same report.

An entry is one JSON file ``<group digest>-<setup digest>.json`` (the setup: tierslieux's
version, the shapes, the ontology and the severities reported), written under a temporary name
and renamed; a damaged entry is checked again. ``prune`` keeps what this check and the previous
one used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger(__name__)

#: a subject whose hash is a multiple of this starts a group
GROUP_SUBJECTS = 64
USED_FILES = ("used-current.txt", "used-previous.txt")
T = TypeVar("T")


@dataclass(frozen=True)
class GroupResults:
    """What checking one group of subjects found (``Result`` fields as tuples)."""

    results: tuple[tuple[str, ...], ...]
    #: (result fields..., value, class) of the checks waiting for the end of the stream
    pending: tuple[tuple[str, ...], ...]
    #: (value, class, answer of class_ok: True, or None for "not known yet")
    asked: tuple[tuple[str, str, bool | None], ...]
    #: subject (as in the triples) -> its rdf:type IRIs (unescaped), typed subjects only
    types: tuple[tuple[str, tuple[str, ...]], ...]
    #: the group's subjects (unescaped) that are sh:targetNode foci
    nodes: tuple[str, ...]

    def still_valid(self, answer: Any) -> bool:
        return all(answer(value, cls) == known for value, cls, known in self.asked)


def setup_digest(version: str, shapes: bytes, ontology: Iterable[str],
                 severities: frozenset[str] | None) -> str:
    digest = hashlib.sha256()
    digest.update(json.dumps([version, GROUP_SUBJECTS, sorted(severities or ["*all*"])])
                  .encode("utf-8"))
    digest.update(hashlib.sha256(shapes).digest())
    for line in ontology:
        digest.update(line.encode("utf-8") + b"\n")
    return digest.hexdigest()[:16]


def groups(triples: Iterable[tuple[str, str, str]]) -> Iterator[list[tuple[str, list]]]:
    """``subject_groups`` of the triples, cut into groups of whole subjects."""
    from tierslieux.model.lines import subject_groups

    current: list[tuple[str, list]] = []
    for subject, pairs in subject_groups(triples):
        if current and _hash(subject) % GROUP_SUBJECTS == 0:
            yield current
            current = []
        current.append((subject, pairs))
    if current:
        yield current


def _hash(subject: str) -> int:
    return int.from_bytes(hashlib.blake2b(subject.encode("utf-8"), digest_size=8).digest(),
                          "big")


def group_digest(group: list[tuple[str, list]]) -> str:
    text = "\n".join(f"{subject}\t{p}\t{o}" for subject, pairs in group for p, o in pairs)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class EntryFolder:
    """A folder of JSON entries for one setup, ``<digest>-<setup>.json``, written atomically
    and pruned to those the last two runs used (``USED_FILES``). Subclasses say what an entry
    is (``what``, ``again``: for the log) and turn an entry's JSON into their record."""

    what = "entry"
    again = "made again"

    def __init__(self, folder: Path, setup: str) -> None:
        self.folder = folder
        self.setup = setup
        self.used: set[str] = set()
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, digest: str) -> Path:
        return self.folder / f"{digest}-{self.setup}.json"

    def read(self, digest: str, make: Callable[[Any], T]) -> T | None:
        """``make`` of the entry's JSON; None when there is none, or when it is damaged (then
        removed, and logged)."""
        path = self._path(digest)
        try:
            return make(json.loads(path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("%s %s is damaged (%s): %s", self.what, path.name,
                        f"{type(exc).__name__}: {exc}", self.again)
            path.unlink(missing_ok=True)
            return None

    def write(self, digest: str, data: Any) -> None:
        path = self._path(digest)
        tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
        try:
            tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                           encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            log.warning("cannot keep a %s (%s)", self.what, exc)
            tmp.unlink(missing_ok=True)

    def prune(self) -> None:
        """Remember the entries this run used; remove those neither it nor the previous run
        used."""
        current, previous = (self.folder / name for name in USED_FILES)
        names = {self._path(d).name for d in self.used}
        try:
            before = set(current.read_text(encoding="utf-8").split()) \
                if current.is_file() else set()
            if current.is_file():
                os.replace(current, previous)
            tmp = current.with_name(current.name + ".tmp")
            tmp.write_text("".join(f"{n}\n" for n in sorted(names)), encoding="utf-8")
            os.replace(tmp, current)
            for path in self.folder.glob("*.json"):
                if path.name not in names and path.name not in before:
                    path.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("cannot prune the %ss of %s (%s)", self.what, self.folder, exc)


class ShaclCache(EntryFolder):
    """A folder of groups' results for one setup."""

    what = "SHACL cache entry"
    again = "checked again"

    def __init__(self, folder: Path, setup: str) -> None:
        super().__init__(folder, setup)
        self.reused = self.checked = 0

    def get(self, digest: str) -> GroupResults | None:
        return self.read(digest, lambda data: GroupResults(
            results=tuple(tuple(str(x) for x in r) for r in data["results"]),
            pending=tuple(tuple(str(x) for x in r) for r in data["pending"]),
            asked=tuple((str(v), str(c), None if a is None else bool(a))
                        for v, c, a in data["asked"]),
            types=tuple((str(s), tuple(str(t) for t in ts)) for s, ts in data["types"]),
            nodes=tuple(str(n) for n in data["nodes"])))

    def put(self, digest: str, found: GroupResults) -> None:
        self.write(digest, {"results": found.results, "pending": found.pending,
                            "asked": found.asked, "types": found.types, "nodes": found.nodes})
