"""One label per entity in the release: the names a thing is given on *different* pages.

``names.py`` folds the spellings of a person or a network that one page writes several ways;
but a name written "ophélie Deyrolle" on one page and "Ophélie Deyrolle" on another reaches the
same IRI (IRIs are minted from a slug that ignores case, accents and punctuation) from two
pages, and the merged release then holds two ``rdfs:label`` for it. ``fold_labels`` runs after
the build has merged the sorted runs (runner/build.py, phase "merge") and gives every entity
of the release at most one ``rdfs:label`` per language:

- **the choice**: the entity's official name (``tl:officialName``, from the official geography)
  when it is one of the labels; otherwise the best-written spelling as ``names.rank`` orders
  them (the most capitalised words, then the most accented letters, then code-point order).
  The choice depends only on the set of labels, never on which pages or how many wrote them:
  every page that sees the same spellings makes the same choice (``names.py`` uses the same
  rank), a page added with a spelling already known changes nothing, and the merged runs
  (which hold each distinct statement once, whatever the number of pages that made it) are
  enough to decide. (Counting the pages of each spelling would need every page's own result
  again, and would let one more page flip a label back and forth.);
- **the others** become ``skos:altLabel``; ``skos:prefLabel`` (a minted concept) follows the
  label, and so does ``tl:name`` when the labels are spellings of one name (they fold to the
  same slug, as the IRIs of persons, networks and organisations do). Different names are all
  kept as ``tl:name``: a collectivity's wiki name beside its official one, the pages of a
  place that disagree on its name (which the shapes warn about);
- **the report**: every entity with other spellings (folded here, or by a page) is a row of
  ``quality.csv`` (field ``label``, severity ``warning``): the spellings left as alternatives,
  the one kept, the rule, and the pages the entity comes from (the first in title order is the
  row's page). The rows are a function of the published release (``fold_lines`` on it finds
  them again); the build hands them to the release beside its issues, so that they do not
  change the exit code (like the rows of the national table).

It streams: the merged files are sorted by subject (in line order as in triple order, the
statements of one subject are contiguous), so one read of the triple-order file decides,
holding one subject's values at a time and the decisions (``bytes.find`` over blocks of the
file finds the few statements per entity the decision reads; Python never looks at the
others). Only when there is something to change, one rewrite of each merged file replaces the
statements of the folded subjects, the other lines being copied as they are; two more reads
find the titles of the pages the rows name. The same merged runs give the same bytes.

A rebuild whose kept merge was updated does not read the whole file: the decisions, the pages
and the titles of the last build are kept beside the kept merge, and only the subjects of the
changed lines are decided again (``labelstate.py``); the rewrite and the rows are the same.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from tierslieux.model.iri import slugify
from tierslieux.model.rdf import XSD_STRING, parse_object
from tierslieux.model.records import Issue
from tierslieux.ontology.namespace import TL
from tierslieux.pipeline.keptmerge import copy_bytes, find
from tierslieux.pipeline.names import rank
from tierslieux.pipeline.runs import RunSet, triple_key

LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"
NAME = str(TL.name)
OFFICIAL_NAME = str(TL.officialName)
OF_PAGE = str(TL.ofPage)
TITLE = str(TL.title)
#: the predicates the decision reads
_WATCHED = frozenset({LABEL, ALT_LABEL, PREF_LABEL, NAME, OFFICIAL_NAME, DERIVED_FROM})
#: the field of the quality.csv rows
FIELD = "label"
#: pages named in a row's message, at most
_PAGES_SHOWN = 5
_BUFFER = 1 << 16
_READ = 1 << 22
#: why a label was kept (the quality.csv message says it)
RULES = {
    "official": "it is the official name (tl:officialName)",
    "spelling": "it is the best-written spelling: the most capitalised words, then the most "
                "accented letters, then code-point order",
    "names": "the pages give different names; it comes first in the order of spellings: the "
             "most capitalised words, then the most accented letters, then code-point order",
}


@dataclass(frozen=True)
class LabelChoice:
    """The label an entity keeps in one language, and the spellings left as alternatives."""

    subject: str
    #: "" (a plain text), "@fr"…, or "^^<datatype>"
    language: str
    #: object tokens as written in N-Triples
    chosen: str
    #: the labels that lost, best first
    others: tuple[str, ...]
    #: a key of RULES
    rule: str
    #: every other spelling of that language, best first: the labels that lost and the
    #: alternatives pages already gave (what quality.csv lists)
    alternatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class SubjectFold:
    """What folding one subject changes: its choices and the statements removed and added
    (N-Triples lines), and the revisions it comes from (to name its pages)."""

    choices: tuple[LabelChoice, ...]
    removed: frozenset[str]
    added: frozenset[str]
    revisions: tuple[str, ...]


def language_of(token: str) -> str | None:
    """The language key of an object token: "" for a plain text (or xsd:string), "@fr" (lower
    case) for a tagged one, "^^<…>" for another datatype; None for an IRI."""
    if token[0] != '"':
        return None
    suffix = token[token.rindex('"') + 1:]
    if suffix.startswith("@"):
        return suffix.lower()
    if suffix in ("", f"^^<{XSD_STRING}>"):
        return ""
    return suffix


def _order(token: str) -> tuple[int, int, str, str]:
    return (*rank(parse_object(token).value), token)


def one_name(tokens: Iterable[str]) -> bool:
    """Whether label tokens are spellings of one name: they fold to the same slug (what the
    IRIs of persons, networks and organisations are minted from)."""
    return len({slugify(parse_object(t).value) for t in tokens}) == 1


def choose(tokens: Iterable[str], official: Iterable[str] = ()) -> tuple[str, tuple[str, ...], str]:
    """``(chosen, the others best first, rule)`` among label tokens of one language."""
    ordered = sorted(set(tokens), key=_order)
    official = set(official)
    officials = [t for t in ordered if t in official]
    if officials:
        chosen, rule = officials[0], "official"
    else:
        chosen, rule = ordered[0], "spelling" if one_name(ordered) else "names"
    return chosen, tuple(t for t in ordered if t != chosen), rule


def _line(subject: str, predicate: str, token: str) -> str:
    return f"<{subject}> <{predicate}> {token} ."


def _line_predicate(line: str) -> str:
    """The predicate of a ``_line`` (no IRI holds a space)."""
    return line.split(" ", 2)[1][1:-1]


def decide(subject: str, values: dict[str, list[str]]) -> SubjectFold | None:
    """The fold of a subject from the objects of its watched predicates: a choice for each
    language with two labels (changes), or with one label and alternatives of that language
    (a page's own fold, ``names.py``: reported, nothing to change); None when there is none."""
    by_language: dict[str, list[str]] = {}
    for token in values.get(LABEL, ()):
        language = language_of(token)
        if language is not None:
            by_language.setdefault(language, []).append(token)
    given: dict[str, set[str]] = {}
    for token in values.get(ALT_LABEL, ()):
        language = language_of(token)
        if language in by_language:
            given.setdefault(language, set()).add(token)
    if not any(len(tokens) > 1 or language in given
               for language, tokens in by_language.items()):
        return None
    official = values.get(OFFICIAL_NAME, [])
    removed: set[str] = set()
    added: set[str] = set()
    choices = []
    for language in sorted(by_language):
        labels, alternatives = by_language[language], given.get(language, set())
        if len(labels) == 1 and not alternatives:
            continue
        chosen, others, rule = choose(labels, official)
        if len(labels) == 1 and rule != "official":  # a page's fold (names.py), or this
            # pass's on a release already folded: the rows depend only on the release
            rule = "spelling" if one_name([*labels, *alternatives]) else "names"
        choices.append(LabelChoice(subject, language, chosen, others, rule, tuple(
            sorted((alternatives | set(others)) - {chosen}, key=_order))))
        for token in others:
            removed.add(_line(subject, LABEL, token))
            added.add(_line(subject, ALT_LABEL, token))
        if chosen in alternatives:
            removed.add(_line(subject, ALT_LABEL, chosen))
        # tl:name follows only a choice among spellings: different names (a collectivity's
        # wiki name beside its official one, pages that disagree on a place) are all kept
        followers = (PREF_LABEL, NAME) if one_name(labels) else (PREF_LABEL,)
        # matched on the text: a plain tl:name follows a label tagged @fr
        quoted = {t[:t.rindex('"') + 1] for t in others}
        kept = chosen[:chosen.rindex('"') + 1]
        for predicate in followers if others else ():
            for token in values.get(predicate, ()):
                if token[0] == '"' and token[:token.rindex('"') + 1] in quoted:
                    removed.add(_line(subject, predicate, token))
                    added.add(_line(subject, predicate, kept + token[token.rindex('"') + 1:]))
    revisions = tuple(sorted({t[1:-1] for t in values.get(DERIVED_FROM, ()) if t[0] == "<"}))
    return SubjectFold(tuple(choices), frozenset(removed), frozenset(added), revisions)


# --------------------------------------------------------------------------- the passes

#: how a watched predicate appears in a triple key (``runs.triple_key``: ``\x01`` only ever
#: separates the terms), and the title of a page, as bytes (the files are searched undecoded)
_KEY_MARKS = tuple(f"\x01<{p}\x01".encode() for p in sorted(_WATCHED))
_OF_PAGE_MARK = f"\x01<{OF_PAGE}\x01".encode()
_TITLE_MARK = f"\x01<{TITLE}\x01".encode()


def _chunks(path: Path) -> Iterator[bytes]:
    """A file's bytes in blocks of whole lines (a few megabytes each)."""
    with open(path, "rb") as stream:
        rest = b""
        while True:
            block = stream.read(_READ)
            if not block:
                break
            block = rest + block
            cut = block.rfind(b"\n") + 1
            rest = block[cut:]
            if cut:
                yield block[:cut]
        if rest:
            yield rest + b"\n"


def _grep(chunks: Iterable[bytes], marks: Iterable[bytes]) -> Iterator[str]:
    """The lines of ``chunks`` that hold one of ``marks``, in order, decoded: ``find`` skips
    the others at the speed of C, Python only looks at the few lines it needs."""
    marks = tuple(marks)
    for chunk in chunks:
        starts: dict[int, int] = {}
        for mark in marks:
            position = chunk.find(mark)
            while position >= 0:
                start = chunk.rfind(b"\n", 0, position) + 1
                end = chunk.find(b"\n", position)
                starts[start] = end
                position = chunk.find(mark, end)
        for start in sorted(starts):
            yield chunk[start:starts[start]].decode("utf-8")


def _encoded(lines: Iterable[str]) -> bytes:
    return ("\n".join(lines) + "\n").encode("utf-8")


def _watched(keys: Iterable[str]) -> Iterator[tuple[str, str, str]]:
    """(subject, predicate, object) of triple keys."""
    for key in keys:
        subject, predicate, rest = key.split("\x01")
        yield subject[1:], predicate[1:], rest[:-2]


def plan_statements(statements: Iterable[tuple[str, ...]]) -> dict[str, SubjectFold]:
    """The folds of a release from its watched statements ``(subject, predicate, object)``
    in triple order; holds one subject's values at a time."""
    folds: dict[str, SubjectFold] = {}
    subject = None
    values: dict[str, list[str]] = {}
    for s, predicate, token in statements:
        if s != subject:
            if LABEL in values:
                fold = decide(subject, values)  # type: ignore[arg-type]
                if fold is not None:
                    folds[subject] = fold  # type: ignore[index]
            subject, values = s, {}
        values.setdefault(predicate, []).append(token)
    if LABEL in values:
        fold = decide(subject, values)  # type: ignore[arg-type]
        if fold is not None:
            folds[subject] = fold  # type: ignore[index]
    return folds


def plan(triple_keys: Iterable[str]) -> dict[str, SubjectFold]:
    """The folds of a release given as triple keys in triple order."""
    return plan_statements(_watched(_grep((_encoded(triple_keys),), _KEY_MARKS)))


def rewrite(lines: Iterable[str], folds: dict[str, SubjectFold], *, keys: bool,
            delta: list[int] | None = None) -> Iterator[str]:
    """The statements (lines, or triple keys with ``keys``; with or without their newline)
    with those of the folded subjects changed, in the same order. A subject's statements are
    contiguous in both orders, where its prefix ``<s> `` (``<s\x01``) sorts: a line is compared
    with the next folded subject's prefix only. ``delta`` gets the change of the line count."""
    separator = "\x01" if keys else "> "
    targets = iter(sorted((f"<{s}{separator}", s) for s in folds))
    target = next(targets, None)
    group: list[str] = []

    def flush() -> list[str]:
        fold = folds[target[1]]  # type: ignore[index]
        end = "\n" if group[0].endswith("\n") else ""
        statements = {g.rstrip("\n") for g in group}
        if keys:
            statements = {g.replace("\x01", "> ", 2) for g in statements}
        statements = (statements - fold.removed) | fold.added
        if delta is not None:
            delta.append(len(statements) - len(group))
        ordered = sorted(map(triple_key, statements)) if keys else sorted(statements)
        return [line + end for line in ordered]

    for line in lines:
        while target is not None and line >= target[0]:
            if line.startswith(target[0]):
                group.append(line)
                break
            if group:  # past the folded subject
                yield from flush()
                group = []
            target = next(targets, None)
        else:
            yield line
    if group:
        yield from flush()


def _rewrite_file(path: Path, folds: dict[str, SubjectFold], *, keys: bool) -> int:
    """Rewrite a merged file (atomically, as a new file: the build's merged files are hard
    links to the kept merge, ``keptmerge.py``); returns the change of its line count. The
    statements of each folded subject are found by a binary search over the file's bytes
    (where its prefix ``<s> ``, ``<s\x01``, sorts) and changed as ``rewrite`` changes them;
    the stretches between them are copied as bytes."""
    separator = b"\x01" if keys else b"> "
    targets = sorted(f"<{s}".encode("utf-8") + separator for s in folds)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.labels.tmp")
    delta = 0
    try:
        with open(path, "rb") as source, open(tmp, "wb") as out:
            size = os.fstat(source.fileno()).st_size
            data = mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
            try:
                done = 0
                for prefix in targets:
                    start = find(data, prefix, done)
                    end = find(data, prefix[:-1] + bytes([prefix[-1] + 1]), start)
                    if start == end:
                        continue
                    copy_bytes(out, data, done, start, source)
                    group = data[start:end - 1].decode("utf-8").split("\n")
                    fold = folds[prefix[1:-len(separator)].decode("utf-8")]
                    statements = set(group)
                    if keys:
                        statements = {g.replace("\x01", "> ", 2) for g in statements}
                    statements = (statements - fold.removed) | fold.added
                    delta += len(statements) - len(group)
                    ordered = sorted(map(triple_key, statements)) if keys else sorted(statements)
                    out.write(("\n".join(ordered) + "\n").encode("utf-8") if ordered else b"")
                    done = end
                copy_bytes(out, data, done, size, source)
            finally:
                if size:
                    data.close()  # type: ignore[union-attr]
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return delta


def page_tables(chunks: Callable[[], Iterable[bytes]]
                ) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(revision -> its ``tl:ofPage`` IRI tokens, page -> its ``tl:title`` tokens) of the whole
    release, from two reads of the triple keys ``chunks()`` gives."""
    pages: dict[str, list[str]] = {}
    for s, _, o in _watched(_grep(chunks(), (_OF_PAGE_MARK,))):
        if o[0] == "<":
            pages.setdefault(s, []).append(o)
    titles: dict[str, list[str]] = {}
    for s, _, o in _watched(_grep(chunks(), (_TITLE_MARK,))):
        titles.setdefault(s, []).append(o)
    return pages, titles


def _pages(folds: dict[str, SubjectFold], chunks: Callable[[], Iterable[bytes]]
           ) -> tuple[dict[str, str], dict[str, str]]:
    """(revision -> page IRI token, page -> title token) for the revisions of ``folds``
    (the last in triple order of each), from two reads of the triple keys ``chunks()``
    gives."""
    pages, titles = page_tables(chunks)
    revisions = {r for fold in folds.values() for r in fold.revisions}
    page_of = {r: max(tokens) for r, tokens in pages.items() if r in revisions}
    wanted = {token[1:-1] for token in page_of.values()}
    return page_of, {p: max(tokens) for p, tokens in titles.items() if p in wanted}


def file_page_tables(path: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """``page_tables`` of a merged triple-order file."""
    return page_tables(lambda: _chunks(path))


def fold_labels(release: RunSet, tables_aside: Callable[[Path], Future] | None = None
                ) -> tuple[Issue, ...]:
    """Fold the labels of the merged release in place (both merged files of ``release``,
    which the build has materialised) and return the quality.csv rows of every fold (those
    of this pass and those the pages made). The decisions are made again only for the
    subjects the changed lines touch when the last build's fold and the kept merge's changes
    allow it (``labelstate.py``), else for every subject; the fold is kept for the next build
    when the merged file is the kept merge.

    ``tables_aside(path)``, when given, starts ``file_page_tables(path)`` elsewhere (a
    worker) and gives its future: when every subject is decided again and the fold is kept,
    the page tables it needs (two reads of the file) are then made beside the pass over the
    labels that decides."""
    from tierslieux.pipeline import labelstate

    lines_path, triples_path = release.merged_paths()
    if not release.names or not triples_path.is_file():
        return ()
    kept = labelstate.kept_triples(release.folder, triples_path)
    state = None
    if kept is not None:
        try:
            state = labelstate.update(release.folder, kept)
        except labelstate.Unusable:
            state = None
    if state is None:
        aside = tables_aside(triples_path) if tables_aside is not None and kept else None
        folds = plan_statements(_watched(_grep(_chunks(triples_path), _KEY_MARKS)))
        if aside is not None:
            tables = aside.result()
        else:
            tables = file_page_tables(triples_path) if folds or kept else ({}, {})
        state = labelstate.KeptFold(folds, *tables)
    if kept is not None:
        labelstate.save(release.folder, kept, state)
    else:
        labelstate.forget(release.folder)
    folds = state.folds
    if not folds:
        return ()
    changing = {s: fold for s, fold in folds.items() if fold.removed or fold.added}
    if changing:
        release.rewriting(_line_predicate(line) for fold in changing.values()
                          for line in fold.removed | fold.added)
        # both files at once: most of a rewrite is the kernel's copy, outside the GIL
        with ThreadPoolExecutor(1) as other:
            lines_done = other.submit(_rewrite_file, lines_path, changing, keys=False)
            change = _rewrite_file(triples_path, changing, keys=True)
            lines_done.result()
        if release.count is not None:
            release.count += change
    return issues(folds, state.page_of(), state.title_of())


def fold_lines(lines: Iterable[str]) -> tuple[list[str], tuple[Issue, ...]]:
    """The same pass over canonical lines held in memory (a small release, the tests): the
    folded lines in line order, and the quality.csv rows."""
    unique = set(lines)
    keys = sorted(map(triple_key, unique))
    folds = plan(keys)
    if not folds:
        return sorted(unique), ()
    changing = {s: fold for s, fold in folds.items() if fold.removed or fold.added}
    keys = list(rewrite(keys, changing, keys=True))
    out = list(rewrite(sorted(unique), changing, keys=False))
    page_of, title_of = _pages(folds, lambda: (_encoded(keys),))
    return out, issues(folds, page_of, title_of)


def issues(folds: dict[str, SubjectFold], page_of: dict[str, str],
           title_of: dict[str, str]) -> tuple[Issue, ...]:
    """One warning per folded entity and language, on the first of its pages."""
    out = []
    for subject in sorted(folds):
        fold = folds[subject]
        titles = sorted({parse_object(title_of[page]).value
                         for page in (page_of.get(r, "<>")[1:-1] for r in fold.revisions)
                         if page in title_of})
        shown = ", ".join(titles[:_PAGES_SHOWN]) + (", …" if len(titles) > _PAGES_SHOWN else "")
        for choice in fold.choices:
            kept = parse_object(choice.chosen).value
            others = [parse_object(t).value for t in choice.alternatives]
            where = f" on {len(titles)} page(s) ({shown})" if titles else ""
            out.append(Issue(
                page_title=titles[0] if titles else "", severity="warning", field=FIELD,
                original=" | ".join(others), kept=kept,
                message=(f"{subject} is named {len(others) + 1} ways{where}: its rdfs:label "
                         f"is {kept!r}, as {RULES[choice.rule]}; the others are skos:altLabel"),
            ))
    return tuple(out)
