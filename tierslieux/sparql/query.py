"""Answering a SPARQL query over a release; the worked research queries.

A query is parsed by Oxigraph; a syntax error becomes one line with its position,
the whole tokens near it and a hint (:func:`run_query`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pyoxigraph as ox

from tierslieux.errors import MissingInputError, QueryError
from tierslieux.sparql.front import SERVICE_REFUSED, uses_service
from tierslieux.ontology import PREFIXES as ONTOLOGY_PREFIXES
from tierslieux.sparql.cache import cache_release, lock
from tierslieux.sparql.format import (
    format_boolean,
    format_solutions,
    format_triples,
    one_line,
    release_prefixes,
)


FORMATS = ("table", "csv", "tsv", "json")
#: Prefixes a query may use without declaring them, and that compact IRIs in tables: the
#: ontology's own, plus the catalogue's.
PREFIXES: dict[str, str] = {
    **ONTOLOGY_PREFIXES,
    "dcat": "http://www.w3.org/ns/dcat#",
    "void": "http://rdfs.org/ns/void#",
}


def run_query(data_dir: str | Path, sparql: str, fmt: str = "table", *,
              cache_dir: str | Path | None = None, allow_service: bool = False) -> str:
    """Answer a SELECT, ASK, CONSTRUCT or DESCRIBE query over the release, formatted.

    A query using SERVICE (which makes the engine fetch the address it names) is refused
    unless ``allow_service``.
    """
    if fmt not in FORMATS:
        raise QueryError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    cached = cache_release(data_dir, cache_dir=cache_dir)
    with lock(cached.folder, exclusive=False):
        store = ox.Store.read_only(str(cached.store_path))
        return query_store(store, sparql, fmt, prefixes=release_prefixes(data_dir),
                           allow_service=allow_service)


def query_store(store: ox.Store, sparql: str, fmt: str = "table", *,
                prefixes: dict[str, str] | None = None, allow_service: bool = False) -> str:
    """Run ``sparql`` on an open store and format the answer (see the module docstring).

    SERVICE (the engine would fetch the address the query names) is refused unless
    ``allow_service``.
    """
    if not allow_service and uses_service(sparql):
        raise QueryError(SERVICE_REFUSED.replace("by this endpoint", "by tierslieux"))
    known = {**PREFIXES, **(prefixes or {})}
    try:
        # The default graph is the union of the release's graphs, unless the query names its
        # own dataset (pyoxigraph would otherwise let the union win over FROM).
        union = not _FROM.search(_strip_comments(sparql))
        result = store.query(sparql, prefixes=known, use_default_graph_as_union=union)
        known.update(_declared_prefixes(sparql))
        if isinstance(result, ox.QueryBoolean):
            return format_boolean(result, fmt)
        if isinstance(result, ox.QuerySolutions):
            return format_solutions(result, fmt, known)
        return format_triples(result, fmt, known)
    except SyntaxError as exc:
        raise QueryError(_syntax_message(sparql, str(exc))) from None
    except (OSError, RuntimeError, ValueError) as exc:
        raise QueryError(f"the query failed: {one_line(str(exc))}") from None


_UPDATE = re.compile(
    r"^\s*(?:(?:PREFIX\s+[^:\s]*:\s*<[^>]*>|BASE\s*<[^>]*>)\s*)*"
    r"(INSERT|DELETE|LOAD|CLEAR|DROP|CREATE|ADD|MOVE|COPY|WITH)\b",
    re.IGNORECASE,
)
_FROM = re.compile(r"\bFROM\s+(?:NAMED\s+)?(?:<|[A-Za-z][\w.-]*:|:)", re.IGNORECASE)
_POSITION = re.compile(r"error at (\d+):(\d+): (.*)", re.DOTALL)


def _syntax_message(sparql: str, message: str) -> str:
    """Oxigraph's ``error at L:C: ...`` as ``line L, column C: ...`` on one line."""
    if _UPDATE.match(_strip_comments(sparql)):
        return ("SPARQL Update is not allowed: the release is read-only "
                "(ask with SELECT, ASK, CONSTRUCT or DESCRIBE)")
    match = _POSITION.match(message)
    if not match:
        return f"SPARQL syntax error: {one_line(message)}"
    line, column, detail = int(match[1]), int(match[2]), one_line(match[3])
    if "Prefix not found" in detail:
        detail = "undeclared prefix (add a PREFIX line)"
    else:
        detail = _unknown_word_hint(sparql) or _shorten_expected(detail)
    lines = sparql.rstrip().splitlines()
    near = " at the end of the query"
    if 0 < line <= len(lines) and (line < len(lines) or column <= len(lines[-1]) + 1):
        excerpt = _excerpt(lines[line - 1], column - 1)
        if excerpt:
            near = f' near "{excerpt}"'
    elif detail == "unexpected text":
        detail = "the query ends too soon (a { or ( left open?)"
    return f"line {line}, column {column}: syntax error{near}: {detail}"


def _excerpt(text: str, at: int, reach: int = 20) -> str:
    """About ``reach`` characters either side of ``at``, widened to whole tokens."""
    start, end = max(0, at - reach), min(len(text), at + reach)
    while start > 0 and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[start:end].strip()


#: the words SPARQL 1.1 knows (keywords and built-in functions), for "did you mean"
_KEYWORDS = frozenset("""
    SELECT ASK CONSTRUCT DESCRIBE WHERE PREFIX BASE DISTINCT REDUCED FROM NAMED OPTIONAL FILTER
    UNION MINUS GRAPH SERVICE SILENT BIND AS VALUES GROUP BY HAVING ORDER ASC DESC LIMIT OFFSET
    NOT EXISTS IN UNDEF A TRUE FALSE LATERAL STR LANG LANGMATCHES DATATYPE BOUND IRI URI BNODE
    RAND ABS CEIL FLOOR ROUND CONCAT STRLEN UCASE LCASE ENCODE_FOR_URI CONTAINS STRSTARTS STRENDS
    STRBEFORE STRAFTER YEAR MONTH DAY HOURS MINUTES SECONDS TIMEZONE TZ NOW UUID STRUUID MD5 SHA1
    SHA256 SHA384 SHA512 COALESCE IF STRLANG STRDT SAMETERM ISIRI ISURI ISBLANK ISLITERAL
    ISNUMERIC REGEX SUBSTR REPLACE COUNT SUM MIN MAX AVG SAMPLE GROUP_CONCAT SEPARATOR
    INSERT DELETE DATA LOAD CLEAR DROP CREATE ADD MOVE COPY WITH INTO USING DEFAULT ALL TO
""".split())
_FORMS = ("SELECT", "ASK", "CONSTRUCT", "DESCRIBE")
#: strings, IRIs and comments, whose words are not SPARQL's
_NOT_WORDS = re.compile(r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"'
                        r"|'(?:[^'\\\n]|\\.)*'|<[^<>\"{}|^`\\\s]*>|#[^\n]*")
#: a bare word: not a ?variable, $variable, prefixed name, @language tag or number
_WORD = re.compile(r"(?<![\w?$:@.\-])[A-Za-z_][\w]*(?![\w:\-])")


def _unknown_word_hint(sparql: str) -> str:
    """A hint naming the first word that is no SPARQL keyword, with the nearest one."""
    import difflib

    words = _WORD.findall(_NOT_WORDS.sub(" ", sparql))
    for index, word in enumerate(words):
        if word.upper() in _KEYWORDS:
            continue
        close = difflib.get_close_matches(word.upper(), sorted(_KEYWORDS), n=1, cutoff=0.6)
        hint = f'"{word}" is not a SPARQL keyword'
        if close:
            hint += f" (did you mean {close[0]}?)"
        if index == 0 or (words[:index] and words[index - 1].upper() in ("PREFIX", "BASE")):
            hint += "; a query starts with " + ", ".join(_FORMS[:-1]) + " or " + _FORMS[-1]
        return hint
    return ""


def _shorten_expected(detail: str) -> str:
    """Keep the keywords of ``expected one of ...`` and drop the character classes."""
    if not detail.startswith("expected one of "):
        return detail if len(detail) <= 120 else detail[:119] + "…"
    items, depth, current = [], 0, ""
    for char in detail[len("expected one of "):] + ",":
        if char == "," and depth == 0:
            items.append(current.strip())
            current = ""
            continue
        depth += {"[": 1, "]": -1}.get(char, 0)
        current += char
    sentences = [i for i in items if " " in i and i[:1].isupper()]
    if sentences:  # a semantic error hidden among the expected tokens
        return sentences[0][0].lower() + sentences[0][1:]
    words = [i for i in items if i and not i.startswith(("[", "'", '"'))]
    if not words:
        return "unexpected text"
    shown = ", ".join(words[:8]) + (", …" if len(words) > 8 else "")
    return f"expected one of {shown}"


def _strip_comments(sparql: str) -> str:
    # Good enough to find the first keyword: '#' inside IRIs/strings is rare before it.
    return "\n".join(re.sub(r"#[^\n<>\"']*$", "", line) for line in sparql.splitlines())


def _declared_prefixes(sparql: str) -> dict[str, str]:
    return dict(re.findall(r"PREFIX\s+([A-Za-z][\w.-]*|):\s*<([^>]*)>", sparql, re.IGNORECASE))



# --------------------------------------------------------------------------- worked queries


@dataclass(frozen=True)
class WorkedQuery:
    """One of the research questions shipped in ``tierslieux/queries/``."""

    name: str
    question: str
    question_fr: str
    text: str


def worked_queries() -> tuple[WorkedQuery, ...]:
    """Every shipped worked query, sorted by name."""
    folder = files("tierslieux") / "queries"
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".rq"):
            text = entry.read_text(encoding="utf-8")
            found.append(WorkedQuery(entry.name[:-3], _header(text, "Question"),
                                     _header(text, "Question (fr)"), text))
    return tuple(found)


def worked_query(name: str) -> WorkedQuery:
    """The worked query called ``name`` (file name without ``.rq``)."""
    queries = {q.name: q for q in worked_queries()}
    stem = name[:-3] if name.endswith(".rq") else name
    if stem not in queries:
        raise MissingInputError(
            f"no worked query {name!r}: choose one of {', '.join(sorted(queries))}")
    return queries[stem]


def load_query(file_or_name: str) -> str:
    """The text of the query file ``file_or_name``, or of the worked query of that name."""
    path = Path(file_or_name)
    if path.is_file():
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MissingInputError(f"{path}: cannot read it ({exc})") from None
    bare = path.name == file_or_name   # no folder in it
    if bare and path.suffix in ("", ".rq") and path.stem in {q.name for q in worked_queries()}:
        return worked_query(file_or_name).text
    if path.suffix or not bare:
        raise MissingInputError(f"{file_or_name}: no such file (nor a worked query: see --list)")
    return worked_query(file_or_name).text


def _header(text: str, label: str) -> str:
    match = re.search(rf"^#\s*{re.escape(label)}\s*:\s*(.+)$", text, re.MULTILINE)
    return match[1].strip() if match else ""
