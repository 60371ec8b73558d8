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
- **the report**: each decision is a ``warning`` of ``quality.csv`` (field ``label``): the
  spellings left as alternatives, the one kept, the rule, and the pages the entity comes from
  (the first in title order is the row's page).

It streams: the merged files are sorted by subject (in line order as in triple order, the
statements of one subject are contiguous), so one read of the triple-order file decides
(holding one subject at a time, and the decisions), and only when there is something to fold
one rewrite of each merged file replaces the statements of the folded subjects, the other
lines being copied as they are. The same merged runs give the same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from tierslieux.model.rdf import XSD_STRING, parse_object, slugify
from tierslieux.model.records import Issue
from tierslieux.pipeline.names import rank
from tierslieux.pipeline.runs import RunSet, triple_key

LABEL = "http://www.w3.org/2000/01/rdf-schema#label"
ALT_LABEL = "http://www.w3.org/2004/02/skos/core#altLabel"
PREF_LABEL = "http://www.w3.org/2004/02/skos/core#prefLabel"
DERIVED_FROM = "http://www.w3.org/ns/prov#wasDerivedFrom"
_TL = "https://w3id.org/tierslieux/ontology#"
NAME = _TL + "name"
OFFICIAL_NAME = _TL + "officialName"
OF_PAGE = _TL + "ofPage"
TITLE = _TL + "title"
#: the predicates the decision reads
_WATCHED = frozenset({LABEL, ALT_LABEL, PREF_LABEL, NAME, OFFICIAL_NAME, DERIVED_FROM})
#: the field of the quality.csv rows
FIELD = "label"
#: pages named in a row's message, at most
_PAGES_SHOWN = 5
_BUFFER = 1 << 16
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


def _read(path: Path) -> Iterator[str]:
    """The lines of a merged file, without their newline."""
    with open(path, encoding="utf-8", newline="\n", buffering=_BUFFER) as stream:
        for line in stream:
            yield line[:-1] if line.endswith("\n") else line


def plan(triple_keys: Iterable[str]) -> dict[str, SubjectFold]:
    """The folds of a release, from its statements as triple keys (``runs.triple_key``) in
    triple order; holds one subject's watched values at a time."""
    folds: dict[str, SubjectFold] = {}
    subject = None
    values: dict[str, list[str]] | None = None
    for key in triple_keys:
        cut = key.index("\x01")
        s = key[1:cut]
        if s != subject:
            if values is not None and LABEL in values:
                fold = decide(subject, values)  # type: ignore[arg-type]
                if fold is not None:
                    folds[subject] = fold  # type: ignore[index]
            subject, values = s, None
        end = key.index("\x01", cut + 1)
        predicate = key[cut + 2:end]
        if predicate in _WATCHED:
            if values is None:
                values = {}
            values.setdefault(predicate, []).append(key[end + 1:-2])
    if values is not None and LABEL in values:
        fold = decide(subject, values)  # type: ignore[arg-type]
        if fold is not None:
            folds[subject] = fold  # type: ignore[index]
    return folds


def rewrite(lines: Iterable[str], folds: dict[str, SubjectFold], *, keys: bool,
            watch: dict[str, set[str]] | None = None,
            seen: dict[str, dict[str, str]] | None = None) -> Iterator[str]:
    """The statements (lines, or triple keys with ``keys``) with those of the folded subjects
    changed, in the same order. ``watch`` maps predicates to the subjects whose object of that
    predicate goes into ``seen[predicate][subject]`` on the way."""
    separator = "\x01" if keys else "> "
    group_subject: str | None = None
    group: list[str] = []

    def flush() -> list[str]:
        fold = folds[group_subject]  # type: ignore[index]
        statements = {g.replace("\x01", "> ", 2) if keys else g for g in group}
        statements = (statements - fold.removed) | fold.added
        return sorted(map(triple_key, statements)) if keys else sorted(statements)

    for line in lines:
        cut = line.index(separator)
        subject = line[1:cut]
        if watch:
            end = line.index(separator, cut + len(separator))
            predicate = line[cut + len(separator) + 1:end]
            wanted = watch.get(predicate)
            if wanted is not None and subject in wanted:
                seen.setdefault(predicate, {})[subject] = (  # type: ignore[union-attr]
                    line[end + len(separator):-2])
        if subject != group_subject and group:
            yield from flush()
            group = []
        group_subject = subject
        if subject in folds:
            group.append(line)
        else:
            yield line
    if group:
        yield from flush()


def _rewrite_file(path: Path, folds: dict[str, SubjectFold], *, keys: bool,
                  watch: dict[str, set[str]] | None = None,
                  seen: dict[str, dict[str, str]] | None = None) -> int:
    """Rewrite a merged file in place (atomically) with ``folds``, or with no fold only read
    it for ``watch``; returns its number of lines."""
    count = 0
    if not folds:
        for _ in rewrite(_read(path), folds, keys=keys, watch=watch, seen=seen):
            count += 1
        return count
    tmp = path.with_name(f".{path.name}.{os.getpid()}.labels.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n", buffering=_BUFFER) as out:
            for line in rewrite(_read(path), folds, keys=keys, watch=watch, seen=seen):
                out.write(line + "\n")
                count += 1
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def fold_labels(release: RunSet) -> tuple[Issue, ...]:
    """Fold the labels of the merged release in place (both merged files of ``release``,
    which the build has materialised) and return the quality.csv rows of every fold (those
    of this pass and those the pages made)."""
    lines_path, triples_path = release.merged_paths()
    if not release.names or not triples_path.is_file():
        return ()
    folds = plan(_read(triples_path))
    if not folds:
        return ()
    changing = {s: fold for s, fold in folds.items() if fold.removed or fold.added}
    revisions = {r for fold in folds.values() for r in fold.revisions}
    seen: dict[str, dict[str, str]] = {}
    _rewrite_file(triples_path, changing, keys=True, watch={OF_PAGE: revisions}, seen=seen)
    pages = {token[1:-1] for token in seen.get(OF_PAGE, {}).values() if token[0] == "<"}
    count = _rewrite_file(lines_path, changing, keys=False, watch={TITLE: pages}, seen=seen)
    if changing:
        release.count = count
    return issues(folds, seen.get(OF_PAGE, {}), seen.get(TITLE, {}))


def fold_lines(lines: Iterable[str]) -> tuple[list[str], tuple[Issue, ...]]:
    """The same pass over canonical lines held in memory (a small release, the tests): the
    folded lines in line order, and the quality.csv rows."""
    unique = set(lines)
    keys = sorted(map(triple_key, unique))
    folds = plan(keys)
    if not folds:
        return sorted(unique), ()
    changing = {s: fold for s, fold in folds.items() if fold.removed or fold.added}
    seen: dict[str, dict[str, str]] = {}
    revisions = {r for fold in folds.values() for r in fold.revisions}
    list(rewrite(keys, changing, keys=True, watch={OF_PAGE: revisions}, seen=seen))
    pages = {token[1:-1] for token in seen.get(OF_PAGE, {}).values() if token[0] == "<"}
    out = list(rewrite(sorted(unique), changing, keys=False, watch={TITLE: pages}, seen=seen))
    return out, issues(folds, seen.get(OF_PAGE, {}), seen.get(TITLE, {}))


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
