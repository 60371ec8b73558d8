"""The SHACL check's groups of subjects cut from the merged triple keys' bytes, the last cut kept.

``shacl_cache.py`` keeps the check's results per group of whole subjects (a subject whose hash
is a multiple of ``GROUP_SUBJECTS`` starts one), named by the SHA-256 of the group's triple
keys. ``key_groups`` cuts them from the build's merged file of triple keys (``<s\\x01<p\\x01o .``
lines, sorted: ``pipeline/runs.py``) without Python splitting a triple: only a group the cache
misses is loaded. The lines of a few small sorted files (the ontology's run) are put in the
group where they sort.

**The kept cut.** Cutting subject by subject still means a regular expression over the whole
file and a hash a subject: about 2 CPU seconds in a worker at 8,000 sample pages, in every
rebuild. So each group's first subject, byte length and SHA-256 are kept (``KEPT_FILE`` in the
SHACL cache folder, with a checksum). The next build, where a group starts, looks the subject
there up: when the range of the kept length from there has the kept SHA-256, and the subject
after it starts a group by the rule (and is not the range's last subject going on), the range
is the group, its digest known (the same bytes hold the same subjects, so the rule cuts them
the same way). Elsewhere groups are cut subject by subject; since a content-defined cut
resyncs after a change, only the groups around changed subjects are. A kept cut is only a
hint: a range is taken only when its bytes say so, so a stale one costs time, never a result;
a damaged one is ignored with a warning (``exports/keptcut.py`` does the same for the release's
segments).
"""

from __future__ import annotations

import bisect
import gzip
import hashlib
import heapq
import json
import logging
import mmap
import os
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from tierslieux.model.mapped import Releaser
from tierslieux.validation import shacl_cache

log = logging.getLogger(__name__)

#: the kept cut, in the SHACL cache folder (not ``*.json``: the cache's prune keeps it)
KEPT_FILE = "kept-groups"
_FORMAT = 1
#: a line's subject in a file of triple keys (a literal first character is searched for in C,
#: searched over a block with a newline put before it)
_KEY_SUBJECT = re.compile(rb"\n<([^\x01\n]*)\x01")
#: bytes scanned at a time where groups are cut subject by subject
_BLOCK = 1 << 15

Group = tuple[str, Callable[[], list[tuple[str, list]]]]


def _hash_bytes(subject: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(subject, digest_size=8).digest(), "big")


def load_kept(path: Path) -> dict[bytes, tuple[int, str]]:
    """first subject -> (byte length, SHA-256) of the kept groups; empty when there are none
    (or another format's, or a damaged file: logged)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        return _damaged(path, f"unreadable ({exc})")
    try:
        if data["format"] != _FORMAT or data["subjects"] != shacl_cache.GROUP_SUBJECTS:
            return {}
        body = data["groups"]
        if data["sha256"] != _checksum(body):
            return _damaged(path, "its checksum does not match")
        return {first.encode("utf-8"): (int(size), str(sha)) for first, size, sha in body}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return _damaged(path, f"{type(exc).__name__}: {exc}")


def _damaged(path: Path, why: str) -> dict[bytes, tuple[int, str]]:
    log.warning("kept SHACL groups %s are damaged (%s): every group is cut again", path, why)
    return {}


def _checksum(body: Any) -> str:
    return hashlib.sha256(json.dumps(body, ensure_ascii=False).encode("utf-8")).hexdigest()


def save_kept(path: Path, made: dict[bytes, tuple[int, str]]) -> None:
    body = [[first.decode("utf-8"), size, sha] for first, (size, sha) in made.items()]
    text = json.dumps({"format": _FORMAT, "subjects": shacl_cache.GROUP_SUBJECTS,
                       "sha256": _checksum(body), "groups": body}, ensure_ascii=False)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot keep the SHACL groups (%s)", exc)
        tmp.unlink(missing_ok=True)


class _Cutter:
    """Where groups start in one buffer of triple keys (the rule's verdicts remembered)."""

    def __init__(self, data: Any) -> None:
        self.data = data
        self.size = len(data)
        self.every = shacl_cache.GROUP_SUBJECTS
        self.verdicts: dict[bytes, bool] = {}

    def subject_at(self, at: int) -> bytes:
        return self.data[at + 1:self.data.find(b"\x01", at)]

    def starts(self, subject: bytes) -> bool:
        verdict = self.verdicts.get(subject)
        if verdict is None:
            if len(self.verdicts) > 4096:
                self.verdicts.clear()
            verdict = self.verdicts[subject] = _hash_bytes(subject) % self.every == 0
        return verdict

    def recognised(self, kept: tuple[int, str] | None, at: int) -> tuple[bytes, str] | None:
        """The group at ``at`` as the kept one says, when its bytes agree: (bytes, SHA-256)."""
        if kept is None or at + kept[0] > self.size:
            return None
        end = at + kept[0]
        group = self.data[at:end]
        sha = hashlib.sha256(group).hexdigest()
        if sha != kept[1]:
            return None
        if end < self.size:
            after = self.subject_at(end)
            before = group.rfind(b"\n", 0, len(group) - 1)  # the range's last line
            last = self.subject_at(at + before + 1 if before >= 0 else at)
            if after == last or not self.starts(after):
                return None
        return group, sha

    def cut(self, at: int) -> int:
        """Where the group starting at ``at`` ends: the next subject that starts one."""
        previous = self.subject_at(at)
        offset, block = at, _BLOCK
        while True:
            stop = min(self.size, offset + block)
            if stop < self.size:
                stop = self.data.rfind(b"\n", offset, stop) + 1
                if stop <= offset:  # one line longer than the block
                    block *= 2
                    continue
            chunk = self.data[offset:stop]
            for subject in dict.fromkeys(_KEY_SUBJECT.findall(b"\n" + chunk)):
                if subject == previous:
                    continue
                previous = subject
                if self.starts(subject):
                    start = b"<" + subject + b"\x01"
                    if chunk.startswith(start):
                        return offset
                    return offset + chunk.index(b"\n" + start) + 1
            if stop >= self.size:
                return self.size
            offset = stop


def key_groups(data: Path, others: Sequence[Path] = (), kept: Path | None = None
               ) -> Iterator[Group]:
    """The groups of the triples of a sorted file of triple keys ``data`` merged with those of
    a few small sorted ones ``others`` (gzip when their name says so: the ontology's run), as
    ``(digest, load)``: the digest is a SHA-256 of the group's key bytes, ``load()`` gives
    its ``subject_groups``. With ``kept`` (a ``KEPT_FILE``), the last build's groups are
    recognised by their bytes, and this cut is kept there once read whole."""
    extra: list[bytes] = []
    for path in others:
        opener = gzip.open if path.name.endswith(".gz") else open
        with opener(path, "rb") as stream:
            extra.extend(stream.read().splitlines(keepends=True))
    extra.sort()
    previous = load_kept(kept) if kept is not None else {}
    made: dict[bytes, tuple[int, str]] = {}
    taken = 0  # the lines of ``extra`` given to the groups before the current one
    with open(data, "rb") as stream:
        size = os.fstat(stream.fileno()).st_size
        buffer = mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            cutter = _Cutter(buffer)
            releaser = Releaser(buffer)  # the pages read past given back (flat memory)
            at = recognised = 0
            while at < size:
                releaser.release(at)
                first = cutter.subject_at(at)
                found = cutter.recognised(previous.get(first), at)
                if found is not None:
                    recognised += 1
                    group, sha = found
                else:
                    group = buffer[at:cutter.cut(at)]
                    sha = hashlib.sha256(group).hexdigest()
                made[first] = (len(group), sha)
                at += len(group)
                stop = len(extra) if at >= size else bisect.bisect_left(
                    extra, b"<" + cutter.subject_at(at) + b"\x01", taken)
                yield _key_group(group, extra[taken:stop], sha)
                taken = stop
        finally:
            if isinstance(buffer, mmap.mmap):
                buffer.close()
    if taken < len(extra):
        yield _key_group(b"", extra[taken:], None)
    log.debug("SHACL groups: %d of %d recognised from the kept cut", recognised, len(made))
    if kept is not None:
        save_kept(kept, made)


def _key_group(data: bytes, extra: list[bytes], sha: str | None) -> Group:
    if extra:  # merged as runs._merge merges sorted files: distinct lines, in order
        merged = []
        for line in heapq.merge(data.splitlines(keepends=True), extra):
            if not merged or merged[-1] != line:
                merged.append(line)
        data, sha = b"".join(merged), None

    def load() -> list[tuple[str, list]]:
        from tierslieux.model.lines import subject_groups

        keys = data.decode("utf-8").split("\n")[:-1]
        return list(subject_groups((s[1:], p[1:], o[:-2])
                                   for s, p, o in (key.split("\x01") for key in keys)))

    return "k" + (sha or hashlib.sha256(data).hexdigest()), load
