"""The cut of segcut.py made from the bytes of the merged files, with the last build's cut kept.

``segcut.cut`` reads every triple as Python strings to find where segments start: about five
CPU seconds at 8,000 pages, in the main process, even when ten pages changed. Here the same
segments are cut from two byte buffers: the release's lines in line order (``<s> <p> o .``, the
build's merged ``.lines`` file) and their triple keys in triple order (``<s\\x01<p\\x01o .``,
the merged ``.triples`` file; ``pipeline/runs.py``). Each stream is cut from its own buffer,
where its segments are contiguous byte ranges of whole subjects: a line segment's bytes *are*
its lines, and a subject segment's lines are its range with the separators put back, sorted.
Both streams follow segcut's rule, subject by subject in their own order, so the segments are
the same, byte for byte (``test_keptcut.py`` compares them with ``segcut.cut``). A subject
segment's triples are split from its bytes where first read (``KeyTriples``): it goes to the
writers' pool as bytes, and its worker splits them.

**The kept cut.** After a pass, each segment's first subject, byte length, the SHA-256 of its
range and its digest are kept (``KeptCut``, ``cut.json`` in the segment cache). The next build,
at a point where a segment starts, looks the subject there up: when the range of the kept
length from there has the kept SHA-256, and the subject after it starts a segment by segcut's
rule given the range's triple count (or the buffer ends there), the segment is the kept one
and is handed on as a ``Span`` (its digest known, its lines, triples and count read from the
buffer only if the segment cache misses it), without a Python look at its lines: the range is
hashed in place (a memoryview of the mapped file, not a copy), its newlines counted only when
the rule after it needs them. Elsewhere segments
are cut subject by subject (a regular expression over blocks of bytes, one hash a subject);
since a content-defined cut resyncs after a change, only the segments around changed subjects
are cut that way. A kept cut is only a hint: a range is taken only when its bytes say so, so a
stale one costs time, never bytes; a damaged one (unreadable, a wrong checksum) is ignored
with a warning.

At 4,000 sample pages (458 segments; CPU seconds of the main process, load about 13): 3.1 for
``segcut.cut`` and the pickling of its segments for the pool, 2.2 for this cut from scratch,
0.7 with the kept cut after 10 changed pages (40 segments cut again).
"""

from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from functools import cached_property
from itertools import zip_longest
from pathlib import Path
from typing import Any

from tierslieux.exports import segcut
from tierslieux.exports.segcut import LINES, SUBJECTS, Segment
from tierslieux.model.mapped import Releaser
from tierslieux.model.rdf import Triple

log = logging.getLogger(__name__)

CUT_FILE = "cut.json"
_FORMAT = 1
#: bytes of a buffer scanned at a time where segments are cut subject by subject
_BLOCK = 1 << 16
#: each stream's separator after a line's subject IRI, and the subject of every line
_SEPARATOR = {SUBJECTS: b"\x01", LINES: b"> "}
#: (over a block with a newline put before it: a literal first character is searched for in C,
#: where ``^`` with re.M is tried at every position)
_SUBJECT = {SUBJECTS: re.compile(rb"\n<([^\x01\n]*)\x01"), LINES: re.compile(rb"\n<([^>\n]*)> ")}

#: one kept segment: byte length, SHA-256 of its range, digest
Kept = tuple[int, str, str]


def _hash(subject: bytes) -> int:
    """``segcut.subject_hash`` of a subject's UTF-8 bytes."""
    return int.from_bytes(hashlib.blake2b(subject, digest_size=8).digest(), "big")


class KeptCut:
    """The cut of the last build: per stream, first subject -> ``Kept``."""

    def __init__(self, streams: dict[str, dict[bytes, Kept]] | None = None) -> None:
        self.streams = streams or {SUBJECTS: {}, LINES: {}}

    @classmethod
    def load(cls, path: Path, sizes: Sequence[int]) -> KeptCut:
        """The kept cut at ``path`` made with the segment ``sizes``, empty when there is
        none (or another's, or a damaged one: logged)."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls()
        except (OSError, ValueError) as exc:
            return cls._damaged(path, f"unreadable ({exc})")
        try:
            body = data["streams"]
            if data["format"] != _FORMAT or data["sizes"] != list(sizes):
                return cls()
            if data["sha256"] != _checksum(body):
                return cls._damaged(path, "its checksum does not match")
            return cls({kind: {first.encode("utf-8"): (int(size), str(sha), str(digest))
                               for first, size, sha, digest in body[kind]}
                        for kind in (SUBJECTS, LINES)})
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            return cls._damaged(path, f"{type(exc).__name__}: {exc}")

    @classmethod
    def _damaged(cls, path: Path, why: str) -> KeptCut:
        log.warning("kept cut %s is damaged (%s): every segment is cut again", path, why)
        return cls()

    def save(self, path: Path, sizes: Sequence[int]) -> None:
        body = {kind: [[first.decode("utf-8"), *kept] for first, kept in entries.items()]
                for kind, entries in self.streams.items()}
        text = json.dumps({"format": _FORMAT, "sizes": list(sizes), "sha256": _checksum(body),
                           "streams": body}, ensure_ascii=False)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)


def _checksum(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, eq=False)
class Span:
    """A segment recognised by its bytes: its digest is known, its lines, triples and count
    are read from the buffer only when asked (while the buffer is open: ``release_segments``
    closes a mapped file when its ``stack`` is closed, or once the cut is read whole)."""

    kind: str
    digest: str
    data: Any
    start: int
    end: int
    #: its triple count when the recognition needed it (else counted when asked)
    counted: int | None = None

    @cached_property
    def count(self) -> int:
        return self.counted if self.counted is not None \
            else _newlines(self.data, self.start, self.end)

    def segment(self) -> Segment:
        return _segment(self.kind, bytes(self.data[self.start:self.end]), self.count)

    @cached_property
    def triples(self) -> Sequence[Triple]:
        return self.segment().triples

    @cached_property
    def lines(self) -> bytes:
        return self.segment().lines


def whole(segment: Segment | Span) -> Segment:
    """The segment with its lines and triples (to render it)."""
    return segment.segment() if isinstance(segment, Span) else segment


def _newlines(data: Any, start: int, end: int) -> int:
    """The newlines of ``data[start:end]`` (bytes or an mmap, which has no ``count``: counted
    a block at a time rather than copied out whole)."""
    if isinstance(data, bytes):
        return data.count(b"\n", start, end)
    return sum(data[at:min(end, at + _BLOCK)].count(b"\n") for at in range(start, end, _BLOCK))


def _segment(kind: str, data: bytes, count: int) -> Segment:
    """The segment of a byte range of its stream's buffer."""
    if kind == LINES:
        return Segment(LINES, data, count)
    # a triple key holds exactly two separators (runs.triple_key): put back "> " for each
    lines = data.replace(b"\x01", b"> ").split(b"\n")
    lines.pop()
    lines.sort()  # the subjects' lines are sorted; only prefix families move
    return Segment(SUBJECTS, b"\n".join(lines) + b"\n", count, KeyTriples(data))


class KeyTriples(Sequence):
    """The triples of a range of triple keys, split from its bytes when first read: a segment
    goes to the writers' pool as these bytes, and its worker splits them, not this process."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self._triples: list[Triple] | None = None

    def __reduce__(self) -> tuple[Any, ...]:
        return KeyTriples, (self.keys,)

    @property
    def triples(self) -> list[Triple]:
        if self._triples is None:
            self._triples = [(s[1:], p[1:], o[:-2]) for s, p, o in (
                key.split("\x01") for key in self.keys.decode("utf-8").split("\n")[:-1])]
        return self._triples

    def __len__(self) -> int:
        return len(self.triples)

    def __getitem__(self, index: Any) -> Any:
        return self.triples[index]

    def __iter__(self) -> Iterator[Triple]:
        return iter(self.triples)


class _Stream:
    """One stream cut from its buffer, kept segments recognised, the new cut recorded."""

    def __init__(self, kind: str, data: Any, kept: dict[bytes, Kept], every: int,
                 limit: int) -> None:
        self.kind, self.data, self.kept = kind, data, kept
        self.every, self.small, self.limit = every, max(1, every // 16), limit
        self.separator = _SEPARATOR[kind]
        self.pattern = _SUBJECT[kind]
        self.made: dict[bytes, Kept] = {}
        self.recognised = 0
        #: the pages behind the cut given back (model/mapped.py; a Span behind it not read
        #: yet reads them again from the file)
        self.releaser = Releaser(data)

    def _starts(self, subject: bytes, count: int) -> bool:
        """segcut's rule: whether ``subject`` starts a segment after ``count`` triples."""
        digest = _hash(subject)
        return digest % self.every == 0 or (count >= self.limit and digest % self.small == 0)

    def _subject_at(self, at: int) -> bytes:
        return self.data[at + 1:self.data.find(self.separator, at)]

    def __iter__(self) -> Iterator[Segment | Span]:
        size, at = len(self.data), 0
        while at < size:
            self.releaser.release(at)
            first = self._subject_at(at)
            span = self._recognised(first, at, size)
            if span is not None:
                self.recognised += 1
                self.made[first] = self.kept[first]
                at = span.end
                yield span
                continue
            end, count = self._cut(at, size)
            data = bytes(self.data[at:end])
            segment = _segment(self.kind, data, count)
            sha = segment.digest if self.kind == LINES else hashlib.sha256(data).hexdigest()
            self.made[first] = (end - at, sha, segment.digest)
            at = end
            yield segment

    def _recognised(self, first: bytes, at: int, size: int) -> Span | None:
        kept = self.kept.get(first)
        if kept is None:
            return None
        length, sha, digest = kept
        end = at + length
        if end > size:
            return None
        # the range hashed in place (no copy of it; hashlib lets other threads run)
        with memoryview(self.data) as whole, whole[at:end] as view:
            if hashlib.sha256(view).hexdigest() != sha:
                return None
        count = None
        if end < size:
            after = self._subject_at(end)
            before = self.data.rfind(b"\n", at, end - 1)  # the range's last line
            last = self._subject_at(before + 1 if before >= 0 else at)
            if after == last:
                return None
            # segcut's rule (``_starts``), the range's triples counted only if it needs them
            digest_after = _hash(after)
            if digest_after % self.every:
                if digest_after % self.small:
                    return None
                count = _newlines(self.data, at, end)
                if count < self.limit:
                    return None
        return Span(self.kind, digest, self.data, at, end, count)

    def _cut(self, at: int, size: int) -> tuple[int, int]:
        """Where the segment starting at ``at`` ends, and its triple count."""
        count, offset, block = 0, at, _BLOCK
        while True:
            stop = min(size, offset + block)
            if stop < size:
                stop = self.data.rfind(b"\n", offset, stop) + 1
            chunk = self.data[offset:stop] if stop > offset else b""
            subjects = list(Counter(self.pattern.findall(b"\n" + chunk)).items())
            if stop < size:
                if len(subjects) < 2:  # one subject longer than the block
                    block *= 2
                    continue
                left = subjects.pop()[0]  # it may go on past the block: scanned again
            for subject, lines in subjects:
                if count and self._starts(subject, count):
                    start = b"<" + subject + self.separator
                    if chunk.startswith(start):
                        return offset, count
                    return offset + chunk.index(b"\n" + start) + 1, count
                count += lines
            if stop >= size:
                return size, count
            # the next block starts at the first line of the subject left out
            offset += chunk.index(b"\n<" + left + self.separator) + 1


def cut_bytes(lines: Any, triples: Any, kept: KeptCut | None = None,
              every: int | None = None, limit: int | None = None,
              done: list[KeptCut] | None = None) -> Iterator[Segment | Span]:
    """``segcut.cut`` of the release whose lines (line order) and triple keys (triple order)
    are the buffers ``lines`` and ``triples``, the two streams interleaved; a segment of
    ``kept`` found again is a ``Span``. Once the cut is read whole, its own ``KeptCut`` is
    appended to ``done``."""
    every = every or segcut.SEGMENT_SUBJECTS
    limit = limit or segcut.SEGMENT_TRIPLES
    kept = kept or KeptCut()
    streams = [_Stream(SUBJECTS, triples, kept.streams[SUBJECTS], every, limit),
               _Stream(LINES, lines, kept.streams[LINES], every, limit)]
    for pair in zip_longest(*streams):
        for segment in pair:
            if segment is not None:
                yield segment
    log.debug("cut: %s recognised from the kept cut",
              ", ".join(f"{s.recognised} of {len(s.made)} {s.kind}" for s in streams))
    if done is not None:
        done.append(KeptCut({stream.kind: stream.made for stream in streams}))


def memory_buffers(lines: Sequence[str], ordered: Sequence[Triple]) -> tuple[bytes, bytes]:
    """The two buffers of a release held in memory (lists of lines and of triples)."""
    return ("".join(f"{line}\n" for line in lines).encode("utf-8"),
            "".join(f"<{s}\x01<{p}\x01{o} .\n" for s, p, o in ordered).encode("utf-8"))


def release_segments(lines: Any, ordered: Any, cache_folder: Path | None,
                     stack: ExitStack | None = None) -> Iterator[Segment | Span]:
    """The segments of a release (``WriterInput.lines`` and ``.ordered``): cut from the bytes
    of its merged files when it has them, from its lists when it is held in memory, with the
    kept cut of ``cache_folder`` (kept again once read whole); else by ``segcut.cut``. The
    mapped files are closed by ``stack`` when given (a ``Span`` can be read until then), else
    once the cut is read whole."""
    paths = lines.merged_paths() if hasattr(lines, "merged_paths") else None
    if paths is not None and all(path.is_file() for path in paths):
        with ExitStack() as own:
            files = stack if stack is not None else own
            buffers = []
            for path in paths:
                stream = files.enter_context(open(path, "rb"))
                buffer = _map(stream)
                if isinstance(buffer, mmap.mmap):
                    files.callback(buffer.close)
                buffers.append(buffer)
            yield from _kept_cut(buffers[0], buffers[1], cache_folder)
    elif isinstance(lines, (list, tuple)) and isinstance(ordered, (list, tuple)):
        yield from _kept_cut(*memory_buffers(lines, ordered), cache_folder)
    else:
        yield from segcut.cut(ordered)


def _map(stream: Any) -> Any:
    size = os.fstat(stream.fileno()).st_size
    return mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) if size else b""


def _kept_cut(lines: Any, triples: Any, cache_folder: Path | None
              ) -> Iterator[Segment | Span]:
    sizes = [segcut.SEGMENT_SUBJECTS, segcut.SEGMENT_TRIPLES]
    path = cache_folder / CUT_FILE if cache_folder is not None else None
    kept = KeptCut.load(path, sizes) if path is not None else None
    done: list[KeptCut] = []
    yield from cut_bytes(lines, triples, kept, done=done)
    if path is not None and done:
        path.parent.mkdir(parents=True, exist_ok=True)
        done[0].save(path, sizes)
