"""Look for a secret everywhere it could have leaked: texts, files, exception chains.

A secret is looked for as itself, URL-encoded, and base64-encoded at the three alignments it
can take inside a longer base64 text (an ``Authorization: Basic`` header holds
``base64(user:password)``: the password's own base64 is not a substring of it, but one of
these three forms is).
"""

from __future__ import annotations

import base64
import urllib.parse
from pathlib import Path


def base64_forms(secret: bytes) -> set[bytes]:
    """Substrings that any base64 text encoding ``…secret…`` must contain."""
    found = set()
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + secret + b"\0\0")
        # drop the characters that also depend on the bytes before and after the secret
        start = -(-shift * 4 // 3)   # ceil(shift * 4 / 3)
        end = (shift + len(secret)) * 4 // 3
        found.add(encoded[start:end])
        found.add(base64.urlsafe_b64encode(b"\0" * shift + secret + b"\0\0")[start:end])
    return {f for f in found if len(f) >= 6}


def forms(secret: str) -> set[bytes]:
    raw = secret.encode("utf-8")
    return {raw, urllib.parse.quote(secret, safe="").encode(),
            urllib.parse.quote_plus(secret).encode()} | base64_forms(raw)


def leaks(secret: str, data: bytes | str) -> list[str]:
    """The forms of ``secret`` found in ``data`` (empty: none)."""
    blob = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return sorted(f.decode("ascii", "replace") for f in forms(secret) if f in blob)


def leaks_in_files(secret: str, folder: Path) -> dict[str, list[str]]:
    """File (relative to ``folder``) -> forms of ``secret`` found in it."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            hit = leaks(secret, path.read_bytes())
            if hit:
                found[str(path.relative_to(folder))] = hit
    return found


def exception_texts(exc: BaseException) -> str:
    """str, repr, args and attributes of an exception and of its whole cause/context chain."""
    parts, todo, seen = [], [exc], set()
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        parts += [str(current), repr(current), repr(current.args)]
        parts += [repr(v) for v in vars(current).values()]
        todo += [current.__cause__, current.__context__]
    return "\n".join(parts)
