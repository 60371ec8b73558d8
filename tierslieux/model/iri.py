"""The IRI rules: what an IRI is (RFC 3987), a page key as an IRI path, slugs, wiki addresses.

The character rules every stage that mints or checks an IRI applies: the map stage
(``key_path``, ``iri_path``, ``slugify``), the configuration and the quarantine (``is_iri``),
the store and the parser (``clean_text``), the quality report (``page_address``); the RDF term
layer (``model/rdf.py``) writes IRIs as N-Triples terms with ``is_iri`` and ``IRI_LIMIT``. It
imports nothing above the model layer.

- ``is_iri``: an absolute IRI by the grammar of RFC 3987 (``IRI`` production: scheme, authority,
  path, query, fragment, percent-encoding, ``ucschar``/``iprivate`` ranges, IPv4/IPv6 hosts),
  the rule N-Triples, Turtle and JSON-LD parsers (pyoxigraph among them) apply. An address of
  the wiki that breaks it (``http://@@``, ``http://a%zz``, a C1 control, U+10FFFF…) is not
  minted as an IRI: the map stage reports it and keeps the text.
- ``key_path``: a page key (or any title) as an IRI path under ``page/`` or ``place/``: ``/``
  keeps separating sub-pages; characters an IRI does not allow are percent-encoded; segments
  that would make the IRI mean something else (``.`` and ``..``, which every IRI normaliser
  removes, and ``section`` / ``template``, the words of the IRIs minted under a page) get a
  ``~`` in front, and so does any such segment already starting with ``~``, so that two keys
  never give one IRI (README, "Identifiers").
- ``clean_text``: text without lone surrogates (``&#xD800;`` in wikitext, ``\\ud800`` in an API
  answer), which no UTF-8 output can hold; each is replaced by U+FFFD.
- ``slugify``: a readable ASCII slug of a name (``{slug}`` in the mapping's IRI patterns).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import quote

from tierslieux.model.clean import fold
from tierslieux.model.records import SiteInfo


# --------------------------------------------------------------------------- RFC 3987

_UCS_RANGES = (
    "\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef"
    "\U00010000-\U0001fffd\U00020000-\U0002fffd\U00030000-\U0003fffd"
    "\U00040000-\U0004fffd\U00050000-\U0005fffd\U00060000-\U0006fffd"
    "\U00070000-\U0007fffd\U00080000-\U0008fffd\U00090000-\U0009fffd"
    "\U000a0000-\U000afffd\U000b0000-\U000bfffd\U000c0000-\U000cfffd"
    "\U000d0000-\U000dfffd\U000e1000-\U000efffd"
)
_IPRIVATE = "\ue000-\uf8ff\U000f0000-\U000ffffd\U00100000-\U0010fffd"
_PCT = r"%[0-9A-Fa-f]{2}"
_IUNRESERVED = rf"[A-Za-z0-9\-._~{_UCS_RANGES}]"
_SUB_DELIMS = r"[!$&'()*+,;=]"
_IPCHAR = rf"(?:{_IUNRESERVED}|{_PCT}|{_SUB_DELIMS}|[:@])"
_DEC_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
_IPV4 = rf"{_DEC_OCTET}(?:\.{_DEC_OCTET}){{3}}"
_H16 = r"[0-9A-Fa-f]{1,4}"
_LS32 = rf"(?:{_H16}:{_H16}|{_IPV4})"
_IPV6 = "(?:" + "|".join((
    rf"(?:{_H16}:){{6}}{_LS32}",
    rf"::(?:{_H16}:){{5}}{_LS32}",
    rf"(?:{_H16})?::(?:{_H16}:){{4}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,1}}{_H16})?::(?:{_H16}:){{3}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,2}}{_H16})?::(?:{_H16}:){{2}}{_LS32}",
    rf"(?:(?:{_H16}:){{0,3}}{_H16})?::{_H16}:{_LS32}",
    rf"(?:(?:{_H16}:){{0,4}}{_H16})?::{_LS32}",
    rf"(?:(?:{_H16}:){{0,5}}{_H16})?::{_H16}",
    rf"(?:(?:{_H16}:){{0,6}}{_H16})?::",
)) + ")"
_IPVFUTURE = rf"v[0-9A-Fa-f]+\.(?:[A-Za-z0-9\-._~]|{_SUB_DELIMS}|:)+"
_IHOST = (rf"(?:\[(?:{_IPV6}|{_IPVFUTURE})\]|{_IPV4}"
          rf"|(?:{_IUNRESERVED}|{_PCT}|{_SUB_DELIMS})*)")
_IUSERINFO = rf"(?:{_IUNRESERVED}|{_PCT}|{_SUB_DELIMS}|:)*"
_IAUTHORITY = rf"(?:{_IUSERINFO}@)?{_IHOST}(?::[0-9]*)?"
_ISEGMENT = rf"{_IPCHAR}*"
_IHIER = (rf"(?://{_IAUTHORITY}(?:/{_ISEGMENT})*"        # "//" iauthority ipath-abempty
          rf"|/(?:{_IPCHAR}+(?:/{_ISEGMENT})*)?"          # ipath-absolute
          rf"|{_IPCHAR}+(?:/{_ISEGMENT})*"                # ipath-rootless
          r"|)")                                          # ipath-empty
_IQUERY = rf"(?:{_IPCHAR}|[{_IPRIVATE}]|[/?])*"
_IFRAGMENT = rf"(?:{_IPCHAR}|[/?])*"
_IRI = re.compile(
    rf"[A-Za-z][A-Za-z0-9+\-.]*:{_IHIER}(?:\?{_IQUERY})?(?:#{_IFRAGMENT})?"
)


#: a plain http(s) IRI without query or fragment, host a name of letters, digits, dots and
#: hyphens, path of ipchar: a language inside that of ``_IRI`` (each piece is a case of the
#: grammar's), matched an order of magnitude faster; what it refuses goes to ``_IRI``
_PLAIN_IRI = re.compile(
    r"https?://[A-Za-z0-9.\-]*(?::[0-9]*)?"
    r"(?:/(?:[A-Za-z0-9\-._~!$&'()*+,;=:@\u00a0-\ud7ff\uf900-\ufdcf\ufdf0-\uffef]"
    r"|%[0-9A-Fa-f]{2})*)*"
)


def is_iri(text: str) -> bool:
    """True for an absolute IRI (RFC 3987 ``IRI``, fragment allowed)."""
    return _PLAIN_IRI.fullmatch(text) is not None or _IRI.fullmatch(text) is not None


# --------------------------------------------------------------------------- paths

#: ASCII characters that may stay as they are in an IRI path (RFC 3987 ipchar + "/")
_IRI_SAFE_ASCII = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/"
)
#: non-ASCII code points allowed in an IRI path (RFC 3987 ucschar)
_UCSCHAR = (
    (0xA0, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFEF), (0x10000, 0x1FFFD), (0x20000, 0x2FFFD),
    (0x30000, 0x3FFFD), (0x40000, 0x4FFFD), (0x50000, 0x5FFFD), (0x60000, 0x6FFFD),
    (0x70000, 0x7FFFD), (0x80000, 0x8FFFD), (0x90000, 0x9FFFD), (0xA0000, 0xAFFFD),
    (0xB0000, 0xBFFFD), (0xC0000, 0xCFFFD), (0xD0000, 0xDFFFD), (0xE1000, 0xEFFFD),
)


def _iri_char_ok(ch: str) -> bool:
    if ch in _IRI_SAFE_ASCII:
        return True
    code = ord(ch)
    if code < 0x80 or unicodedata.category(ch)[0] == "Z":
        return False
    return any(low <= code <= high for low, high in _UCSCHAR)


def iri_path(text: str) -> str:
    """``text`` as an IRI path: characters an IRI does not allow (and ``%``, ``?``, ``#``)
    are percent-encoded as UTF-8 (a lone surrogate as U+FFFD); accented letters stay."""
    return "".join(
        ch if _iri_char_ok(ch) else "".join(f"%{b:02X}" for b in _utf8(ch))
        for ch in text
    )


def _utf8(ch: str) -> bytes:
    return ch.encode("utf-8") if not 0xD800 <= ord(ch) <= 0xDFFF else "\ufffd".encode("utf-8")


#: segments a key may not keep as they are: dot segments, and the words of the IRIs minted
#: under a page (``…/section/<slug>``, ``…/template/<n>``), with any ``~`` already in front
_UNSAFE_SEGMENT = re.compile(r"~*(?:\.|\.\.|section|template)")


def key_path(key: str) -> str:
    """A page key as an IRI path (see the module docstring): injective, and for keys without
    such segments the same as ``iri_path``."""
    path = iri_path(key)
    if "." not in path and "section" not in path and "template" not in path:
        return path
    return "/".join("~" + seg if _UNSAFE_SEGMENT.fullmatch(seg) else seg
                    for seg in path.split("/"))


# --------------------------------------------------------------------------- text, slugs, addresses

_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> tuple[str, int]:
    """``text`` with every lone surrogate replaced by U+FFFD, and how many were."""
    if _SURROGATE.search(text) is None:
        return text, 0
    return _SURROGATE.subn("\ufffd", text)


#: longest address minted as an IRI (RFC 9110 asks HTTP software for 8,000 octets at least);
#: a longer one is reported and left in the text
IRI_LIMIT = 8_000
#: longest slug of a name in an IRI
SLUG_LIMIT = 200


def slugify(text: str) -> str:
    """A readable ASCII slug: ``"Agglomération & EPCI"`` -> ``"agglomeration-epci"``.
    Text with no letter or digit gets a short hash, so that the slug is never empty."""
    slug = fold(text).replace(" ", "-")
    slug = re.sub(r"[^a-z0-9-]", "", slug).strip("-")
    if len(slug) > SLUG_LIMIT:  # a name that long is not one: keep IRIs short, still distinct
        digest = hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:8]
        return slug[:SLUG_LIMIT - 9].rstrip("-") + "-" + digest
    if slug:
        return slug
    return "x" + hashlib.sha1(text.encode("utf-8", "replace")).hexdigest()[:8]


def page_address(site: SiteInfo, title: str) -> str:
    """The wiki address of a page, as MediaWiki writes it (``$1`` of the article path)."""
    key = clean_text(title)[0].strip().replace(" ", "_")
    path = site.article_path or (site.script_url + "?title=$1")
    return path.replace("$1", quote(key, safe=";:@$!*(),/~"))
