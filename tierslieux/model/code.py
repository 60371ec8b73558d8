"""The digest of the code: what a kept result depends on besides its input.

A result kept from one build to the next (a page's triples, a site's documents) is reused
only under a digest that names the code that made it: the versions of tierslieux, Python and
the libraries, and the source of every module of the packages that may decide it (more than
needed, never less: a moved module stays counted).
"""

from __future__ import annotations

import functools
import hashlib
import sys
from collections.abc import Callable, Iterable
from importlib import resources
from pathlib import Path

#: adds one labelled piece (text or bytes) to a digest
Adder = Callable[[str, "bytes | str"], None]


def digest_adder(digest: "hashlib._Hash") -> Adder:
    """A function that adds a labelled piece to ``digest``, its length first (no two
    sequences of pieces give the same bytes)."""
    def add(label: str, data: bytes | str) -> None:
        raw = data.encode("utf-8") if isinstance(data, str) else data
        digest.update(f"{label}:{len(raw)}:".encode())
        digest.update(raw)
    return add


def add_code(add: Adder, packages: Iterable[str]) -> None:
    """The versions, and the source of every module of ``packages`` (sub-packages of
    tierslieux, by name)."""
    import mwparserfromhell
    import rdflib

    from tierslieux import __version__

    add("tierslieux", __version__)
    add("python", sys.version)
    add("mwparserfromhell", mwparserfromhell.__version__)
    add("rdflib", rdflib.__version__)
    package = resources.files("tierslieux")
    for name in packages:
        for path in sorted(Path(str(package.joinpath(name))).rglob("*.py")):
            add(path.relative_to(Path(str(package))).as_posix(), path.read_bytes())


@functools.lru_cache(maxsize=1)
def code_version() -> str:
    """The version of tierslieux with a digest of all of its code (``add_code`` of every
    module), once per process: what the caches of rendered segments, table pieces and SHACL
    results are kept under, so that a checkout of other code (same version number, e.g. a
    nightly job run from a clone) does not reuse what this code would not make."""
    from tierslieux import __version__

    digest = hashlib.sha256()
    add_code(digest_adder(digest), ("",))
    return f"{__version__}+{digest.hexdigest()[:16]}"
